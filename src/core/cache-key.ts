import { createHash } from 'node:crypto';
import type { CompiledTask } from './compiled.ts';
import { formatType } from './types/index.ts';

/** Changing what goes into a key changes this, so old entries are never read with a new meaning. */
const KEY_SCHEME = 'propeller-cache-v1';
const DNS_SUBDOMAIN_PREFIX = 40;

export interface CacheKey {
  /** Hex SHA-256 of everything that decides the outputs. */
  key: string;
  /** The cache entry's object name: the task's name made DNS-safe, and the start of the key. */
  name: string;
}

/**
 * The cache key of a task run: the task's name, its cache version, its interface and its inputs in
 * canonical form (object keys sorted at every depth, so key order never matters), without the inputs it
 * ignores. The task's own version and its code bundle (`code.configMap`) are left out, as in Flyte: changing
 * them alone keeps the cache; the cache version is what users bump.
 */
export function cacheKey(task: CompiledTask, inputs: Readonly<Record<string, unknown>>): CacheKey {
  const cache = task.spec.cache!;
  const ignored = new Set(cache.ignoreInputs ?? []);
  const iface = {
    inputs: [...task.inputs].map(([n, t]) => [n, formatType(t)]).sort(),
    outputs: [...task.outputs].map(([n, t]) => [n, formatType(t)]).sort(),
  };
  const kept = Object.fromEntries(Object.entries(inputs).filter(([name]) => !ignored.has(name)));
  const material = canonicalJson([KEY_SCHEME, task.name, cache.version, iface, kept]);
  const key = createHash('sha256').update(material).digest('hex');
  const prefix = task.name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, DNS_SUBDOMAIN_PREFIX)
    .replace(/-+$/, '');
  return { key, name: `${prefix || 'task'}-${key.slice(0, 20)}` };
}

/** JSON with object keys sorted at every depth. Inputs are checked values, so they nest at most a few hundred levels. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

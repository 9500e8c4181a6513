import type { CacheEntryObject } from '../api/cache-entry.ts';
import type { CacheEntryView } from '../core/actions.ts';
import { cacheEntryView } from './executors.ts';

interface Seen {
  view: CacheEntryView;
  at: number;
}

/**
 * Cache entries as our own executors last saw them (a reservation we just made, outputs we just wrote),
 * for the rounds that run before the cache informer shows them: without it, the round right after a
 * reservation would not see it and would ask again. An informer copy at least as new wins; a memory
 * is dropped after `ttlMs` whatever happens.
 */
export class CacheOverlay {
  private readonly byNamespace = new Map<string, Map<string, Seen>>();
  private readonly ttlMs: number;

  constructor(ttlMs = 60_000) {
    this.ttlMs = ttlMs;
  }

  remember(entry: CacheEntryObject, now: number): void {
    const namespace = entry.metadata.namespace;
    const entries = this.byNamespace.get(namespace) ?? this.byNamespace.set(namespace, new Map()).get(namespace)!;
    entries.set(entry.metadata.name, { view: cacheEntryView(entry), at: now });
  }

  /** The cache informer saw the entry deleted: a memory of it must not outlive it. */
  forget(namespace: string, name: string): void {
    const entries = this.byNamespace.get(namespace);
    entries?.delete(name);
    if (entries?.size === 0) this.byNamespace.delete(namespace);
  }

  merge(namespace: string, cached: ReadonlyMap<string, CacheEntryObject>, now: number): ReadonlyMap<string, CacheEntryView> {
    const merged = new Map<string, CacheEntryView>();
    for (const [name, entry] of cached) merged.set(name, cacheEntryView(entry));
    const seen = this.byNamespace.get(namespace);
    for (const [name, memo] of seen ?? []) {
      const informer = merged.get(name);
      if (now - memo.at > this.ttlMs || (informer && !older(informer.resourceVersion, memo.view.resourceVersion))) {
        seen!.delete(name);
        continue;
      }
      merged.set(name, memo.view);
    }
    if (seen?.size === 0) this.byNamespace.delete(namespace);
    return merged;
  }
}

/** Whether resourceVersion a is older than b; etcd's versions are increasing integers, used only as a hint. */
function older(a: string, b: string): boolean {
  const x = Number(a);
  const y = Number(b);
  return Number.isSafeInteger(x) && Number.isSafeInteger(y) ? x < y : false;
}

import { Codes } from '../error-codes.ts';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { PropellerError } from '../errors.ts';
import { ConfigSchema, type Config } from './schema.ts';

export class ConfigError extends PropellerError {
  constructor(message: string) {
    super(Codes.ConfigInvalid, message);
  }
}

/** One settable option: its path in the config file and its flag and env var names. */
export interface ConfigOption {
  path: string[];
  flag: string;
  env: string;
  kind: 'string' | 'number' | 'list' | 'enum' | 'boolean';
  description: string;
  defaultValue: unknown;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** Every leaf of the schema, in declaration order. */
export function configOptions(schema: z.ZodType = ConfigSchema, path: string[] = []): ConfigOption[] {
  const { inner, defaultValue, description } = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([k, v]) => configOptions(v, [...path, k]));
  }
  const kind: ConfigOption['kind'] =
    inner instanceof z.ZodArray ? 'list' : inner instanceof z.ZodEnum ? 'enum' : inner instanceof z.ZodNumber ? 'number' : inner instanceof z.ZodBoolean ? 'boolean' : 'string';
  return [{ path, flag: path.map(kebab).join('-'), env: `PROPELLER_${path.map(snake).join('_')}`, kind, description: description ?? '', defaultValue }];
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue: unknown; description: string | undefined } {
  let inner = schema;
  let defaultValue: unknown;
  const description = schema.description;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) {
    if (inner instanceof z.ZodDefault) defaultValue = inner.def.defaultValue;
    inner = inner.def.innerType as z.ZodType;
  }
  return { inner, defaultValue, description: description ?? inner.description };
}

function coerce(option: ConfigOption, text: string): unknown {
  switch (option.kind) {
    case 'number':
      return text.trim() === '' ? NaN : Number(text);
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'boolean':
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
    default:
      return text;
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

/** Flags win over env vars, which win over the config file (--config or PROPELLER_CONFIG), which wins over defaults. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Config {
  const options = configOptions();
  const byFlag = new Map(options.map((o) => [o.flag, o]));
  const flags: [ConfigOption, string][] = [];
  let configPath = env['PROPELLER_CONFIG'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    // `--flag --other` is a missing value, not the value "--other" (which would swallow the next flag).
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[i + 1]?.startsWith('--') ? undefined : argv[++i];
    if (value === undefined) throw new ConfigError(`flag --${name} needs a value`);
    if (name === 'config') {
      configPath = value;
      continue;
    }
    const option = byFlag.get(name);
    if (!option) throw new ConfigError(`unknown flag --${name} (known: --config, ${options.map((o) => `--${o.flag}`).join(', ')})`);
    flags.push([option, value]);
  }

  const raw: Record<string, unknown> = {};
  if (configPath) {
    let file: unknown;
    try {
      file = parseYaml(read(configPath)) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read config file ${configPath}: ${(err as Error).message}`);
    }
    // A list or scalar would otherwise be spread into the config object and silently ignored.
    if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new ConfigError(`${configPath}: expected a mapping of options`);
    checkKnownKeys(file, options, configPath);
    Object.assign(raw, file);
  }
  for (const option of options) {
    const value = env[option.env];
    if (value !== undefined && value !== '') setPath(raw, option.path, coerce(option, value));
  }
  for (const [option, value] of flags) setPath(raw, option.path, coerce(option, value));

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function checkKnownKeys(file: unknown, options: ConfigOption[], source: string): void {
  const known = new Set(options.map((o) => o.path.join('.')));
  const prefixes = new Set(options.flatMap((o) => o.path.slice(0, -1).map((_, i) => o.path.slice(0, i + 1).join('.'))));
  const walk = (value: unknown, path: string[]) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) {
      const p = [...path, k].join('.');
      if (known.has(p)) continue;
      if (!prefixes.has(p)) throw new ConfigError(`${source}: unknown option ${p}`);
      walk(v, [...path, k]);
    }
  };
  walk(file, []);
}

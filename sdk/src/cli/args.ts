// Command-line parsing shared by every command: node:util parseArgs with strict option tables, errors
// turned into usage errors (exit 2) that name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes: documented in docs/cli.md. */
export const EXIT = {
  /** Done; for run, launch and watch: the execution Succeeded. */
  ok: 0,
  /** The execution (or local run) Failed or was Aborted. */
  failed: 1,
  /** A bad command line, flag value, workflow file or input. */
  usage: 2,
  /** The cluster refused or could not be reached, or a wait timed out. */
  api: 3,
} as const;

/** A bad command line: the message names the flag or argument, and the command's help is pointed to. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** The cluster refused, could not be reached, or a wait timed out: exit 3. */
export class ApiError extends Error {
  override name = 'ApiError';
}

/** An error that ends the command with this exit code and message, already explained. */
export class ExitError extends Error {
  override name = 'ExitError';
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export const HELP_OPTIONS = { help: { type: 'boolean', short: 'h' } } as const satisfies Options;

/** Where a command finds the cluster, as kubectl does. */
export const KUBE_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
} as const satisfies Options;

/** Flyte's project and domain: the namespace {project}-{domain}, and labels on what is created. */
export const PROJECT_OPTIONS = {
  project: { type: 'string' },
  domain: { type: 'string' },
} as const satisfies Options;

export const OUTPUT_OPTIONS = { output: { type: 'string', short: 'o' } } as const satisfies Options;

export interface Parsed<O extends Options> {
  values: ParsedValues<O>;
  positionals: string[];
}

type ValueOf<T> = T extends { type: 'boolean'; multiple: true } ? boolean[] : T extends { type: 'boolean' } ? boolean : T extends { multiple: true } ? string[] : string;
export type ParsedValues<O extends Options> = { [K in keyof O]?: ValueOf<O[K]> };

/** A strict parse of one command's arguments: unknown flags and bad values are usage errors naming the flag. */
export function parse<O extends Options>(command: string, args: readonly string[], options: O): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: values as ParsedValues<O>, positionals };
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), command);
  }
}

/** parseArgs' messages, shortened to what the user typed. */
export function parseArgsMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1];
    return flag ? `unknown flag ${flag}` : message;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-n, --namespace <value>' argument missing"
    const m = /Option '(?:-\w, )?(--[\w-]+)(?: <value>)?' argument missing/.exec(message);
    if (m) return `${m[1]} needs a value`;
    const ambiguous = /Option '(?:-\w, )?(--[\w.-]+)[^']*' argument is ambiguous/.exec(message);
    if (ambiguous) return `${ambiguous[1]}: a value starting with "-" is written ${ambiguous[1]}=VALUE (e.g. ${ambiguous[1]}=-3)`;
    return message.split('\n')[0]!;
  }
  return message;
}

/** `--output`: one of the formats the command knows. */
export function outputFormat<F extends string>(command: string, value: string | undefined, allowed: readonly F[]): F | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`-o/--output must be ${allowed.join(', ')}; got "${value}"`, command);
  return value as F;
}

/** Positional arguments: exactly those named, in order, and at most `max` more. */
export function positionals(command: string, given: readonly string[], names: readonly string[], max = names.length): string[] {
  if (given.length < names.length) throw new UsageError(`missing ${names.slice(given.length).join(' ')}`, command);
  if (given.length > max) throw new UsageError(`unexpected argument "${given[max]}"`, command);
  return [...given];
}

/** A duration flag (--timeout 10m): 90s, 5m, 1h30m, or a number of seconds. */
export function durationMs(command: string, flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) throw new UsageError(`${flag}: "${text}" is not a duration such as 90s, 10m or 1h30m`, command);
  return total;
}

/** `key=value` pairs of repeatable flags (--label team=ml). */
export function keyValues(command: string, flag: string, items: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} takes KEY=VALUE; got "${item}"`, command);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/**
 * The first pass of a command whose flags depend on its arguments (run FILE WORKFLOW --x …): the
 * positionals that come before the first flag the command does not know, and whether --help was given.
 * Unknown flags are left for the second, strict pass, which knows the generated ones.
 */
export function leadingPositionals(command: string, args: readonly string[], options: Options): { positionals: string[]; help: boolean; unknownBefore?: string } {
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true }));
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), command);
  }
  const found: string[] = [];
  let help = false;
  let unknown: string | undefined;
  for (const token of tokens) {
    if (token.kind === 'option') {
      if (token.name === 'help') help = true;
      else if (!Object.hasOwn(options, token.name) && unknown === undefined) unknown = token.rawName;
    } else if (token.kind === 'positional' && unknown === undefined) found.push(token.value);
  }
  return { positionals: found, help, ...(unknown !== undefined ? { unknownBefore: unknown } : {}) };
}

/** The values of the command's own flags, before the generated ones are known (unknown flags ignored). */
export function knownValues<O extends Options>(args: readonly string[], options: O): ParsedValues<O> {
  const { values } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false });
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const o = options[k];
    if (!o) continue;
    const item = Array.isArray(v) ? v[0] : v;
    if (o.type === 'string' ? typeof item === 'string' : typeof item === 'boolean') out[k] = v;
  }
  return out as ParsedValues<O>;
}

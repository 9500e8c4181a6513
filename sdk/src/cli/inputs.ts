// Flags generated from a workflow's (or launch plan's) interface, as pyflyte run builds its options from a
// signature: --NAME VALUE for every input, str-like values taken as typed, every other value read as JSON,
// then type-checked as the operator checks it.
import { checkValue, formatMismatch, parseType, type FlyteType } from '../../../src/core/types/index.ts';
import { UsageError, type Options } from './args.ts';

export interface InputFlag {
  /** The input's name in the interface. */
  name: string;
  /** Its type, as the interface spells it: list[int], Optional[str], … */
  type: string;
  /** The flag without its dashes: the name, or input-NAME when the name is one of the command's own flags. */
  flag: string;
  /** Also accepted: the name in kebab case (raw_data → --raw-data). */
  alias?: string;
  /** Taken as typed (str, datetime, duration, and Optional of those); other types are JSON. */
  raw: boolean;
  /** Whether a value is needed: no default and not Optional. */
  required: boolean;
  /** The default that applies when the flag is left out. */
  default?: { value: unknown };
}

function parsedType(text: string): FlyteType | undefined {
  const p = parseType(text);
  return p.ok ? p.type : undefined;
}

const RAW_KINDS = new Set(['str', 'datetime', 'duration']);

function isRaw(type: FlyteType | undefined): boolean {
  if (!type) return false;
  const inner = type.kind === 'optional' ? type.of : type;
  return RAW_KINDS.has(inner.kind);
}

/**
 * The flags for an interface. `reserved` are the command's own flags: an input named like one of them is
 * set with --input-NAME instead.
 */
export function inputFlags(inputs: Readonly<Record<string, string>>, defaults: Readonly<Record<string, unknown>>, reserved: ReadonlySet<string>): InputFlag[] {
  const taken = new Set(reserved);
  const flags: InputFlag[] = [];
  for (const [name, type] of Object.entries(inputs)) {
    const flag = taken.has(name) ? `input-${name}` : name;
    taken.add(flag);
    const kebab = name.replace(/_/g, '-');
    const alias = kebab !== flag && !taken.has(kebab) && !Object.hasOwn(inputs, kebab) ? kebab : undefined;
    if (alias) taken.add(alias);
    const t = parsedType(type);
    const hasDefault = Object.hasOwn(defaults, name);
    flags.push({
      name,
      type,
      flag,
      ...(alias ? { alias } : {}),
      raw: isRaw(t),
      required: !hasDefault && t?.kind !== 'optional',
      ...(hasDefault ? { default: { value: defaults[name] } } : {}),
    });
  }
  return flags;
}

/** The parseArgs options of the flags. */
export function inputOptions(flags: readonly InputFlag[]): Options {
  const options: Options = {};
  for (const f of flags) {
    options[f.flag] = { type: 'string' };
    if (f.alias) options[f.alias] = { type: 'string' };
  }
  return options;
}

/**
 * The input values given on the command line, read and type-checked; a bad one, or a required one left
 * out, is a usage error naming its flag. Inputs left out are absent (their defaults apply where the run
 * happens).
 */
export function readInputs(command: string, flags: readonly InputFlag[], values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const missing: InputFlag[] = [];
  for (const f of flags) {
    const given = values[f.flag] ?? (f.alias ? values[f.alias] : undefined);
    if (given === undefined) {
      if (f.required) missing.push(f);
      continue;
    }
    out[f.name] = readValue(command, f, String(given));
  }
  if (missing.length) {
    throw new UsageError(`missing ${missing.map((f) => `--${f.flag} (${f.type})`).join(', ')}: ${missing.length === 1 ? 'this input has' : 'these inputs have'} no default`, command);
  }
  return out;
}

/** One value read for its type; errors name `label` (by default the flag, --NAME). */
export function readValue(command: string, f: Pick<InputFlag, 'flag' | 'type' | 'raw'>, text: string, label = `--${f.flag}`): unknown {
  let value: unknown;
  // An Optional str takes the text as typed too, but the word null is the null.
  if (f.raw) value = text === 'null' && f.type.startsWith('Optional[') ? null : text;
  else {
    try {
      value = JSON.parse(text);
    } catch (err) {
      const example = exampleOf(f.type);
      throw new UsageError(`${label}: ${JSON.stringify(text)} is not JSON (${(err as Error).message}); a ${f.type} is written as JSON${example ? `, e.g. ${label === `--${f.flag}` ? `--${f.flag} ` : ''}'${example}'` : ''}`, command);
    }
  }
  const type = parsedType(f.type);
  if (type) {
    const mismatch = checkValue(type, value);
    if (mismatch) throw new UsageError(`${label}: ${formatMismatch(mismatch)}`, command);
  }
  return value;
}

/** A JSON value of the type, for messages and help. */
export function exampleOf(text: string): string | undefined {
  const type = parsedType(text);
  if (!type) return undefined;
  const of = (t: FlyteType): string => {
    switch (t.kind) {
      case 'int':
        return '3';
      case 'float':
        return '2.5';
      case 'bool':
        return 'true';
      case 'str':
        return '"text"';
      case 'datetime':
        return '"2026-12-06T00:00:00Z"';
      case 'duration':
        return '"90s"';
      case 'dict':
        return '{"key":"value"}';
      case 'list':
        return `[${of(t.of)},${of(t.of)}]`;
      case 'map':
        return `{"a":${of(t.of)}}`;
      case 'optional':
        return of(t.of);
    }
  };
  return of(type);
}

/** The inputs as --help lists them: flag, type, default or "required". */
export function describeInputs(flags: readonly InputFlag[], fixed: Readonly<Record<string, unknown>> = {}): string[] {
  const rows = flags.map((f) => {
    const flag = `--${f.flag}${f.alias ? `, --${f.alias}` : ''}`;
    const note = f.default ? `default: ${JSON.stringify(f.default.value)}` : f.required ? 'required' : 'optional (null when left out)';
    return [flag, f.type, note];
  });
  for (const [name, value] of Object.entries(fixed)) rows.push([`(${name})`, '', `fixed by the launch plan: ${JSON.stringify(value)}`]);
  const w0 = Math.max(0, ...rows.map((r) => r[0]!.length));
  const w1 = Math.max(0, ...rows.map((r) => r[1]!.length));
  return rows.map((r) => `  ${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]}`.trimEnd());
}

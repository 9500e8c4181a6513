// Kubernetes resource quantities (500m, 2, 1.5Gi, 1e3), checked the way the API server checks a Pod's
// container resources, so that a workflow the API server would refuse a Pod for is refused when it is
// compiled, before any node runs.
//
// The parser mirrors k8s.io/apimachinery/pkg/api/resource (quantity.go, suffix.go; v0.34) step by step:
// the same scanner, the same suffix table, the same fast and slow paths, the same rounding up to 1n and
// the same cap of binary-suffixed amounts at 2^63-1, so that "the API server accepts it" and "this
// accepts it" agree, and requests compare with limits exactly as the API server compares them. It is
// stricter than the API server in these places only, all of them mistakes the API server lets through
// silently:
//   - leading or trailing spaces (the API server trims them before parsing, and means to stop doing so:
//     "TODO: Remove support for leading/trailing whitespace"; quantity.go, UnmarshalJSON);
//   - a number part with no digit at all: "Mi", "k", "-", "+", "." (its scanner reads these as 0);
//   - a decimal exponent outside the 32-bit range, or so near its ends that Go's int32 scale arithmetic
//     wraps around (it silently reads 1e4294967296 as 1 and .5e-2147483648 as 5e2147483647);
//   - a number that is NaN or infinite (JSON.stringify sends null, which it reads as 0).
// Everything else, quirks included ("5.", ".5", "+1", "1.G", "0.1n" rounded up to 1n), is as upstream.
//
// Pure: no IO, no Node built-ins.
import { quote } from './quote.ts';

/** A parsed quantity: its amount in base units (cores, bytes, …) as an approximate number, for comparing and showing. */
export type ParsedQuantity = { ok: true; value: number } | { ok: false; error: string };

export const QUANTITY_EXAMPLES = '500m, 2 or 1Gi';

/** The container resources of a task, as in the FlyteWorkflow spec (and in a Pod). */
export interface ResourceRequirements {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

/**
 * An exact amount in nano-units (the API server's resolution): (neg ? -1 : 1) × digits × 10^exp.
 * digits has no trailing zero digit; zero is {neg: false, digits: 0n, exp: 0}.
 */
interface Amount {
  neg: boolean;
  digits: bigint;
  exp: number;
}

const ZERO: Amount = { neg: false, digits: 0n, exp: 0 };
/** maxAllowed in quantity.go: 2^63-1 base units, here in nano-units. */
const MAX_ALLOWED_NANO = ((1n << 63n) - 1n) * 10n ** 9n;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Parses a quantity as the API server would read it from the Pod this propeller sends (JSON.stringify'd). */
export function parseQuantity(text: string | number): ParsedQuantity {
  const parsed = parseAmount(text);
  if (!parsed.ok) return parsed;
  return { ok: true, value: approximate(parsed.amount) };
}

/** -1, 0 or 1 as a is less than, equal to or more than b; exactly as the API server's Quantity.Cmp. Undefined when either is not a quantity. */
export function compareQuantities(a: string | number, b: string | number): -1 | 0 | 1 | undefined {
  const pa = parseAmount(a);
  const pb = parseAmount(b);
  return pa.ok && pb.ok ? compare(pa.amount, pb.amount) : undefined;
}

function parseAmount(text: string | number): { ok: true; amount: Amount } | { ok: false; error: string } {
  let wire: string;
  if (typeof text === 'number') {
    // Sent as a JSON number: JSON.stringify(1e21) is "1e+21", itself a valid quantity. NaN and ±Infinity
    // would be sent as null; they are not amounts anyone meant.
    if (!Number.isFinite(text)) return { ok: false, error: `${String(text)} ${notAQuantity}` };
    wire = JSON.stringify(text);
  } else if (typeof text === 'string') {
    wire = text;
  } else {
    return { ok: false, error: `${showUnknown(text)} ${notAQuantity}` };
  }
  const amount = parseStrict(wire);
  if (amount !== undefined) return { ok: true, amount };
  const shown = typeof text === 'number' ? wire : quote(text);
  const hint = typeof text === 'string' ? suggestion(text) : undefined;
  return { ok: false, error: `${shown} ${notAQuantity}${hint ? ` (${hint})` : ''}` };
}

const notAQuantity = `is not a Kubernetes quantity such as ${QUANTITY_EXAMPLES}`;

/** parseKube, refusing the three silent mistakes listed at the top of this file. */
function parseStrict(str: string): Amount | undefined {
  // At least one digit in the number part. (Whitespace needs no rule: nothing trims it here, and the
  // scanner refuses it.)
  if (!/^[+-]?(?:[0-9]|\.[0-9])/.test(str)) return undefined;
  return parseKube(str, true);
}

// ---------------------------------------------------------------------------------------------------
// A transcription of resource.ParseQuantity. Comments name the Go they mirror.

interface Scanned {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const SUFFIX_CHARS = 'eEinumkKMGTP';

/** parseQuantityString; undefined is ErrFormatWrong. */
function scan(str: string): Scanned | undefined {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end) {
    if (str[0] === '-') {
      positive = false;
      pos++;
    } else if (str[0] === '+') {
      pos++;
    }
  }
  // strip leading zeros
  for (let i = pos; ; i++) {
    if (i >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
    if (str[i] === '0') pos++;
    else break;
  }
  // extract the numerator
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
  let num = str.slice(pos, i);
  pos = i;
  if (num.length === 0) num = '0';
  // handle a denominator
  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    let j = pos;
    while (j < end && isDigit(str[j])) j++;
    if (j >= end) return { positive, value: str, num, denom: str.slice(pos), suffix: '' };
    denom = str.slice(pos, j);
    pos = j;
  }
  const value = str.slice(0, pos);
  // grab the elements of the suffix
  const suffixStart = pos;
  let k = pos;
  while (k < end && SUFFIX_CHARS.includes(str[k]!)) k++;
  if (k >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  pos = k;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  let d = pos;
  while (d < end && isDigit(str[d])) d++;
  if (d >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  return undefined;
}

type Format = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** suffixHandler.interpret; undefined is ErrSuffix. strict refuses exponents that Go would truncate to 32 bits. */
function interpret(suffix: string, strict: boolean): { base: 2 | 10; exponent: number; format: Format } | undefined {
  if (Object.hasOwn(DECIMAL_SUFFIXES, suffix)) return { base: 10, exponent: DECIMAL_SUFFIXES[suffix]!, format: 'DecimalSI' };
  if (Object.hasOwn(BINARY_SUFFIXES, suffix)) return { base: 2, exponent: BINARY_SUFFIXES[suffix]!, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    const rest = suffix.slice(1);
    if (!/^[+-]?[0-9]+$/.test(rest)) return undefined; // strconv.ParseInt(rest, 10, 64)
    const parsed = BigInt(rest);
    if (parsed > INT64_MAX || parsed < INT64_MIN) return undefined;
    const exponent = Number(BigInt.asIntN(32, parsed)); // int32(parsed)
    if (strict && BigInt(exponent) !== parsed) return undefined;
    return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return undefined;
}

const int32 = (n: number): number => n | 0;
const MAX_INT64_FACTORS = 18;

/** ParseQuantity, after UnmarshalJSON's TrimSpace; undefined is any of its errors. */
function parseKube(str: string, strict: boolean): Amount | undefined {
  if (str.length === 0) return undefined;
  if (str === '0') return ZERO;
  const s = scan(str);
  if (!s) return undefined;
  const suffix = interpret(s.suffix, strict);
  if (!suffix) return undefined;
  const { base, exponent, format } = suffix;

  // The fast path: exact int64 arithmetic at a scale of at least 10^-9.
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (format === 'BinarySI') {
    // exponent is 10..60 here, so float32(exponent)*3/10 is exact.
    mantissa = 1n << BigInt(exponent);
    precision = s.denom.length === 0 ? 15 - s.num.length - Math.trunc((exponent * 3) / 10) - 1 : -1;
  } else {
    scale = exponent;
    precision = MAX_INT64_FACTORS - (s.num.length + s.denom.length);
  }
  // Go does the scale arithmetic below in int32; strict refuses what would wrap around (".5e-2147483648").
  const wrap = (n: number): number | undefined => (int32(n) === n || !strict ? int32(n) : undefined);
  if (precision >= 0) {
    const shiftedScale = wrap(scale - s.denom.length);
    if (shiftedScale === undefined) return undefined;
    scale = shiftedScale;
    if (scale >= -9) {
      const value = BigInt(s.num + s.denom); // at most 18 digits: fits int64
      const result = value * mantissa;
      if (result <= INT64_MAX) return normalize(!s.positive, result, scale + 9); // int64Multiply did not overflow
    }
  }

  // The slow path: arbitrary precision (inf.Dec), rounded up to 10^-9, binary amounts capped.
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(s.value); // inf.Dec.SetString
  if (!m || (m[2]! + (m[3] ?? '')).length === 0) return undefined;
  const neg = m[1] === '-';
  const frac = m[3] ?? '';
  let unscaled = BigInt(m[2]! + frac);
  let decScale = frac.length; // the value is unscaled × 10^-decScale
  if (base === 10) {
    const negated = wrap(-exponent);
    const sum = negated === undefined ? undefined : wrap(decScale + negated);
    if (sum === undefined) return undefined;
    decScale = sum;
  } else {
    unscaled <<= BigInt(exponent);
  }
  let amount: Amount;
  if (decScale <= 9) amount = normalize(neg, unscaled, 9 - decScale);
  else amount = normalize(neg, ceilDivPow10(unscaled, decScale - 9), 0); // Round(…, Nano, RoundUp): away from zero
  if (format === 'BinarySI' && compare({ ...amount, neg: false }, normalize(false, MAX_ALLOWED_NANO, 0)) > 0) {
    amount = normalize(amount.neg, MAX_ALLOWED_NANO, 0);
  }
  return amount;
}

/** ceil(n / 10^k) for n ≥ 0, k > 0, without building 10^k when k is beyond n's length. */
function ceilDivPow10(n: bigint, k: number): bigint {
  if (n === 0n) return 0n;
  if (k > n.toString().length) return 1n;
  const d = 10n ** BigInt(k);
  return (n + d - 1n) / d;
}

function normalize(neg: boolean, digits: bigint, exp: number): Amount {
  if (digits === 0n) return ZERO;
  const text = digits.toString();
  const stripped = text.replace(/0+$/, '');
  return { neg, digits: BigInt(stripped), exp: exp + (text.length - stripped.length) };
}

function compare(a: Amount, b: Amount): -1 | 0 | 1 {
  const sa = a.digits === 0n ? 0 : a.neg ? -1 : 1;
  const sb = b.digits === 0n ? 0 : b.neg ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  const magnitude = compareMagnitude(a, b);
  // Not -magnitude: negating 0 gives -0, which Object.is (and strict asserts) tell from 0.
  return (sa < 0 ? 0 - magnitude : magnitude) as -1 | 0 | 1;
}

function compareMagnitude(a: Amount, b: Amount): -1 | 0 | 1 {
  const la = a.digits.toString().length + a.exp;
  const lb = b.digits.toString().length + b.exp;
  if (la !== lb) return la < lb ? -1 : 1;
  // Same number of digits in all: align the exponents (the shift is at most the longer digit string).
  const min = Math.min(a.exp, b.exp);
  const x = a.digits * 10n ** BigInt(a.exp - min);
  const y = b.digits * 10n ** BigInt(b.exp - min);
  return x < y ? -1 : x > y ? 1 : 0;
}

function approximate(a: Amount): number {
  if (a.digits === 0n) return 0;
  const v = Number(`${a.digits}e${a.exp - 9}`);
  return a.neg ? -v : v;
}

/**
 * The API server's ScaledValue: ceil(a / 10^unit) for a non-negative amount (unit 0: Value(), in base units;
 * -3: MilliValue()). Undefined when it is more than 2^63-1: there the API server's int64 arithmetic
 * overflows and whatever it then decides is arbitrary.
 */
function scaledCeil(a: Amount, unit: number): bigint | undefined {
  const drop = 9 + unit; // nano-units per unit, as a power of ten
  if (a.exp < drop) return ceilDivPow10(a.digits, drop - a.exp);
  if (a.exp - drop > 19) return undefined;
  const value = a.digits * 10n ** BigInt(a.exp - drop);
  return value > INT64_MAX ? undefined : value;
}

/** A hint for a near miss: a lower-case or byte-style suffix, or spaces. */
function suggestion(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact !== text && compact.length > 0 && parseStrict(compact)) return `did you mean ${compact}?`;
  const m = /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([A-Za-z]+)$/.exec(compact);
  if (!m) return undefined;
  const [, number, unit] = m;
  if (unit === 'e') return undefined; // an exponent without digits, not exa
  const u = /^([kmgtpe])(i?)b?$/i.exec(unit!);
  if (!u) return undefined;
  const letter = u[1]!.toUpperCase();
  const binary = `${number}${letter}i`;
  const decimal = `${number}${letter === 'K' ? 'k' : letter}`;
  const options = u[2] ? [binary] : [decimal, binary];
  const valid = options.filter((o) => o !== text && parseStrict(o));
  return valid.length ? `did you mean ${valid.join(' or ')}?` : undefined;
}

function showUnknown(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return `a ${Array.isArray(value) ? 'list' : typeof value}`;
}

// ---------------------------------------------------------------------------------------------------
// Container resources, checked as the API server's validateResourceRequirements checks them
// (k8s.io/kubernetes/pkg/apis/core/validation, v1.34), after its defaulting of missing requests to limits.
// One more strictness: an extended resource of 2^63 thousandths or more, or hugepages of 2^63 bytes or
// more, is refused as too large, where the API server's int64 arithmetic overflows and its verdict is
// arbitrary.

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
const HUGEPAGES = 'hugepages-';
const NAME_HELP = 'use cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed name such as nvidia.com/gpu';

type ResourceKind =
  | { kind: 'standard' } // cpu, memory, ephemeral-storage, and *kubernetes.io/* names: may be overcommitted
  | { kind: 'hugepages'; pageSize: Amount; pageText: string } // requests must equal limits, whole pages
  | { kind: 'extended' }; // domain-prefixed: requests must equal limits, whole numbers

/** Why name is not a container resource name (validateContainerResourceName), or what kind of resource it is. */
function classify(name: string): { ok: true; resource: ResourceKind } | { ok: false; reason: string } {
  const qualified = qualifiedNameProblem(name);
  if (qualified) return { ok: false, reason: qualified };
  if (!name.includes('/')) {
    if (CONTAINER_RESOURCES.includes(name)) return { ok: true, resource: { kind: 'standard' } };
    if (name.startsWith(HUGEPAGES)) {
      // helper.HugePageSizeFromResourceName, then IsHugePageResourceValueDivisible's checks of the size.
      const pageText = name.slice(HUGEPAGES.length);
      const pageSize = parseKube(pageText, false);
      if (!pageSize || pageSize.neg || pageSize.digits === 0n || scaledCeil(pageSize, -3) === undefined || scaledCeil(pageSize, -3)! % 1000n !== 0n) {
        return { ok: false, reason: `the page size after "${HUGEPAGES}" must be a positive whole quantity such as 2Mi or 1Gi` };
      }
      return { ok: true, resource: { kind: 'hugepages', pageSize, pageText } };
    }
    const lower = name.toLowerCase();
    const near = CONTAINER_RESOURCES.find((r) => r === lower) ?? (lower.startsWith(HUGEPAGES) ? `${HUGEPAGES}${name.slice(HUGEPAGES.length)}` : undefined);
    return {
      ok: false,
      reason: `a container can use cpu, memory, ephemeral-storage and hugepages-<size>; other resources need a domain prefix, such as nvidia.com/gpu${near ? ` (did you mean ${quote(near)}?)` : ''}`,
    };
  }
  if (name.includes('kubernetes.io/')) return { ok: true, resource: { kind: 'standard' } }; // helper.IsNativeResource
  // helper.IsExtendedResourceName
  if (name.startsWith('requests.')) return { ok: false, reason: 'an extended resource name cannot start with "requests."' };
  if (qualifiedNameProblem(`requests.${name}`)) return { ok: false, reason: 'its prefix is too long for an extended resource: at most 244 characters' };
  return { ok: true, resource: { kind: 'extended' } };
}

/** validation.IsQualifiedName, as one reason. */
function qualifiedNameProblem(name: string): string | undefined {
  const parts = name.split('/');
  if (parts.length > 2) return `${NAME_HELP} (at most one "/")`;
  const [prefix, local] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `the prefix before "/" must be a lower-case DNS subdomain of at most 253 characters, such as nvidia.com`;
  }
  if (local.length === 0 || local.length > 63 || !QUALIFIED_NAME.test(local)) {
    const what = prefix === undefined ? 'a resource name' : 'the name after "/"';
    return `${what} must be 1 to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit; ${NAME_HELP}`;
  }
  return undefined;
}

/** How a quantity appears in a message: valid ones as written (they hold no quote or space), shortened. */
function show(value: string | number): string {
  const text = String(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function objectOrEmpty(value: unknown): object {
  return typeof value === 'object' && value !== null ? value : {};
}

interface Entry {
  name: string;
  text: string | number;
  amount: Amount;
  resource: ResourceKind;
}

/**
 * Every reason the API server would refuse a Pod with these container resources, one line each:
 * `<where>: container.resources.<requests|limits>.<name>: <problem>`. Empty when the API server would
 * accept them. where names the task, e.g. `task "train"`.
 */
export function checkResources(resources: ResourceRequirements | undefined, where: string): string[] {
  const errors: string[] = [];
  if (resources === undefined || resources === null || typeof resources !== 'object') return errors;
  const valid: Record<'requests' | 'limits', Map<string, Entry>> = { requests: new Map(), limits: new Map() };
  const invalidNames = new Set<string>();
  for (const field of ['requests', 'limits'] as const) {
    const list = resources[field];
    if (list === undefined || list === null || typeof list !== 'object') continue;
    for (const [name, text] of Object.entries(list)) {
      const classified = classify(name);
      if (!classified.ok) {
        errors.push(`${where}: container.resources.${field}: invalid resource name ${quote(name)}: ${classified.reason}`);
        invalidNames.add(name);
        continue;
      }
      const at = `${where}: container.resources.${field}.${name}`;
      const parsed = parseAmount(text);
      if (!parsed.ok) {
        errors.push(`${at}: ${parsed.error}`);
        continue;
      }
      const { amount } = parsed;
      const { resource } = classified;
      if (amount.neg) {
        errors.push(`${at}: ${show(text)} is negative: a resource quantity must be 0 or more`);
      } else if (resource.kind === 'extended') {
        // IsIntegerResourceName: MilliValue() % 1000 == 0.
        const milli = scaledCeil(amount, -3);
        if (milli === undefined) errors.push(`${at}: ${show(text)} is too large: the API server counts ${name} in thousandths, at most 2^63-1 of them`);
        else if (milli % 1000n !== 0n) errors.push(`${at}: ${show(text)} is not a whole number: extended resources such as ${name} are counted in whole units`);
      } else if (resource.kind === 'hugepages') {
        // IsHugePageResourceValueDivisible: Value() % pageSize.Value() == 0.
        const bytes = scaledCeil(amount, 0);
        if (bytes === undefined) errors.push(`${at}: ${show(text)} is too large: the API server counts ${name} in bytes, at most 2^63-1 of them`);
        else if (bytes % scaledCeil(resource.pageSize, 0)! !== 0n) errors.push(`${at}: ${show(text)} is not a whole number of ${resource.pageText} pages`);
      }
      valid[field].set(name, { name, text, amount, resource });
    }
  }
  for (const request of valid.requests.values()) {
    const at = `${where}: container.resources.requests.${request.name}`;
    const limit = valid.limits.get(request.name);
    const overcommit = request.resource.kind === 'standard';
    if (!limit) {
      // A limit that is there but is not a quantity has its own error already.
      const given = typeof resources.limits === 'object' && resources.limits !== null && Object.hasOwn(resources.limits, request.name);
      if (!overcommit && !given) {
        errors.push(`${at}: ${show(request.text)} has no limit: ${request.name} cannot be overcommitted, so set limits.${request.name} to the same amount`);
      }
      continue;
    }
    if (request.amount.neg || limit.amount.neg) continue; // already refused as negative
    const order = compare(request.amount, limit.amount);
    if (!overcommit && order !== 0) {
      errors.push(`${at}: ${show(request.text)} differs from its limit ${show(limit.text)}: ${request.name} cannot be overcommitted, so its request must equal its limit`);
    } else if (order > 0) {
      errors.push(`${at}: ${show(request.text)} is more than its limit ${show(limit.text)}`);
    }
  }
  // Any name counts here, as for the API server; a hugepages name with a bad page size has its own error already.
  const names = [...Object.keys(objectOrEmpty(resources.requests)), ...Object.keys(objectOrEmpty(resources.limits))];
  if (names.some((n) => n.startsWith(HUGEPAGES) && !invalidNames.has(n)) && !names.some((n) => n === 'cpu' || n === 'memory')) {
    errors.push(`${where}: container.resources: hugepages need a cpu or memory request or limit as well`);
  }
  return errors;
}

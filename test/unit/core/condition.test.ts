import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FlyteType } from '../../../src/core/types/index.ts';
import {
  compileCondition,
  conditionInputs,
  evaluateCondition,
  MAX_CONDITION_LENGTH,
  MAX_CONDITION_NESTING,
  type Condition,
} from '../../../src/core/condition.ts';
import { dateTimeTextArb, durationTextArb, optionalOf, valueArb } from '../types/arbitraries.ts';

const INT: FlyteType = { kind: 'int' };
const FLOAT: FlyteType = { kind: 'float' };
const STR: FlyteType = { kind: 'str' };
const BOOL: FlyteType = { kind: 'bool' };
const DATETIME: FlyteType = { kind: 'datetime' };
const DURATION: FlyteType = { kind: 'duration' };

const INPUTS = new Map<string, FlyteType>([
  ['a', INT],
  ['b', INT],
  ['c', INT],
  ['x', FLOAT],
  ['s', STR],
  ['s2', STR],
  ['flag', BOOL],
  ['flag2', BOOL],
  ['t', DATETIME],
  ['t2', DATETIME],
  ['d', DURATION],
  ['d2', DURATION],
  ['o', optionalOf(INT)],
  ['p', optionalOf(FLOAT)],
  ['os', optionalOf(STR)],
  ['xs', { kind: 'list', of: INT }],
  ['m', { kind: 'map', of: FLOAT }],
  ['raw', { kind: 'dict' }],
  ['oxs', optionalOf({ kind: 'list', of: STR })],
]);

function compile(text: string, inputs: ReadonlyMap<string, FlyteType> = INPUTS): Condition {
  const result = compileCondition(text, inputs);
  assert.ok(result.ok, `${text}: ${result.ok ? '' : result.errors.join('; ')}`);
  return result.condition;
}

function errorsOf(text: string, inputs: ReadonlyMap<string, FlyteType> = INPUTS): string[] {
  const result = compileCondition(text, inputs);
  assert.ok(!result.ok, `${text} compiled`);
  return result.errors;
}

function run(text: string, values: Record<string, unknown>): boolean {
  const result = evaluateCondition(compile(text), values);
  assert.ok(result.ok, `${text}: ${result.ok ? '' : result.error}`);
  return result.value;
}

/** Asserts each [condition, expected] row on the same values. */
function assertAll(values: Record<string, unknown>, rows: ReadonlyArray<readonly [string, boolean]>): void {
  for (const [text, expected] of rows) assert.equal(run(text, values), expected, text);
}

test('numbers: every operator, int against float, constants on either side', () => {
  assertAll({ a: 2, b: 3, x: 2.5 }, [
    ['a == 2', true],
    ['a != 2', false],
    ['a < 3', true],
    ['a <= 2', true],
    ['a > 2', false],
    ['a >= 2.0', true],
    ['a < x', true],
    ['x > a', true],
    ['a == 2.0', true],
    ['x == 2.5', true],
    ['x != 2.5', false],
    ['x <= 2.5', true],
    ['x >= 2.6', false],
    ['3 > a', true],
    ['2.5e0 == x', true],
    ['x > -1e3', true],
    ['x < 25E-1', false],
    ['a != b', true],
    ['a <= b', true],
  ]);
  assert.equal(run('a == x', { a: 2, x: 2 }), true);
});

test('strings: every operator, ordered by UTF-16 code units like JavaScript', () => {
  assertAll({ s: 'beta', s2: 'alpha' }, [
    ["s == 'beta'", true],
    ['s == "beta"', true],
    ["s != 'beta'", false],
    ["s < 'gamma'", true],
    ["s <= 'beta'", true],
    ["s > 'Beta'", true],
    ["s >= 'c'", false],
    ['s > s2', true],
    ['s == s2', false],
  ]);
  // U+FFFF is one code unit 0xFFFF; U+1F600 starts with the surrogate 0xD83D, so it sorts first.
  assert.equal(run("s < '\uFFFF'", { s: '\u{1F600}' }), true);
  assert.equal(run("s == 'it\\'s \\\"q\\\" \\\\ \\n\\t'", { s: 'it\'s "q" \\ \n\t' }), true);
});

test('bools: == and != against constants and inputs', () => {
  assertAll({ flag: true, flag2: false }, [
    ['flag == true', true],
    ['flag != true', false],
    ['false == flag', false],
    ['flag == flag2', false],
    ['flag != flag2', true],
  ]);
});

test('datetimes compare by instant, across offsets and to the millisecond', () => {
  const values = { t: '2024-01-01T01:00:00+01:00', t2: '2024-01-01T00:00:00.001Z' };
  assertAll(values, [
    ["t == '2024-01-01T00:00:00Z'", true],
    ["t != '2024-01-01T00:00:00z'", false],
    ["t == '2023-12-31 19:00:00-05:00'", true],
    ["t < '2024-01-01t00:00:00.001Z'", true],
    ["t <= '2024-01-01T00:00:00Z'", true],
    ["t > '2023-12-31T23:59:59.999Z'", true],
    ["t >= '2024-01-01T00:00:01Z'", false],
    ['t < t2', true],
    ['t2 > t', true],
    ['t == t2', false],
  ]);
  // Digits beyond the millisecond are cut, not rounded.
  assert.equal(run("t == '2024-01-01T00:00:00.0009Z'", { t: '2024-01-01T00:00:00Z' }), true);
  assert.equal(run("t < '2024-01-01T00:00:00.0019Z'", { t: '2024-01-01T00:00:00.000999Z' }), true);
});

test('durations compare by length, whatever the spelling', () => {
  assertAll({ d: '90s', d2: '1.5m' }, [
    ["d == '1m30s'", true],
    ["d != '90000ms'", false],
    ["d < '1h'", true],
    ["d <= '1m30s'", true],
    ["d > '1m29.999s'", true],
    ["d >= '2m'", false],
    ['d == d2', true],
    ['d < d2', false],
  ]);
});

test('not binds tighter than and, which binds tighter than or', () => {
  const text = 'not a == 1 or b == 2 and c == 3';
  const compare = (name: string, value: number, at: number): Condition => ({
    kind: 'compare',
    op: '==',
    left: { kind: 'input', name },
    right: { kind: 'constant', value },
    as: 'number',
    at,
  });
  assert.deepEqual(compile(text), {
    kind: 'or',
    of: [
      { kind: 'not', of: compare('a', 1, 5) },
      { kind: 'and', of: [compare('b', 2, 15), compare('c', 3, 26)] },
    ],
  });
  for (const [a, b, c] of [0, 1, 2, 3, 4, 5, 6, 7].map((n) => [n & 1, (n >> 1) & 1 ? 2 : 0, (n >> 2) & 1 ? 3 : 0])) {
    assert.equal(run(text, { a, b, c }), !(a === 1) || (b === 2 && c === 3), `a=${a} b=${b} c=${c}`);
  }
});

test('parentheses group, and "not" applies to a parenthesised condition', () => {
  assert.equal(run('(a == 1 or b == 2) and c == 3', { a: 1, b: 0, c: 0 }), false);
  assert.equal(run('a == 1 or b == 2 and c == 3', { a: 1, b: 0, c: 0 }), true);
  assert.equal(run("x < 0.5 and not (s == 'test')", { x: 0.25, s: 'prod' }), true);
  assert.equal(run("x < 0.5 and not (s == 'test')", { x: 0.25, s: 'test' }), false);
  assert.equal(run('not not a == 1', { a: 1 }), true);
  assert.equal(run('((((a == 1))))', { a: 1 }), true);
  assert.equal(run(' \n\ta==1\tand(b==2)or\nc==3 ', { a: 1, b: 2, c: 0 }), true);
});

test('is null and is not null test Optional inputs; a missing value counts as null', () => {
  assertAll({ o: null, p: 1.5 }, [
    ['o is null', true],
    ['o is not null', false],
    ['p is null', false],
    ['p is not null', true],
    ['not o is null', false],
  ]);
  assert.equal(run('o is null', {}), true);
  assert.equal(run('oxs is null', { oxs: ['a'] }), false);
});

test('== and != treat null as a value; ordering a null is an error that suggests a guard', () => {
  assertAll({ o: null, p: null, a: 3 }, [
    ['o == 3', false],
    ['o != 3', true],
    ['3 == o', false],
    ['o == a', false],
    ['o == p', true],
    ['o != p', false],
  ]);
  assert.deepEqual(evaluateCondition(compile('a > 1 and o < 3'), { a: 2, o: null }), {
    ok: false,
    error: 'at 11: "o" is null, and "<" needs a value; test "o is not null and ..." first',
  });
  assert.deepEqual(evaluateCondition(compile('0 >= p'), {}), {
    ok: false,
    error: 'at 1: "p" is null, and ">=" needs a value; test "p is not null and ..." first',
  });
});

test('and and or stop at the first operand that decides them', () => {
  assert.equal(run('o is not null and o < 3', { o: null }), false);
  assert.equal(run('o is null or o > 3', { o: null }), true);
  assert.equal(run('o is not null and o < 3', { o: 2 }), true);
  assert.equal(run('a == 1 or o < 3', { a: 1, o: null }), true);
  assert.equal(run('not (a == 1 and o < 3)', { a: 0, o: null }), true);
  assert.equal(evaluateCondition(compile('a == 0 and o < 3'), { a: 0, o: null }).ok, false);
});

test('conditionInputs lists each input once, in order of appearance', () => {
  assert.deepEqual(conditionInputs(compile('b < a and (o is null or a == 2) and not x > b')), ['b', 'a', 'o', 'x']);
  assert.deepEqual(conditionInputs(compile("3 < a or 's' == s")), ['a', 's']);
});

test('a compiled condition survives JSON and evaluates the same', () => {
  const condition = compile("(t > '2024-01-01T00:00:00Z' or d < '1m') and not o is null and s >= 'a'");
  const copy = JSON.parse(JSON.stringify(condition)) as Condition;
  assert.deepEqual(copy, condition);
  const values = { t: '2024-06-01T00:00:00Z', d: '2m', o: 1, s: 'b' };
  assert.deepEqual(evaluateCondition(copy, values), evaluateCondition(condition, values));
  assert.deepEqual(evaluateCondition(copy, values), { ok: true, value: true });
});

test('an input named like an Object.prototype member is read only from the values', () => {
  const inputs = new Map<string, FlyteType>([['constructor', optionalOf(STR)]]);
  const condition = compile('constructor is null', inputs);
  assert.deepEqual(evaluateCondition(condition, {}), { ok: true, value: true });
});

test('a value of the wrong shape is an evaluation error, not an exception', () => {
  assert.deepEqual(evaluateCondition(compile('a < 3'), { a: 'three' }), {
    ok: false,
    error: 'at 1: "a" is str "three", which cannot be compared as number',
  });
  assert.deepEqual(evaluateCondition(compile("t < '2024-01-01T00:00:00Z'"), { t: 'soon' }), {
    ok: false,
    error: 'at 1: "t" is str "soon", which cannot be compared as datetime',
  });
});

test('syntax errors: the first one is reported, with its position', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['', 'the condition is empty'],
    [' \n ', 'the condition is empty'],
    ['a', 'at 1: "a" alone is not a condition; compare it, as in "a == true"'],
    ['flag and flag2', 'at 1: "flag" alone is not a condition; compare it, as in "flag == true"'],
    ['(flag) or a == 1', 'at 2: "flag" alone is not a condition; compare it, as in "flag == true"'],
    ['a < b < c', 'at 7: comparisons cannot be chained; join them with "and", as in "a < b and b < c"'],
    ['a = 1', 'at 3: "=" is not an operator; use "==" to compare'],
    ['a ! 1', 'at 3: "!" is not an operator; use "!=" or "not"'],
    ['a == 1 && b == 2', 'at 8: unexpected character "&"'],
    ['a == 1 # comment', 'at 8: unexpected character "#"'],
    ['s == \u{1F600}', 'at 6: unexpected character "\u{1F600}"'],
    ["s == 'abc", 'at 6: the string starting here is never closed'],
    ["s == 'a\\", 'at 6: the string starting here is never closed'],
    ["s == 'a\\x'", "at 8: unknown escape \\x in a string; use \\\\, \\', \\\", \\n or \\t"],
    ['a == 1.', 'at 6: malformed number "1."'],
    ['a == 1e', 'at 6: malformed number "1e"'],
    ['a == 12abc', 'at 6: malformed number "12abc"'],
    ['a == .5', 'at 6: unexpected character "."'],
    ['a == - 1', 'at 6: malformed number "-"'],
    ['a ==', 'at 5: expected an input name or a constant, got the end of the text'],
    ['a == )', 'at 6: expected an input name or a constant, got ")"'],
    ['a == 1)', 'at 7: expected "and", "or" or the end of the text, got ")"'],
    ['(a == 1', 'at 8: expected ")" to close the "(" at 1, got the end of the text'],
    ['a == 1 b == 2', 'at 8: expected "and", "or" or the end of the text, got "b"'],
    ['a b', 'at 3: expected a comparison operator or "is" after "a", got "b"'],
    ['a == 1 or', 'at 10: expected an input name or a constant, got the end of the text'],
    ['and a == 1', 'at 1: expected an input name or a constant, got "and"'],
    ['o == null', 'at 6: null cannot be compared; use "is null" or "is not null"'],
    ['o is 3', 'at 6: expected "null" or "not null", got the number 3'],
    ["o is not 'x'", "at 10: expected \"null\", got the string 'x'"],
    ['a == 1 AND b == 2', 'at 8: expected "and", "or" or the end of the text, got "AND"; keywords are lowercase, as in "and"'],
    ['NOT a == 1', 'at 5: expected a comparison operator or "is" after "NOT", got "a"; keywords are lowercase, as in "not"'],
  ];
  for (const [text, message] of cases) assert.deepEqual(errorsOf(text), [message], JSON.stringify(text));
});

test('type errors: each one is reported, with its position', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['z == 1', `at 1: unknown input "z" (the branch's inputs are: ${[...INPUTS.keys()].sort().join(', ')})`],
    ['1 < 2', 'at 1: 1 < 2 compares two constants; one side must be an input'],
    ["'a' == 'b'", "at 1: 'a' == 'b' compares two constants; one side must be an input"],
    ["a == 'abc'", `at 1: "a" is int, which cannot be compared with the string 'abc'`],
    ['s == 3', 'at 1: "s" is str, which cannot be compared with the number 3'],
    ['3 < s', 'at 5: "s" is str, which cannot be compared with the number 3'],
    ['x == true', 'at 1: "x" is float, which cannot be compared with the bool true'],
    ['flag == 1', 'at 1: "flag" is bool, which cannot be compared with the number 1'],
    ['d == 90', 'at 1: "d" is duration, which cannot be compared with the number 90'],
    ["t < 'tomorrow'", "at 1: \"t\" is datetime, which cannot be compared with the string 'tomorrow' (not an RFC 3339 date-time such as '2024-05-01T10:00:00Z')"],
    ["t < '2024-02-30T00:00:00Z'", "at 1: \"t\" is datetime, which cannot be compared with the string '2024-02-30T00:00:00Z' (not an RFC 3339 date-time such as '2024-05-01T10:00:00Z')"],
    ["d > '5 minutes'", "at 1: \"d\" is duration, which cannot be compared with the string '5 minutes' (not a duration such as '90s', '1h30m' or '250ms')"],
    ['a == s', 'at 1: "a" is int and "s" is str, which cannot be compared'],
    ['t == d', 'at 1: "t" is datetime and "d" is duration, which cannot be compared'],
    ['os < x', 'at 1: "os" is Optional[str] and "x" is float, which cannot be compared'],
    ['xs == a', 'at 1: "xs" is list[int], which cannot be compared; only int, float, str, bool, datetime and duration can'],
    ['flag < true', 'at 1: bools cannot be ordered with "<"; use == or !='],
    ['flag >= flag2', 'at 1: bools cannot be ordered with ">="; use == or !='],
    ['a is null', 'at 1: "a" is int, never null; is null needs an Optional[...] input'],
    ['t is not null', 'at 1: "t" is datetime, never null; is null needs an Optional[...] input'],
    ['3 is null', 'at 1: 3 is a constant, never null; is null needs an Optional[...] input'],
    ['x < 1e999', 'at 5: the number 1e999 is out of range'],
    ['a == TRUE', `at 6: unknown input "TRUE" (the branch's inputs are: ${[...INPUTS.keys()].sort().join(', ')}); keywords are lowercase, as in "true"`],
  ];
  for (const [text, message] of cases) assert.deepEqual(errorsOf(text), [message], text);
  assert.deepEqual(errorsOf('m != raw'), [
    'at 1: "m" is dict[str, float], which cannot be compared; only int, float, str, bool, datetime and duration can',
    'at 6: "raw" is dict, which cannot be compared; only int, float, str, bool, datetime and duration can',
  ]);
  assert.deepEqual(errorsOf('y == 1', new Map()), ['at 1: unknown input "y" (the branch has no inputs)']);
  assert.deepEqual(errorsOf('y == 1', new Map<string, FlyteType>([['b', INT], ['a', STR]])), [`at 1: unknown input "y" (the branch's inputs are: a, b)`]);
});

test('all type errors are collected; a syntax error replaces them', () => {
  assert.deepEqual(errorsOf("y == z or a == 's' and not (flag < false)", new Map<string, FlyteType>([['a', INT], ['flag', BOOL]])), [
    `at 1: unknown input "y" (the branch's inputs are: a, flag)`,
    `at 6: unknown input "z" (the branch's inputs are: a, flag)`,
    `at 11: "a" is int, which cannot be compared with the string 's'`,
    'at 29: bools cannot be ordered with "<"; use == or !=',
  ]);
  assert.deepEqual(errorsOf("y == z or a == 's' and"), ['at 23: expected an input name or a constant, got the end of the text']);
});

test('the text is limited to 4096 characters', () => {
  const padded = `a == 1${' '.repeat(MAX_CONDITION_LENGTH - 6)}`;
  assert.equal(padded.length, MAX_CONDITION_LENGTH);
  compile(padded);
  assert.deepEqual(errorsOf(`${padded} `), ['the condition is 4097 characters long; the limit is 4096']);
  assert.deepEqual(errorsOf('('.repeat(1_000_000)), ['the condition is 1000000 characters long; the limit is 4096']);
});

test('nesting is limited to 64 levels of "(" and "not", without overflowing the stack', () => {
  const deep = (levels: number): string => `${'('.repeat(levels)}a == 1${')'.repeat(levels)}`;
  assert.equal(run(deep(MAX_CONDITION_NESTING), { a: 1 }), true);
  assert.deepEqual(errorsOf(deep(MAX_CONDITION_NESTING + 1)), ['at 65: nesting deeper than 64 levels of "(" and "not"']);
  assert.equal(run(`${'not '.repeat(MAX_CONDITION_NESTING)}a == 1`, { a: 1 }), true);
  assert.deepEqual(errorsOf(`${'not '.repeat(MAX_CONDITION_NESTING + 1)}a == 1`), [
    'at 257: nesting deeper than 64 levels of "(" and "not"',
  ]);
  assert.deepEqual(errorsOf(`${'not ('.repeat(32)}not a == 1${')'.repeat(32)}`), [
    'at 161: nesting deeper than 64 levels of "(" and "not"',
  ]);
  assert.equal(errorsOf('('.repeat(MAX_CONDITION_LENGTH)).length, 1);
  assert.equal(errorsOf('not '.repeat(MAX_CONDITION_LENGTH / 4)).length, 1);
  // Long flat chains are not nesting: "or" and "and" collect their operands in a list.
  const chain = Array.from({ length: 300 }, (_, index) => `a == ${index}`).join(' or ');
  assert.equal(run(chain, { a: 299 }), true);
});

// ─── Properties ──────────────────────────────────────────────────────────────

const tokenSoupArb = fc
  .array(
    fc.constantFrom('a', 'o', 's', 'xs', 'z', 'and', 'or', 'not', 'is', 'null', 'true', 'AND', '(', ')', '==', '<', '=', '!',
      '1', '-2.5e3', '1e999', "'x'", '"y\\"', '\\', ' ', '\n', '#'),
    { maxLength: 60 },
  )
  .map((pieces) => pieces.join(' '));

test('compileCondition never throws, and every error says where', () => {
  const textArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), tokenSoupArb, tokenSoupArb.map((t) => t.replaceAll(' ', '')));
  fc.assert(
    fc.property(textArb, (text) => {
      const result = compileCondition(text, INPUTS);
      if (result.ok) return;
      assert.ok(result.errors.length > 0);
      for (const error of result.errors) {
        assert.match(error, /^at \d+: .+|^the condition is empty$/, error);
      }
    }),
    { numRuns: 2000 },
  );
});

const COMPARABLE: readonly FlyteType[] = [INT, FLOAT, STR, BOOL, DATETIME, DURATION];
const domainOf = (t: FlyteType): string => {
  const inner = t.kind === 'optional' ? t.of : t;
  return inner.kind === 'int' || inner.kind === 'float' ? 'number' : inner.kind;
};

interface Env {
  types: FlyteType[];
  values: Record<string, unknown>;
}

/** Inputs i0, i1, ... of comparable types, some Optional, with values that pass checkValue. */
const envArb: fc.Arbitrary<Env> = fc
  .array(fc.tuple(fc.constantFrom(...COMPARABLE), fc.boolean()), { minLength: 1, maxLength: 6 })
  .map((pairs) => pairs.map(([type, optional]) => (optional ? optionalOf(type) : type)))
  .chain((types) => fc.tuple(...types.map((type) => valueArb(type))).map((values) => ({
    types,
    values: Object.fromEntries(values.map((value, index) => [`i${index}`, value])),
  })));

const inputsOf = (env: Env): Map<string, FlyteType> => new Map(env.types.map((type, index) => [`i${index}`, type]));

function literalArb(type: FlyteType): fc.Arbitrary<string> {
  const inner = type.kind === 'optional' ? type.of : type;
  switch (inner.kind) {
    case 'int':
      return fc.maxSafeInteger().map(String);
    case 'float':
      return fc.double({ noNaN: true, noDefaultInfinity: true }).map(String);
    case 'str':
      return fc.string({ unit: 'binary', maxLength: 12 }).map((s) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`);
    case 'bool':
      return fc.constantFrom('true', 'false');
    case 'datetime':
      return dateTimeTextArb.map((s) => `'${s}'`);
    default:
      return durationTextArb.map((s) => `"${s}"`);
  }
}

interface Comparison {
  left: string;
  op: string;
  right: string;
}

/** A well-typed comparison on one of the env's inputs, against a constant or an input of the same domain. */
function comparisonArb(env: Env): fc.Arbitrary<Comparison> {
  return fc.nat(env.types.length - 1).chain((index) => {
    const type = env.types[index]!;
    const name = `i${index}`;
    const ordered = domainOf(type) !== 'bool';
    const opArb = fc.constantFrom(...(ordered ? ['==', '!=', '<', '<=', '>', '>='] : ['==', '!=']));
    const peers = env.types.flatMap((other, otherIndex) => (domainOf(other) === domainOf(type) ? [`i${otherIndex}`] : []));
    const otherArb = fc.oneof(literalArb(type), fc.constantFrom(...peers));
    return fc
      .tuple(opArb, otherArb, fc.boolean())
      .map(([op, other, swap]) => (swap ? { left: other, op, right: name } : { left: name, op, right: other }));
  });
}

/** A comparison, or a null test on an Optional input. */
function leafArb(env: Env): fc.Arbitrary<string> {
  const comparison = comparisonArb(env).map(({ left, op, right }) => `${left} ${op} ${right}`);
  const optionals = env.types.flatMap((type, index) => (type.kind === 'optional' ? [`i${index}`] : []));
  if (optionals.length === 0) return comparison;
  const nullTest = fc.tuple(fc.constantFrom(...optionals), fc.constantFrom('is null', 'is not null')).map(([name, test]) => `${name} ${test}`);
  return fc.oneof(comparison, nullTest);
}

function conditionArb(env: Env, depth: number): fc.Arbitrary<string> {
  const leaf = leafArb(env);
  if (depth === 0) return leaf;
  const inner = conditionArb(env, depth - 1);
  return fc.oneof(
    { arbitrary: leaf, weight: 2 },
    inner.map((c) => `not ${c}`),
    inner.map((c) => `(${c})`),
    fc.tuple(inner, fc.constantFrom('and', 'or'), inner).map(([l, op, r]) => `${l} ${op} ${r}`),
  );
}

const envWithConditionArb = envArb.chain((env) => conditionArb(env, 3).map((text) => ({ env, text })));

test('random well-typed conditions compile, and evaluating them never throws', () => {
  fc.assert(
    fc.property(envWithConditionArb, ({ env, text }) => {
      const result = compileCondition(text, inputsOf(env));
      assert.ok(result.ok, `${text}: ${result.ok ? '' : result.errors.join('; ')}`);
      const evaluation = evaluateCondition(result.condition, env.values);
      if (!evaluation.ok) assert.match(evaluation.error, /^at \d+: "i\d+" is null, and "[<>]=?" needs a value/);
      for (const name of conditionInputs(result.condition)) assert.ok(inputsOf(env).has(name));
    }),
    { numRuns: 500 },
  );
});

const FLIPPED: Record<string, string> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const NEGATED: Record<string, string> = { '==': '!=', '!=': '==', '<': '>=', '<=': '>', '>': '<=', '>=': '<' };

test('a comparison agrees with its mirror image and with the negation of its opposite', () => {
  const caseArb = envArb.chain((env) => comparisonArb(env).map((comparison) => ({ env, ...comparison })));
  fc.assert(
    fc.property(caseArb, ({ env, left, op, right }) => {
      const inputs = inputsOf(env);
      const value = (condition: string) => evaluateCondition(compile(condition, inputs), env.values);
      const original = value(`${left} ${op} ${right}`);
      fc.pre(original.ok);
      assert.deepEqual(value(`${right} ${FLIPPED[op]} ${left}`), original);
      assert.deepEqual(value(`not ${left} ${NEGATED[op]} ${right}`), original);
    }),
    { numRuns: 500 },
  );
});

test('number comparisons agree with JavaScript', () => {
  const caseArb = fc.tuple(
    fc.oneof(fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    fc.constantFrom('==', '!=', '<', '<=', '>', '>='),
    fc.oneof(fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  );
  const reference: Record<string, (l: number, r: number) => boolean> = {
    '==': (l, r) => l === r,
    '!=': (l, r) => l !== r,
    '<': (l, r) => l < r,
    '<=': (l, r) => l <= r,
    '>': (l, r) => l > r,
    '>=': (l, r) => l >= r,
  };
  fc.assert(
    fc.property(caseArb, ([x, op, constant]) => {
      assert.equal(run(`x ${op} ${String(constant)}`, { x }), reference[op]!(x, constant));
    }),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlyteType } from '../../../src/core/types/index.ts';
import { checkValue, describeValue, formatMismatch, parseType } from '../../../src/core/types/index.ts';

function typeOf(text: string): FlyteType {
  const result = parseType(text);
  if (!result.ok) assert.fail(`bad type in test: ${result.error}`);
  return result.type;
}

/** The formatted first mismatch, or undefined when the value fits. */
function problem(typeText: string, value: unknown): string | undefined {
  const mismatch = checkValue(typeOf(typeText), value);
  return mismatch === undefined ? undefined : formatMismatch(mismatch);
}

test('checkValue accepts values of the declared type', () => {
  const cases: Array<[string, unknown]> = [
    ['int', 0],
    ['int', -0],
    ['int', 3],
    ['int', -42],
    ['int', 3.0],
    ['int', Number.MAX_SAFE_INTEGER],
    ['int', Number.MIN_SAFE_INTEGER],
    ['float', 1.5],
    ['float', 3],
    ['float', -1e300],
    ['float', Number.MAX_SAFE_INTEGER + 2],
    ['str', ''],
    ['str', 'abc'],
    ['bool', true],
    ['bool', false],
    ['datetime', '2024-05-01T10:00:00Z'],
    ['datetime', '2024-05-01T10:00:00+02:00'],
    ['duration', '90s'],
    ['duration', '1h30m'],
    ['duration', '1.5h'],
    ['duration', '250ms'],
    ['dict', {}],
    ['dict', { a: 1, b: [1, 'x'], c: { d: null } }],
    ['dict', Object.create(null)],
    ['list[int]', []],
    ['list[int]', [1, 2, 3]],
    ['list[float]', [1, 2.5]],
    ['list[list[str]]', [['a'], [], ['b', 'c']]],
    ['dict[str, int]', {}],
    ['dict[str, int]', { a: 1, 'b c': 2 }],
    ['dict[str, list[bool]]', { x: [true, false] }],
    ['Optional[int]', null],
    ['Optional[int]', undefined],
    ['Optional[int]', 7],
    ['list[Optional[str]]', ['a', null, undefined]],
    ['dict[str, Optional[float]]', { a: null, b: 1.5 }],
    ['Optional[list[Optional[dict]]]', [null, {}]],
  ];
  for (const [type, value] of cases) assert.equal(problem(type, value), undefined, `${type} ${JSON.stringify(value)}`);
});

test('checkValue reports the first mismatch with its path', () => {
  const cases: Array<[string, unknown, string]> = [
    ['int', 1.5, 'expected int, got float 1.5'],
    ['int', 'x', 'expected int, got str "x"'],
    ['int', '3', 'expected int, got str "3"'],
    ['int', true, 'expected int, got bool true'],
    ['int', null, 'expected int, got null'],
    ['int', undefined, 'expected int, got no value'],
    [
      'int',
      2 ** 53,
      'expected int, got int 9007199254740992, beyond ±(2^53−1) where JSON numbers lose precision in JavaScript',
    ],
    ['int', -1e300, 'expected int, got int -1e+300, beyond ±(2^53−1) where JSON numbers lose precision in JavaScript'],
    ['float', '1.5', 'expected float, got str "1.5"'],
    ['float', Number.NaN, 'expected float, got number NaN'],
    ['float', Number.POSITIVE_INFINITY, 'expected float, got number Infinity'],
    ['str', 5, 'expected str, got int 5'],
    ['str', null, 'expected str, got null'],
    ['str', ['a'], 'expected str, got list of 1'],
    ['bool', 0, 'expected bool, got int 0'],
    ['bool', 'true', 'expected bool, got str "true"'],
    [
      'datetime',
      '2024-05-01',
      'expected datetime, got str "2024-05-01", not a valid RFC 3339 date-time with a time zone, such as "2024-05-01T10:00:00Z"',
    ],
    [
      'datetime',
      '2024-02-30T10:00:00Z',
      'expected datetime, got str "2024-02-30T10:00:00Z", not a valid RFC 3339 date-time with a time zone, such as "2024-05-01T10:00:00Z"',
    ],
    ['datetime', 1714557600, 'expected datetime, got int 1714557600'],
    ['duration', '-5s', 'expected duration, got str "-5s", not a duration such as "90s", "1h30m" or "250ms"'],
    ['duration', 90, 'expected duration, got int 90'],
    ['dict', [], 'expected dict, got list of 0'],
    ['dict', null, 'expected dict, got null'],
    ['dict', 'x', 'expected dict, got str "x"'],
    ['list[int]', { 0: 1 }, 'expected list[int], got object with 1 key'],
    ['list[int]', 'abc', 'expected list[int], got str "abc"'],
    ['list[int]', [1, 2, 1.5], 'at [2]: expected int, got float 1.5'],
    ['list[int]', [1, 'a', 2.5], 'at [1]: expected int, got str "a"'],
    ['list[list[int]]', [[1], [2, 'x']], 'at [1][1]: expected int, got str "x"'],
    ['list[list[int]]', [[1], 2], 'at [1]: expected list[int], got int 2'],
    ['dict[str, int]', [1], 'expected dict[str, int], got list of 1'],
    ['dict[str, int]', { a: 1, b: 'x' }, 'at .b: expected int, got str "x"'],
    ['dict[str, int]', { 'a b': true }, 'at ["a b"]: expected int, got bool true'],
    ['dict[str, int]', { '': null }, 'at [""]: expected int, got null'],
    ['dict[str, int]', { '1x': 0.5 }, 'at ["1x"]: expected int, got float 0.5'],
    ['dict[str, int]', { 'say "hi"': 's' }, 'at ["say \\"hi\\""]: expected int, got str "s"'],
    ['dict[str, list[int]]', { a: [0, 'x'] }, 'at .a[1]: expected int, got str "x"'],
    ['list[dict[str, int]]', [{ ok: 1 }, { _x1: 'no' }], 'at [1]._x1: expected int, got str "no"'],
    ['Optional[int]', 'x', 'expected int, got str "x"'],
    ['Optional[list[int]]', [null], 'at [0]: expected int, got null'],
    ['list[Optional[int]]', [null, 1.5], 'at [1]: expected int, got float 1.5'],
  ];
  for (const [type, value, message] of cases) assert.equal(problem(type, value), message, `${type} ${String(value)}`);
});

test('checkValue returns the structured mismatch', () => {
  assert.deepEqual(checkValue(typeOf('dict[str, list[float]]'), { xs: [1, 'two'] }), {
    path: '.xs[1]',
    expected: 'float',
    actual: 'str "two"',
  });
  assert.deepEqual(checkValue(typeOf('list[int]'), 7), { path: '', expected: 'list[int]', actual: 'int 7' });
});

test('checkValue stops at the first mismatch in document order', () => {
  let reads = 0;
  const untouchable = new Proxy([1, 2, 3], {
    get(target, property, receiver) {
      if (typeof property === 'string' && /^\d+$/.test(property)) reads += 1;
      return Reflect.get(target, property, receiver);
    },
  });
  const mismatch = checkValue(typeOf('list[list[int]]'), [[1], 'bad', untouchable]);
  assert.deepEqual(mismatch, { path: '[1]', expected: 'list[int]', actual: 'str "bad"' });
  assert.equal(reads, 0, 'elements after the first mismatch were inspected');
  assert.equal(problem('dict[str, int]', { a: 1, b: 'x', c: 'y' }), 'at .b: expected int, got str "x"');
  assert.equal(problem('list[list[int]]', [[1, 'first'], ['second']]), 'at [0][1]: expected int, got str "first"');
});

test('checkValue survives deeply nested hostile values', () => {
  const depth = 200_000;
  let type: FlyteType = { kind: 'int' };
  let value: unknown = 1;
  let wrong: unknown = 'x';
  for (let i = 0; i < depth; i += 1) {
    type = { kind: 'list', of: type };
    value = [value];
    wrong = [wrong];
  }
  assert.equal(checkValue(type, value), undefined);
  const mismatch = checkValue(type, wrong);
  assert.equal(mismatch?.path, '[0]'.repeat(depth));
  assert.equal(mismatch?.actual, 'str "x"');

  // A deep value under a shallow type is rejected at the top without walking it.
  let deepObject: unknown = {};
  for (let i = 0; i < depth; i += 1) deepObject = { a: deepObject };
  assert.equal(problem('list[int]', deepObject), 'expected list[int], got object with 1 key');
  assert.equal(problem('dict', deepObject), undefined);
  assert.equal(problem('dict[str, dict]', deepObject), undefined);
});

test('describeValue summarises values for error messages', () => {
  const cases: Array<[unknown, string]> = [
    [1.5, 'float 1.5'],
    [3, 'int 3'],
    [-0, 'int 0'],
    [1e21, 'int 1e+21'],
    [Number.NaN, 'number NaN'],
    [Number.NEGATIVE_INFINITY, 'number -Infinity'],
    ['abc', 'str "abc"'],
    ['', 'str ""'],
    ['line\nbreak', 'str "line\\nbreak"'],
    ['a'.repeat(40), `str "${'a'.repeat(40)}"`],
    ['a'.repeat(41), `str "${'a'.repeat(40)}…"`],
    ['😀'.repeat(40), `str "${'😀'.repeat(40)}"`],
    ['😀'.repeat(41), `str "${'😀'.repeat(40)}…"`],
    [true, 'bool true'],
    [false, 'bool false'],
    [null, 'null'],
    [undefined, 'no value'],
    [[], 'list of 0'],
    [[1, 2, 3], 'list of 3'],
    [{}, 'object with 0 keys'],
    [{ a: 1 }, 'object with 1 key'],
    [{ a: 1, b: 2 }, 'object with 2 keys'],
    [10n, 'bigint'],
    [() => 1, 'function'],
  ];
  for (const [value, description] of cases) assert.equal(describeValue(value), description);
  assert.equal(describeValue('x'.repeat(10_000_000)).length, 'str "'.length + 40 + '…"'.length);
});

test('formatMismatch places the path in front only when there is one', () => {
  assert.equal(formatMismatch({ path: '', expected: 'int', actual: 'str "x"' }), 'expected int, got str "x"');
  assert.equal(formatMismatch({ path: '[2]', expected: 'int', actual: 'float 1.5' }), 'at [2]: expected int, got float 1.5');
  assert.equal(formatMismatch({ path: '.a[0]', expected: 'str', actual: 'null' }), 'at .a[0]: expected str, got null');
});

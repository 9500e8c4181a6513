import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlyteType } from '../../../src/core/types/index.ts';
import { isAssignable, parseType } from '../../../src/core/types/index.ts';

function typeOf(text: string): FlyteType {
  const result = parseType(text);
  if (!result.ok) assert.fail(`bad type in test: ${result.error}`);
  return result.type;
}

const cases: Array<[from: string, to: string, assignable: boolean]> = [
  ['int', 'int', true],
  ['int', 'float', true],
  ['float', 'int', false],
  ['float', 'float', true],
  ['str', 'str', true],
  ['bool', 'bool', true],
  ['bool', 'int', false],
  ['int', 'bool', false],
  ['int', 'str', false],
  ['str', 'datetime', false],
  ['datetime', 'str', false],
  ['str', 'duration', false],
  ['duration', 'str', false],
  ['datetime', 'duration', false],
  ['datetime', 'datetime', true],
  ['duration', 'duration', true],
  ['dict', 'dict', true],
  ['dict[str, int]', 'dict', true],
  ['dict[str, list[int]]', 'dict', true],
  ['dict', 'dict[str, int]', false],
  ['dict[str, int]', 'dict[str, float]', true],
  ['dict[str, float]', 'dict[str, int]', false],
  ['dict[str, int]', 'dict[str, str]', false],
  ['list[int]', 'list[int]', true],
  ['list[int]', 'list[float]', true],
  ['list[float]', 'list[int]', false],
  ['list[int]', 'dict', false],
  ['list[int]', 'int', false],
  ['int', 'list[int]', false],
  ['list[int]', 'dict[str, int]', false],
  ['dict[str, int]', 'list[int]', false],
  ['list[list[int]]', 'list[list[float]]', true],
  ['list[dict[str, int]]', 'list[dict]', true],
  ['list[dict]', 'list[dict[str, int]]', false],
  ['int', 'Optional[int]', true],
  ['int', 'Optional[float]', true],
  ['float', 'Optional[int]', false],
  ['Optional[int]', 'Optional[int]', true],
  ['Optional[int]', 'Optional[float]', true],
  ['Optional[int]', 'int', false],
  ['Optional[int]', 'float', false],
  ['Optional[dict[str, int]]', 'dict', false],
  ['list[int]', 'list[Optional[int]]', true],
  ['list[Optional[int]]', 'list[int]', false],
  ['list[int]', 'Optional[list[Optional[float]]]', true],
  ['dict[str, int]', 'dict[str, Optional[int]]', true],
  ['dict[str, Optional[int]]', 'dict[str, int]', false],
  ['dict[str, Optional[int]]', 'dict', true],
  ['str', 'Optional[datetime]', false],
];

test('isAssignable follows the widening rules', () => {
  for (const [from, to, expected] of cases) {
    assert.equal(isAssignable(typeOf(from), typeOf(to)), expected, `${from} → ${to}`);
  }
});

test('isAssignable treats nested Optional like a single Optional', () => {
  const int: FlyteType = { kind: 'int' };
  const doubleOptional: FlyteType = { kind: 'optional', of: { kind: 'optional', of: int } };
  assert.equal(isAssignable(doubleOptional, { kind: 'optional', of: int }), true);
  assert.equal(isAssignable({ kind: 'optional', of: int }, doubleOptional), true);
  assert.equal(isAssignable(int, doubleOptional), true);
  assert.equal(isAssignable(doubleOptional, int), false);
});

test('isAssignable walks very deep programmatic types without recursion', () => {
  let from: FlyteType = { kind: 'int' };
  let to: FlyteType = { kind: 'float' };
  for (let i = 0; i < 200_000; i += 1) {
    from = { kind: 'list', of: from };
    to = { kind: 'list', of: to };
  }
  assert.equal(isAssignable(from, to), true);
  assert.equal(isAssignable(to, from), false);
});

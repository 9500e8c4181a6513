import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlyteType } from '../../../src/core/types/index.ts';
import { formatType, typesEqual } from '../../../src/core/types/index.ts';

const INT: FlyteType = { kind: 'int' };
const FLOAT: FlyteType = { kind: 'float' };
const STR: FlyteType = { kind: 'str' };

test('formatType spells types canonically', () => {
  const cases: Array<[FlyteType, string]> = [
    [INT, 'int'],
    [FLOAT, 'float'],
    [STR, 'str'],
    [{ kind: 'bool' }, 'bool'],
    [{ kind: 'datetime' }, 'datetime'],
    [{ kind: 'duration' }, 'duration'],
    [{ kind: 'dict' }, 'dict'],
    [{ kind: 'list', of: INT }, 'list[int]'],
    [{ kind: 'map', of: FLOAT }, 'dict[str, float]'],
    [{ kind: 'optional', of: { kind: 'list', of: STR } }, 'Optional[list[str]]'],
    [{ kind: 'map', of: { kind: 'optional', of: { kind: 'dict' } } }, 'dict[str, Optional[dict]]'],
    [{ kind: 'list', of: { kind: 'list', of: { kind: 'map', of: INT } } }, 'list[list[dict[str, int]]]'],
  ];
  for (const [type, text] of cases) assert.equal(formatType(type), text);
});

function listChain(depth: number, leaf: FlyteType): FlyteType {
  let type = leaf;
  for (let i = 0; i < depth; i += 1) type = { kind: 'list', of: type };
  return type;
}

test('formatType handles very deep programmatic types without recursion', () => {
  const depth = 100_000;
  assert.equal(formatType(listChain(depth, INT)), `${'list['.repeat(depth)}int${']'.repeat(depth)}`);
});

test('typesEqual compares structure, not identity', () => {
  assert.equal(typesEqual({ kind: 'list', of: INT }, { kind: 'list', of: { kind: 'int' } }), true);
  assert.equal(typesEqual({ kind: 'list', of: INT }, { kind: 'list', of: FLOAT }), false);
  assert.equal(typesEqual({ kind: 'list', of: INT }, { kind: 'map', of: INT }), false);
  assert.equal(typesEqual({ kind: 'dict' }, { kind: 'map', of: INT }), false);
  assert.equal(typesEqual({ kind: 'optional', of: INT }, INT), false);
  assert.equal(typesEqual(listChain(50_000, STR), listChain(50_000, STR)), true);
  assert.equal(typesEqual(listChain(50_000, STR), listChain(50_000, INT)), false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestedDeeperThan } from '../../../src/core/json-depth.ts';

const nest = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
  return value;
};

test('nestedDeeperThan counts array and object levels; scalars are depth 0', () => {
  assert.equal(nestedDeeperThan(1, 0), false);
  assert.equal(nestedDeeperThan({}, 0), true);
  assert.equal(nestedDeeperThan(nest(3), 3), false);
  assert.equal(nestedDeeperThan(nest(4), 3), true);
  assert.equal(nestedDeeperThan({ a: 1, b: [1, { c: [] }] }, 4), false);
  assert.equal(nestedDeeperThan({ a: 1, b: [1, { c: [[]] }] }, 4), true);
});

test('nestedDeeperThan handles 100,000 levels without recursion', () => {
  assert.equal(nestedDeeperThan(nest(100_000), 200), true);
});

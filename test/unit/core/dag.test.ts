import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologicalOrder, type Dependencies } from '../../../src/core/dag.ts';

const deps = (entries: Record<string, string[]>): Dependencies => new Map(Object.entries(entries));

function order(entries: Record<string, string[]>): string[] {
  const result = topologicalOrder(deps(entries));
  if (!result.ok) assert.fail(`unexpected cycle ${result.cycle.join(' → ')}`);
  return result.order;
}

function cycle(entries: Record<string, string[]>): string[] {
  const result = topologicalOrder(deps(entries));
  if (result.ok) assert.fail('expected a cycle');
  return result.cycle;
}

test('topologicalOrder puts every node after its dependencies', () => {
  assert.deepEqual(order({ c: ['b'], b: ['a'], a: [] }), ['a', 'b', 'c']);
  assert.deepEqual(order({ d: ['b', 'c'], b: ['a'], c: ['a'], a: [] }), ['a', 'b', 'c', 'd']);
});

test('topologicalOrder breaks ties by declaration order', () => {
  assert.deepEqual(order({ z: [], y: [], x: [] }), ['z', 'y', 'x']);
  // c is ready from the start, but b and a, ready only after r1 and r2, are declared before it.
  assert.deepEqual(order({ r2: [], r1: [], b: ['r1'], a: ['r2'], c: [] }), ['r2', 'r1', 'b', 'a', 'c']);
});

test('topologicalOrder ignores duplicate dependencies', () => {
  assert.deepEqual(order({ a: [], b: ['a', 'a', 'a'] }), ['a', 'b']);
});

test('topologicalOrder reports a cycle as a path in execution order, starting at the first declared node', () => {
  assert.deepEqual(cycle({ a: ['c'], b: ['a'], c: ['b'] }), ['a', 'b', 'c', 'a']);
  assert.deepEqual(cycle({ x: [], b: ['a'], a: ['b'] }), ['b', 'a', 'b']);
  assert.deepEqual(cycle({ s: ['s'] }), ['s', 's']);
});

test('topologicalOrder leaves nodes that merely depend on a cycle out of its path', () => {
  assert.deepEqual(cycle({ tail: ['a'], a: ['b'], b: ['a'], root: [] }), ['a', 'b', 'a']);
});

test('topologicalOrder sorts a 10,000-node chain and a 10,000-node fan-out quickly, without recursion', () => {
  const n = 10_000;
  const chain = new Map<string, string[]>();
  // Declared in reverse so every node waits on one declared after it.
  for (let i = n - 1; i >= 0; i--) chain.set(`n${i}`, i === 0 ? [] : [`n${i - 1}`]);
  const fan = new Map<string, string[]>([['root', []]]);
  for (let i = 0; i < n; i++) fan.set(`leaf${i}`, ['root']);
  fan.set('sink', [...fan.keys()].filter((k) => k !== 'root'));

  const started = performance.now();
  const chainResult = topologicalOrder(chain);
  const fanResult = topologicalOrder(fan);
  const elapsed = performance.now() - started;

  assert.ok(chainResult.ok && fanResult.ok);
  assert.deepEqual(chainResult.order.slice(0, 3), ['n0', 'n1', 'n2']);
  assert.equal(chainResult.order.at(-1), `n${n - 1}`);
  assert.equal(fanResult.order[0], 'root');
  assert.equal(fanResult.order[1], 'leaf0');
  assert.equal(fanResult.order.at(-1), 'sink');
  assert.ok(elapsed < 500, `took ${elapsed} ms`);
});

test('topologicalOrder finds the cycle of a 10,000-node ring without recursion', () => {
  const n = 10_000;
  const ring = new Map<string, string[]>();
  for (let i = 0; i < n; i++) ring.set(`n${i}`, [`n${(i + n - 1) % n}`]);
  const result = topologicalOrder(ring);
  assert.ok(!result.ok);
  assert.equal(result.cycle.length, n + 1);
  assert.deepEqual(result.cycle.slice(0, 3), ['n0', 'n1', 'n2']);
  assert.equal(result.cycle.at(-1), 'n0');
});

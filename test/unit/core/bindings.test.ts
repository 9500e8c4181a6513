import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Binding } from '../../../src/api/flyteworkflow.ts';
import { checkBinding, parseReference, resolveBinding, type BindingScope, type ValueSource } from '../../../src/core/bindings.ts';
import { parseType, type FlyteType } from '../../../src/core/types/index.ts';

function type(text: string): FlyteType {
  const result = parseType(text);
  if (!result.ok) assert.fail(result.error);
  return result.type;
}

const scope: BindingScope = {
  workflowInputs: new Map([['n', type('int')], ['s', type('str')]]),
  nodeOutputs: (node) => (node === 'up' ? new Map([['o', type('float')], ['xs', type('list[int]')]]) : undefined),
};

const source: ValueSource = {
  workflowInput: (name) => ({ n: 4, s: 'text' })[name],
  nodeOutput: (node, output) => (node === 'up' ? ({ o: 1.5, xs: [1, 2] } as Record<string, unknown>)[output] : undefined),
};

test('parseReference splits inputs.NAME and NODE.OUTPUT and rejects anything else', () => {
  assert.deepEqual(parseReference('inputs.x'), { kind: 'input', name: 'x' });
  assert.deepEqual(parseReference('n1.o0'), { kind: 'output', node: 'n1', output: 'o0' });
  for (const bad of ['x', '.x', 'x.', 'a.b.c', '']) assert.equal(parseReference(bad), undefined, bad);
});

test('checkBinding collects every node a nested binding reads', () => {
  const binding: Binding = { dict: { a: { list: [{ from: 'up.o' }, { value: 2 }] }, b: { list: [{ from: 'inputs.n' }] } } };
  const check = checkBinding(binding, type('dict[str, list[float]]'), scope);
  assert.deepEqual(check.errors, []);
  assert.deepEqual([...check.upstream], ['up']);
});

test('checkBinding locates errors inside nested bindings', () => {
  const binding: Binding = { dict: { 'a b': { list: [{ value: 1 }, { from: 'inputs.s' }] } } };
  assert.deepEqual(checkBinding(binding, type('dict[str, list[int]]'), scope).errors, ['["a b"][1]: type mismatch: expected int, got str from inputs.s']);
  assert.deepEqual(checkBinding({ list: [] }, type('dict[str, int]'), scope).errors, ['type mismatch: expected dict[str, int], got a list binding']);
});

test('checkBinding accepts list and dict bindings for Optional and untyped dict targets', () => {
  assert.deepEqual(checkBinding({ list: [{ from: 'up.xs' }] }, type('Optional[list[list[int]]]'), scope).errors, []);
  assert.deepEqual(checkBinding({ dict: { x: { from: 'up.xs' }, y: { value: 'any' } } }, type('dict'), scope).errors, []);
});

test('checkBinding still checks references inside an untyped dict', () => {
  assert.deepEqual(checkBinding({ dict: { x: { from: 'ghost.o' } } }, type('dict'), scope).errors, ['["x"]: unknown node "ghost" in "ghost.o"']);
});

test('resolveBinding builds the value from inputs, upstream outputs and constants', () => {
  const binding: Binding = { dict: { a: { list: [{ from: 'up.o' }, { value: 2 }, { from: 'inputs.n' }] }, s: { from: 'inputs.s' }, xs: { from: 'up.xs' } } };
  assert.deepEqual(resolveBinding(binding, source), { a: [1.5, 2, 4], s: 'text', xs: [1, 2] });
});

test('resolveBinding gives null for a value that is not there (an unset Optional)', () => {
  assert.equal(resolveBinding({ from: 'inputs.unset' }, source), null);
  assert.equal(resolveBinding({ from: 'up.missing' }, source), null);
  assert.deepEqual(resolveBinding({ list: [{ value: null }] }, source), [null]);
});

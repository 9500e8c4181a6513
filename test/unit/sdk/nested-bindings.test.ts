// Promises inside list and dict constants are type-checked at the call, element by element, like the
// operator's compiler checks list and dict bindings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { t, task, workflow } from '../../../sdk/src/index.ts';

const sum = task({ name: 'sum', inputs: { values: t.list(t.float) }, output: t.float }, ({ values }) => values.reduce((a, b) => a + b, 0));
const weigh = task({ name: 'weigh', inputs: { weights: t.dict(t.int), extra: t.json }, output: t.int }, ({ weights }) => Object.keys(weights).length);
const label = task({ name: 'label', output: t.str }, () => 'x');

const compileBody = (body: (inputs: { a: never }) => unknown) => workflow({ name: 'w', inputs: { a: t.int }, output: t.float }, body as never).definition.compile();

test('a promise of the wrong type inside a list is refused at the call, naming its index', () => {
  assert.throws(() => compileBody(({ a }) => sum({ values: [a, label({}) as never, 2] })), {
    name: 'WorkflowCompileError',
    message: 'workflow "w", node "sum": input "values"[1]: expected float, got str from label.o0',
  });
});

test('a promise of the wrong type inside a dict[str, T] is refused, naming its key; a dict (any JSON) takes anything', () => {
  assert.throws(() => compileBody(({ a }) => weigh({ weights: { n: a, s: label({}) as never }, extra: {} })), {
    name: 'WorkflowCompileError',
    message: 'workflow "w", node "weigh": input "weights".s: expected int, got str from label.o0',
  });
  const nodes = compileBody(({ a }) => weigh({ weights: { n: a }, extra: { any: label({}) } as never })).nodes;
  assert.deepEqual(nodes['weigh']?.inputs, { weights: { dict: { n: { from: 'inputs.a' } } }, extra: { dict: { any: { from: 'label.o0' } } } });
});

test('int promises and float constants mix in a list of floats', () => {
  const nodes = compileBody(({ a }) => sum({ values: [a, 2.5] })).nodes;
  assert.deepEqual(nodes['sum']?.inputs, { values: { list: [{ from: 'inputs.a' }, { value: 2.5 }] } });
});

// TaskDefinition.run: what a task pod (and a local run) does with one task, on JSON inputs: defaults and
// nulls filled in, inputs and outputs checked against the interface, outputs returned as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerTask, t, task } from '../../../sdk/src/index.ts';

test('inputs left out take the task\'s default, or null when Optional', async () => {
  const scale = task({ name: 'scale', inputs: { x: t.float, by: t.float, note: t.optional(t.str) }, defaults: { by: 2 }, outputs: { y: t.float, note: t.optional(t.str) } }, ({ x, by, note }) => ({ y: x * by, note }));
  assert.deepEqual(await scale.definition.run({ x: 1.5 }), { y: 3, note: null });
  assert.deepEqual(await scale.definition.run({ x: 1.5, by: 4, note: 'n' }), { y: 6, note: 'n' });
});

test('inputs are checked against the interface, naming the task and the input', async () => {
  const inc = task({ name: 'inc', inputs: { x: t.int }, output: t.int }, ({ x }) => x + 1);
  await assert.rejects(inc.definition.run({}), { name: 'TypeCheckError', message: 'task "inc": input "x": expected int, got null' });
  await assert.rejects(inc.definition.run({ x: 1.5 }), { name: 'TypeCheckError', message: 'task "inc": input "x": expected int, got float 1.5' });
  await assert.rejects(inc.definition.run({ x: 1, y: 2 }), { name: 'TypeCheckError', message: 'task "inc": unexpected input "y"' });
});

test('outputs come back as JSON and are checked against the interface', async () => {
  const when = task({ name: 'when', output: t.datetime }, () => new Date(0) as never);
  assert.deepEqual(await when.definition.run({}), { o0: '1970-01-01T00:00:00.000Z' });
  const none = task({ name: 'none', output: t.optional(t.int) }, () => undefined as never);
  assert.deepEqual(await none.definition.run({}), { o0: null });
  const notObject = task({ name: 'not_object', outputs: { a: t.int } }, () => [1] as never);
  await assert.rejects(notObject.definition.run({}), { name: 'TypeCheckError', message: 'task "not_object" must return an object with its outputs a; it returned an array' });
  const missing = task({ name: 'missing', outputs: { a: t.int, b: t.int } }, () => ({ a: 1 }) as never);
  await assert.rejects(missing.definition.run({}), { name: 'TypeCheckError', message: 'task "missing": output "b": expected int, got null' });
});

test('a NaN or infinite output is an error, not a null: JSON has no such numbers', async () => {
  const nan = task({ name: 'nan', output: t.float }, () => Number.NaN);
  await assert.rejects(nan.definition.run({}), { name: 'TypeCheckError', message: 'task "nan": output "o0": NaN is not a JSON number' });
  // An Optional output would otherwise pass as null, silently.
  const infinite = task({ name: 'infinite', output: t.optional(t.float) }, () => Number.POSITIVE_INFINITY);
  await assert.rejects(infinite.definition.run({}), { name: 'TypeCheckError', message: 'task "infinite": output "o0": Infinity is not a JSON number' });
  const nested = task({ name: 'nested', output: t.dict(t.optional(t.float)) }, () => ({ a: 1, b: Number.NEGATIVE_INFINITY }));
  await assert.rejects(nested.definition.run({}), { name: 'TypeCheckError', message: 'task "nested": output "o0": -Infinity is not a JSON number' });
});

test('a container task does not run in-process', async () => {
  const shell = containerTask({ name: 'shell', image: 'alpine', command: ['true'] });
  await assert.rejects(shell.definition.run({}), {
    name: 'TypeCheckError',
    message: 'task "shell" is a container task; it runs only as a pod (or through runLocal, which starts its command)',
  });
});

// The SDK is typed end to end: these mistakes are refused by the TypeScript compiler (npm test typechecks
// this file first; each @ts-expect-error fails the typecheck if its line stops being an error).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approve, conditional, t, task, workflow, type Promised } from '../../../sdk/src/index.ts';

const slope = task({ name: 'slope', inputs: { x: t.list(t.int), y: t.list(t.int) }, output: t.float }, ({ x, y }) => x.length + y.length);
const stats = task({ name: 'stats', inputs: { values: t.list(t.float) }, outputs: { mean: t.float, label: t.str } }, ({ values }) => ({ mean: values[0] ?? 0, label: 'ok' }));
const shout = task({ name: 'shout', inputs: { text: t.str, times: t.optional(t.int) }, output: t.str }, ({ text, times }) => text.repeat(times ?? 1));

/** Never called: only the type checker reads it. */
export function typedMistakes(x: Promised<number[]>): void {
  // @ts-expect-error a task function returning a string for a float output
  task({ name: 'bad', inputs: {}, output: t.float }, () => 'one');
  // @ts-expect-error named outputs need an object with those keys
  task({ name: 'bad2', outputs: { a: t.int } }, () => 3);
  // @ts-expect-error y must be a list of ints
  slope({ x, y: 'a' });
  // @ts-expect-error y is required
  slope({ x });
  // @ts-expect-error a float promise where a list of floats is expected
  stats({ values: slope({ x, y: [1] }) });
  // @ts-expect-error no output "median"
  void stats({ values: [1] }).median;
  // @ts-expect-error the body returns a promise of a float for a str output
  workflow({ name: 'wrong_output', output: t.str }, () => stats({ values: [1] }).mean);
}

test('typed calls compile: optional inputs left out, named outputs, conditionals and gates', () => {
  const wf = workflow({ name: 'typed', inputs: { x: t.list(t.float) }, output: t.str }, ({ x }) => {
    const s = stats({ values: x });
    shout({ text: s.label }); // an Optional input may be left out
    const chosen = conditional('pick')
      .if(s.mean.gt(1), () => shout({ text: 'big' }))
      .else(() => shout({ text: 'small' }));
    return approve(chosen);
  });
  const graph = wf.definition.compile();
  assert.equal(graph.nodes['pick']?.branch?.cases[0]?.when, 'v0 > 1');
  assert.deepEqual(graph.nodes['pick']?.inputs, { v0: { from: 'stats.mean' } });
  assert.deepEqual(graph.outputs, { o0: { from: 'approve.value' } });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podName } from '../../../src/core/names.ts';
import { actionSummary, Sim, T0, type TaskFn } from './sim.ts';
import { DIAMOND, regressionSpec, sumSpec } from './specs.ts';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Flyte's example tasks, computed from the inputs each pod was really given. */
const REGRESSION_TASKS: Record<string, TaskFn> = {
  slope: ({ x, y }) => {
    const xs = x as number[];
    const ys = y as number[];
    const mx = mean(xs);
    const my = mean(ys);
    const num = xs.reduce((s, xi, i) => s + (xi - mx) * (ys[i]! - my), 0);
    const den = xs.reduce((s, xi) => s + (xi - mx) ** 2, 0);
    return { o0: num / den };
  },
  intercept: ({ x, y, slope }) => ({ o0: mean(y as number[]) - (slope as number) * mean(x as number[]) }),
};

test('regression example: slope then intercept, with real computed outputs, end to end', () => {
  const sim = new Sim(regressionSpec(), { labels: { project: 'flytesnacks', domain: 'development' }, tasks: REGRESSION_TASKS });
  const slopePod = podName('wf', 'slope_val', 0);
  const interceptPod = podName('wf', 'intercept_val', 0);

  // Round 1: only slope_val is ready.
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.phases(), { slope_val: 'Queued', intercept_val: 'Pending' });
  assert.deepEqual(actionSummary(sim.last), [`create ${slopePod}`]);
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['Started']);
  assert.equal(sim.status.startedAt, new Date(T0).toISOString());
  assert.equal(sim.status.progress, '0/2');
  const pod = sim.pod('slope_val');
  assert.deepEqual(sim.inputsOf(pod), { x: [-3, 0, 3], y: [7, 4, -2] });
  assert.equal(pod.metadata.labels?.['flyte.propeller.dev/project'], 'flytesnacks');
  assert.equal(pod.metadata.labels?.['flyte.propeller.dev/domain'], 'development');

  // Round 2: the pod runs.
  sim.advance(1000);
  sim.start('slope_val');
  sim.step();
  assert.deepEqual(sim.phases(), { slope_val: 'Running', intercept_val: 'Pending' });
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.status.message, '0/2 nodes succeeded, 1 running');

  // Round 3: slope_val succeeds; intercept_val starts with its output.
  sim.advance(1000);
  sim.succeed('slope_val');
  sim.step();
  assert.deepEqual(sim.phases(), { slope_val: 'Succeeded', intercept_val: 'Queued' });
  assert.deepEqual(sim.status.nodes?.slope_val?.outputs, { o0: -1.5 });
  assert.deepEqual(actionSummary(sim.last), [`create ${interceptPod}`]);
  assert.deepEqual(sim.inputsOf(sim.pod('intercept_val')), { x: [-3, 0, 3], y: [7, 4, -2], slope: -1.5 });

  // Round 4: intercept_val succeeds and the workflow resolves its outputs.
  sim.advance(1000);
  sim.succeed('intercept_val');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  // mean(y) - slope * mean(x) = 3 - (-1.5 * 0) = 3 for these inputs (the "4" does not follow from them).
  assert.deepEqual(sim.status.outputs, { intercept: 3, slope: -1.5 });
  assert.equal(sim.status.progress, '2/2');
  assert.equal(sim.status.message, 'all 2 nodes succeeded');
  assert.equal(sim.status.finishedAt, new Date(T0 + 3000).toISOString());
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason]), [['Normal', 'Succeeded']]);

  // Round 5: nothing left to do.
  sim.step();
  assert.deepEqual(sim.last.actions, []);
  assert.deepEqual(sim.last.events, []);
});

test('diamond: b and c run in parallel after a, d waits for both', () => {
  const sim = new Sim(sumSpec(DIAMOND, { interface: { outputs: { total: 'int' } }, outputs: { total: { from: 'd.o' } } }));
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Queued', b: 'Pending', c: 'Pending', d: 'Pending' });

  sim.succeed('a');
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Succeeded', b: 'Queued', c: 'Queued', d: 'Pending' });
  assert.deepEqual(actionSummary(sim.last), ['create wf-b-0', 'create wf-c-0']);

  sim.succeed('b');
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Succeeded', b: 'Succeeded', c: 'Queued', d: 'Pending' });
  assert.deepEqual(sim.last.actions, []);

  sim.succeed('c');
  sim.step();
  assert.equal(sim.nodePhase('d'), 'Queued');
  assert.deepEqual(sim.inputsOf(sim.pod('d')), { xs: [2, 2] });

  sim.succeed('d');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  // a = 0+1, b = c = 1+1, d = 2+2+1
  assert.deepEqual(sim.status.outputs, { total: 5 });
});

test('3-level fan-out and fan-in: every level starts together once the level above is done', () => {
  const upstream: Record<string, string[]> = { root: [] };
  const level1 = ['l1a', 'l1b', 'l1c'];
  for (const n of level1) upstream[n] = ['root'];
  const level2 = level1.flatMap((p) => [`${p}x`, `${p}y`]);
  for (const n of level2) upstream[n] = [n.slice(0, 3)];
  upstream.sink = level2;
  const sim = new Sim(sumSpec(upstream, { interface: { outputs: { total: 'int' } }, outputs: { total: { from: 'sink.o' } } }));

  const createdPerRound: string[][] = [];
  sim.run((node) => sim.succeed(node));
  for (const round of sim.rounds) {
    const created = round.result.actions.flatMap((a) => (a.type === 'CreatePod' ? [a.node] : []));
    if (created.length) createdPerRound.push(created);
  }
  assert.deepEqual(createdPerRound, [['root'], level1, level2, ['sink']]);
  assert.equal(sim.phase, 'Succeeded');
  // root 1; level 1: 2 each; level 2: 3 each; sink: 6 * 3 + 1.
  assert.deepEqual(sim.status.outputs, { total: 19 });
});

test('a workflow output can come straight from a workflow input', () => {
  const spec = sumSpec({ a: [] }, { interface: { inputs: { n: 'int' }, outputs: { echo: 'int', list: 'list[int]' } }, inputs: { n: 7 }, outputs: { echo: { from: 'inputs.n' }, list: { list: [{ from: 'a.o' }, { from: 'inputs.n' }] } } });
  const sim = new Sim(spec);
  sim.run();
  assert.deepEqual(sim.status.outputs, { echo: 7, list: [1, 7] });
});

test('outputs that do not match the task interface fail the node with a user error naming the output', () => {
  const sim = new Sim(sumSpec({ a: [] }));
  sim.step();
  sim.succeed('a', { o: 'seven' });
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.status.error?.kind, 'User');
  assert.equal(sim.status.error?.code, 'OutputsInvalid');
  assert.equal(sim.status.message, 'node "a" failed: attempt 1 failed: OutputsInvalid: output "o": expected int, got str "seven"');
});

test('outputs over 4 KiB fail the node clearly', () => {
  const sim = new Sim(sumSpec({ a: [] }));
  sim.step();
  sim.succeed('a', JSON.stringify({ o: 1, pad: 'x'.repeat(5000) }).slice(-4096));
  sim.step();
  assert.equal(sim.status.error?.code, 'OutputsTooLarge');
  assert.equal(sim.status.nodes?.a?.phase, 'Failed');
});

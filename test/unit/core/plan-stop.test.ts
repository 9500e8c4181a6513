import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionSummary, Sim, T0 } from './sim.ts';
import { sumSpec, task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();

/** a → b, and an independent c: a failure of a leaves c free to go on. */
const BRANCHES = { a: [], b: ['a'], c: [] };

test('FailImmediately: the first failure deletes running pods, goes Failing while they live, then Failed', () => {
  const sim = new Sim(sumSpec(BRANCHES));
  sim.step();
  sim.start('c');
  sim.fail('a', 1);
  sim.advance(1000);
  sim.step();
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Skipped', c: 'Aborted' });
  assert.deepEqual(sim.last.actions, [{ type: 'DeletePod', node: 'c', podName: 'wf-c-0', reason: 'node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 1' }]);
  assert.equal(sim.status.nodes?.b?.message, 'not run: node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 1');
  assert.equal(sim.status.nodes?.c?.message, 'stopped: node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 1');
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'NonZeroExit', message: 'node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 1', node: 'a' });

  // The pod is terminating (deletionTimestamp set): nothing more to delete, the workflow ends.
  sim.advance(1000);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.status.finishedAt, at(2000));
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason]), [['Warning', 'Failed']]);
});

test('FailImmediately: a node that finishes while the workflow is Failing is not picked up again', () => {
  const sim = new Sim(sumSpec(BRANCHES));
  sim.step();
  sim.start('c');
  sim.fail('a', 1);
  sim.step();
  assert.equal(sim.phase, 'Failing');
  // c's pod ignored the delete and succeeded anyway.
  sim.pod('c').metadata.deletionTimestamp = undefined;
  sim.succeed('c');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.nodePhase('c'), 'Aborted');
  assert.equal(sim.status.outputs, undefined);
});

test('FailAfterExecutableNodesComplete: dependents of the failure are skipped, independent branches finish', () => {
  const sim = new Sim(sumSpec({ a: [], b: ['a'], b2: ['b'], c: [], d: ['c'] }, { failurePolicy: 'FailAfterExecutableNodesComplete' }));
  sim.step();
  sim.fail('a', 4);
  sim.start('c');
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Skipped', b2: 'Skipped', c: 'Running', d: 'Pending' });
  assert.equal(sim.status.nodes?.b?.message, 'skipped: upstream node "a" is failed');
  assert.equal(sim.status.nodes?.b2?.message, 'skipped: upstream node "b" is skipped');
  assert.equal(sim.status.message, 'node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 4; letting 2 independent node(s) finish');
  assert.deepEqual(sim.last.actions, []);

  sim.succeed('c');
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-d-0']);
  sim.succeed('d');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Skipped', b2: 'Skipped', c: 'Succeeded', d: 'Succeeded' });
  assert.equal(sim.status.progress, '2/5');
  assert.equal(sim.status.error?.node, 'a');
});

test('the workflow timeout stops everything: pods deleted, unstarted nodes skipped, Failed', () => {
  const sim = new Sim(sumSpec({ a: [], b: ['a'] }, { timeout: '10m' }));
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 600_000);
  sim.start('a');
  sim.advance(600_000);
  sim.step();
  const message = 'the workflow exceeded its timeout of 10m';
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { a: 'Aborted', b: 'Skipped' });
  assert.deepEqual(sim.last.actions, [{ type: 'DeletePod', node: 'a', podName: 'wf-a-0', reason: message }]);
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'WorkflowTimedOut', message });
});

test('the next look is the earliest of the workflow deadline and node deadlines', () => {
  const sim = new Sim({ timeout: '1m', tasks: { t: task({ timeout: '5m' }) }, nodes: { a: { task: 't' } } });
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 60_000);
});

test('abort: running pods are deleted, the workflow is Aborting until they are gone, then Aborted', () => {
  const sim = new Sim(sumSpec(BRANCHES));
  sim.step();
  sim.start('a');
  (sim.workflow.spec as Record<string, unknown>).abort = true;
  sim.step();
  assert.equal(sim.phase, 'Aborting');
  assert.deepEqual(sim.phases(), { a: 'Aborted', b: 'Aborted', c: 'Aborted' });
  assert.deepEqual(actionSummary(sim.last), ['delete wf-a-0', 'delete wf-c-0']);
  assert.equal(sim.status.message, 'aborted: spec.abort is true');

  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Aborted');
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason]), [['Normal', 'Aborted']]);
  assert.equal(sim.status.error, undefined);
});

test('abort is one-way: clearing spec.abort while Aborting does not restart anything', () => {
  const sim = new Sim(sumSpec(BRANCHES));
  sim.step();
  (sim.workflow.spec as Record<string, unknown>).abort = true;
  sim.step();
  assert.equal(sim.phase, 'Aborting');
  (sim.workflow.spec as Record<string, unknown>).abort = false;
  sim.step();
  assert.equal(sim.phase, 'Aborted');
  assert.deepEqual(sim.last.actions, []);
});

test('a deletionTimestamp on the workflow aborts it', () => {
  const sim = new Sim(sumSpec({ a: [] }));
  sim.step();
  sim.workflow.deletionTimestamp = at(0);
  sim.step();
  assert.equal(sim.phase, 'Aborting');
  assert.equal(sim.status.message, 'the FlyteWorkflow is being deleted');
  assert.deepEqual(actionSummary(sim.last), ['delete wf-a-0']);
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Aborted');
});

test('abort before anything ran ends Aborted at once', () => {
  const sim = new Sim(sumSpec({ a: [] }, { abort: true }));
  sim.step();
  assert.equal(sim.phase, 'Aborted');
  assert.deepEqual(sim.phases(), { a: 'Aborted' });
  assert.deepEqual(sim.last.actions, []);
});

test('an invalid spec ends Failed on the first round, before any pod, with every error in status.error', () => {
  const spec = { tasks: { t: task({ inputs: { a: 'float' } }) }, nodes: { n: { task: 't', inputs: { a: { value: 'x' } } }, m: { task: 'nope' } } };
  const sim = new Sim(spec);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.status.message, 'invalid workflow: node "n": input "a": type mismatch: expected float, got str "x" (and 1 more: see status.error)');
  assert.deepEqual(sim.status.error, {
    kind: 'Permanent',
    code: 'InvalidWorkflow',
    message: 'node "n": input "a": type mismatch: expected float, got str "x"\nnode "m": task: unknown task "nope"',
  });
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason]), [['Warning', 'InvalidWorkflow']]);
  sim.step();
  assert.deepEqual(sim.last.actions, []);
  assert.deepEqual(sim.last.events, []);
});

test('a finished workflow with a leftover live pod only deletes it, leaving the status alone', () => {
  const sim = new Sim(sumSpec({ a: [] }));
  sim.run();
  assert.equal(sim.phase, 'Succeeded');
  const status = structuredClone(sim.status);
  // A pod the workflow created before a crash, still running.
  const stray = structuredClone(sim.pod('a'));
  stray.metadata.name = 'wf-a-stray';
  stray.status = { phase: 'Running' };
  sim.pods.set('wf-a-stray', stray);
  sim.step();
  assert.deepEqual(sim.last.actions, [{ type: 'DeletePod', node: 'a', podName: 'wf-a-stray', reason: 'workflow is Succeeded' }]);
  assert.deepEqual(sim.status, status);
});

test('a node waiting to retry when the workflow stops is Aborted, not Skipped: it did run', () => {
  const spec = sumSpec({ a: [] }, { timeout: '1m' });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 3;
  const sim = new Sim(spec, { config: { backoffBaseMs: 120_000 } });
  sim.step();
  sim.fail('a');
  sim.step();
  assert.equal(sim.nodePhase('a'), 'Retrying');
  assert.equal(sim.last.requeueAfterMs, 60_000, 'the workflow deadline comes before the backoff ends');
  sim.advance(60_000);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.nodePhase('a'), 'Aborted');
  assert.equal(sim.status.nodes?.a?.message, 'stopped: the workflow exceeded its timeout of 1m');
});

test('a spec that becomes invalid mid-run fails the workflow and deletes its live pods', () => {
  const sim = new Sim(sumSpec({ a: [], b: [] }));
  sim.step();
  sim.start('a');
  sim.succeed('b');
  (sim.workflow.spec as { nodes: Record<string, unknown> }).nodes.c = { task: 'missing' };
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.status.message, 'invalid workflow: node "c": task: unknown task "missing"');
  assert.deepEqual(actionSummary(sim.last), ['delete wf-a-0']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionSummary, Sim, T0 } from './sim.ts';
import { sumSpec, task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();

/** One node `a` of a task with the given retries and timeout. */
function single(options: { retries?: number; timeout?: string } = {}): Record<string, unknown> {
  return { tasks: { t: task(options) }, nodes: { a: { task: 't' } } };
}

test('a user error is retried with a new pod per attempt, after a backoff, then succeeds', () => {
  const sim = new Sim(single({ retries: 2 }));
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0']);

  sim.fail('a', 2, 'boom');
  sim.step();
  assert.deepEqual(sim.status.nodes?.a, {
    phase: 'Retrying',
    attempts: 1,
    podName: 'wf-a-0',
    startedAt: at(0),
    attemptStartedAt: at(0),
    readyAt: at(0),
    error: { kind: 'User', code: 'NonZeroExit', message: 'the container exited with code 2: boom', node: 'a' },
    nextAttemptAt: at(1000),
    message: 'attempt 1 failed: NonZeroExit: the container exited with code 2: boom; retrying in 1s',
  });
  assert.equal(sim.phase, 'Running');
  assert.equal(sim.status.message, '0/1 nodes succeeded, 1 retrying');
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.last.requeueAfterMs, 1000);
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason, e.node]), [['Warning', 'NodeRetrying', 'a']]);

  // Too early: nothing happens, and the next look is when the backoff ends.
  sim.advance(400);
  sim.step();
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.last.requeueAfterMs, 600);

  sim.advance(600);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
  assert.equal(sim.status.nodes?.a?.attempts, 2);
  assert.equal(sim.status.nodes?.a?.attemptStartedAt, at(1000));

  sim.oom('a');
  sim.step();
  assert.equal(sim.nodePhase('a'), 'Retrying');
  assert.equal(sim.last.requeueAfterMs, 2000);
  assert.equal(sim.status.nodes?.a?.message, 'attempt 2 failed: OOMKilled: the container ran out of memory (OOMKilled); retrying in 2s');

  sim.advance(2000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-2']);
  sim.succeed('a', {});
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.equal(sim.status.nodes?.a?.attempts, 3);
  assert.equal(sim.status.nodes?.a?.error, undefined);
  assert.equal(sim.status.nodes?.a?.message, undefined);
});

test('when the retries are exhausted the node and the workflow fail with the last error', () => {
  const sim = new Sim(single({ retries: 1 }));
  sim.step();
  sim.fail('a', 1);
  sim.step();
  sim.advance(1000);
  sim.step();
  sim.fail('a', 3);
  sim.step();
  const message = 'attempt 2 failed: NonZeroExit: the container exited with code 3 (1 retry exhausted)';
  assert.equal(sim.nodePhase('a'), 'Failed');
  assert.equal(sim.status.nodes?.a?.message, message);
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'NonZeroExit', message: `node "a" failed: ${message}`, node: 'a' });
  assert.deepEqual(sim.podsOf('a').map((p) => p.metadata.name), ['wf-a-0', 'wf-a-1']);
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['NodeFailed', 'Failed']);
});

test('a pod deleted externally is a system error: retried on its own budget, even with retries 0', () => {
  const sim = new Sim(single({ retries: 0 }), { config: { maxSystemRetries: 1 } });
  sim.step();
  sim.start('a');
  sim.step();
  sim.deleteExternally('a');
  sim.step();
  assert.equal(sim.nodePhase('a'), 'Retrying');
  assert.deepEqual(sim.status.nodes?.a?.error, { kind: 'System', code: 'PodDeletedExternally', message: 'pod wf-a-0 disappeared before it finished', node: 'a' });
  assert.equal(sim.status.nodes?.a?.systemFailures, 1);

  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);

  // The second system failure exceeds the budget of 1.
  sim.evict('a');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, {
    kind: 'System',
    code: 'Evicted',
    message: 'node "a" failed: attempt 2 failed: Evicted: the pod was lost: Evicted: The node was low on resource: memory. (system-retry budget of 1 exhausted)',
    node: 'a',
  });
});

test('a pod being deleted (deletionTimestamp) by someone else is a system error and the next attempt gets a new pod', () => {
  const sim = new Sim(single());
  sim.step();
  sim.start('a');
  sim.pod('a').metadata.deletionTimestamp = at(0);
  sim.step();
  assert.equal(sim.status.nodes?.a?.error?.code, 'PodDeleted');
  sim.advance(1000);
  sim.step();
  // The terminating pod of attempt 0 is not adopted or re-deleted; attempt 1 gets its own pod.
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
});

test('an attempt past its timeout is killed and retried; requeueAfterMs points at the deadline', () => {
  const sim = new Sim(single({ retries: 1, timeout: '30s' }));
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 30_000);
  sim.advance(10_000);
  sim.start('a');
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 20_000);

  sim.advance(20_000);
  sim.step();
  assert.deepEqual(sim.last.actions, [{ type: 'DeletePod', node: 'a', podName: 'wf-a-0', reason: 'attempt timed out' }]);
  assert.equal(sim.nodePhase('a'), 'Retrying');
  assert.deepEqual(sim.status.nodes?.a?.error, { kind: 'User', code: 'TimedOut', message: 'the attempt exceeded its timeout of 30s', node: 'a' });
  assert.equal(sim.last.requeueAfterMs, 1000);

  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
  assert.equal(sim.last.requeueAfterMs, 30_000);
  sim.succeed('a', {});
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
});

test('a timed-out last attempt fails the workflow and its pod is deleted', () => {
  const sim = new Sim(single({ timeout: '5s' }));
  sim.step();
  sim.start('a');
  sim.advance(5000);
  sim.step();
  // The pod is still alive when the round decides: Failing until it is gone.
  assert.equal(sim.phase, 'Failing');
  assert.equal(sim.status.message, 'node "a" failed: attempt 1 failed: TimedOut: the attempt exceeded its timeout of 5s');
  assert.deepEqual(actionSummary(sim.last), ['delete wf-a-0']);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.last.actions, []);
});

test('a node timeout overrides the task timeout', () => {
  const spec = { tasks: { t: task({ timeout: '1h' }) }, nodes: { a: { task: 't', timeout: '10s' } } };
  const sim = new Sim(spec);
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 10_000);
});

test('an image that cannot be pulled is waited on for the grace period, then fails permanently and its pod is deleted', () => {
  const sim = new Sim(single({ retries: 3 }), { config: { imagePullGraceMs: 60_000 } });
  sim.step();
  sim.advance(5000);
  sim.waitImage('a');
  sim.step();
  assert.equal(sim.nodePhase('a'), 'Queued');
  assert.equal(sim.status.nodes?.a?.message, 'waiting: ImagePullBackOff');
  assert.equal(sim.last.requeueAfterMs, 55_000);

  sim.advance(55_000);
  sim.step();
  assert.equal(sim.phase, 'Failing');
  assert.equal(sim.status.error?.kind, 'Permanent');
  assert.equal(sim.status.error?.code, 'ImagePullBackOff');
  assert.equal(sim.status.nodes?.a?.attempts, 1);
  assert.deepEqual(actionSummary(sim.last), ['delete wf-a-0']);
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Failed');
});

test('a permanent container error is not retried, and the stuck pod of a failed node is deleted even when others run on', () => {
  const spec = sumSpec({ a: [], b: [] }, { failurePolicy: 'FailAfterExecutableNodesComplete' });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 5;
  const sim = new Sim(spec);
  sim.step();
  sim.waitImage('a', 'CreateContainerConfigError');
  sim.start('b');
  sim.step();
  assert.equal(sim.nodePhase('a'), 'Failed');
  assert.equal(sim.status.nodes?.a?.error?.code, 'CreateContainerConfigError');
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.last.actions, [{ type: 'DeletePod', node: 'a', podName: 'wf-a-0', reason: 'the attempt failed' }]);
});

test('inputs too large for a pod fail the node permanently without a pod, and FailImmediately starts nothing else that round', () => {
  const spec = {
    interface: { inputs: { big: 'str' } },
    inputs: { big: 'x'.repeat(200 * 1024) },
    tasks: { t: task({ inputs: { s: 'str' } }), u: task() },
    nodes: { small: { task: 'u' }, a: { task: 't', inputs: { s: { from: 'inputs.big' } } }, z: { task: 'u' } },
  };
  const sim = new Sim(spec);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.status.error?.code, 'InputsTooLarge');
  assert.equal(sim.status.error?.kind, 'Permanent');
  assert.match(sim.status.message ?? '', /^node "a" failed: attempt 1 failed: InputsTooLarge: inputs take \d+ bytes as JSON, over the 102400-byte limit of FLYTE_INPUTS$/);
  // "small" was asked for before "a" failed in the same round; that pod is never created.
  assert.deepEqual(sim.phases(), { small: 'Skipped', a: 'Failed', z: 'Skipped' });
  assert.equal(sim.pods.size, 0);
});

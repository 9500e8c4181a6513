import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podName } from '../../../src/core/names.ts';
import { FakeWorld } from './fake-world.ts';

const task = { interface: { inputs: {}, outputs: {} }, container: { image: 'x', command: ['true'] } };

/** a, then b after it; b's pod is one the API server refuses. */
function refusedSecondNode(failurePolicy: string) {
  const world = new FakeWorld();
  const key = world.apply('wf', {
    failurePolicy,
    tasks: { t: task },
    nodes: { a: { task: 't' }, b: { task: 't', after: ['a'] }, c: { task: 't' } },
  });
  world.refusePods.set(podName('wf', 'b', 0), 'Pod "wf-b-0" is invalid: spec.tolerations[0].operator: Invalid value: "Exists": value must be empty when `operator` is \'Exists\'');
  return { world, key };
}

/** Runs rounds until the reconciler asks for nothing more (no requeue at once). */
async function settleRounds(world: FakeWorld, key: string, max = 10) {
  let last = await world.round(key);
  for (let i = 0; i < max && last.requeueAfterMs === 0; i++) last = await world.round(key);
  return last;
}

test('a pod the API server refuses after the first round fails its node in that round, with a NodeFailed event, and FailImmediately ends the workflow', async () => {
  const { world, key } = refusedSecondNode('FailImmediately');
  await settleRounds(world, key);
  assert.equal(world.workflow(key).status?.nodes?.['a']?.phase, 'Queued');
  world.succeed(podName('wf', 'a', 0));
  world.now += 1000;

  const result = await world.round(key);
  const status = world.workflow(key).status!;
  assert.equal(status.nodes?.['b']?.phase, 'Failed');
  assert.equal(status.nodes?.['b']?.error?.code, 'PodRejected');
  assert.match(status.nodes?.['b']?.error?.message ?? '', /the API server rejected the pod: Pod "wf-b-0" is invalid/);
  // c still ran when b was refused: its pod is deleted and the workflow waits for that in Failing.
  assert.equal(status.phase, 'Failing');
  assert.equal(status.nodes?.['c']?.phase, 'Aborted');
  assert.ok(world.requests.includes(`delete pod ${podName('wf', 'c', 0)}`), 'the running pod of c is deleted in the same round');
  assert.deepEqual(
    world.events.filter((e) => e.reason === 'NodeFailed').map((e) => e.message),
    [`node b: ${status.nodes?.['b']?.message}`],
  );
  assert.equal(result.retry, undefined, 'a refused pod is decided, not retried');

  // The deletion lands: the next round ends it.
  world.pods.delete(podName('wf', 'c', 0));
  await world.round(key);
  assert.equal(world.workflow(key).status?.phase, 'Failed');
});

test('under FailAfterExecutableNodesComplete a refused pod fails only its node; independent nodes go on', async () => {
  const { world, key } = refusedSecondNode('FailAfterExecutableNodesComplete');
  await settleRounds(world, key);
  world.succeed(podName('wf', 'a', 0));
  world.now += 1000;
  await world.round(key);
  const status = world.workflow(key).status!;
  assert.equal(status.nodes?.['b']?.phase, 'Failed');
  assert.equal(status.phase, 'Running');
  assert.equal(status.nodes?.['c']?.phase, 'Queued');
  world.succeed(podName('wf', 'c', 0));
  world.now += 1000;
  await world.round(key);
  assert.equal(world.workflow(key).status?.phase, 'Failed');
});

test('a round that changes nothing writes nothing and asks for no round of its own', async () => {
  const world = new FakeWorld();
  const key = world.apply('quiet', { tasks: { t: task }, nodes: { a: { task: 't' } } });
  await settleRounds(world, key);
  world.now += 5000;
  const writes = world.requests.length;
  const again = await world.round(key);
  assert.equal(world.requests.length, writes, 'no request at all');
  assert.equal(again.requeueAfterMs, undefined, 'no follow-up round: a resync must cost one round, not two');
});

test('an execution in a project namespace is labelled with its project and domain by the finalizer write; its own labels win', async () => {
  const world = new FakeWorld();
  world.namespaceLabels.set('ns', { project: 'ml', domain: 'staging' });
  const key = world.apply('tenant', { tasks: { t: task }, nodes: { a: { task: 't' } } });
  world.workflow(key).metadata.labels = { domain: 'mine' };
  await settleRounds(world, key);
  assert.deepEqual(world.workflow(key).metadata.labels, { domain: 'mine', project: 'ml' });
  assert.equal(world.requests.filter((r) => r.startsWith('finalizers')).length, 1, 'no extra write for the labels');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeStatus } from '../../../src/api/flyteworkflow.ts';
import { podName } from '../../../src/core/names.ts';
import { plan, type ActionFailure, type ActionOutcome, type PlanResult } from '../../../src/core/plan.ts';
import { actionSummary, PLUGINS, Sim, T0 } from './sim.ts';
import { sumSpec, task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();
const AT0 = at(0);

/**
 * What the controller does when some actions of a round failed: plan again, from the status that round
 * planned and the pods that exist, with the failed outcomes; then perform what that asks (here: deletes).
 */
function settle(sim: Sim, outcomes: ActionOutcome[]): PlanResult {
  const result = plan({
    workflow: { ...sim.workflow, status: structuredClone(sim.status) },
    pods: [...sim.pods.values()].map((p) => structuredClone(p)),
    now: sim.now,
    config: sim.config,
    plugins: PLUGINS,
    cache: new Map(sim.cache),
    outcomes,
  });
  sim.workflow.status = structuredClone(result.status);
  for (const action of result.actions) {
    if (action.type === 'DeletePod') {
      const pod = sim.pods.get(action.podName);
      if (pod) pod.metadata.deletionTimestamp ??= new Date(sim.now).toISOString();
    }
  }
  return result;
}

/** The outcome of the last round's CreatePod for `node` failing; the pod is taken out of the world, as it never was created. */
function podFailed(sim: Sim, node: string, kind: ActionFailure['kind'], message: string): ActionOutcome {
  const action = sim.last.actions.find((a) => a.type === 'CreatePod' && a.node === node);
  if (action?.type !== 'CreatePod') assert.fail(`the last round created no pod for ${node}`);
  sim.pods.delete(action.pod.metadata.name);
  return { action, ok: false, failure: { kind, message } };
}

/** a and b start at once; c reads a. */
const ABC = { a: [], b: [], c: ['a'] };
const REJECTED = 'attempt 1 failed: PodRejected: the API server rejected the pod: spec.containers[0].resources.limits: Invalid value: "-1"';
const REJECTION = 'spec.containers[0].resources.limits: Invalid value: "-1"';

/** The status a task node has right after its pod was asked for at T0. */
const queued = (pod: string): NodeStatus => ({ phase: 'Queued', attempts: 1, podName: pod, attemptStartedAt: AT0, startedAt: AT0, readyAt: AT0 });

test('FailImmediately: a rejected pod fails its node (PodRejected) and the workflow starts failing in the same call', () => {
  const sim = new Sim(sumSpec(ABC));
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0', 'create wf-b-0']);
  const result = settle(sim, [podFailed(sim, 'a', 'Rejected', REJECTION)]);

  const error = { kind: 'Permanent', code: 'PodRejected', message: `node "a" failed: ${REJECTED}`, node: 'a' };
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.status.error, error);
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Aborted', c: 'Skipped' });
  assert.deepEqual(sim.status.nodes?.a, {
    ...queued('wf-a-0'),
    phase: 'Failed',
    error: { kind: 'Permanent', code: 'PodRejected', message: REJECTED, node: 'a' },
    finishedAt: AT0,
    message: REJECTED,
  });
  assert.equal(sim.status.nodes?.c?.message, `not run: ${error.message}`);
  assert.deepEqual(result.actions, [{ type: 'DeletePod', node: 'b', podName: 'wf-b-0', reason: error.message }]);
  assert.deepEqual(result.events, [{ type: 'Warning', reason: 'NodeFailed', message: REJECTED, node: 'a' }]);
  assert.equal(result.retry, undefined, 'nothing to retry: the pod can never be created');

  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, error);
  assert.deepEqual(sim.last.actions, []);
});

test('a rejected pod is not retried, whatever the node\'s retries: the error is permanent', () => {
  const spec = sumSpec({ a: [] });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 3;
  const sim = new Sim(spec);
  sim.step();
  const result = settle(sim, [podFailed(sim, 'a', 'Rejected', REJECTION)]);
  assert.equal(sim.nodePhase('a'), 'Failed');
  assert.equal(sim.status.nodes?.a?.message, REJECTED);
  assert.equal(sim.status.nodes?.a?.nextAttemptAt, undefined);
  assert.equal(sim.phase, 'Failed', 'no pod is alive: it ends at once');
  assert.deepEqual(result.events.map((e) => e.reason), ['NodeFailed', 'Failed']);
  assert.equal(result.requeueAfterMs, undefined);
});

test('FailAfterExecutableNodesComplete: a rejected pod fails its node, its dependents are skipped, the others go on', () => {
  const sim = new Sim(sumSpec(ABC, { failurePolicy: 'FailAfterExecutableNodesComplete' }));
  sim.step();
  const result = settle(sim, [podFailed(sim, 'a', 'Rejected', REJECTION)]);
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Queued', c: 'Skipped' });
  assert.equal(sim.status.nodes?.c?.message, 'skipped: upstream node "a" is failed');
  assert.equal(sim.status.message, `node "a" failed: ${REJECTED}; letting 1 independent node(s) finish`);
  assert.deepEqual(result.actions, []);
  assert.deepEqual(result.events.map((e) => [e.reason, e.node]), [['NodeFailed', 'a']]);

  sim.succeed('b');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.status.error?.code, 'PodRejected');
});

test('nothing new starts while settling, even where a slot was freed; the next round starts it', () => {
  const sim = new Sim(sumSpec({ a: [], b: [], c: [] }, { maxParallelism: 2, failurePolicy: 'FailAfterExecutableNodesComplete' }));
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0', 'create wf-b-0']);
  const result = settle(sim, [podFailed(sim, 'a', 'Rejected', REJECTION)]);
  assert.deepEqual(result.actions, []);
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Queued', c: 'Pending' });
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-c-0']);
});

test('a rejected pod inside a subworkflow fails it and the workflow; the failure handler waits for the next round', () => {
  const t = task();
  const sim = new Sim({ tasks: { t }, subworkflows: { s: { nodes: { x: { task: 't' }, y: { task: 't' } } } }, nodes: { sub: { subworkflow: 's' }, z: { task: 't' } }, onFailure: { task: 't' } });
  sim.step();
  const result = settle(sim, [podFailed(sim, 'sub/x', 'Rejected', 'bad')]);
  const message = 'node "sub/x" failed: attempt 1 failed: PodRejected: the API server rejected the pod: bad';
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.status.error, { kind: 'Permanent', code: 'PodRejected', message, node: 'sub/x' });
  assert.deepEqual(sim.phases(), { sub: 'Failed', z: 'Aborted', 'sub/x': 'Failed', 'sub/y': 'Aborted', onFailure: 'Pending' });
  assert.deepEqual(actionSummary(result), [`delete ${podName('wf', 'sub/y', 0)}`, 'delete wf-z-0']);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', 'onFailure', 0)}`]);
});

test('a rejected pod of a branch arm fails the branch', () => {
  const spec = {
    interface: { inputs: { x: 'int' } },
    inputs: { x: 1 },
    tasks: { t: task() },
    nodes: { b: { inputs: { x: { from: 'inputs.x' } }, branch: { cases: [{ when: 'x == 1', then: { task: 't' } }], fail: 'no' } } },
  };
  const sim = new Sim(spec);
  sim.step();
  settle(sim, [podFailed(sim, 'b/case-0', 'Rejected', 'bad')]);
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.phases(), { b: 'Failed', 'b/case-0': 'Failed' });
  assert.equal(sim.status.error?.node, 'b/case-0');
  assert.equal(sim.status.error?.code, 'PodRejected');
});

const RESTORED: [ActionFailure['kind'], string][] = [
  ['Transient', 'could not create pod: connection reset'],
  ['Quota', 'waiting for resource quota: connection reset'],
  ['NameTaken', 'waiting: connection reset'],
];

for (const [kind, message] of RESTORED) {
  test(`a ${kind} failure puts the node back as it was, says why, and asks for a retry`, () => {
    const sim = new Sim(sumSpec(ABC));
    sim.step();
    const result = settle(sim, [podFailed(sim, 'a', kind, 'connection reset')]);
    assert.deepEqual(sim.status.nodes?.a, { phase: 'Pending', message });
    assert.deepEqual(sim.status.nodes?.b, queued('wf-b-0'));
    assert.equal(sim.phase, 'Running');
    assert.equal(sim.status.message, '0/3 nodes succeeded, 1 queued');
    assert.deepEqual(result.actions, []);
    assert.deepEqual(result.events, []);
    assert.equal(result.retry, true);

    sim.step();
    assert.deepEqual(actionSummary(sim.last), ['create wf-a-0']);
    assert.deepEqual(sim.status.nodes?.a, queued('wf-a-0'));
  });
}

test('NotRun puts the node back silently, and asks for no retry', () => {
  const sim = new Sim(sumSpec(ABC));
  sim.step();
  const result = settle(sim, [podFailed(sim, 'a', 'NotRun', 'shutting down'), podFailed(sim, 'b', 'NotRun', 'shutting down')]);
  assert.deepEqual(sim.status.nodes, { a: { phase: 'Pending' }, b: { phase: 'Pending' }, c: { phase: 'Pending' } });
  assert.equal(sim.phase, 'Pending');
  assert.deepEqual(result.actions, []);
  assert.equal(result.retry, undefined);
});

test('a failed retry attempt puts the node back to Retrying, as it was before that round', () => {
  const spec = sumSpec({ a: [] });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 2;
  const sim = new Sim(spec);
  sim.step();
  sim.fail('a', 1);
  sim.step();
  const retrying = structuredClone(sim.status.nodes!.a!);
  assert.equal(retrying.phase, 'Retrying');
  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
  const result = settle(sim, [podFailed(sim, 'a', 'Transient', 'etcd leader changed')]);
  assert.deepEqual(sim.status.nodes?.a, { ...retrying, message: 'could not create pod: etcd leader changed' });
  assert.equal(result.retry, true);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
  assert.equal(sim.status.nodes?.a?.attempts, 2);
});

test('a reservation that could not be asked for says so and asks for a retry; renewals and releases that failed ask for none', () => {
  const cached = { ...task({ inputs: { n: 'int' }, outputs: { o: 'int' } }), cache: { version: 'v1', serialize: true } };
  const sim = new Sim({ tasks: { c: cached }, nodes: { a: { task: 'c', inputs: { n: { value: 1 } } } } });
  sim.step();
  const reserve = sim.last.actions[0]!;
  assert.equal(reserve.type, 'ReserveCache');
  if (reserve.type !== 'ReserveCache') return;
  sim.cache.clear();
  const result = settle(sim, [{ action: reserve, ok: false, failure: { kind: 'Transient', message: 'timeout' } }]);
  assert.deepEqual(sim.status.nodes?.a, { phase: 'Pending', message: `could not reserve cache entry ${reserve.entry.name}: timeout` });
  assert.equal(result.retry, true);
  assert.deepEqual(result.actions, []);

  const holder = { workflow: 'wf', uid: 'wf-uid', node: 'a' };
  for (const action of [
    { type: 'RenewCache' as const, node: 'a', name: reserve.entry.name, holder, until: at(60_000) },
    { type: 'ReleaseCache' as const, node: 'a', name: reserve.entry.name, holder },
  ]) {
    const r = settle(sim, [{ action, ok: false, failure: { kind: 'Transient', message: 'timeout' } }]);
    assert.equal(r.retry, undefined, action.type);
  }
});

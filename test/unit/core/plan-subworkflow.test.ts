import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATIONS, LABELS } from '../../../src/api/labels.ts';
import { labelValue, podName } from '../../../src/core/names.ts';
import { actionSummary, Sim, T0, type TaskFn } from './sim.ts';
import { task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();
const AT0 = at(0);
const abort = (sim: Sim) => void ((sim.workflow.spec as Record<string, unknown>).abort = true);

/** add(a, b) = a + b, dbl(x) = 2x. */
const FNS: Record<string, TaskFn> = {
  add: ({ a, b }) => ({ o: (a as number) + (b as number) }),
  dbl: ({ x }) => ({ o: 2 * (x as number) }),
};
const MATH = {
  add: task({ inputs: { a: 'int', b: 'int' }, outputs: { o: 'int' } }),
  dbl: task({ inputs: { x: 'int' }, outputs: { o: 'int' } }),
};
const t = task();

/** A handler task that takes every field of the error. */
const HANDLER = task({ inputs: { message: 'str', code: 'str', kind: 'str', node: 'Optional[str]', tag: 'str' } });
const ERROR_BINDINGS = { message: { from: 'error.message' }, code: { from: 'error.code' }, kind: { from: 'error.kind' }, node: { from: 'error.node' }, tag: { from: 'inputs.tag' } };

test('a subworkflow takes its inputs from the node\'s bindings and gives its outputs to the nodes downstream', () => {
  const spec = {
    interface: { inputs: { n: 'int' }, outputs: { r: 'int' } },
    inputs: { n: 5 },
    tasks: MATH,
    subworkflows: {
      // (a + b) * 2
      addThenDouble: {
        interface: { inputs: { a: 'int', b: 'int' }, outputs: { o: 'int', sum: 'int' } },
        nodes: { sum: { task: 'add', inputs: { a: { from: 'inputs.a' }, b: { from: 'inputs.b' } } }, twice: { task: 'dbl', inputs: { x: { from: 'sum.o' } } } },
        outputs: { o: { from: 'twice.o' }, sum: { from: 'sum.o' } },
      },
    },
    nodes: {
      p: { task: 'dbl', inputs: { x: { from: 'inputs.n' } } },
      s: { subworkflow: 'addThenDouble', inputs: { a: { from: 'p.o' }, b: { from: 'inputs.n' } } },
      q: { task: 'add', inputs: { a: { from: 's.o' }, b: { from: 's.sum' } } },
    },
    outputs: { r: { from: 'q.o' } },
  };
  const sim = new Sim(spec, { tasks: FNS });
  sim.step();
  // The subworkflow's nodes get statuses only once it starts.
  assert.deepEqual(sim.phases(), { p: 'Queued', s: 'Pending', q: 'Pending' });
  assert.equal(sim.status.progress, '0/3');

  sim.succeed('p');
  sim.step();
  assert.deepEqual(sim.phases(), { p: 'Succeeded', s: 'Running', q: 'Pending', 's/sum': 'Queued', 's/twice': 'Pending' });
  assert.deepEqual(sim.status.nodes?.s, { phase: 'Running', startedAt: AT0 });
  assert.deepEqual(sim.inputsOf(sim.pod('s/sum')), { a: 10, b: 5 });
  assert.equal(sim.status.progress, '1/5');
  assert.equal(sim.status.message, '1/5 nodes succeeded, 1 running, 1 queued');

  sim.succeed('s/sum');
  sim.step();
  assert.deepEqual(sim.inputsOf(sim.pod('s/twice')), { x: 15 });
  sim.advance(1000);
  sim.succeed('s/twice');
  sim.step();
  assert.deepEqual(sim.status.nodes?.s, { phase: 'Succeeded', startedAt: AT0, outputs: { o: 30, sum: 15 }, finishedAt: at(1000) });
  assert.deepEqual(sim.inputsOf(sim.pod('q')), { a: 30, b: 15 });
  sim.succeed('q');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.outputs, { r: 45 });
  assert.equal(sim.status.progress, '5/5');
});

/** a runs mid, mid runs leaf, leaf runs task c: c's path is a/b/c. */
const NESTED = {
  interface: { inputs: { n: 'int' }, outputs: { r: 'int' } },
  inputs: { n: 4 },
  tasks: MATH,
  subworkflows: {
    mid: { interface: { inputs: { n: 'int' }, outputs: { o: 'int' } }, nodes: { b: { subworkflow: 'leaf', inputs: { n: { from: 'inputs.n' } } } }, outputs: { o: { from: 'b.o' } } },
    leaf: { interface: { inputs: { n: 'int' }, outputs: { o: 'int' } }, nodes: { c: { task: 'dbl', inputs: { x: { from: 'inputs.n' } } } }, outputs: { o: { from: 'c.o' } } },
  },
  nodes: { a: { subworkflow: 'mid', inputs: { n: { from: 'inputs.n' } } } },
  outputs: { r: { from: 'a.o' } },
};

test('nested subworkflows: statuses under a, a/b, a/b/c; the pod of a/b/c is named and labelled for that path', () => {
  const sim = new Sim(NESTED, { name: 'nested', tasks: FNS });
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Running', 'a/b': 'Running', 'a/b/c': 'Queued' });
  const name = podName('nested', 'a/b/c', 0);
  assert.match(name, /^nested-a-b-c-0-[a-z2-7]{10}$/, 'a path is not a plain node name: the name is hashed');
  assert.deepEqual(actionSummary(sim.last), [`create ${name}`]);
  assert.equal(sim.status.nodes?.['a/b/c']?.podName, name);
  const pod = sim.pod('a/b/c');
  assert.equal(pod.metadata.annotations?.[ANNOTATIONS.node], 'a/b/c');
  assert.equal(pod.metadata.labels?.[LABELS.node], labelValue('a/b/c'));
  assert.match(pod.metadata.labels?.[LABELS.node] ?? '', /^a-b-c-[a-z2-7]{10}$/);
  assert.equal(pod.metadata.labels?.[LABELS.task], 'dbl');
  assert.deepEqual(sim.inputsOf(pod), { x: 4 });

  sim.succeed('a/b/c');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.outputs, { r: 8 });
  for (const path of ['a', 'a/b', 'a/b/c']) assert.deepEqual(sim.status.nodes?.[path]?.outputs, { o: 8 }, path);
  assert.equal(sim.status.progress, '3/3');
});

/** sub runs x, y and z after x; out runs beside it and after after it. */
function failingSpec(policy: string): Record<string, unknown> {
  return {
    failurePolicy: policy,
    tasks: { t },
    subworkflows: { s: { nodes: { x: { task: 't' }, y: { task: 't' }, z: { task: 't', after: ['x'] } } } },
    nodes: { sub: { subworkflow: 's' }, out: { task: 't' }, after: { task: 't', after: ['sub'] } },
  };
}

const X_FAILED = 'attempt 1 failed: NonZeroExit: the container exited with code 2: oops';
const X_ERROR = { kind: 'User', code: 'NonZeroExit', message: `node "sub/x" failed: ${X_FAILED}`, node: 'sub/x' };

test('FailImmediately: a node failing inside a subworkflow stops its siblings inside and outside, and deletes their pods', () => {
  const sim = new Sim(failingSpec('FailImmediately'));
  sim.step();
  assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', 'sub/x', 0)}`, `create ${podName('wf', 'sub/y', 0)}`, 'create wf-out-0']);
  sim.start('sub/y');
  sim.start('out');
  sim.fail('sub/x', 2, 'oops');
  sim.step();
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { sub: 'Failed', out: 'Aborted', after: 'Skipped', 'sub/x': 'Failed', 'sub/y': 'Aborted', 'sub/z': 'Skipped' });
  assert.deepEqual(sim.last.actions, [
    { type: 'DeletePod', node: 'sub/y', podName: podName('wf', 'sub/y', 0), reason: X_ERROR.message },
    { type: 'DeletePod', node: 'out', podName: 'wf-out-0', reason: X_ERROR.message },
  ]);
  assert.deepEqual(sim.status.nodes?.sub, { phase: 'Failed', startedAt: AT0, finishedAt: AT0, message: X_ERROR.message, error: X_ERROR });
  assert.equal(sim.status.nodes?.['sub/y']?.message, `stopped: ${X_ERROR.message}`);
  assert.equal(sim.status.nodes?.['sub/z']?.message, `not run: ${X_ERROR.message}`);
  assert.equal(sim.status.nodes?.after?.message, `not run: ${X_ERROR.message}`);
  assert.deepEqual(sim.status.error, X_ERROR);
  // The failure is announced once, where it happened.
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.node]), [['NodeFailed', 'sub/x']]);

  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, X_ERROR);
  assert.deepEqual(sim.last.actions, []);
});

test('FailAfterExecutableNodesComplete: inside and outside, what does not depend on the failure finishes first', () => {
  const sim = new Sim(failingSpec('FailAfterExecutableNodesComplete'));
  sim.step();
  sim.start('sub/y');
  sim.start('out');
  sim.fail('sub/x', 2, 'oops');
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.phases(), { sub: 'Running', out: 'Running', after: 'Pending', 'sub/x': 'Failed', 'sub/y': 'Running', 'sub/z': 'Skipped' });
  assert.equal(sim.status.nodes?.['sub/z']?.message, 'skipped: upstream node "sub/x" is failed');
  assert.deepEqual(sim.last.actions, []);

  sim.succeed('sub/y');
  sim.step();
  // Nothing inside can run any more: the subworkflow node fails, its dependents are skipped, out goes on.
  assert.deepEqual(sim.phases(), { sub: 'Failed', out: 'Running', after: 'Skipped', 'sub/x': 'Failed', 'sub/y': 'Succeeded', 'sub/z': 'Skipped' });
  assert.deepEqual(sim.status.nodes?.sub?.error, X_ERROR);
  assert.equal(sim.status.nodes?.after?.message, 'skipped: upstream node "sub" is failed');
  assert.equal(sim.status.message, `${X_ERROR.message}; letting 1 independent node(s) finish`);

  sim.succeed('out');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, X_ERROR);
  assert.equal(sim.status.progress, '2/6');
});

/** A subworkflow with a failure handler, run by node sub beside out; the workflow has a handler too. */
function handledSpec(): Record<string, unknown> {
  return {
    interface: { inputs: { tag: 'str' } },
    inputs: { tag: 'outer' },
    tasks: { t, h: HANDLER },
    subworkflows: {
      s: { interface: { inputs: { tag: 'str' } }, nodes: { x: { task: 't' }, y: { task: 't' } }, onFailure: { task: 'h', inputs: ERROR_BINDINGS } },
    },
    nodes: { sub: { subworkflow: 's', inputs: { tag: { value: 'inner' } } }, out: { task: 't' } },
    onFailure: { task: 'h', inputs: ERROR_BINDINGS },
  };
}

test("a subworkflow's failure handler runs with its inputs and the error; the node is Failing, then Failed with the original error", () => {
  const sim = new Sim(handledSpec());
  sim.step();
  sim.start('sub/y');
  sim.start('out');
  sim.fail('sub/x', 2, 'oops');
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.phases(), { sub: 'Failing', out: 'Running', 'sub/x': 'Failed', 'sub/y': 'Aborted', 'sub/onFailure': 'Queued' });
  assert.deepEqual(sim.status.nodes?.sub, {
    phase: 'Failing',
    startedAt: AT0,
    error: X_ERROR,
    message: `${X_ERROR.message}; running the subworkflow's failure handler`,
  });
  assert.deepEqual(actionSummary(sim.last), [`delete ${podName('wf', 'sub/y', 0)}`, `create ${podName('wf', 'sub/onFailure', 0)}`]);
  assert.deepEqual(sim.inputsOf(sim.pod('sub/onFailure')), { message: X_ERROR.message, code: 'NonZeroExit', kind: 'User', node: 'sub/x', tag: 'inner' });
  // The handler counts once it started.
  assert.equal(sim.status.progress, '0/5');

  sim.reap();
  sim.succeed('sub/onFailure');
  sim.step();
  // The subworkflow failed (with the original error): the workflow fails, stops out and runs its own handler.
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { sub: 'Failed', out: 'Aborted', 'sub/x': 'Failed', 'sub/y': 'Aborted', 'sub/onFailure': 'Succeeded', onFailure: 'Queued' });
  assert.deepEqual(sim.status.nodes?.sub?.error, X_ERROR);
  assert.equal(sim.status.message, `${X_ERROR.message}; running the failure handler`);
  assert.deepEqual(actionSummary(sim.last), ['delete wf-out-0', `create ${podName('wf', 'onFailure', 0)}`]);
  assert.deepEqual(sim.inputsOf(sim.pod('onFailure')), { message: X_ERROR.message, code: 'NonZeroExit', kind: 'User', node: 'sub/x', tag: 'outer' });

  sim.reap();
  sim.succeed('onFailure');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, X_ERROR);
  assert.equal(sim.status.message, X_ERROR.message);
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason]), [['Warning', 'Failed']]);
  assert.equal(sim.status.progress, '2/6');
});

test("a subworkflow whose failure handler fails ends Failed with the handler's error", () => {
  const spec = handledSpec();
  delete spec.onFailure;
  const sim = new Sim(spec);
  sim.step();
  sim.fail('sub/x', 1, 'first');
  sim.succeed('sub/y');
  sim.step();
  assert.equal(sim.nodePhase('sub'), 'Failing');
  sim.fail('sub/onFailure', 2, 'second');
  sim.step();
  const error = { kind: 'User', code: 'NonZeroExit', message: 'node "sub/onFailure" failed: attempt 1 failed: NonZeroExit: the container exited with code 2: second', node: 'sub/onFailure' };
  assert.deepEqual(sim.status.nodes?.sub?.error, error);
  assert.equal(sim.nodePhase('sub'), 'Failed');
  assert.equal(sim.phase, 'Failing', 'out still has a live pod');
  assert.deepEqual(sim.status.error, error);
});

test("the workflow's failure handler gets error.message, code, kind and node; the workflow ends Failed with the original error", () => {
  const spec = {
    interface: { inputs: { tag: 'str' } },
    inputs: { tag: 'T' },
    tasks: { t, h: HANDLER },
    nodes: { a: { task: 't' }, b: { task: 't', after: ['a'] } },
    onFailure: { task: 'h', inputs: ERROR_BINDINGS },
  };
  const sim = new Sim(spec);
  sim.step();
  sim.fail('a', 3);
  sim.step();
  const error = { kind: 'User', code: 'NonZeroExit', message: 'node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 3', node: 'a' };
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.status.error, error);
  assert.equal(sim.status.message, `${error.message}; running the failure handler`);
  assert.deepEqual(sim.phases(), { a: 'Failed', b: 'Skipped', onFailure: 'Queued' });
  assert.deepEqual(sim.inputsOf(sim.pod('onFailure')), { message: error.message, code: 'NonZeroExit', kind: 'User', node: 'a', tag: 'T' });

  sim.start('onFailure');
  sim.step();
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.last.actions, []);

  sim.succeed('onFailure');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, error);
  assert.equal(sim.status.message, error.message);
});

test("a workflow error with no node gives the handler error.node null, and a failing handler's error ends the workflow", () => {
  const spec = { timeout: '1m', interface: { inputs: { tag: 'str' } }, inputs: { tag: 'T' }, tasks: { t, h: HANDLER }, nodes: { a: { task: 't' } }, onFailure: { task: 'h', inputs: ERROR_BINDINGS } };
  const sim = new Sim(spec);
  sim.step();
  sim.advance(60_000);
  sim.step();
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { a: 'Aborted', onFailure: 'Queued' });
  const timeout = 'the workflow exceeded its timeout of 1m';
  assert.deepEqual(sim.inputsOf(sim.pod('onFailure')), { message: timeout, code: 'WorkflowTimedOut', kind: 'User', node: null, tag: 'T' });
  assert.deepEqual(actionSummary(sim.last), ['delete wf-a-0', `create ${podName('wf', 'onFailure', 0)}`]);

  sim.reap();
  sim.fail('onFailure', 5, 'cannot page');
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, {
    kind: 'User',
    code: 'NonZeroExit',
    message: 'node "onFailure" failed: attempt 1 failed: NonZeroExit: the container exited with code 5: cannot page',
    node: 'onFailure',
  });
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.node]), [['NodeFailed', 'onFailure'], ['Failed', undefined]]);
});

test('abort while the failure handler runs stops it and deletes its pods; the workflow ends Failed with the original error', () => {
  const spec = { tasks: { t }, subworkflows: { s: { nodes: { x: { task: 't' } } } }, nodes: { a: { task: 't' } }, onFailure: { subworkflow: 's' } };
  const sim = new Sim(spec);
  sim.step();
  sim.fail('a');
  sim.step();
  const error = { kind: 'User', code: 'NonZeroExit', message: 'node "a" failed: attempt 1 failed: NonZeroExit: the container exited with code 1', node: 'a' };
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { a: 'Failed', onFailure: 'Running', 'onFailure/x': 'Queued' });

  sim.start('onFailure/x');
  abort(sim);
  sim.step();
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { a: 'Failed', onFailure: 'Aborted', 'onFailure/x': 'Aborted' });
  assert.equal(sim.status.nodes?.onFailure?.message, 'stopped: aborted: spec.abort is true');
  assert.deepEqual(actionSummary(sim.last), [`delete ${podName('wf', 'onFailure/x', 0)}`]);
  assert.deepEqual(sim.status.error, error);
  assert.equal(sim.status.message, error.message);

  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, error);
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.message]), [['Failed', error.message]]);
});

test('abort while a handler subworkflow runs its own handler stops both', () => {
  const spec = { tasks: { t }, subworkflows: { s: { nodes: { x: { task: 't' } }, onFailure: { task: 't' } } }, nodes: { a: { task: 't' } }, onFailure: { subworkflow: 's' } };
  const sim = new Sim(spec);
  sim.step();
  sim.fail('a');
  sim.step();
  sim.fail('onFailure/x');
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Failed', onFailure: 'Failing', 'onFailure/x': 'Failed', 'onFailure/onFailure': 'Queued' });
  abort(sim);
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Failed', onFailure: 'Aborted', 'onFailure/x': 'Failed', 'onFailure/onFailure': 'Aborted' });
  assert.deepEqual(actionSummary(sim.last), [`delete ${podName('wf', 'onFailure/onFailure', 0)}`]);
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.status.error?.node, 'a');
});

test("abort while a subworkflow's handler runs stops it; the workflow ends Aborted and its own handler never runs", () => {
  const spec = { tasks: { t }, subworkflows: { s: { nodes: { x: { task: 't' } }, onFailure: { task: 't' } } }, nodes: { sub: { subworkflow: 's' }, out: { task: 't' } }, onFailure: { task: 't' } };
  const sim = new Sim(spec);
  sim.step();
  sim.fail('sub/x');
  sim.start('out');
  sim.step();
  assert.deepEqual(sim.phases(), { sub: 'Failing', out: 'Running', 'sub/x': 'Failed', 'sub/onFailure': 'Queued' });
  abort(sim);
  sim.step();
  assert.equal(sim.phase, 'Aborting');
  assert.deepEqual(sim.phases(), { sub: 'Aborted', out: 'Aborted', 'sub/x': 'Failed', 'sub/onFailure': 'Aborted' });
  assert.deepEqual(actionSummary(sim.last), ['delete wf-out-0', `delete ${podName('wf', 'sub/onFailure', 0)}`]);
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Aborted');
  assert.equal(sim.status.error, undefined);
  assert.equal(sim.nodePhase('onFailure'), undefined);
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.message]), [['Aborted', 'aborted: spec.abort is true']]);
});

test('abort stops every nested subworkflow node and deletes its pods', () => {
  const sim = new Sim(NESTED, { tasks: FNS });
  sim.step();
  sim.start('a/b/c');
  abort(sim);
  sim.step();
  assert.equal(sim.phase, 'Aborting');
  assert.deepEqual(sim.phases(), { a: 'Aborted', 'a/b': 'Aborted', 'a/b/c': 'Aborted' });
  assert.deepEqual(actionSummary(sim.last), [`delete ${podName('wf', 'a/b/c', 0)}`]);
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Aborted');
});

test('a subworkflow stopped before it started adds none of its nodes to the progress', () => {
  const spec = { tasks: { t }, subworkflows: { s: { nodes: { x: { task: 't' }, y: { task: 't' } } } }, nodes: { a: { task: 't' }, sub: { subworkflow: 's', after: ['a'] } } };
  const sim = new Sim(spec);
  sim.step();
  assert.equal(sim.status.progress, '0/2');
  abort(sim);
  sim.step();
  assert.deepEqual(sim.phases(), { a: 'Aborted', sub: 'Aborted' });
  assert.equal(sim.status.progress, '0/2');
});

/** o runs outer: i (runs inner: p, q) and r; top is a task beside it, g a gate that takes no slot. */
function parallelSpec(): Record<string, unknown> {
  return {
    maxParallelism: 3,
    tasks: { t },
    subworkflows: { inner: { nodes: { p: { task: 't' }, q: { task: 't' } } }, outer: { nodes: { i: { subworkflow: 'inner' }, r: { task: 't' } } } },
    nodes: { o: { subworkflow: 'outer' }, top: { task: 't' }, g: { gate: { sleep: '1h' } } },
  };
}

test('maxParallelism counts task pods at every depth of nesting, and gates take no slot', () => {
  const sim = new Sim(parallelSpec());
  sim.step();
  assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', 'o/i/p', 0)}`, `create ${podName('wf', 'o/i/q', 0)}`, `create ${podName('wf', 'o/r', 0)}`]);
  assert.deepEqual(sim.phases(), { o: 'Running', top: 'Pending', g: 'Running', 'o/i': 'Running', 'o/r': 'Queued', 'o/i/p': 'Queued', 'o/i/q': 'Queued' });
  assert.deepEqual(sim.status.nodes?.top, { phase: 'Pending', readyAt: AT0, message: 'waiting: at most 3 task pods run at once (maxParallelism)' });
  assert.equal(sim.status.message, '0/7 nodes succeeded, 2 running, 3 queued, 1 waiting (g)');

  sim.start('o/i/p');
  sim.step();
  assert.deepEqual(sim.last.actions, []);

  sim.succeed('o/i/p');
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-top-0']);
});

test('a status write lost while a subworkflow was starting: its pods are adopted, none is created twice, the limit holds', () => {
  const sim = new Sim(parallelSpec());
  sim.step();
  assert.equal(sim.pods.size, 3);
  sim.loseLastStatusWrite();
  assert.deepEqual(sim.phases(), {});

  sim.step();
  assert.deepEqual(sim.conflicts, []);
  assert.deepEqual(sim.last.actions, [], 'every pod is there already, and they fill all 3 slots');
  assert.deepEqual(sim.phases(), { o: 'Running', top: 'Pending', g: 'Running', 'o/i': 'Running', 'o/r': 'Queued', 'o/i/p': 'Queued', 'o/i/q': 'Queued' });
  assert.equal(sim.status.nodes?.['o/i/p']?.podName, podName('wf', 'o/i/p', 0));
  assert.equal(sim.status.nodes?.['o/i/p']?.attempts, 1);

  sim.run();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.conflicts, []);
  assert.deepEqual(sim.creates().map((c) => c.node).sort(), ['o/i/p', 'o/i/q', 'o/r', 'top']);
});

// Launch-plan nodes in plan: the child execution a node creates (name, labels, owner, inputs), what the
// node makes of the child's outcome, adoption of a child whose creation round lost its status write, and
// the abort that stopping the node sends. The world is sim.ts's, plus the child executions: `plan` gets
// them as `children`, and the compiled spec with the launch plans' interfaces (status.launchPlans).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import type { ChildView } from '../../../src/core/actions.ts';
import { compileWorkflow } from '../../../src/core/compile.ts';
import type { LaunchPlanInterface } from '../../../src/core/compiled.ts';
import { childName, PARENT_LABEL } from '../../../src/core/nodes/launch-plan.ts';
import { podName } from '../../../src/core/names.ts';
import { plan, type Action, type ActionOutcome, type PlanResult, type WorkflowView } from '../../../src/core/plan.ts';
import { ANNOTATIONS } from '../../../src/api/labels.ts';
import { CONFIG, PLUGINS, Sim, T0 } from './sim.ts';
import { task } from './specs.ts';

/** The launch plan "scale" as a node sees it: values has a default, note is Optional, k is fixed (absent). */
const SCALE: LaunchPlanInterface = {
  definition: 'standard-scale.1',
  inputs: { values: 'list[float]', note: 'Optional[str]', factor: 'float' },
  outputs: { mu: 'float', scaled: 'list[float]' },
  defaulted: ['values'],
  labels: { team: 'analytics', tier: 'batch' },
};
const LAUNCH_PLANS = new Map<string, LaunchPlanInterface>([['scale', SCALE], ['other', { definition: 'other.1', outputs: { o: 'int' } }]]);

const TASKS = {
  report: task({ inputs: { mu: 'float' }, outputs: { line: 'str' } }),
  prep: task({ outputs: { f: 'float' } }),
};

/** A parent: run (launch plan scale, factor from prep) → report (reads run.mu). */
function parentSpec(extra: Record<string, unknown> = {}, run: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: { inputs: { xs: 'list[float]' }, outputs: { mu: 'float', line: 'str' } },
    inputs: { xs: [2, 4, 4, 4, 5, 5, 7, 9] },
    tasks: TASKS,
    nodes: {
      ...(JSON.stringify(run).includes('prep.f') ? { prep: { task: 'prep' } } : {}),
      run: { launchPlan: 'scale', inputs: { values: { from: 'inputs.xs' }, factor: { value: 2 } }, ...run },
      report: { task: 'report', inputs: { mu: { from: 'run.mu' } } },
    },
    outputs: { mu: { from: 'run.mu' }, line: { from: 'report.line' } },
    ...extra,
  };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * One parent workflow and its namespace: pods (as in sim.ts) and child executions. Each step is one
 * round: plan with the children, write the status back, apply the actions.
 */
class World {
  readonly workflow: WorkflowView;
  readonly children = new Map<string, ChildView>();
  readonly pods = new Map<string, Pod>();
  readonly rounds: { before: WorkflowStatus | undefined; result: PlanResult }[] = [];
  /** Every CreateChild action, including those whose child already existed. */
  readonly creates: Extract<Action, { type: 'CreateChild' }>[] = [];
  readonly aborts: Extract<Action, { type: 'AbortChild' }>[] = [];
  now = T0;

  constructor(spec: unknown, options: { labels?: Record<string, string>; name?: string } = {}) {
    this.workflow = { name: options.name ?? 'parent', namespace: 'ns', uid: 'parent-uid', generation: 1, labels: options.labels ?? {}, spec };
  }

  get status(): WorkflowStatus {
    return this.workflow.status ?? {};
  }

  node(path: string) {
    return this.status.nodes?.[path];
  }

  step(outcomes?: ActionOutcome[]): PlanResult {
    const before = this.workflow.status && clone(this.workflow.status);
    const spec = clone(this.workflow.spec);
    const compiled = compileWorkflow(spec, { maxNodes: CONFIG.maxNodes, maxDepth: CONFIG.maxDepth, launchPlans: LAUNCH_PLANS });
    const result = plan({
      workflow: { ...this.workflow, spec, status: before },
      pods: [...this.pods.values()].map(clone),
      now: this.now,
      config: CONFIG,
      plugins: PLUGINS,
      compiled,
      children: new Map([...this.children].map(([k, v]) => [k, clone(v)])),
      ...(outcomes ? { outcomes } : {}),
    });
    this.rounds.push({ before, result });
    this.workflow.status = clone(result.status);
    for (const action of result.actions) this.apply(action);
    return result;
  }

  private apply(action: Action): void {
    if (action.type === 'CreateChild') {
      this.creates.push(action);
      const name = (action.child['metadata'] as { name: string }).name;
      if (!this.children.has(name)) this.children.set(name, { name, uid: `child-uid-${this.children.size + 1}` });
    } else if (action.type === 'AbortChild') {
      this.aborts.push(action);
      const child = this.children.get(action.name);
      if (child) child.aborting = true;
    } else if (action.type === 'CreatePod') {
      const pod = clone(action.pod);
      pod.status = { phase: 'Pending' };
      this.pods.set(pod.metadata.name, pod);
    } else if (action.type === 'DeletePod') {
      this.pods.delete(action.podName);
    }
  }

  /** The child's FlyteWorkflow moves to a phase (with outputs, an error or a message). */
  child(name: string, fields: Omit<ChildView, 'name'>): void {
    const child = this.children.get(name);
    if (!child) throw new Error(`no child ${name}`);
    Object.assign(child, fields);
  }

  /** A crash after the actions but before the status write. */
  loseLastStatusWrite(): void {
    this.workflow.status = this.rounds.at(-1)?.before;
  }

  /** Ends the pod of a task node successfully with the given outputs. */
  succeedPod(node: string, outputs: Record<string, unknown>): void {
    const pod = [...this.pods.values()].find((p) => p.metadata.annotations?.[ANNOTATIONS.node] === node);
    if (!pod) throw new Error(`no pod for ${node}`);
    pod.status = { phase: 'Succeeded', containerStatuses: [{ name: 'task', state: { terminated: { exitCode: 0, reason: 'Completed', message: JSON.stringify(outputs), finishedAt: new Date(this.now).toISOString() } } }] };
  }

  inputsOf(node: string): Record<string, unknown> {
    const pod = [...this.pods.values()].find((p) => p.metadata.annotations?.[ANNOTATIONS.node] === node);
    const value = pod?.spec.containers[0]?.env?.find((e) => e.name === 'FLYTE_INPUTS')?.value;
    return JSON.parse(value ?? '{}') as Record<string, unknown>;
  }
}

const types = (result: PlanResult) => result.actions.map((a) => a.type);

// ---------------------------------------------------------------------------------------------------------
// Starting the child

test('a ready launch-plan node creates its child execution: named per (parent, node, attempt), labelled, owned, with its inputs', () => {
  const w = new World(parentSpec(), { labels: { project: 'ml', tier: 'interactive' } });
  const result = w.step();
  assert.deepEqual(types(result), ['CreateChild']);
  const action = w.creates[0]!;
  assert.equal(action.node, 'run');
  assert.equal(action.attempt, 0);
  assert.deepEqual(action.child, {
    apiVersion: 'flyte.propeller.dev/v1alpha1',
    kind: 'FlyteWorkflow',
    metadata: {
      name: 'parent-run-0',
      namespace: 'ns',
      // The launch plan's labels under the parent's: tier is the parent's, team the launch plan's.
      labels: { team: 'analytics', tier: 'interactive', project: 'ml', [PARENT_LABEL]: 'parent' },
      ownerReferences: [{ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', name: 'parent', uid: 'parent-uid', controller: true, blockOwnerDeletion: true }],
    },
    // Unbound Optional inputs (note) are left out, so the launch plan's defaults apply to them.
    spec: { launchPlan: 'scale', inputs: { values: [2, 4, 4, 4, 5, 5, 7, 9], factor: 2 } },
  });
  assert.equal(PARENT_LABEL, 'flyte.propeller.dev/parent');
  assert.deepEqual(w.node('run'), { phase: 'Running', attempts: 1, startedAt: new Date(T0).toISOString(), message: 'running child execution parent-run-0' });
  assert.equal(w.status.phase, 'Running');
  // The next round with the child not yet in the cache changes nothing and creates nothing more.
  assert.deepEqual(types(w.step()), []);
});

test('inputs bound to null, and unbound defaulted inputs, are left out of the child', () => {
  const w = new World(parentSpec({}, { inputs: { factor: { value: 1.5 }, note: { value: null } } }));
  w.step();
  assert.deepEqual(w.creates[0]!.child['spec'], { launchPlan: 'scale', inputs: { factor: 1.5 } });
});

test('launch-plan nodes take no maxParallelism slot: the child runs under its own launch plan', () => {
  const spec = {
    maxParallelism: 1,
    tasks: TASKS,
    nodes: { a: { launchPlan: 'other' }, b: { launchPlan: 'other' }, c: { launchPlan: 'scale', inputs: { factor: { value: 1 } } }, p: { task: 'prep' } },
  };
  const w = new World(spec);
  assert.deepEqual(types(w.step()).sort(), ['CreateChild', 'CreateChild', 'CreateChild', 'CreatePod']);
  assert.deepEqual(w.creates.map((c) => (c.child['metadata'] as { name: string }).name).sort(), ['parent-a-0', 'parent-b-0', 'parent-c-0']);
  // The child spec carries no maxParallelism of the parent's.
  for (const c of w.creates) assert.deepEqual(Object.keys(c.child['spec'] as object).sort(), ['inputs', 'launchPlan']);
});

test('child names are deterministic per (parent, node path, attempt), hashed when not a plain DNS name', () => {
  assert.equal(childName('parent', 'run', 0), 'parent-run-0');
  assert.equal(childName('parent', 'run', 1), 'parent-run-1');
  assert.equal(childName('parent', 'sub/run', 0), podName('parent', 'sub/run', 0));
  assert.match(childName('parent', 'sub/run', 0), /^parent-sub-run-0-[a-z0-9]+$/);
  assert.notEqual(childName('parent', 'sub/run', 0), childName('parent', 'sub-run', 0));
  const long = childName('p'.repeat(60), 'run', 0);
  assert.ok(long.length <= 63, long);
  assert.equal(long, childName('p'.repeat(60), 'run', 0));
  // A node inside a subworkflow gets the path-derived name.
  const spec = {
    subworkflows: { inner: { nodes: { run: { launchPlan: 'other' } }, outputs: {} } },
    tasks: TASKS,
    nodes: { outer: { subworkflow: 'inner' } },
  };
  const w = new World(spec);
  w.step();
  w.step();
  assert.deepEqual(w.creates.map((c) => [c.node, (c.child['metadata'] as { name: string }).name]), [['outer/run', childName('parent', 'outer/run', 0)]]);
});

// ---------------------------------------------------------------------------------------------------------
// The child's outcome

test("a child that succeeds: the node takes its declared outputs, which flow downstream and into the workflow's", () => {
  const w = new World(parentSpec());
  w.step();
  w.child('parent-run-0', { phase: 'Running' });
  assert.deepEqual(types(w.step()), []);
  assert.equal(w.node('run')?.phase, 'Running');
  w.child('parent-run-0', { phase: 'Succeeded', outputs: { mu: 5, scaled: [-1.5, 2], extra: 'not declared' } });
  assert.deepEqual(types(w.step()), ['CreatePod']);
  assert.equal(w.node('run')?.phase, 'Succeeded');
  assert.deepEqual(w.node('run')?.outputs, { mu: 5, scaled: [-1.5, 2] });
  assert.equal(w.node('run')?.message, 'child execution parent-run-0 succeeded');
  assert.deepEqual(w.inputsOf('report'), { mu: 5 });
  w.succeedPod('report', { line: 'mu = 5' });
  w.step();
  assert.equal(w.status.phase, 'Succeeded');
  assert.deepEqual(w.status.outputs, { mu: 5, line: 'mu = 5' });
});

test("a child that fails fails the node with the child's error, and the workflow by its failure policy", () => {
  const w = new World(parentSpec());
  w.step();
  w.child('parent-run-0', { phase: 'Failed', error: { kind: 'User', code: 'NonZeroExit', message: 'node "m" failed: attempt 1 failed: NonZeroExit: exit 1', node: 'm' } });
  w.step();
  assert.equal(w.node('run')?.phase, 'Failed');
  assert.deepEqual(w.node('run')?.error, {
    kind: 'User',
    code: 'NonZeroExit',
    message: 'child execution parent-run-0 failed: node "m" failed: attempt 1 failed: NonZeroExit: exit 1',
    node: 'run',
  });
  assert.equal(w.node('report')?.phase, 'Skipped');
  assert.equal(w.status.phase, 'Failed');
  assert.equal(w.status.error?.code, 'NonZeroExit');
  assert.equal(w.status.message, 'node "run" failed: child execution parent-run-0 failed: node "m" failed: attempt 1 failed: NonZeroExit: exit 1');
  assert.equal(w.creates.length, 1, 'a failed child is not retried');
});

test('a child that fails without an error fails the node as ChildFailed, with what the child says', () => {
  const w = new World(parentSpec());
  w.step();
  w.child('parent-run-0', { phase: 'Failed', message: 'it broke' });
  w.step();
  assert.deepEqual(w.node('run')?.error, { kind: 'User', code: 'ChildFailed', message: 'child execution parent-run-0 failed: it broke', node: 'run' });
  // An invalid child (its launch plan or definition is gone) fails as Permanent, like any invalid workflow.
  const v = new World(parentSpec());
  v.step();
  v.child('parent-run-0', { phase: 'Failed', error: { kind: 'Permanent', code: 'InvalidWorkflow', message: 'workflow: launchPlan: launch plan "scale" not found in this namespace' } });
  v.step();
  assert.equal(v.node('run')?.error?.kind, 'Permanent');
  assert.equal(v.node('run')?.error?.code, 'InvalidWorkflow');
});

test('a child aborted by someone else fails the node (ChildAborted, a user error)', () => {
  const w = new World(parentSpec());
  w.step();
  w.child('parent-run-0', { phase: 'Aborted', message: 'aborted: spec.abort is true' });
  w.step();
  assert.deepEqual(w.node('run')?.error, { kind: 'User', code: 'ChildAborted', message: 'child execution parent-run-0 was aborted: aborted: spec.abort is true', node: 'run' });
  assert.equal(w.status.phase, 'Failed');
});

test('a child that disappears before it finished fails the node (ChildDeleted, a system error)', () => {
  const w = new World(parentSpec());
  w.step();
  w.child('parent-run-0', { phase: 'Running' });
  w.step();
  w.children.delete('parent-run-0');
  w.step();
  assert.deepEqual(w.node('run')?.error, { kind: 'System', code: 'ChildDeleted', message: 'child execution parent-run-0 disappeared before it finished', node: 'run' });
  assert.equal(w.status.phase, 'Failed');
});

// ---------------------------------------------------------------------------------------------------------
// Crashes

test('a child created by a round whose status write was lost is adopted, not created twice', () => {
  // prep runs first, so the stored status has run Pending when the round that starts it is lost.
  const spec = parentSpec({}, { inputs: { values: { from: 'inputs.xs' }, factor: { from: 'prep.f' } } });
  const w = new World(spec);
  w.step();
  w.succeedPod('prep', { f: 3 });
  assert.deepEqual(types(w.step()), ['CreateChild']);
  assert.deepEqual(w.creates[0]!.child['spec'], { launchPlan: 'scale', inputs: { values: [2, 4, 4, 4, 5, 5, 7, 9], factor: 3 } });
  w.loseLastStatusWrite();
  assert.equal(w.node('run')?.phase, 'Pending');
  // The child exists (and even finished meanwhile): the next round adopts it and takes its outputs at once.
  w.child('parent-run-0', { phase: 'Succeeded', outputs: { mu: 5, scaled: [] } });
  assert.deepEqual(types(w.step()), ['CreatePod']);
  assert.equal(w.creates.length, 1, 'no second CreateChild');
  assert.equal(w.node('run')?.phase, 'Succeeded');
  assert.equal(w.node('run')?.attempts, 1);
  assert.deepEqual(w.node('run')?.outputs, { mu: 5, scaled: [] });
});

test('a child still running when adopted: the node is Running on attempt 1 and follows it', () => {
  const spec = parentSpec({}, { inputs: { values: { from: 'inputs.xs' }, factor: { from: 'prep.f' } } });
  const w = new World(spec);
  w.step();
  w.succeedPod('prep', { f: 3 });
  w.step();
  w.loseLastStatusWrite();
  w.child('parent-run-0', { phase: 'Running' });
  assert.deepEqual(types(w.step()), []);
  assert.equal(w.node('run')?.phase, 'Running');
  assert.equal(w.node('run')?.attempts, 1);
  assert.equal(w.node('run')?.message, 'running child execution parent-run-0');
  w.child('parent-run-0', { phase: 'Succeeded', outputs: { mu: 1, scaled: [] } });
  w.step();
  assert.equal(w.node('run')?.phase, 'Succeeded');
  assert.equal(w.creates.length, 1);
});

test('a first round lost entirely: the child, found under its deterministic name, is adopted too', () => {
  const w = new World(parentSpec());
  w.step();
  w.loseLastStatusWrite();
  assert.equal(w.status.nodes, undefined);
  assert.deepEqual(types(w.step()), []);
  assert.equal(w.creates.length, 1);
  assert.deepEqual(w.node('run'), { phase: 'Running', attempts: 1, startedAt: new Date(T0).toISOString(), message: 'running child execution parent-run-0' });
});

test('a child the cache does not show yet is asked for again under the same name (the executor adopts our own)', () => {
  const w = new World(parentSpec());
  w.step();
  w.loseLastStatusWrite();
  w.children.clear();
  w.step();
  assert.deepEqual(w.creates.map((c) => (c.child['metadata'] as { name: string }).name), ['parent-run-0', 'parent-run-0']);
  assert.deepEqual(w.creates[1]!.child, w.creates[0]!.child);
});

// ---------------------------------------------------------------------------------------------------------
// Stopping

test('aborting the workflow sends AbortChild to a running child; the node ends Aborted', () => {
  const w = new World(parentSpec());
  w.step();
  w.child('parent-run-0', { phase: 'Running' });
  w.step();
  (w.workflow.spec as { abort?: boolean }).abort = true;
  const result = w.step();
  assert.deepEqual(result.actions, [{ type: 'AbortChild', node: 'run', name: 'parent-run-0', reason: 'aborted: spec.abort is true' }]);
  assert.equal(w.node('run')?.phase, 'Aborted');
  assert.equal(w.status.phase, 'Aborted');
  assert.equal(w.children.get('parent-run-0')?.aborting, true);
  // Finished: nothing more is sent.
  assert.deepEqual(types(w.step()), []);
});

test('deleting the workflow aborts the child the same way', () => {
  const w = new World(parentSpec());
  w.step();
  w.workflow.deletionTimestamp = new Date(T0 + 1000).toISOString();
  const result = w.step();
  assert.deepEqual(result.actions, [{ type: 'AbortChild', node: 'run', name: 'parent-run-0', reason: 'the FlyteWorkflow is being deleted' }]);
  assert.equal(w.status.phase, 'Aborted');
});

test('a failure elsewhere stops a running child under FailImmediately', () => {
  const spec = { tasks: TASKS, nodes: { run: { launchPlan: 'other' }, p: { task: 'prep' } } };
  const w = new World(spec);
  w.step();
  const pod = [...w.pods.values()][0]!;
  pod.status = { phase: 'Failed', containerStatuses: [{ name: 'task', state: { terminated: { exitCode: 1, reason: 'Error', finishedAt: new Date(T0).toISOString() } } }] };
  w.step();
  assert.deepEqual(w.aborts.map((a) => a.name), ['parent-run-0']);
  assert.equal(w.node('run')?.phase, 'Aborted');
  assert.equal(w.status.phase, 'Failed');
});

test('a child that already finished is not aborted', () => {
  const spec = { tasks: TASKS, nodes: { run: { launchPlan: 'other' }, p: { task: 'prep' } } };
  const w = new World(spec);
  w.step();
  w.child('parent-run-0', { phase: 'Succeeded', outputs: { o: 1 } });
  w.step();
  (w.workflow.spec as { abort?: boolean }).abort = true;
  w.step();
  assert.deepEqual(w.aborts, []);
  assert.equal(w.node('run')?.phase, 'Succeeded');
});

// ---------------------------------------------------------------------------------------------------------
// Compile-time checks

test('compile: a launch-plan node binds the launch plan\'s inputs: unknown, fixed and missing ones are errors', () => {
  const compile = (run: Record<string, unknown>) => compileWorkflow({ tasks: TASKS, nodes: { run } }, { maxNodes: 10, launchPlans: LAUNCH_PLANS });
  assert.deepEqual(compile({ launchPlan: 'scale', inputs: { factor: { value: 1 } } }).ok, true);
  const missing = compile({ launchPlan: 'scale' });
  assert.ok(!missing.ok);
  assert.match(missing.errors.join('\n'), /node "run": input "factor"/);
  const unknown = compile({ launchPlan: 'scale', inputs: { factor: { value: 1 }, k: { value: 2 } } });
  assert.ok(!unknown.ok);
  assert.match(unknown.errors.join('\n'), /node "run": input "k": launch plan "scale" has no input named "k"/);
  const gone = compile({ launchPlan: 'weekly' });
  assert.deepEqual(gone, { ok: false, errors: ['node "run": launchPlan: launch plan "weekly" not found in this namespace'] });
});

test('the Sim world runs a workflow without launch-plan nodes as before (CreateChild is not its business)', () => {
  const sim = new Sim({ tasks: { sum: task({ inputs: { xs: 'list[int]' }, outputs: { o: 'int' } }) }, nodes: { a: { task: 'sum', inputs: { xs: { value: [1] } } } } });
  sim.run();
  assert.equal(sim.phase, 'Succeeded');
});

test('a child that could not be created leaves the node Pending, saying why, and the round is retried', () => {
  const cases = [
    ['Quota', 'waiting for resource quota: exceeded quota: propeller-quota, requested: count/flyteworkflows.flyte.propeller.dev=1'],
    ['NameTaken', 'could not create child execution: FlyteWorkflow parent-run-0 exists but is not a child of this execution'],
    ['Transient', 'could not create child execution: the server is currently unable to handle the request'],
    ['Rejected', 'could not create child execution: denied by policy'],
  ] as const;
  for (const [kind, expected] of cases) {
    const w = new World(parentSpec());
    const first = w.step();
    // The reconciler plans again from the same status with what became of the actions.
    w.workflow.status = w.rounds.at(-1)!.before;
    w.children.clear();
    const failure = { kind, message: expected.slice(expected.indexOf(': ') + 2) };
    const settled = w.step(first.actions.map((action) => ({ action, ok: false as const, failure })));
    assert.deepEqual(settled.actions, [], kind);
    assert.equal(settled.retry, true, kind);
    assert.deepEqual(w.node('run'), { phase: 'Pending', message: expected }, kind);
    // The next round asks again; once the child is created the node runs as usual.
    assert.deepEqual(types(w.step()), ['CreateChild'], kind);
    assert.equal(w.node('run')?.message, 'running child execution parent-run-0', kind);
  }
  // An action that was not run at all (an earlier one failed) leaves no message.
  const w = new World(parentSpec());
  const first = w.step();
  w.workflow.status = w.rounds.at(-1)!.before;
  w.children.clear();
  w.step(first.actions.map((action) => ({ action, ok: false as const, failure: { kind: 'NotRun' as const, message: 'not run' } })));
  assert.deepEqual(w.node('run'), { phase: 'Pending' });
});

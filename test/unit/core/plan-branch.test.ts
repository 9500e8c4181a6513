import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podName } from '../../../src/core/names.ts';
import { actionSummary, Sim, T0, type TaskFn } from './sim.ts';
import { task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();
const AT0 = at(0);

/** neg(x) = -x, dbl(x) = 2x, inc(v) = v + 1: each arm computes something different, so outputs say which ran. */
const FNS: Record<string, TaskFn> = {
  neg: ({ x }) => ({ o: -(x as number) }),
  dbl: ({ x }) => ({ o: 2 * (x as number) }),
  inc: ({ v }) => ({ o: (v as number) + 1 }),
};
const INT_TASKS = {
  neg: task({ inputs: { x: 'int' }, outputs: { o: 'int' } }),
  dbl: task({ inputs: { x: 'int' }, outputs: { o: 'int' } }),
  inc: task({ inputs: { v: 'int' }, outputs: { o: 'int' } }),
};

/** if x < 0: neg(x) elif x < 10: dbl(x) else: inc(100); then d = inc(b.o) is the workflow's output. */
function ifElifElse(x: number): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'int' }, outputs: { r: 'int' } },
    inputs: { x },
    tasks: INT_TASKS,
    nodes: {
      b: {
        inputs: { x: { from: 'inputs.x' } },
        branch: {
          cases: [
            { when: 'x < 0', then: { task: 'neg', inputs: { x: { from: 'inputs.x' } } } },
            { when: 'x < 10', then: { task: 'dbl', inputs: { x: { from: 'inputs.x' } } } },
          ],
          else: { task: 'inc', inputs: { v: { value: 100 } } },
        },
      },
      d: { task: 'inc', inputs: { v: { from: 'b.o' } } },
    },
    outputs: { r: { from: 'd.o' } },
  };
}

const CASES: { x: number; arm: string; skipped: string[]; why: string; armOutput: number }[] = [
  { x: -3, arm: 'case-0', skipped: ['case-1', 'else'], why: 'case 0 holds', armOutput: 3 },
  { x: 5, arm: 'case-1', skipped: ['case-0', 'else'], why: 'case 1 holds', armOutput: 10 },
  { x: 50, arm: 'else', skipped: ['case-0', 'case-1'], why: 'no case holds: running else', armOutput: 101 },
];

for (const { x, arm, skipped, why, armOutput } of CASES) {
  test(`x = ${x}: the branch runs ${arm} only, the other arms end Skipped, and its output flows downstream`, () => {
    const sim = new Sim(ifElifElse(x), { tasks: FNS });
    sim.step();
    const armPath = `b/${arm}`;
    assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', armPath, 0)}`]);
    assert.deepEqual(sim.phases(), { b: 'Running', d: 'Pending', [armPath]: 'Queued', ...Object.fromEntries(skipped.map((s) => [`b/${s}`, 'Skipped'])) });
    assert.deepEqual(sim.status.nodes?.b, { phase: 'Running', startedAt: AT0, message: why });
    for (const s of skipped) assert.deepEqual(sim.status.nodes?.[`b/${s}`], { phase: 'Skipped', finishedAt: AT0, message: `not taken: ${why}` });
    // The branch and its arm count, the arms not taken do not.
    assert.equal(sim.status.progress, '0/3');
    assert.equal(sim.status.message, '0/3 nodes succeeded, 1 running, 1 queued');
    if (arm !== 'else') assert.deepEqual(sim.inputsOf(sim.pod(armPath)), { x });

    sim.advance(1000);
    sim.succeed(armPath);
    sim.step();
    assert.deepEqual(sim.status.nodes?.b, { phase: 'Succeeded', startedAt: AT0, outputs: { o: armOutput }, finishedAt: at(1000) });
    assert.deepEqual(actionSummary(sim.last), ['create wf-d-0']);
    assert.deepEqual(sim.inputsOf(sim.pod('d')), { v: armOutput });
    assert.equal(sim.status.progress, '2/3');

    sim.succeed('d');
    sim.step();
    assert.equal(sim.phase, 'Succeeded');
    assert.deepEqual(sim.status.outputs, { r: armOutput + 1 });
    assert.equal(sim.status.progress, '3/3');
    assert.equal(sim.status.message, 'all 3 nodes succeeded');
  });
}

/** One branch b over an Optional[int] input, then a node after it; `branch` as given. */
function overOptional(branch: unknown, x: number | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'Optional[int]' } },
    ...(x === undefined ? {} : { inputs: { x } }),
    tasks: { t: task({ outputs: { o: 'int' } }) },
    nodes: { b: { inputs: { x: { from: 'inputs.x' } }, branch }, after: { task: 't', after: ['b'] } },
    ...extra,
  };
}

test('no case holds and the branch has fail: it fails with that message (BranchFailed) and starts no arm', () => {
  const sim = new Sim(overOptional({ cases: [{ when: 'x is not null and x > 5', then: { task: 't' } }], fail: 'x must be over 5' }, 1));
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.last.actions, []);
  assert.deepEqual(sim.status.nodes?.b, {
    phase: 'Failed',
    finishedAt: AT0,
    message: 'x must be over 5',
    error: { kind: 'User', code: 'BranchFailed', message: 'x must be over 5', node: 'b' },
  });
  assert.deepEqual(sim.status.nodes?.['b/case-0'], { phase: 'Skipped', finishedAt: AT0, message: 'not taken: no case holds' });
  assert.deepEqual(sim.status.nodes?.after, { phase: 'Skipped', finishedAt: AT0, message: 'not run: node "b" failed: x must be over 5' });
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'BranchFailed', message: 'node "b" failed: x must be over 5', node: 'b' });
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason, e.message, e.node]), [
    ['Normal', 'Started', 'workflow started with 2 nodes', undefined],
    ['Warning', 'NodeFailed', 'x must be over 5', 'b'],
    ['Warning', 'Failed', 'node "b" failed: x must be over 5', undefined],
  ]);
  assert.equal(sim.status.progress, '0/2');
});

test('no case holds, no else and no fail: the branch fails with BranchNoMatch', () => {
  const sim = new Sim(overOptional({ cases: [{ when: 'x is not null and x > 5', then: { task: 't' } }] }, 1));
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.nodes?.b?.error, { kind: 'User', code: 'BranchNoMatch', message: 'no case holds and the branch has no else', node: 'b' });
  assert.equal(sim.status.message, 'node "b" failed: no case holds and the branch has no else');
  assert.deepEqual(sim.status.nodes?.['b/case-0'], { phase: 'Skipped', finishedAt: AT0, message: 'not taken: no case holds' });
});

test('a fail message that starts like the default one is still the user\'s: BranchFailed', () => {
  const sim = new Sim(overOptional({ cases: [{ when: 'x is not null and x > 5', then: { task: 't' } }], fail: 'no case holds for small x' }, 1));
  sim.step();
  assert.deepEqual(sim.status.nodes?.b?.error, { kind: 'User', code: 'BranchFailed', message: 'no case holds for small x', node: 'b' });
});

test('a branch that fails under FailAfterExecutableNodesComplete lets independent nodes finish', () => {
  const spec = overOptional({ cases: [{ when: 'x is not null and x > 5', then: { task: 't' } }] }, 1, { failurePolicy: 'FailAfterExecutableNodesComplete' });
  (spec.nodes as Record<string, unknown>).indep = { task: 't' };
  const sim = new Sim(spec);
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.deepEqual(sim.phases(), { b: 'Failed', after: 'Skipped', indep: 'Queued', 'b/case-0': 'Skipped' });
  assert.equal(sim.status.nodes?.after?.message, 'skipped: upstream node "b" is failed');
  assert.equal(sim.status.message, 'node "b" failed: no case holds and the branch has no else; letting 1 independent node(s) finish');
  assert.deepEqual(actionSummary(sim.last), ['create wf-indep-0']);
  sim.succeed('indep', { o: 1 });
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.status.error?.code, 'BranchNoMatch');
  assert.equal(sim.status.progress, '1/3');
});

test('ordering a null fails the branch with BranchEvaluationFailed; no arm runs', () => {
  const sim = new Sim(overOptional({ cases: [{ when: 'x > 5', then: { task: 't' } }], else: { task: 't' } }, undefined));
  sim.step();
  const message = 'branch.cases[0].when: at 1: "x" is null, and ">" needs a value; test "x is not null and ..." first';
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.last.actions, []);
  assert.deepEqual(sim.status.nodes?.b, { phase: 'Failed', finishedAt: AT0, message, error: { kind: 'User', code: 'BranchEvaluationFailed', message, node: 'b' } });
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'BranchEvaluationFailed', message: `node "b" failed: ${message}`, node: 'b' });
  assert.equal(sim.nodePhase('b/case-0'), undefined);
  assert.equal(sim.nodePhase('b/else'), undefined);
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['Started', 'NodeFailed', 'Failed']);
});

test('testing for null first never orders the null: the else arm runs', () => {
  const sim = new Sim(overOptional({ cases: [{ when: 'x is not null and x > 5', then: { task: 't' } }, { when: 'x is null', then: { task: 't' } }] }, undefined));
  sim.step();
  assert.deepEqual(sim.phases(), { b: 'Running', after: 'Pending', 'b/case-0': 'Skipped', 'b/case-1': 'Queued' });
  assert.equal(sim.status.nodes?.['b/case-0']?.message, 'not taken: case 1 holds');
});

test('an arm that fails is retried on its own budget; when it is spent the branch, then the workflow, fail with the arm\'s error', () => {
  const spec = {
    interface: { inputs: { x: 'int' } },
    inputs: { x: 1 },
    tasks: { t: task({ outputs: { o: 'int' } }) },
    nodes: { b: { inputs: { x: { from: 'inputs.x' } }, branch: { cases: [{ when: 'x == 1', then: { task: 't', retries: 1 } }], else: { task: 't' } } }, c: { task: 't' } },
  };
  const sim = new Sim(spec);
  sim.step();
  const arm = 'b/case-0';
  sim.start('c');
  sim.fail(arm, 3, 'bad');
  sim.step();
  assert.deepEqual(sim.phases(), { b: 'Running', c: 'Running', 'b/else': 'Skipped', [arm]: 'Retrying' });
  assert.equal(sim.status.nodes?.[arm]?.message, 'attempt 1 failed: NonZeroExit: the container exited with code 3: bad; retrying in 1s');
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.node]), [['NodeRetrying', arm]]);
  assert.equal(sim.last.requeueAfterMs, 1000);
  assert.equal(sim.status.message, '0/3 nodes succeeded, 2 running, 1 retrying');

  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', arm, 1)}`]);

  sim.fail(arm, 4);
  sim.step();
  const armMessage = 'attempt 2 failed: NonZeroExit: the container exited with code 4 (1 retry exhausted)';
  const error = { kind: 'User', code: 'NonZeroExit', message: `node "${arm}" failed: ${armMessage}`, node: arm };
  assert.equal(sim.phase, 'Failing');
  assert.deepEqual(sim.phases(), { b: 'Failed', c: 'Aborted', 'b/else': 'Skipped', [arm]: 'Failed' });
  assert.deepEqual(sim.status.nodes?.b, { phase: 'Failed', startedAt: AT0, message: error.message, finishedAt: at(1000), error });
  assert.deepEqual(sim.status.error, error);
  assert.deepEqual(actionSummary(sim.last), ['delete wf-c-0']);
  // The arm's failure is announced once, on the arm.
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.node]), [['NodeFailed', arm]]);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.error, error);
});

test('a branch downstream of a failed node is skipped without evaluating its cases', () => {
  const spec = {
    failurePolicy: 'FailAfterExecutableNodesComplete',
    tasks: { t: task({ outputs: { o: 'int' } }) },
    nodes: {
      p: { task: 't' },
      q: { task: 't' },
      b: { inputs: { v: { from: 'p.o' } }, branch: { cases: [{ when: 'v > 0', then: { task: 't' } }], else: { task: 't' } } },
      after: { task: 't', after: ['b'] },
    },
  };
  const sim = new Sim(spec);
  sim.step();
  sim.fail('p', 1);
  sim.step();
  assert.deepEqual(sim.phases(), { p: 'Failed', q: 'Queued', b: 'Skipped', after: 'Skipped' });
  assert.deepEqual(sim.status.nodes?.b, { phase: 'Skipped', finishedAt: AT0, message: 'skipped: upstream node "p" is failed' });
  assert.equal(sim.status.progress, '0/4');
  sim.succeed('q', { o: 1 });
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.equal(sim.status.progress, '1/4');
  assert.equal(sim.status.error?.node, 'p');
});

test('nested branches and an arm that runs a subworkflow: paths nest, values flow in and out', () => {
  const spec = {
    interface: { inputs: { x: 'int', y: 'str' }, outputs: { r: 'int' } },
    inputs: { x: 3, y: 'sub' },
    tasks: { dbl: INT_TASKS.dbl },
    subworkflows: {
      twice: {
        interface: { inputs: { v: 'int' }, outputs: { o: 'int' } },
        nodes: { one: { task: 'dbl', inputs: { x: { from: 'inputs.v' } } }, two: { task: 'dbl', inputs: { x: { from: 'one.o' } } } },
        outputs: { o: { from: 'two.o' } },
      },
    },
    nodes: {
      outer: {
        inputs: { x: { from: 'inputs.x' } },
        branch: {
          cases: [
            {
              when: 'x > 0',
              then: {
                inputs: { y: { from: 'inputs.y' } },
                branch: {
                  cases: [
                    { when: "y == 'task'", then: { task: 'dbl', inputs: { x: { from: 'inputs.x' } } } },
                    { when: "y == 'sub'", then: { subworkflow: 'twice', inputs: { v: { from: 'inputs.x' } } } },
                  ],
                  fail: 'unknown y',
                },
              },
            },
          ],
          else: { task: 'dbl', inputs: { x: { value: 0 } } },
        },
      },
      last: { task: 'dbl', inputs: { x: { from: 'outer.o' } } },
    },
    outputs: { r: { from: 'last.o' } },
  };
  const sim = new Sim(spec, { tasks: FNS });
  const sub = 'outer/case-0/case-1';
  sim.step();
  assert.deepEqual(sim.phases(), {
    outer: 'Running',
    last: 'Pending',
    'outer/else': 'Skipped',
    'outer/case-0': 'Running',
    'outer/case-0/case-0': 'Skipped',
    [sub]: 'Running',
    [`${sub}/one`]: 'Queued',
    [`${sub}/two`]: 'Pending',
  });
  assert.equal(sim.status.nodes?.['outer/case-0']?.message, 'case 1 holds');
  assert.equal(sim.status.nodes?.['outer/case-0/case-0']?.message, 'not taken: case 1 holds');
  assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', `${sub}/one`, 0)}`]);
  assert.deepEqual(sim.inputsOf(sim.pod(`${sub}/one`)), { x: 3 });
  // outer, its arm (a branch), that branch's arm (the subworkflow) and the subworkflow's two nodes, plus last.
  assert.equal(sim.status.progress, '0/6');

  sim.succeed(`${sub}/one`);
  sim.step();
  assert.deepEqual(sim.inputsOf(sim.pod(`${sub}/two`)), { x: 6 });
  sim.succeed(`${sub}/two`);
  sim.step();
  for (const path of ['outer', 'outer/case-0', sub]) assert.deepEqual(sim.status.nodes?.[path]?.outputs, { o: 12 }, path);
  assert.deepEqual(actionSummary(sim.last), ['create wf-last-0']);
  assert.equal(sim.status.progress, '5/6');
  sim.succeed('last');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.outputs, { r: 24 });
  assert.equal(sim.status.message, 'all 6 nodes succeeded');
});

test('an arm reads the enclosing scope\'s nodes; they become the branch\'s dependencies', () => {
  const spec = {
    tasks: { p: task({ outputs: { o: 'int' } }), inc: INT_TASKS.inc },
    nodes: {
      p: { task: 'p' },
      b: { inputs: { v: { from: 'p.o' } }, branch: { cases: [{ when: 'v > 0', then: { task: 'inc', inputs: { v: { from: 'p.o' } } } }], else: { task: 'inc', inputs: { v: { value: 0 } } } } },
    },
  };
  const sim = new Sim(spec, { tasks: FNS });
  sim.step();
  assert.deepEqual(sim.phases(), { p: 'Queued', b: 'Pending' });
  sim.succeed('p', { o: 41 });
  sim.step();
  assert.deepEqual(sim.inputsOf(sim.pod('b/case-0')), { v: 41 });
  sim.succeed('b/case-0');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.nodes?.b?.outputs, { o: 42 });
});

test('an arm task waits for a maxParallelism slot like any task', () => {
  const spec = {
    maxParallelism: 1,
    interface: { inputs: { x: 'int' } },
    inputs: { x: 1 },
    tasks: { t: task() },
    nodes: { busy: { task: 't' }, b: { inputs: { x: { from: 'inputs.x' } }, branch: { cases: [{ when: 'x == 1', then: { task: 't' } }], fail: 'no' } } },
  };
  const sim = new Sim(spec);
  sim.step();
  assert.deepEqual(sim.phases(), { busy: 'Queued', b: 'Running', 'b/case-0': 'Pending' });
  assert.equal(sim.status.nodes?.['b/case-0']?.message, 'waiting: at most 1 task pods run at once (maxParallelism)');
  sim.succeed('busy', {});
  sim.step();
  assert.deepEqual(actionSummary(sim.last), [`create ${podName('wf', 'b/case-0', 0)}`]);
});

test('abort stops the arm a branch runs: its pod is deleted, branch and arm end Aborted', () => {
  const sim = new Sim(ifElifElse(5), { tasks: FNS });
  sim.step();
  sim.start('b/case-1');
  (sim.workflow.spec as Record<string, unknown>).abort = true;
  sim.step();
  assert.equal(sim.phase, 'Aborting');
  assert.deepEqual(sim.phases(), { b: 'Aborted', d: 'Aborted', 'b/case-0': 'Skipped', 'b/case-1': 'Aborted', 'b/else': 'Skipped' });
  assert.deepEqual(actionSummary(sim.last), [`delete ${podName('wf', 'b/case-1', 0)}`]);
  assert.equal(sim.status.nodes?.['b/case-1']?.message, 'stopped: aborted: spec.abort is true');
  sim.reap();
  sim.step();
  assert.equal(sim.phase, 'Aborted');
});

// Branch nodes end to end: conditions evaluated on values computed by real upstream tasks, the taken
// arm's outputs flowing on, untaken arms Skipped without a pod, no-match failures and nested branches.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertOnePodEach, ms, waitForEvent, workflowPods } from './helpers/control-flow.ts';
import { expectPhase, explain, nodeStatus, pyTask, submit, usePropellerEnv } from './helpers/e2e.ts';

/** v = x*x - 3 and whether it is odd, computed by a real task. */
const compute = pyTask('v = inp["x"] * inp["x"] - 3\nout["v"] = v\nout["kind"] = "odd" if v % 2 else "even"', {
  inputs: { x: 'int' },
  outputs: { v: 'int', kind: 'str' },
});
/** An arm's work: a label and 3v, computed from the upstream value (not the branch's operand). */
const label = pyTask('out["o"] = "%s:%d" % (inp["tag"], inp["v"] * 3)', { inputs: { tag: 'str', v: 'int' }, outputs: { o: 'str' } });
const finish = pyTask('out["r"] = inp["s"].upper() + "!"', { inputs: { s: 'str' }, outputs: { r: 'str' } });

const arm = (tag: string) => ({ task: 'label', inputs: { tag: { value: tag }, v: { from: 'compute.v' } } });

function ifElifElse(x: number): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'int' }, outputs: { r: 'str', picked: 'str' } },
    inputs: { x },
    tasks: { compute, label, finish },
    nodes: {
      compute: { task: 'compute', inputs: { x: { from: 'inputs.x' } } },
      pick: {
        inputs: { v: { from: 'compute.v' }, kind: { from: 'compute.kind' } },
        branch: {
          cases: [
            { when: "v < 10 and kind == 'odd'", then: arm('small') },
            { when: "v < 100 or kind == 'never'", then: arm('medium') },
          ],
          else: arm('large'),
        },
      },
      finish: { task: 'finish', inputs: { s: { from: 'pick.o' } } },
    },
    outputs: { r: { from: 'finish.r' }, picked: { from: 'pick.o' } },
  };
}

describe('propeller branch nodes', { concurrency: true }, () => {
  const env = usePropellerEnv('branch');

  // x → v = x²-3: 2 → 1 (case 0), 5 → 22 (case 1), 11 → 118 (else).
  const outcomes = [
    { x: 2, arm: 'case-0', tag: 'small', why: 'case 0 holds' },
    { x: 5, arm: 'case-1', tag: 'medium', why: 'case 1 holds' },
    { x: 11, arm: 'else', tag: 'large', why: 'no case holds: running else' },
  ];
  for (const o of outcomes) {
    test(`${o.arm === 'else' ? 'else' : o.arm === 'case-0' ? 'if' : 'elif'} taken on a computed value: its output flows downstream and out; the other arms are Skipped with no pod`, { timeout: 60_000 }, async () => {
      const name = `pick-${o.arm}`;
      const pods = await workflowPods(env(), name);
      try {
        await submit(env(), name, ifElifElse(o.x));
        const wf = await expectPhase(env(), name, 'Succeeded', 45_000);
        const v = o.x * o.x - 3;
        const picked = `${o.tag}:${v * 3}`;
        await explain(env(), name, async () => {
          assert.deepEqual(wf.status?.outputs, { r: `${picked.toUpperCase()}!`, picked });
          const st = (p: string) => nodeStatus(wf.status, p);
          assert.deepEqual(st('compute').outputs, { v, kind: v % 2 ? 'odd' : 'even' });
          assert.equal(st('pick').phase, 'Succeeded');
          assert.deepEqual(st('pick').outputs, { o: picked });
          assert.equal(st(`pick/${o.arm}`).phase, 'Succeeded');
          assert.deepEqual(st(`pick/${o.arm}`).outputs, { o: picked });
          for (const other of ['case-0', 'case-1', 'else'].filter((a) => a !== o.arm)) {
            const s = st(`pick/${other}`);
            assert.equal(s.phase, 'Skipped', `pick/${other} was not taken`);
            assert.equal(s.message, `not taken: ${o.why}`);
            assert.equal(s.podName, undefined, `pick/${other} has no pod`);
            assert.equal(s.attempts, undefined, `pick/${other} made no attempt`);
          }
          // The downstream task started only once the branch (its arm's pod) was done.
          assert.ok(ms(st('finish').startedAt) >= ms(st(`pick/${o.arm}`).finishedAt), 'finish started after the arm finished');
          assert.deepEqual(Object.keys(wf.status?.nodes ?? {}).sort(), ['compute', 'finish', 'pick', 'pick/case-0', 'pick/case-1', 'pick/else']);
          assert.equal(wf.status?.progress, '4/4', 'untaken arms are left out of the progress');
          await assertOnePodEach(env(), name, pods, ['compute', `pick/${o.arm}`, 'finish']);
        });
      } finally {
        await pods.stop();
      }
    });
  }

  for (const withFail of [true, false]) {
    test(`no case holds ${withFail ? 'with fail: BranchFailed with its message' : 'and no else: BranchNoMatch'}; downstream Skipped, no arm pod`, { timeout: 60_000 }, async () => {
      const name = withFail ? 'nomatch-fail' : 'nomatch-plain';
      const pods = await workflowPods(env(), name);
      try {
        await submit(env(), name, {
          interface: { inputs: { x: 'int' }, outputs: { r: 'str' } },
          inputs: { x: 4 },
          tasks: { compute, label, finish },
          nodes: {
            compute: { task: 'compute', inputs: { x: { from: 'inputs.x' } } },
            pick: {
              inputs: { v: { from: 'compute.v' } },
              branch: {
                cases: [
                  { when: 'v > 1000', then: arm('huge') },
                  { when: 'v < 0', then: arm('negative') },
                ],
                ...(withFail ? { fail: 'v is in no range we handle' } : {}),
              },
            },
            finish: { task: 'finish', inputs: { s: { from: 'pick.o' } } },
          },
          outputs: { r: { from: 'finish.r' } },
        });
        const wf = await expectPhase(env(), name, 'Failed', 45_000);
        const why = withFail ? 'v is in no range we handle' : 'no case holds and the branch has no else';
        await explain(env(), name, async () => {
          assert.deepEqual(nodeStatus(wf.status, 'compute').outputs, { v: 13, kind: 'odd' }, 'the condition saw a computed 13');
          assert.deepEqual(wf.status?.error, { kind: 'User', code: withFail ? 'BranchFailed' : 'BranchNoMatch', node: 'pick', message: `node "pick" failed: ${why}` });
          assert.equal(wf.status?.message, `node "pick" failed: ${why}`);
          const pick = nodeStatus(wf.status, 'pick');
          assert.equal(pick.phase, 'Failed');
          assert.equal(pick.error?.code, withFail ? 'BranchFailed' : 'BranchNoMatch');
          for (const a of ['case-0', 'case-1']) {
            const s = nodeStatus(wf.status, `pick/${a}`);
            assert.equal(s.phase, 'Skipped');
            assert.equal(s.message, 'not taken: no case holds');
          }
          assert.equal(wf.status?.nodes?.['pick/else'], undefined, 'there is no else arm');
          assert.equal(nodeStatus(wf.status, 'finish').phase, 'Skipped');
          assert.equal(wf.status?.outputs, undefined);
          assert.equal(wf.status?.progress, '1/3');
          await assertOnePodEach(env(), name, pods, ['compute']);
        });
        await waitForEvent(env(), name, 'NodeFailed', new RegExp(`^node pick: ${why}$`));
      } finally {
        await pods.stop();
      }
    });
  }

  // outer on a: case 0 (a < 0) is a branch that is never taken, case 1 (a < 100) a branch on b; else a task.
  for (const b of [3, 9]) {
    test(`nested branches: the inner ${b > 5 ? 'if' : 'else'} of the outer elif runs; an untaken nested branch leaves no status and no pod`, { timeout: 60_000 }, async () => {
      const name = `nested-b${b}`;
      const pods = await workflowPods(env(), name);
      try {
        const innerOn = (tag: string) => ({
          inputs: { b: { from: 'two.v' } },
          branch: { cases: [{ when: 'b > 5', then: { task: 'label', inputs: { tag: { value: `${tag}-big` }, v: { from: 'two.v' } } } }], else: { task: 'label', inputs: { tag: { value: `${tag}-small` }, v: { from: 'two.v' } } } },
        });
        await submit(env(), name, {
          interface: { outputs: { r: 'str' } },
          tasks: {
            compute: pyTask('out["v"] = inp["x"] + 0', { inputs: { x: 'int' }, outputs: { v: 'int' } }),
            label,
            finish,
          },
          nodes: {
            one: { task: 'compute', inputs: { x: { value: 42 } } },
            two: { task: 'compute', inputs: { x: { value: b } } },
            outer: {
              inputs: { a: { from: 'one.v' } },
              branch: {
                cases: [
                  { when: 'a < 0', then: innerOn('neg') },
                  { when: 'a < 100', then: innerOn('mid') },
                ],
                else: { task: 'label', inputs: { tag: { value: 'high' }, v: { from: 'one.v' } } },
              },
            },
            finish: { task: 'finish', inputs: { s: { from: 'outer.o' } } },
          },
          outputs: { r: { from: 'finish.r' } },
        });
        const wf = await expectPhase(env(), name, 'Succeeded', 45_000);
        const innerArm = b > 5 ? 'case-0' : 'else';
        const innerOther = b > 5 ? 'else' : 'case-0';
        const o = `mid-${b > 5 ? 'big' : 'small'}:${b * 3}`;
        await explain(env(), name, async () => {
          assert.deepEqual(wf.status?.outputs, { r: `${o.toUpperCase()}!` });
          const st = (p: string) => nodeStatus(wf.status, p);
          assert.deepEqual(st('outer').outputs, { o });
          assert.equal(st('outer/case-1').phase, 'Succeeded');
          assert.deepEqual(st('outer/case-1').outputs, { o });
          assert.equal(st(`outer/case-1/${innerArm}`).phase, 'Succeeded');
          assert.equal(st(`outer/case-1/${innerOther}`).phase, 'Skipped');
          assert.equal(st(`outer/case-1/${innerOther}`).message, `not taken: ${b > 5 ? 'case 0 holds' : 'no case holds: running else'}`);
          for (const p of ['outer/case-0', 'outer/else']) {
            assert.equal(st(p).phase, 'Skipped');
            assert.equal(st(p).message, 'not taken: case 1 holds');
          }
          const nested = Object.keys(wf.status?.nodes ?? {}).filter((p) => p.startsWith('outer/case-0/'));
          assert.deepEqual(nested, [], 'the arms of the untaken nested branch never got a status');
          assert.equal(wf.status?.progress, '6/6');
          await assertOnePodEach(env(), name, pods, ['one', 'two', `outer/case-1/${innerArm}`, 'finish']);
        });
      } finally {
        await pods.stop();
      }
    });
  }
});

// Subworkflows end to end: one subworkflow run by two nodes with different inputs, nesting, and
// failure handlers (a subworkflow's and the workflow's) that really run and see the error.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { assertOnePodEach, ms, nodePathOf, recorderSaw, waitForEvent, workflowPods } from './helpers/control-flow.ts';
import { expectPhase, explain, nodeStatus, podsOf, pyTask, startEnv, submit, usePropellerEnv, waitForReady, workflowRecorder, type Recorder } from './helpers/e2e.ts';

/** Which node path and pod a task ran as, from the environment the propeller gave its pod. */
const WHO = 'out["who"] = os.environ["FLYTE_INTERNAL_NODE_ID"]\nout["pod"] = os.environ.get("HOSTNAME", "")\n';

/** Every phase a node went through, as the recorder saw the workflow's status. */
function phasesOf(recorder: Recorder<FlyteWorkflow>, name: string, path: string): string[] {
  const seen: string[] = [];
  for (const e of recorder.events) {
    if (e.object.metadata.name !== name) continue;
    const phase = e.object.status?.nodes?.[path]?.phase;
    if (phase && seen.at(-1) !== phase) seen.push(phase);
  }
  return seen;
}

function workflowPhases(recorder: Recorder<FlyteWorkflow>, name: string): string[] {
  const seen: string[] = [];
  for (const e of recorder.events) {
    const phase = e.object.metadata.name === name ? e.object.status?.phase : undefined;
    if (phase && seen.at(-1) !== phase) seen.push(phase);
  }
  return seen;
}

describe('propeller subworkflows', { concurrency: true }, () => {
  const env = usePropellerEnv('subwf');

  test('one subworkflow run by two nodes with different inputs: own paths, own pods, own outputs', { timeout: 60_000 }, async () => {
    const name = 'twice';
    const pods = await workflowPods(env(), name);
    try {
      await submit(env(), name, {
        interface: { inputs: { a: 'list[int]' }, outputs: { left: 'str', right: 'str', diff: 'int' } },
        inputs: { a: [1, 2, 3, 4] },
        subworkflows: {
          stats: {
            interface: { inputs: { xs: 'list[int]', tag: 'str' }, outputs: { total: 'int', text: 'str', who: 'str' } },
            nodes: {
              sum: { task: 'sum', inputs: { xs: { from: 'inputs.xs' } } },
              describe: { task: 'describe', inputs: { n: { from: 'sum.n' }, total: { from: 'sum.total' }, tag: { from: 'inputs.tag' } } },
            },
            outputs: { total: { from: 'sum.total' }, text: { from: 'describe.text' }, who: { from: 'describe.who' } },
          },
        },
        tasks: {
          sum: pyTask(`out["n"] = len(inp["xs"])\nout["total"] = sum(inp["xs"])\n${WHO}`, { inputs: { xs: 'list[int]' }, outputs: { n: 'int', total: 'int', who: 'str', pod: 'str' } }),
          describe: pyTask(`out["text"] = "%s: n=%d total=%d" % (inp["tag"], inp["n"], inp["total"])\n${WHO}`, {
            inputs: { n: 'int', total: 'int', tag: 'str' },
            outputs: { text: 'str', who: 'str', pod: 'str' },
          }),
          minus: pyTask('out["d"] = inp["l"] - inp["r"]', { inputs: { l: 'int', r: 'int' }, outputs: { d: 'int' } }),
        },
        nodes: {
          left: { subworkflow: 'stats', inputs: { xs: { from: 'inputs.a' }, tag: { value: 'L' } } },
          right: { subworkflow: 'stats', inputs: { xs: { value: [10, 20, 30] }, tag: { value: 'R' } } },
          diff: { task: 'minus', inputs: { l: { from: 'left.total' }, r: { from: 'right.total' } } },
        },
        outputs: { left: { from: 'left.text' }, right: { from: 'right.text' }, diff: { from: 'diff.d' } },
      });
      const wf = await expectPhase(env(), name, 'Succeeded', 45_000);
      const live = await podsOf(env(), name);
      await explain(env(), name, async () => {
        assert.deepEqual(wf.status?.outputs, { left: 'L: n=4 total=10', right: 'R: n=3 total=60', diff: -50 });
        const st = (p: string) => nodeStatus(wf.status, p);
        assert.deepEqual(st('left').outputs, { total: 10, text: 'L: n=4 total=10', who: 'left/describe' });
        assert.deepEqual(st('right').outputs, { total: 60, text: 'R: n=3 total=60', who: 'right/describe' });
        const paths = ['left/sum', 'left/describe', 'right/sum', 'right/describe'];
        for (const p of paths) {
          assert.equal(st(p).phase, 'Succeeded', p);
          assert.equal(st(p).outputs?.['who'], p, `${p}'s pod was told its node path`);
          // The process node runs pods on the host, so HOSTNAME is the host's: the pod name comes from the status.
          const pod = live.find((x) => x.metadata.name === st(p).podName);
          assert.ok(pod, `${p}'s pod ${st(p).podName} exists`);
          assert.equal(nodePathOf(pod), p, `${p}'s pod carries its path`);
        }
        assert.equal(new Set(paths.map((p) => st(p).podName)).size, 4, 'four distinct pod names');
        // Inside each subworkflow, describe waited for its own sum only.
        for (const side of ['left', 'right']) assert.ok(ms(st(`${side}/describe`).startedAt) >= ms(st(`${side}/sum`).finishedAt));
        assert.ok(ms(st('diff').startedAt) >= Math.max(ms(st('left').finishedAt), ms(st('right').finishedAt)), 'diff waited for both subworkflows');
        assert.equal(wf.status?.progress, '7/7', 'the 3 top-level nodes and the 4 nested ones');
        await assertOnePodEach(env(), name, pods, [...paths, 'diff']);
      });
    } finally {
      await pods.stop();
    }
  });

  test('a subworkflow nested in a subworkflow: three-level paths, values passed down and back up', { timeout: 60_000 }, async () => {
    const name = 'nested';
    const pods = await workflowPods(env(), name);
    try {
      await submit(env(), name, {
        interface: { inputs: { n: 'int' }, outputs: { r: 'int', who: 'str' } },
        inputs: { n: 6 },
        subworkflows: {
          outer: {
            interface: { inputs: { n: 'int' }, outputs: { r: 'int', who: 'str' } },
            nodes: {
              double: { task: 'mul', inputs: { v: { from: 'inputs.n' }, k: { value: 2 } } },
              mid: { subworkflow: 'inner', inputs: { n: { from: 'double.o' } } },
            },
            outputs: { r: { from: 'mid.r' }, who: { from: 'mid.who' } },
          },
          inner: {
            interface: { inputs: { n: 'int' }, outputs: { r: 'int', who: 'str' } },
            nodes: { leaf: { task: 'mul', inputs: { v: { from: 'inputs.n' }, k: { value: 7 } } } },
            outputs: { r: { from: 'leaf.o' }, who: { from: 'leaf.who' } },
          },
        },
        tasks: { mul: pyTask(`out["o"] = inp["v"] * inp["k"]\n${WHO}`, { inputs: { v: 'int', k: 'int' }, outputs: { o: 'int', who: 'str', pod: 'str' } }) },
        nodes: { top: { subworkflow: 'outer', inputs: { n: { from: 'inputs.n' } } } },
        outputs: { r: { from: 'top.r' }, who: { from: 'top.who' } },
      });
      const wf = await expectPhase(env(), name, 'Succeeded', 45_000);
      await explain(env(), name, async () => {
        assert.deepEqual(wf.status?.outputs, { r: 6 * 2 * 7, who: 'top/mid/leaf' });
        const st = (p: string) => nodeStatus(wf.status, p);
        assert.deepEqual(st('top/double').outputs, { o: 12, who: 'top/double', pod: st('top/double').outputs?.['pod'] });
        assert.equal(st('top/mid').phase, 'Succeeded');
        assert.equal(st('top/mid/leaf').outputs?.['o'], 84);
        assert.deepEqual(Object.keys(wf.status?.nodes ?? {}).sort(), ['top', 'top/double', 'top/mid', 'top/mid/leaf']);
        assert.ok(ms(st('top/mid/leaf').startedAt) >= ms(st('top/double').finishedAt));
        assert.equal(wf.status?.progress, '4/4');
        await assertOnePodEach(env(), name, pods, ['top/double', 'top/mid/leaf']);
      });
    } finally {
      await pods.stop();
    }
  });

  test("a subworkflow's failure handler runs with the error; the workflow fails with the original error", { timeout: 60_000 }, async () => {
    const name = 'sub-handler';
    const pods = await workflowPods(env(), name);
    const wfs = await workflowRecorder(env());
    try {
      await submit(env(), name, {
        interface: { inputs: { n: 'int' }, outputs: { r: 'int' } },
        inputs: { n: 5 },
        subworkflows: {
          risky: {
            interface: { inputs: { n: 'int' }, outputs: { r: 'int' } },
            nodes: {
              prep: { task: 'inc', inputs: { v: { from: 'inputs.n' } } },
              boom: { task: 'boom', inputs: { v: { from: 'prep.o' } } },
            },
            outputs: { r: { from: 'boom.o' } },
            onFailure: {
              task: 'handler',
              inputs: { n: { from: 'inputs.n' }, message: { from: 'error.message' }, code: { from: 'error.code' }, kind: { from: 'error.kind' }, node: { from: 'error.node' } },
            },
          },
        },
        tasks: {
          inc: pyTask('out["o"] = inp["v"] + 1', { inputs: { v: 'int' }, outputs: { o: 'int' } }),
          boom: pyTask('print("cannot handle %d" % inp["v"], file=sys.stderr)\nsys.exit(3)', { inputs: { v: 'int' }, outputs: { o: 'int' } }),
          // Takes a moment, so the subworkflow node is seen Failing while it runs.
          handler: pyTask('time.sleep(1.5)\nout["seen"] = inp', {
            inputs: { n: 'int', message: 'str', code: 'str', kind: 'str', node: 'Optional[str]' },
            outputs: { seen: 'dict' },
          }),
        },
        nodes: {
          first: { task: 'inc', inputs: { v: { value: 1 } } },
          sub: { subworkflow: 'risky', inputs: { n: { from: 'inputs.n' } }, after: ['first'] },
          later: { task: 'inc', inputs: { v: { from: 'sub.r' } } },
        },
        outputs: { r: { from: 'later.o' } },
      });
      const wf = await expectPhase(env(), name, 'Failed', 45_000);
      await recorderSaw(env(), wfs, name, 'Failed');
      await explain(env(), name, async () => {
        const st = (p: string) => nodeStatus(wf.status, p);
        const error = wf.status?.error;
        assert.equal(error?.node, 'sub/boom', 'the deepest failing node');
        assert.equal(error?.code, 'NonZeroExit');
        assert.equal(error?.kind, 'User');
        assert.match(error?.message ?? '', /^node "sub\/boom" failed: .*exited with code 3/);
        assert.equal(wf.status?.message, error?.message, 'the workflow fails with the original error');
        // The handler ran as a real pod and saw the error and the subworkflow's inputs.
        const handler = st('sub/onFailure');
        assert.equal(handler.phase, 'Succeeded');
        assert.deepEqual(handler.outputs, { seen: { n: 5, message: error?.message, code: 'NonZeroExit', kind: 'User', node: 'sub/boom' } });
        assert.equal(st('sub/prep').phase, 'Succeeded');
        assert.deepEqual(st('sub/prep').outputs, { o: 6 });
        assert.equal(st('sub/boom').phase, 'Failed');
        assert.equal(st('sub').phase, 'Failed');
        assert.equal(st('sub').error?.message, error?.message);
        assert.equal(st('later').phase, 'Skipped');
        assert.ok(ms(handler.startedAt) >= ms(st('sub/boom').finishedAt), 'the handler started after the failure');
        // first, sub, later; sub/prep, sub/boom, sub/onFailure: first, prep and the handler succeeded.
        assert.equal(wf.status?.progress, '3/6');
        const subPhases = phasesOf(wfs, name, 'sub');
        assert.deepEqual(subPhases.slice(-2), ['Failing', 'Failed'], `the subworkflow node was Failing while its handler ran: ${subPhases.join(' → ')}`);
        assert.ok(workflowPhases(wfs, name).every((p) => p !== 'Failing'), 'the workflow itself has no handler: it was never Failing');
        await assertOnePodEach(env(), name, pods, ['first', 'sub/prep', 'sub/boom', 'sub/onFailure']);
      });
      await waitForEvent(env(), name, 'NodeFailed', /^node sub\/boom: .*exited with code 3/);
      await waitForEvent(env(), name, 'Failed', /node "sub\/boom" failed/);
    } finally {
      await wfs.stop();
      await pods.stop();
    }
  });

  test('a workflow-level onFailure runs once the workflow fails (a file proves it ran); the workflow still ends Failed', { timeout: 60_000 }, async () => {
    const name = 'wf-handler';
    const dir = await mkdtemp(join(tmpdir(), 'propeller-onfailure-'));
    const pods = await workflowPods(env(), name);
    const wfs = await workflowRecorder(env());
    try {
      await submit(env(), name, {
        interface: { inputs: { run: 'str', report: 'str' } },
        inputs: { run: 'run-17', report: join(dir, 'report.json') },
        tasks: {
          bad: pyTask('time.sleep(0.5)\nprint("bad input", file=sys.stderr)\nsys.exit(4)'),
          sleeper: pyTask('time.sleep(60)'),
          notify: pyTask('time.sleep(1)\nwith open(inp["report"], "w") as f:\n    json.dump(dict(inp, pid=os.getpid()), f)\nout["seen"] = inp', {
            inputs: { run: 'str', report: 'str', message: 'str', code: 'str', kind: 'str', node: 'Optional[str]' },
            outputs: { seen: 'dict' },
          }),
        },
        nodes: { bad: { task: 'bad' }, sleeper: { task: 'sleeper' } },
        onFailure: {
          task: 'notify',
          inputs: {
            run: { from: 'inputs.run' },
            report: { from: 'inputs.report' },
            message: { from: 'error.message' },
            code: { from: 'error.code' },
            kind: { from: 'error.kind' },
            node: { from: 'error.node' },
          },
        },
      });
      const wf = await expectPhase(env(), name, 'Failed', 45_000);
      await recorderSaw(env(), wfs, name, 'Failed');
      const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8').catch(() => '{}')) as Record<string, unknown>;
      await explain(env(), name, async () => {
        const error = wf.status?.error;
        assert.equal(error?.node, 'bad');
        assert.equal(error?.code, 'NonZeroExit');
        assert.match(error?.message ?? '', /^node "bad" failed: .*exited with code 4/);
        assert.equal(wf.status?.message, error?.message);
        const expected = { run: 'run-17', report: join(dir, 'report.json'), message: error?.message, code: 'NonZeroExit', kind: 'User', node: 'bad' };
        assert.deepEqual(nodeStatus(wf.status, 'onFailure').outputs, { seen: expected });
        const { pid, ...written } = report;
        assert.deepEqual(written, expected, 'the handler wrote the error it received to the file');
        assert.equal(typeof pid, 'number');
        assert.equal(nodeStatus(wf.status, 'onFailure').phase, 'Succeeded');
        assert.equal(nodeStatus(wf.status, 'sleeper').phase, 'Aborted', 'the running sleeper was stopped before the handler ran');
        assert.ok(ms(nodeStatus(wf.status, 'onFailure').startedAt) >= ms(nodeStatus(wf.status, 'bad').finishedAt));
        assert.equal(wf.status?.progress, '1/3');
        const phases = workflowPhases(wfs, name);
        assert.ok(phases.includes('Failing'), `the workflow was Failing while its handler ran: ${phases.join(' → ')}`);
        assert.equal(phases.at(-1), 'Failed');
        await assertOnePodEach(env(), name, pods, ['bad', 'sleeper', 'onFailure']);
      });
    } finally {
      await wfs.stop();
      await pods.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the propeller's workflow.maxDepth bounds nesting: one level deeper is an invalid workflow, and no pod runs", { timeout: 60_000 }, async () => {
    // Its own propeller, started with a limit of 1.
    const own = await startEnv({ kubeconfigPath: env().kubeconfig, client: env().client, kubectl: undefined }, 'subwf-depth', ['--workflow-max-depth', '1']);
    try {
      await waitForReady(own.propeller);
      const spec = (deep: boolean) => ({
        tasks: { t: pyTask('out["o"] = 1', { outputs: { o: 'int' } }) },
        subworkflows: {
          outer: { interface: { outputs: { o: 'int' } }, nodes: { mid: deep ? { subworkflow: 'inner' } : { task: 't' } }, outputs: { o: { from: 'mid.o' } } },
          inner: { interface: { outputs: { o: 'int' } }, nodes: { leaf: { task: 't' } }, outputs: { o: { from: 'leaf.o' } } },
        },
        nodes: { top: { subworkflow: 'outer' } },
      });
      await submit(own, 'one-deep', spec(false));
      await submit(own, 'two-deep', spec(true));
      const ok = await expectPhase(own, 'one-deep', 'Succeeded', 30_000);
      const bad = await expectPhase(own, 'two-deep', 'Failed', 30_000);
      await explain(own, 'two-deep', async () => {
        assert.equal(ok.status?.progress, '2/2');
        assert.equal(bad.status?.error?.code, 'InvalidWorkflow');
        assert.match(bad.status?.message ?? '', /^invalid workflow: node "top": subworkflow: .*over the limit of 1 \(workflow\.maxDepth\)/);
        assert.deepEqual(await podsOf(own, 'two-deep'), []);
      });
    } finally {
      await own.cleanup();
    }
  });
});

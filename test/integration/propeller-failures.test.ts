// Failure handling end to end: retries, per-attempt and workflow timeouts, failure policies, lost pods.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { podPath } from '../../src/k8s/paths.ts';
import {
  eventually,
  expectPhase,
  explain,
  FAST_RETRIES,
  L,
  nodeStatus,
  podRecorder,
  podsOf,
  pyTask,
  submit,
  usePropellerEnv,
  waitForWorkflow,
  workflowRecorder,
} from './helpers/e2e.ts';
import { assertOnePodEach, eventsOf, recorderSaw } from './helpers/control-flow.ts';

const ms = (t: string | undefined) => Date.parse(t ?? '');

describe('propeller failure handling', { concurrency: true }, () => {
  const env = usePropellerEnv('failures', FAST_RETRIES);

  test('a node that fails its first attempt succeeds on the retry', { timeout: 120_000 }, async () => {
    const name = 'retry-ok';
    await submit(env(), name, {
      interface: { outputs: { r: 'int' } },
      tasks: { flaky: pyTask('if attempt == 0:\n    sys.exit(3)\nout["o0"] = 40 + attempt', { outputs: { o0: 'int' }, retries: 1 }) },
      nodes: { flaky: { task: 'flaky' } },
      outputs: { r: { from: 'flaky.o0' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    const pods = await podsOf(env(), name);
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { r: 41 });
      const n = nodeStatus(wf.status, 'flaky');
      assert.equal(n.attempts, 2);
      const byAttempt = new Map(pods.map((p) => [p.metadata.labels?.[L.attempt], p]));
      assert.equal(pods.length, 2, 'one pod per attempt');
      assert.equal(byAttempt.get('0')?.status?.phase, 'Failed');
      assert.equal(byAttempt.get('0')?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
      assert.equal(byAttempt.get('1')?.status?.phase, 'Succeeded');
      assert.equal(n.podName, byAttempt.get('1')?.metadata.name);
    });
  });

  test('exhausted retries fail the workflow with a message naming the node and exit code', { timeout: 120_000 }, async () => {
    const name = 'retry-exhausted';
    await submit(env(), name, {
      tasks: { boom: pyTask('print("about to fail", file=sys.stderr)\nsys.exit(7)', { retries: 1 }) },
      nodes: { boom: { task: 'boom' } },
    });
    const wf = await expectPhase(env(), name, 'Failed', 90_000);
    const pods = await podsOf(env(), name);
    await explain(env(), name, () => {
      const msg = wf.status?.message ?? '';
      assert.match(msg, /node "boom"/, 'the message names the node');
      assert.match(msg, /exited with code 7\b/, 'the message names the exit code');
      assert.equal(wf.status?.error?.code, 'NonZeroExit');
      assert.equal(wf.status?.error?.node, 'boom');
      const n = nodeStatus(wf.status, 'boom');
      assert.equal(n.phase, 'Failed');
      assert.equal(n.attempts, 2);
      assert.equal(pods.length, 2);
      assert.ok(pods.every((p) => p.status?.phase === 'Failed'));
    });
  });

  test('a per-attempt timeout kills each attempt and fails the node with TimedOut', { timeout: 120_000 }, async () => {
    const name = 'attempt-timeout';
    const recorder = await podRecorder(env(), `${L.workflow}=${name}`);
    try {
      const started = Date.now();
      await submit(env(), name, {
        tasks: { sleepy: pyTask('time.sleep(60)', { timeout: '2s', retries: 1 }) },
        nodes: { sleepy: { task: 'sleepy' } },
      });
      const wf = await expectPhase(env(), name, 'Failed', 50_000);
      const elapsed = Date.now() - started;
      await explain(env(), name, () => {
        assert.equal(wf.status?.error?.code, 'TimedOut');
        assert.match(wf.status?.message ?? '', /node "sleepy".*timeout of 2s/);
        const n = nodeStatus(wf.status, 'sleepy');
        assert.equal(n.attempts, 2);
        assert.equal(n.error?.code, 'TimedOut');
        assert.ok(elapsed < 40_000, `took ${elapsed} ms: the 60 s sleep was not cut short`);
        const attempts = [...recorder.uids().values()].map((p) => p.metadata.labels?.[L.attempt]).sort();
        assert.deepEqual(attempts, ['0', '1'], 'one pod per attempt');
      });
      await eventually(env(), name, 'the timed-out pods to be deleted', async () => (await podsOf(env(), name)).length === 0, 45_000);
    } finally {
      await recorder.stop();
    }
  });

  test('FailImmediately: a failing node stops an independent long sleeper', { timeout: 120_000 }, async () => {
    const name = 'fail-fast';
    const started = Date.now();
    await submit(env(), name, {
      tasks: {
        bad: pyTask('time.sleep(1.5)\nsys.exit(1)'),
        sleeper: pyTask('time.sleep(60)'),
      },
      nodes: { bad: { task: 'bad' }, sleeper: { task: 'sleeper' } },
    });
    const wf = await expectPhase(env(), name, 'Failed', 50_000);
    await explain(env(), name, async () => {
      assert.ok(Date.now() - started < 45_000, 'did not wait for the sleeper');
      assert.equal(wf.status?.error?.node, 'bad');
      assert.match(wf.status?.message ?? '', /node "bad" failed/);
      assert.equal(nodeStatus(wf.status, 'bad').phase, 'Failed');
      assert.equal(nodeStatus(wf.status, 'sleeper').phase, 'Aborted');
      // Ended Failed only once no pod was left running.
      const pods = await podsOf(env(), name, `${L.node}=sleeper`);
      assert.ok(pods.every((p) => p.metadata.deletionTimestamp || p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded'), 'the sleeper pod is not left running');
    });
    await eventually(env(), name, "the sleeper's pod to be deleted", async () => (await podsOf(env(), name, `${L.node}=sleeper`)).length === 0, 45_000);
  });

  test('FailAfterExecutableNodesComplete: independent branches finish, dependents are skipped', { timeout: 120_000 }, async () => {
    const name = 'fail-after';
    await submit(env(), name, {
      failurePolicy: 'FailAfterExecutableNodesComplete',
      interface: {},
      tasks: {
        bad: pyTask('sys.exit(2)', { outputs: { o0: 'int' } }),
        use: pyTask('out["o0"] = inp["x"] + 1', { inputs: { x: 'int' }, outputs: { o0: 'int' } }),
        slow: pyTask('time.sleep(4)\nout["o0"] = 10', { outputs: { o0: 'int' } }),
      },
      nodes: {
        bad: { task: 'bad' },
        dep: { task: 'use', inputs: { x: { from: 'bad.o0' } } },
        depdep: { task: 'use', inputs: { x: { from: 'dep.o0' } } },
        slow: { task: 'slow' },
        slow2: { task: 'use', inputs: { x: { from: 'slow.o0' } } },
        // Ordered after the failure without reading it.
        later: { task: 'slow', after: ['bad'] },
      },
    });
    // While the independent branch still runs, the workflow must not be over.
    const during = await waitForWorkflow(env(), name, 'node bad to fail', (wf) => (wf.status?.nodes?.['bad']?.phase === 'Failed' ? wf : undefined), 60_000);
    await explain(env(), name, () => {
      if (during.status?.nodes?.['slow2']?.phase !== 'Succeeded') {
        assert.equal(during.status?.phase, 'Running', `the workflow is still Running while slow/slow2 run: ${during.status?.message}`);
      }
    });
    const wf = await expectPhase(env(), name, 'Failed', 60_000);
    await explain(env(), name, () => {
      const st = (n: string) => nodeStatus(wf.status, n);
      assert.equal(st('bad').phase, 'Failed');
      assert.equal(st('slow').phase, 'Succeeded');
      assert.equal(st('slow2').phase, 'Succeeded');
      assert.deepEqual(st('slow2').outputs, { o0: 11 });
      assert.equal(st('dep').phase, 'Skipped');
      assert.equal(st('depdep').phase, 'Skipped');
      assert.equal(st('later').phase, 'Skipped');
      assert.match(st('dep').message ?? '', /"bad"/);
      assert.equal(wf.status?.error?.node, 'bad');
      assert.match(wf.status?.message ?? '', /node "bad" failed/);
      assert.ok(ms(wf.status?.finishedAt) >= ms(st('slow2').finishedAt), `the workflow finished (${wf.status?.finishedAt}) before slow2 (${st('slow2').finishedAt})`);
      assert.equal(wf.status?.progress, '2/6');
    });
  });

  test('a pod deleted while running is a system error and the node is retried', { timeout: 120_000 }, async () => {
    const name = 'pod-lost';
    await submit(env(), name, {
      interface: { outputs: { r: 'str' } },
      // No user retries: only the system-retry budget may bring it back.
      tasks: { victim: pyTask('if attempt == 0:\n    time.sleep(60)\nout["o0"] = "attempt %d" % attempt', { outputs: { o0: 'str' }, retries: 0 }) },
      nodes: { victim: { task: 'victim' } },
      outputs: { r: { from: 'victim.o0' } },
    });
    const podName = await waitForWorkflow(env(), name, 'the first attempt to run', (wf) => {
      const n = wf.status?.nodes?.['victim'];
      return n?.phase === 'Running' && n.attempts === 1 ? n.podName : undefined;
    }, 60_000);
    await env().client.request('DELETE', podPath(env().ns, podName!));
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { r: 'attempt 1' });
      const n = nodeStatus(wf.status, 'victim');
      assert.equal(n.attempts, 2);
      assert.equal(n.systemFailures, 1, 'the lost attempt counts against the system-retry budget');
    });
  });

  test('outputs that do not match the declared types fail the node, naming the output', { timeout: 120_000 }, async () => {
    const name = 'bad-outputs';
    await submit(env(), name, {
      tasks: { liar: pyTask('out["o0"] = "forty-two"', { outputs: { o0: 'int' } }) },
      nodes: { liar: { task: 'liar' } },
    });
    const wf = await expectPhase(env(), name, 'Failed', 60_000);
    await explain(env(), name, () => {
      assert.equal(wf.status?.error?.code, 'OutputsInvalid');
      assert.match(wf.status?.message ?? '', /node "liar".*output "o0": expected int, got str "forty-two"/);
      assert.equal(nodeStatus(wf.status, 'liar').attempts, 1);
    });
  });

  test('a node-level retries override beats the task default', { timeout: 120_000 }, async () => {
    const name = 'retry-override';
    await submit(env(), name, {
      tasks: { boom: pyTask('sys.exit(5)', { retries: 5 }) },
      nodes: { boom: { task: 'boom', retries: 1 } },
    });
    const wf = await expectPhase(env(), name, 'Failed', 60_000);
    await explain(env(), name, () => {
      assert.equal(nodeStatus(wf.status, 'boom').attempts, 2);
      assert.match(wf.status?.message ?? '', /exited with code 5/);
    });
  });

  test('the workflow timeout fails a workflow that runs too long', { timeout: 120_000 }, async () => {
    const name = 'wf-timeout';
    const started = Date.now();
    await submit(env(), name, {
      timeout: '3s',
      tasks: { sleepy: pyTask('time.sleep(60)'), after: pyTask('pass') },
      nodes: { first: { task: 'sleepy' }, second: { task: 'after', after: ['first'] } },
    });
    const wf = await expectPhase(env(), name, 'Failed', 50_000);
    await explain(env(), name, () => {
      assert.ok(Date.now() - started < 40_000, 'did not wait for the sleeper');
      assert.equal(wf.status?.error?.code, 'WorkflowTimedOut');
      assert.match(wf.status?.message ?? '', /timeout of 3s/);
      const elapsed = ms(wf.status?.finishedAt) - ms(wf.status?.startedAt);
      assert.ok(elapsed >= 3000, `ended ${elapsed} ms after it started, before its 3 s timeout`);
      assert.equal(nodeStatus(wf.status, 'first').phase, 'Aborted');
      assert.ok(['Skipped', 'Aborted'].includes(nodeStatus(wf.status, 'second').phase));
    });
    await eventually(env(), name, 'the pod to be deleted', async () => (await podsOf(env(), name)).length === 0, 45_000);
  });

  test('a pod the API server refuses (422) on the second node of a chain fails the workflow in the same round, PodRejected', { timeout: 60_000 }, async () => {
    const name = 'pod-rejected';
    const pods = await podRecorder(env(), `${L.workflow}=${name}`);
    const wfs = await workflowRecorder(env());
    try {
      await submit(env(), name, {
        interface: { outputs: { r: 'int' } },
        tasks: {
          first: pyTask('time.sleep(0.5)\nout["o0"] = 2', { outputs: { o0: 'int' } }),
          // Passes the propeller's own checks; the API server refuses a value with operator Exists.
          refused: pyTask('out["o0"] = inp["v"] * 2', { inputs: { v: 'int' }, outputs: { o0: 'int' }, retries: 2, pod: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } }),
          third: pyTask('out["o0"] = inp["v"] + 1', { inputs: { v: 'int' }, outputs: { o0: 'int' } }),
        },
        nodes: {
          first: { task: 'first' },
          second: { task: 'refused', inputs: { v: { from: 'first.o0' } } },
          third: { task: 'third', inputs: { v: { from: 'second.o0' } } },
        },
        outputs: { r: { from: 'third.o0' } },
      });
      const wf = await expectPhase(env(), name, 'Failed', 45_000);
      await recorderSaw(env(), wfs, name, 'Failed');
      await explain(env(), name, async () => {
        const st = (n: string) => nodeStatus(wf.status, n);
        assert.equal(st('first').phase, 'Succeeded');
        const second = st('second');
        assert.equal(second.phase, 'Failed');
        assert.equal(second.attempts, 1, 'a refused pod is not retried, whatever retries says');
        assert.equal(second.error?.code, 'PodRejected');
        assert.equal(second.error?.kind, 'Permanent');
        assert.match(second.error?.message ?? '', /^attempt 1 failed: PodRejected: the API server rejected the pod: .*spec\.tolerations\[0\]\.operator/);
        assert.equal(wf.status?.error?.code, 'PodRejected');
        assert.equal(wf.status?.error?.node, 'second');
        assert.match(wf.status?.message ?? '', /^node "second" failed: attempt 1 failed: PodRejected: the API server rejected the pod: /);
        assert.equal(st('third').phase, 'Skipped');
        // Within one round: the round that saw first succeed tried second's pod and failed the workflow.
        assert.equal(wf.status?.finishedAt, st('first').finishedAt, 'the workflow ended in the round in which first succeeded');
        const versions = wfs.events.filter((e) => e.object.metadata.name === name && e.object.status?.nodes?.['first']?.phase === 'Succeeded');
        assert.ok(versions.length > 0);
        assert.deepEqual([...new Set(versions.map((e) => e.object.status?.phase))], ['Failed'], 'no status showed first done and the workflow still running');
        await assertOnePodEach(env(), name, pods, ['first']); // none was ever created for second or third
      });
      await eventually(env(), name, 'a NodeFailed event for second', async () =>
        (await eventsOf(env(), name)).some((e) => e.reason === 'NodeFailed' && /^node second: attempt 1 failed: PodRejected: the API server rejected the pod: /.test(e.message)),
      15_000);
      const failed = (await eventsOf(env(), name)).filter((e) => e.reason === 'NodeFailed');
      assert.equal(failed.length, 1, `one NodeFailed event: ${JSON.stringify(failed)}`);
    } finally {
      await wfs.stop();
      await pods.stop();
    }
  });
});

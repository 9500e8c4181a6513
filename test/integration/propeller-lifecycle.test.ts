// Workflow lifecycle end to end: abort, deletion with the finalizer, propeller crashes, finished
// workflows, and maxParallelism. Each test has its own namespace and propeller, so restarting one
// propeller does not disturb the other tests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { podPath } from '../../src/k8s/paths.ts';
import { useTestCluster } from './helpers/cluster.ts';
import {
  diagnose,
  eventually,
  expectPhase,
  explain,
  FAST_RETRIES,
  FINALIZER_NAME,
  isTerminalPod,
  kwokTask,
  L,
  nodeStatus,
  patchWorkflow,
  podRecorder,
  podsOf,
  pyTask,
  startEnv,
  stopPropeller,
  submit,
  waitForReady,
  waitForWorkflow,
  wfPath,
  workflowRecorder,
  type Env,
} from './helpers/e2e.ts';
import { startPropeller } from './helpers/propeller.ts';
import { getWorkflow } from './helpers/workflows.ts';

async function waitForPod(env: Env, name: string, check: (p: Pod) => boolean, timeoutMs = 30_000): Promise<Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: Pod | undefined;
  while (Date.now() < deadline) {
    last = await env.client.request<Pod>('GET', podPath(env.ns, name)).catch(() => last);
    if (last && check(last)) return last;
    await sleep(100);
  }
  assert.fail(`pod ${name} did not reach the expected state within ${timeoutMs}ms: ${JSON.stringify(last?.status)}`);
}

describe('propeller workflow lifecycle', { concurrency: true }, () => {
  const cluster = useTestCluster();

  /** A namespace and a propeller for one test, torn down when it ends. */
  async function withEnv<T>(prefix: string, fn: (env: Env & { restart(kill: boolean): Promise<void> }) => Promise<T>): Promise<T> {
    const env = await startEnv(cluster(), prefix, FAST_RETRIES);
    const restart = async (kill: boolean) => {
      if (kill) await env.propeller.kill();
      else await stopPropeller(env.propeller);
      env.propeller = startPropeller({ kubeconfig: env.kubeconfig, namespaces: [env.ns], args: FAST_RETRIES });
      await waitForReady(env.propeller);
    };
    try {
      await waitForReady(env.propeller);
      return await fn(Object.assign(env, { restart }));
    } finally {
      await env.cleanup();
    }
  }

  const sleeperSpec = {
    tasks: { sleeper: pyTask('time.sleep(60)'), quick: pyTask('pass') },
    nodes: { sleeper: { task: 'sleeper' }, later: { task: 'quick', after: ['sleeper'] } },
  };

  test('spec.abort stops a running workflow: Aborted, pods deleted', { timeout: 120_000 }, () =>
    withEnv('abort', async (env) => {
      const name = 'abort-me';
      await submit(env, name, sleeperSpec);
      const podName = await waitForWorkflow(env, name, 'the sleeper to run', (wf) => (wf.status?.nodes?.['sleeper']?.phase === 'Running' ? wf.status.nodes['sleeper'].podName : undefined), 60_000);
      await patchWorkflow(env, name, { spec: { abort: true } });
      const wf = await expectPhase(env, name, 'Aborted', 45_000);
      await explain(env, name, async () => {
        assert.equal(nodeStatus(wf.status, 'sleeper').phase, 'Aborted');
        assert.equal(nodeStatus(wf.status, 'later').phase, 'Aborted');
        assert.match(wf.status?.message ?? '', /abort/);
        // Aborted is only reached once no pod is left running.
        const pod = await env.client.request<Pod>('GET', podPath(env.ns, podName!)).catch(() => undefined);
        assert.ok(!pod || pod.metadata.deletionTimestamp || isTerminalPod(pod), `pod ${podName} is still running: ${JSON.stringify(pod?.status?.phase)}`);
      });
      await eventually(env, name, 'the pods to be deleted', async () => (await podsOf(env, name)).length === 0, 45_000);
      // The finalizer is released once it is over, and the workflow stays Aborted.
      await eventually(env, name, 'the finalizer to be removed', async () => !(await getWorkflow(env.client, env.ns, name)).metadata.finalizers?.includes(FINALIZER_NAME));
      assert.equal((await getWorkflow(env.client, env.ns, name)).status?.phase, 'Aborted');
    }));

  test('deleting a running workflow deletes its pods, then the finalizer lets it go', { timeout: 120_000 }, () =>
    withEnv('delete', async (env) => {
      const name = 'delete-me';
      const wfs = await workflowRecorder(env);
      try {
        await submit(env, name, sleeperSpec);
        const podName = await waitForWorkflow(env, name, 'the sleeper to run', (wf) => (wf.status?.nodes?.['sleeper']?.phase === 'Running' ? wf.status.nodes['sleeper'].podName : undefined), 60_000);
        const running = await getWorkflow(env.client, env.ns, name);
        assert.ok(running.metadata.finalizers?.includes(FINALIZER_NAME), `finalizer present while running: ${JSON.stringify(running.metadata.finalizers)}`);
        await env.client.request('DELETE', wfPath(env.ns, name));
        await eventually(env, name, "the workflow's pod to be deleted", () => env.client.request('GET', podPath(env.ns, podName!)).then(() => false, (e: unknown) => isNotFound(e)), 45_000);
        const gone = async () => env.client.request('GET', wfPath(env.ns, name)).then(() => false, (e: unknown) => isNotFound(e));
        const deadline = Date.now() + 45_000;
        while (!(await gone())) {
          if (Date.now() > deadline) assert.fail(`the workflow was not removed after its pods were deleted\n${await diagnose(env, name)}`);
          await sleep(100);
        }
        // It went through the abort path on its way out.
        const phases = wfs.events.filter((e) => e.object.metadata.name === name).map((e) => e.object.status?.phase);
        assert.ok(phases.includes('Aborted'), `the workflow ended Aborted before it was removed; phases seen: ${phases.join(' → ')}`);
        // (The object is gone, so the propeller removed its finalizer: nothing else would. The DELETED
        // watch event carries the object as it was before that last update, so it cannot show it.)
        const held = wfs.events.filter((e) => e.object.metadata.name === name && e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp);
        assert.ok(held.every((e) => e.object.metadata.finalizers?.includes(FINALIZER_NAME)), 'the finalizer held the object while its pods were deleted');
      } finally {
        await wfs.stop();
      }
    }));

  test('a propeller killed mid-workflow is replaced and the workflow completes without duplicate pods', { timeout: 150_000 }, () =>
    withEnv('restart', async (env) => {
      const name = 'survivor';
      const pods = await podRecorder(env, `${L.workflow}=${name}`);
      try {
        await submit(env, name, {
          interface: { inputs: { n: 'int' }, outputs: { total: 'int' } },
          inputs: { n: 3 },
          tasks: {
            start: pyTask('time.sleep(1)\nout["o0"] = inp["n"]', { inputs: { n: 'int' }, outputs: { o0: 'int' } }),
            work: pyTask('time.sleep(2)\nout["o0"] = inp["v"] * inp["k"]', { inputs: { v: 'int', k: 'int' }, outputs: { o0: 'int' } }),
            join: pyTask('time.sleep(1)\nout["o0"] = sum(inp["xs"])', { inputs: { xs: 'list[int]' }, outputs: { o0: 'int' } }),
            inc: pyTask('out["o0"] = inp["v"] + 1', { inputs: { v: 'int' }, outputs: { o0: 'int' } }),
          },
          nodes: {
            a: { task: 'start', inputs: { n: { from: 'inputs.n' } } },
            b1: { task: 'work', inputs: { v: { from: 'a.o0' }, k: { value: 1 } } },
            b2: { task: 'work', inputs: { v: { from: 'a.o0' }, k: { value: 10 } } },
            b3: { task: 'work', inputs: { v: { from: 'a.o0' }, k: { value: 100 } } },
            c: { task: 'join', inputs: { xs: { list: [{ from: 'b1.o0' }, { from: 'b2.o0' }, { from: 'b3.o0' }] } } },
            d: { task: 'inc', inputs: { v: { from: 'c.o0' } } },
          },
          outputs: { total: { from: 'd.o0' } },
        });
        // First crash: while the b layer runs.
        await waitForWorkflow(env, name, 'the b nodes to be started', (wf) => ['b1', 'b2', 'b3'].every((n) => ['Queued', 'Running'].includes(wf.status?.nodes?.[n]?.phase ?? '')), 60_000);
        await env.restart(true);
        // Second crash: right after c's pod was asked for.
        await waitForWorkflow(env, name, 'node c to be started', (wf) => ['Queued', 'Running'].includes(wf.status?.nodes?.['c']?.phase ?? ''), 60_000);
        await env.restart(true);
        const wf = await expectPhase(env, name, 'Succeeded', 90_000);
        await sleep(1000); // let any stray duplicate show up
        await explain(env, name, () => {
          assert.deepEqual(wf.status?.outputs, { total: 3 * 1 + 3 * 10 + 3 * 100 + 1 });
          const seen = new Map<string, string[]>();
          for (const [uid, pod] of pods.uids()) {
            const key = `${pod.metadata.labels?.[L.node]}#${pod.metadata.labels?.[L.attempt]}`;
            seen.set(key, [...(seen.get(key) ?? []), `${pod.metadata.name}/${uid}`]);
          }
          for (const [key, list] of seen) assert.equal(list.length, 1, `(node, attempt) ${key} had ${list.length} pods: ${list.join(', ')}`);
          assert.deepEqual([...seen.keys()].sort(), ['a#0', 'b1#0', 'b2#0', 'b3#0', 'c#0', 'd#0'], 'one pod per node, all attempt 0');
          for (const n of ['a', 'b1', 'b2', 'b3', 'c', 'd']) assert.equal(nodeStatus(wf.status, n).attempts, 1, `node ${n} ran once`);
        });
      } finally {
        await pods.stop();
      }
    }));

  test('a propeller killed again and again while KWOK pods come and go never duplicates or retries a pod', { timeout: 150_000 }, () =>
    withEnv('crashloop', async (env) => {
      const name = 'crashloop';
      const pods = await podRecorder(env, `${L.workflow}=${name}`);
      try {
        const width = 8;
        const range = (n: number) => Array.from({ length: n }, (_, i) => i);
        const nodes: Record<string, unknown> = {};
        for (const i of range(width)) nodes[`a${i}`] = { task: 'id', inputs: { v: { value: i } } };
        for (const i of range(width)) nodes[`b${i}`] = { task: 'id', inputs: { v: { from: `a${i}.o0` } } };
        for (const i of range(width)) nodes[`c${i}`] = { task: 'id', inputs: { v: { from: `b${(i + 1) % width}.o0` } } };
        nodes['z'] = { task: 'all', inputs: { xs: { list: range(width).map((i) => ({ from: `c${i}.o0` })) } } };
        await submit(env, name, {
          interface: { outputs: { xs: 'list[int]' } },
          tasks: {
            id: kwokTask('{"o0": {{.inputs.v}}}', { inputs: { v: 'int' }, outputs: { o0: 'int' }, duration: '700ms' }),
            all: kwokTask('{"o0": {{.inputs.xs}}}', { inputs: { xs: 'list[int]' }, outputs: { o0: 'list[int]' }, duration: '300ms' }),
          },
          nodes,
          outputs: { xs: { from: 'z.o0' } },
        });
        // Crash at assorted moments after each start: mid-round, between pod creates and status writes.
        for (const delay of [150, 600, 300, 900, 50]) {
          await sleep(delay);
          const phase = (await getWorkflow(env.client, env.ns, name)).status?.phase;
          if (phase === 'Succeeded' || phase === 'Failed') break;
          await env.restart(true);
        }
        const wf = await expectPhase(env, name, 'Succeeded', 90_000);
        await sleep(1000);
        await explain(env, name, () => {
          assert.deepEqual(wf.status?.outputs, { xs: range(width).map((i) => (i + 1) % width) });
          const byKey = new Map<string, string[]>();
          for (const [uid, p] of pods.uids()) {
            const key = `${p.metadata.labels?.[L.node]}#${p.metadata.labels?.[L.attempt]}`;
            byKey.set(key, [...(byKey.get(key) ?? []), uid]);
          }
          const dupes = [...byKey].filter(([, uids]) => uids.length > 1).map(([k]) => k);
          assert.deepEqual(dupes, [], 'no (node, attempt) had two pods');
          const retried = [...byKey.keys()].filter((k) => !k.endsWith('#0'));
          assert.deepEqual(retried, [], 'no node needed a second attempt');
          assert.equal(byKey.size, 3 * width + 1, 'one pod per node');
        });
      } finally {
        await pods.stop();
      }
    }));

  // A deleted pod may still be seen before it disappears: the kubelet kills the container (SIGTERM, exit
  // code 143) and reports the pod Failed; a finalizer of another controller (a Job's, a log shipper's) can
  // keep it around. The propeller is down meanwhile, so the first thing it sees is that final state.
  test('a pod deleted while the propeller is down is a system error even if it reports the SIGTERM exit code', { timeout: 120_000 }, () =>
    withEnv('deleted-down', async (env) => {
      const name = 'lost-while-down';
      const hold = 'propeller.dev/test-hold';
      let podName: string | undefined;
      try {
        await submit(env, name, {
          interface: { outputs: { r: 'str' } },
          tasks: { victim: pyTask('if attempt == 0:\n    time.sleep(60)\nout["o0"] = "attempt %d" % attempt', { outputs: { o0: 'str' }, retries: 0 }) },
          nodes: { victim: { task: 'victim' } },
          outputs: { r: { from: 'victim.o0' } },
        });
        podName = await waitForWorkflow(env, name, 'the first attempt to run', (wf) => {
          const n = wf.status?.nodes?.['victim'];
          return n?.phase === 'Running' && n.attempts === 1 ? n.podName : undefined;
        }, 60_000);
        await env.propeller.kill();
        await env.client.request('PATCH', podPath(env.ns, podName!), { body: { metadata: { finalizers: [hold] } }, contentType: 'application/merge-patch+json' });
        await env.client.request('DELETE', podPath(env.ns, podName!));
        const killed = await waitForPod(env, podName!, (p) => p.status?.phase === 'Failed');
        const exit = killed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
        assert.ok(killed.metadata.deletionTimestamp, 'the pod is being deleted');
        await env.restart(false);
        const wf = await expectPhase(env, name, 'Succeeded', 60_000);
        await explain(env, name, () => {
          assert.deepEqual(wf.status?.outputs, { r: 'attempt 1' });
          const n = nodeStatus(wf.status, 'victim');
          assert.equal(n.attempts, 2);
          assert.equal(n.systemFailures, 1, `the deleted pod (exit code ${exit}) counts as a system failure`);
        });
      } finally {
        if (podName) await env.client.request('PATCH', podPath(env.ns, podName), { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' }).catch(() => {});
      }
    }));

  test('a finished workflow keeps its status and its pods are not recreated', { timeout: 120_000 }, () =>
    withEnv('finished', async (env) => {
      const name = 'done';
      await submit(env, name, {
        interface: { outputs: { r: 'int' } },
        tasks: { one: pyTask('out["o0"] = 1', { outputs: { o0: 'int' } }), two: pyTask('out["o0"] = inp["v"] * 2', { inputs: { v: 'int' }, outputs: { o0: 'int' } }) },
        nodes: { one: { task: 'one' }, two: { task: 'two', inputs: { v: { from: 'one.o0' } } } },
        outputs: { r: { from: 'two.o0' } },
      });
      await expectPhase(env, name, 'Succeeded', 60_000);
      await eventually(env, name, 'the finalizer to be removed', async () => !(await getWorkflow(env.client, env.ns, name)).metadata.finalizers?.includes(FINALIZER_NAME));
      const before = await getWorkflow(env.client, env.ns, name);
      assert.deepEqual(before.status?.outputs, { r: 2 });
      // Someone cleans up the finished pods; then the propeller restarts and sees everything afresh.
      for (const pod of await podsOf(env, name)) await env.client.request('DELETE', podPath(env.ns, pod.metadata.name));
      await eventually(env, name, 'the finished pods to be deleted', async () => (await podsOf(env, name)).length === 0, 45_000);
      const pods = await podRecorder(env, `${L.workflow}=${name}`);
      try {
        await env.restart(false);
        await sleep(4000);
        const after = await getWorkflow(env.client, env.ns, name);
        await explain(env, name, () => {
          assert.deepEqual(after.status, before.status, 'the status is unchanged');
          assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing wrote to the finished workflow');
          assert.deepEqual(
            pods.events.map((e) => `${e.type} ${e.object.metadata.name}`),
            [],
            'no pod was created for the finished workflow',
          );
        });
      } finally {
        await pods.stop();
      }
    }));

  test('maxParallelism: 2 keeps at most 2 task pods active in a 6-way fan-out', { timeout: 120_000 }, () =>
    withEnv('parallel', async (env) => {
      const name = 'fanout';
      const pods = await podRecorder(env, `${L.workflow}=${name}`);
      // Exact: recomputed after every watch event. The sampler below is a second, independent look.
      let maxActive = 0;
      let worst: string[] = [];
      pods.onEvent(() => {
        const active = [...pods.current.values()].filter((p) => !isTerminalPod(p));
        if (active.length > maxActive) {
          maxActive = active.length;
          worst = active.map((p) => `${p.metadata.name}:${p.status?.phase}`);
        }
      });
      let sampledMax = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const list = await podsOf(env, name).catch(() => [] as Pod[]);
          sampledMax = Math.max(sampledMax, list.filter((p) => !isTerminalPod(p)).length);
          await sleep(50);
        }
      })();
      try {
        const ids = [0, 1, 2, 3, 4, 5];
        await submit(env, name, {
          maxParallelism: 2,
          interface: { outputs: { all: 'list[int]' } },
          tasks: {
            leaf: kwokTask('{"o0": {{.inputs.i}}}', { inputs: { i: 'int' }, outputs: { o0: 'int' }, duration: '1s' }),
            gather: kwokTask('{"o0": {{.inputs.xs}}}', { inputs: { xs: 'list[int]' }, outputs: { o0: 'list[int]' }, duration: '1s' }),
          },
          nodes: {
            ...Object.fromEntries(ids.map((i) => [`k${i}`, { task: 'leaf', inputs: { i: { value: i * 7 } } }])),
            gather: { task: 'gather', inputs: { xs: { list: ids.map((i) => ({ from: `k${i}.o0` })) } } },
          },
          outputs: { all: { from: 'gather.o0' } },
        });
        const wf: FlyteWorkflow = await expectPhase(env, name, 'Succeeded', 90_000);
        sampling = false;
        await sampler;
        await explain(env, name, () => {
          assert.deepEqual(wf.status?.outputs, { all: ids.map((i) => i * 7) });
          assert.equal(pods.uids().size, 7, 'one pod per node');
          assert.ok(maxActive <= 2, `${maxActive} task pods were active at once: ${worst.join(', ')}`);
          assert.ok(sampledMax <= 2, `sampling saw ${sampledMax} active task pods at once`);
          assert.equal(maxActive, 2, 'the fan-out did use its 2 slots');
        });
      } finally {
        sampling = false;
        await sampler;
        await pods.stop();
      }
    }));
});

// Task caching end to end, with CacheEntry objects on the real API server: hits that create no pod,
// serialized runs that share one pod, entries that survive a propeller restart, invalidation by deleting
// an entry, and overwriteCache. Each cached task writes a random run id, so a hit is told from a rerun.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { CacheEntryObject } from '../../src/api/cache-entry.ts';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { cacheEntriesPath } from '../../src/k8s/paths.ts';
import { ensureBinaries } from '../../tools/controlplane/build.ts';
import { kubectl, nodePathOf, recorderSaw } from './helpers/control-flow.ts';
import {
  eventually,
  expectPhase,
  explain,
  FAST_RETRIES,
  L,
  nodeStatus,
  podRecorder,
  pyTask,
  startEnv,
  submit,
  usePropellerEnv,
  waitForReady,
  workflowRecorder,
  type Env,
  type Recorder,
} from './helpers/e2e.ts';
import { startPropeller } from './helpers/propeller.ts';

/** A cached task: the square of x, and a random id of the run that computed it. */
function cachedTask(o: { serialize?: boolean; sleep?: number; pod?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    ...pyTask(`${o.sleep ? `time.sleep(${o.sleep})\n` : ''}out["sq"] = inp["x"] * inp["x"]\nout["run"] = os.urandom(8).hex()`, {
      inputs: { x: 'int' },
      outputs: { sq: 'int', run: 'str' },
      ...(o.pod ? { pod: o.pod } : {}),
    }),
    cache: { version: '1', ...(o.serialize ? { serialize: true } : {}) },
  };
}

/** `cached` (the task named `task`) on x, then an uncached `plus` that reads it. */
function spec(task: string, x: number, o: { serialize?: boolean; sleep?: number; overwrite?: boolean; pod?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    interface: { outputs: { sq: 'int', run: 'str', next: 'int' } },
    ...(o.overwrite ? { overwriteCache: true } : {}),
    tasks: {
      [task]: cachedTask(o),
      plus: pyTask('out["o"] = inp["v"] + 1', { inputs: { v: 'int' }, outputs: { o: 'int' } }),
    },
    nodes: {
      cached: { task, inputs: { x: { value: x } } },
      plus: { task: 'plus', inputs: { v: { from: 'cached.sq' } } },
    },
    outputs: { sq: { from: 'cached.sq' }, run: { from: 'cached.run' }, next: { from: 'plus.o' } },
  };
}

async function entriesOf(env: Env, task: string): Promise<CacheEntryObject[]> {
  const list = await env.client.request<{ items: CacheEntryObject[] }>('GET', cacheEntriesPath(env.ns), { query: { labelSelector: `${L.task}=${task}` } });
  return list.items;
}

/** Pods of the cached node, over every workflow of the namespace the recorder saw (plus a fresh list). */
async function cachedNodePods(env: Env, recorder: Recorder<Pod>, task: string): Promise<Pod[]> {
  const all = recorder.uids();
  const list = await env.client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${env.ns}/pods`, { query: { labelSelector: `${L.task}=${task}` } });
  for (const p of list.items) all.set(p.metadata.uid!, p);
  return [...all.values()].filter((p) => p.metadata.labels?.[L.task] === task && nodePathOf(p) === 'cached');
}

const workflowOf = (p: Pod) => p.metadata.annotations?.['flyte.propeller.dev/workflow'];

describe('propeller task caching', { concurrency: true }, () => {
  const env = usePropellerEnv('cache');
  let kubectlPath: string | undefined;
  before(async () => {
    kubectlPath = process.env['PROPELLER_TEST_KUBECTL'] ?? (await ensureBinaries({ only: ['kubectl'] }))['kubectl'];
  });

  test('a second run with the same cached task and inputs is a hit: no pod, cache Hit, "(1 cached)", the entry listed', { timeout: 60_000 }, async () => {
    const task = 'hitsq';
    const pods = await podRecorder(env(), `${L.task}=${task}`);
    try {
      await submit(env(), 'hit-1', spec(task, 7));
      const first = await expectPhase(env(), 'hit-1', 'Succeeded', 30_000);
      await submit(env(), 'hit-2', spec(task, 7));
      const second = await expectPhase(env(), 'hit-2', 'Succeeded', 30_000);
      const run = first.status?.outputs?.['run'];
      await explain(env(), 'hit-2', async () => {
        assert.equal(nodeStatus(first.status, 'cached').cache, 'Populated');
        assert.equal(first.status?.progress, '2/2');
        assert.deepEqual(first.status?.outputs, { sq: 49, run, next: 50 });
        assert.match(String(run), /^[0-9a-f]{16}$/);
        const hit = nodeStatus(second.status, 'cached');
        assert.equal(hit.cache, 'Hit');
        assert.equal(hit.phase, 'Succeeded');
        assert.equal(hit.podName, undefined, 'a hit has no pod');
        assert.equal(hit.attempts, undefined, 'a hit makes no attempt');
        assert.match(hit.message ?? '', new RegExp(`^outputs taken from cache entry ${task}-[0-9a-f]{20} \\(written by hit-1, node cached, at `));
        assert.deepEqual(second.status?.outputs, { sq: 49, run, next: 50 }, 'the outputs of the first run, not a rerun');
        assert.equal(second.status?.progress, '2/2 (1 cached)');
        assert.equal(nodeStatus(second.status, 'plus').cache, undefined, 'an uncached task has no cache status');
        const cachedPods = await cachedNodePods(env(), pods, task);
        assert.deepEqual(cachedPods.map(workflowOf), ['hit-1'], 'only the first run created a pod for the cached node');
      });
      const entries = await entriesOf(env(), task);
      assert.equal(entries.length, 1);
      const entry = entries[0]!;
      assert.deepEqual(entry.spec.outputs, { sq: 49, run });
      assert.equal(entry.spec.createdBy?.workflow, 'hit-1');
      assert.equal(entry.spec.reservedBy, undefined);
      const table = await kubectl(env(), kubectlPath, ['-n', env().ns, 'get', 'cacheentries', '-l', `${L.task}=${task}`]);
      const lines = table.trim().split('\n');
      assert.match(lines[0]!, /^NAME\s+TASK\s+VERSION\s+WRITTEN-BY\s+RESERVED-BY\s+EXPIRES\s+AGE$/, table);
      assert.equal(lines.length, 2, table);
      assert.match(lines[1]!, new RegExp(`^${entry.metadata.name}\\s+${task}\\s+1\\s+hit-1\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+\\d+s$`), table);
    } finally {
      await pods.stop();
    }
  });

  test('serialize: five workflows created at once share one pod; all succeed with the same outputs', { timeout: 60_000 }, async () => {
    const task = 'sersq';
    const names = ['ser-1', 'ser-2', 'ser-3', 'ser-4', 'ser-5'];
    const pods = await podRecorder(env(), `${L.task}=${task}`);
    const recorded = await workflowRecorder(env());
    try {
      await Promise.all(names.map((n) => submit(env(), n, spec(task, 12, { serialize: true, sleep: 2 }))));
      const wfs: FlyteWorkflow[] = [];
      for (const n of names) wfs.push(await expectPhase(env(), n, 'Succeeded', 45_000));
      for (const n of names) await recorderSaw(env(), recorded, n, 'Succeeded');
      const cachedPods = await cachedNodePods(env(), pods, task);
      await explain(env(), names[0]!, () => {
        assert.equal(cachedPods.length, 1, `one pod for the cached task across all five: ${cachedPods.map((p) => p.metadata.name).join(', ')}`);
        const holder = workflowOf(cachedPods[0]!);
        const run = wfs.find((w) => w.metadata.name === holder)!.status?.outputs?.['run'];
        for (const wf of wfs) {
          assert.deepEqual(wf.status?.outputs, { sq: 144, run, next: 145 }, `${wf.metadata.name} has the outputs of the one run`);
          const cached = nodeStatus(wf.status, 'cached');
          assert.equal(cached.cache, wf.metadata.name === holder ? 'Populated' : 'Hit', wf.metadata.name);
          assert.equal(wf.status?.progress, wf.metadata.name === holder ? '2/2' : '2/2 (1 cached)');
        }
        const waited = recorded.events.filter((e) => names.includes(e.object.metadata.name) && /^waiting for the cache: \S+ \(node cached\) is computing entry /.test(e.object.status?.nodes?.['cached']?.message ?? ''));
        assert.ok(waited.length > 0, 'the others were seen waiting for the holder');
        assert.ok(waited.every((e) => e.object.metadata.name !== holder && e.object.status?.nodes?.['cached']?.phase === 'Pending'));
      });
      const entries = await entriesOf(env(), task);
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.spec.reservedBy, undefined, 'the reservation is gone once the outputs are written');
      assert.equal(entries[0]!.spec.outputs?.['sq'], 144);
    } finally {
      await recorded.stop();
      await pods.stop();
    }
  });

  test('deleting the entry invalidates it: the next run creates a pod again', { timeout: 60_000 }, async () => {
    const task = 'delsq';
    const pods = await podRecorder(env(), `${L.task}=${task}`);
    try {
      await submit(env(), 'del-1', spec(task, 3));
      const first = await expectPhase(env(), 'del-1', 'Succeeded', 30_000);
      assert.equal((await entriesOf(env(), task)).length, 1);
      const out = await kubectl(env(), kubectlPath, ['-n', env().ns, 'delete', 'cacheentries', '-l', `${L.task}=${task}`]);
      assert.match(out, /deleted/);
      assert.equal((await entriesOf(env(), task)).length, 0);
      await submit(env(), 'del-2', spec(task, 3));
      const second = await expectPhase(env(), 'del-2', 'Succeeded', 30_000);
      await explain(env(), 'del-2', async () => {
        assert.equal(nodeStatus(second.status, 'cached').cache, 'Populated', 'ran and wrote a new entry');
        assert.notEqual(second.status?.outputs?.['run'], first.status?.outputs?.['run'], 'computed again');
        assert.equal(second.status?.progress, '2/2');
        const cachedPods = await cachedNodePods(env(), pods, task);
        assert.deepEqual(cachedPods.map(workflowOf).sort(), ['del-1', 'del-2']);
        const entries = await entriesOf(env(), task);
        assert.equal(entries.length, 1);
        assert.equal(entries[0]!.spec.createdBy?.workflow, 'del-2');
      });
    } finally {
      await pods.stop();
    }
  });

  test('overwriteCache runs the task anyway (cache Skipped) and replaces the entry, which later runs hit', { timeout: 60_000 }, async () => {
    const task = 'owsq';
    const pods = await podRecorder(env(), `${L.task}=${task}`);
    try {
      await submit(env(), 'ow-1', spec(task, 5));
      const first = await expectPhase(env(), 'ow-1', 'Succeeded', 30_000);
      await submit(env(), 'ow-2', spec(task, 5, { overwrite: true }));
      const second = await expectPhase(env(), 'ow-2', 'Succeeded', 30_000);
      await submit(env(), 'ow-3', spec(task, 5));
      const third = await expectPhase(env(), 'ow-3', 'Succeeded', 30_000);
      await explain(env(), 'ow-3', async () => {
        const run1 = first.status?.outputs?.['run'];
        const run2 = second.status?.outputs?.['run'];
        assert.equal(nodeStatus(second.status, 'cached').cache, 'Skipped');
        assert.notEqual(run2, run1, 'overwriteCache ran the task again');
        assert.equal(second.status?.progress, '2/2');
        assert.equal(nodeStatus(third.status, 'cached').cache, 'Hit');
        assert.equal(third.status?.outputs?.['run'], run2, 'the replaced entry is used');
        const cachedPods = await cachedNodePods(env(), pods, task);
        assert.deepEqual(cachedPods.map(workflowOf).sort(), ['ow-1', 'ow-2']);
        const entries = await entriesOf(env(), task);
        assert.equal(entries.length, 1);
        assert.equal(entries[0]!.spec.createdBy?.workflow, 'ow-2');
        assert.equal(entries[0]!.spec.outputs?.['run'], run2);
      });
    } finally {
      await pods.stop();
    }
  });

  test('an entry written before a propeller restart is a hit for the next propeller', { timeout: 90_000 }, async () => {
    // Its own namespace and propeller: killing it must not disturb the other tests.
    const own = await startEnv({ kubeconfigPath: env().kubeconfig, client: env().client, kubectl: kubectlPath }, 'cache-restart', FAST_RETRIES);
    const task = 'rssq';
    const pods = await podRecorder(own, `${L.task}=${task}`);
    try {
      await waitForReady(own.propeller);
      await submit(own, 'rs-1', spec(task, 9));
      const first = await expectPhase(own, 'rs-1', 'Succeeded', 30_000);
      await own.propeller.kill();
      own.propeller = startPropeller({ kubeconfig: own.kubeconfig, namespaces: [own.ns], args: FAST_RETRIES });
      await waitForReady(own.propeller);
      await submit(own, 'rs-2', spec(task, 9));
      const second = await expectPhase(own, 'rs-2', 'Succeeded', 30_000);
      await explain(own, 'rs-2', async () => {
        assert.equal(nodeStatus(second.status, 'cached').cache, 'Hit');
        assert.equal(second.status?.outputs?.['run'], first.status?.outputs?.['run']);
        assert.equal(second.status?.progress, '2/2 (1 cached)');
        const cachedPods = await cachedNodePods(own, pods, task);
        assert.deepEqual(cachedPods.map(workflowOf), ['rs-1']);
      });
    } finally {
      await pods.stop();
      await own.cleanup();
    }
  });

  test('a serialized holder whose pod the API server refuses gives its reservation back at once: the next run does not wait for it to lapse', { timeout: 60_000 }, async () => {
    const task = 'rejsq';
    const pods = await podRecorder(env(), `${L.task}=${task}`);
    try {
      // The same task (name, cache version, interface) and inputs, so the same entry; only the pod options differ.
      await submit(env(), 'rej-1', spec(task, 6, { serialize: true, pod: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } }));
      const refused = await expectPhase(env(), 'rej-1', 'Failed', 30_000);
      assert.equal(refused.status?.error?.code, 'PodRejected');
      assert.equal(nodeStatus(refused.status, 'cached').cache, 'Miss');
      // The reservation lasts 30 s (cache.reservationMs); given back, the entry goes at once.
      await eventually(env(), 'rej-1', 'the refused holder to release its reservation', async () => (await entriesOf(env(), task)).length === 0, 10_000);
      const started = Date.now();
      await submit(env(), 'rej-2', spec(task, 6, { serialize: true }));
      const second = await expectPhase(env(), 'rej-2', 'Succeeded', 20_000);
      await explain(env(), 'rej-2', async () => {
        assert.ok(Date.now() - started < 15_000, `the next run took ${Date.now() - started} ms`);
        assert.equal(nodeStatus(second.status, 'cached').cache, 'Populated');
        assert.deepEqual((await cachedNodePods(env(), pods, task)).map(workflowOf), ['rej-2']);
      });
    } finally {
      await pods.stop();
    }
  });

  // The propeller remembers the entries its own executors wrote (CacheOverlay) until its cache informer
  // shows them; it only forgets one when a round of the namespace runs after that. When the write was the
  // workflow's last round, nothing runs, and the memory outlives the entry's deletion for up to 60 s.
  test('deleting the entry right after the run that wrote it (its last node) invalidates it', { timeout: 60_000 }, async () => {
    // Its own namespace and propeller: any other round in the namespace would hide the bug.
    const own = await startEnv({ kubeconfigPath: env().kubeconfig, client: env().client, kubectl: kubectlPath }, 'cache-delete', FAST_RETRIES);
    const task = 'lastsq';
    const only = (): Record<string, unknown> => ({ interface: { outputs: { run: 'str' } }, tasks: { [task]: cachedTask() }, nodes: { cached: { task, inputs: { x: { value: 4 } } } }, outputs: { run: { from: 'cached.run' } } });
    try {
      await waitForReady(own.propeller);
      await submit(own, 'last-1', only());
      const first = await expectPhase(own, 'last-1', 'Succeeded', 30_000);
      await kubectl(own, kubectlPath, ['-n', own.ns, 'delete', 'cacheentries', '-l', `${L.task}=${task}`]);
      assert.equal((await entriesOf(own, task)).length, 0);
      await submit(own, 'last-2', only());
      const second = await expectPhase(own, 'last-2', 'Succeeded', 30_000);
      await explain(own, 'last-2', () => {
        assert.notEqual(nodeStatus(second.status, 'cached').cache, 'Hit', 'a hit on an entry that was deleted');
        assert.notEqual(second.status?.outputs?.['run'], first.status?.outputs?.['run']);
      });
    } finally {
      await own.cleanup();
    }
  });
});

// A watch that gets 410 Gone must relist without missing an event. The propeller reaches the API server
// through a proxy; the test cuts it off (its watches drop, its reconnects are held), makes changes while it
// cannot see them (new workflows, pods finishing, an abort, deletions), compacts etcd at the current
// revision and restarts the API server, so the resourceVersions the propeller resumes from no longer exist.
// Then every change must be processed. Resync is off (10 min), so only the relist can bring them in.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { MERGE_PATCH } from '../../src/k8s/rest.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { kwokTask, tail, wfPath, wfsPath } from '../integration/helpers/e2e.ts';
import { scrape } from '../integration/helpers/metrics.ts';
import { workflowManifest } from '../integration/helpers/workflows.ts';
import {
  alive,
  apiServerOutage,
  compactEtcd,
  createRetrying,
  CutProxy,
  duplicatePods,
  etcdRevision,
  logLines,
  ResilientRecorder,
  retrying,
  seededRng,
  slimWorkflow,
  startRbacEnv,
  StatusInvariants,
  watchFrom,
  type RbacEnv,
} from './apiserver-faults.ts';
import { recordResult, SCALE } from './results.ts';

const PLAN = SCALE === 'full' ? { cycles: 3, before: 4, during: 4 } : { cycles: 1, before: 2, during: 2 };
/** The propeller's informers give up their resourceVersion after 4 failed attempts (about 21 s when each waits out a 10 s connect timeout). */
const MAX_GAP_MS = 18_000;

/** first → second, with outputs built from the input. */
function chain(x: number, firstMs: number, secondMs = 300): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'int' }, outputs: { result: 'str' } },
    inputs: { x },
    tasks: {
      tf: kwokTask('{"o0": "f{{.inputs.x}}"}', { inputs: { x: 'int' }, outputs: { o0: 'str' }, duration: `${firstMs}ms` }),
      ts: kwokTask('{"o0": "s({{.inputs.v}})"}', { inputs: { v: 'str' }, outputs: { o0: 'str' }, duration: `${secondMs}ms` }),
    },
    nodes: { first: { task: 'tf', inputs: { x: { from: 'inputs.x' } } }, second: { task: 'ts', inputs: { v: { from: 'first.o0' } } } },
    outputs: { result: { from: 'second.o0' } },
  };
}
const expected = (x: number) => `s(f${x})`;

/** One long node, to be aborted or deleted while it runs. */
function long(): Record<string, unknown> {
  return {
    interface: { inputs: {}, outputs: {} },
    tasks: { t: kwokTask('{}', { duration: '300s' }) },
    nodes: { n: { task: 't' } },
  };
}

const TERMINAL = ['Succeeded', 'Failed', 'Aborted'];

describe('watch expiry (410 Gone)', () => {
  const cluster = useTestCluster();
  let env: RbacEnv | undefined;
  let proxy: CutProxy | undefined;
  after(async () => {
    await env?.cleanup();
    await proxy?.close();
  });

  test(`the propeller relists after ${PLAN.cycles} forced watch expiries and misses nothing`, { timeout: SCALE === 'full' ? 300_000 : 120_000 }, async () => {
    const rng = seededRng('watch-expiry');
    const { client } = cluster();
    proxy = await CutProxy.start(client.server);
    env = await startRbacEnv(cluster(), 'rel-expiry', { server: proxy.url, args: ['--resync-period-ms', '600000'] });
    const e = env;
    const p = proxy;
    const ns = e.ns;
    const informers = [`flyteworkflows/${ns}`, `pods/${ns}`];
    const invariants = new StatusInvariants();
    const workflows = await ResilientRecorder.start<FlyteWorkflow>(client, wfsPath(ns), { slim: slimWorkflow, onVersion: (type, wf) => invariants.observe(wf, type === 'DELETED') });
    const podRec = await ResilientRecorder.start<Pod>(client, `/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app.kubernetes.io/managed-by=propeller' });
    const phase = (name: string) => workflows.current.get(name)?.status?.phase;
    const create = (name: string, spec: Record<string, unknown>) => createRetrying<FlyteWorkflow>(client, wfsPath(ns), workflowManifest(name, spec));
    const waitUntil = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (await check()) return;
        await sleep(100);
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- propeller log:\n${tail(e.propeller.logs(), 30)}`);
    };
    const podPhase = (name: string) => podRec.current.get(name)?.status?.phase;
    const podStarted = new Set<string>();
    const podDoneAt = new Map<string, number>();
    podRec.onVersion((_type, pod) => {
      const ph = pod.status?.phase;
      if (ph === 'Running' || ph === 'Succeeded') podStarted.add(pod.metadata.name);
      if (ph === 'Succeeded' && !podDoneAt.has(pod.metadata.name)) podDoneAt.set(pod.metadata.name, Date.now());
    });

    const inputs = new Map<string, number>();
    let x = 0;
    const missed: string[] = [];
    const cycleNotes: string[] = [];
    let expiries = 0;
    let changesInGaps = 0;
    let created = 1;
    let failure: unknown;
    try {
      // A finished workflow to delete during the first gap.
      await create('done-0', chain(++x, 200, 200));
      inputs.set('done-0', x);
      await waitUntil('done-0 to finish', () => phase('done-0') === 'Succeeded' && !(workflows.current.get('done-0')?.metadata.finalizers ?? []).length);

      for (let c = 0; c < PLAN.cycles; c++) {
        // Before the gap: workflows whose first pod will finish while the propeller cannot see it, and two
        // long ones, to abort and to delete meanwhile.
        const firstMs = SCALE === 'full' ? rng.int(2500, 4000) : rng.int(1500, 2500);
        const before = Array.from({ length: PLAN.before }, (_, i) => `c${c}-before-${i}`);
        for (const name of before) {
          inputs.set(name, ++x);
          await create(name, chain(x, firstMs));
        }
        await create(`c${c}-abort`, long());
        await create(`c${c}-delete`, long());
        created += PLAN.before + 2 + PLAN.during;
        const firstPods = before.map((n) => `${n}-first-0`);
        await waitUntil('the first pods to run', () => [...firstPods, `c${c}-abort-n-0`, `c${c}-delete-n-0`].every((n) => podStarted.has(n)), 30_000);
        // Written by the propeller by now; what it has seen is at least this recent.
        await sleep(300);
        const seenRv = await retrying(() => client.request<{ metadata: { resourceVersion: string } }>('GET', wfsPath(ns), { query: { limit: 1 } }));
        const podsRv = await retrying(() => client.request<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { limit: 1 } }));
        const metricsBefore = await scrape(e.port);
        const expiredBefore = informers.map((informer) => metricsBefore.value('propeller_informer_relists_total', { informer, reason: 'expired' }));

        // The gap.
        const cutAt = Date.now();
        p.cut();
        const during = Array.from({ length: PLAN.during }, (_, i) => `c${c}-during-${i}`);
        for (const name of during) {
          inputs.set(name, ++x);
          await create(name, chain(x, rng.int(200, 800)));
        }
        await retrying(() => client.request('PATCH', wfPath(ns, `c${c}-abort`), { body: { spec: { abort: true } }, contentType: MERGE_PATCH }));
        await retrying(() => client.request('DELETE', wfPath(ns, `c${c}-delete`)));
        const gone = c === 0 ? 'done-0' : `c${c - 1}-during-0`;
        await retrying(() => client.request('DELETE', wfPath(ns, gone)));
        inputs.delete(gone);
        await waitUntil('the first pods to finish during the gap', () => firstPods.every((n) => podPhase(n) === 'Succeeded'), 15_000);
        // Pods that finished before the cut are no change of the gap (a slow start can make that happen).
        const finishedInGap = firstPods.filter((n) => (podDoneAt.get(n) ?? 0) > cutAt).length;
        changesInGaps += during.length + 3 + finishedInGap;
        // Nothing the propeller resumes from survives: compact etcd at its current revision and restart the
        // API server, whose new watch cache starts there.
        const revision = await etcdRevision();
        await compactEtcd(revision);
        const outage = await apiServerOutage(client, 300);
        const wfWatch = await watchFrom(client, wfsPath(ns), seenRv.metadata.resourceVersion);
        const podWatch = await watchFrom(client, `/api/v1/namespaces/${ns}/pods`, podsRv.metadata.resourceVersion);
        assert.equal(wfWatch, 'expired', `a workflow watch from ${seenRv.metadata.resourceVersion} should get 410 after compacting at ${revision}`);
        assert.equal(podWatch, 'expired', `a pod watch from ${podsRv.metadata.resourceVersion} should get 410 after compacting at ${revision}`);
        const gapMs = Date.now() - cutAt;
        const held = p.restore();
        process.stderr.write(`[watch-expiry] cycle ${c + 1}: gap ${gapMs} ms (API server down ${outage.readyAt - outage.killedAt} ms), compacted at ${revision}, ${held} held connections released\n`);

        // Every change of the gap is processed.
        const problems: string[] = [];
        try {
          await waitUntil('every change of the gap to be processed', async () => {
            const ok =
              [...before, ...during].every((n) => phase(n) === 'Succeeded') &&
              phase(`c${c}-abort`) === 'Aborted' &&
              !workflows.current.has(`c${c}-delete`) &&
              !workflows.current.has(gone);
            if (!ok) return false;
            const s = await scrape(e.port);
            return s.value('propeller_workflows') === workflows.current.size;
          }, 60_000);
        } catch {
          for (const n of [...before, ...during]) if (phase(n) !== 'Succeeded') problems.push(`${n} is ${phase(n) ?? 'not started'}`);
          if (phase(`c${c}-abort`) !== 'Aborted') problems.push(`c${c}-abort is ${phase(`c${c}-abort`)}, not Aborted`);
          if (workflows.current.has(`c${c}-delete`)) problems.push(`c${c}-delete was not finalized (${phase(`c${c}-delete`)})`);
          const s = await scrape(e.port);
          if (s.value('propeller_workflows') !== workflows.current.size) problems.push(`the propeller's cache holds ${s.value('propeller_workflows')} workflows, the namespace ${workflows.current.size}`);
        }
        const metricsAfter = await scrape(e.port);
        const expired = informers.map((informer, k) => metricsAfter.value('propeller_informer_relists_total', { informer, reason: 'expired' }) - expiredBefore[k]!);
        for (const [k, informer] of informers.entries()) if (expired[k]! < 1) problems.push(`${informer} did not relist for an expired watch`);
        expiries += Math.min(...expired);
        missed.push(...problems.map((pr) => `cycle ${c + 1}: ${pr}`));
        cycleNotes.push(`gap ${(gapMs / 1000).toFixed(1)} s (${during.length} created, ${finishedInGap} pods finished, 1 aborted, 2 deleted), relists for 410: ${expired.join('/')}`);
        assert.ok(alive(e.propeller), 'the propeller is running');
        assert.ok(gapMs < MAX_GAP_MS, `the gap took ${gapMs} ms; past ${MAX_GAP_MS} ms the informers relist for errors, not for 410`);
      }
    } catch (err) {
      failure = err;
    }

    // Outputs of every workflow still there, and pods.
    const finals = await retrying(() => client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns)));
    for (const wf of finals.items) {
      const xv = inputs.get(wf.metadata.name);
      if (xv === undefined) continue;
      if (wf.status?.phase === 'Succeeded' && wf.status.outputs?.['result'] !== expected(xv)) missed.push(`${wf.metadata.name}: result ${JSON.stringify(wf.status.outputs?.['result'])}, expected ${expected(xv)}`);
    }
    const livePods = await retrying(() => client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app.kubernetes.io/managed-by=propeller' } }));
    const dup = duplicatePods([...podRec.byUid.values(), ...livePods.items]);
    const logged410 = logLines(e.propeller.logs()).filter((l) => l.msg === 'watch expired (410 Gone); relisting').length;
    await workflows.stop();
    await podRec.stop();

    const passed = !failure && missed.length === 0 && dup.duplicates === 0 && invariants.problems.length === 0 && expiries >= PLAN.cycles;
    recordResult({
      fault: 'Watch expired (410 Gone): propeller cut off, changes made, etcd compacted at the current revision, API server restarted',
      injected: PLAN.cycles,
      workflows: created,
      outcome: `${changesInGaps} changes made while the propeller could not watch (workflows created, pods finished, abort, deletions) all processed after the relist; ${missed.length} missed`,
      lost: missed.length,
      duplicates: dup.duplicates,
      passed,
      notes: `resync off; ${logged410} "watch expired" log lines; ${cycleNotes.join('; ')}${invariants.problems.length ? `; ${invariants.problems.length} status regressions` : ''}${failure ? `; failed: ${String(failure).slice(0, 200)}` : ''}`,
    });

    if (failure) throw failure;
    assert.deepEqual(missed, [], 'every change made during the gaps was processed');
    assert.equal(dup.duplicates, 0, `duplicate pods: ${dup.details.join(', ')}`);
    assert.deepEqual(invariants.problems, [], 'no status regressions');
    assert.ok(expiries >= PLAN.cycles, `each informer relisted for 410 once per cycle (${expiries} of ${PLAN.cycles})`);
  });
});

// A concurrent writer keeps merge-patching labels and annotations on every FlyteWorkflow while it runs,
// so the propeller's status patches (pinned to the resourceVersion they were computed from) keep hitting
// 409 Conflict. Nothing may be lost: every workflow completes with the right outputs, and across every
// version the test observes, node phases only move forward, attempts never decrease, outputs never change
// once set, progress never decreases and a finished workflow stays finished. The writer's own labels and
// annotations must be intact at the end.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { MERGE_PATCH } from '../../src/k8s/rest.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { FAST_RETRIES, kwokTask, pyTask, tail, wfPath, wfsPath } from '../integration/helpers/e2e.ts';
import { scrape } from '../integration/helpers/metrics.ts';
import { workflowManifest } from '../integration/helpers/workflows.ts';
import { alive, createRetrying, duplicatePods, ResilientRecorder, retrying, seededRng, slimWorkflow, startRbacEnv, StatusInvariants, type RbacEnv, type Rng } from './apiserver-faults.ts';
import { recordResult, SCALE } from './results.ts';

// slots: writer patches in flight at once (RELIABILITY_WRITER_SLOTS overrides). One per workflow makes the
// writer as fast as the API server allows (on 2 cores it answers some 20-30 FlyteWorkflow patches a second
// in all). Before the propeller's writes became compare-and-swaps on what they own (status revision,
// finalizer list), such a writer starved workflows for minutes: every write pinned the resourceVersion.
const SLOTS = Number(process.env['RELIABILITY_WRITER_SLOTS']) || undefined;
const PLAN = SCALE === 'full' ? { workflows: 20, layers: 5, width: 4, slots: SLOTS ?? 20 } : { workflows: 3, layers: 2, width: 4, slots: SLOTS ?? 3 };
const SEQ = 'writer.test/seq';
const NOTE = (k: number) => `writer.test/note-${k}`;
/** Keeps writing this long after a workflow finished, so the finalizer removal meets conflicts too. */
const WRITE_AFTER_DONE_MS = 1000;

/**
 * `layers` × `width` nodes; node (l, i) joins nodes (l-1, i) and (l-1, i+1). Node (1, 0) is a real
 * Python task on the process node that fails its first attempt, so Retrying → Queued happens under
 * conflicts too.
 */
function lattice(x: number, rng: Rng): Record<string, unknown> {
  const { layers, width } = PLAN;
  const tasks: Record<string, unknown> = {
    seed: kwokTask('{"o0": "n{{.inputs.x}}.{{.inputs.i}}"}', { inputs: { x: 'int', i: 'int' }, outputs: { o0: 'str' }, duration: `${rng.int(300, 900)}ms` }),
    flaky: pyTask('import sys\nif attempt == 0:\n    sys.exit(3)\nout["o0"] = "(" + inp["a"] + "+" + inp["b"] + ")"', { inputs: { a: 'str', b: 'str' }, outputs: { o0: 'str' }, retries: 1 }),
  };
  const nodes: Record<string, unknown> = {};
  for (let l = 0; l < layers; l++) {
    if (l > 0) tasks[`join${l}`] = kwokTask('{"o0": "({{.inputs.a}}+{{.inputs.b}})"}', { inputs: { a: 'str', b: 'str' }, outputs: { o0: 'str' }, duration: `${rng.int(300, 900)}ms` });
    for (let i = 0; i < width; i++) {
      nodes[`l${l}_${i}`] =
        l === 0
          ? { task: 'seed', inputs: { x: { from: 'inputs.x' }, i: { value: i } } }
          : { task: l === 1 && i === 0 ? 'flaky' : `join${l}`, inputs: { a: { from: `l${l - 1}_${i}.o0` }, b: { from: `l${l - 1}_${(i + 1) % width}.o0` } } };
    }
  }
  return {
    interface: { inputs: { x: 'int' }, outputs: { last: 'list[str]' } },
    inputs: { x },
    tasks,
    nodes,
    outputs: { last: { list: Array.from({ length: width }, (_, i) => ({ from: `l${layers - 1}_${i}.o0` })) } },
  };
}

function expectedOutputs(x: number): { last: string[]; nodes: Map<string, string> } {
  const { layers, width } = PLAN;
  const nodes = new Map<string, string>();
  let prev = Array.from({ length: width }, (_, i) => `n${x}.${i}`);
  prev.forEach((v, i) => nodes.set(`l0_${i}`, v));
  for (let l = 1; l < layers; l++) {
    prev = prev.map((_, i) => `(${prev[i]}+${prev[(i + 1) % width]})`);
    prev.forEach((v, i) => nodes.set(`l${l}_${i}`, v));
  }
  return { last: prev, nodes };
}

describe('conflicting writers', () => {
  const cluster = useTestCluster();
  let env: RbacEnv | undefined;
  after(async () => {
    await env?.cleanup();
  });

  test(`${PLAN.workflows} workflows × ${PLAN.layers * PLAN.width} nodes complete while a writer patches their labels and annotations`, { timeout: SCALE === 'full' ? 300_000 : 120_000 }, async () => {
    const rng = seededRng('conflicts');
    env = await startRbacEnv(cluster(), 'rel-conflicts', { args: FAST_RETRIES });
    const e = env;
    const { client, ns } = e;

    // Every version: the status invariants, and the writer's sequence label never goes back or vanishes
    // (a propeller that wrote a stale copy of the object would revert it).
    const invariants = new StatusInvariants().also((prev, next) => {
      const a = Number(prev.metadata.labels?.[SEQ] ?? -1);
      const b = Number(next.metadata.labels?.[SEQ] ?? -1);
      return b < a ? [`writer label ${SEQ} went back ${a} → ${b}`] : [];
    });
    // The longest a running workflow went without its status changing: how long conflicts held it up.
    const lastStatus = new Map<string, { json: string; at: number }>();
    const stall = { ms: 0, workflow: '' };
    // When each workflow finished, and when its finalizer was gone (the removal is a write that conflicts too).
    const finishedAt = new Map<string, number>();
    const unfinalizedAt = new Map<string, number>();
    const workflows = await ResilientRecorder.start<FlyteWorkflow>(client, wfsPath(ns), {
      slim: slimWorkflow,
      onVersion: (type, wf) => {
        invariants.observe(wf, type === 'DELETED');
        const terminal = ['Succeeded', 'Failed', 'Aborted'].includes(wf.status?.phase ?? '');
        if (terminal && !finishedAt.has(wf.metadata.name)) finishedAt.set(wf.metadata.name, Date.now());
        if (terminal && !(wf.metadata.finalizers ?? []).length && !unfinalizedAt.has(wf.metadata.name)) unfinalizedAt.set(wf.metadata.name, Date.now());
        const json = JSON.stringify(wf.status ?? {});
        const prev = lastStatus.get(wf.metadata.name);
        if (prev?.json === json) return;
        const now = Date.now();
        if (prev && now - prev.at > stall.ms) Object.assign(stall, { ms: now - prev.at, workflow: wf.metadata.name });
        lastStatus.set(wf.metadata.name, { json, at: now });
      },
    });
    const pods = await ResilientRecorder.start<Pod>(client, `/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app.kubernetes.io/managed-by=propeller' });
    const before = await scrape(e.port);

    const names = Array.from({ length: PLAN.workflows }, (_, i) => `lat-${i}`);
    const xs = new Map(names.map((n, i) => [n, 100 + i]));
    let patches = 0;
    let patchErrors = 0;
    let patchMs = 0;
    const lastSeq = new Map<string, number>();
    const notes = new Map<string, Map<number, string>>();
    let stopWriters = false;

    // At most PLAN.slots writer patches in flight.
    let inFlight = 0;
    const slotWaiters: (() => void)[] = [];
    const acquire = async () => {
      while (inFlight >= PLAN.slots) await new Promise<void>((resolve) => slotWaiters.push(resolve));
      inFlight++;
    };
    const release = () => {
      inFlight--;
      slotWaiters.shift()?.();
    };

    /** One writer per workflow: merge patches every 10–50 ms (or as fast as a slot frees up) until shortly after it is done. */
    const writer = async (name: string) => {
      let doneAt: number | undefined;
      for (let seq = 1; !stopWriters; seq++) {
        const k = seq % 4;
        await acquire();
        const t0 = performance.now();
        try {
          await client.request('PATCH', wfPath(ns, name), {
            body: { metadata: { labels: { [SEQ]: String(seq) }, annotations: { [SEQ]: String(seq), [NOTE(k)]: `v${seq}` } } },
            contentType: MERGE_PATCH,
          });
          patches++;
          patchMs += performance.now() - t0;
          lastSeq.set(name, seq);
          (notes.get(name) ?? notes.set(name, new Map()).get(name)!).set(k, `v${seq}`);
        } catch {
          patchErrors++;
        } finally {
          release();
        }
        const wf = workflows.current.get(name);
        const finished = ['Succeeded', 'Failed', 'Aborted'].includes(wf?.status?.phase ?? '') && !(wf?.metadata.finalizers ?? []).length;
        if (finished) doneAt ??= Date.now();
        if (doneAt !== undefined && Date.now() - doneAt > WRITE_AFTER_DONE_MS) return;
        await sleep(rng.int(10, 50));
      }
    };

    const started = Date.now();
    const writers: Promise<void>[] = [];
    let failure: unknown;
    try {
      for (const name of names) {
        await createRetrying(client, wfsPath(ns), workflowManifest(name, lattice(xs.get(name)!, rng)));
        writers.push(writer(name));
      }
      const deadline = Date.now() + (SCALE === 'full' ? 150_000 : 75_000);
      while (Date.now() < deadline) {
        if (names.every((n) => ['Succeeded', 'Failed', 'Aborted'].includes(workflows.current.get(n)?.status?.phase ?? ''))) break;
        await sleep(250);
      }
      await Promise.race([Promise.all(writers), sleep(WRITE_AFTER_DONE_MS + 5000)]);
    } catch (err) {
      failure = err;
    }
    stopWriters = true;
    await Promise.all(writers);
    const elapsedS = (Date.now() - started) / 1000;
    // A finalizer removal that kept conflicting waits out its backoff (up to queue.maxDelayMs, 60 s).
    const finalizersDeadline = Date.now() + 65_000;
    while (Date.now() < finalizersDeadline && [...finishedAt.keys()].some((n) => !unfinalizedAt.has(n))) await sleep(200);
    const finalizerLag = Math.max(0, ...[...finishedAt].map(([n, at]) => (unfinalizedAt.get(n) ?? Date.now()) - at));
    await sleep(500);

    const afterScrape = await scrape(e.port);
    // A refused write is a 409 (a resourceVersion precondition) or a 422 (a failed JSON Patch test).
    const refused = (labels: Record<string, string>) =>
      ['409', '422'].reduce((sum, code) => sum + afterScrape.value('propeller_api_requests_total', { ...labels, code }) - before.value('propeller_api_requests_total', { ...labels, code }), 0);
    const conflicts = refused({});
    const statusConflicts = refused({ resource: 'flyteworkflows/status' });
    const statusWrites = afterScrape.value('propeller_api_requests_total', { verb: 'patch', resource: 'flyteworkflows/status' }) - before.value('propeller_api_requests_total', { verb: 'patch', resource: 'flyteworkflows/status' });
    const retryRounds = afterScrape.value('propeller_round_duration_seconds_count', { outcome: 'retry' }) + afterScrape.value('propeller_round_duration_seconds_count', { outcome: 'error' });

    const finals = await retrying(() => client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns)));
    const byName = new Map(finals.items.map((w) => [w.metadata.name, w]));
    const wrong: string[] = [];
    const writerLost: string[] = [];
    for (const name of names) {
      const wf = byName.get(name);
      const st = wf?.status;
      const exp = expectedOutputs(xs.get(name)!);
      if (st?.phase !== 'Succeeded') {
        wrong.push(`${name}: ${st?.phase ?? 'no status'} (${st?.progress}) ${st?.message ?? ''}`);
      } else if (JSON.stringify(st.outputs?.['last']) !== JSON.stringify(exp.last) || st.progress !== `${exp.nodes.size}/${exp.nodes.size}`) {
        wrong.push(`${name}: outputs ${JSON.stringify(st.outputs)}, progress ${st.progress}`);
      } else {
        for (const [id, value] of exp.nodes) {
          const n = st.nodes?.[id];
          const attempts = id === 'l1_0' ? 2 : 1;
          if (n?.outputs?.['o0'] !== value || n.attempts !== attempts) wrong.push(`${name}/${id}: ${n?.phase} attempts ${n?.attempts} (expected ${attempts}) o0 ${JSON.stringify(n?.outputs?.['o0'])}`);
        }
      }
      if (['Succeeded', 'Failed', 'Aborted'].includes(st?.phase ?? '') && (wf?.metadata.finalizers ?? []).length) wrong.push(`${name}: finalizer still on a finished workflow 65 s after the writer stopped`);
      const seq = lastSeq.get(name);
      if (seq !== undefined && wf?.metadata.labels?.[SEQ] !== String(seq)) writerLost.push(`${name}: label ${SEQ}=${wf?.metadata.labels?.[SEQ]}, last written ${seq}`);
      if (seq !== undefined && wf?.metadata.annotations?.[SEQ] !== String(seq)) writerLost.push(`${name}: annotation ${SEQ}=${wf?.metadata.annotations?.[SEQ]}, last written ${seq}`);
      for (const [k, v] of notes.get(name) ?? []) if (wf?.metadata.annotations?.[NOTE(k)] !== v) writerLost.push(`${name}: annotation ${NOTE(k)}=${wf?.metadata.annotations?.[NOTE(k)]}, written ${v}`);
    }
    const livePods = await retrying(() => client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app.kubernetes.io/managed-by=propeller' } }));
    const allPods = [...pods.byUid.values(), ...livePods.items];
    const dup = duplicatePods(allPods);
    const expectedPods = names.length * (PLAN.layers * PLAN.width + 1);
    const extraPods = Math.max(0, new Set(allPods.map((p) => p.metadata.name)).size - expectedPods);
    const versions = invariants.versions;
    for (const [name, st] of lastStatus) {
      const phase = byName.get(name)?.status?.phase ?? '';
      if (!['Succeeded', 'Failed', 'Aborted'].includes(phase) && Date.now() - st.at > stall.ms) Object.assign(stall, { ms: Date.now() - st.at, workflow: `${name} (still stuck)` });
    }
    for (const name of names) if (!lastStatus.has(name)) Object.assign(stall, { ms: Date.now() - started, workflow: `${name} (never got a status)` });
    await workflows.stop();
    await pods.stop();

    const exited = !alive(e.propeller);
    const passed = !failure && wrong.length === 0 && writerLost.length === 0 && invariants.problems.length === 0 && dup.duplicates === 0 && extraPods === 0 && !exited && patches >= names.length * 10 && conflicts <= names.length && stall.ms < 20_000;
    for (const pr of invariants.problems.slice(0, 20)) process.stderr.write(`[conflicts] regression: ${pr}\n`);
    for (const w of wrong.slice(0, 20)) process.stderr.write(`[conflicts] wrong: ${w}\n`);
    process.stderr.write(
      `[conflicts] longest status stall ${(stall.ms / 1000).toFixed(1)} s (${stall.workflow}), finalizer removal ${(finalizerLag / 1000).toFixed(1)} s after finishing; writer patch latency avg ${(patchMs / Math.max(1, patches)).toFixed(0)} ms; ${elapsedS.toFixed(0)} s, ${patches} writer patches (${patchErrors} failed), ${conflicts} 409s for the propeller (${statusConflicts} of ${statusWrites} status patches), ${retryRounds} retried rounds, ${versions} versions checked\n`,
    );
    recordResult({
      fault: `Concurrent writer: merge patches of labels and annotations on every running FlyteWorkflow (each every 10–50 ms or as fast as ${PLAN.slots} requests in flight allow)`,
      injected: patches,
      workflows: names.length,
      outcome: `${names.length - new Set(wrong.map((w) => w.split(/[:/]/)[0])).size}/${names.length} Succeeded with correct outputs (${PLAN.layers * PLAN.width} nodes each, one retried node); the propeller's writes were refused ${conflicts} times (${statusConflicts} of ${statusWrites} status patches); ${invariants.problems.length} regressions in ${versions} observed versions; writer's labels and annotations ${writerLost.length ? 'NOT ' : ''}intact`,
      lost: new Set(wrong.map((w) => w.split(/[:/]/)[0])).size + writerLost.length + invariants.problems.length,
      duplicates: dup.duplicates + extraPods,
      passed,
      notes: `${elapsedS.toFixed(0)} s; writer patch latency ${(patchMs / Math.max(1, patches)).toFixed(0)} ms; longest a running workflow went without a status change: ${(stall.ms / 1000).toFixed(1)} s (${stall.workflow}); longest from finishing to the finalizer's removal: ${(finalizerLag / 1000).toFixed(1)} s; ${patchErrors} writer patches failed${exited ? '; the propeller exited' : ''}${failure ? `; failed: ${String(failure).slice(0, 200)}` : ''}`,
    });

    if (failure) throw failure;
    assert.ok(!exited, `the propeller exited:\n${tail(e.propeller.logs(), 40)}`);
    assert.deepEqual(wrong, [], 'every workflow Succeeded with the right outputs');
    assert.deepEqual(invariants.problems, [], 'no status regressions across observed versions');
    assert.deepEqual(writerLost, [], "the writer's labels and annotations are intact");
    assert.equal(dup.duplicates, 0, `duplicate pods: ${dup.details.join(', ')}`);
    assert.equal(extraPods, 0, 'one pod per (node, attempt)');
    // Status writes are a compare-and-swap on the status alone and finalizer edits test only the finalizer
    // list, so another client's label and annotation writes must not get in their way at all.
    assert.ok(patches >= names.length * 10, `the writer really contended (${patches} patches)`);
    assert.ok(conflicts <= names.length, `the propeller's writes were refused ${conflicts} times`);
    assert.ok(stall.ms < 20_000, `no workflow stalled: longest ${(stall.ms / 1000).toFixed(1)} s (${stall.workflow})`);
  });
});

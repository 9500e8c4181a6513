// kube-apiserver is SIGKILLed mid-run and started again on the same etcd. The propeller must ride it
// out: never exit, reconnect its informers with backoff, finish every workflow correctly with one pod per
// (node, attempt), and not hot-loop while the server is gone: its list/watch retries and failed rounds
// stay within what the informer backoff and the work queue's per-key backoff allow.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { kwokTask, tail, wfsPath } from '../integration/helpers/e2e.ts';
import { scrape, type Scrape } from '../integration/helpers/metrics.ts';
import { workflowManifest } from '../integration/helpers/workflows.ts';
import {
  alive,
  apiServerOutage,
  createRetrying,
  duplicatePods,
  logLines,
  ResilientRecorder,
  retrying,
  seededRng,
  slimWorkflow,
  startRbacEnv,
  StatusInvariants,
  type LogLine,
  type Outage,
  type RbacEnv,
  type Rng,
} from './apiserver-faults.ts';
import { recordResult, SCALE } from './results.ts';

const PLAN =
  SCALE === 'full'
    ? { waves: [10, 10, 10], downMs: [2000, 8000, 20000] }
    : { waves: [4], downMs: [3000] };

/** a → (b, c) → d, strings built from the input, so a wrong or lost output shows in the result. */
function diamond(x: number, rng: Rng): Record<string, unknown> {
  const d = () => ({ duration: `${rng.int(800, 2500)}ms` });
  return {
    interface: { inputs: { x: 'int' }, outputs: { result: 'str' } },
    inputs: { x },
    tasks: {
      ta: kwokTask('{"o0": "a{{.inputs.x}}"}', { inputs: { x: 'int' }, outputs: { o0: 'str' }, ...d() }),
      tb: kwokTask('{"o0": "b({{.inputs.v}})"}', { inputs: { v: 'str' }, outputs: { o0: 'str' }, ...d() }),
      tc: kwokTask('{"o0": "c({{.inputs.v}})"}', { inputs: { v: 'str' }, outputs: { o0: 'str' }, ...d() }),
      td: kwokTask('{"o0": "d({{.inputs.l}},{{.inputs.r}})"}', { inputs: { l: 'str', r: 'str' }, outputs: { o0: 'str' }, ...d() }),
    },
    nodes: {
      a: { task: 'ta', inputs: { x: { from: 'inputs.x' } } },
      b: { task: 'tb', inputs: { v: { from: 'a.o0' } } },
      c: { task: 'tc', inputs: { v: { from: 'a.o0' } } },
      d: { task: 'td', inputs: { l: { from: 'b.o0' }, r: { from: 'c.o0' } } },
    },
    outputs: { result: { from: 'd.o0' } },
  };
}
const expected = (x: number) => `d(b(a${x}),c(a${x}))`;

/** One short node: proves the propeller sees new workflows and pod changes again. */
function probeSpec(i: number): Record<string, unknown> {
  return {
    interface: { inputs: {}, outputs: { ok: 'int' } },
    tasks: { t: kwokTask(`{"o0": ${i}}`, { outputs: { o0: 'int' }, duration: '100ms' }) },
    nodes: { n: { task: 't' } },
    outputs: { ok: { from: 'n.o0' } },
  };
}

/**
 * Most failures a retry loop with this backoff can log in `windowMs`: the first at once, then one after
 * each delay, the delays being at least `minDelay(i)` (jitter taken at its smallest).
 */
function maxFailures(windowMs: number, minDelay: (i: number) => number): number {
  let n = 1;
  let t = 0;
  for (let i = 0; ; i++) {
    t += minDelay(i);
    if (t > windowMs) return n;
    n++;
  }
}
/** Informer: 500 ms × 2^i, capped at 30 s, times a jitter of 0.5–1. */
const informerMinDelay = (i: number) => 0.5 * Math.min(30_000, 500 * 2 ** i);
/** Work queue: 50 ms × 2^i per key (the chart's queue.baseDelayMs), capped at 60 s. */
const queueMinDelay = (i: number) => Math.min(60_000, 50 * 2 ** i);

const failedRequests = (s: Scrape) => {
  let n = 0;
  for (const line of s.text.split('\n')) {
    const m = /^propeller_api_requests_total\{(.*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const code = /code="(\d+)"/.exec(m[1]!)?.[1];
    if (code === '0' || code === '429' || (code !== undefined && Number(code) >= 500)) n += Number(m[2]);
  }
  return n;
};

describe('kube-apiserver outages', () => {
  const cluster = useTestCluster();
  let env: RbacEnv | undefined;
  after(async () => {
    await env?.cleanup();
  });

  test(`the propeller rides out ${PLAN.downMs.length} API server outage(s) (${PLAN.downMs.map((d) => `${d / 1000} s`).join(', ')})`, { timeout: SCALE === 'full' ? 300_000 : 120_000 }, async () => {
    const rng = seededRng('apiserver-outage');
    env = await startRbacEnv(cluster(), 'rel-outage');
    const e = env;
    const { client, ns } = e;
    const invariants = new StatusInvariants();
    const workflows = await ResilientRecorder.start<FlyteWorkflow>(client, wfsPath(ns), { slim: slimWorkflow, onVersion: (type, wf) => invariants.observe(wf, type === 'DELETED') });
    const pods = await ResilientRecorder.start<Pod>(client, `/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app.kubernetes.io/managed-by=propeller' });
    // When each pod was first seen, and first seen Succeeded (to tell the propeller's delays from the cluster's).
    const podSeenAt = new Map<string, number>();
    const podDoneAt = new Map<string, number>();
    const podStartedAt = new Map<string, number>();
    pods.onVersion((_type, p) => {
      if (!podSeenAt.has(p.metadata.name)) podSeenAt.set(p.metadata.name, Date.now());
      if (p.status?.phase === 'Succeeded' && !podDoneAt.has(p.metadata.name)) podDoneAt.set(p.metadata.name, Date.now());
      if ((p.status?.phase === 'Running' || p.status?.phase === 'Succeeded') && !podStartedAt.has(p.metadata.name)) podStartedAt.set(p.metadata.name, Date.now());
    });
    const informers = [`flyteworkflows/${ns}`, `pods/${ns}`];

    const inputs = new Map<string, number>();
    const outages: (Outage & { downMs: number; failedRequests: number; relists: number[]; recoveredAt: number | undefined; pickedUpMs: number; sawDoneMs: number; inFlight: number })[] = [];
    const notes: string[] = [];
    let x = 0;
    let failure: unknown;
    try {
      for (const [i, size] of PLAN.waves.entries()) {
        for (let j = 0; j < size; j++) {
          const name = `w${i}-${j}`;
          inputs.set(name, ++x);
          await createRetrying(client, wfsPath(ns), workflowManifest(name, diamond(x, rng)));
        }
        // The server goes away just after the wave's first pods started running: the propeller then holds
        // status changes it has not written yet (Queued → Running waits up to cosmeticWriteDelayMs to ride
        // along with the next change), so rounds fail while it is down and must back off.
        const firstPods = Array.from({ length: size }, (_, j) => `w${i}-${j}-a-0`);
        const waitUntil = Date.now() + 30_000;
        while (Date.now() < waitUntil && !firstPods.every((n) => podStartedAt.has(n))) await sleep(20);
        await sleep(rng.int(100, 500));
        const before = await scrape(e.port);
        const inFlight = [...workflows.current.values()].filter((w) => !['Succeeded', 'Failed', 'Aborted'].includes(w.status?.phase ?? '')).length;
        const relistsBefore = informers.map((informer) => before.value('propeller_informer_relists_total', { informer }));
        const outage = await apiServerOutage(client, PLAN.downMs[i]!);
        process.stderr.write(`[apiserver-outage] outage ${i + 1}: down ${PLAN.downMs[i]} ms, /readyz after ${outage.readyAt - outage.killedAt} ms, ${inFlight} workflows in flight\n`);
        // Reconnected: a workflow created now runs to the end, which takes both informers (the workflow
        // informer to see it, the pod informer to see its pod finish). They may have resumed their watches or
        // listed again; the relists are counted below.
        // The cluster's own components (the scheduler, KWOK) reconnect with their own backoff, so the
        // propeller's part is measured on its own: from the workflow's creation to its pod's, and from the
        // pod finishing to the workflow finishing.
        let recoveredAt: number | undefined;
        const probe = `probe-${i}`;
        const probeCreatedAt = Date.now();
        await createRetrying(client, wfsPath(ns), workflowManifest(probe, probeSpec(i)));
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
          if (workflows.current.get(probe)?.status?.phase === 'Succeeded') {
            recoveredAt = Date.now();
            break;
          }
          await sleep(50);
        }
        const probePod = `${probe}-n-0`;
        const pickedUpMs = (podSeenAt.get(probePod) ?? NaN) - probeCreatedAt;
        const sawDoneMs = (recoveredAt ?? NaN) - (podDoneAt.get(probePod) ?? NaN);
        // Rounds that failed meanwhile are retried by now (their backoff is far shorter than this).
        await sleep(1000);
        const afterScrape = await scrape(e.port);
        const relists = informers.map((informer, k) => afterScrape.value('propeller_informer_relists_total', { informer }) - relistsBefore[k]!);
        outages.push({ ...outage, downMs: PLAN.downMs[i]!, failedRequests: failedRequests(afterScrape) - failedRequests(before), relists, recoveredAt, pickedUpMs, sawDoneMs, inFlight });
        assert.ok(alive(e.propeller), `the propeller exited during outage ${i + 1}:\n${tail(e.propeller.logs(), 30)}`);
      }

      // Every workflow finishes.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const done = [...inputs.keys()].every((n) => ['Succeeded', 'Failed', 'Aborted'].includes(workflows.current.get(n)?.status?.phase ?? ''));
        if (done) break;
        await sleep(250);
      }
    } catch (err) {
      // Measured and recorded below all the same; rethrown at the end.
      failure = err;
    }

    const finals = await retrying(() => client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns)));
    const byName = new Map(finals.items.map((w) => [w.metadata.name, w]));
    const wrong: string[] = [];
    for (const [name, xv] of inputs) {
      const wf = byName.get(name);
      const st = wf?.status;
      if (st?.phase !== 'Succeeded') wrong.push(`${name}: ${st?.phase ?? 'no status'} ${st?.message ?? ''}`);
      else if (st.outputs?.['result'] !== expected(xv)) wrong.push(`${name}: result ${JSON.stringify(st.outputs?.['result'])}, expected ${expected(xv)}`);
      else {
        for (const [id, n] of Object.entries(st.nodes ?? {})) if (n.attempts !== 1 || n.systemFailures) wrong.push(`${name}/${id}: attempts ${n.attempts}, systemFailures ${n.systemFailures ?? 0}`);
      }
    }
    await sleep(500);
    const livePods = await retrying(() => client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: 'app.kubernetes.io/managed-by=propeller' } }));
    const dup = duplicatePods([...pods.byUid.values(), ...livePods.items]);
    const expectedPods = inputs.size * 4 + outages.length; // and one per probe
    const extraPods = Math.max(0, new Set([...pods.byUid.values(), ...livePods.items].map((p) => p.metadata.name)).size - expectedPods);

    // Hot-loop checks from the propeller's own log.
    const lines = logLines(e.propeller.logs());
    const watchFailures = lines.filter((l) => l.msg === 'list/watch failed; retrying');
    const roundFailures = lines.filter((l) => l.msg === 'round failed; retrying with backoff');
    const hot: string[] = [];
    const perOutage: string[] = [];
    for (const [k, o] of outages.entries()) {
      const end = outages[k + 1]?.killedAt ?? Date.now();
      const inWindow = (l: LogLine) => l.t >= o.killedAt - 50 && l.t < end;
      // Failures can only happen while the server is unreachable, plus the restarted server's start-up (429s).
      const window = o.readyAt - o.killedAt + 2000;
      const informerBound = maxFailures(window, informerMinDelay) + 1;
      let worstInformer = 0;
      for (const informer of informers) {
        const mine = watchFailures.filter((l) => l.informer === informer && inWindow(l));
        worstInformer = Math.max(worstInformer, mine.length);
        if (mine.length > informerBound) hot.push(`outage ${k + 1}: ${informer} failed ${mine.length} times in ${window} ms (backoff allows ${informerBound})`);
        for (let j = 1; j < mine.length; j++) {
          const gap = mine[j]!.t - mine[j - 1]!.t;
          const waited = Number(mine[j - 1]!['retryInMs']);
          if (gap < waited - 30) hot.push(`outage ${k + 1}: ${informer} retried after ${gap} ms instead of the ${waited} ms it announced`);
          if (waited < 250) hot.push(`outage ${k + 1}: ${informer} announced a ${waited} ms retry, under the 250 ms minimum`);
        }
      }
      // +2: a key re-added while its round ran goes again at once, and an earlier pending deadline wins over a longer new one.
      const roundBound = maxFailures(window, queueMinDelay) + 2;
      const byKey = new Map<string, LogLine[]>();
      for (const l of roundFailures.filter(inWindow)) {
        const key = String(l['workflow']);
        (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(l);
      }
      let worstKey = 0;
      for (const [key, ls] of byKey) {
        worstKey = Math.max(worstKey, ls.length);
        if (ls.length > roundBound) hot.push(`outage ${k + 1}: ${key} failed ${ls.length} rounds in ${window} ms (bound ${roundBound})`);
        // The per-key backoff must keep growing while the server stays away: a failed round that is retried
        // with its failure count reset (a round that "succeeded" in between without reaching the server)
        // would retry at the base delay forever instead of backing off.
        for (let j = 1; j < ls.length; j++) {
          const r0 = Number(ls[j - 1]!['retries']);
          const r1 = Number(ls[j]!['retries']);
          const gap = ls[j]!.t - ls[j - 1]!.t;
          if (r1 <= r0 && ls[j]!.t < o.readyAt) hot.push(`outage ${k + 1}: ${key} failed again ${gap} ms after failure #${r0 + 1} with its backoff reset (retries ${r0} → ${r1})`);
        }
      }
      const podsPerRound = 2 + 25;
      const requestBound = informers.length * informerBound + Math.max(1, o.inFlight) * roundBound * podsPerRound;
      if (o.failedRequests > requestBound) hot.push(`outage ${k + 1}: ${o.failedRequests} failed API requests (bound ${requestBound})`);
      perOutage.push(
        `${o.downMs / 1000} s down (${((o.readyAt - o.killedAt) / 1000).toFixed(1)} s until /readyz, a new workflow ran ${o.recoveredAt ? `${((o.recoveredAt - o.readyAt) / 1000).toFixed(1)} s after` : 'never'}: the propeller created its pod ${Math.round(o.pickedUpMs)} ms after it was created and saw it finish ${Math.round(o.sawDoneMs)} ms after it did; relists ${o.relists.join('/')}): ` +
          `${worstInformer} list/watch failures per informer (bound ${informerBound}), ≤ ${worstKey} failed rounds per workflow (bound ${roundBound}), ${o.failedRequests} failed API requests`,
      );
      process.stderr.write(`[apiserver-outage] outage ${k + 1}: ${perOutage.at(-1)}\n`);
    }
    // An informer waits out its backoff (at most 30 s) before it reconnects; the propeller must react within that.
    const notRecovered = outages.filter((o) => o.recoveredAt === undefined || !(o.pickedUpMs <= 35_000) || !(o.sawDoneMs <= 35_000)).length;
    await workflows.stop();
    await pods.stop();

    const exited = !alive(e.propeller);
    const passed = wrong.length === 0 && dup.duplicates === 0 && extraPods === 0 && invariants.problems.length === 0 && hot.length === 0 && !exited && notRecovered === 0;
    notes.push(...perOutage);
    if (invariants.problems.length) notes.push(`${invariants.problems.length} status regressions`);
    if (exited) notes.push('the propeller exited');
    recordResult({
      fault: `kube-apiserver SIGKILL, restarted on the same etcd (${PLAN.downMs.map((d) => `${d / 1000} s`).join(', ')} down)`,
      injected: outages.length,
      workflows: inputs.size,
      outcome: `${inputs.size - wrong.length}/${inputs.size} Succeeded with correct outputs and one attempt per node; the propeller never exited and ran a new workflow after every outage; retries stayed within the backoff`,
      lost: wrong.length,
      duplicates: dup.duplicates + extraPods,
      passed,
      notes: notes.join('; '),
    });

    if (failure) throw failure;
    assert.ok(!exited, `the propeller exited:\n${tail(e.propeller.logs(), 40)}`);
    assert.equal(notRecovered, 0, `after ${notRecovered} outage(s), the propeller took over 35 s to pick up a new workflow or to see its pod finish`);
    assert.deepEqual(wrong, [], 'every workflow Succeeded with the right outputs');
    assert.equal(dup.duplicates, 0, `duplicate pods: ${dup.details.join(', ')}`);
    assert.equal(extraPods, 0, `more pods than (node, attempt) pairs`);
    assert.deepEqual(invariants.problems, [], 'no status regressions');
    assert.deepEqual(hot, [], 'no hot loop while the API server was down');
  });
});

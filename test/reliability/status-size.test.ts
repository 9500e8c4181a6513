// Status size: the propeller runs with a small --workflow-max-object-bytes (150,000).
//   1. A workflow whose node outputs (about 3.7 KB each, 48 nodes in 8 chains) would push the status past
//      the limit is compacted: it still succeeds with the right workflow outputs, and the nodes nobody
//      needs any more show outputsCompacted: true.
//   2. Workflows whose status cannot fit even compacted (every output read by the workflow outputs)
//      fail with a clear StatusTooLarge message and a Failed event: one overflowing mid-run, one only in
//      its last round, when the workflow outputs are added. After the failure the propeller sends no more
//      status patches (propeller_api_requests_total{resource="flyteworkflows/status"} stays put) and runs
//      no more rounds.
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod } from '../../src/api/pod.ts';
import { isTerminalPod, KWOK_POD, L, logsOf, podRecorder, submit, waitForEnd, type Recorder } from '../integration/helpers/e2e.ts';
import { getWorkflow, listPods } from '../integration/helpers/workflows.ts';
import { forbiddenLines, propellerAlive, roundsRun, statusPatches, useChartEnv, type ChartEnv } from './chart-env.ts';
import { Rows } from './fault-row.ts';
import { SCALE } from './results.ts';

const MAX_OBJECT_BYTES = 150_000;
const BLOB = 'b'.repeat(3600);
const CHAINS = 8;
const DEPTH = SCALE === 'full' ? 6 : 5;
const QUIET_MS = SCALE === 'full' ? 5000 : 3000;

/** A KWOK task: o0 appends its tag to the chain it was given; blob makes each output about 3.7 KB. */
const CHAIN_TASK = {
  interface: { inputs: { prev: 'str', tag: 'str', blob: 'str' }, outputs: { o0: 'str', blob: 'str' } },
  container: {
    image: 'x',
    command: ['true'],
    env: [
      { name: 'KWOK_DURATION', value: '200ms' },
      { name: 'KWOK_MESSAGE', value: '{"o0": "{{.inputs.prev}}|{{.inputs.tag}}", "blob": "{{.inputs.blob}}"}' },
    ],
  },
};

function chainsSpec(): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (let j = 0; j < CHAINS; j++) {
    for (let k = 0; k < DEPTH; k++) {
      nodes[`c${j}_${k}`] = { task: 'chain', inputs: { prev: k === 0 ? { value: `c${j}` } : { from: `c${j}_${k - 1}.o0` }, tag: { value: `k${k}` }, blob: { from: 'inputs.blob' } } };
    }
  }
  return {
    pod: KWOK_POD,
    maxParallelism: 0,
    interface: { inputs: { blob: 'str' }, outputs: { r: 'list[str]' } },
    inputs: { blob: BLOB },
    tasks: { chain: CHAIN_TASK },
    nodes,
    outputs: { r: { list: Array.from({ length: CHAINS }, (_, j) => ({ from: `c${j}_${DEPTH - 1}.o0` })) } },
  };
}
const expectedChains = () => Array.from({ length: CHAINS }, (_, j) => [`c${j}`, ...Array.from({ length: DEPTH }, (_, k) => `k${k}`)].join('|'));

/** n independent nodes whose outputs the workflow outputs all read: nothing can be compacted away. */
function allNeededSpec(n: number): Record<string, unknown> {
  const nodes = Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { task: 'chain', inputs: { prev: { value: `p${i}` }, tag: { value: 't' }, blob: { from: 'inputs.blob' } } }]));
  return {
    pod: KWOK_POD,
    maxParallelism: 0,
    interface: { inputs: { blob: 'str' }, outputs: { r: 'list[str]' } },
    inputs: { blob: BLOB },
    tasks: { chain: CHAIN_TASK },
    nodes,
    outputs: { r: { list: Array.from({ length: n }, (_, i) => ({ from: `p${i}.blob` })) } },
  };
}

describe('status size', () => {
  let pods: Recorder<Pod>;
  after(async () => {
    await pods?.stop();
  });
  const env = useChartEnv('status-size', ['--workflow-max-object-bytes', String(MAX_OBJECT_BYTES)]);
  before(async () => {
    pods = await podRecorder(env());
  });

  test('a status over the object limit is compacted, or fails the workflow with StatusTooLarge and no hot loop', { timeout: 240_000 }, async () => {
    const rows = new Rows();

    await rows.run(`status over --workflow-max-object-bytes ${MAX_OBJECT_BYTES}: compacted`, async (row, checks) => {
      const name = 'compacted';
      await submit(env(), name, chainsSpec());
      const wf = await waitForEnd(env(), name, 120_000);
      const st = wf?.status;
      row.injected = 1;
      row.workflows = 1;
      const statusBytes = Buffer.byteLength(JSON.stringify(st ?? {}));
      const uncompacted = CHAINS * DEPTH * (BLOB.length + 100);
      checks.equal(st?.phase, 'Succeeded', `phase (${st?.message})`);
      const got = st?.outputs?.['r'];
      if (JSON.stringify(got) !== JSON.stringify(expectedChains())) row.lost++;
      checks.equal(JSON.stringify(got), JSON.stringify(expectedChains()), 'workflow outputs');
      let compacted = 0;
      for (let j = 0; j < CHAINS; j++) {
        for (let k = 0; k < DEPTH; k++) {
          const n = st?.nodes?.[`c${j}_${k}`];
          checks.equal(n?.phase, 'Succeeded', `c${j}_${k} phase`);
          if (k < DEPTH - 1) {
            if (n?.outputsCompacted === true && n.outputs === undefined) compacted++;
          } else {
            checks.ok(n?.outputs !== undefined && !n.outputsCompacted, `c${j}_${k}, read by the workflow outputs, keeps its outputs`);
          }
        }
      }
      // Compaction runs only when the status would not fit, so how many nodes it touched depends on timing;
      // what must hold: some were, it was needed (without it the status would not fit), and the result fits.
      const earlier = CHAINS * (DEPTH - 1);
      const withoutCompaction = statusBytes + compacted * (BLOB.length + 40);
      checks.ok(compacted >= 1, `${compacted} of ${earlier} no-longer-needed nodes show outputsCompacted: true`);
      checks.ok(withoutCompaction > MAX_OBJECT_BYTES, `without compaction the status would take about ${withoutCompaction} bytes, over ${MAX_OBJECT_BYTES}`);
      checks.ok(statusBytes < MAX_OBJECT_BYTES, `the final status takes ${statusBytes} bytes`);
      checks.ok(/compacted the status to fit/.test(logsOf(env().propeller)), 'the propeller logged the compaction');
      row.duplicates = duplicates(pods, name);
      row.outcome = `Succeeded with correct outputs; ${compacted}/${earlier} no-longer-needed nodes outputsCompacted; final status ${statusBytes} bytes (≈ ${withoutCompaction} without compaction, ≈ ${uncompacted} with every output)`;
    });

    await rows.run('status too large even compacted: StatusTooLarge, no hot loop', async (row, checks) => {
      // midway: overflows while pods still run; at-the-end: fits until the workflow outputs (a second copy of every node output) are added.
      const cases = [
        { name: 'too-large-midway', spec: allNeededSpec(45) },
        { name: 'too-large-at-the-end', spec: allNeededSpec(20) },
      ];
      row.injected = cases.length;
      row.workflows = cases.length;
      for (const c of cases) await submit(env(), c.name, c.spec);
      const finals = await Promise.all(cases.map((c) => waitForEnd(env(), c.name, 120_000)));
      // Let it finish its work (pod deletions, finalizer removal), then watch it do nothing.
      await waitForQuiet(env(), cases.map((c) => c.name));
      const patches0 = await statusPatches(env().port);
      const rounds0 = await roundsRun(env().port);
      await sleep(QUIET_MS);
      const patches1 = await statusPatches(env().port);
      const rounds1 = await roundsRun(env().port);
      let ok = 0;
      for (const [i, c] of cases.entries()) {
        const st = finals[i]?.status;
        const where = `${c.name}: `;
        const before = checks.failures.length;
        checks.equal(st?.phase, 'Failed', `${where}phase (${st?.message})`);
        checks.equal(st?.error?.code, 'StatusTooLarge', `${where}error code`);
        checks.match(st?.message, /would take \d+ bytes even compacted, over the \d+ bytes left by the object size limit \(workflow\.maxObjectBytes\)/, `${where}the message says why and which limit`);
        checks.equal(st?.outputs, undefined, `${where}no workflow outputs on a failed workflow`);
        const live = (await listPods(env().client, env().ns, `${L.workflow}=${c.name}`)).filter((p) => !isTerminalPod(p) && !p.metadata.deletionTimestamp);
        checks.equal(live.length, 0, `${where}pods still running after the failure`);
        const events = await eventsOf(env(), c.name);
        checks.ok(events.some((e) => e.reason === 'Failed'), `${where}a Failed event was recorded (events: ${events.map((e) => e.reason).join(', ') || 'none'})`);
        checks.ok(!events.some((e) => e.reason === 'Succeeded'), `${where}no Succeeded event for a workflow that failed (events: ${events.map((e) => e.reason).join(', ')})`);
        row.duplicates += duplicates(pods, c.name);
        if (checks.failures.length === before) ok++;
      }
      checks.equal(patches1 - patches0, 0, `status patches in the ${QUIET_MS / 1000} s after the failures`);
      checks.equal(rounds1 - rounds0, 0, `rounds in the ${QUIET_MS / 1000} s after the failures`);
      checks.ok(await propellerAlive(env()), 'the propeller is up');
      checks.equal(forbiddenLines(env()).length, 0, "requests forbidden under the chart's RBAC");
      row.outcome = `${ok}/${cases.length} Failed with StatusTooLarge naming workflow.maxObjectBytes; ${patches1 - patches0} status patches and ${rounds1 - rounds0} rounds in the ${QUIET_MS / 1000} s after`;
      row.notes = 'one overflowing mid-run (45 nodes), one only when the workflow outputs are added (20 nodes)';
    });
    rows.finish();
  });
});

/** Until the workflows carry no finalizer and have no live pod (or 30 s). */
async function waitForQuiet(env: ChartEnv, names: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    let busy = false;
    for (const name of names) {
      const wf = await getWorkflow(env.client, env.ns, name).catch(() => undefined);
      const live = (await listPods(env.client, env.ns, `${L.workflow}=${name}`)).filter((p) => !isTerminalPod(p));
      if (wf?.metadata.finalizers?.length || live.length) busy = true;
    }
    if (!busy) break;
    await sleep(250);
  }
  await sleep(1000);
}

async function eventsOf(env: ChartEnv, name: string): Promise<{ reason: string; message: string }[]> {
  const list = await env.client.request<{ items: { reason: string; message: string }[] }>('GET', `/api/v1/namespaces/${env.ns}/events`, { query: { fieldSelector: `involvedObject.name=${name}` } });
  return list.items;
}

/** (node, attempt) pairs that got more than one pod. */
function duplicates(pods: Recorder<Pod>, workflow: string): number {
  const seen = new Map<string, Set<string>>();
  for (const p of pods.uids().values()) {
    if (p.metadata.annotations?.[L.workflow] !== workflow) continue;
    const key = `${p.metadata.annotations?.[L.node]}#${p.metadata.labels?.[L.attempt]}`;
    (seen.get(key) ?? seen.set(key, new Set()).get(key)!).add(p.metadata.uid ?? p.metadata.name);
  }
  return [...seen.values()].filter((s) => s.size > 1).length;
}

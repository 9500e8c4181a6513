// Lost pods: a pod deleted by someone else, evicted, or killed by a node shutdown is a system error. The
// node's systemFailures rises, a new attempt starts, and the workflow still succeeds with the right
// outputs; losing more attempts than --workflow-max-system-retries allows fails the node, naming the budget.
//
// Evictions and shutdowns are simulated as a kubelet reports them, through the pod status subresource
// (phase Failed with the reason). The victim runs on KWOK for VICTIM_DURATION, far longer than the
// injection takes, so KWOK's completion stage cannot finish the pod first. Once the propeller has moved on
// to the next attempt, the lost pod is removed (as the pod garbage collector would), so KWOK's stage can
// never rewrite it later either.
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow, WorkflowStatus } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { MERGE_PATCH } from '../../src/k8s/rest.ts';
import { podPath } from '../../src/k8s/paths.ts';
import { FAST_RETRIES, kwokTask, L, podRecorder, submit, waitForEnd, workflowRecorder, type Recorder } from '../integration/helpers/e2e.ts';
import { forbiddenLines, propellerAlive, useChartEnv, type ChartEnv } from './chart-env.ts';
import { Rows } from './fault-row.ts';
import { SCALE } from './results.ts';

const MAX_SYSTEM_RETRIES = 1;
/** Far longer than an injection takes (well under a second), so KWOK's completion stage never wins the race. */
const VICTIM_MS = SCALE === 'full' ? 12_000 : 6_000;
const VICTIM_DURATION = `${VICTIM_MS / 1000}s`;
const PER_KIND = SCALE === 'full' ? 3 : 1;

type Loss = 'delete' | 'deleteAtOnce' | 'evict' | 'nodeShutdown' | 'terminated' | 'sigkill';
/** How soon the propeller must start the next attempt after a loss (the retry backoff is 200 ms). */
const NOTICE_WITHIN_MS = 10_000;

interface Kind {
  /** Row name. */
  fault: string;
  /** How each attempt of the victim is lost, in order; the attempt after the last one runs to the end. */
  losses: Loss[];
  /** The error codes the propeller may give the lost attempt. */
  codes: string[];
  /** Whether the workflow should still succeed. */
  succeeds: boolean;
}

const KINDS: Kind[] = [
  { fault: 'pod deleted externally (system retry)', losses: ['delete'], codes: ['PodDeleted', 'PodDeletedExternally'], succeeds: true },
  { fault: 'pod deleted externally the moment it appears, before a round sees it (system retry)', losses: ['deleteAtOnce'], codes: ['PodDeleted', 'PodDeletedExternally'], succeeds: true },
  { fault: 'pod evicted: Failed/Evicted (system retry)', losses: ['evict'], codes: ['Evicted'], succeeds: true },
  { fault: 'node shutdown: Failed/NodeShutdown (system retry)', losses: ['nodeShutdown'], codes: ['NodeShutdown'], succeeds: true },
  { fault: 'node shutdown: Failed/Terminated (system retry)', losses: ['terminated'], codes: ['Terminated'], succeeds: true },
  { fault: 'container SIGKILLed from outside: exit 137 (system retry)', losses: ['sigkill'], codes: ['Interrupted'], succeeds: true },
  { fault: `system-retry budget exhausted (--workflow-max-system-retries ${MAX_SYSTEM_RETRIES}, pod lost twice)`, losses: ['evict', 'delete'], codes: ['Evicted', 'PodDeleted', 'PodDeletedExternally'], succeeds: false },
];

/** The pod status a kubelet writes for each way of losing a pod. */
function lostStatus(loss: Exclude<Loss, 'delete' | 'deleteAtOnce'>, pod: Pod): Record<string, unknown> {
  const now = new Date().toISOString();
  const killed = (exitCode: number, reason: string) => [
    { name: 'task', image: pod.spec?.containers[0]?.image ?? 'x', imageID: '', ready: false, started: false, restartCount: 0, state: { terminated: { exitCode, reason, startedAt: pod.status?.startTime ?? now, finishedAt: now } } },
  ];
  const disruption = (reason: string, message: string) => [...(pod.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), { type: 'DisruptionTarget', status: 'True', reason, message, lastTransitionTime: now }, { type: 'Ready', status: 'False', reason: 'PodFailed', lastTransitionTime: now }];
  switch (loss) {
    case 'evict':
      return { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 12Mi.', conditions: disruption('TerminationByKubelet', 'The node was low on resource: memory.'), containerStatuses: killed(137, 'Error') };
    case 'nodeShutdown':
      return { phase: 'Failed', reason: 'NodeShutdown', message: 'Pod was rejected as the node is shutting down.', containerStatuses: killed(137, 'Error') };
    case 'terminated':
      return { phase: 'Failed', reason: 'Terminated', message: 'Pod was terminated in response to imminent node shutdown.', conditions: disruption('TerminationByKubelet', 'Pod was terminated in response to imminent node shutdown.'), containerStatuses: killed(137, 'Error') };
    case 'sigkill':
      return { phase: 'Failed', containerStatuses: killed(137, 'Error') };
  }
}

interface Case {
  kind: Kind;
  name: string;
  tag: string;
  /** Faults actually injected. */
  injected: number;
  /** When each fault was injected, by attempt. */
  injectedAt: number[];
  injectError?: string;
}

describe('lost pods are system retries', () => {
  let pods: Recorder<Pod>;
  let workflows: Recorder<FlyteWorkflow>;
  after(async () => {
    await pods?.stop();
    await workflows?.stop();
  });
  const env = useChartEnv('pods-lost', [...FAST_RETRIES, '--workflow-max-system-retries', String(MAX_SYSTEM_RETRIES)]);
  before(async () => {
    pods = await podRecorder(env());
    workflows = await workflowRecorder(env());
  });

  test('each way of losing a pod is retried within the system-retry budget, and the budget ends it', { timeout: 240_000 }, async () => {
    const cases: Case[] = KINDS.flatMap((kind, k) => Array.from({ length: PER_KIND }, (_, i) => ({ kind, name: `lost-${k}-${i}`, tag: `t${k}x${i}`, injected: 0, injectedAt: [] })));
    await Promise.all(cases.map((c) => submitCase(env(), c)));
    // Inject and wait for every workflow at once: they run side by side on the KWOK nodes.
    await Promise.all(cases.map((c) => inject(env(), pods, c).catch((err: unknown) => void (c.injectError = err instanceof Error ? err.message : String(err)))));
    const finals = new Map<string, FlyteWorkflow | undefined>();
    await Promise.all(cases.map(async (c) => finals.set(c.name, await waitForEnd(env(), c.name, 90_000))));
    // A workflow that took far longer than its pods ran: print its history, to see where the time went.
    for (const c of cases) {
      const mine = workflows.events.filter((e) => e.object.metadata.name === c.name);
      const took = (mine.at(-1)?.at ?? 0) - (mine[0]?.at ?? 0);
      if (took < 2 * VICTIM_MS + 15_000) continue;
      const t0 = mine[0]!.at;
      process.stderr.write(`[pods-lost] ${c.name} took ${took} ms:\n`);
      for (const e of mine) process.stderr.write(`  +${e.at - t0} ms ${e.object.status?.phase} ${JSON.stringify(Object.fromEntries(Object.entries(e.object.status?.nodes ?? {}).map(([k, v]) => [k, [v.phase, v.attempts, v.message]])))}\n`);
      for (const e of pods.events.filter((p) => p.object.metadata.annotations?.[L.workflow] === c.name)) process.stderr.write(`  +${e.at - t0} ms pod ${e.type} ${e.object.metadata.name} ${e.object.status?.phase}${e.object.metadata.deletionTimestamp ? ' (deleting)' : ''}\n`);
    }
    const alive = await propellerAlive(env());
    const forbidden = forbiddenLines(env());

    const rows = new Rows();
    for (const kind of KINDS) {
      await rows.run(kind.fault, async (row, checks) => {
        const mine = cases.filter((c) => c.kind === kind);
        row.workflows = mine.length;
        row.injected = mine.reduce((s, c) => s + c.injected, 0);
        let ended = 0;
        let slowest = 0;
        for (const c of mine) {
          const wf = finals.get(c.name);
          const st = wf?.status;
          const victim = st?.nodes?.['victim'];
          const where = `${c.name}: `;
          checks.equal(c.injectError, undefined, `${where}injection`);
          checks.equal(c.injected, kind.losses.length, `${where}faults injected`);
          const attempts = attemptsOf(pods, c.name, 'victim');
          row.duplicates += attempts.duplicates;
          if (kind.succeeds) {
            if (st?.phase === 'Succeeded') ended++;
            checks.equal(st?.phase, 'Succeeded', `${where}phase (message: ${st?.message})`);
            const expected = `${c.tag}-victim-after`;
            if (st?.outputs?.['r'] !== expected) row.lost++;
            checks.equal(st?.outputs?.['r'], expected, `${where}workflow output`);
            checks.equal(victim?.attempts, kind.losses.length + 1, `${where}victim attempts`);
            checks.equal(victim?.systemFailures, kind.losses.length, `${where}victim systemFailures`);
            checks.equal(st?.nodes?.['after']?.phase, 'Succeeded', `${where}downstream node`);
          } else {
            if (st?.phase === 'Failed') ended++;
            checks.equal(st?.phase, 'Failed', `${where}phase`);
            checks.equal(victim?.phase, 'Failed', `${where}victim phase`);
            checks.equal(victim?.attempts, kind.losses.length, `${where}victim attempts (no attempt beyond the budget)`);
            checks.equal(victim?.systemFailures, kind.losses.length, `${where}victim systemFailures`);
            checks.equal(st?.error?.kind, 'System', `${where}error kind`);
            checks.equal(st?.error?.node, 'victim', `${where}error node`);
            checks.match(st?.message, new RegExp(`node "victim" failed: .*system-retry budget of ${MAX_SYSTEM_RETRIES} exhausted`), `${where}message names the node and the budget`);
            checks.equal(st?.nodes?.['after']?.phase, 'Skipped', `${where}downstream node`);
            checks.equal(attempts.count.has(kind.losses.length), false, `${where}no pod for an attempt beyond the budget`);
          }
          // How each lost attempt was classified, as the status said while retrying.
          const codes = systemErrorCodes(workflows, c.name);
          checks.ok(codes.length >= Math.min(kind.losses.length, kind.succeeds ? kind.losses.length : 1), `${where}a System error was recorded for each lost attempt (saw ${JSON.stringify(codes)})`);
          for (const code of codes) checks.ok(kind.codes.includes(code), `${where}error code ${code} is one of ${kind.codes.join(', ')}`);
          checks.equal(attempts.unexpectedNodes, 0, `${where}pods only for known nodes`);
          // Each loss is noticed promptly: the next attempt's pod (or, past the budget, the failure) follows soon.
          for (const [attempt, at] of c.injectedAt.entries()) {
            const next = firstSeen(pods, workflows, c.name, attempt + 1, kind.succeeds || attempt < kind.losses.length - 1);
            const latency = next === undefined ? Infinity : next - at;
            slowest = Math.max(slowest, latency);
            checks.ok(latency <= NOTICE_WITHIN_MS, `${where}attempt ${attempt}'s loss was acted on after ${latency} ms (at most ${NOTICE_WITHIN_MS} ms)`);
          }
        }
        checks.ok(alive, 'the propeller is still up');
        checks.equal(forbidden.length, 0, `requests forbidden under the chart's RBAC: ${forbidden.slice(0, 2).join(' | ')}`);
        row.outcome = kind.succeeds
          ? `${ended}/${mine.length} Succeeded with correct outputs; systemFailures ${kind.losses.length}, attempts ${kind.losses.length + 1}`
          : `${ended}/${mine.length} Failed naming the system-retry budget; no attempt beyond it`;
        row.notes = [kind.losses.length > 1 ? `losses per workflow: ${kind.losses.join(', ')}` : '', `each loss acted on within ${(slowest / 1000).toFixed(1)} s`].filter(Boolean).join('; ');
      });
    }
    rows.finish();
  });
});

/** A victim that runs long on KWOK, and a downstream node reading its output. */
async function submitCase(env: ChartEnv, c: Case): Promise<void> {
  await submit(env, c.name, {
    interface: { inputs: { tag: 'str' }, outputs: { r: 'str' } },
    inputs: { tag: c.tag },
    tasks: {
      victim: kwokTask('{"o0": "{{.inputs.x}}-victim"}', { inputs: { x: 'str' }, outputs: { o0: 'str' }, duration: VICTIM_DURATION, retries: 0 }),
      after: kwokTask('{"o0": "{{.inputs.x}}-after"}', { inputs: { x: 'str' }, outputs: { o0: 'str' }, duration: '200ms' }),
    },
    nodes: {
      victim: { task: 'victim', inputs: { x: { from: 'inputs.tag' } } },
      after: { task: 'after', inputs: { x: { from: 'victim.o0' } } },
    },
    outputs: { r: { from: 'after.o0' } },
  });
}

const podOf = (pods: Recorder<Pod>, workflow: string, node: string, attempt: number) =>
  [...pods.current.values()].find(
    (p) => p.metadata.annotations?.[L.workflow] === workflow && p.metadata.annotations?.[L.node] === node && p.metadata.labels?.[L.attempt] === String(attempt),
  );

async function waitForPod(pods: Recorder<Pod>, what: string, check: () => Pod | undefined, timeoutMs = 60_000): Promise<Pod> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pod = check();
    if (pod) return pod;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Loses each attempt of the victim in turn, as soon as its pod runs. */
async function inject(env: ChartEnv, pods: Recorder<Pod>, c: Case): Promise<void> {
  for (const [attempt, loss] of c.kind.losses.entries()) {
    const pod = await waitForPod(pods, `${c.name} victim attempt ${attempt} to ${loss === 'deleteAtOnce' ? 'appear' : 'run'}`, () => {
      const p = podOf(pods, c.name, 'victim', attempt);
      return p && (loss === 'deleteAtOnce' || p.status?.phase === 'Running') ? p : undefined;
    });
    const path = podPath(env.ns, pod.metadata.name);
    if (loss === 'delete' || loss === 'deleteAtOnce') await env.client.request('DELETE', path);
    else await env.client.request('PATCH', `${path}/status`, { body: { status: lostStatus(loss, pod) }, contentType: MERGE_PATCH });
    c.injectedAt[attempt] = Date.now();
    c.injected++;
    if (loss !== 'delete' && loss !== 'deleteAtOnce') {
      // Once the propeller has moved on (the next attempt's pod exists, or the node is finished), the lost
      // pod goes, as the pod garbage collector would remove it.
      const last = attempt === c.kind.losses.length - 1 && !c.kind.succeeds;
      if (!last) await waitForPod(pods, `${c.name} victim attempt ${attempt + 1}`, () => podOf(pods, c.name, 'victim', attempt + 1));
      else await waitForEnd(env, c.name, 60_000);
      await env.client.request('DELETE', path, { query: { gracePeriodSeconds: '0' } }).catch(() => {});
    }
  }
}

/** Pods seen per attempt of a node, and (node, attempt) pairs that got more than one pod. */
function attemptsOf(pods: Recorder<Pod>, workflow: string, node: string): { count: Map<number, number>; duplicates: number; unexpectedNodes: number } {
  const uids = new Map<number, Set<string>>();
  let unexpectedNodes = 0;
  for (const pod of pods.uids().values()) {
    if (pod.metadata.annotations?.[L.workflow] !== workflow) continue;
    const n = pod.metadata.annotations?.[L.node];
    if (n !== 'victim' && n !== 'after') unexpectedNodes++;
    if (n !== node) continue;
    const attempt = Number(pod.metadata.labels?.[L.attempt]);
    (uids.get(attempt) ?? uids.set(attempt, new Set()).get(attempt)!).add(pod.metadata.uid ?? pod.metadata.name);
  }
  // The downstream node must not be duplicated either.
  const afterUids = new Map<string, Set<string>>();
  for (const pod of pods.uids().values()) {
    if (pod.metadata.annotations?.[L.workflow] !== workflow || pod.metadata.annotations?.[L.node] !== 'after') continue;
    const key = pod.metadata.labels?.[L.attempt] ?? '?';
    (afterUids.get(key) ?? afterUids.set(key, new Set()).get(key)!).add(pod.metadata.uid ?? pod.metadata.name);
  }
  const duplicates = [...uids.values(), ...afterUids.values()].filter((s) => s.size > 1).length;
  return { count: new Map([...uids].map(([a, s]) => [a, s.size])), duplicates, unexpectedNodes };
}

/** Every System error code the victim's status showed over the workflow's life. */
function systemErrorCodes(workflows: Recorder<FlyteWorkflow>, name: string): string[] {
  const seen: string[] = [];
  let lastAttempts = -1;
  for (const e of workflows.events) {
    if (e.object.metadata.name !== name) continue;
    const st: WorkflowStatus | undefined = e.object.status;
    const v = st?.nodes?.['victim'];
    if (v?.error?.kind === 'System' && (v.attempts ?? 0) !== lastAttempts) {
      seen.push(v.error.code);
      lastAttempts = v.attempts ?? 0;
    }
  }
  return seen;
}

/**
 * When the propeller acted on the loss of an attempt: the next attempt's pod appeared (retry), or the
 * workflow's status first showed the victim Failed (budget exhausted).
 */
function firstSeen(pods: Recorder<Pod>, workflows: Recorder<FlyteWorkflow>, workflow: string, nextAttempt: number, retried: boolean): number | undefined {
  if (retried) {
    return pods.events.find(
      (e) => e.object.metadata.annotations?.[L.workflow] === workflow && e.object.metadata.annotations?.[L.node] === 'victim' && e.object.metadata.labels?.[L.attempt] === String(nextAttempt),
    )?.at;
  }
  return workflows.events.find((e) => e.object.metadata.name === workflow && e.object.status?.nodes?.['victim']?.phase === 'Failed')?.at;
}

// Scheduled launch plans across propeller outages, on the real API server: the propeller is SIGKILLed for
// several intervals of a 2 s fixed rate and restarted, and each catch-up policy must run exactly the times
// it promises and record the others as skipped (status.skipped and a RunSkipped Event each). The expected
// outcome is computed here, from the launch plan's creation time, the last run before the kill and the
// moment the restarted propeller's first round ran, not from the code under test. Then a leader handover
// during ticks (SIGKILL and SIGTERM of the leader): every scheduled time runs exactly once, and only a
// leader starts runs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { kwokTask, logsOf, Recorder, startEnv, tail, waitForLog, waitForReady, wfsPath } from './helpers/e2e.ts';
import { createNamespace } from './helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from './helpers/propeller.ts';
import { definitionsPath, launchPlanPath, launchPlansPath } from './helpers/schedules.ts';

// Spelled out rather than imported from src/: the tests check the documented contract.
const LP_LABEL = 'flyte.propeller.dev/launch-plan';
const TIME_LABEL = 'flyte.propeller.dev/scheduled-time';
const RATE_MS = 2000;
/** How long the propeller stays dead: several intervals. */
const DOWN_MS = 9000;

interface LaunchPlan {
  metadata: { name: string; creationTimestamp: string; uid: string };
  status?: { lastScheduledTime?: string; nextScheduledTime?: string; skipped?: { time: string; reason: string }[]; valid?: boolean; message?: string };
}

const iso = (t: number) => new Date(t).toISOString();

/** A propeller's JSON log lines, with `at` the epoch ms of each. */
function logLines(text: string): { at: number; msg: string; [k: string]: unknown }[] {
  return text.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { time: string; msg: string };
      return [{ ...entry, at: Date.parse(entry.time) }];
    } catch {
      return [];
    }
  });
}

/** Until what an exited propeller printed has reached its log file. */
async function logSettled(p: RunningPropeller): Promise<void> {
  const out = p.child.stdout;
  if (out && !out.readableEnded) await Promise.race([new Promise((r) => out.once('end', r)), sleep(1000)]);
  await sleep(50);
}
const sec = (t: number) => t / 1000;

/** Fire times of a fixed rate anchored at the creation time `c`: c + k × rate (k ≥ 1), in (from, through]. */
function fireTimes(c: number, from: number, through: number): number[] {
  const out: number[] = [];
  for (let t = c + RATE_MS * Math.max(1, Math.floor((from - c) / RATE_MS)); t <= through; t += RATE_MS) if (t > from && t > c) out.push(t);
  return out;
}
const nextFire = (c: number, after: number) => fireTimes(c, after, after + RATE_MS)[0]!;

async function createLaunchPlan(client: KubeClient, ns: string, name: string, schedule: Record<string, unknown>, runFor = '300ms'): Promise<LaunchPlan> {
  await client.request('POST', definitionsPath(ns), {
    body: {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'WorkflowDefinition',
      metadata: { name: `${name}.v1`, namespace: ns },
      spec: {
        name,
        version: 'v1',
        workflow: {
          interface: { inputs: { kickoff: 'datetime' }, outputs: {} },
          tasks: { tick: kwokTask('{}', { duration: runFor, inputs: { kickoff: 'datetime' } }) },
          nodes: { t: { task: 'tick', inputs: { kickoff: { from: 'inputs.kickoff' } } } },
          outputs: {},
        },
      },
    },
  });
  return client.request<LaunchPlan>('POST', launchPlansPath(ns), {
    body: {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'LaunchPlan',
      metadata: { name, namespace: ns },
      spec: {
        workflow: { name, version: 'v1' },
        // Keep every run, so the list shows every time that ran.
        successfulRunsHistoryLimit: 1000,
        failedRunsHistoryLimit: 1000,
        schedule: { fixedRate: `${RATE_MS / 1000}s`, kickoffTimeInput: 'kickoff', ...schedule },
      },
    },
  });
}

async function runsOf(client: KubeClient, ns: string, lp: string): Promise<FlyteWorkflow[]> {
  const list = await client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns), { query: { labelSelector: `${LP_LABEL}=${lp}` } });
  return list.items;
}
const timeOf = (run: FlyteWorkflow) => Number(run.metadata.labels?.[TIME_LABEL]) * 1000;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Times the scheduled runs name, checked against their names, labels and kickoff inputs. */
function runTimes(lp: string, runs: FlyteWorkflow[]): number[] {
  for (const r of runs) {
    const t = timeOf(r);
    assert.ok(Number.isSafeInteger(t) && t % 1000 === 0, `${r.metadata.name}: scheduled-time label ${r.metadata.labels?.[TIME_LABEL]}`);
    assert.equal(r.metadata.name, `${lp}-${sec(t)}`, 'a run is named <launch plan>-<unix seconds>');
    assert.equal((r.spec as { inputs?: Record<string, unknown> }).inputs?.['kickoff'], iso(t), `${r.metadata.name}: the kickoff input is its scheduled time`);
  }
  return runs.map(timeOf).sort((a, b) => a - b);
}

/** RunSkipped Events of a launch plan: the time and reason of each (message "skipped <time>: <reason>"). */
async function skipEvents(client: KubeClient, ns: string, lp: string): Promise<{ time: number; reason: string }[]> {
  const list = await client.request<{ items: { reason: string; message: string; count?: number }[] }>('GET', `/api/v1/namespaces/${ns}/events`, {
    query: { fieldSelector: `involvedObject.name=${lp},reason=RunSkipped` },
  });
  return list.items.flatMap((e) => {
    const m = /^skipped (\S+): (.*)$/s.exec(e.message);
    assert.ok(m, `RunSkipped message: ${e.message}`);
    return Array.from({ length: e.count ?? 1 }, () => ({ time: Date.parse(m[1]!), reason: m[2]! }));
  });
}

// ---------------------------------------------------------------------------------------------------------
// What each policy promises (the CRD's documentation), for one outage

interface Policy {
  catchUp: 'All' | 'Latest' | 'None';
  maxCatchUp?: number;
  deadlineMs?: number;
}

interface Outcome {
  ran: number[];
  skipped: { time: number; reason: RegExp }[];
}

/**
 * The outcome of an outage: every time up to `lastBefore` ran before the kill; the times in
 * (lastBefore, round] are the missed ones, decided by the restarted propeller's first round at `round`;
 * every later time, up to `horizon`, runs on time.
 */
function expected(p: Policy, c: number, lastBefore: number, round: number, horizon: number): Outcome {
  const times = fireTimes(c, c, horizon);
  const missed = times.filter((t) => t > lastBefore && t <= round);
  const ran = times.filter((t) => t <= lastBefore || t > round);
  const skipped: Outcome['skipped'] = [];
  const late = (t: number) => p.deadlineMs !== undefined && round - t > p.deadlineMs;
  const deadline = /older than the starting deadline of/;
  const newest = missed.at(-1);
  switch (p.catchUp) {
    case 'All': {
      const eligible = missed.filter((t) => !late(t));
      for (const t of missed.filter(late)) skipped.push({ time: t, reason: deadline });
      const cap = p.maxCatchUp ?? 100;
      ran.push(...eligible.slice(0, cap));
      for (const t of eligible.slice(cap)) skipped.push({ time: t, reason: new RegExp(`the catch-up cap of ${cap} runs? was reached`) });
      break;
    }
    case 'Latest':
      for (const t of missed.slice(0, -1)) skipped.push({ time: t, reason: /^superseded: catch-up policy Latest/ });
      if (newest !== undefined) {
        if (late(newest)) skipped.push({ time: newest, reason: deadline });
        else ran.push(newest);
      }
      break;
    case 'None':
      for (const t of missed.slice(0, -1)) skipped.push({ time: t, reason: /^missed: catch-up policy None/ });
      if (newest !== undefined) {
        if (round - newest > (p.deadlineMs ?? 60_000)) skipped.push({ time: newest, reason: p.deadlineMs === undefined ? /late: catch-up policy None/ : deadline });
        else ran.push(newest);
      }
      break;
  }
  return { ran: ran.sort((a, b) => a - b), skipped: skipped.sort((a, b) => a.time - b.time) };
}

/** Which of the outcomes possible for a first round in [lo, hi] (sampled every 10 ms) the observations match, if any. */
function matching(p: Policy, c: number, lastBefore: number, lo: number, hi: number, horizon: number, ran: number[], skipped: { time: number; reason: string }[]): { round: number; outcome: Outcome } | undefined {
  for (let round = lo; round <= hi + 9; round += 10) {
    const outcome = expected(p, c, lastBefore, Math.min(round, hi), horizon);
    const sameRuns = JSON.stringify(outcome.ran) === JSON.stringify(ran);
    const sameSkips = outcome.skipped.length === skipped.length && outcome.skipped.every((s, i) => s.time === skipped[i]!.time && s.reason.test(skipped[i]!.reason));
    if (sameRuns && sameSkips) return { round: Math.min(round, hi), outcome };
  }
  return undefined;
}

const show = (ts: number[]) => ts.map((t) => `${sec(t)}`).join(' ');

describe('scheduled launch plans across propeller outages', { concurrency: true }, () => {
  const cluster = useTestCluster();

  /**
   * A 2 s fixed rate with `schedule`: a few ticks, a SIGKILL mid-interval, DOWN_MS dead, a restart, a few
   * more ticks, a SIGTERM mid-interval; then every time from the creation to the last tick is checked.
   */
  async function outage(name: string, policy: Policy, schedule: Record<string, unknown>): Promise<void> {
    const env = await startEnv(cluster(), `catch-up-${name}`);
    try {
      await waitForReady(env.propeller);
      const { client, ns } = env;
      const lp = await createLaunchPlan(client, ns, name, { catchUp: policy.catchUp, ...schedule });
      const c = Date.parse(lp.metadata.creationTimestamp);
      await until('three runs', async () => (await runsOf(client, ns, name)).length >= 3);

      // Killed mid-interval, so the last tick's round has ended: the runs now are all it started.
      await sleep(nextFire(c, Date.now()) + RATE_MS / 2 - Date.now());
      await env.propeller.kill();
      const killedAt = Date.now();
      const before = runTimes(name, await runsOf(client, ns, name));
      const lastBefore = before.at(-1)!;
      assert.deepEqual(before, fireTimes(c, c, lastBefore), 'before the kill, every time ran, once');
      const firstLog = env.propeller;

      await sleep(killedAt + DOWN_MS - Date.now());
      const restartedAt = Date.now();
      env.propeller = startPropeller({ kubeconfig: env.kubeconfig, namespaces: [ns] });
      // The restarted propeller's first round ran after it started reconciling, and before it logged the
      // first run it started (every policy here starts at least one time in that round).
      await waitForLog(env.propeller, /"msg":"started scheduled run"/, 30_000);
      const lines = logLines(logsOf(env.propeller));
      const lo = lines.find((l) => l.msg === 'reconciling')!.at;
      const hi = lines.find((l) => l.msg === 'started scheduled run')!.at;

      // A few on-time ticks, then a graceful stop mid-interval: every time up to the last tick was acted on.
      await until('two more ticks', async () => (await runsOf(client, ns, name)).filter((r) => timeOf(r) > hi).length >= 2);
      await sleep(nextFire(c, Date.now()) + RATE_MS / 2 - Date.now());
      const stoppedAt = Date.now();
      assert.equal(await env.propeller.stop(), 0, 'graceful exit');
      await logSettled(env.propeller);
      const horizon = fireTimes(c, c, stoppedAt).at(-1)!;

      const runs = await runsOf(client, ns, name);
      const ran = runTimes(name, runs);
      const status = (await client.request<LaunchPlan>('GET', launchPlanPath(ns, name))).status;
      const recorded = (status?.skipped ?? []).map((s) => ({ time: Date.parse(s.time), reason: s.reason }));
      const events = (await skipEvents(client, ns, name)).sort((a, b) => a.time - b.time);
      const context = () =>
        `created ${sec(c)}, last run before the kill ${sec(lastBefore)}, killed ${iso(killedAt)}, restarted ${iso(restartedAt)}, first round in [${iso(lo)}, ${iso(hi)}], horizon ${sec(horizon)}\n` +
        `ran: ${show(ran)}\nstatus.skipped: ${recorded.map((s) => `${sec(s.time)} (${s.reason})`).join('; ')}\nevents: ${events.map((s) => `${sec(s.time)} (${s.reason})`).join('; ')}\n` +
        `propeller log (restarted), warnings and scheduler lines:\n${tail(logsOf(env.propeller).split('\n').filter((l) => /scheduled run|"level":(40|50|60)/.test(l)).join('\n'), 30)}`;

      assert.equal(new Set(ran).size, ran.length, `no time ran twice\n${context()}`);
      assert.ok(ran.every((t) => t <= horizon), `no run after the last tick\n${context()}`);
      const match = matching(policy, c, lastBefore, lo, hi, horizon, ran, recorded);
      const expectation = expected(policy, c, lastBefore, hi, horizon);
      assert.ok(
        match,
        `the runs and skipped times are not what catch-up ${JSON.stringify(policy)} promises for a first round in [${iso(lo)}, ${iso(hi)}]:\n` +
          `expected ran: ${show(expectation.ran)}\nexpected skipped: ${expectation.skipped.map((s) => `${sec(s.time)} ${s.reason}`).join('; ')}\n${context()}`,
      );
      // Each skipped time has exactly one RunSkipped Event, with the same reason as in the status.
      assert.deepEqual(events, recorded, `one RunSkipped Event per skipped time, as in status.skipped\n${context()}`);
      assert.equal(status?.lastScheduledTime, iso(horizon), 'lastScheduledTime is the last tick');
      assert.equal(status?.nextScheduledTime, iso(horizon + RATE_MS), 'nextScheduledTime is the one after');
      const missed = fireTimes(c, lastBefore, match.round);
      process.stderr.write(
        `# catch-up ${JSON.stringify(policy)}: ${missed.length} times missed while down (${show(missed)}); ran ${show(match.outcome.ran.filter((t) => missed.includes(t)))}; skipped ${show(match.outcome.skipped.map((s) => s.time))}; first round ${match.round - restartedAt} ms after the restart\n`,
      );
      assert.ok(!/"level":(50|60)/.test(logsOf(firstLog) + logsOf(env.propeller)), 'no error logged');
    } finally {
      await env.cleanup();
    }
  }

  test('catch-up All starts the missed times oldest first, up to maxCatchUp, and records the newer ones as skipped', { timeout: 90_000 }, async () => {
    await outage('all', { catchUp: 'All', maxCatchUp: 2 }, { maxCatchUp: 2 });
  });

  test('catch-up Latest starts only the most recent missed time and records the others as superseded', { timeout: 90_000 }, async () => {
    await outage('latest', { catchUp: 'Latest' }, {});
  });

  test('catch-up None starts only the time due now and records every other missed time', { timeout: 90_000 }, async () => {
    await outage('none', { catchUp: 'None' }, {});
  });

  test('a starting deadline skips the missed times older than it and starts the rest (catch-up All)', { timeout: 90_000 }, async () => {
    await outage('deadline', { catchUp: 'All', deadlineMs: 4000 }, { startingDeadline: '4s' });
  });
});

// Leader handover: the lease's short timings keep it quick (the same code runs with the defaults).
const LEASE_MS = 4000;

describe('scheduled launch plans across leader handovers', () => {
  const cluster = useTestCluster();
  let client: KubeClient;
  let ns: { name: string; remove(): Promise<void> };
  const running: RunningPropeller[] = [];
  let runs: Recorder<FlyteWorkflow> | undefined;

  before(async () => {
    client = cluster().client;
    ns = await createNamespace(client, 'sched-leader');
  });
  after(async () => {
    await runs?.stop();
    for (const p of running) await p.kill();
    await ns.remove();
  });

  const start = () => {
    const p = startPropeller({
      kubeconfig: cluster().kubeconfigPath,
      namespaces: [ns.name],
      args: [
        '--leader-election-enabled', 'true',
        '--leader-election-namespace', ns.name,
        '--leader-election-lease-duration-ms', String(LEASE_MS),
        '--leader-election-renew-deadline-ms', '3000',
        '--leader-election-retry-period-ms', '500',
      ],
    });
    running.push(p);
    return p;
  };
  const leads = (p: RunningPropeller) => logsOf(p).includes('"msg":"became leader"');
  const alive = (p: RunningPropeller) => p.child.exitCode === null && p.child.signalCode === null;

  test('SIGKILL and SIGTERM of the leader during ticks: every scheduled time runs exactly once, and only a leader starts runs', { timeout: 150_000 }, async () => {
    const name = 'handover';
    let leader = start();
    await until('a leader', async () => leads(leader));
    let standby = start();
    await waitForLog(standby, /"msg":"caches synced"/);
    runs = await Recorder.start<FlyteWorkflow>(client, wfsPath(ns.name), `${LP_LABEL}=${name}`);
    const lp = await createLaunchPlan(client, ns.name, name, { catchUp: 'All' });
    const c = Date.parse(lp.metadata.creationTimestamp);
    const ticksAfter = async (what: string, since: number, n: number) => until(`${n} ticks ${what}`, async () => [...runs!.current.values()].filter((r) => timeOf(r) > since).length >= n, 30_000);
    await ticksAfter('after the creation', c, 3);

    const handovers: { how: 'SIGKILL' | 'SIGTERM'; at: number; tookMs: number }[] = [];
    for (const how of ['SIGKILL', 'SIGTERM', 'SIGKILL'] as const) {
      // During a tick: 0–150 ms after a scheduled time, while its round creates the run and writes the status.
      const tick = nextFire(c, Date.now() + 300);
      await sleep(tick + Math.random() * 150 - Date.now());
      const at = Date.now();
      if (how === 'SIGKILL') await leader.kill();
      else assert.equal(await leader.stop(), 0, 'graceful exit');
      const next = standby;
      await until('the standby to lead', async () => leads(next), LEASE_MS + 5000);
      handovers.push({ how, at, tookMs: Date.now() - at });
      leader = next;
      standby = start();
      await waitForLog(standby, /"msg":"caches synced"/);
      await ticksAfter('under the new leader', Date.now(), 2);
    }

    // A graceful end mid-interval: every time up to the last tick was acted on.
    await sleep(nextFire(c, Date.now()) + RATE_MS / 2 - Date.now());
    const endedAt = Date.now();
    for (const p of [standby, leader]) assert.equal(await p.stop(), 0, 'graceful exit');
    for (const p of running) await logSettled(p);
    await sleep(500);
    await runs.stop();
    const horizon = fireTimes(c, c, endedAt).at(-1)!;

    // Every run object ever seen (by uid): a time deleted and run again would show as two.
    const everSeen = [...runs.uids().values()];
    const byTime = new Map<number, string[]>();
    for (const r of everSeen) byTime.set(timeOf(r), [...(byTime.get(timeOf(r)) ?? []), `${r.metadata.name}/${r.metadata.uid}`]);
    const times = fireTimes(c, c, horizon);
    const missing = times.filter((t) => !byTime.has(t));
    const doubled = [...byTime].filter(([, uids]) => uids.length > 1).map(([t, uids]) => `${sec(t)}: ${uids.join(', ')}`);
    const offGrid = [...byTime.keys()].filter((t) => !times.includes(t));
    runTimes(name, everSeen);
    const status = (await client.request<LaunchPlan>('GET', launchPlanPath(ns.name, name))).status;

    // Who started what: each propeller's "started scheduled run" lines, against its "became leader".
    const starts: { run: string; by: number; at: number }[] = [];
    const early: string[] = [];
    const lateStarts: string[] = [];
    running.forEach((p, i) => {
      const lines = logLines(logsOf(p));
      const became = lines.find((l) => l.msg === 'became leader')?.at ?? Infinity;
      const released = lines.find((l) => l.msg === 'released the leader lease')?.at ?? Infinity;
      for (const l of lines.filter((l) => l.msg === 'started scheduled run')) {
        starts.push({ run: String(l['run']), by: i, at: l.at });
        if (l.at < became) early.push(`propeller ${i} started ${String(l['run'])} at ${iso(l.at)}, before it led (${Number.isFinite(became) ? iso(became) : 'never'})`);
        if (l.at > released) lateStarts.push(`propeller ${i} started ${String(l['run'])} at ${iso(l.at)}, after it released the lease`);
      }
    });
    const startedTwice = [...Map.groupBy(starts, (s) => s.run)].filter(([, s]) => s.length > 1).map(([run, s]) => `${run} by ${s.map((x) => x.by).join(' and ')}`);
    const latest = everSeen.map((r) => Date.parse(r.metadata.creationTimestamp!) - timeOf(r)).sort((a, b) => b - a);
    process.stderr.write(
      `# leader handover: ${times.length} scheduled times, ${everSeen.length} runs; handovers ${handovers.map((h) => `${h.how} → new leader in ${h.tookMs} ms`).join(', ')}; latest run created ${latest[0]! / 1000} s after its time\n`,
    );
    const context = `created ${sec(c)}, horizon ${sec(horizon)}; handovers ${handovers.map((h) => `${h.how} at ${iso(h.at)}`).join(', ')}\nruns: ${show([...byTime.keys()].sort((a, b) => a - b))}`;
    assert.deepEqual(missing, [], `no scheduled time missing\n${context}`);
    assert.deepEqual(doubled, [], `no scheduled time ran twice\n${context}`);
    assert.deepEqual(offGrid, [], `no run for a time that is not scheduled, or after the end\n${context}`);
    assert.deepEqual(startedTwice, [], 'no run was created twice');
    assert.deepEqual(early, [], 'no standby started a run before it led');
    assert.deepEqual(lateStarts, [], 'no propeller started a run after it released the lease');
    assert.deepEqual(status?.skipped ?? [], [], 'catch-up All skipped nothing');
    assert.deepEqual(await skipEvents(client, ns.name, name), [], 'no RunSkipped Event');
    assert.equal(status?.lastScheduledTime, iso(horizon));
    assert.ok(running.every((p) => !alive(p)));
  });
});

// A round creates its runs before it writes the status that records them. When that write never happens
// (the propeller dies in between, or the write fails), the next round decides the same time again; the run
// it finds must count as the one it starts, not as an earlier run: Replace must not abort it, Forbid must
// not record its time as skipped. A ValidatingAdmissionPolicy refuses the status writes for a while,
// deterministically standing in for the narrow window a SIGKILL would have to hit.
describe('a status write that fails after the run was created', { concurrency: true }, () => {
  const cluster = useTestCluster();
  const VAP = '/apis/admissionregistration.k8s.io/v1';

  for (const policy of ['Replace', 'Forbid'] as const) {
    test(`${policy}: the repeated rounds neither abort the run nor skip its time`, { timeout: 90_000 }, async () => {
      const env = await startEnv(cluster(), `unrecorded-${policy.toLowerCase()}`);
      const { client, ns } = env;
      const vap = `refuse-lp-status-${ns}`;
      try {
        await waitForReady(env.propeller);
        await client.request('POST', `${VAP}/validatingadmissionpolicies`, {
          body: {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicy',
            metadata: { name: vap },
            spec: {
              failurePolicy: 'Fail',
              matchConstraints: { resourceRules: [{ apiGroups: ['flyte.propeller.dev'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['launchplans/status'] }] },
              validations: [{ expression: 'false', message: 'launch-plan status writes are refused by the test' }],
            },
          },
        });
        await client.request('POST', `${VAP}/validatingadmissionpolicybindings`, {
          body: {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingAdmissionPolicyBinding',
            metadata: { name: vap },
            spec: { policyName: vap, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } },
          },
        });
        // In force once a status write of ours is refused.
        const probe = await client.request<LaunchPlan>('POST', launchPlansPath(ns), {
          body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'LaunchPlan', metadata: { name: 'probe', namespace: ns }, spec: { workflow: { name: 'none', version: 'v1' } } },
        });
        await until('the policy in force', async () =>
          client.request('PATCH', `${launchPlanPath(ns, 'probe')}/status`, { body: { status: { message: 'probe' } }, contentType: 'application/merge-patch+json' }).then(() => false, () => true),
        );
        assert.ok(probe.metadata.uid);

        // Runs of 4 s at a rate of 6 s: the first is still running while its round is repeated, and over
        // before the next time, so neither policy has a reason to abort or skip anything.
        const name = policy.toLowerCase();
        const lp = await createLaunchPlan(client, ns, name, { fixedRate: '6s', concurrencyPolicy: policy, catchUp: 'All' }, '4s');
        const first = Date.parse(lp.metadata.creationTimestamp) + 6000;
        const run = await until('the first run', async () => (await runsOf(client, ns, name))[0], 15_000);
        assert.equal(timeOf(run), first);
        const failedRounds = () => logsOf(env.propeller).split('\n').filter((l) => l.includes(`"launchPlan":"${ns}/${name}"`) && l.includes('round failed')).length;
        await until('rounds that failed to write the status', async () => failedRounds() >= 3, 10_000);
        await client.request('DELETE', `${VAP}/validatingadmissionpolicybindings/${vap}`);
        await until('the policy lifted', async () =>
          client.request('PATCH', `${launchPlanPath(ns, 'probe')}/status`, { body: { status: { message: 'probe' } }, contentType: 'application/merge-patch+json' }).then(() => true, () => false),
        );
        // The retries back off by now: a change of the launch plan brings the next round at once.
        await client.request('PATCH', launchPlanPath(ns, name), { body: { metadata: { annotations: { nudge: '1' } } }, contentType: 'application/merge-patch+json' });
        const recorded = await until('the status written', async () => {
          const got = await client.request<LaunchPlan>('GET', launchPlanPath(ns, name));
          return got.status?.lastScheduledTime ? got : undefined;
        }, 20_000);
        const writtenAt = Date.now();
        const again = await until('the first run to end', async () => {
          const r = (await runsOf(client, ns, name)).find((r) => timeOf(r) === first)!;
          return r.status?.phase && ['Succeeded', 'Failed', 'Aborted'].includes(r.status.phase) ? r : undefined;
        }, 20_000);
        const events = await client.request<{ items: { reason: string; message: string }[] }>('GET', `/api/v1/namespaces/${ns}/events`, { query: { fieldSelector: `involvedObject.name=${name}` } });
        process.stderr.write(`# ${policy}: ${failedRounds()} rounds failed to write the status before it went through\n`);
        assert.notEqual((again.spec as { abort?: boolean }).abort, true, `the run was not aborted\n${events.items.map((e) => `${e.reason}: ${e.message}`).join('\n')}`);
        assert.equal(again.status?.phase, 'Succeeded');
        assert.ok(writtenAt < first + 6000, 'the status was written before the next time: the window under test held');
        assert.deepEqual(events.items.filter((e) => e.reason === 'RunSkipped' || e.reason === 'RunReplaced').map((e) => e.message), [], 'nothing skipped or replaced');
        assert.deepEqual(recorded.status?.skipped ?? [], [], 'no skipped time recorded');
        assert.equal(recorded.status?.lastScheduledTime, iso(first));
      } finally {
        await client.request('DELETE', `${VAP}/validatingadmissionpolicybindings/${vap}`).catch(() => {});
        await client.request('DELETE', `${VAP}/validatingadmissionpolicies/${vap}`).catch(() => {});
        await env.cleanup();
      }
    });
  }
});

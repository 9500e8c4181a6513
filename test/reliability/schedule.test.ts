// Schedules under propeller crashes: two launch plans fire every 5 s (a fixed rate and a cron `@every 5s`,
// catch-up All), while a killer SIGKILLs the propeller (with the chart's RBAC) at random moments biased
// around the ticks (0–300 ms before or after a scheduled time; 0–40 ms after one, while its round creates
// the run and writes the status; or during the restarted propeller's first round) and restarts it at once,
// for a minute (smoke) or ten (full). Every scheduled time from the creation to the end must have run
// exactly once (seen by a recorder of every run object ever created, so a run pruned by the history limit
// and created again would count twice), or be recorded as skipped with a reason: none missing, none twice.
// The runs are one-node KWOK workflows that must all succeed.
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { definitionsPath, launchPlansPath } from '../../src/k8s/paths.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { kwokTask, logsOf, Recorder, tail, waitForLog, wfsPath } from '../integration/helpers/e2e.ts';
import { createNamespace } from '../integration/helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from '../integration/helpers/propeller.ts';
import { installChartRbac } from '../integration/helpers/restricted.ts';
import { between, isFinished, logLines, logSettled, rng, seedFor, spread } from './dag-workload.ts';
import { withRow } from './fault-row.ts';
import { SCALE } from './results.ts';

const FULL = SCALE === 'full';
/** How long the killer works: at least ten minutes of the 5 s schedules in a full run. */
const DURATION_MS = FULL ? 600_000 : 60_000;
const RATE_MS = 5000;
/** Kills aimed at a tick land this far before or after it. */
const AROUND_MS = 300;
/** Kills aimed at a tick's round (its creates and status write) land this far after the tick. */
const ROUND_MS = 40;
const FAULT = 'Propeller SIGKILLed around the ticks of 5 s schedules and restarted';

// Spelled out rather than imported from src/: the test checks the documented contract.
const LP_LABEL = 'flyte.propeller.dev/launch-plan';
const TIME_LABEL = 'flyte.propeller.dev/scheduled-time';

interface LaunchPlan {
  metadata: { name: string; creationTimestamp: string; resourceVersion: string };
  status?: { lastScheduledTime?: string; skipped?: { time: string; reason: string }[] };
}

interface Plan {
  name: string;
  schedule: Record<string, unknown>;
  /** Epoch ms of its creation: fire times are created + k × 5 s, k ≥ 1 (both kinds, from a whole-second creation). */
  created: number;
}

type KillKind = 'before a tick' | 'after a tick' | 'in a tick\'s round' | 'first round' | 'anywhere';

const iso = (t: number) => new Date(t).toISOString();
const fireTimes = (p: Plan, through: number): number[] => {
  const out: number[] = [];
  for (let t = p.created + RATE_MS; t <= through; t += RATE_MS) out.push(t);
  return out;
};
const nextFire = (p: Plan, after: number) => p.created + (Math.floor((after - p.created) / RATE_MS) + 1) * RATE_MS;
/** Distance from `t` to the nearest tick of any plan, signed (negative: before it). */
const offsetToTick = (plans: Plan[], t: number): number => {
  const offsets = plans.flatMap((p) => [t - (nextFire(p, t) - RATE_MS), t - nextFire(p, t)]);
  return offsets.reduce((a, b) => (Math.abs(b) < Math.abs(a) ? b : a));
};

describe('reliability: schedules across propeller crashes', () => {
  const cluster = useTestCluster();

  test(`SIGKILLs around the ticks of 5 s schedules for ${DURATION_MS / 60_000} min: every scheduled time runs exactly once`, { timeout: DURATION_MS + 300_000 }, async () => {
    const seed = seedFor('schedule');
    const rand = rng(seed);
    const began = Date.now();
    const c = cluster();
    const ns = await createNamespace(c.client, 'rel-schedule');
    const rbac = await installChartRbac(c, { watchNamespaces: [ns.name] });
    const runs = await Recorder.start<FlyteWorkflow>(c.client, wfsPath(ns.name));
    const lps = await Recorder.start<LaunchPlan>(c.client, launchPlansPath(ns.name));
    const propellers: RunningPropeller[] = [];
    const start = () => {
      const p = startPropeller({ kubeconfig: rbac.kubeconfigPath, namespaces: [ns.name], args: ['--config', rbac.configPath], env: rbac.env });
      propellers.push(p);
      return p;
    };
    let current: RunningPropeller | undefined;
    const kills: { kind: KillKind; offsetMs: number; uptimeMs: number; unrecorded: number }[] = [];
    /** Plans with a run for a time after their lastScheduledTime: the kill came between a create and the status write. */
    const unrecorded = async () => {
      const [plansNow, runsNow] = await Promise.all([
        c.client.request<{ items: LaunchPlan[] }>('GET', launchPlansPath(ns.name)),
        c.client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns.name)),
      ]);
      return plansNow.items.filter((lp) => {
        const last = Date.parse(lp.status?.lastScheduledTime ?? '') || 0;
        return runsNow.items.some((r) => r.metadata.labels?.[LP_LABEL] === lp.metadata.name && Number(r.metadata.labels?.[TIME_LABEL]) * 1000 > last);
      }).length;
    };

    try {
      await withRow(FAULT, async (row, checks) => {
        current = start();
        await waitForLog(current, /"msg":"reconciling"/, 60_000);
        await c.client.request('POST', definitionsPath(ns.name), {
          body: {
            apiVersion: 'flyte.propeller.dev/v1alpha1',
            kind: 'WorkflowDefinition',
            metadata: { name: 'tick.v1', namespace: ns.name },
            spec: {
              name: 'tick',
              version: 'v1',
              workflow: {
                interface: { inputs: { kickoff: 'datetime' }, outputs: {} },
                tasks: { tick: kwokTask('{}', { duration: '300ms', inputs: { kickoff: 'datetime' } }) },
                nodes: { t: { task: 'tick', inputs: { kickoff: { from: 'inputs.kickoff' } } } },
                outputs: {},
              },
            },
          },
        });
        const plans: Plan[] = [];
        for (const [name, schedule] of [
          ['rate', { fixedRate: '5s' }],
          ['every', { cron: '@every 5s' }],
        ] as const) {
          const lp = await c.client.request<LaunchPlan>('POST', launchPlansPath(ns.name), {
            body: {
              apiVersion: 'flyte.propeller.dev/v1alpha1',
              kind: 'LaunchPlan',
              metadata: { name, namespace: ns.name },
              // The default history limits: old runs are deleted as new ones finish, so a time that ran
              // and was forgotten could run again; the recorder would see it.
              spec: { workflow: { name: 'tick', version: 'v1' }, schedule: { ...schedule, catchUp: 'All', kickoffTimeInput: 'kickoff' } },
            },
          });
          plans.push({ name, schedule, created: Date.parse(lp.metadata.creationTimestamp) });
        }

        // The killer: each propeller runs until a moment drawn around a tick of either plan (or during its
        // first round, or anywhere), is SIGKILLed and replaced at once.
        const endAt = Date.now() + DURATION_MS;
        while (Date.now() < endAt) {
          await waitForLog(current, /"msg":"reconciling"/, 60_000);
          const readyAt = logLines(logsOf(current)).find((l) => l.msg === 'reconciling')!.at;
          const r = rand();
          const kind: KillKind = r < 0.3 ? 'before a tick' : r < 0.6 ? 'after a tick' : r < 0.8 ? "in a tick's round" : r < 0.9 ? 'first round' : 'anywhere';
          let target: number;
          if (kind === 'first round') target = readyAt + between(rand, 0, AROUND_MS);
          else if (kind === 'anywhere') target = readyAt + between(rand, 0, RATE_MS);
          else {
            // The first or second tick at least AROUND_MS away, of either plan.
            const plan = plans[Math.floor(rand() * plans.length)]!;
            const tick = nextFire(plan, Math.max(Date.now(), readyAt) + AROUND_MS) + (rand() < 0.5 ? 0 : RATE_MS);
            target = tick + (kind === 'before a tick' ? -between(rand, 0, AROUND_MS) : between(rand, 0, kind === 'after a tick' ? AROUND_MS : ROUND_MS));
          }
          await sleep(Math.max(0, target - Date.now()));
          const at = Date.now();
          await current.kill();
          kills.push({ kind, offsetMs: Math.round(offsetToTick(plans, at)), uptimeMs: at - readyAt, unrecorded: await unrecorded() });
          await logSettled(current);
          current = start();
          row.injected = kills.length;
        }
        await waitForLog(current, /"msg":"reconciling"/, 60_000);

        // The last propeller runs on undisturbed: two more ticks, then every run finishes, then a graceful
        // stop at a moment at least 1.5 s after the last tick of either plan, so every time before it was
        // acted on.
        await sleep(2 * RATE_MS);
        const settle = Date.now() + 60_000;
        while (Date.now() < settle && [...runs.current.values()].some((wf) => !isFinished(wf))) await sleep(200);
        let stopAt = Date.now();
        while (plans.some((p) => stopAt - (nextFire(p, stopAt) - RATE_MS) < 1500 || nextFire(p, stopAt) - stopAt < 500)) stopAt += 100;
        await sleep(stopAt - Date.now());
        const stoppedAt = Date.now();
        checks.equal(await current.stop(), 0, 'the last propeller exits gracefully');
        await logSettled(current);
        await sleep(1000);
        await runs.stop();
        await lps.stop();

        // Every run object ever seen, by (plan, scheduled time) and uid.
        const seen = [...runs.uids().values()];
        const problems: string[] = [];
        let expected = 0;
        let ran = 0;
        let missed = 0;
        let doubled = 0;
        let skippedByPolicy = 0;
        let catchUps = 0;
        const lateness: number[] = [];
        /** When the recorder first saw each run (ms precision, unlike creationTimestamp). */
        const seenAt = new Map<string, number>();
        for (const e of runs.events) if (!seenAt.has(e.object.metadata.uid!)) seenAt.set(e.object.metadata.uid!, e.at);
        const finals = new Map<string, FlyteWorkflow>();
        for (const e of runs.events) if (e.type !== 'DELETED') finals.set(e.object.metadata.uid!, e.object);
        for (const plan of plans) {
          const mine = seen.filter((r) => r.metadata.labels?.[LP_LABEL] === plan.name);
          const byTime = new Map<number, FlyteWorkflow[]>();
          for (const r of mine) {
            const t = Number(r.metadata.labels?.[TIME_LABEL]) * 1000;
            byTime.set(t, [...(byTime.get(t) ?? []), r]);
            if (r.metadata.name !== `${plan.name}-${t / 1000}`) problems.push(`${plan.name}: run ${r.metadata.name} labelled ${t / 1000}`);
            if ((r.spec as { inputs?: Record<string, unknown> }).inputs?.['kickoff'] !== iso(t)) problems.push(`${r.metadata.name}: kickoff input ${JSON.stringify((r.spec as { inputs?: unknown }).inputs)}`);
            const late = (seenAt.get(r.metadata.uid!) ?? t) - t;
            lateness.push(late);
            if (late >= 500) catchUps++;
          }
          const lp = lps.current.get(plan.name);
          const recorded = new Map<number, string>((lp?.status?.skipped ?? []).map((s) => [Date.parse(s.time), s.reason]));
          const events = await c.client.request<{ items: { message: string }[] }>('GET', `/api/v1/namespaces/${ns.name}/events`, {
            query: { fieldSelector: `involvedObject.name=${plan.name},reason=RunSkipped` },
          });
          for (const e of events.items) {
            const m = /^skipped (\S+): (.*)$/s.exec(e.message);
            if (m) recorded.set(Date.parse(m[1]!), m[2]!);
          }
          const times = fireTimes(plan, stoppedAt);
          expected += times.length;
          for (const t of times) {
            const got = byTime.get(t) ?? [];
            const skip = recorded.get(t);
            if (got.length >= 1) ran++;
            if (got.length > 1) {
              doubled++;
              problems.push(`${plan.name} ${iso(t)} ran ${got.length} times: ${got.map((r) => r.metadata.uid).join(', ')}`);
            }
            if (got.length && skip) problems.push(`${plan.name} ${iso(t)} ran and is recorded as skipped (${skip})`);
            if (!got.length && skip) skippedByPolicy++;
            if (!got.length && !skip) {
              missed++;
              problems.push(`${plan.name} ${iso(t)} neither ran nor is recorded as skipped`);
            }
          }
          for (const [t, rs] of byTime) {
            if (!times.includes(t)) {
              doubled += rs.length;
              problems.push(`${plan.name}: ${rs.map((r) => r.metadata.name).join(', ')} for ${iso(t)}, not a scheduled time before the end`);
            }
          }
          if (lp?.status?.lastScheduledTime !== iso(times.at(-1)!)) problems.push(`${plan.name}: lastScheduledTime ${lp?.status?.lastScheduledTime}, expected ${iso(times.at(-1)!)}`);
        }
        const finished = [...finals.values()].filter((wf) => wf.status?.phase === 'Succeeded').length;
        const notSucceeded = [...finals.values()].filter((wf) => wf.status?.phase !== 'Succeeded').map((wf) => `${wf.metadata.name}: ${wf.status?.phase ?? 'no phase'}`);
        // A hot loop would show as a storm of status writes: count them per tick.
        const ticks = plans.reduce((n, p) => n + fireTimes(p, stoppedAt).length, 0);
        const lpWrites = lps.events.filter((e) => e.type === 'MODIFIED').length;
        const errors = propellers.flatMap((p) => logLines(logsOf(p)).filter((l) => Number(l['level']) >= 50));
        const byKind = (k: KillKind) => kills.filter((x) => x.kind === k).length;
        const nearTick = kills.filter((k) => Math.abs(k.offsetMs) <= AROUND_MS).length;

        row.workflows = expected;
        row.lost = missed + notSucceeded.length;
        row.duplicates = doubled;
        row.outcome = `${expected} scheduled times: ${ran} ran once, ${missed} missed, ${doubled} doubled, ${skippedByPolicy} skipped by policy; ${finished}/${seen.length} runs Succeeded`;
        row.notes =
          `a 5 s fixed rate and a cron @every 5s, catch-up All, default history limits; ${((stoppedAt - plans[0]!.created) / 60_000).toFixed(1)} min of schedule; ` +
          `kills ${byKind('before a tick')} 0–${AROUND_MS} ms before a tick, ${byKind('after a tick')} 0–${AROUND_MS} ms after, ${byKind("in a tick's round")} 0–${ROUND_MS} ms after, ${byKind('first round')} in the restarted propeller's first round, ${byKind('anywhere')} anywhere; ` +
          `${nearTick} within ${AROUND_MS} ms of a tick, ${kills.filter((k) => k.unrecorded).length} between a run's create and the status write recording it; uptime before a kill min/median/max ${spread(kills.map((k) => k.uptimeMs))} ms; ` +
          `${catchUps} runs started ≥ 0.5 s late (caught up after a restart), lateness min/median/max ${spread(lateness.map((l) => Math.round(l)))} ms; ` +
          `${(lpWrites / ticks).toFixed(1)} launch-plan writes per tick; ${errors.length} error log lines; seed ${seed}; ${((Date.now() - began) / 1000).toFixed(0)} s`;
        process.stderr.write(`# schedule: ${row.outcome}; ${row.notes}\n`);
        checks.ok(kills.length >= (FULL ? 60 : 5), `only ${kills.length} kills`);
        checks.equal(skippedByPolicy, 0, 'with catch-up All and short restarts nothing is skipped');
        checks.ok(problems.length === 0, `${problems.length} problems:\n  ${problems.slice(0, 15).join('\n  ')}`);
        checks.ok(notSucceeded.length === 0, `runs that did not succeed: ${notSucceeded.slice(0, 10).join(', ')}`);
        checks.ok(lpWrites <= 10 * ticks, `${lpWrites} launch-plan writes for ${ticks} ticks: a hot loop?`);
        checks.equal(errors.length, 0, `error log lines: ${errors.slice(0, 3).map((l) => JSON.stringify(l)).join('\n')}`);
      });
    } catch (err) {
      if (current) process.stderr.write(`# last propeller log:\n${tail(logsOf(current), 30)}\n`);
      throw err;
    } finally {
      await runs.stop();
      await lps.stop();
      for (const p of propellers) await p.kill();
      await rbac.uninstall();
      await ns.remove();
    }
  });
});

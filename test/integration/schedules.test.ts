// Scheduled launch plans on the real API server: runs named after their scheduled time, the kickoff time
// passed as an input, concurrency policies, and history limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { definitionsPath, launchPlanPath, launchPlansPath, wfList } from './helpers/schedules.ts';
import { pyTask, usePropellerEnv, type Env } from './helpers/e2e.ts';

const stamp = pyTask('import time\ntime.sleep(inp["pause"])\nout["at"] = inp["kickoff"]', { inputs: { kickoff: 'datetime', pause: 'float' }, outputs: { at: 'datetime' } });

async function setUp(env: Env, name: string, schedule: Record<string, unknown>, extra: Record<string, unknown> = {}, pause = 0): Promise<void> {
  await env.client.request('POST', definitionsPath(env.ns), {
    body: {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'WorkflowDefinition',
      metadata: { name: `${name}.v1`, namespace: env.ns },
      spec: {
        name,
        version: 'v1',
        workflow: {
          interface: { inputs: { kickoff: 'datetime', pause: 'float' }, outputs: { at: 'datetime' } },
          tasks: { stamp },
          nodes: { s: { task: 'stamp', inputs: { kickoff: { from: 'inputs.kickoff' }, pause: { from: 'inputs.pause' } } } },
          outputs: { at: { from: 's.at' } },
        },
      },
    },
  });
  await env.client.request('POST', launchPlansPath(env.ns), {
    body: {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'LaunchPlan',
      metadata: { name, namespace: env.ns },
      spec: { workflow: { name, version: 'v1' }, defaultInputs: { pause }, schedule: { kickoffTimeInput: 'kickoff', ...schedule }, ...extra },
    },
  });
}

async function runsOf(env: Env, lp: string): Promise<FlyteWorkflow[]> {
  return (await wfList(env, `flyte.propeller.dev/launch-plan=${lp}`)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await fn();
    if (got !== undefined) return got;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('scheduled launch plans', { concurrency: true }, () => {
  const env = usePropellerEnv('sched');

  test('a 2 s fixed rate starts one run per scheduled time, named after it, with the kickoff time as input', { timeout: 60_000 }, async () => {
    await setUp(env(), 'rate', { fixedRate: '2s' });
    const runs = await until('three succeeded runs', async () => {
      const all = await runsOf(env(), 'rate');
      const done = all.filter((r) => r.status?.phase === 'Succeeded');
      return done.length >= 3 ? all : undefined;
    });
    const times = runs.map((r) => Number(r.metadata.labels?.['flyte.propeller.dev/scheduled-time']));
    for (const r of runs.filter((r) => r.status?.phase === 'Succeeded')) {
      const t = Number(r.metadata.labels?.['flyte.propeller.dev/scheduled-time']);
      assert.equal(r.metadata.name, `rate-${t}`);
      assert.equal(r.status?.outputs?.['at'], new Date(t * 1000).toISOString());
    }
    // Consecutive runs are exactly one rate apart: none missed, none doubled.
    const sorted = [...new Set(times)].sort((a, b) => a - b);
    assert.equal(sorted.length, times.length, 'no scheduled time ran twice');
    for (let i = 1; i < sorted.length; i++) assert.equal(sorted[i]! - sorted[i - 1]!, 2);
    const lp = await env().client.request<{ status?: { lastScheduledTime?: string; nextScheduledTime?: string; valid?: boolean } }>('GET', launchPlanPath(env().ns, 'rate'));
    assert.equal(lp.status?.valid, true);
    assert.ok(lp.status?.nextScheduledTime && Date.parse(lp.status.nextScheduledTime) > Date.parse(lp.status.lastScheduledTime ?? ''));
  });

  test('Forbid skips a time while the previous run is active, and says so; history limits keep the newest runs', { timeout: 60_000 }, async () => {
    await setUp(env(), 'forbid', { fixedRate: '1s', concurrencyPolicy: 'Forbid' }, { successfulRunsHistoryLimit: 2 }, 2.5);
    const lp = await until('a skipped time', async () => {
      const got = await env().client.request<{ status?: { skipped?: { time: string; reason: string }[] } }>('GET', launchPlanPath(env().ns, 'forbid'));
      return got.status?.skipped?.length ? got : undefined;
    });
    assert.match(lp.status!.skipped![0]!.reason, /still active/);
    await until('history trimmed to 2 succeeded runs after 3 succeeded', async () => {
      const runs = await runsOf(env(), 'forbid');
      const succeeded = runs.filter((r) => r.status?.phase === 'Succeeded');
      const active = runs.filter((r) => !['Succeeded', 'Failed', 'Aborted'].includes(r.status?.phase ?? ''));
      assert.ok(active.length <= 1, `Forbid: at most one active run, got ${active.map((r) => r.metadata.name).join(', ')}`);
      return succeeded.length === 2 && Number(lp.status?.skipped?.length) > 0 ? true : undefined;
    }, 45_000);
  });

  test('Replace aborts the active run to start the next', { timeout: 60_000 }, async () => {
    await setUp(env(), 'replace', { fixedRate: '2s', concurrencyPolicy: 'Replace' }, {}, 30);
    const runs = await until('two aborted runs', async () => {
      const all = await runsOf(env(), 'replace');
      return all.filter((r) => r.status?.phase === 'Aborted').length >= 2 ? all : undefined;
    }, 45_000);
    // Every run but the newest was told to stop when its successor started.
    const byTime = runs.sort((a, b) => Number(a.metadata.labels?.['flyte.propeller.dev/scheduled-time']) - Number(b.metadata.labels?.['flyte.propeller.dev/scheduled-time']));
    for (const r of byTime.slice(0, -1)) assert.equal((r.spec as { abort?: boolean }).abort, true, `${r.metadata.name} was replaced`);
    assert.notEqual((byTime.at(-1)!.spec as { abort?: boolean }).abort, true, 'the newest run runs on');
  });
});

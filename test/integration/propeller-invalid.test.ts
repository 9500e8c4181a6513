// Invalid FlyteWorkflows, one per file in test/fixtures/invalid/. Each file carries its expectation in
// comment lines:
//   # expect: <substring of the message>          (one or more; all must appear)
//   # rejected-by: api-server                     (the CRD schema rejects it: the POST fails with 422)
// Without `rejected-by`, the API server accepts it and the propeller must fail it on its first round,
// with status.message = "invalid workflow: <the expected error>", and create no pod.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { KubeApiError } from '../../src/k8s/errors.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { diagnose, FINALIZER_NAME, podRecorder, Recorder, usePropellerEnv, wfPath, workflowRecorder } from './helpers/e2e.ts';
import { createWorkflow } from './helpers/workflows.ts';

const dir = join(repoRoot, 'test', 'fixtures', 'invalid');

interface Fixture {
  file: string;
  name: string;
  manifest: FlyteWorkflow;
  expect: string[];
  apiServer: boolean;
}

const fixtures: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expect = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!.trim());
    if (!expect.length) throw new Error(`${file}: no "# expect:" line`);
    const manifest = parse(text) as FlyteWorkflow;
    const name = basename(file, '.yaml');
    manifest.metadata = { ...manifest.metadata, name };
    return { file, name, manifest, expect, apiServer: /^# rejected-by: api-server$/m.test(text) };
  });

describe('invalid FlyteWorkflows', () => {
  let pods: Recorder<Pod>;
  let workflows: Recorder<FlyteWorkflow>;
  // Registered first so the watches end before the cluster's client closes (which waits for them).
  after(async () => {
    await pods?.stop();
    await workflows?.stop();
  });
  const env = usePropellerEnv('invalid');
  before(async () => {
    pods = await podRecorder(env());
    workflows = await workflowRecorder(env());
  });

  test('the fixture directory has enough cases', () => {
    assert.ok(fixtures.filter((f) => !f.apiServer).length >= 15, 'at least 15 specs the propeller rejects');
    assert.ok(fixtures.filter((f) => f.apiServer).length >= 3, 'at least 3 specs the API server rejects');
  });

  describe('each fixture', { concurrency: true }, () => {
    for (const fx of fixtures) {
      if (fx.apiServer) {
        test(`${fx.file}: the API server rejects it (422)`, { timeout: 30_000 }, async () => {
          const err = await createWorkflow(env().client, env().ns, fx.manifest).then(
            () => undefined,
            (e: unknown) => e,
          );
          assert.ok(err instanceof KubeApiError, `the POST was accepted (or failed otherwise): ${String(err)}`);
          assert.equal(err.status, 422, err.message);
          for (const e of fx.expect) assert.ok(err.serverMessage.includes(e), `the rejection names ${JSON.stringify(e)}: ${err.serverMessage}`);
          await assert.rejects(env().client.request('GET', wfPath(env().ns, fx.name)), (e: unknown) => e instanceof KubeApiError && e.status === 404);
        });
        continue;
      }
      test(`${fx.file}: Failed on the first round, naming the problem`, { timeout: 60_000 }, async () => {
        await createWorkflow(env().client, env().ns, fx.manifest);
        const seen = () => workflows.events.filter((e) => e.object.metadata.name === fx.name);
        const deadline = Date.now() + 45_000;
        while (!seen().some((e) => e.object.status?.phase === 'Failed')) {
          const phase = seen().at(-1)?.object.status?.phase;
          if (phase && phase !== 'Failed') assert.fail(`${fx.name} reached phase ${phase} instead of failing at once\n${await diagnose(env(), fx.name)}`);
          if (Date.now() > deadline) assert.fail(`${fx.name} did not fail within 45 s\n${await diagnose(env(), fx.name)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const status = seen().find((e) => e.object.status?.phase === 'Failed')!.object.status!;
        const context = `\nstatus: ${JSON.stringify(status, null, 1)}`;
        const phases = seen().map((e) => e.object.status?.phase ?? '(none)');
        assert.ok(
          phases.every((p) => p === '(none)' || p === 'Failed'),
          `the first status written was already Failed (no Pending/Running before it); phases seen: ${phases.join(' → ')}${context}`,
        );
        assert.ok(status.message?.startsWith('invalid workflow: '), `message: ${status.message}${context}`);
        for (const e of fx.expect) assert.ok(status.message?.includes(e), `status.message names the problem: expected it to contain\n  ${e}\ngot\n  ${status.message}${context}`);
        assert.equal(status.error?.code, 'InvalidWorkflow', context);
        assert.equal(status.error?.kind, 'Permanent', context);
        for (const e of fx.expect) assert.ok(status.error?.message.includes(e), `status.error.message lists the problem${context}`);
        assert.ok(status.finishedAt, `finishedAt is set${context}`);
        const mine = pods.events.filter((p) => p.object.metadata.labels?.['flyte.propeller.dev/workflow'] === fx.name);
        assert.deepEqual(mine.map((p) => p.object.metadata.name), [], 'no pod was created for it');
        // Nothing is left to clean up, so the finalizer must not keep the object around.
        const deadline2 = Date.now() + 20_000;
        for (;;) {
          const wf = await env().client.request<FlyteWorkflow>('GET', wfPath(env().ns, fx.name));
          if (!wf.metadata.finalizers?.includes(FINALIZER_NAME)) break;
          if (Date.now() > deadline2) assert.fail(`the finalizer is still on the failed workflow: ${JSON.stringify(wf.metadata.finalizers)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      });
    }
  });

  test('no pod was ever created in the namespace', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(
      pods.events.map((e) => `${e.type} ${e.object.metadata.name}`),
      [],
      'the propeller created no pod for any invalid workflow',
    );
  });
});

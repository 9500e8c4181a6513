import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { scrape } from './helpers/metrics.ts';
import { createNamespace } from './helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from './helpers/propeller.ts';
import { createWorkflow, waitFor, waitForPhase } from './helpers/workflows.ts';

describe('operating endpoints', () => {
  const cluster = useTestCluster();
  let client: KubeClient;
  let ns: { name: string; remove(): Promise<void> };
  let propeller: RunningPropeller;
  let port: number;

  before(async () => {
    client = cluster().client;
    ns = await createNamespace(client, 'metrics');
    propeller = startPropeller({ kubeconfig: cluster().kubeconfigPath, namespaces: [ns.name] });
    port = await propeller.serverPort();
  });
  after(async () => {
    await propeller.kill();
    await ns.remove();
  });

  test('/healthz answers while alive and /readyz once the caches are synced', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    await waitFor('readiness', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/readyz`)).text(), 'ok\n');
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
  });

  test('/metrics has real values after a workflow run', async () => {
    const manifest = parse(readFileSync(join(repoRoot, 'examples', 'regression.yaml'), 'utf8')) as FlyteWorkflow;
    await createWorkflow(client, ns.name, manifest);
    const done = await waitForPhase(client, ns.name, manifest.metadata.name, ['Succeeded', 'Failed'], 60_000);
    assert.equal(done.status?.phase, 'Succeeded', propeller.logs().slice(-2000));
    // Completion is recorded when the status write returns; scrape once it shows.
    const m = await waitFor('the completion metric', async () => {
      const s = await scrape(port);
      return s.value('propeller_workflow_completion_seconds_count', { phase: 'Succeeded' }) >= 1 ? s : undefined;
    });

    assert.ok(m.value('propeller_round_duration_seconds_count') >= 2, 'reconcile rounds are timed');
    assert.ok(m.has('propeller_queue_depth'), 'queue depth is exported');
    assert.ok(m.value('propeller_queue_latency_seconds_count') >= 2, 'queue latency is observed');
    assert.equal(m.value('propeller_workflow_acceptance_latency_seconds_count'), 1, 'one acceptance: the first pod');
    assert.equal(m.value('propeller_node_transition_latency_seconds_count'), 1, 'one transition: slope → intercept');
    assert.equal(m.value('propeller_pods_created_total'), 2);
    assert.equal(m.value('propeller_api_requests_total', { verb: 'create', resource: 'pods', code: '201' }), 2);
    assert.ok(m.value('propeller_api_requests_total', { verb: 'patch', resource: 'flyteworkflows/status', code: '200' }) >= 2);
    assert.ok(m.value('propeller_api_requests_total', { verb: 'list', resource: 'pods', code: '200' }) >= 1);
    assert.ok(m.value('propeller_api_request_duration_seconds_count', { verb: 'create' }) >= 2);
    assert.ok(m.value('propeller_api_client_throttle_seconds_count') >= 4, 'every request passes the client-side limiter');
    assert.equal(m.value('propeller_workflows', { phase: 'Succeeded' }), 1);
    assert.equal(m.value('propeller_leader'), 1, 'without election the process acts as leader');
    assert.ok(m.value('propeller_status_bytes_count') >= 1, 'the status size is measured when the workflow finishes');
    assert.ok(m.value('propeller_informer_relists_total', { reason: 'initial' }) >= 2);
    assert.ok(m.value('process_cpu_seconds_total') > 0, 'default process metrics');
    assert.ok(m.has('nodejs_eventloop_lag_seconds'), 'default Node.js metrics');

    // Events are sent in the background, so they may land a moment after the status.
    const reasons = await waitFor('the Started and Succeeded events', async () => {
      const events = (await client.request('GET', `/api/v1/namespaces/${ns.name}/events`, { query: { fieldSelector: `involvedObject.name=${manifest.metadata.name}` } })) as { items: { reason: string }[] };
      const seen = events.items.map((e) => e.reason).sort();
      return seen.includes('Started') && seen.includes('Succeeded') ? seen : undefined;
    });
    assert.deepEqual(reasons, ['Started', 'Succeeded'], 'one event each: the workflow started, the workflow succeeded');
  });

  test('deleted pods are counted', async () => {
    const manifest = parse(readFileSync(join(repoRoot, 'examples', 'regression.yaml'), 'utf8')) as FlyteWorkflow;
    manifest.metadata.name = 'aborted';
    const slope = (manifest.spec as { tasks: Record<string, { container: { command: string[] } }> }).tasks['slope']!;
    slope.container.command = ['sleep', '60'];
    await createWorkflow(client, ns.name, manifest);
    await waitFor('the sleeper to run', async () => (await scrape(port)).value('propeller_pods_created_total') >= 3);
    await client.request('PATCH', `/apis/flyte.propeller.dev/v1alpha1/namespaces/${ns.name}/flyteworkflows/aborted`, {
      body: { spec: { abort: true } },
      contentType: 'application/merge-patch+json',
    });
    await waitForPhase(client, ns.name, 'aborted', ['Aborted'], 30_000);
    assert.equal((await scrape(port)).value('propeller_pods_deleted_total'), 1);
    assert.equal((await scrape(port)).value('propeller_workflows', { phase: 'Aborted' }), 1);
  });
});

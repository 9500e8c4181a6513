import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { request } from 'node:http';
import type { FlyteWorkflow, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import type { ReconcileObserver } from '../../../src/controller/reconciler.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { reconcileMetrics } from '../../../src/observability/reconcile-metrics.ts';
import { startServer } from '../../../src/observability/server.ts';

async function values(metrics: Metrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `no metric ${name}`);
  return (await metric.get()).values as { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
}
async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}, metricName?: string): Promise<number | undefined> {
  const found = (await values(metrics, name)).find(
    (v) => (metricName === undefined || v.metricName === metricName) && Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l) && Object.keys(v.labels).filter((k) => k !== 'le').length === Object.keys(labels).length,
  );
  return found?.value;
}
const count = (m: Metrics, name: string, labels: Record<string, string> = {}) => value(m, name, labels, `${name}_count`);
const sum = (m: Metrics, name: string, labels: Record<string, string> = {}) => value(m, name, labels, `${name}_sum`);

describe('Metrics.onRequest', () => {
  test('counts every request by verb, resource and code, and times non-watch requests', async () => {
    const m = new Metrics();
    m.onRequest({ verb: 'get', resource: 'pods', code: 200, durationMs: 20, throttledMs: 0 });
    m.onRequest({ verb: 'get', resource: 'pods', code: 200, durationMs: 40, throttledMs: 5 });
    m.onRequest({ verb: 'patch', resource: 'flyteworkflows/status', code: 409, durationMs: 10, throttledMs: 0 });
    m.onRequest({ verb: 'list', resource: 'pods', code: 0, durationMs: 30_000, throttledMs: 0 });
    m.onRequest({ verb: 'watch', resource: 'pods', code: 200, durationMs: 300_000, throttledMs: 0 });
    assert.equal(await value(m, 'propeller_api_requests_total', { verb: 'get', resource: 'pods', code: '200' }), 2);
    assert.equal(await value(m, 'propeller_api_requests_total', { verb: 'patch', resource: 'flyteworkflows/status', code: '409' }), 1);
    assert.equal(await value(m, 'propeller_api_requests_total', { verb: 'list', resource: 'pods', code: '0' }), 1);
    assert.equal(await value(m, 'propeller_api_requests_total', { verb: 'watch', resource: 'pods', code: '200' }), 1);
    assert.equal(await count(m, 'propeller_api_request_duration_seconds', { verb: 'get' }), 2);
    assert.ok(Math.abs((await sum(m, 'propeller_api_request_duration_seconds', { verb: 'get' }))! - 0.06) < 1e-9, 'seconds, not ms');
    assert.equal(await count(m, 'propeller_api_request_duration_seconds', { verb: 'watch' }), undefined, 'watches are not timed');
    assert.equal(await count(m, 'propeller_api_client_throttle_seconds'), 4, 'throttle observed for every non-watch request');
    assert.ok(Math.abs((await sum(m, 'propeller_api_client_throttle_seconds'))! - 0.005) < 1e-9);
  });

  test('each Metrics has its own registry', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.podsCreated.inc(3);
    assert.equal(await value(a, 'propeller_pods_created_total'), 3);
    assert.equal(await value(b, 'propeller_pods_created_total'), 0);
  });

  test('the workflows gauge counts the source by phase at each scrape', async () => {
    const m = new Metrics();
    let source: { status?: { phase?: string } }[] = [{}, { status: {} }, { status: { phase: 'Running' } }, { status: { phase: 'Running' } }, { status: { phase: 'Succeeded' } }];
    m.countWorkflows(() => source);
    assert.equal(await value(m, 'propeller_workflows', { phase: 'New' }), 2);
    assert.equal(await value(m, 'propeller_workflows', { phase: 'Running' }), 2);
    assert.equal(await value(m, 'propeller_workflows', { phase: 'Succeeded' }), 1);
    source = [{ status: { phase: 'Succeeded' } }];
    assert.equal(await value(m, 'propeller_workflows', { phase: 'Running' }), undefined, 'phases no longer present are dropped');
    assert.equal(await value(m, 'propeller_workflows', { phase: 'Succeeded' }), 1);
  });

  test('without a source the workflows gauge is empty', async () => {
    const m = new Metrics();
    assert.deepEqual(await values(m, 'propeller_workflows'), []);
  });
});

const workflow = (name = 'wf'): FlyteWorkflow => ({
  apiVersion: 'flyte.propeller.dev/v1alpha1',
  kind: 'FlyteWorkflow',
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '1' },
  spec: {},
});

describe('reconcileMetrics', () => {
  const setup = (firstSeen: Record<string, number> = { 'ns/wf': 1_000 }) => {
    const m = new Metrics();
    const observer: ReconcileObserver = reconcileMetrics(m, (key) => firstSeen[key]);
    return { m, observer };
  };
  const created = (o: ReconcileObserver, e: { first?: boolean; dependent?: boolean; attempt?: number; readySince?: number; at?: number; wf?: FlyteWorkflow }) =>
    o.podCreated!({ workflow: e.wf ?? workflow(), node: 'n', attempt: e.attempt ?? 0, first: e.first ?? false, dependent: e.dependent ?? false, readySince: e.readySince ?? 0, at: e.at ?? 0 });

  test('acceptance latency is observed only for the first pod, from when the workflow was first seen', async () => {
    const { m, observer } = setup();
    created(observer, { first: true, at: 3_500 });
    created(observer, { first: false, at: 9_000 });
    created(observer, { first: false, at: 9_500, attempt: 1 });
    assert.equal(await value(m, 'propeller_pods_created_total'), 3);
    assert.equal(await count(m, 'propeller_workflow_acceptance_latency_seconds'), 1);
    assert.equal(await sum(m, 'propeller_workflow_acceptance_latency_seconds'), 2.5);
  });

  test('acceptance latency is skipped when the workflow was never seen, and never negative', async () => {
    const { m, observer } = setup({ 'ns/early': 5_000 });
    created(observer, { first: true, at: 3_000 }); // ns/wf: unknown
    created(observer, { first: true, at: 3_000, wf: workflow('early') }); // seen after the pod time: clamps to 0
    assert.equal(await count(m, 'propeller_workflow_acceptance_latency_seconds'), 1);
    assert.equal(await sum(m, 'propeller_workflow_acceptance_latency_seconds'), 0);
  });

  test('transition latency is observed only for attempt 0 of nodes with dependencies', async () => {
    const { m, observer } = setup();
    created(observer, { dependent: true, attempt: 0, readySince: 1_000, at: 1_250 });
    created(observer, { dependent: false, attempt: 0, readySince: 1_000, at: 5_000 });
    created(observer, { dependent: true, attempt: 1, readySince: 1_000, at: 60_000 });
    created(observer, { dependent: true, attempt: 0, readySince: 2_000, at: 1_000 }); // clock went back: 0
    assert.equal(await count(m, 'propeller_node_transition_latency_seconds'), 2);
    assert.equal(await sum(m, 'propeller_node_transition_latency_seconds'), 0.25);
  });

  test('pod deletions are counted', async () => {
    const { m, observer } = setup();
    observer.podDeleted!({ workflow: workflow(), node: 'n' });
    observer.podDeleted!({ workflow: workflow(), node: undefined });
    assert.equal(await value(m, 'propeller_pods_deleted_total'), 2);
  });

  test('completion is observed once, when the status turns terminal, by final phase', async () => {
    const { m, observer } = setup();
    const write = (prev: WorkflowStatus | undefined, next: WorkflowStatus, bytes = 100) => observer.statusWritten!({ workflow: workflow(), prev, next, bytes });
    const started = '2024-01-01T00:00:00Z';
    write(undefined, { phase: 'Running', startedAt: started });
    write({ phase: 'Running', startedAt: started }, { phase: 'Running', startedAt: started, progress: '1/2' });
    write({ phase: 'Running' }, { phase: 'Failing', startedAt: started });
    assert.equal(await count(m, 'propeller_workflow_completion_seconds', { phase: 'Failed' }), undefined);
    const done: WorkflowStatus = { phase: 'Failed', startedAt: started, finishedAt: '2024-01-01T00:01:30Z' };
    write({ phase: 'Failing', startedAt: started }, done);
    // Later writes of a terminal status (e.g. a message update) do not observe again.
    write(done, { ...done, message: 'cleaned up' });
    write({ phase: 'Succeeded' }, { phase: 'Failed', startedAt: started, finishedAt: '2024-01-01T00:01:30Z' });
    assert.equal(await count(m, 'propeller_workflow_completion_seconds', { phase: 'Failed' }), 1);
    assert.equal(await sum(m, 'propeller_workflow_completion_seconds', { phase: 'Failed' }), 90);
    // A first write that is already terminal counts; missing times do not.
    write(undefined, { phase: 'Succeeded', startedAt: started, finishedAt: '2024-01-01T00:00:10Z' });
    write({}, { phase: 'Aborted', finishedAt: '2024-01-01T00:00:10Z' });
    assert.equal(await count(m, 'propeller_workflow_completion_seconds', { phase: 'Succeeded' }), 1);
    assert.equal(await sum(m, 'propeller_workflow_completion_seconds', { phase: 'Succeeded' }), 10);
    assert.equal(await count(m, 'propeller_workflow_completion_seconds', { phase: 'Aborted' }), undefined);
    assert.equal(await count(m, 'propeller_status_bytes'), 8);
    assert.equal(await sum(m, 'propeller_status_bytes'), 800);
  });
});

describe('probe and metrics server', () => {
  let server: Server;
  let port: number;
  let ready = { ok: false, detail: 'caches syncing' };
  const metrics = new Metrics();

  before(async () => {
    ({ server, port } = await startServer('127.0.0.1', 0, { registry: metrics.registry, ready: () => ready }));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const call = (method: string, path: string) =>
    new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end();
    });

  test('listens on the port it reports', () => {
    assert.ok(port > 0);
  });

  test('/healthz answers ok, with or without a query string', async () => {
    assert.deepEqual(await call('GET', '/healthz'), { status: 200, type: 'text/plain', body: 'ok\n' });
    assert.equal((await call('GET', '/healthz?verbose=1')).status, 200);
    const head = await call('HEAD', '/healthz');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('/readyz is 503 with the detail until ready, then 200', async () => {
    ready = { ok: false, detail: 'caches syncing' };
    assert.deepEqual(await call('GET', '/readyz'), { status: 503, type: 'text/plain', body: 'caches syncing\n' });
    ready = { ok: true, detail: 'ok (standby)' };
    assert.deepEqual(await call('GET', '/readyz'), { status: 200, type: 'text/plain', body: 'ok (standby)\n' });
  });

  test('/metrics serves the registry in the Prometheus text format', async () => {
    metrics.podsCreated.inc(2);
    metrics.onRequest({ verb: 'get', resource: 'pods', code: 200, durationMs: 1, throttledMs: 0 });
    const res = await call('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.type, metrics.registry.contentType);
    assert.match(res.body, /^# HELP propeller_pods_created_total Task pods created\.$/m);
    assert.match(res.body, /^propeller_pods_created_total 2$/m);
    assert.match(res.body, /^propeller_api_requests_total\{verb="get",resource="pods",code="200"\} 1$/m);
    assert.match(res.body, /^process_cpu_user_seconds_total /m, 'default process metrics are included');
  });

  test('unknown paths are 404 and other methods 405', async () => {
    assert.equal((await call('GET', '/nope')).status, 404);
    assert.equal((await call('GET', '/')).status, 404);
    assert.equal((await call('POST', '/healthz')).status, 405);
    assert.equal((await call('DELETE', '/metrics')).status, 405);
    assert.equal((await call('PUT', '/readyz')).status, 405);
  });

  test('a port that is taken is an error, not a hang', async () => {
    await assert.rejects(startServer('127.0.0.1', port, { registry: metrics.registry, ready: () => ready }), /EADDRINUSE/);
  });
});

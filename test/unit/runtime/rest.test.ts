import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeTransportError, isGone, isNotFound } from '../../../src/k8s/errors.ts';
import { JSON_PATCH, KubeClient, kubeVerbOf, resourceOf, type HttpVerb, type RateLimiter, type RequestRecord, type WatchEvent } from '../../../src/k8s/rest.ts';

describe('kubeVerbOf and resourceOf', () => {
  const cases: [HttpVerb, string, string, string][] = [
    ['GET', '/api/v1/pods', 'list', 'pods'],
    ['GET', '/api/v1/namespaces/ns/pods', 'list', 'pods'],
    ['GET', '/api/v1/namespaces/ns/pods?labelSelector=a%3Db&limit=500', 'list', 'pods'],
    ['GET', '/api/v1/namespaces/ns/pods/p1', 'get', 'pods'],
    ['GET', '/api/v1/namespaces/ns/pods/p1/log', 'get', 'pods/log'],
    ['GET', '/api/v1/namespaces', 'list', 'namespaces'],
    ['GET', '/api/v1/namespaces/ns', 'get', 'namespaces'],
    ['DELETE', '/api/v1/namespaces/ns', 'delete', 'namespaces'],
    ['POST', '/api/v1/namespaces/ns/events', 'create', 'events'],
    ['DELETE', '/api/v1/namespaces/ns/pods/p1', 'delete', 'pods'],
    ['DELETE', '/api/v1/namespaces/ns/pods', 'deletecollection', 'pods'],
    ['GET', '/apis/flyte.propeller.dev/v1alpha1/flyteworkflows', 'list', 'flyteworkflows'],
    ['GET', '/apis/flyte.propeller.dev/v1alpha1/namespaces/ns/flyteworkflows', 'list', 'flyteworkflows'],
    ['GET', '/apis/flyte.propeller.dev/v1alpha1/namespaces/ns/flyteworkflows/wf', 'get', 'flyteworkflows'],
    ['PATCH', '/apis/flyte.propeller.dev/v1alpha1/namespaces/ns/flyteworkflows/wf/status', 'patch', 'flyteworkflows/status'],
    ['PUT', '/apis/flyte.propeller.dev/v1alpha1/namespaces/ns/flyteworkflows/wf', 'update', 'flyteworkflows'],
    ['POST', '/apis/coordination.k8s.io/v1/namespaces/ns/leases', 'create', 'leases'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/propeller-leader', 'update', 'leases'],
    ['GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/flyteworkflows.flyte.propeller.dev', 'get', 'customresourcedefinitions'],
    ['GET', '/api/v1/nodes/n1', 'get', 'nodes'],
  ];
  for (const [method, path, verb, resource] of cases) {
    test(`${method} ${path}`, () => {
      assert.equal(kubeVerbOf(method, path), verb);
      assert.equal(resourceOf(path), resource);
    });
  }
  test('paths outside the resource API do not throw', () => {
    assert.equal(resourceOf('/version'), 'unknown');
    assert.equal(kubeVerbOf('GET', '/version'), 'list');
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

describe('KubeClient against a loopback server', () => {
  let server: Server;
  let port: number;
  let handler: Handler = (_req, res) => void res.writeHead(500).end();
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        void handler(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  async function client(opts: { limiter?: RateLimiter; records?: RequestRecord[]; token?: string; timeoutMs?: number; serverUrl?: string } = {}) {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: opts.serverUrl ?? `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', ...(opts.token ? { token: opts.token } : {}) }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    return KubeClient.fromKubeConfig(kc, {
      limiter: opts.limiter,
      onRequest: (r) => opts.records?.push(r),
      userAgent: 'propeller-test/1',
      timeoutMs: opts.timeoutMs ?? 5_000,
    });
  }

  const json = (res: ServerResponse, code: number, body: unknown): void => void res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

  test('a JSON answer is parsed; query values are encoded and undefined ones dropped; headers are sent', async () => {
    handler = (_req, res) => json(res, 200, { items: [{ metadata: { name: 'a' } }], metadata: { resourceVersion: '7' } });
    const records: RequestRecord[] = [];
    const c = await client({ records, token: 'secret-token' });
    const page = await c.request<{ items: unknown[]; metadata: { resourceVersion: string } }>('GET', '/api/v1/namespaces/ns/pods', {
      query: { labelSelector: 'a=b,c in (d)', limit: 500, continue: undefined, watch: false },
    });
    assert.equal(page.metadata.resourceVersion, '7');
    const req = seen.at(-1)!;
    const url = new URL(req.url, 'http://x');
    assert.equal(url.pathname, '/api/v1/namespaces/ns/pods');
    assert.equal(url.searchParams.get('labelSelector'), 'a=b,c in (d)');
    assert.equal(url.searchParams.get('limit'), '500');
    assert.equal(url.searchParams.get('watch'), 'false');
    assert.ok(!url.searchParams.has('continue'));
    assert.equal(req.headers['accept'], 'application/json');
    assert.equal(req.headers['user-agent'], 'propeller-test/1');
    assert.equal(req.headers['authorization'], 'Bearer secret-token');
    assert.equal(records.length, 1);
    assert.equal(records[0]!.verb, 'list');
    assert.equal(records[0]!.resource, 'pods');
    assert.equal(records[0]!.code, 200);
    assert.equal(records[0]!.throttledMs, 0);
    assert.ok(records[0]!.durationMs >= 0);
    await c.close();
  });

  test('a non-JSON answer is returned as text; an empty JSON body as an empty string', async () => {
    const c = await client();
    handler = (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('line 1\nline 2\n');
    assert.equal(await c.request<string>('GET', '/api/v1/namespaces/ns/pods/p/log'), 'line 1\nline 2\n');
    handler = (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end();
    assert.equal(await c.request<string>('DELETE', '/api/v1/namespaces/ns/pods/p'), '');
    await c.close();
  });

  test('bodies are sent as JSON, with the content type asked for', async () => {
    const c = await client();
    handler = (_req, res, body) => json(res, 201, JSON.parse(body));
    const created = await c.request<{ metadata: { name: string } }>('POST', '/api/v1/namespaces/ns/pods', { body: { metadata: { name: 'p' } } });
    assert.equal(created.metadata.name, 'p');
    assert.equal(seen.at(-1)!.headers['content-type'], 'application/json');
    const ops = [{ op: 'replace', path: '/metadata/resourceVersion', value: '1' }];
    await c.request('PATCH', '/apis/g/v1/namespaces/ns/things/t/status', { body: ops, contentType: JSON_PATCH });
    assert.equal(seen.at(-1)!.method, 'PATCH');
    assert.equal(seen.at(-1)!.headers['content-type'], JSON_PATCH);
    assert.deepEqual(JSON.parse(seen.at(-1)!.body), ops);
    // A string body goes as is.
    await c.request('POST', '/api/v1/namespaces/ns/events', { body: '{"raw":true}' });
    assert.equal(seen.at(-1)!.body, '{"raw":true}');
    await c.close();
  });

  test('a Status error body becomes a KubeApiError with status, reason and the server message', async () => {
    const records: RequestRecord[] = [];
    const c = await client({ records });
    handler = (_req, res) => json(res, 404, status(404, 'NotFound', 'pods "p" not found'));
    const err = await c.request('GET', '/api/v1/namespaces/ns/pods/p').then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeApiError);
    assert.equal(err.status, 404);
    assert.equal(err.reason, 'NotFound');
    assert.equal(err.serverMessage, 'pods "p" not found');
    assert.equal(err.verb, 'get');
    assert.equal(err.path, '/api/v1/namespaces/ns/pods/p');
    assert.equal(err.code, 'KubeNotFound');
    assert.ok(isNotFound(err));
    assert.equal(records.at(-1)!.code, 404);

    handler = (_req, res) => json(res, 409, status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version'));
    await assert.rejects(c.request('PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', { body: {} }), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.status, 409);
      assert.equal(e.reason, 'Conflict');
      assert.equal(e.verb, 'update');
      return true;
    });

    // A body that is not a Status (a proxy's HTML page) is kept as the message.
    handler = (_req, res) => void res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    await assert.rejects(c.request('GET', '/api/v1/pods'), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.status, 502);
      assert.equal(e.reason, '');
      assert.equal(e.serverMessage, '<html>bad gateway</html>');
      return true;
    });
    handler = (_req, res) => json(res, 500, null);
    await assert.rejects(c.request('GET', '/api/v1/pods'), (e: unknown) => e instanceof KubeApiError && e.status === 500 && e.serverMessage === 'null');
    await c.close();
  });

  test('a connection failure is a KubeTransportError and is recorded with code 0', async () => {
    const records: RequestRecord[] = [];
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const c = await client({ records, serverUrl: `http://127.0.0.1:${deadPort}` });
    await assert.rejects(c.request('GET', '/api/v1/pods'), (e: unknown) => {
      assert.ok(e instanceof KubeTransportError);
      assert.match(e.message, /^list \/api\/v1\/pods: /);
      return true;
    });
    assert.equal(records.length, 1);
    assert.equal(records[0]!.code, 0);
    await c.close();
  });

  test('the limiter is awaited before the request is sent, and its wait is reported', async () => {
    let release!: (ms: number) => void;
    let takes = 0;
    const limiter: RateLimiter = {
      take: () => {
        takes++;
        return new Promise<number>((resolve) => (release = resolve));
      },
    };
    const records: RequestRecord[] = [];
    const c = await client({ limiter, records });
    handler = (_req, res) => json(res, 200, { ok: true });
    const before = seen.length;
    const pending = c.request<{ ok: boolean }>('GET', '/api/v1/namespaces/ns/pods/p');
    await sleep(20);
    assert.equal(takes, 1);
    assert.equal(seen.length, before, 'nothing is sent while the limiter holds the request');
    assert.equal(records.length, 0);
    release(123);
    assert.deepEqual(await pending, { ok: true });
    assert.equal(seen.length, before + 1);
    assert.equal(records[0]!.throttledMs, 123);
    assert.equal(records[0]!.verb, 'get');
    await c.close();
  });

  // ---- watch ----

  const line = (e: WatchEvent) => `${JSON.stringify(e)}\n`;
  const pod = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, data: 'ünïcødé ✓' });

  test('watch parses events split across chunks, skips blank lines, and resolves when the server ends', async () => {
    const records: RequestRecord[] = [];
    let takes = 0;
    const c = await client({ records, limiter: { take: async () => (takes++, 0) } });
    const first = line({ type: 'ADDED', object: pod('a', '1') });
    const second = line({ type: 'MODIFIED', object: pod('a', '2') });
    const third = JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '3' } } }); // no trailing newline
    handler = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const bytes = Buffer.from(first + '\n' + second);
      // Split inside the first event, and inside a multi-byte character of the second.
      const cut1 = 10;
      const cut2 = Buffer.byteLength(first + '\n') + Buffer.from(second).indexOf(Buffer.from('✓')) + 1;
      res.write(bytes.subarray(0, cut1));
      await sleep(15);
      res.write(bytes.subarray(cut1, cut2));
      await sleep(15);
      res.write(bytes.subarray(cut2));
      res.end(third);
    };
    const events: WatchEvent<ReturnType<typeof pod>>[] = [];
    await c.watch<ReturnType<typeof pod>>('/api/v1/namespaces/ns/pods', { resourceVersion: '0', allowWatchBookmarks: true, labelSelector: undefined }, (e) => events.push(e));
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.resourceVersion]),
      [['ADDED', '1'], ['MODIFIED', '2'], ['BOOKMARK', '3']],
    );
    assert.equal(events[1]!.object.data, 'ünïcødé ✓');
    const url = new URL(seen.at(-1)!.url, 'http://x');
    assert.equal(url.searchParams.get('watch'), 'true');
    assert.equal(url.searchParams.get('resourceVersion'), '0');
    assert.equal(url.searchParams.get('allowWatchBookmarks'), 'true');
    assert.ok(!url.searchParams.has('labelSelector'));
    assert.equal(takes, 0, 'watches are not rate limited');
    assert.equal(records.at(-1)!.verb, 'watch');
    assert.equal(records.at(-1)!.resource, 'pods');
    assert.equal(records.at(-1)!.code, 200);
    await c.close();
  });

  test('an ERROR event with code 410 rejects with a Gone KubeApiError after the events before it', async () => {
    const c = await client();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line({ type: 'ADDED', object: pod('a', '5') }));
      res.write(line({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version: 5 (77)') }));
      // The server would keep the stream open; the client must not wait for it.
    };
    const events: WatchEvent[] = [];
    await assert.rejects(c.watch('/api/v1/pods', { resourceVersion: '5' }, (e) => events.push(e)), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.ok(isGone(e));
      assert.equal(e.reason, 'Expired');
      assert.equal(e.serverMessage, 'too old resource version: 5 (77)');
      assert.equal(e.verb, 'watch');
      return true;
    });
    assert.equal(events.length, 1);
    await c.close();
  });

  test('a watch refused with a non-200 status rejects with that status', async () => {
    const records: RequestRecord[] = [];
    const c = await client({ records });
    handler = (_req, res) => json(res, 403, status(403, 'Forbidden', 'pods is forbidden: User "x" cannot watch resource "pods"'));
    await assert.rejects(c.watch('/api/v1/pods', {}, () => assert.fail('no events')), (e: unknown) => e instanceof KubeApiError && e.status === 403 && e.reason === 'Forbidden');
    assert.equal(records.at(-1)!.code, 403);
    await c.close();
  });

  test('a malformed line rejects with a transport error', async () => {
    const c = await client();
    handler = (_req, res) => void res.writeHead(200).end('{"type":"ADDED",\n');
    await assert.rejects(c.watch('/api/v1/pods', {}, () => {}), KubeTransportError);
    await c.close();
  });

  test('the idle timeout aborts a watch that goes silent', async () => {
    const c = await client();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line({ type: 'ADDED', object: pod('a', '1') }));
      // …and then nothing, with the connection left open (a half-open connection looks like this).
    };
    const events: WatchEvent[] = [];
    const started = performance.now();
    await assert.rejects(c.watch('/api/v1/pods', {}, (e) => events.push(e), { idleTimeoutMs: 30 }), KubeTransportError);
    const elapsed = performance.now() - started;
    assert.equal(events.length, 1);
    assert.ok(elapsed >= 25 && elapsed < 3000, `gave up after ${Math.round(elapsed)} ms`);
    await c.close();
  });

  test('aborting the signal ends a watch', async () => {
    const c = await client();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line({ type: 'ADDED', object: pod('a', '1') }));
    };
    const abort = new AbortController();
    const events: WatchEvent[] = [];
    const watching = c.watch('/api/v1/pods', {}, (e) => {
      events.push(e);
      abort.abort();
    }, { signal: abort.signal, idleTimeoutMs: 60_000 });
    await assert.rejects(watching, KubeTransportError);
    assert.equal(events.length, 1);
    await c.close();
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer, objectKey, type InformerEventType } from '../../../src/k8s/informer.ts';
import { KubeApiError, KubeTransportError } from '../../../src/k8s/errors.ts';
import { FakeKube, type Obj } from './fake-kube.ts';
import { memoryLogger, settle, until } from './helpers.ts';

const gone = () => new KubeApiError({ status: 410, reason: 'Expired', message: 'too old resource version: 1 (2)', verb: 'watch', path: '/api/v1/pods' });
const reset = () => new KubeTransportError('watch', '/api/v1/pods', new Error('read ECONNRESET'));

const pod = (name: string, owner?: string, data = 'v1'): Obj => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...(owner ? { labels: { owner } } : {}), managedFields: [{ manager: 'kubelet' }] },
  data,
});

function setup(opts: { pageSize?: number; transform?: (o: Obj) => Obj; backoffBaseMs?: number; backoffMaxMs?: number } = {}) {
  const fake = new FakeKube();
  const { log, lines } = memoryLogger();
  const events: [InformerEventType, string, string | undefined][] = [];
  const relists: string[] = [];
  const informer = new Informer<Obj>({
    name: 'pods',
    client: fake.kube,
    path: '/api/v1/pods',
    labelSelector: 'managed-by=propeller',
    indexBy: (o) => o.metadata.labels?.['owner'],
    log,
    pageSize: opts.pageSize,
    transform: opts.transform,
    backoffBaseMs: opts.backoffBaseMs ?? 1,
    backoffMaxMs: opts.backoffMaxMs ?? 4,
    onRelist: (reason) => relists.push(reason),
  });
  informer.on((type, o) => events.push([type, objectKey(o), o.data]));
  const take = () => events.splice(0);
  return { fake, informer, events, take, relists, lines };
}

const names = (objs: Obj[]) => objs.map((o) => o.metadata.name).sort();

describe('Informer', () => {
  test('the initial list pages through continue tokens, syncs, emits added, then watches from its resourceVersion', async () => {
    const { fake, informer, take, relists } = setup({ pageSize: 2 });
    for (const n of ['a', 'b', 'c', 'd', 'e']) fake.set(pod(n, n < 'c' ? 'wf1' : 'wf2'));
    assert.ok(!informer.hasSynced());
    informer.start();
    informer.start(); // idempotent
    await informer.waitForSync();
    assert.ok(informer.hasSynced());
    assert.equal(informer.size, 5);
    assert.deepEqual(fake.lists.map((l) => [l.query?.['limit'], l.query?.['continue'], l.query?.['labelSelector']]), [
      [2, undefined, 'managed-by=propeller'],
      [2, '2', 'managed-by=propeller'],
      [2, '4', 'managed-by=propeller'],
    ]);
    assert.deepEqual(take().map(([t, k]) => [t, k]), [['added', 'ns/a'], ['added', 'ns/b'], ['added', 'ns/c'], ['added', 'ns/d'], ['added', 'ns/e']]);
    assert.deepEqual(relists, ['initial']);
    assert.equal(informer.relists, 1);
    assert.deepEqual(names(informer.byIndex('wf1')), ['a', 'b']);
    assert.deepEqual(names(informer.byIndex('wf2')), ['c', 'd', 'e']);
    assert.deepEqual(informer.byIndex('nobody'), []);
    await until(() => fake.watches.length === 1);
    const q = fake.watches[0]!.query;
    assert.equal(q['resourceVersion'], String(fake.resourceVersion));
    assert.equal(q['allowWatchBookmarks'], true);
    assert.equal(q['labelSelector'], 'managed-by=propeller');
    assert.ok(Number(q['timeoutSeconds']) >= 240 && Number(q['timeoutSeconds']) < 360);
    assert.ok(fake.watches[0]!.idleTimeoutMs! > Number(q['timeoutSeconds']) * 1000, 'the idle timeout outlasts the server-side timeout');
    await informer.stop();
  });

  test('waitForSync after sync resolves at once; an empty list syncs too', async () => {
    const { informer } = setup();
    informer.start();
    await informer.waitForSync();
    await informer.waitForSync();
    assert.equal(informer.size, 0);
    assert.deepEqual(informer.list(), []);
    await informer.stop();
  });

  test('watch events update the store and the owner index', async () => {
    const { fake, informer, take } = setup();
    fake.set(pod('a', 'wf1'));
    informer.start();
    await informer.waitForSync();
    take();
    await until(() => fake.watches.length === 1);
    const w = fake.watches[0]!;
    const b = fake.set(pod('b', 'wf1'));
    w.emit({ type: 'ADDED', object: b });
    assert.deepEqual(names(informer.byIndex('wf1')), ['a', 'b']);
    // b moves to another owner.
    const b2 = fake.set({ ...pod('b', 'wf2', 'v2') });
    w.emit({ type: 'MODIFIED', object: b2 });
    assert.deepEqual(names(informer.byIndex('wf1')), ['a']);
    assert.deepEqual(names(informer.byIndex('wf2')), ['b']);
    assert.equal(informer.get('ns/b')!.data, 'v2');
    // An object losing its index value leaves the index.
    const a2 = fake.set({ ...pod('a', undefined, 'v2') });
    w.emit({ type: 'MODIFIED', object: a2 });
    assert.deepEqual(informer.byIndex('wf1'), []);
    w.emit({ type: 'DELETED', object: b2 });
    assert.deepEqual(informer.byIndex('wf2'), []);
    assert.equal(informer.get('ns/b'), undefined);
    assert.deepEqual(names(informer.list()), ['a']);
    // Deleting something unknown changes nothing.
    w.emit({ type: 'DELETED', object: { metadata: { name: 'zzz', namespace: 'ns', resourceVersion: '999' } } });
    assert.deepEqual(take(), [
      ['added', 'ns/b', 'v1'],
      ['updated', 'ns/b', 'v2'],
      ['updated', 'ns/a', 'v2'],
      ['deleted', 'ns/b', 'v2'],
    ]);
    await informer.stop();
  });

  test('an event with the resourceVersion already stored does not re-emit', async () => {
    const { fake, informer, take } = setup();
    const a = fake.set(pod('a', 'wf1'));
    informer.start();
    await informer.waitForSync();
    take();
    await until(() => fake.watches.length === 1);
    fake.watches[0]!.emit({ type: 'ADDED', object: a }, { type: 'MODIFIED', object: a });
    assert.deepEqual(take(), []);
    await informer.stop();
  });

  test('managedFields are stripped and transform is applied, for listed and watched objects', async () => {
    const transform = (o: Obj): Obj => ({ metadata: { ...o.metadata, labels: { ...o.metadata.labels, seen: 'yes' } }, data: (o.data ?? '').toUpperCase() });
    const { fake, informer, take } = setup({ transform });
    fake.set(pod('a', 'wf1', 'listed'));
    informer.start();
    await informer.waitForSync();
    const a = informer.get('ns/a')!;
    assert.equal(a.data, 'LISTED');
    assert.equal(a.metadata.labels!['seen'], 'yes');
    assert.ok(!('managedFields' in a.metadata));
    await until(() => fake.watches.length === 1);
    fake.watches[0]!.emit({ type: 'ADDED', object: fake.set(pod('b', 'wf1', 'watched')) });
    const b = informer.get('ns/b')!;
    assert.equal(b.data, 'WATCHED');
    assert.ok(!('managedFields' in b.metadata));
    assert.deepEqual(names(informer.byIndex('wf1')), ['a', 'b'], 'the index sees transformed objects');
    assert.deepEqual(take(), [['added', 'ns/a', 'LISTED'], ['added', 'ns/b', 'WATCHED']]);
    await informer.stop();
  });

  test('a watch that ends normally is resumed from the last resourceVersion, bookmarks included, without a relist', async () => {
    const { fake, informer, relists } = setup();
    informer.start();
    await informer.waitForSync();
    await until(() => fake.watches.length === 1);
    fake.watches[0]!.emit({ type: 'ADDED', object: fake.set(pod('a')) }, { type: 'BOOKMARK', object: { metadata: { name: '', resourceVersion: '555' } } });
    assert.equal(informer.size, 1, 'a bookmark is not an object');
    fake.watches[0]!.end();
    await until(() => fake.watches.length === 2);
    assert.equal(fake.watches[1]!.query['resourceVersion'], '555');
    assert.deepEqual(relists, ['initial']);
    assert.equal(fake.lists.length, 1);
    assert.equal(informer.watchFailures, 0);
    await informer.stop();
  });

  test('410 Gone relists: objects gone meanwhile emit deleted, changed ones updated, new ones added, unchanged nothing', async () => {
    const { fake, informer, take, relists, lines } = setup();
    fake.set(pod('keep', 'wf1'));
    fake.set(pod('change', 'wf1'));
    fake.set(pod('drop', 'wf1'));
    informer.start();
    await informer.waitForSync();
    take();
    await until(() => fake.watches.length === 1);
    // While the watch was down: one changed, one deleted, one created.
    fake.set(pod('change', 'wf2', 'v2'));
    fake.delete('ns', 'drop');
    fake.set(pod('new', 'wf2'));
    fake.watches[0]!.fail(gone());
    await until(() => fake.watches.length === 2);
    assert.deepEqual(take(), [
      ['deleted', 'ns/drop', 'v1'],
      ['updated', 'ns/change', 'v2'],
      ['added', 'ns/new', 'v1'],
    ]);
    assert.deepEqual(relists, ['initial', 'expired']);
    assert.equal(informer.relists, 2);
    assert.equal(informer.watchFailures, 0, 'an expired watch is not a failure');
    assert.deepEqual(names(informer.byIndex('wf1')), ['keep']);
    assert.deepEqual(names(informer.byIndex('wf2')), ['change', 'new']);
    assert.equal(fake.watches[1]!.query['resourceVersion'], String(fake.resourceVersion));
    assert.ok(lines().some((l) => l['msg'] === 'watch expired (410 Gone); relisting'));
    await informer.stop();
  });

  test('transport errors retry with backoff from the last resourceVersion; after more than three in a row it relists', async () => {
    const { fake, informer, relists, lines } = setup();
    fake.set(pod('a'));
    informer.start();
    await informer.waitForSync();
    await until(() => fake.watches.length === 1);
    fake.watches[0]!.emit({ type: 'MODIFIED', object: fake.set(pod('a', undefined, 'v2')) });
    const rv = String(fake.resourceVersion);
    fake.watches[0]!.fail(reset());
    await until(() => fake.watches.length === 2);
    assert.equal(fake.watches[1]!.query['resourceVersion'], rv, 'resumes where it was');
    assert.equal(fake.lists.length, 1);
    assert.equal(informer.watchFailures, 1);
    const warn = lines().find((l) => l['msg'] === 'list/watch failed; retrying')!;
    assert.match(String(warn['err']), /ECONNRESET/);
    assert.equal(typeof warn['retryInMs'], 'number');

    // Three more failures without an event in between: the fourth in a row relists.
    fake.watches[1]!.fail(reset());
    await until(() => fake.watches.length === 3);
    fake.watches[2]!.fail(reset());
    await until(() => fake.watches.length === 4);
    assert.equal(fake.lists.length, 1);
    fake.watches[3]!.fail(reset());
    await until(() => fake.watches.length === 5);
    assert.equal(fake.lists.length, 2);
    assert.deepEqual(relists, ['initial', 'error']);
    assert.equal(informer.watchFailures, 4);
    await informer.stop();
  });

  test('an event resets the failure count', async () => {
    const { fake, informer } = setup();
    informer.start();
    await informer.waitForSync();
    for (let i = 0; i < 8; i++) {
      await until(() => fake.watches.length === i + 1);
      fake.watches[i]!.emit({ type: 'ADDED', object: fake.set(pod(`p${i}`)) });
      fake.watches[i]!.fail(reset());
    }
    await until(() => fake.watches.length === 9);
    assert.equal(fake.lists.length, 1, 'never more than one failure in a row: no relist');
    assert.equal(informer.watchFailures, 8);
    await informer.stop();
  });

  test('list errors before the first sync are retried until it succeeds; the loop never gives up', async () => {
    const { fake, informer } = setup();
    fake.set(pod('a'));
    fake.listErrors.push(reset(), new KubeApiError({ status: 503, reason: 'ServiceUnavailable', message: 'down', verb: 'list', path: '/api/v1/pods' }), new Error('anything at all'));
    // Then watch calls that throw at once: the fourth in a row relists, and that list fails too.
    fake.watchErrors.push(reset(), reset(), reset(), reset(), reset());
    let synced = false;
    informer.start();
    void informer.waitForSync().then(() => {
      synced = true;
      assert.equal(fake.lists.length, 4);
      assert.equal(informer.size, 1);
      assert.equal(informer.watchFailures, 3);
      fake.listErrors.push(reset());
    });
    await until(() => fake.watches.length === 1);
    assert.ok(synced);
    // 3 list failures, 5 watch failures and the failed relist; after the fourth failure in a row retries relist.
    assert.equal(informer.watchFailures, 3 + 5 + 1);
    assert.ok(fake.lists.length >= 4 + 2, `${fake.lists.length} lists`);
    assert.equal(informer.size, 1);
    await informer.stop();
  });

  test('a watch that closes at once without events backs off instead of spinning', async () => {
    const { fake, informer, lines } = setup({ backoffBaseMs: 20, backoffMaxMs: 20 });
    informer.start();
    await informer.waitForSync();
    const started = performance.now();
    // End every watch as soon as it opens, for about 60 ms.
    while (performance.now() - started < 60) {
      const w = fake.watches.at(-1);
      if (w && !w.settled) w.end();
      await settle();
    }
    // With a 10-20 ms backoff there is room for a handful of reconnects, not thousands.
    assert.ok(fake.watches.length <= 10, `${fake.watches.length} watches in 60 ms`);
    assert.ok(lines().some((l) => l['msg'] === 'list/watch failed; retrying'));
    await informer.stop();
  });

  test('stop() ends the loop during a watch and during a backoff', async () => {
    {
      const { fake, informer } = setup();
      informer.start();
      await informer.waitForSync();
      await until(() => fake.watches.length === 1);
      await informer.stop();
      assert.ok(fake.watches[0]!.settled, 'the watch was aborted');
      await settle();
      assert.equal(fake.watches.length, 1, 'no new watch after stop');
    }
    {
      const { fake, informer } = setup({ backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
      informer.start();
      await informer.waitForSync();
      await until(() => fake.watches.length === 1);
      fake.watches[0]!.fail(reset());
      await settle();
      const before = performance.now();
      await informer.stop();
      assert.ok(performance.now() - before < 1000, 'the backoff sleep is cut short');
      assert.equal(fake.watches.length, 1);
    }
    {
      // Stopping an informer that never started.
      const { informer } = setup();
      await informer.stop();
    }
  });

  test('a throwing handler is logged and does not stop the others or the loop', async () => {
    const { fake, informer, take, lines } = setup();
    informer.on(() => {
      throw new Error('handler bug');
    });
    fake.set(pod('a'));
    informer.start();
    await informer.waitForSync();
    await until(() => fake.watches.length === 1);
    fake.watches[0]!.emit({ type: 'ADDED', object: fake.set(pod('b')) });
    assert.deepEqual(take().map(([t, k]) => [t, k]), [['added', 'ns/a'], ['added', 'ns/b']]);
    assert.ok(lines().some((l) => l['msg'] === 'informer handler threw' && l['err'] === 'handler bug'));
    await informer.stop();
  });
});

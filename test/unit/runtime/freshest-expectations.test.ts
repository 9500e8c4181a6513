import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlyteWorkflow } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import { Expectations } from '../../../src/controller/expectations.ts';
import { FreshestCopy } from '../../../src/controller/freshest-copy.ts';

const wf = (rv: string, uid = 'uid-1', phase: 'Running' | 'Succeeded' = 'Running'): FlyteWorkflow => ({
  apiVersion: 'flyte.propeller.dev/v1alpha1',
  kind: 'FlyteWorkflow',
  metadata: { name: 'wf', namespace: 'ns', uid, resourceVersion: rv },
  spec: {},
  status: { phase },
});
const KEY = 'ns/wf';

describe('FreshestCopy', () => {
  test('without a memo the cached copy is used', () => {
    const f = new FreshestCopy();
    const cached = wf('1');
    assert.equal(f.pick(KEY, cached), cached);
    assert.equal(f.pick(KEY, undefined), undefined);
  });

  test('the memo is used while the cache still shows the version our write replaced', () => {
    const f = new FreshestCopy();
    const before = wf('1');
    const after = { ...wf('2'), metadata: { ...wf('2').metadata, managedFields: [{ manager: 'propeller' }] } } as FlyteWorkflow;
    const returned = f.remember(KEY, before, after);
    assert.equal(returned, after);
    assert.ok(!('managedFields' in after.metadata), 'managedFields are stripped from the memo');
    assert.equal(f.pick(KEY, wf('1')), after);
    assert.equal(f.pick(KEY, wf('1')), after, 'still the memo on the next round');
  });

  test('the memo is dropped once the cache shows the written version or a later one', () => {
    const f = new FreshestCopy();
    f.remember(KEY, wf('1'), wf('2'));
    const caughtUp = wf('2');
    assert.equal(f.pick(KEY, caughtUp), caughtUp);
    // Dropped: even the stale version is now taken from the cache.
    const stale = wf('1');
    assert.equal(f.pick(KEY, stale), stale);

    f.remember(KEY, wf('1'), wf('2'));
    const later = wf('3');
    assert.equal(f.pick(KEY, later), later, 'someone else wrote after us');
    assert.equal(f.pick(KEY, stale), stale);
  });

  test('consecutive writes accumulate superseded versions', () => {
    const f = new FreshestCopy();
    const v2 = f.remember(KEY, wf('1'), wf('2'));
    const v3 = f.remember(KEY, v2, wf('3'));
    assert.equal(f.pick(KEY, wf('1')), v3);
    assert.equal(f.pick(KEY, wf('2')), v3);
    const cached = wf('3');
    assert.equal(f.pick(KEY, cached), cached);
  });

  test('a different uid (deleted and recreated) drops the memo', () => {
    const f = new FreshestCopy();
    f.remember(KEY, wf('1'), wf('2'));
    const recreated = wf('1', 'uid-2');
    assert.equal(f.pick(KEY, recreated), recreated);
    assert.equal(f.pick(KEY, wf('1'))?.metadata.uid, 'uid-1', 'the memo is gone for good');

    // Remembering for a new uid does not inherit the old uid's superseded versions (opaque versions,
    // so that only the superseded set can decide).
    f.remember(KEY, wf('v5'), wf('v6'));
    f.remember(KEY, wf('v1', 'uid-2'), wf('v7', 'uid-2'));
    const old = wf('v5', 'uid-2');
    assert.equal(f.pick(KEY, old), old);
  });

  test("a cache moved on by someone else's write is still behind ours when its version is lower", () => {
    const f = new FreshestCopy();
    const ours = f.remember(KEY, wf('10'), wf('12'));
    // A label write landed at 11, before ours: that copy lacks what we wrote.
    assert.equal(f.pick(KEY, wf('11')), ours);
    // One at 13 came after ours and includes it.
    const later = wf('13');
    assert.equal(f.pick(KEY, later), later);
    assert.equal(f.pick(KEY, wf('11'))?.metadata.resourceVersion, '11', 'the memo is gone once the cache passed it');
  });

  test('the workflow disappearing from the cache drops the memo', () => {
    const f = new FreshestCopy();
    f.remember(KEY, wf('1'), wf('2'));
    assert.equal(f.pick(KEY, undefined), undefined);
    const stale = wf('1');
    assert.equal(f.pick(KEY, stale), stale);
  });

  test('forget drops the memo; keys are independent', () => {
    const f = new FreshestCopy();
    const a = f.remember('ns/a', wf('1'), wf('2'));
    f.remember('ns/b', wf('1'), wf('2'));
    f.forget('ns/b');
    assert.equal(f.pick('ns/a', wf('1')), a);
    const b = wf('1');
    assert.equal(f.pick('ns/b', b), b);
  });
});

const pod = (name: string, extra: Partial<Pod> = {}): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', labels: { node: name } },
    spec: { containers: [{ name: 'task', image: 'busybox' }] },
    ...extra,
  }) as Pod;

describe('Expectations', () => {
  test('a created pod the cache has not shown yet is added as a Pending stand-in', () => {
    const e = new Expectations(1000);
    e.expect(KEY, pod('p1'), 5000);
    const merged = e.merge(KEY, [], 5100);
    assert.equal(merged.length, 1);
    const standIn = merged[0]!;
    assert.equal(standIn.metadata.name, 'p1');
    assert.deepEqual(standIn.metadata.labels, { node: 'p1' });
    assert.equal(standIn.metadata.creationTimestamp, new Date(5000).toISOString());
    assert.deepEqual(standIn.status, { phase: 'Pending' });
    // Still there next round.
    assert.equal(e.merge(KEY, [], 5200).length, 1);
  });

  test('cached pods come first and are passed through unchanged', () => {
    const e = new Expectations(1000);
    const other = pod('other', { status: { phase: 'Running' } } as Partial<Pod>);
    e.expect(KEY, pod('p1'), 0);
    const merged = e.merge(KEY, [other], 10);
    assert.equal(merged[0], other);
    assert.deepEqual(merged.map((p) => p.metadata.name), ['other', 'p1']);
  });

  test('once the cache shows the pod the expectation is gone, even if the pod later disappears', () => {
    const e = new Expectations(1000);
    e.expect(KEY, pod('p1'), 0);
    const cached = pod('p1', { status: { phase: 'Running' } } as Partial<Pod>);
    assert.deepEqual(e.merge(KEY, [cached], 10), [cached]);
    // An external deletion is now visible as such: no stand-in resurrects it.
    assert.deepEqual(e.merge(KEY, [], 20), []);
  });

  test('expectations expire after the ttl', () => {
    const e = new Expectations(1000);
    e.expect(KEY, pod('p1'), 0);
    e.expect(KEY, pod('p2'), 600);
    assert.deepEqual(e.merge(KEY, [], 1000).map((p) => p.metadata.name), ['p1', 'p2'], 'exactly ttl old is still expected');
    assert.deepEqual(e.merge(KEY, [], 1001).map((p) => p.metadata.name), ['p2']);
    assert.deepEqual(e.merge(KEY, [], 1601).map((p) => p.metadata.name), []);
  });

  test('re-expecting a pod name restarts its clock', () => {
    const e = new Expectations(1000);
    e.expect(KEY, pod('p1'), 0);
    e.expect(KEY, pod('p1'), 900);
    assert.equal(e.merge(KEY, [], 1500).length, 1);
  });

  test('workflows are independent; forget drops one', () => {
    const e = new Expectations(1000);
    e.expect('ns/a', pod('a1'), 0);
    e.expect('ns/b', pod('b1'), 0);
    e.forget('ns/a');
    assert.deepEqual(e.merge('ns/a', [], 1), []);
    assert.deepEqual(e.merge('ns/b', [], 1).map((p) => p.metadata.name), ['b1']);
  });

  test('a stand-in does not alias the expected pod', () => {
    const e = new Expectations(1000);
    const original = pod('p1');
    e.expect(KEY, original, 0);
    const standIn = e.merge(KEY, [], 1)[0]!;
    standIn.metadata.name = 'changed';
    assert.equal(original.metadata.name, 'p1');
    assert.equal(original.metadata.creationTimestamp, undefined);
    assert.equal(e.merge(KEY, [], 2)[0]!.metadata.name, 'p1');
  });
});

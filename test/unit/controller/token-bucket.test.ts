import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TokenBucket } from '../../../src/controller/token-bucket.ts';
import { FakeClock, settle } from './fake-clock.ts';

function reserveMany(bucket: TokenBucket, n: number): number[] {
  return Array.from({ length: n }, () => bucket.reserve());
}

test('starts full: burst reservations are free, the next waits 1/qps', () => {
  const bucket = new TokenBucket({ qps: 4, burst: 3, clock: new FakeClock() });
  assert.deepEqual(reserveMany(bucket, 4), [0, 0, 0, 250]);
});

test('concurrent reservations go into debt and get increasing delays', () => {
  const bucket = new TokenBucket({ qps: 10, burst: 1, clock: new FakeClock() });
  assert.deepEqual(reserveMany(bucket, 5), [0, 100, 200, 300, 400]);
});

test('refills at qps tokens per second, fractionally', () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 5, clock });
  reserveMany(bucket, 5);
  clock.advance(250); // 2.5 tokens back
  assert.deepEqual(reserveMany(bucket, 3), [0, 0, 50]);
});

test('refill is capped at burst', () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 100, burst: 2, clock });
  reserveMany(bucket, 2);
  clock.advance(60_000);
  assert.deepEqual(reserveMany(bucket, 3), [0, 0, 10]);
});

test('debt is paid back by elapsed time', () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 1, clock });
  assert.deepEqual(reserveMany(bucket, 3), [0, 100, 200]);
  clock.advance(150);
  // The last reservation acts at 200; the next slot is 300, i.e. 150 from now.
  assert.equal(bucket.reserve(), 150);
});

test('qps <= 0 or Infinity means unlimited', () => {
  for (const qps of [0, -1, Infinity]) {
    const bucket = new TokenBucket({ qps, burst: 0, clock: new FakeClock() });
    assert.equal(bucket.unlimited, true);
    assert.ok(reserveMany(bucket, 1000).every((ms) => ms === 0), `qps ${qps}`);
  }
});

test('rejects a NaN qps and a burst below 1 when limited', () => {
  assert.throws(() => new TokenBucket({ qps: NaN, burst: 1 }), RangeError);
  assert.throws(() => new TokenBucket({ qps: 5, burst: 0 }), RangeError);
  assert.throws(() => new TokenBucket({ qps: 5, burst: NaN }), RangeError);
});

test('take resolves at once with a token, otherwise after the reserved delay', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 1, clock });
  assert.equal(await bucket.take(), 0);
  let waited: number | undefined;
  const pending = bucket.take().then((ms) => (waited = ms));
  clock.advance(99);
  await settle();
  assert.equal(waited, undefined);
  clock.advance(1);
  await pending;
  assert.equal(waited, 100);
});

test('take on an unlimited bucket resolves 0 without a timer', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 0, burst: 1, clock });
  assert.equal(await bucket.take(), 0);
  assert.equal(clock.pendingTimers(), 0);
});

test('aborting take rejects with the reason, clears its timer and refunds the token', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 1, clock });
  bucket.reserve();
  const controller = new AbortController();
  const pending = bucket.take(controller.signal);
  assert.equal(clock.pendingTimers(), 1);
  const reason = new Error('stop');
  controller.abort(reason);
  await assert.rejects(pending, (err) => err === reason);
  assert.equal(clock.pendingTimers(), 0);
  // The aborted 100 ms slot is free again.
  assert.equal(bucket.reserve(), 100);
});

test('aborting a reservation that later ones were scheduled around refunds nothing', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 1, clock });
  bucket.reserve();
  const controller = new AbortController();
  const pending = bucket.take(controller.signal); // acts at 100
  assert.equal(bucket.reserve(), 200);
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  assert.equal(bucket.reserve(), 300);
});

test('take with an already aborted signal rejects without using a token', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ qps: 10, burst: 1, clock });
  await assert.rejects(bucket.take(AbortSignal.abort()), { name: 'AbortError' });
  assert.equal(bucket.reserve(), 0);
});

test('property: reservations never act faster than burst + qps * window, and act in call order', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.5, max: 1000, noNaN: true }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 200 }),
      (qps, burst, gaps) => {
        const clock = new FakeClock();
        const bucket = new TokenBucket({ qps, burst, clock });
        const actAt: number[] = [];
        for (const gap of gaps) {
          clock.advance(gap);
          actAt.push(clock.now() + bucket.reserve());
        }
        for (let i = 1; i < actAt.length; i++) {
          assert.ok(actAt[i]! >= actAt[i - 1]! - 1e-6, 'acts out of order');
        }
        for (let i = 0; i < actAt.length; i++) {
          for (let j = i; j < actAt.length; j++) {
            const allowed = burst + ((actAt[j]! - actAt[i]!) * qps) / 1000;
            assert.ok(j - i + 1 <= allowed + 1e-6, `${j - i + 1} tokens in window allowing ${allowed}`);
          }
        }
      },
    ),
  );
});

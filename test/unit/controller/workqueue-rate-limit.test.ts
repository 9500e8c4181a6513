import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, type WorkQueueOptions } from '../../../src/controller/workqueue.ts';
import { FakeClock } from './fake-clock.ts';

/** A queue plus the delay each rate-limited add got (deadline minus call time). */
function setup(options: Pick<WorkQueueOptions, 'baseDelayMs' | 'maxDelayMs' | 'qps' | 'burst'>) {
  const clock = new FakeClock();
  const addedAt = new Map<string, number>();
  const queue = new WorkQueue({
    ...options,
    clock,
    observer: { added: (key) => addedAt.set(key, clock.now()) },
  });
  /** Rate-limits `key`, lets it come due, processes it, and returns the delay it got. */
  const retry = async (key: string): Promise<number> => {
    const calledAt = clock.now();
    queue.addRateLimited(key);
    clock.advance(options.maxDelayMs + 10_000);
    assert.equal(await queue.get(), key);
    queue.done(key);
    return addedAt.get(key)! - calledAt;
  };
  return { clock, queue, addedAt, retry };
}

test('per-key backoff doubles from the base and is capped', async () => {
  const { queue, retry } = setup({ baseDelayMs: 5, maxDelayMs: 1000, qps: 0, burst: 1 });
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) delays.push(await retry('a'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.equal(queue.failures('a'), 10);
});

test('backoff stays at the cap after very many failures', async () => {
  const { queue, retry } = setup({ baseDelayMs: 1, maxDelayMs: 50, qps: 0, burst: 1 });
  for (let i = 0; i < 1100; i++) await retry('a');
  assert.equal(queue.failures('a'), 1100);
  assert.equal(await retry('a'), 50);
});

test('a zero base delay re-adds immediately however many failures', async () => {
  const { queue, clock } = setup({ baseDelayMs: 0, maxDelayMs: 50, qps: 0, burst: 1 });
  for (let i = 0; i < 1100; i++) {
    queue.addRateLimited('a');
    assert.equal(queue.len(), 1, `failure ${i} was delayed`);
    await queue.get();
    queue.done('a');
  }
  assert.equal(clock.pendingTimers(), 0);
});

test('forget resets the backoff of one key only', async () => {
  const { queue, retry } = setup({ baseDelayMs: 5, maxDelayMs: 1000, qps: 0, burst: 1 });
  for (let i = 0; i < 4; i++) await retry('a');
  await retry('b');
  queue.forget('a');
  assert.equal(queue.failures('a'), 0);
  assert.equal(queue.failures('b'), 1);
  assert.equal(await retry('a'), 5);
  assert.equal(await retry('b'), 10);
});

test('failures counts rate-limited adds and is 0 for unknown keys', () => {
  const { queue } = setup({ baseDelayMs: 5, maxDelayMs: 1000, qps: 0, burst: 1 });
  assert.equal(queue.failures('nobody'), 0);
  queue.addRateLimited('a');
  queue.addRateLimited('a');
  assert.equal(queue.failures('a'), 2);
  assert.equal(queue.delayedLen(), 1, 'the second add keeps the earlier deadline');
});

test('the global bucket spaces out rate-limited adds across keys', () => {
  const { queue, clock, addedAt } = setup({ baseDelayMs: 1, maxDelayMs: 1000, qps: 10, burst: 2 });
  for (let i = 1; i <= 5; i++) queue.addRateLimited(`k${i}`);
  clock.advance(1000);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((i) => addedAt.get(`k${i}`)),
    [1, 1, 100, 200, 300],
  );
  assert.equal(queue.len(), 5);
});

test('the delay is the larger of the key backoff and the bucket delay', async () => {
  const { queue, clock, addedAt, retry } = setup({ baseDelayMs: 100, maxDelayMs: 10_000, qps: 1, burst: 1 });
  // The first add takes the only token; the second key waits for the bucket, not its own 100 ms.
  queue.addRateLimited('a');
  queue.addRateLimited('b');
  clock.advance(10_000);
  assert.deepEqual([addedAt.get('a'), addedAt.get('b')], [100, 1000]);
  await queue.get();
  queue.done('a');
  await queue.get();
  queue.done('b');
  // Bucket full again; 'a' has failed once, so its own 200 ms backoff dominates.
  assert.equal(await retry('a'), 200);
});

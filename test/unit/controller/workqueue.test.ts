import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, type WorkQueueOptions } from '../../../src/controller/workqueue.ts';
import { FakeClock, settle } from './fake-clock.ts';

function newQueue(clock: FakeClock, extra: Partial<WorkQueueOptions> = {}): WorkQueue {
  return new WorkQueue({ baseDelayMs: 5, maxDelayMs: 1000, qps: 0, burst: 1, clock, ...extra });
}

/** Records what a pending promise resolved to, so a test can tell "still pending" apart. */
function track<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

test('hands out ready keys in FIFO order', async () => {
  const queue = newQueue(new FakeClock());
  for (const key of ['c', 'a', 'b']) queue.add(key);
  assert.equal(queue.len(), 3);
  assert.deepEqual([await queue.get(), await queue.get(), await queue.get()], ['c', 'a', 'b']);
  assert.equal(queue.len(), 0);
});

test('adding a key that is already queued is a no-op and keeps its place', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('a');
  queue.add('b');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.len(), 2);
  assert.equal(await queue.get(), 'a');
  assert.equal(await queue.get(), 'b');
  const next = track(queue.get());
  await settle();
  assert.equal(next.settled, false, 'a duplicate add must not produce a second copy');
});

test('a key added while processing is re-queued exactly once, on done', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('a');
  assert.equal(await queue.get(), 'a');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.len(), 0, 'not ready while still processing');
  const second = track(queue.get());
  await settle();
  assert.equal(second.settled, false, 'must not be handed to a second consumer while processing');

  queue.done('a');
  await settle();
  assert.deepEqual(second, { settled: true, value: 'a' });
  assert.equal(queue.len(), 0);
  queue.done('a');
  assert.equal(queue.len(), 0, 'only one re-queue for several adds while processing');
});

test('done without re-adds leaves the key out of the queue', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('a');
  await queue.get();
  queue.done('a');
  assert.equal(queue.len(), 0);
  queue.add('a');
  assert.equal(queue.len(), 1, 'can be added again after done');
});

test('done for a key that is not processing changes nothing', async () => {
  const queue = newQueue(new FakeClock());
  queue.done('ghost');
  queue.add('a');
  queue.done('a'); // queued, not processing: must not queue a second copy
  assert.equal(queue.len(), 1);
  assert.equal(await queue.get(), 'a');
  assert.equal(queue.len(), 0);
});

test('many waiting consumers each get a different key, in arrival order', async () => {
  const queue = newQueue(new FakeClock());
  const waiters = [track(queue.get()), track(queue.get()), track(queue.get()), track(queue.get())];
  queue.add('x');
  queue.add('y');
  queue.add('x');
  queue.add('z');
  await settle();
  assert.deepEqual(
    waiters.map((w) => w.value),
    ['x', 'y', 'z', undefined],
  );
  assert.equal(waiters[3]!.settled, false);
  assert.equal(queue.len(), 0);
});

test('several workers never process the same key at once and miss no add', async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const inFlight = new Set<string>();
  const starts: Array<{ key: string; at: number }> = [];
  const adds: Array<{ key: string; at: number }> = [];
  let overlaps = 0;
  let seed = 42;
  const random = (n: number): number => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };

  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      if (inFlight.has(key)) overlaps++;
      inFlight.add(key);
      starts.push({ key, at: clock.now() });
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 1 + random(20)));
      inFlight.delete(key);
      queue.done(key);
    }
  };
  const workers = Array.from({ length: 4 }, worker);

  for (let step = 0; step < 2000; step++) {
    const key = `k${random(6)}`;
    adds.push({ key, at: clock.now() });
    queue.add(key);
    clock.advance(random(5));
    await settle();
  }
  for (let i = 0; i < 200; i++) {
    clock.advance(25);
    await settle();
  }
  queue.shutDown();
  await Promise.all(workers);

  assert.equal(overlaps, 0);
  assert.ok(starts.length > 100 && starts.length < adds.length, 'adds were deduplicated, not all dropped');
  for (const add of adds) {
    assert.ok(
      starts.some((start) => start.key === add.key && start.at >= add.at),
      `add of ${add.key} at ${add.at} was never followed by processing`,
    );
  }
});

test('shutDown wakes every waiter with undefined and ignores later adds', async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const waiters = [track(queue.get()), track(queue.get())];
  queue.addAfter('later', 100);
  queue.shutDown();
  await settle();
  assert.deepEqual(waiters, [
    { settled: true, value: undefined },
    { settled: true, value: undefined },
  ]);
  assert.equal(queue.shuttingDown, true);
  assert.equal(queue.delayedLen(), 0, 'delayed keys are dropped');
  assert.equal(clock.pendingTimers(), 0, 'the delay timer is stopped');

  queue.add('a');
  queue.addAfter('b', 10);
  queue.addRateLimited('c');
  clock.advance(1000);
  assert.equal(queue.len(), 0);
  assert.equal(queue.delayedLen(), 0);
  assert.equal(queue.failures('c'), 0);
  assert.equal(await queue.get(), undefined);
});

test('after shutDown, keys already ready are still handed out, then undefined', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('a');
  queue.add('b');
  queue.shutDown();
  assert.equal(await queue.get(), 'a');
  assert.equal(await queue.get(), 'b');
  assert.equal(await queue.get(), undefined);
});

test('observer: added once per accepted add, depth follows the ready count', async () => {
  const added: string[] = [];
  const depths: number[] = [];
  const queue = newQueue(new FakeClock(), {
    observer: { added: (key) => added.push(key), depth: (n) => depths.push(n) },
  });
  queue.add('a');
  queue.add('a');
  queue.add('b');
  await queue.get();
  queue.add('a'); // dirty while processing: accepted, not ready
  queue.done('a');
  assert.deepEqual(added, ['a', 'b', 'a']);
  assert.deepEqual(depths, [1, 2, 1, 2]);
});

test('observer: started reports how long the key waited once ready', async () => {
  const clock = new FakeClock();
  const started: Array<[string, number]> = [];
  const queue = newQueue(clock, { observer: { started: (key, ms) => started.push([key, ms]) } });

  queue.add('a');
  clock.advance(30);
  await queue.get();

  // Delayed: the wait counts from the deadline, not from addAfter.
  queue.addAfter('b', 100);
  clock.advance(150);
  await queue.get();

  // Dirty while processing: ready once done.
  queue.add('a');
  clock.advance(10);
  queue.done('a');
  clock.advance(5);
  await queue.get();

  // A waiting consumer gets a newly added key with no queue latency.
  const waiter = queue.get();
  clock.advance(7);
  queue.add('c');
  await waiter;

  assert.deepEqual(started, [
    ['a', 30],
    ['b', 50],
    ['a', 5],
    ['c', 0],
  ]);
});

test('an observer that throws leaves the queue consistent', async () => {
  const boom = (): never => {
    throw new Error('observer failed');
  };
  const queue = newQueue(new FakeClock(), { observer: { added: boom, started: boom, depth: boom } });
  const waiter = queue.get();
  assert.throws(() => queue.add('a'), /observer failed/);
  assert.equal(await waiter, 'a', 'the waiting consumer still got the key');

  assert.throws(() => queue.add('a'));
  assert.throws(() => queue.done('a'));
  assert.equal(queue.len(), 1, 'the re-add was not lost');
  assert.throws(() => queue.get());
  assert.equal(queue.len(), 1, 'a get whose observer threw does not take the key');
  assert.throws(() => queue.add('b'));
  assert.equal(queue.len(), 2);
});

test('urgent keys are handed out before ordinary ones, each lane in FIFO order', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('old-1');
  queue.add('new-1', { urgent: true });
  queue.add('old-2');
  queue.add('new-2', { urgent: true });
  assert.equal(queue.len(), 4);
  const order = [];
  for (let i = 0; i < 4; i++) order.push(await queue.get());
  assert.deepEqual(order, ['new-1', 'new-2', 'old-1', 'old-2']);
  assert.equal(queue.len(), 0);
});

test('a key already waiting keeps its place: a later urgent add does not promote it', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('a');
  queue.add('b', { urgent: true });
  queue.add('a', { urgent: true });
  assert.deepEqual([await queue.get(), await queue.get()], ['b', 'a']);
});

test('urgency of a key re-added while processing applies when it is re-queued, and only once', async () => {
  const queue = newQueue(new FakeClock());
  queue.add('busy');
  assert.equal(await queue.get(), 'busy');
  queue.add('busy', { urgent: true });
  queue.add('other');
  queue.done('busy');
  assert.deepEqual([await queue.get(), await queue.get()], ['busy', 'other']);
  queue.done('busy');
  queue.done('other');
  queue.add('other');
  queue.add('busy');
  assert.deepEqual([await queue.get(), await queue.get()], ['other', 'busy'], 'the next ordinary add is ordinary again');
});

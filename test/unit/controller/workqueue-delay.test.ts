import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WorkQueue } from '../../../src/controller/workqueue.ts';
import { FakeClock } from './fake-clock.ts';

function newQueue(clock: FakeClock, onAdded?: (key: string) => void): WorkQueue {
  return new WorkQueue({
    baseDelayMs: 5,
    maxDelayMs: 1000,
    qps: 0,
    burst: 1,
    clock,
    observer: onAdded ? { added: onAdded } : {},
  });
}

test('addAfter holds the key back until its deadline', () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.addAfter('a', 100);
  assert.equal(queue.len(), 0);
  assert.equal(queue.delayedLen(), 1);
  clock.advance(99);
  assert.equal(queue.len(), 0);
  clock.advance(1);
  assert.equal(queue.len(), 1);
  assert.equal(queue.delayedLen(), 0);
});

test('a delay <= 0 adds immediately', () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.addAfter('zero', 0);
  queue.addAfter('negative', -5);
  assert.equal(queue.len(), 2);
  assert.equal(queue.delayedLen(), 0);
  assert.equal(clock.pendingTimers(), 0);
});

test('a non-finite delay is rejected', () => {
  const queue = newQueue(new FakeClock());
  assert.throws(() => queue.addAfter('a', NaN), RangeError);
  assert.throws(() => queue.addAfter('a', Infinity), RangeError);
});

for (const [first, second] of [
  [100, 50],
  [50, 100],
]) {
  test(`the earliest pending deadline wins (addAfter ${first} then ${second})`, async () => {
    const clock = new FakeClock();
    const added: number[] = [];
    const queue = newQueue(clock, () => added.push(clock.now()));
    queue.addAfter('a', first!);
    queue.addAfter('a', second!);
    assert.equal(queue.delayedLen(), 1);
    clock.advance(50);
    assert.equal(queue.len(), 1);
    assert.equal(await queue.get(), 'a');
    queue.done('a');
    clock.advance(500);
    assert.deepEqual(added, [50], 'the later deadline must not add the key again');
    assert.equal(queue.len(), 0);
  });
}

test('delayed keys become ready in deadline order, ties in insertion order', async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.addAfter('c', 30);
  queue.addAfter('a', 10);
  queue.addAfter('b', 10);
  queue.addAfter('d', 31);
  clock.advance(30);
  assert.equal(queue.len(), 3);
  assert.deepEqual([await queue.get(), await queue.get(), await queue.get()], ['a', 'b', 'c']);
});

test('a delayed key that comes due while processing is re-queued on done', async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.add('a');
  assert.equal(await queue.get(), 'a');
  queue.addAfter('a', 10);
  clock.advance(10);
  assert.equal(queue.len(), 0);
  queue.done('a');
  assert.equal(queue.len(), 1);
});

test('thousands of delayed keys share one timer', async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  const n = 5000;
  for (let i = 0; i < n; i++) queue.addAfter(`k${i}`, 1 + ((i * 7919) % 1000));
  assert.equal(queue.delayedLen(), n);
  assert.equal(clock.pendingTimers(), 1);
  clock.advance(500);
  assert.equal(clock.pendingTimers(), 1);
  clock.advance(500);
  assert.equal(queue.len(), n);
  assert.equal(queue.delayedLen(), 0);
  assert.equal(clock.pendingTimers(), 0);
  let previousDelay = 0;
  for (let i = 0; i < n; i++) {
    const key = (await queue.get())!;
    const delay = 1 + ((Number(key.slice(1)) * 7919) % 1000);
    assert.ok(delay >= previousDelay, `${key} came out of deadline order`);
    previousDelay = delay;
  }
});

test('repeatedly pulling one key earlier keeps a single entry and fires once', () => {
  const clock = new FakeClock();
  const added: number[] = [];
  const queue = newQueue(clock, () => added.push(clock.now()));
  for (let delay = 10_000; delay > 0; delay--) queue.addAfter('a', delay);
  assert.equal(queue.delayedLen(), 1);
  clock.advance(20_000);
  assert.deepEqual(added, [1]);
});

// A model of the delay semantics without any processing: each key becomes ready
// at the earliest deadline requested while it was waiting, unless already ready.
test('property: delayed adds match a simple model', () => {
  const op = fc.record({
    key: fc.constantFrom('a', 'b', 'c', 'd'),
    delay: fc.integer({ min: -5, max: 100 }),
    advance: fc.integer({ min: 0, max: 60 }),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const clock = new FakeClock();
      const actual: string[] = [];
      const queue = newQueue(clock, (key) => actual.push(`${key}@${clock.now()}`));

      const expected: string[] = [];
      const ready = new Set<string>();
      const pending = new Map<string, { at: number; seq: number }>();
      let seq = 0;
      const modelAdd = (key: string, at: number): void => {
        if (ready.has(key)) return;
        ready.add(key);
        expected.push(`${key}@${at}`);
      };

      for (const { key, delay, advance } of ops) {
        queue.addAfter(key, delay);
        if (delay <= 0) modelAdd(key, clock.now());
        else {
          const at = clock.now() + delay;
          const current = pending.get(key);
          if (current === undefined || at < current.at) pending.set(key, { at, seq: seq++ });
        }

        const target = clock.now() + advance;
        const due = [...pending]
          .filter(([, p]) => p.at <= target)
          .sort(([, x], [, y]) => x.at - y.at || x.seq - y.seq);
        for (const [dueKey, p] of due) {
          pending.delete(dueKey);
          modelAdd(dueKey, p.at);
        }
        clock.advance(advance);
      }
      assert.deepEqual(actual, expected);
      assert.equal(queue.delayedLen(), pending.size);
      assert.equal(queue.len(), ready.size);
    }),
    { numRuns: 300 },
  );
});

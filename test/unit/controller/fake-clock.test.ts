import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './fake-clock.ts';

test('advance fires due timers in deadline order, each at its own time', () => {
  const clock = new FakeClock(1000);
  const fired: Array<[string, number]> = [];
  clock.setTimeout(() => fired.push(['late', clock.now()]), 30);
  clock.setTimeout(() => fired.push(['early', clock.now()]), 10);
  clock.setTimeout(() => fired.push(['tie-second', clock.now()]), 30);
  clock.setTimeout(() => fired.push(['beyond', clock.now()]), 31);
  clock.advance(30);
  assert.deepEqual(fired, [['early', 1010], ['late', 1030], ['tie-second', 1030]]);
  assert.equal(clock.now(), 1030);
  assert.equal(clock.pendingTimers(), 1);
});

test('timers scheduled while advancing fire if they fall inside the window', () => {
  const clock = new FakeClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 5);
    clock.setTimeout(() => fired.push(clock.now()), 50);
  }, 10);
  clock.advance(20);
  assert.deepEqual(fired, [10, 15]);
  assert.equal(clock.now(), 20);
  clock.advance(40);
  assert.deepEqual(fired, [10, 15, 60]);
});

test('clearTimeout cancels a pending timer', () => {
  const clock = new FakeClock();
  let fired = false;
  const handle = clock.setTimeout(() => (fired = true), 5);
  clock.clearTimeout(handle);
  clock.advance(10);
  assert.equal(fired, false);
  assert.equal(clock.pendingTimers(), 0);
});

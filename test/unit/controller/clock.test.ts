import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../src/controller/clock.ts';

// systemClock timers are unref()'d, so each test holds a ref'd guard timer
// to keep the process alive while it waits.
function sleepRef(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('systemClock.now is monotonic and in milliseconds', async () => {
  const start = systemClock.now();
  await sleepRef(20);
  const elapsed = systemClock.now() - start;
  assert.ok(elapsed >= 15 && elapsed < 1000, `elapsed ${elapsed}`);
});

test('systemClock timers fire, are unref()d, and can be cleared', async () => {
  let fired = 0;
  const handle = systemClock.setTimeout(() => fired++, 1) as NodeJS.Timeout;
  assert.equal(handle.hasRef(), false);
  const cleared = systemClock.setTimeout(() => fired++, 1);
  systemClock.clearTimeout(cleared);
  await sleepRef(30);
  assert.equal(fired, 1);
});

test('systemClock clamps delays Node cannot represent instead of firing at once', async () => {
  let fired = false;
  const handle = systemClock.setTimeout(() => (fired = true), 2 ** 40);
  await sleepRef(30);
  systemClock.clearTimeout(handle);
  assert.equal(fired, false);
});

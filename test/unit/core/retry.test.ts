import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutionError, NodeStatus } from '../../../src/api/flyteworkflow.ts';
import { afterFailedAttempt, type RetryPolicy } from '../../../src/core/retry.ts';

const policy: RetryPolicy = { maxSystemRetries: 2, backoffBaseMs: 1000, backoffMaxMs: 10_000 };
const NOW = Date.parse('2024-05-01T10:00:00Z');
const user: ExecutionError = { kind: 'User', code: 'NonZeroExit', message: 'the container exited with code 1', node: 'n' };
const system: ExecutionError = { kind: 'System', code: 'Evicted', message: 'the pod was lost: Evicted', node: 'n' };
const permanent: ExecutionError = { kind: 'Permanent', code: 'InvalidImageName', message: 'the container cannot start: InvalidImageName', node: 'n' };

const running = (attempts: number, systemFailures?: number): NodeStatus => ({ phase: 'Running', attempts, podName: `wf-n-${attempts - 1}`, ...(systemFailures ? { systemFailures } : {}) });

test('a user error is retried while the retries budget lasts, with exponential backoff', () => {
  const first = afterFailedAttempt(running(1), user, 2, policy, NOW);
  assert.deepEqual(first, {
    retry: true,
    delayMs: 1000,
    status: {
      phase: 'Retrying',
      attempts: 1,
      podName: 'wf-n-0',
      error: user,
      nextAttemptAt: '2024-05-01T10:00:01.000Z',
      message: 'attempt 1 failed: NonZeroExit: the container exited with code 1; retrying in 1s',
    },
  });
  const second = afterFailedAttempt(running(2), user, 2, policy, NOW);
  assert.equal(second.retry && second.delayMs, 2000);
});

test('a user error past the retries budget fails the node, saying so', () => {
  const outcome = afterFailedAttempt(running(3), user, 2, policy, NOW);
  const message = 'attempt 3 failed: NonZeroExit: the container exited with code 1 (2 retries exhausted)';
  assert.deepEqual(outcome, {
    retry: false,
    status: { phase: 'Failed', attempts: 3, podName: 'wf-n-2', finishedAt: '2024-05-01T10:00:00.000Z', message, error: { ...user, message } },
  });
  const noRetries = afterFailedAttempt(running(1), user, 0, policy, NOW);
  assert.equal(noRetries.status.message, 'attempt 1 failed: NonZeroExit: the container exited with code 1');
  assert.equal(afterFailedAttempt(running(2), user, 1, policy, NOW).status.message, 'attempt 2 failed: NonZeroExit: the container exited with code 1 (1 retry exhausted)');
});

test('system errors spend their own budget, not the retries', () => {
  // retries 0: a user error would end it, but two system failures are still retried.
  const first = afterFailedAttempt(running(1), system, 0, policy, NOW);
  assert.ok(first.retry);
  assert.equal(first.status.systemFailures, 1);
  assert.equal(first.delayMs, 1000);
  const second = afterFailedAttempt(running(2, 1), system, 0, policy, NOW);
  assert.ok(second.retry);
  assert.equal(second.status.systemFailures, 2);
  assert.equal(second.delayMs, 2000);
  const third = afterFailedAttempt(running(3, 2), system, 0, policy, NOW);
  assert.equal(third.retry, false);
  assert.equal(third.status.phase, 'Failed');
  assert.equal(third.status.message, 'attempt 3 failed: Evicted: the pod was lost: Evicted (system-retry budget of 2 exhausted)');
});

test('system failures do not use up the user retries', () => {
  // 3 attempts, 2 of them lost to the system: only 1 user failure so far, so 1 retry is left of 2.
  const outcome = afterFailedAttempt(running(4, 2), user, 2, policy, NOW);
  assert.ok(outcome.retry);
  assert.equal(outcome.delayMs, 2000);
  assert.equal(outcome.status.systemFailures, 2);
});

test('a permanent error fails the node at once, whatever the budgets', () => {
  const outcome = afterFailedAttempt(running(1), permanent, 5, policy, NOW);
  assert.equal(outcome.retry, false);
  assert.equal(outcome.status.phase, 'Failed');
  assert.equal(outcome.status.message, 'attempt 1 failed: InvalidImageName: the container cannot start: InvalidImageName');
  assert.equal(outcome.status.error?.kind, 'Permanent');
});

test('backoff doubles up to its cap', () => {
  const delays = [1, 2, 3, 4, 5, 6].map((n) => {
    const outcome = afterFailedAttempt(running(n), user, 10, policy, NOW);
    return outcome.retry ? outcome.delayMs : -1;
  });
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10_000, 10_000]);
});

test('the status after a failure has no keys set to undefined, so it equals its JSON round trip', () => {
  const ns: NodeStatus = { ...running(2), nextAttemptAt: '2024-05-01T09:00:00Z' };
  for (const error of [user, system, permanent]) {
    const { status } = afterFailedAttempt(ns, error, 3, policy, NOW);
    assert.deepEqual(status, JSON.parse(JSON.stringify(status)));
    assert.ok(Object.values(status).every((v) => v !== undefined));
  }
});

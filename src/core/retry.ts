import type { ExecutionError, NodeStatus } from '../api/flyteworkflow.ts';

export interface RetryPolicy {
  /** Attempts lost to system errors (pod deleted, evicted, node shut down) that are retried. */
  maxSystemRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export type AttemptOutcome =
  | { retry: true; status: NodeStatus; delayMs: number }
  | { retry: false; status: NodeStatus };

/**
 * The node's state after its current attempt failed. User errors spend the node's `retries`, system
 * errors a separate budget, permanent errors end it at once; retries wait an exponential backoff.
 */
export function afterFailedAttempt(ns: NodeStatus, error: ExecutionError, retries: number, policy: RetryPolicy, now: number): AttemptOutcome {
  const attempts = ns.attempts ?? 1;
  const systemFailures = (ns.systemFailures ?? 0) + (error.kind === 'System' ? 1 : 0);
  const userFailures = attempts - systemFailures;
  // Absent rather than undefined-valued keys: a status must compare equal to its own JSON round trip.
  const { nextAttemptAt: _done, systemFailures: _old, ...rest } = ns;
  const finished: NodeStatus = { ...rest, ...(systemFailures ? { systemFailures } : {}), error };

  let exhausted: string | undefined;
  if (error.kind === 'Permanent') exhausted = '';
  else if (error.kind === 'User' && userFailures > retries) exhausted = retries === 0 ? '' : ` (${retries} ${retries === 1 ? 'retry' : 'retries'} exhausted)`;
  else if (error.kind === 'System' && systemFailures > policy.maxSystemRetries) exhausted = ` (system-retry budget of ${policy.maxSystemRetries} exhausted)`;
  if (exhausted !== undefined) {
    const message = `attempt ${attempts} failed: ${error.code}: ${error.message}${exhausted}`;
    return { retry: false, status: { ...finished, phase: 'Failed', finishedAt: new Date(now).toISOString(), message, error: { ...error, message: message } } };
  }
  const failuresOfKind = error.kind === 'System' ? systemFailures : userFailures;
  const delayMs = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (failuresOfKind - 1));
  const message = `attempt ${attempts} failed: ${error.code}: ${error.message}; retrying in ${formatSeconds(delayMs)}`;
  return { retry: true, delayMs, status: { ...finished, phase: 'Retrying', nextAttemptAt: new Date(now + delayMs).toISOString(), message } };
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 100) / 10}s`;
}

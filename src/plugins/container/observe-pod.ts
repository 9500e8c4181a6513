import type { Pod } from '../../api/pod.ts';
import type { ObserveContext, TaskObservation } from '../../core/task-plugin.ts';
import { Codes } from '../../error-codes.ts';
import { CONTAINER_NAME } from './build-pod.ts';

/** Pod-level failure reasons that say the node or cluster lost the pod, not that the task failed. */
const SYSTEM_POD_REASONS = new Set(['Evicted', 'Shutdown', 'NodeShutdown', 'Terminated', 'NodeLost', 'NodeAffinity', 'Preempting', 'UnexpectedAdmissionError']);
/** Waiting reasons no retry can fix. */
const PERMANENT_WAITING = new Set(['InvalidImageName', 'CreateContainerConfigError', 'ErrImageNeverPull']);
/** Waiting reasons that may clear up (a registry hiccup) and become permanent after a grace period. */
const GRACE_WAITING = new Set(['ImagePullBackOff', 'ErrImagePull', 'CreateContainerError']);

const MESSAGE_LIMIT = 512;
const cut = (text: string) => (text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text);

/** What the pod of an attempt says about the task: Flyte's pod-phase table, in task terms. */
export function observePod(pod: Pod, ctx: ObserveContext): TaskObservation {
  const status = pod.status ?? {};
  const main = status.containerStatuses?.find((c) => c.name === CONTAINER_NAME) ?? status.containerStatuses?.[0];
  const terminated = main?.state?.terminated;

  if (status.phase === 'Succeeded') {
    if (terminated?.reason === 'OOMKilled') return failed('User', Codes.OOMKilled, 'the container ran out of memory (OOMKilled)');
    return { phase: 'Succeeded', outputsText: terminated?.message };
  }
  // Before the exit code: a deleted pod's container usually dies of the SIGTERM (exit 143) the deletion
  // sent, which is not the task's fault.
  if (pod.metadata.deletionTimestamp) return failed('System', Codes.PodDeleted, `pod ${pod.metadata.name} was deleted before it finished`);
  if (status.phase === 'Failed') {
    if (status.reason && (SYSTEM_POD_REASONS.has(status.reason) || status.reason.startsWith('OutOf'))) {
      return failed('System', status.reason, `the pod was lost: ${status.reason}${status.message ? `: ${cut(status.message)}` : ''}`);
    }
    if (status.reason === 'DeadlineExceeded') return failed('User', Codes.TimedOut, 'the pod exceeded its active deadline');
    if (!terminated) return failed('System', Codes.PodFailed, `the pod failed without a container exit${status.message ? `: ${cut(status.message)}` : ''}`);
    if (terminated.reason === 'OOMKilled') return failed('User', Codes.OOMKilled, 'the container ran out of memory (OOMKilled)');
    // A SIGKILL that is not an OOM kill comes from outside the task: a node drain, a kubelet, a preemption.
    if (terminated.exitCode === 137) return failed('System', Codes.Interrupted, 'the container was killed (SIGKILL) from outside the task');
    const detail = terminated.message?.trim() ? `: ${cut(terminated.message.trim())}` : '';
    return failed('User', Codes.NonZeroExit, `the container exited with code ${terminated.exitCode}${detail}`);
  }

  const waiting = main?.state?.waiting;
  if (waiting?.reason && PERMANENT_WAITING.has(waiting.reason)) {
    return failed('Permanent', waiting.reason, `the container cannot start: ${waiting.reason}${waiting.message ? `: ${cut(waiting.message)}` : ''}`);
  }
  if (waiting?.reason && GRACE_WAITING.has(waiting.reason)) {
    if (ctx.now - ctx.attemptStartedAt >= ctx.imagePullGraceMs) {
      return failed('Permanent', waiting.reason, `the container could not start within ${Math.round(ctx.imagePullGraceMs / 1000)}s: ${waiting.reason}${waiting.message ? `: ${cut(waiting.message)}` : ''}`);
    }
    return { phase: 'Queued', reason: waiting.reason, message: waiting.message, pullProblem: true };
  }
  if (status.phase === 'Running') return { phase: 'Running' };
  const unschedulable = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  if (unschedulable) return { phase: 'Queued', reason: unschedulable.reason ?? 'Unschedulable', message: unschedulable.message };
  return { phase: 'Queued', reason: waiting?.reason };
}

function failed(kind: 'User' | 'System' | 'Permanent', code: string, message: string): TaskObservation {
  return { phase: 'Failed', error: { kind, code, message } };
}

import type { KubeClient } from '../../src/k8s/rest.ts';
import { isConflict, isNotFound, isTransient } from '../../src/k8s/errors.ts';
import { Backoff } from './backoff.ts';
import { errorText, log } from './log.ts';
import { kubeTime } from './pod-status.ts';
import type { Pod, PodStatus } from './pod-types.ts';

const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
const MAX_ATTEMPTS = 30;

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export const podRef = (pod: Pod): PodRef => ({ namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name, uid: pod.metadata.uid ?? '' });
const podPath = (ref: PodRef) => `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.name)}`;

export type WriteOutcome = 'written' | 'skipped' | 'gone' | 'failed';

/**
 * Writes a status computed from the live pod. `build` sees the pod as it is now and returns
 * undefined when the write is no longer wanted (say, the pod is already terminal), which keeps
 * writes idempotent and never lets a phase go backwards. The patch carries the resourceVersion
 * it was computed from, so a concurrent change makes it conflict and it is recomputed.
 */
export async function writePodStatus(client: KubeClient, ref: PodRef, build: (live: Pod) => PodStatus | undefined): Promise<WriteOutcome> {
  const backoff = new Backoff(100, 5000);
  for (;;) {
    try {
      const live = await client.request<Pod>('GET', podPath(ref));
      if (live.metadata.uid !== ref.uid) return 'gone';
      const status = build(live);
      if (!status) return 'skipped';
      await client.request('PATCH', `${podPath(ref)}/status`, {
        body: { metadata: { uid: ref.uid, resourceVersion: live.metadata.resourceVersion }, status: clearingConditionFields(status) },
        contentType: STRATEGIC_MERGE_PATCH,
      });
      return 'written';
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      if (!isConflict(err) && !isTransient(err)) {
        log(`status of ${ref.namespace}/${ref.name} not written: ${errorText(err)}`);
        return 'failed';
      }
      if (backoff.attempts >= MAX_ATTEMPTS) {
        log(`status of ${ref.namespace}/${ref.name} not written after ${MAX_ATTEMPTS} attempts: ${errorText(err)}`);
        return 'failed';
      }
      await backoff.wait();
    }
  }
}

/**
 * A strategic merge patch merges conditions by type, so a reason or message the new condition
 * leaves out would keep its old value (Initialized going True would still say
 * ContainersNotInitialized); null removes them.
 */
function clearingConditionFields(status: PodStatus): unknown {
  if (!status.conditions) return status;
  return { ...status, conditions: status.conditions.map((c) => ({ reason: null, message: null, ...c })) };
}

/**
 * Completes a graceful deletion the way the kubelet does once the pod's containers are gone:
 * delete again with a zero grace period. The UID precondition spares a new pod of the same name.
 */
export async function finishDeletion(client: KubeClient, ref: PodRef): Promise<void> {
  const backoff = new Backoff(100, 5000);
  for (;;) {
    try {
      await client.request('DELETE', podPath(ref), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: ref.uid } },
      });
      return;
    } catch (err) {
      // 409: the name now belongs to another pod, so ours is gone.
      if (isNotFound(err) || isConflict(err)) return;
      if (!isTransient(err) || backoff.attempts >= MAX_ATTEMPTS) {
        log(`delete of ${ref.namespace}/${ref.name} failed: ${errorText(err)}`);
        return;
      }
      await backoff.wait();
    }
  }
}

/** Best effort: a pod event that `kubectl describe pod` shows. Failures are only logged. */
export async function recordPodEvent(client: KubeClient, pod: Pod, nodeName: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  const ref = podRef(pod);
  const now = kubeTime();
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    // Event names are DNS subdomains (at most 253 characters), like the pod's own name.
    metadata: { name: `${ref.name.slice(0, 230)}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: ref.namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: ref.namespace, name: ref.name, uid: ref.uid },
    reason,
    message,
    type,
    source: { component: 'process-node', host: nodeName },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: 'process-node',
    reportingInstance: nodeName,
  };
  try {
    await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/events`, { body: event });
  } catch (err) {
    log(`event ${reason} for ${ref.namespace}/${ref.name} not recorded: ${errorText(err)}`);
  }
}

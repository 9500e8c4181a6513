import type { Pod } from '../api/pod.ts';

interface Expected {
  pod: Pod;
  createdAt: number;
}

/**
 * Pods this process created that the pod cache has not shown yet. Without them a round that runs
 * before the watch event arrives would see "no pod" and take it for an external deletion.
 */
export class Expectations {
  private readonly byWorkflow = new Map<string, Map<string, Expected>>();
  private readonly ttlMs: number;

  constructor(ttlMs = 60_000) {
    this.ttlMs = ttlMs;
  }

  expect(workflowKey: string, pod: Pod, now: number): void {
    const pods = this.byWorkflow.get(workflowKey) ?? this.byWorkflow.set(workflowKey, new Map()).get(workflowKey)!;
    pods.set(pod.metadata.name, { pod, createdAt: now });
  }

  /** The cached pods plus stand-ins (phase Pending) for expected pods not cached yet. */
  merge(workflowKey: string, cached: Pod[], now: number): Pod[] {
    const pods = this.byWorkflow.get(workflowKey);
    if (!pods) return cached;
    const seen = new Set(cached.map((p) => p.metadata.name));
    const merged = [...cached];
    for (const [name, e] of pods) {
      if (seen.has(name) || now - e.createdAt > this.ttlMs) {
        pods.delete(name);
        continue;
      }
      merged.push({ ...e.pod, metadata: { ...e.pod.metadata, creationTimestamp: new Date(e.createdAt).toISOString() }, status: { phase: 'Pending' } });
    }
    if (pods.size === 0) this.byWorkflow.delete(workflowKey);
    return merged;
  }

  /**
   * The pod cache saw the pod go. Its stand-in must go too: a pod deleted before any round saw it in the
   * cache would otherwise stand in as Pending until the TTL ran out, hiding the loss for a minute.
   */
  deleted(workflowKey: string, podName: string): void {
    const pods = this.byWorkflow.get(workflowKey);
    if (!pods?.delete(podName)) return;
    if (pods.size === 0) this.byWorkflow.delete(workflowKey);
  }

  forget(workflowKey: string): void {
    this.byWorkflow.delete(workflowKey);
  }
}

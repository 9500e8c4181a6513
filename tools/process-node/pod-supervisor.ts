import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './log.ts';
import { finishDeletion, podRef, writePodStatus } from './pod-api.ts';
import { PodRunner, type RunnerContext } from './pod-runner.ts';
import { kubeTime, nodeRestartedStatus } from './pod-status.ts';
import type { PodHandlers } from './pod-watch.ts';
import { podKey, type Pod } from './pod-types.ts';

/**
 * Decides, for every version of a pod bound to this node, what the node should do: start it,
 * pass the change to its runner, finish its deletion, or fail it as lost in a restart.
 */
export class PodSupervisor implements PodHandlers {
  private readonly ctx: RunnerContext;
  private readonly runners = new Map<string, PodRunner>();
  /** Pods without a runner whose deletion or recovery is under way, so repeated events do not repeat it. */
  private readonly inFlight = new Set<string>();

  constructor(ctx: RunnerContext) {
    this.ctx = ctx;
  }

  get running(): number {
    return this.runners.size;
  }

  sync(pods: Pod[]): void {
    const present = new Set(pods.map((p) => p.metadata.uid));
    for (const pod of pods) this.upsert(pod);
    for (const runner of [...this.runners.values()]) {
      if (!present.has(runner.ref.uid)) this.forget(runner, { metadata: { name: runner.ref.name, namespace: runner.ref.namespace, uid: runner.ref.uid }, spec: { containers: [] } });
    }
  }

  upsert(pod: Pod): void {
    // Pods read from the API server always have a uid.
    const uid = pod.metadata.uid!;
    const runner = this.runners.get(uid);
    if (runner) return runner.update(pod);
    if (this.inFlight.has(uid) || pod.spec.nodeName !== this.ctx.nodeName) return;

    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp) {
      // Never started here (or started by an earlier agent whose process is gone): nothing to stop.
      this.track(uid, finishDeletion(this.ctx.client, podRef(pod)));
    } else if (phase === undefined || phase === 'Pending') {
      this.runners.set(uid, new PodRunner(pod, this.ctx));
    } else if (phase === 'Running') {
      log(`${podKey(pod)}: was running before this agent started; failing it`);
      this.track(uid, writePodStatus(this.ctx.client, podRef(pod), (live) => (live.status?.phase === 'Running' ? nodeRestartedStatus(live, kubeTime()) : undefined)));
    }
    // Terminal pods without a runner are left alone.
  }

  remove(pod: Pod): void {
    this.inFlight.delete(pod.metadata.uid!);
    const runner = this.runners.get(pod.metadata.uid!);
    if (runner) this.forget(runner, pod);
  }

  /** Kills every child, without reporting their exits, and waits up to `graceMs` plus a little for them. */
  async shutdown(graceMs: number): Promise<void> {
    const runners = [...this.runners.values()];
    for (const runner of runners) runner.shutdown(graceMs);
    await Promise.race([Promise.all(runners.map((r) => r.done)), sleep(graceMs + 500)]);
  }

  private forget(runner: PodRunner, pod: Pod): void {
    runner.deleted(pod);
    void runner.done.then(async () => {
      this.runners.delete(runner.ref.uid);
      await runner.removeSandbox();
    });
  }

  private track(uid: string, work: Promise<unknown>): void {
    this.inFlight.add(uid);
    void work.finally(() => this.inFlight.delete(uid));
  }
}

import type { FlyteWorkflow } from '../src/api/flyteworkflow.ts';
import { ANNOTATIONS, FINALIZER } from '../src/api/labels.ts';
import type { Pod } from '../src/api/pod.ts';
import { Informer } from '../src/k8s/informer.ts';
import { podsPath, workflowsPath } from '../src/k8s/paths.ts';
import type { KubeClient } from '../src/k8s/rest.ts';
import type { Logger } from '../src/observability/logger.ts';

export interface PodTimes {
  workflow: string;
  node: string;
  addedAt: number;
  succeededAt?: number;
}

/**
 * Watches a namespace's pods and workflows and stamps each transition with this process's clock:
 * the one clock all latencies of a run are measured on, for the propeller and the baseline alike.
 */
export class Observer {
  readonly pods = new Map<string, PodTimes>();
  /** First pod of each (workflow, node). */
  private readonly byNode = new Map<string, PodTimes>();
  private readonly succeededHandlers: ((t: PodTimes) => void)[] = [];
  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly sawFinalizer = new Set<string>();
  private readonly reading = new Set<string>();
  readonly workflowDone = new Map<string, { at: number; phase: string; outputs: unknown }>();
  peakStatusBytes = 0;
  peakObjectBytes = 0;
  private readonly podInformer: Informer<Pod>;
  private readonly wfInformer: Informer<FlyteWorkflow>;
  private waiters: (() => void)[] = [];

  constructor(client: KubeClient, namespace: string, log: Logger) {
    this.podInformer = new Informer<Pod>({ name: 'bench-pods', client, path: podsPath(namespace), log });
    this.client = client;
    this.namespace = namespace;
    this.wfInformer = new Informer<FlyteWorkflow>({ name: 'bench-workflows', client, path: workflowsPath(namespace), log, metadataOnly: true });
    this.podInformer.on((type, pod) => {
      if (type === 'deleted') return;
      const now = performance.timeOrigin + performance.now();
      const name = pod.metadata.name;
      let t = this.pods.get(name);
      if (!t) {
        t = { workflow: pod.metadata.annotations?.[ANNOTATIONS.workflow] ?? '', node: pod.metadata.annotations?.[ANNOTATIONS.node] ?? '', addedAt: now };
        this.pods.set(name, t);
        const key = `${t.workflow}\u0000${t.node}`;
        if (!this.byNode.has(key)) this.byNode.set(key, t);
      }
      if (pod.status?.phase === 'Succeeded' && t.succeededAt === undefined) {
        t.succeededAt = now;
        for (const handler of this.succeededHandlers) handler(t);
        this.wake();
      }
    });
    // Metadata only: parsing every version of a large status here would take CPU from the very machine
    // being measured. The propeller removes its finalizer when a workflow finishes; that is the signal
    // to read the whole object once.
    this.wfInformer.on((type, wf) => {
      if (type === 'deleted') return;
      const name = wf.metadata.name;
      if (wf.metadata.finalizers?.includes(FINALIZER)) this.sawFinalizer.add(name);
      else if (this.sawFinalizer.has(name) && !this.workflowDone.has(name)) void this.readFinished(name);
    });
  }

  /** Records a finished workflow: when it was seen to finish, and what its final object holds. */
  private async readFinished(name: string): Promise<void> {
    const at = performance.timeOrigin + performance.now();
    if (this.reading.has(name)) return;
    this.reading.add(name);
    const wf = await this.client.request<FlyteWorkflow>('GET', `${workflowsPath(this.namespace)}/${name}`);
    const phase = wf.status?.phase ?? '';
    if (phase !== 'Succeeded' && phase !== 'Failed' && phase !== 'Aborted') {
      this.reading.delete(name);
      return;
    }
    this.peakStatusBytes = Math.max(this.peakStatusBytes, Buffer.byteLength(JSON.stringify(wf.status ?? {})));
    this.peakObjectBytes = Math.max(this.peakObjectBytes, Buffer.byteLength(JSON.stringify(wf)));
    this.workflowDone.set(name, { at, phase, outputs: wf.status?.outputs });
    this.wake();
  }

  async start(): Promise<void> {
    this.podInformer.start();
    this.wfInformer.start();
    await Promise.all([this.podInformer.waitForSync(), this.wfInformer.waitForSync()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.podInformer.stop(), this.wfInformer.stop()]);
  }

  /** Resolves when `done()` holds, re-checking after every recorded transition. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  podOf(workflow: string, node: string): PodTimes | undefined {
    return this.byNode.get(`${workflow}\u0000${node}`);
  }

  onPodSucceeded(handler: (t: PodTimes) => void): void {
    this.succeededHandlers.push(handler);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

// Every version of one FlyteWorkflow, in order, so the demo prints each phase the workflow passed through,
// however briefly (a failure handler can run between two polls).
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { isGone } from '../../src/k8s/errors.ts';
import { workflowPath, workflowsPath } from '../../src/k8s/paths.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';

export class WorkflowFeed {
  private readonly queue: FlyteWorkflow[] = [];
  private readonly stop = new AbortController();
  private wake: () => void = () => {};
  private resourceVersion = '';
  private latest: FlyteWorkflow | undefined;

  private readonly client: KubeClient;
  private readonly namespace: string;
  private readonly name: string;

  private constructor(client: KubeClient, namespace: string, name: string) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
  }

  /** Reads the workflow, then watches it from that version on. */
  static async open(client: KubeClient, namespace: string, name: string): Promise<WorkflowFeed> {
    const feed = new WorkflowFeed(client, namespace, name);
    await feed.relist();
    void feed.follow();
    return feed;
  }

  /** The next version not yet handed out, or the last one handed out again when none comes within `timeoutMs`. */
  async next(timeoutMs: number): Promise<FlyteWorkflow> {
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = () => {};
    }
    this.latest = this.queue.shift() ?? this.latest;
    return this.latest!;
  }

  close(): void {
    this.stop.abort();
  }

  private push(wf: FlyteWorkflow): void {
    this.resourceVersion = wf.metadata.resourceVersion;
    this.queue.push(wf);
    this.wake();
  }

  private async relist(): Promise<void> {
    this.push(await this.client.request<FlyteWorkflow>('GET', workflowPath(this.namespace, this.name)));
  }

  private async follow(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.client.watch<FlyteWorkflow>(
          workflowsPath(this.namespace),
          { fieldSelector: `metadata.name=${this.name}`, resourceVersion: this.resourceVersion },
          (event) => {
            if (event.type === 'ADDED' || event.type === 'MODIFIED') this.push(event.object);
          },
          { signal: this.stop.signal },
        );
      } catch (err) {
        if (this.stop.signal.aborted) return;
        if (isGone(err)) await this.relist().catch(() => {});
        else await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

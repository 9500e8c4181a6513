import type { FlyteWorkflow } from '../api/flyteworkflow.ts';
import { isNotFound } from './errors.ts';
import { workflowPath, workflowsPath } from './paths.ts';
import { MERGE_PATCH, type KubeClient } from './rest.ts';

/** Creates, reads and aborts child executions (the FlyteWorkflows of launch-plan nodes). */
export class ChildWorkflowGateway {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  create(child: Record<string, unknown>): Promise<unknown> {
    const { namespace } = child['metadata'] as { namespace: string };
    return this.client.request('POST', workflowsPath(namespace), { body: child });
  }

  async get(namespace: string, name: string): Promise<FlyteWorkflow | undefined> {
    try {
      return await this.client.request<FlyteWorkflow>('GET', workflowPath(namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Sets spec.abort; a child already gone is aborted enough. */
  async abort(namespace: string, name: string): Promise<void> {
    try {
      await this.client.request('PATCH', workflowPath(namespace, name), { body: { spec: { abort: true } }, contentType: MERGE_PATCH });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

import type { FlyteWorkflow } from '../api/flyteworkflow.ts';
import { JSON_PATCH, MERGE_PATCH, type KubeClient } from './rest.ts';
import { workflowPath } from './paths.ts';

/** Writes to FlyteWorkflows. Every write carries the resourceVersion it was computed from: a conflict is a 409. */
export class WorkflowStore {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  get(namespace: string, name: string): Promise<FlyteWorkflow> {
    return this.client.request<FlyteWorkflow>('GET', workflowPath(namespace, name));
  }

  /** A JSON Patch of the status subresource; its first operation pins the resourceVersion it was computed from. */
  patchStatus(namespace: string, name: string, ops: readonly unknown[] | string): Promise<FlyteWorkflow> {
    return this.client.request<FlyteWorkflow>('PATCH', `${workflowPath(namespace, name)}/status`, { body: ops, contentType: JSON_PATCH });
  }

  setFinalizers(namespace: string, name: string, resourceVersion: string, finalizers: string[]): Promise<FlyteWorkflow> {
    return this.client.request<FlyteWorkflow>('PATCH', workflowPath(namespace, name), {
      body: { metadata: { resourceVersion, finalizers } },
      contentType: MERGE_PATCH,
    });
  }
}


import type { FlyteWorkflow } from '../api/flyteworkflow.ts';
import { JSON_PATCH, type KubeClient } from './rest.ts';
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

  /**
   * Adds or removes a finalizer with a JSON Patch that tests the current list (null when there is none,
   * which the API server's JSON Patch accepts for a missing field): a concurrent change to the list fails
   * it (422), while changes to anything else, such as labels, never do.
   */
  setFinalizers(namespace: string, name: string, current: readonly string[], next: readonly string[], addLabels?: { existing: Record<string, string> | undefined; add: Record<string, string> }): Promise<FlyteWorkflow> {
    const test = { op: 'test', path: '/metadata/finalizers', value: current.length ? current : null };
    const change = next.length ? { op: 'add', path: '/metadata/finalizers', value: next } : { op: 'remove', path: '/metadata/finalizers' };
    const labels = addLabels && Object.keys(addLabels.add).length ? labelOps(addLabels.existing, addLabels.add) : [];
    return this.client.request<FlyteWorkflow>('PATCH', workflowPath(namespace, name), { body: [test, change, ...labels], contentType: JSON_PATCH });
  }
}


/** JSON Patch operations adding labels: the whole map when there is none yet, else each key. */
function labelOps(existing: Record<string, string> | undefined, add: Record<string, string>): unknown[] {
  if (!existing) return [{ op: 'add', path: '/metadata/labels', value: add }];
  return Object.entries(add).map(([k, v]) => ({ op: 'add', path: `/metadata/labels/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, value: v }));
}

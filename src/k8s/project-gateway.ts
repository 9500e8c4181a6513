import type { ProjectObject, ProjectStatus } from '../api/project.ts';
import { isAlreadyExists, isNotFound } from './errors.ts';
import { namespacedPath, namespacePath, namespacesPath, projectPath, workflowsPath } from './paths.ts';
import { JSON_PATCH, MERGE_PATCH, type KubeClient } from './rest.ts';

type Resource = 'resourcequotas' | 'limitranges' | 'rolebindings';

const PARTIAL_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/**
 * The Project controller's writes: its Projects' finalizer and status, the domain namespaces, and the
 * quota, limits and RoleBindings in them. Every write is idempotent: creating what exists and deleting
 * what is gone are success. Errors come back typed (see errors.ts).
 */
export class ProjectGateway {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** A merge patch of the status subresource. */
  patchStatus(name: string, status: ProjectStatus): Promise<ProjectObject> {
    return this.client.request<ProjectObject>('PATCH', `${projectPath(name)}/status`, { body: { status }, contentType: MERGE_PATCH });
  }

  /** Sets the finalizer list with a JSON Patch that tests the current one: a concurrent change fails it (422). */
  setFinalizers(name: string, current: readonly string[], next: readonly string[]): Promise<ProjectObject> {
    const test = { op: 'test', path: '/metadata/finalizers', value: current.length ? current : null };
    const change = next.length ? { op: 'add', path: '/metadata/finalizers', value: next } : { op: 'remove', path: '/metadata/finalizers' };
    return this.client.request<ProjectObject>('PATCH', projectPath(name), { body: [test, change], contentType: JSON_PATCH });
  }

  /** Creates a namespace; true if it was created, false if one of that name already existed. */
  async createNamespace(namespace: { metadata: { name: string } }): Promise<boolean> {
    try {
      await this.client.request('POST', namespacesPath(), { body: namespace });
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /** A merge patch of a namespace's metadata; with metadata.resourceVersion in it, a conflict is a 409. */
  patchNamespace(name: string, metadata: Record<string, unknown>): Promise<unknown> {
    return this.client.request('PATCH', namespacePath(name), { body: { metadata }, contentType: MERGE_PATCH });
  }

  /** Deletes a namespace, if still at `resourceVersion`; already gone is success. */
  async deleteNamespace(name: string, resourceVersion?: string): Promise<void> {
    try {
      await this.client.request('DELETE', namespacePath(name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', ...(resourceVersion ? { preconditions: { resourceVersion } } : {}) },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Whether a namespace holds any FlyteWorkflow, asked of the API server itself (not a cache). */
  async holdsWorkflows(namespace: string): Promise<boolean> {
    const list = await this.client.request<{ items?: unknown[] }>('GET', workflowsPath(namespace), { query: { limit: 1 }, accept: PARTIAL_METADATA_LIST });
    return (list.items?.length ?? 0) > 0;
  }

  /** Creates an object in a namespace; if it exists already, merge-patches it with `fallback` instead. */
  async createOrPatch(resource: Resource, namespace: string, name: string, object: unknown, fallback: unknown): Promise<void> {
    try {
      await this.client.request('POST', namespacedPath(resource, namespace), { body: object });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.patch(resource, namespace, name, fallback);
    }
  }

  async patch(resource: Resource, namespace: string, name: string, patch: unknown): Promise<void> {
    await this.client.request('PATCH', namespacedPath(resource, namespace, name), { body: patch, contentType: MERGE_PATCH });
  }

  /** Already gone is success. */
  async delete(resource: Resource, namespace: string, name: string): Promise<void> {
    try {
      await this.client.request('DELETE', namespacedPath(resource, namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

import { isNotFound } from './errors.ts';
import { MERGE_PATCH, type KubeClient } from './rest.ts';

/**
 * Reads and writes one kind of custom resource by path: a live read when a cache lags, and merge
 * patches of the status subresource, which the propeller owns.
 */
export class ResourceStore<T> {
  private readonly client: KubeClient;
  private readonly pathOf: (namespace: string, name: string) => string;

  constructor(client: KubeClient, pathOf: (namespace: string, name: string) => string) {
    this.client = client;
    this.pathOf = pathOf;
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return await this.client.request<T>('GET', this.pathOf(namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  patchStatus(namespace: string, name: string, status: unknown): Promise<T> {
    return this.client.request<T>('PATCH', `${this.pathOf(namespace, name)}/status`, { body: { status }, contentType: MERGE_PATCH });
  }
}

import type { CacheEntryObject } from '../api/cache-entry.ts';
import { isNotFound } from './errors.ts';
import { cacheEntriesPath, cacheEntryPath } from './paths.ts';
import { JSON_PATCH, MERGE_PATCH, type KubeClient } from './rest.ts';

/** Creates, reads, patches and deletes cache entries. Errors come back typed (see errors.ts). */
export class CacheGateway {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  create(entry: CacheEntryObject): Promise<CacheEntryObject> {
    return this.client.request<CacheEntryObject>('POST', cacheEntriesPath(entry.metadata.namespace), { body: entry });
  }

  async get(namespace: string, name: string): Promise<CacheEntryObject | undefined> {
    try {
      return await this.client.request<CacheEntryObject>('GET', cacheEntryPath(namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A JSON Patch whose test operations make it a compare-and-swap. */
  patch(namespace: string, name: string, ops: readonly unknown[]): Promise<CacheEntryObject> {
    return this.client.request<CacheEntryObject>('PATCH', cacheEntryPath(namespace, name), { body: ops, contentType: JSON_PATCH });
  }

  mergePatch(namespace: string, name: string, patch: unknown): Promise<CacheEntryObject> {
    return this.client.request<CacheEntryObject>('PATCH', cacheEntryPath(namespace, name), { body: patch, contentType: MERGE_PATCH });
  }

  /** Deletes the entry if it is still at `resourceVersion`; already gone is success. */
  async delete(namespace: string, name: string, resourceVersion?: string): Promise<void> {
    try {
      await this.client.request('DELETE', cacheEntryPath(namespace, name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', ...(resourceVersion ? { preconditions: { resourceVersion } } : {}) },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

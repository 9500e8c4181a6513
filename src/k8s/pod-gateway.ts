import type { Pod } from '../api/pod.ts';
import { isNotFound } from './errors.ts';
import { podPath, podsPath } from './paths.ts';
import type { KubeClient } from './rest.ts';

/** Creates, deletes and reads pods. Errors come back typed (see errors.ts); the reconciler decides what they mean. */
export class PodGateway {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  create(pod: Pod): Promise<Pod> {
    return this.client.request<Pod>('POST', podsPath(pod.metadata.namespace), { body: pod });
  }

  /** Deleting a pod that is already gone is success. */
  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.client.request('DELETE', podPath(namespace, name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async get(namespace: string, name: string): Promise<Pod | undefined> {
    try {
      return await this.client.request<Pod>('GET', podPath(namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

import { isNotFound } from './errors.ts';
import { leasePath } from './paths.ts';
import type { KubeClient } from './rest.ts';

/** A coordination.k8s.io/v1 Lease, the parts leader election uses. */
export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaseStore {
  get(): Promise<Lease | undefined>;
  create(lease: Lease): Promise<Lease>;
  /** Replaces the lease; its resourceVersion makes a concurrent change fail with 409. */
  update(lease: Lease): Promise<Lease>;
}

export function leaseStore(client: KubeClient, namespace: string, name: string): LeaseStore {
  return {
    async get() {
      try {
        return await client.request<Lease>('GET', leasePath(namespace, name));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (lease) => client.request<Lease>('POST', leasePath(namespace), { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease } }),
    update: (lease) => client.request<Lease>('PUT', leasePath(namespace, name), { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease } }),
  };
}

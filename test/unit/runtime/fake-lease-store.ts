import { KubeApiError, KubeTransportError } from '../../../src/k8s/errors.ts';
import type { Lease, LeaseStore } from '../../../src/k8s/lease-store.ts';

export type StoreOp = 'get' | 'create' | 'update';
/** What to do with one call: let it through (optionally slowed), fail it, or never answer. */
export type Fault = { kind: 'ok'; beforeMs?: number; afterMs?: number } | { kind: 'error'; error: unknown } | { kind: 'hang' };

export const conflict = (path = '/leases/l') => new KubeApiError({ status: 409, reason: 'Conflict', message: 'the object has been modified', verb: 'update', path });
export const alreadyExists = (path = '/leases') => new KubeApiError({ status: 409, reason: 'AlreadyExists', message: 'leases "l" already exists', verb: 'create', path });
export const serverError = () => new KubeApiError({ status: 500, reason: 'InternalError', message: 'etcdserver: request timed out', verb: 'update', path: '/leases/l' });
export const transportError = () => new KubeTransportError('update', '/leases/l', new Error('ECONNRESET'));

/**
 * An in-memory Lease with the API server's optimistic concurrency: every write bumps the
 * resourceVersion, create fails with AlreadyExists when there is one, update fails with Conflict when
 * the resourceVersion sent is not the current one. `view(identity)` gives one client's handle, through
 * which faults and latency can be injected.
 */
export class FakeLeaseStore {
  lease: Lease | undefined;
  #rv = 0;
  readonly writes: { by: string; op: StoreOp; lease: Lease }[] = [];
  readonly calls: { by: string; op: StoreOp }[] = [];
  readonly #wait: (ms: number) => Promise<void>;

  constructor(wait: (ms: number) => Promise<void> = async () => {}) {
    this.#wait = wait;
  }

  /** Sets the stored lease directly, as another client (outside the test's electors) would. */
  put(spec: Lease['spec']): Lease {
    this.lease = { metadata: { name: 'l', namespace: 'ns', resourceVersion: String(++this.#rv) }, spec: structuredClone(spec) };
    return structuredClone(this.lease);
  }

  view(by: string, fault: (op: StoreOp, lease?: Lease) => Fault = () => ({ kind: 'ok' })): LeaseStore {
    const call = async <T>(op: StoreOp, lease: Lease | undefined, body: () => T): Promise<T> => {
      this.calls.push({ by, op });
      const f = fault(op, lease);
      if (f.kind === 'hang') return new Promise<T>(() => {});
      if (f.kind === 'error') throw f.error;
      if (f.beforeMs) await this.#wait(f.beforeMs);
      const result = body();
      if (f.afterMs) await this.#wait(f.afterMs);
      return result;
    };
    return {
      get: () => call('get', undefined, () => (this.lease ? structuredClone(this.lease) : undefined)),
      create: (lease) =>
        call('create', lease, () => {
          if (this.lease) throw alreadyExists();
          this.lease = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.#rv) } });
          this.writes.push({ by, op: 'create', lease: structuredClone(this.lease) });
          return structuredClone(this.lease);
        }),
      update: (lease) =>
        call('update', lease, () => {
          if (!this.lease) throw new KubeApiError({ status: 404, reason: 'NotFound', message: 'not found', verb: 'update', path: '/leases/l' });
          if (lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) throw conflict();
          this.lease = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.#rv) } });
          this.writes.push({ by, op: 'update', lease: structuredClone(this.lease) });
          return structuredClone(this.lease);
        }),
    };
  }
}

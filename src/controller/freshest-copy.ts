import type { FlyteWorkflow } from '../api/flyteworkflow.ts';

interface Memo {
  uid: string;
  /** Versions our own writes replaced: a cache still showing one of them is behind us. */
  superseded: Set<string>;
  object: FlyteWorkflow;
}

/**
 * After a write, the informer cache lags until the watch event arrives. Planning from the stale copy
 * would only end in a conflict, so the object our write returned is used until the cache catches up.
 */
export class FreshestCopy {
  private readonly memo = new Map<string, Memo>();

  pick(key: string, cached: FlyteWorkflow | undefined): FlyteWorkflow | undefined {
    const m = this.memo.get(key);
    if (!cached) {
      this.memo.delete(key);
      return undefined;
    }
    if (m && m.uid === cached.metadata.uid && m.superseded.has(cached.metadata.resourceVersion)) return m.object;
    this.memo.delete(key);
    return cached;
  }

  remember(key: string, before: FlyteWorkflow, after: FlyteWorkflow): FlyteWorkflow {
    delete (after.metadata as { managedFields?: unknown }).managedFields;
    const m = this.memo.get(key);
    const superseded = m && m.uid === after.metadata.uid ? m.superseded : new Set<string>();
    superseded.add(before.metadata.resourceVersion);
    this.memo.set(key, { uid: after.metadata.uid, superseded, object: after });
    return after;
  }

  forget(key: string): void {
    this.memo.delete(key);
  }
}

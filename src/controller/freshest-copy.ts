import type { FlyteWorkflow } from '../api/flyteworkflow.ts';

interface Memo {
  uid: string;
  /** Versions our own writes replaced: a cache still showing one of them is behind us. */
  superseded: Set<string>;
  object: FlyteWorkflow;
}

/**
 * After a write, the informer cache lags until the watch event arrives. Planning from the stale copy
 * would only end in a conflict, so the object our write returned is used until the cache catches up
 * (its resourceVersion moves on, and its status revision reaches ours).
 */
export class FreshestCopy {
  private readonly memo = new Map<string, Memo>();

  pick(key: string, cached: FlyteWorkflow | undefined): FlyteWorkflow | undefined {
    const m = this.memo.get(key);
    if (!cached) {
      this.memo.delete(key);
      return undefined;
    }
    if (!m || m.uid !== cached.metadata.uid) {
      this.memo.delete(key);
      return cached;
    }
    if (m.superseded.has(cached.metadata.resourceVersion)) return m.object;
    // Someone else wrote too (a label, say). etcd's resourceVersions are increasing integers: used only as a
    // freshness hint (every write is a compare-and-swap anyway), a lower one means the cache has not seen ours.
    const ours = Number(m.object.metadata.resourceVersion);
    const theirs = Number(cached.metadata.resourceVersion);
    if (Number.isSafeInteger(ours) && Number.isSafeInteger(theirs)) {
      if (theirs < ours) return m.object;
    } else if ((m.object.status?.revision ?? -1) > (cached.status?.revision ?? -1)) {
      // Opaque versions: at least keep the newer status, which the status revision tells.
      return { ...cached, status: m.object.status };
    }
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

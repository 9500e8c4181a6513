import type { NodeStatus } from '../api/flyteworkflow.ts';
import type { Pod } from '../api/pod.ts';

/** Who holds a cache reservation: one node of one execution. */
export interface CacheHolder {
  workflow: string;
  uid: string;
  node: string;
}

/** What a cache entry says, as plan reads it (the controller maps the custom resource to this). */
export interface CacheEntryView {
  name: string;
  resourceVersion: string;
  /** The full key; the name holds only a prefix of it. */
  key: string;
  outputs?: Record<string, unknown>;
  reservedBy?: CacheHolder & { until: string };
  expiresAt?: string;
  createdBy?: { workflow: string; node: string; at: string };
}

/** The content of a cache entry to create or write. */
export interface CacheEntryContent {
  name: string;
  key: string;
  task: string;
  cacheVersion: string;
  outputs?: Record<string, unknown>;
  reservedBy?: CacheHolder & { until: string };
  expiresAt?: string;
  createdBy?: { workflow: string; node: string; at: string };
}

/**
 * What plan asks the controller to do. Each type has one executor, which performs it idempotently
 * (AlreadyExists is success) and reports an outcome that the next plan call settles.
 * `node` is the path of the node the action is for.
 */
export type Action =
  /** `previous` is the node's status before this round, restored if the pod could not be created. */
  | { type: 'CreatePod'; node: string; attempt: number; pod: Pod; previous?: NodeStatus }
  | { type: 'DeletePod'; node: string | undefined; podName: string; reason: string }
  /** Creates the entry holding a reservation, or takes over an expired one (`replacing` its resourceVersion). */
  | { type: 'ReserveCache'; node: string; entry: CacheEntryContent; replacing?: string }
  | { type: 'RenewCache'; node: string; name: string; holder: CacheHolder; until: string }
  /** Writes outputs; `replace` overwrites an entry that exists (overwriteCache, or our own reservation). */
  | { type: 'WriteCache'; node: string; entry: CacheEntryContent; replace: boolean }
  | { type: 'ReleaseCache'; node: string; name: string; holder: CacheHolder }
  /** A child execution (a launch-plan node's): a FlyteWorkflow owned by this one. */
  | { type: 'CreateChild'; node: string; attempt: number; child: Record<string, unknown>; previous?: NodeStatus }
  | { type: 'AbortChild'; node: string; name: string; reason: string };

export type ActionType = Action['type'];

/**
 * Why an action did not happen, in the core's terms. Rejected: the API server refused the object
 * itself (no retry can fix it). Quota: a resource quota is full. NameTaken: an object of that name
 * belongs to someone else. Transient: anything else (network, 5xx, conflicts). NotRun: the controller
 * chose not to run it (a graceful exit).
 */
export type ActionFailure = { kind: 'Rejected' | 'Quota' | 'NameTaken' | 'Transient' | 'NotRun'; message: string };

export type ActionOutcome =
  | { action: Action; ok: true; observed?: CacheEntryView }
  | { action: Action; ok: false; failure: ActionFailure };

/** What plan reads of a child execution. */
export interface ChildView {
  name: string;
  uid?: string;
  phase?: string;
  outputs?: Record<string, unknown>;
  error?: { kind: string; code: string; message: string; node?: string };
  message?: string;
  aborting?: boolean;
}

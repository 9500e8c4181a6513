import { API_VERSION, type FlyteWorkflow } from '../api/flyteworkflow.ts';
import { CACHE_KIND, type CacheEntryObject } from '../api/cache-entry.ts';
import { LABELS, MANAGED_BY } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import type { Action, ActionFailure, ActionOutcome, ActionType, CacheEntryContent, CacheEntryView } from '../core/actions.ts';
import { labelValue } from '../core/names.ts';
import { Codes } from '../error-codes.ts';
import { errorMessage, PropellerError } from '../errors.ts';
import type { CacheGateway } from '../k8s/cache-gateway.ts';
import { isAlreadyExists, isConflict, isInvalid, isNotFound, isPatchTestFailed, isQuotaExceeded, isTooLarge, KubeApiError } from '../k8s/errors.ts';
import type { PodGateway } from '../k8s/pod-gateway.ts';
import type { Logger } from '../observability/logger.ts';

/** What an executor may use: the gateways, and hooks to remember what it created for the next round. */
export interface ExecutorContext {
  workflow: FlyteWorkflow;
  pods: PodGateway;
  cache: CacheGateway;
  /** A pod this process created for (node, attempt): the next round sees it even before the pod cache does. */
  created(pod: Pod, node: string, attempt: number): void;
  children: ChildGateway;
  /** A child execution this process created: the next round sees it even before the cache does. */
  createdChild(name: string): void;
  /** A cache entry as an executor last saw it: the next round sees it even before the cache informer does. */
  observed(entry: CacheEntryObject): void;
  log: Logger;
}

type Executor<A extends Action> = (ctx: ExecutorContext, action: A) => Promise<ActionOutcome>;
type Executors = { [T in ActionType]: Executor<Extract<Action, { type: T }>> };

/** Performs one action idempotently and reports what became of it; never throws. */
export async function execute(ctx: ExecutorContext, action: Action): Promise<ActionOutcome> {
  try {
    return await (EXECUTORS[action.type] as Executor<Action>)(ctx, action);
  } catch (err) {
    return { action, ok: false, failure: failureOf(err) };
  }
}

/** An API error in the core's terms: refused for good, a full quota, a taken name, or worth trying again. */
export function failureOf(err: unknown): ActionFailure {
  if (err instanceof PodNameTakenError || (err instanceof PropellerError && err.code === Codes.ChildNameTaken)) return { kind: 'NameTaken', message: err.message };
  const message = err instanceof KubeApiError ? err.serverMessage : errorMessage(err);
  if (isQuotaExceeded(err)) return { kind: 'Quota', message };
  if ((isInvalid(err) || isTooLarge(err)) && err instanceof KubeApiError) return { kind: 'Rejected', message };
  return { kind: 'Transient', message };
}

const EXECUTORS: Executors = {
  async CreatePod(ctx, action) {
    try {
      await ctx.pods.create(action.pod);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Same name: ours from a round whose status write was lost (adopt it), or a pod of an older
      // workflow of the same name that garbage collection has not removed yet (wait for it).
      const existing = await ctx.pods.get(ctx.workflow.metadata.namespace, action.pod.metadata.name);
      if (existing && !ownedBy(existing, ctx.workflow)) throw new PodNameTakenError(action.pod.metadata.name);
    }
    ctx.created(action.pod, action.node, action.attempt);
    return { action, ok: true };
  },

  async DeletePod(ctx, action) {
    await ctx.pods.delete(ctx.workflow.metadata.namespace, action.podName);
    ctx.log.info({ node: action.node, pod: action.podName, reason: action.reason }, 'deleted pod');
    return { action, ok: true };
  },

  async ReserveCache(ctx, action) {
    const namespace = ctx.workflow.metadata.namespace;
    const object = entryObject(namespace, action.entry);
    try {
      const written = action.replacing
        ? await ctx.cache.patch(namespace, object.metadata.name, [
            { op: 'test', path: '/metadata/resourceVersion', value: action.replacing },
            { op: 'replace', path: '/spec', value: object.spec },
          ])
        : await ctx.cache.create(object);
      return observed(ctx, action, written);
    } catch (err) {
      // Someone else reserved or wrote it first: the next round waits for them, or uses their outputs.
      if (!isAlreadyExists(err) && !isPatchTestFailed(err) && !isConflict(err) && !isNotFound(err)) throw err;
      const current = await ctx.cache.get(namespace, object.metadata.name);
      return current ? observed(ctx, action, current) : { action, ok: true };
    }
  },

  async RenewCache(ctx, action) {
    const namespace = ctx.workflow.metadata.namespace;
    try {
      const written = await ctx.cache.patch(namespace, action.name, [
        { op: 'test', path: '/spec/reservedBy/uid', value: action.holder.uid },
        { op: 'test', path: '/spec/reservedBy/node', value: action.holder.node },
        { op: 'replace', path: '/spec/reservedBy/until', value: action.until },
      ]);
      return observed(ctx, action, written);
    } catch (err) {
      if (!isPatchTestFailed(err) && !isNotFound(err) && !isInvalid(err)) throw err;
      const current = await ctx.cache.get(namespace, action.name);
      return current ? observed(ctx, action, current) : { action, ok: true };
    }
  },

  async WriteCache(ctx, action) {
    const namespace = ctx.workflow.metadata.namespace;
    const object = entryObject(namespace, action.entry);
    try {
      return observed(ctx, action, await ctx.cache.create(object));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    if (!action.replace) {
      const current = await ctx.cache.get(namespace, object.metadata.name);
      return current ? observed(ctx, action, current) : { action, ok: true };
    }
    const { outputs, expiresAt, createdBy } = object.spec;
    // A merge patch: null removes the reservation and an expiry the new entry does not have.
    const written = await ctx.cache.mergePatch(namespace, object.metadata.name, { spec: { outputs, createdBy, expiresAt: expiresAt ?? null, reservedBy: null } });
    return observed(ctx, action, written);
  },

  async CreateChild(ctx, action) {
    const metadata = action.child['metadata'] as { name: string; namespace: string };
    try {
      await ctx.children.create(action.child);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Ours from a round whose status write was lost (adopt it), or someone else's of the same name.
      const existing = await ctx.children.get(metadata.namespace, metadata.name);
      const owner = (existing?.metadata as { ownerReferences?: { uid: string; controller?: boolean }[] } | undefined)?.ownerReferences;
      if (existing && !owner?.some((r) => r.controller && r.uid === ctx.workflow.metadata.uid)) {
        throw new PropellerError(Codes.ChildNameTaken, `FlyteWorkflow ${metadata.name} exists but is not a child of this execution`);
      }
    }
    ctx.createdChild(metadata.name);
    return { action, ok: true };
  },

  async AbortChild(ctx, action) {
    await ctx.children.abort(ctx.workflow.metadata.namespace, action.name);
    return { action, ok: true };
  },

  async ReleaseCache(ctx, action) {
    const namespace = ctx.workflow.metadata.namespace;
    const current = await ctx.cache.get(namespace, action.name);
    const held = current?.spec.reservedBy;
    if (current && !current.spec.outputs && held?.uid === action.holder.uid && held.node === action.holder.node) {
      try {
        await ctx.cache.delete(namespace, action.name, current.metadata.resourceVersion);
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return { action, ok: true };
  },
};

function observed(ctx: ExecutorContext, action: Action, entry: CacheEntryObject): ActionOutcome {
  ctx.observed(entry);
  return { action, ok: true, observed: cacheEntryView(entry) };
}

/** A cache entry as plan reads it. */
export function cacheEntryView(entry: CacheEntryObject): CacheEntryView {
  const { key, outputs, reservedBy, expiresAt, createdBy } = entry.spec;
  return {
    name: entry.metadata.name,
    resourceVersion: entry.metadata.resourceVersion ?? '',
    key,
    ...(outputs ? { outputs } : {}),
    ...(reservedBy ? { reservedBy } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(createdBy ? { createdBy } : {}),
  };
}

function entryObject(namespace: string, content: CacheEntryContent): CacheEntryObject {
  const { name, ...spec } = content;
  return {
    apiVersion: API_VERSION,
    kind: CACHE_KIND,
    metadata: { name, namespace, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.task]: labelValue(content.task) } },
    spec,
  };
}

/** Creates and aborts child executions (launch-plan nodes). */
export interface ChildGateway {
  create(child: Record<string, unknown>): Promise<unknown>;
  get(namespace: string, name: string): Promise<FlyteWorkflow | undefined>;
  abort(namespace: string, name: string): Promise<void>;
}

export class PodNameTakenError extends PropellerError {
  constructor(pod: string) {
    super(Codes.PodNameTaken, `pod ${pod} exists but belongs to another workflow (an earlier one of the same name); waiting for it to be garbage-collected`);
  }
}

export function ownedBy(pod: Pod, wf: FlyteWorkflow): boolean {
  return pod.metadata.ownerReferences?.some((r) => r.controller && r.uid === wf.metadata.uid) ?? false;
}

import PQueue from 'p-queue';
import { API_VERSION, KIND, TERMINAL_WORKFLOW_PHASES, type FlyteWorkflow, type NodeStatus, type WorkflowStatus } from '../api/flyteworkflow.ts';
import { FINALIZER } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import { compactStatus } from '../core/compact.ts';
import { compileWorkflow, type CompileResult } from '../core/compile.ts';
import { plan, type Action, type PlanConfig, type PlanResult, type WorkflowEvent } from '../core/plan.ts';
import type { TaskPlugin } from '../core/task-plugin.ts';
import { errorMessage } from '../errors.ts';
import { isAlreadyExists, isConflict, isInvalid, isNotFound, isPatchTestFailed, isQuotaExceeded, isTooLarge, KubeApiError } from '../k8s/errors.ts';
import type { EventRecorder } from '../k8s/event-recorder.ts';
import type { PodGateway } from '../k8s/pod-gateway.ts';
import type { WorkflowStore } from '../k8s/workflow-store.ts';
import type { Logger } from '../observability/logger.ts';
import { Expectations } from './expectations.ts';
import { FreshestCopy } from './freshest-copy.ts';
import { onlyCosmeticChanges } from './cosmetic.ts';
import { statusPatch } from './status-patch.ts';

export interface ReconcilerDeps {
  /** The informer cache of workflows, by namespace/name. */
  workflows: { get(key: string): FlyteWorkflow | undefined };
  /** The informer cache of pods, by owning workflow uid. */
  podsOf(workflowUid: string): Pod[];
  store: WorkflowStore;
  pods: PodGateway;
  events: EventRecorder;
  plugins: ReadonlyMap<string, TaskPlugin>;
  planConfig: PlanConfig;
  /** Largest object (spec and status) to write; etcd refuses requests over 1.5 MiB. */
  maxObjectBytes: number;
  podWriteConcurrency: number;
  /** How long a write of only cosmetic changes (Queued → Running, messages) may wait for a real one. */
  cosmeticWriteDelayMs: number;
  log: Logger;
  now: () => number;
  observer?: ReconcileObserver;
}

/** Hooks for metrics; all optional. Times are epoch milliseconds. */
export interface ReconcileObserver {
  podCreated?(e: {
    workflow: FlyteWorkflow;
    node: string;
    attempt: number;
    /** The first pod of the workflow (for acceptance latency). */
    first: boolean;
    /** A node with dependencies (for transition latency). */
    dependent: boolean;
    /** Since when the node could have started: when it became ready in an earlier round, else when this round was queued. */
    readySince: number;
    at: number;
  }): void;
  podDeleted?(e: { workflow: FlyteWorkflow; node: string | undefined }): void;
  /** `bytes` is the exact status size when it was measured (near the limit, or when the workflow finished). */
  statusWritten?(e: { workflow: FlyteWorkflow; prev: WorkflowStatus | undefined; next: WorkflowStatus; bytes: number | undefined }): void;
}

/** What the caller knows about the round: when its key entered the queue. */
export interface RoundContext {
  queuedAt: number;
  /** Shutting down: write down what exists, start nothing (see recordLaunched). */
  recordOnly?: boolean;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
  /** Something transient failed: retry with the per-key backoff. */
  retry?: boolean;
}

type ActionOutcome = { action: Action; ok: true } | { action: Action; ok: false; error: unknown };

/** One round for one workflow: read caches, plan, act idempotently, write status once. */
export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly expectations = new Expectations();
  private readonly freshest = new FreshestCopy();
  private readonly compiled = new Map<string, { generation: number | undefined; result: CompileResult }>();
  private readonly baseSize = new Map<string, { generation: number | undefined; bytes: number }>();
  /** Conflicts in a row per workflow. */
  private readonly conflicts = new Map<string, number>();
  /** An upper bound of each workflow's status size, valid at the resourceVersion our last write produced. */
  private readonly statusSize = new Map<string, { resourceVersion: string; bytes: number }>();
  /** Since when a workflow has had only cosmetic status changes waiting to be written. */
  private readonly cosmeticSince = new Map<string, number>();
  /**
   * New workflows whose first pods went out before their finalizer and status (see launchFirstPods), with
   * the status that round would have written and the events it would have recorded: later rounds go on
   * from that status until it is written, so a pod lost in between is a lost attempt, not a node that
   * never started; the events go out with that write.
   */
  private readonly launched = new Map<string, { status: WorkflowStatus; events: WorkflowEvent[] }>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  /** The pod cache saw one of a workflow's pods deleted. */
  podGone(key: string, podName: string): void {
    this.expectations.deleted(key, podName);
  }

  /** Drops what is remembered about a workflow that no longer exists. */
  forget(key: string, uid?: string): void {
    this.expectations.forget(key);
    this.freshest.forget(key);
    this.cosmeticSince.delete(key);
    this.launched.delete(key);
    this.statusSize.delete(key);
    this.conflicts.delete(key);
    if (uid) {
      this.compiled.delete(uid);
      this.baseSize.delete(uid);
    }
  }

  async reconcile(key: string, round: RoundContext = { queuedAt: this.deps.now() }): Promise<ReconcileResult> {
    let wf = this.freshest.pick(key, this.deps.workflows.get(key));
    if (!wf) {
      this.forget(key);
      return {};
    }
    const log = this.deps.log.child({ workflow: key });
    const { namespace, name } = wf.metadata;
    const finalizers = wf.metadata.finalizers ?? [];
    const hasFinalizer = finalizers.includes(FINALIZER);
    const terminal = wf.status?.phase !== undefined && TERMINAL_WORKFLOW_PHASES.has(wf.status.phase);
    const deleting = wf.metadata.deletionTimestamp !== undefined;
    const now = this.deps.now();
    const cachedPods = this.deps.podsOf(wf.metadata.uid);

    if (terminal && !hasFinalizer && !cachedPods.some(isAlive)) return {};
    if (deleting && !hasFinalizer) return {};

    // One write per workflow at exit, the status: the next propeller adds the finalizer.
    if (!terminal && !deleting && !hasFinalizer && !round.recordOnly) {
      if (wf.status?.phase === undefined && !this.launched.has(key) && this.launched.size < MAX_LAUNCHED_AHEAD) {
        const early = await this.launchFirstPods(key, wf, cachedPods, now, round, log);
        if (early) return early;
      }
      try {
        wf = this.freshest.remember(key, wf, await this.deps.store.setFinalizers(namespace, name, finalizers, [...finalizers, FINALIZER]));
      } catch (err) {
        if (isNotFound(err)) return {};
        if (isWriteConflict(err)) return this.conflicted(key, wf, log);
        throw err;
      }
    }

    const launched = wf.status?.phase === undefined ? this.launched.get(key) : undefined;
    // What plan goes on from: the stored status, or the one a launching round could not write yet.
    const base = launched ? { ...wf, status: launched.status } : wf;
    const pods = await this.observedPods(key, base, cachedPods, now);
    const result = this.plan(base, pods, now);

    const outcomes = await this.execute(key, base, round.recordOnly ? [] : result.actions, now, round, log);
    const settled = this.settle(base, result, outcomes, log);
    const status = round.recordOnly ? unstarted(base, settled.status, result.actions) : settled.status;
    const retry = settled.retry;

    let deferMs: number | undefined;
    if (onlyCosmeticChanges(wf.status, status)) {
      const since = this.cosmeticSince.get(key) ?? now;
      this.cosmeticSince.set(key, since);
      deferMs = since + this.deps.cosmeticWriteDelayMs - now;
    }
    let events = launched ? [...launched.events, ...result.events] : result.events;
    if (deferMs === undefined || deferMs <= 0) {
      const before = wf.status;
      const written = await this.writeStatus(key, wf, status, log);
      if (written === 'conflict') return this.conflicted(key, wf, log);
      this.launched.delete(key);
      // Only once written: a write that failed must not start a new deferral, whose requeue would reset the
      // key's backoff (an API server outage would then be retried every cosmeticWriteDelayMs, not backed off).
      this.cosmeticSince.delete(key);
      wf = written ?? wf;
      deferMs = undefined;
      if (wf.status?.error?.code === 'StatusTooLarge' && before?.error?.code !== 'StatusTooLarge') {
        // The write failed the workflow instead of what plan decided: say so, and not that it succeeded.
        events = [...events.filter((e) => e.reason !== 'Succeeded' && e.reason !== 'Failed'), { type: 'Warning', reason: 'Failed', message: wf.status.message ?? 'StatusTooLarge' }];
      }
    }

    for (const event of events) {
      this.deps.events.record(
        { apiVersion: API_VERSION, kind: KIND, name, namespace, uid: wf.metadata.uid },
        { type: event.type, reason: event.reason, message: event.node ? `node ${event.node}: ${event.message}` : event.message },
      );
    }

    const finished = wf.status?.phase !== undefined && TERMINAL_WORKFLOW_PHASES.has(wf.status.phase);
    if (finished && (wf.metadata.finalizers ?? []).includes(FINALIZER) && !result.actions.length) {
      const current = wf.metadata.finalizers ?? [];
      try {
        this.freshest.remember(key, wf, await this.deps.store.setFinalizers(namespace, name, current, current.filter((f) => f !== FINALIZER)));
      } catch (err) {
        if (isNotFound(err)) return {};
        if (isWriteConflict(err)) return this.conflicted(key, wf, log);
        throw err;
      }
      this.compiled.delete(wf.metadata.uid);
    }
    this.conflicts.delete(key);
    if (retry) return { retry: true };
    const requeue = Math.min(result.requeueAfterMs ?? Infinity, deferMs ?? Infinity);
    return requeue === Infinity ? {} : { requeueAfterMs: requeue };
  }

  /**
   * Before a graceful exit: writes the first status of every workflow whose first round created pods,
   * so no pod this process created is left out of a status. Creates and deletes nothing, and leaves the
   * finalizer to the next propeller: one request per workflow.
   */
  async recordLaunched(concurrency: number): Promise<void> {
    const queue = new PQueue({ concurrency });
    await Promise.all(
      [...this.launched.keys()].map((key) =>
        queue.add(async () => {
          try {
            await this.reconcile(key, { queuedAt: this.deps.now(), recordOnly: true });
          } catch (err) {
            this.deps.log.warn({ workflow: key, err: errorMessage(err) }, 'could not record the first pods before exiting; the next propeller adopts them');
          }
        }),
      ),
    );
  }

  /**
   * A new workflow's first round only creates the pods that can start, and leaves the finalizer and the
   * first status to the next round, queued behind other new workflows: under a burst of submissions each
   * one then waits for one API request per workflow ahead of it, not four. Nothing is lost by the order:
   * pod names are deterministic, so the next round adopts these pods (or a crashed process's successor
   * does), and a workflow deleted before its finalizer lands has its pods removed by garbage collection
   * through their owner references. At most MAX_LAUNCHED_AHEAD workflows wait like this, which bounds
   * what a graceful exit must write down (recordLaunched). Returns undefined when the round should go on as usual (invalid
   * spec, or pods already there).
   */
  private async launchFirstPods(key: string, wf: FlyteWorkflow, cached: Pod[], now: number, round: RoundContext, log: Logger): Promise<ReconcileResult | undefined> {
    const pods = await this.observedPods(key, wf, cached, now);
    if (pods.length) return undefined;
    const result = this.plan(wf, pods, now);
    if (!result.actions.length || result.actions.some((a) => a.type !== 'CreatePod')) return undefined;
    const outcomes = await this.execute(key, wf, result.actions, now, round, log);
    const failed = outcomes.find((o) => !o.ok);
    if (failed) log.debug({ err: errorMessage(failed.error) }, 'a first pod was not created; the next round handles it');
    this.launched.set(key, { status: this.settle(wf, result, outcomes, log).status, events: result.events });
    return { requeueAfterMs: 0 };
  }

  /**
   * Someone changed what a write was conditioned on. Read the workflow live (the cache may lag) and go
   * again at once; only a run of conflicts falls back to the per-key backoff, so a client that keeps
   * patching labels cannot starve the workflow, and a real fight cannot spin.
   */
  private async conflicted(key: string, wf: FlyteWorkflow, log: Logger): Promise<ReconcileResult> {
    const streak = (this.conflicts.get(key) ?? 0) + 1;
    this.conflicts.set(key, streak);
    log.debug({ streak }, 'write conflicted; going again with a live copy');
    try {
      this.freshest.remember(key, wf, await this.deps.store.get(wf.metadata.namespace, wf.metadata.name));
    } catch (err) {
      if (isNotFound(err)) return {};
      this.freshest.forget(key);
    }
    return streak <= MAX_IMMEDIATE_CONFLICT_RETRIES ? { requeueAfterMs: 0 } : { retry: true };
  }

  private plan(wf: FlyteWorkflow, pods: Pod[], now: number): PlanResult {
    return plan({
      workflow: { ...wf.metadata, spec: wf.spec, status: wf.status },
      pods,
      now,
      config: this.deps.planConfig,
      plugins: this.deps.plugins,
      compiled: this.compile(wf),
    });
  }

  private compile(wf: FlyteWorkflow): CompileResult {
    const memo = this.compiled.get(wf.metadata.uid);
    if (memo && memo.generation === wf.metadata.generation) return memo.result;
    const result = compileWorkflow(wf.spec, { maxNodes: this.deps.planConfig.maxNodes });
    this.compiled.set(wf.metadata.uid, { generation: wf.metadata.generation, result });
    return result;
  }

  /**
   * The pods plan should see: the cache, our own creates it has not shown yet, and a direct read of any
   * pod the status calls active that neither has (so a lagging cache is never mistaken for a deletion).
   */
  private async observedPods(key: string, wf: FlyteWorkflow, cached: Pod[], now: number): Promise<Pod[]> {
    const pods = this.expectations.merge(key, cached, now);
    const known = new Set(pods.map((p) => p.metadata.name));
    const missing = Object.values(wf.status?.nodes ?? {}).filter(
      (n: NodeStatus) => (n.phase === 'Queued' || n.phase === 'Running') && n.podName !== undefined && !known.has(n.podName),
    );
    for (const node of missing) {
      const live = await this.deps.pods.get(wf.metadata.namespace, node.podName!);
      if (live && ownedBy(live, wf)) pods.push(live);
    }
    return pods;
  }

  private async execute(key: string, wf: FlyteWorkflow, actions: Action[], now: number, round: RoundContext, log: Logger): Promise<ActionOutcome[]> {
    if (!actions.length) return [];
    const queue = new PQueue({ concurrency: this.deps.podWriteConcurrency });
    let first = !Object.values(wf.status?.nodes ?? {}).some((n) => (n.attempts ?? 0) > 0);
    const compiled = this.compile(wf);
    const outcomes = await Promise.all(
      actions.map((action) =>
        queue.add(async (): Promise<ActionOutcome> => {
          try {
            if (action.type === 'CreatePod') {
              await this.createPod(key, wf, action, now);
              const readyAt = Date.parse(wf.status?.nodes?.[action.node]?.readyAt ?? '');
              this.deps.observer?.podCreated?.({
                workflow: wf,
                node: action.node,
                attempt: action.attempt,
                first,
                dependent: compiled.ok && (compiled.workflow.nodeById.get(action.node)?.upstream.length ?? 0) > 0,
                readySince: Number.isNaN(readyAt) ? round.queuedAt : Math.min(readyAt, round.queuedAt),
                at: this.deps.now(),
              });
              first = false;
            } else {
              await this.deps.pods.delete(wf.metadata.namespace, action.podName);
              log.info({ node: action.node, pod: action.podName, reason: action.reason }, 'deleted pod');
              this.deps.observer?.podDeleted?.({ workflow: wf, node: action.node });
            }
            return { action, ok: true };
          } catch (error) {
            return { action, ok: false, error };
          }
        }),
      ),
    );
    return outcomes as ActionOutcome[];
  }

  private async createPod(key: string, wf: FlyteWorkflow, action: Extract<Action, { type: 'CreatePod' }>, now: number): Promise<void> {
    try {
      await this.deps.pods.create(action.pod);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Same name: ours from a round whose status write was lost (adopt it), or a pod of an older
      // workflow of the same name that garbage collection has not removed yet (wait for it).
      const existing = await this.deps.pods.get(wf.metadata.namespace, action.pod.metadata.name);
      if (existing && !ownedBy(existing, wf)) throw new PodNameTakenError(action.pod.metadata.name);
    }
    this.expectations.expect(key, action.pod, now);
    this.deps.log.debug({ workflow: key, node: action.node, attempt: action.attempt, pod: action.pod.metadata.name }, 'created pod');
  }

  /**
   * Folds the outcome of the actions into the planned status. A pod that could not be created leaves its
   * node as it was before this round (so the next round tries again), unless the API server rejected the
   * pod itself, which no retry can fix.
   */
  private settle(wf: FlyteWorkflow, result: PlanResult, outcomes: ActionOutcome[], log: Logger): { status: WorkflowStatus; retry: boolean } {
    let retry = false;
    let nodes = result.status.nodes;
    for (const outcome of outcomes) {
      if (outcome.ok) continue;
      const { action, error } = outcome;
      const node = action.node;
      log.warn({ node, action: action.type, err: errorMessage(error) }, 'action failed');
      if (action.type === 'DeletePod' || node === undefined) {
        retry = true;
        continue;
      }
      nodes = { ...nodes };
      const before: NodeStatus = wf.status?.nodes?.[node] ?? { phase: 'Pending' };
      if ((isInvalid(error) || isTooLarge(error)) && error instanceof KubeApiError) {
        const message = `the API server rejected the pod: ${error.serverMessage}`;
        nodes[node] = { ...nodes[node]!, phase: 'Failed', finishedAt: new Date(this.deps.now()).toISOString(), message, error: { kind: 'Permanent', code: 'PodRejected', message, node } };
      } else {
        const why = isQuotaExceeded(error) ? 'waiting for resource quota' : 'could not create pod';
        nodes[node] = { ...before, message: `${why}: ${error instanceof KubeApiError ? error.serverMessage : errorMessage(error)}` };
        retry = true;
      }
    }
    return { status: nodes === result.status.nodes ? result.status : { ...result.status, nodes }, retry };
  }

  /**
   * Writes the status as one patch. Its size is tracked as an upper bound (the last exact size plus
   * every byte patched since) and measured exactly only when that bound nears the budget or the workflow
   * finishes, so a 5,000-node status is not serialized whole on every round.
   */
  private async writeStatus(key: string, wf: FlyteWorkflow, next: WorkflowStatus, log: Logger): Promise<FlyteWorkflow | 'conflict' | undefined> {
    const budget = this.deps.maxObjectBytes - this.baseBytes(wf);
    let status = next;
    let ops = statusPatch(wf.status, status, wf.metadata.resourceVersion);
    if (!ops) return undefined;
    let body = JSON.stringify(ops);
    const known = this.statusSize.get(key);
    let bytes = (known?.resourceVersion === wf.metadata.resourceVersion ? known.bytes : statusBytes(wf.status ?? {})) + body.length;
    const finishing = status.phase !== undefined && TERMINAL_WORKFLOW_PHASES.has(status.phase);
    let exact = false;
    if (bytes > budget || finishing) {
      bytes = statusBytes(status);
      exact = true;
    }
    if (bytes > budget) {
      const compiled = this.compile(wf);
      if (compiled.ok) status = compactStatus(status, compiled.workflow, budget, statusBytes);
      bytes = statusBytes(status);
      if (bytes > budget) {
        log.error({ bytes, budget }, 'the status does not fit even compacted; failing the workflow');
        status = oversizedFailure(status, bytes, budget, this.deps.now());
        bytes = statusBytes(status);
      } else if (status !== next) {
        log.info({ bytes, budget }, 'compacted the status to fit the object size limit');
      }
      ops = statusPatch(wf.status, status, wf.metadata.resourceVersion)!;
      body = JSON.stringify(ops);
    }
    return this.patchStatus(key, wf, status, body, exact ? bytes : undefined, bytes, log);
  }

  private async patchStatus(
    key: string,
    wf: FlyteWorkflow,
    status: WorkflowStatus,
    body: string,
    exactBytes: number | undefined,
    boundBytes: number,
    log: Logger,
  ): Promise<FlyteWorkflow | 'conflict' | undefined> {
    try {
      const updated = await this.deps.store.patchStatus(wf.metadata.namespace, wf.metadata.name, body);
      this.statusSize.set(key, { resourceVersion: updated.metadata.resourceVersion, bytes: boundBytes });
      this.deps.observer?.statusWritten?.({ workflow: wf, prev: wf.status, next: status, bytes: exactBytes });
      return this.freshest.remember(key, wf, updated);
    } catch (err) {
      this.statusSize.delete(key);
      if (isWriteConflict(err)) return 'conflict';
      if (isNotFound(err)) return undefined;
      if (isTooLarge(err) && status.error?.code !== 'StatusTooLarge') {
        // Our estimate missed (large metadata, say): fail with a status that surely fits, once.
        log.error({ err: errorMessage(err) }, 'the API server refused the status as too large; failing the workflow');
        const small = oversizedFailure(status, boundBytes, this.deps.maxObjectBytes - this.baseBytes(wf), this.deps.now());
        const smallBytes = statusBytes(small);
        return this.patchStatus(key, wf, small, JSON.stringify(statusPatch(wf.status, small, wf.metadata.resourceVersion)), smallBytes, smallBytes, log);
      }
      throw err;
    }
  }

  /** Bytes of everything but the status, counted once per generation, plus room for metadata changes. */
  private baseBytes(wf: FlyteWorkflow): number {
    const memo = this.baseSize.get(wf.metadata.uid);
    if (memo && memo.generation === wf.metadata.generation) return memo.bytes;
    const bytes = Buffer.byteLength(JSON.stringify({ ...wf, status: undefined })) + 8192;
    this.baseSize.set(wf.metadata.uid, { generation: wf.metadata.generation, bytes });
    return bytes;
  }
}

const statusBytes = (status: WorkflowStatus): number => Buffer.byteLength(JSON.stringify(status));

/** A write refused because what it tested changed: a 409 on a resourceVersion, or a failed JSON Patch test. */
const isWriteConflict = (err: unknown): boolean => isConflict(err) || isPatchTestFailed(err);

/** Conflicts retried at once before the per-key backoff takes over. */
const MAX_IMMEDIATE_CONFLICT_RETRIES = 5;

export class PodNameTakenError extends Error {
  constructor(pod: string) {
    super(`pod ${pod} exists but belongs to another workflow (an earlier one of the same name); waiting for it to be garbage-collected`);
  }
}

function ownedBy(pod: Pod, wf: FlyteWorkflow): boolean {
  return pod.metadata.ownerReferences?.some((r) => r.controller && r.uid === wf.metadata.uid) ?? false;
}

function isAlive(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/** A status that fits: the node details are dropped and the workflow fails, saying why. */
function oversizedFailure(status: WorkflowStatus, bytes: number, limit: number, now: number): WorkflowStatus {
  const message = `the workflow status would take ${bytes} bytes even compacted, over the ${limit} bytes left by the object size limit (workflow.maxObjectBytes); use fewer nodes or smaller outputs`;
  const nodes = Object.fromEntries(Object.entries(status.nodes ?? {}).map(([id, n]) => [id, { phase: n.phase, attempts: n.attempts } as NodeStatus]));
  return { ...status, outputs: undefined, nodes, phase: 'Failed', message, finishedAt: new Date(now).toISOString(), error: { kind: 'Permanent', code: 'StatusTooLarge', message } };
}

/**
 * Bounds the work of recordLaunched at exit: one request each, so at the default 100 QPS (burst 200)
 * about 3 s of writes at worst. A burst of 500 new workflows stays under it.
 */
const MAX_LAUNCHED_AHEAD = 512;

/** A record-only round's status: nodes whose pods it did not create stay as they were. */
function unstarted(wf: FlyteWorkflow, status: WorkflowStatus, skipped: Action[]): WorkflowStatus {
  const creates = skipped.filter((a) => a.type === 'CreatePod');
  if (!creates.length) return status;
  const nodes = { ...status.nodes };
  for (const action of creates) nodes[action.node] = wf.status?.nodes?.[action.node] ?? { phase: 'Pending' };
  return { ...status, nodes };
}

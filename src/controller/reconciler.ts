import PQueue from 'p-queue';
import { API_VERSION, KIND, TERMINAL_WORKFLOW_PHASES, type FlyteWorkflow, type NodeStatus, type WorkflowStatus } from '../api/flyteworkflow.ts';
import type { CacheEntryObject } from '../api/cache-entry.ts';
import { FINALIZER } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import type { ActionOutcome, CacheEntryView, ChildView } from '../core/actions.ts';
import { compactStatus } from '../core/compact.ts';
import { compileWorkflow, type CompileResult } from '../core/compile.ts';
import { findNode } from '../core/find-node.ts';
import { effectiveSpec, launchPlanNames, resolveExecution, type References, type Resolution } from '../core/resolve.ts';
import type { LaunchPlanInterface } from '../core/compiled.ts';
import { definitionObjectName, type DefinitionObject } from '../api/definition.ts';
import type { LaunchPlanObject } from '../api/launch-plan.ts';
import { plan, type Action, type PlanConfig, type PlanResult } from '../core/plan.ts';
import type { TaskPlugin } from '../core/task-plugin.ts';
import { Codes } from '../error-codes.ts';
import { errorMessage } from '../errors.ts';
import type { CacheGateway } from '../k8s/cache-gateway.ts';
import { isConflict, isNotFound, isPatchTestFailed, isTooLarge } from '../k8s/errors.ts';
import type { EventRecorder } from '../k8s/event-recorder.ts';
import type { PodGateway } from '../k8s/pod-gateway.ts';
import type { WorkflowStore } from '../k8s/workflow-store.ts';
import type { Logger } from '../observability/logger.ts';
import { CacheOverlay } from './cache-overlay.ts';
import { onlyCosmeticChanges } from './cosmetic.ts';
import { execute, ownedBy, type ChildGateway } from './executors.ts';
import { Expectations } from './expectations.ts';
import { FreshestCopy } from './freshest-copy.ts';
import { launchPlanInterfaces } from './launch-plan-interfaces.ts';
import type { ReconcileResult, RoundContext } from './keyed-controller.ts';
import { statusPatch, type JsonPatchOp } from './status-patch.ts';

export interface ReconcilerDeps {
  /** The informer cache of workflows, by namespace/name. */
  workflows: { get(key: string): FlyteWorkflow | undefined };
  /** The informer cache of pods, by owning workflow uid. */
  podsOf(workflowUid: string): Pod[];
  /** Definitions and launch plans by namespace and object name: the informer's copy, else a live read. */
  references: {
    definition(namespace: string, name: string): Promise<DefinitionObject | undefined>;
    launchPlan(namespace: string, name: string): Promise<LaunchPlanObject | undefined>;
  };
  /** The project and domain labels of a namespace's executions (Project namespaces), if known. */
  tenancyOf?(namespace: string): Record<string, string>;
  /** Child executions (of launch-plan nodes) owned by a workflow, by its uid. */
  childrenOf(workflowUid: string): FlyteWorkflow[];
  children: ChildGateway;
  /** The informer cache of cache entries of a namespace, by name. */
  cacheEntriesOf(namespace: string): ReadonlyMap<string, CacheEntryObject>;
  store: WorkflowStore;
  pods: PodGateway;
  cache: CacheGateway;
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

export type { ReconcileResult, RoundContext } from './keyed-controller.ts';

/** One round for one workflow: read caches, plan, act idempotently, write status once. */
export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly expectations = new Expectations();
  private readonly freshest = new FreshestCopy();
  private readonly compiled = new Map<string, { generation: number | undefined; result: CompileResult }>();
  /** Executions by reference: what each resolved to (until the status holds it), or why it cannot. */
  private readonly resolutions = new Map<string, Resolution>();
  /** Launch-plan interfaces of executions whose status does not hold them yet. */
  private readonly launchPlanInterfaces = new Map<string, Record<string, LaunchPlanInterface>>();
  /** Child executions this process created that the cache may not show yet, by workflow key. */
  private readonly createdChildren = new Map<string, Map<string, number>>();
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
  private readonly launched = new Map<string, { status: WorkflowStatus; events: PlanResult['events'] }>();
  /** Cache entries our executors wrote or read, until the cache informer shows them. */
  private readonly cacheOverlay = new CacheOverlay();
  /** Cache entries each workflow waits on (serialized caching), and the reverse, to wake waiters. */
  private readonly cacheWaits = new Map<string, string[]>();
  private readonly cacheWaiters = new Map<string, Set<string>>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  /** The pod cache saw one of a workflow's pods deleted. */
  podGone(key: string, podName: string): void {
    this.expectations.deleted(key, podName);
  }

  /** The cache informer saw an entry deleted (invalidated by a user, or expired): forget our copy of it. */
  cacheEntryGone(namespace: string, name: string): void {
    this.cacheOverlay.forget(namespace, name);
  }

  /** Workflows waiting for a cache entry (namespace/name) to be written or released. */
  waitersOf(entryKey: string): string[] {
    return [...(this.cacheWaiters.get(entryKey) ?? [])];
  }

  /** Drops what is remembered about a workflow that no longer exists. */
  forget(key: string, uid?: string): void {
    this.setCacheWaits(key, []);
    this.expectations.forget(key);
    this.freshest.forget(key);
    this.cosmeticSince.delete(key);
    this.launched.delete(key);
    this.statusSize.delete(key);
    this.conflicts.delete(key);
    this.createdChildren.delete(key);
    if (uid) {
      this.compiled.delete(uid);
      this.resolutions.delete(uid);
      this.launchPlanInterfaces.delete(uid);
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
        // The same write labels the execution with its project and domain, from its namespace's labels.
        const tenancy = Object.fromEntries(Object.entries(this.deps.tenancyOf?.(namespace) ?? {}).filter(([k]) => wf!.metadata.labels?.[k] === undefined));
        wf = this.freshest.remember(key, wf, await this.deps.store.setFinalizers(namespace, name, finalizers, [...finalizers, FINALIZER], { existing: wf.metadata.labels, add: tenancy }));
      } catch (err) {
        if (isNotFound(err)) return {};
        if (isWriteConflict(err)) return this.conflicted(key, wf, log);
        throw err;
      }
    }

    const launched = wf.status?.phase === undefined ? this.launched.get(key) : undefined;
    // What plan goes on from: the stored status, or the one a launching round could not write yet.
    const base = await this.resolve(launched ? { ...wf, status: launched.status } : wf);
    const round1 = this.plan(base, await this.observedPods(key, base, cachedPods, now), now);
    const result = await this.act(key, base, round1, now, round, log);
    const status = result.status;
    const retry = result.retry === true;
    this.setCacheWaits(key, result.waitingFor ?? []);

    let deferMs: number | undefined;
    const patch = statusPatch(wf.status, status, wf.metadata.resourceVersion);
    const unchanged = patch === undefined;
    if (!unchanged && onlyCosmeticChanges(wf.status, status)) {
      const since = this.cosmeticSince.get(key) ?? now;
      this.cosmeticSince.set(key, since);
      deferMs = since + this.deps.cosmeticWriteDelayMs - now;
    }
    let events = launched ? [...launched.events, ...result.events] : result.events;
    if (unchanged) {
      this.launched.delete(key);
      this.cosmeticSince.delete(key);
    } else if (deferMs === undefined || deferMs <= 0) {
      const before = wf.status;
      const written = await this.writeStatus(key, wf, status, patch, log);
      if (written === 'conflict') return this.conflicted(key, wf, log);
      this.launched.delete(key);
      // Only once written: a write that failed must not start a new deferral, whose requeue would reset the
      // key's backoff (an API server outage would then be retried every cosmeticWriteDelayMs, not backed off).
      this.cosmeticSince.delete(key);
      wf = written ?? wf;
      deferMs = undefined;
      if (wf.status?.error?.code === Codes.StatusTooLarge && before?.error?.code !== Codes.StatusTooLarge) {
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
    if (finished && (wf.metadata.finalizers ?? []).includes(FINALIZER) && !result.actions.some((a) => a.type === 'CreatePod' || a.type === 'DeletePod')) {
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
  private async launchFirstPods(key: string, cachedWf: FlyteWorkflow, cached: Pod[], now: number, round: RoundContext, log: Logger): Promise<ReconcileResult | undefined> {
    const wf = await this.resolve(cachedWf);
    const pods = await this.observedPods(key, wf, cached, now);
    if (pods.length) return undefined;
    const planned = this.plan(wf, pods, now);
    if (!planned.actions.length || planned.actions.some((a) => a.type !== 'CreatePod')) return undefined;
    const result = await this.act(key, wf, planned, now, round, log);
    this.launched.set(key, { status: result.status, events: result.events });
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

  private plan(wf: FlyteWorkflow, pods: Pod[], now: number, outcomes?: ActionOutcome[]): PlanResult {
    return plan({
      workflow: { ...wf.metadata, spec: effectiveSpec(wf.spec, wf.status?.resolved), status: wf.status },
      pods,
      now,
      config: this.deps.planConfig,
      plugins: this.deps.plugins,
      compiled: this.compile(wf),
      cache: this.cacheOf(wf.metadata.namespace),
      children: this.childrenOf(wf),
      ...(outcomes?.length ? { outcomes } : {}),
    });
  }

  /**
   * Performs what a plan asked for, then, if anything did not happen, plans again from the planned status
   * with those outcomes: the core settles them (a refused pod fails its attempt through the retry and
   * failure-policy rules, a pod that could not be created leaves its node as it was) and may ask to stop
   * what runs. A record-only round performs nothing: every action counts as not run.
   */
  private async act(key: string, wf: FlyteWorkflow, planned: PlanResult, now: number, round: RoundContext, log: Logger): Promise<PlanResult> {
    const outcomes = round.recordOnly
      ? planned.actions.map((action): ActionOutcome => ({ action, ok: false, failure: { kind: 'NotRun', message: 'shutting down' } }))
      : await this.execute(key, wf, planned.actions, now, round, log);
    const failed = outcomes.filter((o) => !o.ok);
    if (!failed.length) return planned;
    for (const o of failed) if (!o.ok && o.failure.kind !== 'NotRun') log.warn({ node: o.action.node, action: o.action.type, err: o.failure.message }, 'action failed');
    const pods = await this.observedPods(key, wf, this.deps.podsOf(wf.metadata.uid), now);
    const settled = this.plan({ ...wf, status: planned.status }, pods, now, failed);
    const more = round.recordOnly ? [] : await this.execute(key, wf, settled.actions, now, round, log);
    return {
      ...settled,
      actions: [...planned.actions, ...settled.actions],
      events: [...planned.events, ...settled.events],
      retry: settled.retry || more.some((o) => !o.ok),
    };
  }

  /** The namespace's cache entries as plan should see them: the informer's, and what our executors saw since. */
  private cacheOf(namespace: string): ReadonlyMap<string, CacheEntryView> {
    return this.cacheOverlay.merge(namespace, this.deps.cacheEntriesOf(namespace), this.deps.now());
  }

  private setCacheWaits(key: string, names: string[]): void {
    const namespace = key.slice(0, key.indexOf('/'));
    for (const name of this.cacheWaits.get(key) ?? []) {
      const waiters = this.cacheWaiters.get(`${namespace}/${name}`);
      waiters?.delete(key);
      if (waiters?.size === 0) this.cacheWaiters.delete(`${namespace}/${name}`);
    }
    if (!names.length) {
      this.cacheWaits.delete(key);
      return;
    }
    this.cacheWaits.set(key, names);
    for (const name of names) {
      const entryKey = `${namespace}/${name}`;
      (this.cacheWaiters.get(entryKey) ?? this.cacheWaiters.set(entryKey, new Set()).get(entryKey)!).add(key);
    }
  }

  private compile(wf: FlyteWorkflow): CompileResult {
    const memo = this.compiled.get(wf.metadata.uid);
    if (memo && memo.generation === wf.metadata.generation) return memo.result;
    const resolution = this.resolutions.get(wf.metadata.uid);
    const resolved = wf.status?.resolved;
    let result: CompileResult;
    if (resolution && !resolution.ok) result = resolution;
    else {
      result = compileWorkflow(effectiveSpec(wf.spec, resolved), {
        maxNodes: this.deps.planConfig.maxNodes,
        maxDepth: this.deps.planConfig.maxDepth,
        launchPlans: new Map(Object.entries(wf.status?.launchPlans ?? {})),
      });
      // Errors in the definition say so; errors in the execution's own inputs stay as they are.
      if (!result.ok && resolved?.definition) {
        const where = `workflow definition ${JSON.stringify(resolved.definition)}`;
        result = { ok: false, errors: result.errors.map((e) => (e.startsWith('workflow: inputs') ? e : `${where}: ${e}`)) };
      }
    }
    this.compiled.set(wf.metadata.uid, { generation: wf.metadata.generation, result });
    return result;
  }

  /**
   * An execution by reference, resolved once: what it runs is copied into its status (status.resolved)
   * with its first write, so deleting or adding versions later never changes it. A missing reference
   * makes the compile step fail it, naming what is missing.
   */
  private async resolve(cached: FlyteWorkflow): Promise<FlyteWorkflow> {
    const wf = await this.resolveReference(cached);
    return this.resolveLaunchPlans(wf);
  }

  /**
   * The interface of each launch plan a node runs, fixed with the first write (status.launchPlans) like
   * status.resolved: the launch plan and its definition as they were when the execution started.
   */
  private async resolveLaunchPlans(wf: FlyteWorkflow): Promise<FlyteWorkflow> {
    if (wf.status?.launchPlans) return wf;
    const uid = wf.metadata.uid;
    let found = this.launchPlanInterfaces.get(uid);
    if (!found) {
      const names = launchPlanNames(effectiveSpec(wf.spec, wf.status?.resolved));
      if (!names.length) return wf;
      found = await launchPlanInterfaces(this.deps.references, wf.metadata.namespace, names, { maxNodes: this.deps.planConfig.maxNodes, maxDepth: this.deps.planConfig.maxDepth });
      this.launchPlanInterfaces.set(uid, found);
      this.compiled.delete(uid);
    }
    return { ...wf, status: { ...wf.status, launchPlans: found } };
  }

  /** Child executions as plan sees them: the cache, plus those this process just created. */
  private childrenOf(wf: FlyteWorkflow): ReadonlyMap<string, ChildView> {
    const key = `${wf.metadata.namespace}/${wf.metadata.name}`;
    const children = new Map<string, ChildView>();
    for (const child of this.deps.childrenOf(wf.metadata.uid)) {
      const s = child.status;
      children.set(child.metadata.name, {
        name: child.metadata.name,
        uid: child.metadata.uid,
        ...(s?.phase ? { phase: s.phase } : {}),
        ...(s?.outputs ? { outputs: s.outputs } : {}),
        ...(s?.error ? { error: s.error } : {}),
        ...(s?.message ? { message: s.message } : {}),
      });
    }
    const created = this.createdChildren.get(key);
    for (const [name, at] of created ?? []) {
      if (children.has(name) || this.deps.now() - at > 60_000) created!.delete(name);
      else children.set(name, { name });
    }
    return children;
  }

  private async resolveReference(wf: FlyteWorkflow): Promise<FlyteWorkflow> {
    if (wf.status?.resolved) return wf;
    const uid = wf.metadata.uid;
    let resolution = this.resolutions.get(uid);
    if (!resolution) {
      resolution = resolveExecution(wf.spec, await this.referencesOf(wf));
      if (resolution.ok && !resolution.resolved) return wf;
      this.resolutions.set(uid, resolution);
      this.compiled.delete(uid);
    }
    return resolution.ok && resolution.resolved ? { ...wf, status: { ...wf.status, resolved: resolution.resolved } } : wf;
  }

  /** The definition and launch plan an execution names, read from the caches (or live, if the cache lags). */
  private async referencesOf(wf: FlyteWorkflow): Promise<References> {
    const namespace = wf.metadata.namespace;
    const spec = (wf.spec ?? {}) as { launchPlan?: unknown; definition?: { name?: unknown; version?: unknown } };
    const lpName = typeof spec.launchPlan === 'string' ? spec.launchPlan : undefined;
    const lp = lpName ? await this.deps.references.launchPlan(namespace, lpName) : undefined;
    const ref = lp ? lp.spec.workflow : spec.definition;
    const named = typeof ref?.name === 'string' && typeof ref.version === 'string' ? { name: ref.name, version: ref.version } : undefined;
    const def = named ? await this.deps.references.definition(namespace, definitionObjectName(named.name, named.version)) : undefined;
    return {
      definition: (name, version) => (def && def.spec.name === name && def.spec.version === version ? def.spec : undefined),
      launchPlan: (name) => (name === lpName ? lp?.spec : undefined),
    };
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
    const ctx = {
      workflow: wf,
      pods: this.deps.pods,
      cache: this.deps.cache,
      created: (pod: Pod, node: string, attempt: number) => {
        this.expectations.expect(key, pod, now);
        // The reliability suite reads these lines: every pod created must show up in a status.
        log.debug({ node, attempt, pod: pod.metadata.name }, 'created pod');
      },
      observed: (entry: CacheEntryObject) => this.cacheOverlay.remember(entry, this.deps.now()),
      children: this.deps.children,
      createdChild: (name: string) => {
        const created = this.createdChildren.get(key) ?? this.createdChildren.set(key, new Map()).get(key)!;
        created.set(name, this.deps.now());
      },
      log,
    };
    const outcomes = await Promise.all(
      actions.map((action) =>
        queue.add(async (): Promise<ActionOutcome> => {
          const outcome = await execute(ctx, action);
          if (!outcome.ok) return outcome;
          if (action.type === 'CreatePod') {
            const readyAt = Date.parse(wf.status?.nodes?.[action.node]?.readyAt ?? '');
            this.deps.observer?.podCreated?.({
              workflow: wf,
              node: action.node,
              attempt: action.attempt,
              first,
              dependent: compiled.ok && (findNode(compiled.workflow, action.node)?.upstream.length ?? 0) > 0,
              readySince: Number.isNaN(readyAt) ? round.queuedAt : Math.min(readyAt, round.queuedAt),
              at: this.deps.now(),
            });
            first = false;
          } else if (action.type === 'DeletePod') {
            this.deps.observer?.podDeleted?.({ workflow: wf, node: action.node });
          }
          return outcome;
        }),
      ),
    );
    return outcomes as ActionOutcome[];
  }

  /**
   * Writes the status as one patch. Its size is tracked as an upper bound (the last exact size plus
   * every byte patched since) and measured exactly only when that bound nears the budget or the workflow
   * finishes, so a 5,000-node status is not serialized whole on every round.
   */
  private async writeStatus(key: string, wf: FlyteWorkflow, next: WorkflowStatus, patch: JsonPatchOp[] | undefined, log: Logger): Promise<FlyteWorkflow | 'conflict' | undefined> {
    const budget = this.deps.maxObjectBytes - this.baseBytes(wf);
    let status = next;
    let ops = patch;
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

function isAlive(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/** A status that fits: the node details are dropped and the workflow fails, saying why. */
function oversizedFailure(status: WorkflowStatus, bytes: number, limit: number, now: number): WorkflowStatus {
  const message = `the workflow status would take ${bytes} bytes even compacted, over the ${limit} bytes left by the object size limit (workflow.maxObjectBytes); use fewer nodes or smaller outputs`;
  const nodes = Object.fromEntries(Object.entries(status.nodes ?? {}).map(([id, n]) => [id, { phase: n.phase, attempts: n.attempts } as NodeStatus]));
  return { ...status, outputs: undefined, nodes, phase: 'Failed', message, finishedAt: new Date(now).toISOString(), error: { kind: 'Permanent', code: Codes.StatusTooLarge, message } };
}

/**
 * Bounds the work of recordLaunched at exit: one request each, so at the default 100 QPS (burst 200)
 * about 3 s of writes at worst. A burst of 500 new workflows stays under it.
 */
const MAX_LAUNCHED_AHEAD = 512;

import { KIND, TERMINAL_WORKFLOW_PHASES, type FlyteWorkflow } from '../api/flyteworkflow.ts';
import { FINALIZER, LABELS, MANAGED_BY } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import type { Config } from '../config/schema.ts';
import type { TaskPlugin } from '../core/task-plugin.ts';
import { errorMessage } from '../errors.ts';
import { EventRecorder } from '../k8s/event-recorder.ts';
import { Informer, objectKey } from '../k8s/informer.ts';
import { cacheEntriesPath, podsPath, workflowsPath } from '../k8s/paths.ts';
import { CacheGateway } from '../k8s/cache-gateway.ts';
import type { CacheEntryObject } from '../api/cache-entry.ts';
import { PodGateway } from '../k8s/pod-gateway.ts';
import type { KubeClient } from '../k8s/rest.ts';
import { WorkflowStore } from '../k8s/workflow-store.ts';
import type { Logger } from '../observability/logger.ts';
import { Reconciler, type ReconcileObserver } from './reconciler.ts';
import { WorkQueue, type WorkQueueObserver } from './workqueue.ts';

export interface ControllerOptions {
  config: Config;
  client: KubeClient;
  log: Logger;
  plugins: ReadonlyMap<string, TaskPlugin>;
  now?: () => number;
  queueObserver?: WorkQueueObserver;
  reconcileObserver?: ReconcileObserver;
  onRound?: (key: string, durationMs: number, outcome: 'ok' | 'requeue' | 'retry' | 'error') => void;
  onRelist?: (informer: string, reason: 'initial' | 'expired' | 'error') => void;
  /** The propeller's own service account, which task pods may never use. */
  ownServiceAccount?: { namespace: string; name: string };
}

/**
 * Watches FlyteWorkflows and the pods they own and feeds their keys to a work queue drained by N
 * workers; a key is never reconciled by two workers at once.
 */
export class Controller {
  private readonly opts: ControllerOptions;
  private readonly workflowInformers: Informer<FlyteWorkflow>[];
  private readonly podInformers: Informer<Pod>[];
  private readonly cacheInformers: Informer<CacheEntryObject>[];
  private readonly cacheGateway: CacheGateway;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly events: EventRecorder;
  /** What last triggered a round per workflow, to skip updates that only touched status (our own writes). */
  private readonly seen = new Map<string, string>();
  /** When this process first saw each workflow, for acceptance latency. */
  private readonly firstSeen = new Map<string, number>();
  /** How long the key a worker just took had waited in the queue. */
  private readonly waited = new Map<string, number>();
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;
  /** Set by stop(): workers finish the round they have and take no other key, even one already queued. */
  private stopping = false;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    const { config, client, log } = opts;
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    this.workflowInformers = namespaces.map(
      (ns) => {
        const name = `flyteworkflows${ns ? `/${ns}` : ''}`;
        return new Informer<FlyteWorkflow>({ name, client, path: workflowsPath(ns), log, onRelist: (reason) => opts.onRelist?.(name, reason) });
      },
    );
    this.podInformers = namespaces.map(
      (ns) =>
        new Informer<Pod>({
          name: `pods${ns ? `/${ns}` : ''}`,
          client,
          path: podsPath(ns),
          labelSelector: `${LABELS.managedBy}=${MANAGED_BY}`,
          transform: slimPod,
          indexBy: ownerUid,
          log,
          onRelist: (reason) => opts.onRelist?.(`pods${ns ? `/${ns}` : ''}`, reason),
        }),
    );
    this.cacheInformers = namespaces.map((ns) => {
      const name = `cacheentries${ns ? `/${ns}` : ''}`;
      return new Informer<CacheEntryObject>({ name, client, path: cacheEntriesPath(ns), indexBy: (e) => e.metadata.namespace, log, onRelist: (reason) => opts.onRelist?.(name, reason) });
    });
    this.cacheGateway = new CacheGateway(client);
    this.queue = new WorkQueue({
      baseDelayMs: config.queue.baseDelayMs,
      maxDelayMs: config.queue.maxDelayMs,
      qps: config.queue.qps,
      burst: config.queue.burst,
      observer: {
        ...opts.queueObserver,
        started: (key, waitedMs) => {
          this.waited.set(key, waitedMs);
          opts.queueObserver?.started?.(key, waitedMs);
        },
      },
    });
    this.events = new EventRecorder(client, log);
    this.reconciler = new Reconciler({
      workflows: { get: (key) => this.workflowInformerFor(key)?.get(key) },
      podsOf: (uid) => this.podInformers.flatMap((i) => i.byIndex(uid)),
      cacheEntriesOf: (namespace) => new Map(this.cacheInformers.flatMap((i) => i.byIndex(namespace)).map((e) => [e.metadata.name, e])),
      store: new WorkflowStore(client),
      pods: new PodGateway(client),
      cache: this.cacheGateway,
      events: this.events,
      plugins: opts.plugins,
      planConfig: {
        defaultMaxParallelism: config.workflow.defaultMaxParallelism,
        maxSystemRetries: config.workflow.maxSystemRetries,
        backoffBaseMs: config.workflow.retryBackoffBaseMs,
        backoffMaxMs: config.workflow.retryBackoffMaxMs,
        imagePullGraceMs: config.workflow.imagePullGraceMs,
        maxNodes: config.workflow.maxNodes,
        maxDepth: config.workflow.maxDepth,
        ownServiceAccount: opts.ownServiceAccount,
        cache: config.cache,
      },
      maxObjectBytes: config.workflow.maxObjectBytes,
      podWriteConcurrency: config.podWriteConcurrency,
      cosmeticWriteDelayMs: config.cosmeticWriteDelayMs,
      log,
      now: opts.now ?? Date.now,
      observer: opts.reconcileObserver,
    });
    for (const informer of this.workflowInformers) informer.on((type, wf) => this.onWorkflow(type, wf));
    for (const informer of this.podInformers) informer.on((type, pod) => this.onPod(type, pod));
    for (const informer of this.cacheInformers) informer.on((type, entry) => this.onCacheEntry(type, entry));
  }

  /** Starts the caches; resolves once they are synced (the process is then ready). */
  async startInformers(): Promise<void> {
    for (const i of this.informers()) i.start();
    await Promise.all(this.informers().map((i) => i.waitForSync()));
  }

  private informers(): Pick<Informer<never>, 'start' | 'stop' | 'waitForSync' | 'hasSynced'>[] {
    return [...this.workflowInformers, ...this.podInformers, ...this.cacheInformers];
  }

  hasSynced(): boolean {
    return this.informers().every((i) => i.hasSynced());
  }

  /** Starts the workers; call once the caches are synced (and, with leader election, once leading). */
  startWorkers(): void {
    if (this.running) return;
    this.running = true;
    for (const wf of this.workflowInformers.flatMap((i) => i.list())) this.queue.add(objectKey(wf), { urgent: notAccepted(wf) });
    this.workers = Array.from({ length: this.opts.config.workers }, () => this.work());
    this.resyncTimer = setInterval(() => this.resync(), this.opts.config.resyncPeriodMs);
    this.resyncTimer.unref();
  }

  /**
   * Takes no new rounds, lets the rounds in flight finish, writes down the pods of workflows that only
   * had their first round, then stops the watches.
   */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.stopping = true;
    this.queue.shutDown();
    await Promise.all(this.workers);
    if (this.running) await this.reconciler.recordLaunched(this.opts.config.workers);
    await Promise.all(this.informers().map((i) => i.stop()));
    await this.events.flush();
  }

  queueDepth(): number {
    return this.queue.len();
  }

  firstSeenAt(key: string): number | undefined {
    return this.firstSeen.get(key);
  }

  workflows(): FlyteWorkflow[] {
    return this.workflowInformers.flatMap((i) => i.list());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.stopping) {
        // The queue still hands out keys that were ready; whoever leads next reconciles them.
        this.queue.done(key);
        return;
      }
      const started = performance.now();
      let outcome: 'ok' | 'requeue' | 'retry' | 'error' = 'ok';
      try {
        const now = (this.opts.now ?? Date.now)();
        const result = await this.reconciler.reconcile(key, { queuedAt: now - (this.waited.get(key) ?? 0) });
        if (result.retry) {
          outcome = 'retry';
          this.queue.addRateLimited(key);
        } else {
          this.queue.forget(key);
          if (result.requeueAfterMs !== undefined) {
            outcome = 'requeue';
            this.queue.addAfter(key, result.requeueAfterMs);
          }
        }
      } catch (err) {
        outcome = 'error';
        this.opts.log.error({ workflow: key, err: errorMessage(err), retries: this.queue.failures(key) }, 'round failed; retrying with backoff');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
        this.waited.delete(key);
        this.opts.onRound?.(key, performance.now() - started, outcome);
      }
    }
  }

  private onWorkflow(type: 'added' | 'updated' | 'deleted', wf: FlyteWorkflow): void {
    const key = objectKey(wf);
    if (type === 'deleted') {
      this.seen.delete(key);
      this.firstSeen.delete(key);
      this.reconciler.forget(key, wf.metadata.uid);
      return;
    }
    const m = wf.metadata;
    const signature = `${m.uid}|${m.generation}|${m.deletionTimestamp ?? ''}|${(m.finalizers ?? []).join(',')}`;
    if (type === 'updated' && this.seen.get(key) === signature) return;
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, (this.opts.now ?? Date.now)());
    this.seen.set(key, signature);
    if (this.running) this.queue.add(key, { urgent: notAccepted(wf) });
  }

  private onPod(type: 'added' | 'updated' | 'deleted', pod: Pod): void {
    const owner = pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === KIND);
    if (!owner) return;
    const key = `${pod.metadata.namespace}/${owner.name}`;
    if (type === 'deleted') this.reconciler.podGone(key, pod.metadata.name);
    if (this.running) this.queue.add(key);
  }

  private resync(): void {
    for (const wf of this.workflows()) {
      const done = wf.status?.phase !== undefined && TERMINAL_WORKFLOW_PHASES.has(wf.status.phase);
      if (!done || wf.metadata.finalizers?.includes(FINALIZER)) this.queue.add(objectKey(wf));
    }
    void this.expireCacheEntries();
  }

  /** A cache entry changed: workflows waiting for its outputs (or for its reservation to go) look again. */
  private onCacheEntry(type: 'added' | 'updated' | 'deleted', entry: CacheEntryObject): void {
    if (type === 'deleted') this.reconciler.cacheEntryGone(entry.metadata.namespace, entry.metadata.name);
    if (!this.running) return;
    for (const key of this.reconciler.waitersOf(objectKey(entry))) this.queue.add(key);
  }

  /** Deletes cache entries past their expiry that nobody holds; each delete is conditional on the version seen. */
  private async expireCacheEntries(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    for (const entry of this.cacheInformers.flatMap((i) => i.list())) {
      const expiresAt = Date.parse(entry.spec.expiresAt ?? '');
      const held = entry.spec.reservedBy && Date.parse(entry.spec.reservedBy.until) > now;
      if (Number.isNaN(expiresAt) || expiresAt > now || held) continue;
      try {
        await this.cacheGateway.delete(entry.metadata.namespace, entry.metadata.name, entry.metadata.resourceVersion);
        this.opts.log.info({ entry: objectKey(entry), expiredAt: entry.spec.expiresAt }, 'deleted expired cache entry');
      } catch (err) {
        this.opts.log.debug({ entry: objectKey(entry), err: errorMessage(err) }, 'could not delete expired cache entry');
      }
    }
  }

  private workflowInformerFor(key: string): Informer<FlyteWorkflow> | undefined {
    if (this.workflowInformers.length === 1) return this.workflowInformers[0];
    const ns = key.slice(0, key.indexOf('/'));
    return this.workflowInformers[this.opts.config.namespaces.indexOf(ns)];
  }
}

/** A workflow no round has touched yet: its first round goes ahead of progress on running ones, to keep acceptance fast under load. */
function notAccepted(wf: FlyteWorkflow): boolean {
  return wf.status?.phase === undefined;
}

function ownerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === KIND)?.uid;
}

/** Only what the controller reads: a pod's spec (with its inputs in env) can be large, and there may be thousands. */
function slimPod(pod: Pod): Pod {
  const { name, namespace, uid, resourceVersion, creationTimestamp, deletionTimestamp, labels, annotations, ownerReferences } = pod.metadata;
  return {
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp, deletionTimestamp, labels, annotations, ownerReferences },
    spec: { nodeName: pod.spec?.nodeName, containers: [] },
    status: pod.status,
  };
}

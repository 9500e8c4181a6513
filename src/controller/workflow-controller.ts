import type { CacheEntryObject } from '../api/cache-entry.ts';
import { KIND, TERMINAL_WORKFLOW_PHASES, type FlyteWorkflow } from '../api/flyteworkflow.ts';
import { FINALIZER, LABELS, MANAGED_BY } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import type { Config } from '../config/schema.ts';
import type { TaskPlugin } from '../core/task-plugin.ts';
import { errorMessage } from '../errors.ts';
import { CacheGateway } from '../k8s/cache-gateway.ts';
import { EventRecorder } from '../k8s/event-recorder.ts';
import type { Informer, KubeObject } from '../k8s/informer.ts';
import { cacheEntriesPath, definitionPath, definitionsPath, launchPlanPath, launchPlansPath, podsPath, workflowsPath } from '../k8s/paths.ts';
import { ResourceStore } from '../k8s/resource-store.ts';
import type { DefinitionObject } from '../api/definition.ts';
import type { LaunchPlanObject } from '../api/launch-plan.ts';
import { PodGateway } from '../k8s/pod-gateway.ts';
import type { KubeClient } from '../k8s/rest.ts';
import { WorkflowStore } from '../k8s/workflow-store.ts';
import { ChildWorkflowGateway } from '../k8s/child-gateway.ts';
import { controllerOwnerUid } from './owner-index.ts';
import { tenancyLabels } from '../core/project.ts';
import type { Logger } from '../observability/logger.ts';
import type { InformerFactory } from './informer-factory.ts';
import { forResource, KeyedController, keyOf, owns, watches, type KeyedControllerOptions } from './keyed-controller.ts';
import { Reconciler, type ReconcileObserver } from './reconciler.ts';
import type { WorkQueueObserver } from './workqueue.ts';

export interface WorkflowControllerOptions {
  config: Config;
  client: KubeClient;
  informers: InformerFactory;
  log: Logger;
  plugins: ReadonlyMap<string, TaskPlugin>;
  now?: () => number;
  queueObserver?: WorkQueueObserver;
  reconcileObserver?: ReconcileObserver;
  onRound?: KeyedControllerOptions['onRound'];
  /** The propeller's own service account, which task pods may never use. */
  ownServiceAccount?: { namespace: string; name: string };
  /** Labels of a namespace, when they are watched (projects on): executions get project and domain from them. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
}

/**
 * The FlyteWorkflow controller. For: FlyteWorkflows (spec, generation, deletion and finalizer changes:
 * never its own status writes). Owns: the pods of their task nodes. Watches: cache entries, for the
 * workflows waiting on one.
 */
export class WorkflowController {
  readonly name = 'flyteworkflows';
  readonly controller: KeyedController;
  private readonly opts: WorkflowControllerOptions;
  private readonly workflowInformers: Informer<FlyteWorkflow>[];
  private readonly cacheInformers: Informer<CacheEntryObject>[];
  private readonly reconciler: Reconciler;
  private readonly events: EventRecorder;
  private readonly cacheGateway: CacheGateway;
  /** What last triggered a round per workflow, to skip updates that only touched status (our own writes). */
  private readonly seen = new Map<string, string>();
  /** When this process first saw each workflow, for acceptance latency. */
  private readonly firstSeen = new Map<string, number>();

  constructor(opts: WorkflowControllerOptions) {
    this.opts = opts;
    const { config, client, log, informers } = opts;
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    const suffix = (ns: string | undefined) => (ns ? `/${ns}` : '');
    this.workflowInformers = namespaces.map((ns) => informers.get<FlyteWorkflow>({ name: `flyteworkflows${suffix(ns)}`, path: workflowsPath(ns), indexBy: controllerOwnerUid }));
    const podInformers = namespaces.map((ns) =>
      informers.get<Pod>({ name: `pods${suffix(ns)}`, path: podsPath(ns), labelSelector: `${LABELS.managedBy}=${MANAGED_BY}`, transform: slimPod, indexBy: ownerUid }),
    );
    this.cacheInformers = namespaces.map((ns) => informers.get<CacheEntryObject>({ name: `cacheentries${suffix(ns)}`, path: cacheEntriesPath(ns), indexBy: entryNamespace }));
    const definitionInformers = namespaces.map((ns) => informers.get<DefinitionObject>({ name: `workflowdefinitions${suffix(ns)}`, path: definitionsPath(ns) }));
    const launchPlanInformers = namespaces.map((ns) => informers.get<LaunchPlanObject>({ name: `launchplans${suffix(ns)}`, path: launchPlansPath(ns) }));
    const definitions = new ResourceStore<DefinitionObject>(client, definitionPath);
    const launchPlans = new ResourceStore<LaunchPlanObject>(client, launchPlanPath);
    const cachedOrLive = async <T>(informers: Informer<T & KubeObject>[], store: ResourceStore<T>, namespace: string, name: string): Promise<T | undefined> =>
      informers.map((i) => i.get(`${namespace}/${name}`)).find(Boolean) ?? (await store.get(namespace, name));
    this.cacheGateway = new CacheGateway(client);
    this.events = new EventRecorder(client, log);
    const now = opts.now ?? Date.now;
    this.reconciler = new Reconciler({
      workflows: { get: (key) => this.workflowInformerFor(key)?.get(key) },
      podsOf: (uid) => podInformers.flatMap((i) => i.byIndex(uid)),
      references: {
        definition: (namespace, name) => cachedOrLive(definitionInformers, definitions, namespace, name),
        launchPlan: (namespace, name) => cachedOrLive(launchPlanInformers, launchPlans, namespace, name),
      },
      tenancyOf: (namespace) => tenancyLabels(opts.namespaceLabels?.(namespace)),
      childrenOf: (uid) => this.workflowInformers.flatMap((i) => i.byIndex(uid)),
      children: new ChildWorkflowGateway(client),
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
      now,
      observer: opts.reconcileObserver,
    });
    this.controller = new KeyedController({
      name: 'flyteworkflows',
      keyField: 'workflow',
      workers: config.workers,
      queue: config.queue,
      log,
      now,
      queueObserver: opts.queueObserver,
      onRound: opts.onRound,
      reconcile: (key, round) => this.reconciler.reconcile(key, round),
      sources: [
        forResource(this.workflowInformers, { filter: (type, wf) => this.changed(wf) || type === 'added', urgent: notAccepted, onDelete: (wf) => this.deleted(wf) }),
        owns(podInformers, KIND, { onEvent: (type, pod, key) => type === 'deleted' && this.reconciler.podGone(key, pod.metadata.name) }),
        // Child executions of launch-plan nodes wake their parent.
        owns(this.workflowInformers, KIND),
        watches(this.cacheInformers, (type, entry) => {
          if (type === 'deleted') this.reconciler.cacheEntryGone(entry.metadata.namespace, entry.metadata.name);
          return this.reconciler.waitersOf(keyOf(entry));
        }),
      ],
      initial: () => this.workflows().map((wf) => ({ key: keyOf(wf), urgent: notAccepted(wf) })),
      resync: {
        everyMs: config.resyncPeriodMs,
        keys: () => this.workflows().filter((wf) => !finished(wf) || wf.metadata.finalizers?.includes(FINALIZER)).map(keyOf),
        also: () => void this.expireCacheEntries(),
      },
      // A graceful exit writes down the pods of workflows that only had their first round.
      afterWorkers: async () => {
        await this.reconciler.recordLaunched(config.workers);
        await this.events.flush();
      },
    });
  }

  start(): void {
    this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  queueDepth(): number {
    return this.controller.queueDepth();
  }

  firstSeenAt(key: string): number | undefined {
    return this.firstSeen.get(key);
  }

  workflows(): FlyteWorkflow[] {
    return this.workflowInformers.flatMap((i) => i.list());
  }

  /** Whether a watch event changed what a round depends on (our own status writes do not). */
  private changed(wf: FlyteWorkflow): boolean {
    const key = keyOf(wf);
    const m = wf.metadata;
    const signature = `${m.uid}|${m.generation}|${m.deletionTimestamp ?? ''}|${(m.finalizers ?? []).join(',')}`;
    if (this.seen.get(key) === signature) return false;
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, (this.opts.now ?? Date.now)());
    this.seen.set(key, signature);
    return true;
  }

  private deleted(wf: FlyteWorkflow): void {
    const key = keyOf(wf);
    this.seen.delete(key);
    this.firstSeen.delete(key);
    this.reconciler.forget(key, wf.metadata.uid);
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
        this.opts.log.info({ entry: keyOf(entry), expiredAt: entry.spec.expiresAt }, 'deleted expired cache entry');
      } catch (err) {
        this.opts.log.debug({ entry: keyOf(entry), err: errorMessage(err) }, 'could not delete expired cache entry');
      }
    }
  }

  private workflowInformerFor(key: string): Informer<FlyteWorkflow> | undefined {
    if (this.workflowInformers.length === 1) return this.workflowInformers[0];
    const ns = key.slice(0, key.indexOf('/'));
    return this.workflowInformers[this.opts.config.namespaces.indexOf(ns)];
  }
}

const finished = (wf: FlyteWorkflow): boolean => wf.status?.phase !== undefined && TERMINAL_WORKFLOW_PHASES.has(wf.status.phase);

/** A workflow no round has touched yet: its first round goes ahead of progress on running ones, to keep acceptance fast under load. */
function notAccepted(wf: FlyteWorkflow): boolean {
  return wf.status?.phase === undefined;
}

function ownerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === KIND)?.uid;
}

function entryNamespace(entry: CacheEntryObject): string {
  return entry.metadata.namespace;
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

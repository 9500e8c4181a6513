import { definitionObjectName, type DefinitionObject } from '../api/definition.ts';
import type { FlyteWorkflow } from '../api/flyteworkflow.ts';
import { LAUNCH_PLAN_KIND, type LaunchPlanObject, type LaunchPlanStatus } from '../api/launch-plan.ts';
import type { Config } from '../config/schema.ts';
import { checkLaunchPlan } from '../core/launch-plan.ts';
import { isNotFound } from '../k8s/errors.ts';
import type { EventRecorder } from '../k8s/event-recorder.ts';
import type { Informer } from '../k8s/informer.ts';
import { definitionPath, definitionsPath, launchPlanPath, launchPlansPath, workflowsPath } from '../k8s/paths.ts';
import { ResourceStore } from '../k8s/resource-store.ts';
import type { KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';
import type { InformerFactory } from './informer-factory.ts';
import { forResource, KeyedController, keyOf, owns, watches, type ReconcileResult } from './keyed-controller.ts';
import { deepEqual } from './deep-equal.ts';
import { Scheduler } from './scheduler.ts';
import { controllerOwnerUid } from './owner-index.ts';
import { launchPlanInterfaces, type ReferenceReader } from './launch-plan-interfaces.ts';
import { launchPlanNames } from '../core/resolve.ts';

const MESSAGE_LIMIT = 1024;

/**
 * Launch plans: checks each against its definition (status.valid), and runs the scheduled ones: creates
 * their executions, named after the scheduled time so a time never runs twice, applies the catch-up and
 * concurrency policies and the history limits. For: LaunchPlans. Owns: the FlyteWorkflows they start.
 * Watches: the definitions they name.
 */
export class LaunchPlanController {
  readonly name = 'launchplans';
  private readonly controller: KeyedController;
  private readonly launchPlans: Informer<LaunchPlanObject>[];
  private readonly definitions: Informer<DefinitionObject>[];
  private readonly runs: Informer<FlyteWorkflow>[];
  private readonly store: ResourceStore<LaunchPlanObject>;
  private readonly definitionStore: ResourceStore<DefinitionObject>;
  private readonly scheduler: Scheduler;
  private readonly config: Config;
  private readonly references: ReferenceReader;
  private readonly now: () => number;
  /** What our last status write returned, by key, until the cache shows it (see freshest). */
  private readonly written = new Map<string, LaunchPlanObject>();

  constructor(opts: { config: Config; client: KubeClient; informers: InformerFactory; events: EventRecorder; log: Logger; now?: () => number }) {
    const { config, client, log } = opts;
    this.config = config;
    this.now = opts.now ?? Date.now;
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    const suffix = (ns: string | undefined) => (ns ? `/${ns}` : '');
    this.launchPlans = namespaces.map((ns) => opts.informers.get<LaunchPlanObject>({ name: `launchplans${suffix(ns)}`, path: launchPlansPath(ns) }));
    this.definitions = namespaces.map((ns) => opts.informers.get<DefinitionObject>({ name: `workflowdefinitions${suffix(ns)}`, path: definitionsPath(ns) }));
    this.runs = namespaces.map((ns) => opts.informers.get<FlyteWorkflow>({ name: `flyteworkflows${suffix(ns)}`, path: workflowsPath(ns), indexBy: controllerOwnerUid }));
    this.store = new ResourceStore(client, launchPlanPath);
    this.definitionStore = new ResourceStore(client, definitionPath);
    this.scheduler = new Scheduler({ client, events: opts.events, log });
    this.references = {
      definition: async (ns, name) => this.definitions.map((i) => i.get(`${ns}/${name}`)).find(Boolean) ?? (await this.definitionStore.get(ns, name)),
      launchPlan: async (ns, name) => this.launchPlans.map((i) => i.get(`${ns}/${name}`)).find(Boolean) ?? (await this.store.get(ns, name)),
    };
    this.controller = new KeyedController({
      name: this.name,
      keyField: 'launchPlan',
      workers: 2,
      queue: config.queue,
      log,
      now: this.now,
      sources: [
        forResource(this.launchPlans),
        owns(this.runs, LAUNCH_PLAN_KIND),
        watches(this.definitions, (_type, def) => this.launchPlansOf(def)),
      ],
      initial: () => this.launchPlans.flatMap((i) => i.list()).map((lp) => ({ key: keyOf(lp) })),
      resync: { everyMs: config.resyncPeriodMs, keys: () => this.launchPlans.flatMap((i) => i.list()).map(keyOf) },
      reconcile: (key) => this.reconcile(key),
      afterWorkers: () => opts.events.flush(),
    });
  }

  start(): void {
    this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    const cached = this.launchPlans.map((i) => i.get(key)).find(Boolean);
    if (!cached) {
      this.written.delete(key);
      return {};
    }
    const lp = this.freshest(key, cached);
    const { namespace } = lp.metadata;
    const defName = definitionObjectName(lp.spec.workflow.name, lp.spec.workflow.version);
    const def = this.definitions.map((i) => i.get(`${namespace}/${defName}`)).find(Boolean) ?? (await this.definitionStore.get(namespace, defName));
    const limits = { maxNodes: this.config.workflow.maxNodes, maxDepth: this.config.workflow.maxDepth };
    // The launch plans its definition's own nodes run (a launch plan never reaches itself).
    const nested = def ? await launchPlanInterfaces(this.references, namespace, launchPlanNames(def.spec.workflow), limits, [lp.metadata.name]) : {};
    const check = checkLaunchPlan(lp.spec, def?.spec, { ...limits, launchPlans: new Map(Object.entries(nested)) });
    let status: LaunchPlanStatus = { ...lp.status, observedGeneration: lp.metadata.generation };
    let requeueAfterMs: number | undefined;
    if (!check.valid) {
      const first = `invalid: ${check.errors[0]}${check.errors.length > 1 ? ` (and ${check.errors.length - 1} more)` : ''}`;
      status = { ...status, valid: false, message: first.length > MESSAGE_LIMIT ? `${first.slice(0, MESSAGE_LIMIT - 1)}…` : first, errors: check.errors.slice(0, 20), nextScheduledTime: undefined };
    } else {
      status = { ...status, valid: true, errors: undefined, message: lp.spec.schedule ? (lp.spec.active === false ? 'valid; inactive: no scheduled runs' : 'valid; scheduled') : 'valid' };
      if (lp.spec.schedule) {
        const runs = this.runsOf(lp);
        const scheduled = await this.scheduler.tick(lp, runs, this.now());
        status = { ...status, ...scheduled.status };
        requeueAfterMs = scheduled.requeueAfterMs;
      }
    }
    if (!deepEqual(withoutUndefined(status), withoutUndefined(lp.status ?? {}))) {
      try {
        this.written.set(key, await this.store.patchStatus(namespace, lp.metadata.name, { ...status, ...nullsFor(lp.status, status) }));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  /**
   * The cached launch plan, or the one our last status write returned while the cache has not caught up
   * with it (its watch event comes after the write's response). A round planned from the older status
   * would decide the same scheduled times again, right after the round that started them: their skipped
   * times recorded twice, Replace aborting the run just started, Forbid skipping the time that run is for.
   * resourceVersions are increasing integers in etcd, used only as a freshness hint, as in FreshestCopy.
   */
  private freshest(key: string, cached: LaunchPlanObject): LaunchPlanObject {
    const written = this.written.get(key);
    if (written && written.metadata.uid === cached.metadata.uid && Number(written.metadata.resourceVersion) > Number(cached.metadata.resourceVersion)) return written;
    this.written.delete(key);
    return cached;
  }

  /** The executions a launch plan started (owned by it). */
  private runsOf(lp: LaunchPlanObject): FlyteWorkflow[] {
    return this.runs.flatMap((i) => i.byIndex(lp.metadata.uid));
  }

  private launchPlansOf(def: DefinitionObject): string[] {
    return this.launchPlans
      .flatMap((i) => i.list())
      .filter((lp) => lp.metadata.namespace === def.metadata.namespace && definitionObjectName(lp.spec.workflow.name, lp.spec.workflow.version) === def.metadata.name)
      .map(keyOf);
  }
}

function withoutUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** A merge patch removes a field only when told null. */
function nullsFor(prev: object | undefined, next: object): Record<string, null> {
  return Object.fromEntries(Object.keys(prev ?? {}).filter((k) => (next as Record<string, unknown>)[k] === undefined).map((k) => [k, null]));
}

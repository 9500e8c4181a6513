import type { FlyteWorkflow } from '../api/flyteworkflow.ts';
import { LABELS, MANAGED_BY } from '../api/labels.ts';
import type { OwnerReference } from '../api/pod.ts';
import { DeletionPolicy, PROJECT_FINALIZER, PROJECT_OBJECT_NAMES, ProjectSpec, type ProjectObject, type ProjectStatus } from '../api/project.ts';
import type { Config } from '../config/schema.ts';
import {
  belongsTo,
  namespaceName,
  planProject,
  PROJECT_LABEL,
  projectStatus,
  sameStatus,
  type Access,
  type LimitRangeObject,
  type NamespacePlan,
  type ObjectWrite,
  type ObservedNamespace,
  type ProjectPlan,
  type ResourceQuotaObject,
  type RoleBindingObject,
} from '../core/project.ts';
import { errorMessage } from '../errors.ts';
import { isConflict, isNotFound, isPatchTestFailed, KubeApiError } from '../k8s/errors.ts';
import type { Informer } from '../k8s/informer.ts';
import { namespacedPath, namespacesPath, projectsPath, workflowsPath } from '../k8s/paths.ts';
import { ProjectGateway } from '../k8s/project-gateway.ts';
import type { KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';
import type { InformerFactory, InformerSpec } from './informer-factory.ts';
import { controllerOwnerUid } from './owner-index.ts';
import { forResource, KeyedController, keyOf, watches, type ReconcileResult } from './keyed-controller.ts';

export interface ProjectControllerOptions {
  config: Config;
  client: KubeClient;
  informers: InformerFactory;
  log: Logger;
  now?: () => number;
}

/** A namespace as cached: metadata only, and only what the controller reads. */
export interface NamespaceMeta {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
}

function slimNamespace(ns: NamespaceMeta): NamespaceMeta {
  const { name, uid, resourceVersion, deletionTimestamp, labels, ownerReferences } = ns.metadata;
  return { metadata: { name, uid, resourceVersion, deletionTimestamp, labels, ownerReferences } };
}

const projectOfNamespace = (ns: NamespaceMeta): string | undefined => ns.metadata.labels?.[PROJECT_LABEL];

/**
 * Every namespace, metadata only, indexed by its project label. Exported so that another controller (the
 * workflow controller, for tenancyLabels) shares this one watch: the factory gives the same informer to
 * every caller that asks with these exact functions.
 */
export const NAMESPACE_INFORMER: InformerSpec<NamespaceMeta> = {
  name: 'namespaces',
  path: namespacesPath(),
  metadataOnly: true,
  transform: slimNamespace,
  indexBy: projectOfNamespace,
};

/** The objects the propeller keeps in domain namespaces, by their labels. */
const OWNED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY},${PROJECT_LABEL}`;
const byNamespace = (o: { metadata: { namespace?: string } }): string | undefined => o.metadata.namespace;

const projectKey = (name: string): string => `/${name}`;

/**
 * The Project controller. For: Projects (spec, generation, deletion and finalizer changes; never its own
 * status writes). Watches: namespaces (those of a project, and those of the names a project wants), the
 * quota, limits and RoleBindings it keeps in them, and FlyteWorkflows, for the namespaces of removed
 * domains that wait to be empty (deletionPolicy DeleteEmpty).
 *
 * It shares the FlyteWorkflow informer of the workflow controller (every namespace, full objects): a
 * metadata-only one would open a second watch of every workflow, whose status changes all the time, when
 * that one already holds them all. It reads the workflows only to count those of a namespace being removed.
 */
export class ProjectController {
  readonly name = 'projects';
  readonly controller: KeyedController;
  private readonly opts: ProjectControllerOptions;
  private readonly projects: Informer<ProjectObject>;
  private readonly namespaces: Informer<NamespaceMeta>;
  private readonly workflows: Informer<FlyteWorkflow>;
  private readonly quotas: Informer<ResourceQuotaObject>;
  private readonly limitRanges: Informer<LimitRangeObject>;
  private readonly roleBindings: Informer<RoleBindingObject>;
  private readonly gateway: ProjectGateway;
  /** Namespace name → the project that wants it (to wake it when a namespace of that name comes or goes). */
  private readonly wantedBy = new Map<string, string>();
  /** Namespace name → the project waiting for it to hold no workflows. */
  private readonly waitingFor = new Map<string, string>();
  /** What last triggered a round per project, to skip updates that only touched status (our own writes). */
  private readonly seen = new Map<string, string>();

  constructor(opts: ProjectControllerOptions) {
    this.opts = opts;
    const { config, informers, log } = opts;
    this.projects = informers.get<ProjectObject>({ name: 'projects', path: projectsPath() });
    this.namespaces = informers.get(NAMESPACE_INFORMER);
    // The same spec as the workflow controller's in cluster-wide mode, so the same informer.
    this.workflows = informers.get<FlyteWorkflow>({ name: 'flyteworkflows', path: workflowsPath(), indexBy: controllerOwnerUid });
    const owned = <T extends { metadata: { namespace?: string } }>(resource: 'resourcequotas' | 'limitranges' | 'rolebindings') =>
      informers.get<T & { metadata: { name: string } }>({ name: `project-${resource}`, path: namespacedPath(resource), labelSelector: OWNED_SELECTOR, indexBy: byNamespace });
    this.quotas = owned<ResourceQuotaObject>('resourcequotas') as Informer<ResourceQuotaObject>;
    this.limitRanges = owned<LimitRangeObject>('limitranges') as Informer<LimitRangeObject>;
    this.roleBindings = owned<RoleBindingObject>('rolebindings') as Informer<RoleBindingObject>;
    this.gateway = new ProjectGateway(opts.client);
    const labelled = (o: { metadata: { labels?: Record<string, string> } }) => {
      const p = o.metadata.labels?.[PROJECT_LABEL];
      return p ? [projectKey(p)] : [];
    };
    this.controller = new KeyedController({
      name: this.name,
      keyField: 'project',
      workers: 2,
      queue: config.queue,
      log,
      now: opts.now,
      reconcile: (key) => this.reconcile(key),
      sources: [
        forResource([this.projects], { filter: (type, p) => this.changed(p) || type === 'added', onDelete: (p) => this.forget(p.metadata.name) }),
        watches([this.namespaces], (_type, ns) => {
          const keys = new Set(labelled(ns));
          const wanting = this.wantedBy.get(ns.metadata.name);
          if (wanting) keys.add(projectKey(wanting));
          return keys;
        }),
        watches([this.quotas], (_type, o) => labelled(o)),
        watches([this.limitRanges], (_type, o) => labelled(o)),
        watches([this.roleBindings], (_type, o) => labelled(o)),
        watches([this.workflows], (type, wf) => {
          if (type === 'updated') return [];
          const waiting = this.waitingFor.get(wf.metadata.namespace);
          return waiting ? [projectKey(waiting)] : [];
        }),
      ],
      initial: () => this.projects.list().map((p) => ({ key: keyOf(p) })),
      resync: { everyMs: config.resyncPeriodMs, keys: () => this.projects.list().map(keyOf) },
    });
  }

  start(): void {
    this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  private changed(p: ProjectObject): boolean {
    const m = p.metadata;
    const signature = `${m.uid}|${m.generation}|${m.deletionTimestamp ?? ''}|${(m.finalizers ?? []).join(',')}`;
    if (this.seen.get(m.name) === signature) return false;
    this.seen.set(m.name, signature);
    return true;
  }

  private forget(project: string): void {
    this.seen.delete(project);
    this.forgetNamespaces(project);
  }

  private forgetNamespaces(project: string): void {
    for (const map of [this.wantedBy, this.waitingFor]) for (const [ns, p] of map) if (p === project) map.delete(ns);
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    try {
      return await this.round(key);
    } catch (err) {
      // The Project or a namespace changed since the cache saw it (a finalizer list, a resourceVersion): look again.
      if (isConflict(err) || isPatchTestFailed(err)) return { requeueAfterMs: 500 };
      throw err;
    }
  }

  private async round(key: string): Promise<ReconcileResult> {
    const project = this.projects.get(key);
    if (!project) return {};
    const name = project.metadata.name;
    const deleting = Boolean(project.metadata.deletionTimestamp);
    const finalizers = project.metadata.finalizers ?? [];
    const finalizing = finalizers.includes(PROJECT_FINALIZER);
    if (deleting && !finalizing) return {};

    const parsed = ProjectSpec.safeParse(project.spec ?? {});
    if (!parsed.success && !deleting) {
      // The CRD schema admits nothing zod refuses; this is a safety net (an old CRD, say).
      const message = parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ');
      await this.writeStatus(project, invalidStatus(project, message, this.now()));
      return {};
    }
    // Deleting, only the deletion policy matters: the safest one if even that cannot be read.
    const spec = parsed.success ? parsed.data : ProjectSpec.parse({ deletionPolicy: DeletionPolicy.safeParse(project.spec?.deletionPolicy).data ?? 'Retain' });

    if (!finalizing) {
      // Before any namespace exists: from now on deleting the Project waits for its deletion policy.
      await this.gateway.setFinalizers(name, finalizers, [...finalizers, PROJECT_FINALIZER]);
    }

    const observed = this.observe(name, spec, deleting);
    const plan = planProject({
      project: { name, uid: project.metadata.uid, deleting },
      spec,
      namespaces: observed,
      roles: { viewer: this.opts.config.projects.viewerRole, submitter: this.opts.config.projects.submitterRole, admin: this.opts.config.projects.adminRole },
    });
    this.remember(name, spec, plan);
    const { failures, applied, deferred, transient } = await this.execute(name, plan, observed, deleting);

    if (deleting && !plan.problems.length && failures.size === 0 && deferred.size === 0) {
      await this.gateway.setFinalizers(
        name,
        finalizers,
        finalizers.filter((f) => f !== PROJECT_FINALIZER),
      ).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      this.opts.log.info({ project: name }, 'project deleted: its deletion policy is applied; finalizer removed');
      return {};
    }

    // Deferred namespaces keep the state the plan gave them: the next round, moments away, settles them.
    const status = projectStatus({ plan, failures, applied, generation: project.metadata.generation, deleting, previous: project.status, now: this.now() });
    await this.writeStatus(project, status);
    if (failures.size) return { retry: true };
    if (deferred.size || transient) return { requeueAfterMs: 1000 };
    if (plan.namespaces.some((n) => n.state === 'Terminating')) return { requeueAfterMs: 5000 };
    return {};
  }

  private now(): string {
    return new Date((this.opts.now ?? Date.now)()).toISOString();
  }

  /** The namespaces of the project and of the names it wants, with what they hold. */
  private observe(project: string, spec: ProjectSpec, deleting: boolean): Map<string, ObservedNamespace> {
    const wanted = new Set(deleting ? [] : spec.domains.map((d) => namespaceName(project, d)));
    const found = new Map<string, NamespaceMeta>();
    for (const ns of this.namespaces.byIndex(project)) found.set(ns.metadata.name, ns);
    for (const name of wanted) {
      const ns = this.namespaces.get(`/${name}`);
      if (ns) found.set(name, ns);
    }
    const observed = new Map<string, ObservedNamespace>();
    for (const [name, ns] of found) {
      const labels = ns.metadata.labels ?? {};
      const removed = !wanted.has(name) && belongsTo({ name, labels }, project);
      observed.set(name, {
        name,
        labels,
        ownerReferences: ns.metadata.ownerReferences ?? [],
        resourceVersion: ns.metadata.resourceVersion,
        deleting: Boolean(ns.metadata.deletionTimestamp),
        // Counted only where it decides something: the namespaces of removed domains.
        workflows: removed ? this.workflowsIn(name) : 0,
        objects: {
          quota: this.quotas.get(`${name}/${PROJECT_OBJECT_NAMES.quota}`),
          limitRange: this.limitRanges.get(`${name}/${PROJECT_OBJECT_NAMES.limitRange}`),
          roleBindings: Object.fromEntries(
            (['viewers', 'submitters', 'admins'] as Access[]).flatMap((a) => {
              const rb = this.roleBindings.get(`${name}/${PROJECT_OBJECT_NAMES[a]}`);
              return rb ? [[a, rb]] : [];
            }),
          ),
        },
      });
    }
    return observed;
  }

  private workflowsIn(namespace: string): number {
    let n = 0;
    for (const wf of this.workflows.list()) if (wf.metadata.namespace === namespace) n++;
    return n;
  }

  private remember(project: string, spec: ProjectSpec, plan: ProjectPlan): void {
    this.forgetNamespaces(project);
    for (const d of spec.domains) this.wantedBy.set(namespaceName(project, d), project);
    for (const n of plan.namespaces) if (n.state === 'Waiting') this.waitingFor.set(n.name, project);
  }

  /** Applies the plan, namespace by namespace; one namespace failing does not stop the others. */
  private async execute(
    project: string,
    plan: ProjectPlan,
    observed: ReadonlyMap<string, ObservedNamespace>,
    deleting: boolean,
  ): Promise<{ failures: Map<string, string>; applied: Set<string>; deferred: Map<string, string>; transient: boolean }> {
    const failures = new Map<string, string>();
    const deferred = new Map<string, string>();
    const applied = new Set<string>();
    let transient = false;
    const log = this.opts.log;
    for (const ns of plan.namespaces) {
      try {
        const outcome = await this.apply(project, ns, observed.get(ns.name), deleting);
        if (outcome === 'done') applied.add(ns.name);
        else if (outcome !== 'nothing') deferred.set(ns.name, outcome);
      } catch (err) {
        if (isConflict(err) || isPatchTestFailed(err)) {
          // Someone changed it since the cache saw it: look again shortly.
          transient = true;
          log.debug({ project, namespace: ns.name, err: errorMessage(err) }, 'namespace changed under us; looking again');
          continue;
        }
        failures.set(ns.name, describe(err));
        log.warn({ project, namespace: ns.name, err: errorMessage(err) }, 'project namespace: a write failed');
      }
    }
    return { failures, applied, deferred, transient };
  }

  /** 'done' (every write made), 'nothing' (none to make), or why the namespace must be looked at again. */
  private async apply(project: string, plan: NamespacePlan, observed: ObservedNamespace | undefined, deleting: boolean): Promise<string> {
    const { action, name } = plan;
    const log = this.opts.log;
    switch (action.kind) {
      case 'none':
        return 'nothing';
      case 'create': {
        const created = await this.gateway.createNamespace(action.namespace);
        if (!created) return 'a namespace of this name appeared meanwhile; looking again';
        log.info({ project, namespace: name, domain: plan.domain }, 'created project namespace');
        await this.writeAll(action.writes);
        return 'done';
      }
      case 'update':
        if (!action.patch && !action.writes.length) return 'nothing';
        if (action.patch) await this.gateway.patchNamespace(name, metadataPatch(action.patch));
        await this.writeAll(action.writes);
        return 'done';
      case 'release':
        await this.gateway.patchNamespace(name, metadataPatch(action.patch));
        log.info({ project, namespace: name, workflows: observed?.workflows }, 'released project namespace: no longer managed');
        return 'done';
      case 'delete':
        // The cache may lag a workflow created a moment ago: ask the API server itself before deleting.
        if (action.requireEmpty && (await this.gateway.holdsWorkflows(name))) {
          return deleting ? 'holds FlyteWorkflows after all; retaining it instead' : 'holds FlyteWorkflows after all; not deleted';
        }
        await this.gateway.deleteNamespace(name, action.resourceVersion);
        log.info({ project, namespace: name, workflows: observed?.workflows }, 'deleted project namespace (deletion policy)');
        return 'done';
    }
  }

  private async writeAll(writes: readonly ObjectWrite[]): Promise<void> {
    for (const w of writes) {
      if (w.op === 'create') await this.gateway.createOrPatch(w.resource, w.namespace, w.name, w.object, w.fallback);
      else if (w.op === 'patch') await this.gateway.patch(w.resource, w.namespace, w.name, w.patch);
      else await this.gateway.delete(w.resource, w.namespace, w.name);
    }
  }

  private async writeStatus(project: ProjectObject, status: ProjectStatus): Promise<void> {
    if (sameStatus(project.status, status)) return;
    try {
      await this.gateway.patchStatus(project.metadata.name, status);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function metadataPatch(patch: { resourceVersion?: string; labels?: Record<string, string | null>; ownerReferences?: OwnerReference[] }): Record<string, unknown> {
  return {
    ...(patch.resourceVersion ? { resourceVersion: patch.resourceVersion } : {}),
    ...(patch.labels ? { labels: patch.labels } : {}),
    ...(patch.ownerReferences ? { ownerReferences: patch.ownerReferences } : {}),
  };
}

function invalidStatus(project: ProjectObject, message: string, now: string): ProjectStatus {
  const generation = project.metadata.generation;
  return {
    phase: 'Invalid',
    message,
    namespaces: project.status?.namespaces ?? [],
    conditions: [{ type: 'Ready', status: 'False', reason: 'Invalid', message, lastTransitionTime: now, ...(generation !== undefined ? { observedGeneration: generation } : {}) }],
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/** An API error as a status message: the verb, what it was about, and the server's own words. */
function describe(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.verb} ${err.path.split('/').slice(-2).join('/')}: ${err.reason || err.status}: ${err.serverMessage}`.slice(0, 1000);
  return errorMessage(err).slice(0, 1000);
}

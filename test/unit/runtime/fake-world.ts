/**
 * In-memory stand-ins for everything the Reconciler touches (the workflow store, the pod and cache
 * gateways, the event recorder and the informer caches), behaving like the API server where it matters:
 * JSON Patch with tests, AlreadyExists on a taken name, 422 for an object it refuses.
 */
import type { CacheEntryObject } from '../../../src/api/cache-entry.ts';
import type { DefinitionObject } from '../../../src/api/definition.ts';
import type { LaunchPlanObject } from '../../../src/api/launch-plan.ts';
import type { FlyteWorkflow } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import { Reconciler, type ReconcilerDeps } from '../../../src/controller/reconciler.ts';
import type { PlanConfig } from '../../../src/core/plan.ts';
import type { CacheGateway } from '../../../src/k8s/cache-gateway.ts';
import { KubeApiError } from '../../../src/k8s/errors.ts';
import type { EventRecorder, InvolvedObject, RecordedEvent } from '../../../src/k8s/event-recorder.ts';
import type { PodGateway } from '../../../src/k8s/pod-gateway.ts';
import type { WorkflowStore } from '../../../src/k8s/workflow-store.ts';
import { containerPlugin } from '../../../src/plugins/container/plugin.ts';
import { CONFIG } from '../core/sim.ts';
import { memoryLogger } from './helpers.ts';
import { applyPatch } from './json-patch.ts';


const clone = <T>(v: T): T => structuredClone(v);

const apiError = (status: number, reason: string, message: string, verb: string, path: string) => new KubeApiError({ status, reason, message, verb, path });

export class FakeWorld {
  now = Date.parse('2026-01-01T00:00:00Z');
  private rv = 100;
  /** What the API server holds. */
  readonly workflows = new Map<string, FlyteWorkflow>();
  readonly pods = new Map<string, Pod>();
  readonly cacheEntries = new Map<string, CacheEntryObject>();
  readonly definitions = new Map<string, DefinitionObject>();
  /** Project and domain labels by namespace, as the Project controller's namespaces carry them. */
  readonly namespaceLabels = new Map<string, Record<string, string>>();
  readonly launchPlans = new Map<string, LaunchPlanObject>();
  readonly events: (RecordedEvent & { name: string })[] = [];
  readonly requests: string[] = [];
  /** Pod names the API server refuses as invalid (422), with its message. */
  readonly refusePods = new Map<string, string>();
  readonly reconciler: Reconciler;
  readonly logs = memoryLogger();

  constructor(config: Partial<PlanConfig> = {}) {
    const world = this;
    const store = {
      async get(namespace: string, name: string) {
        return clone(world.workflow(`${namespace}/${name}`));
      },
      async patchStatus(namespace: string, name: string, ops: readonly unknown[] | string) {
        world.requests.push(`patch status ${name}`);
        const key = `${namespace}/${name}`;
        const parsed = typeof ops === 'string' ? JSON.parse(ops) : ops;
        const next = applyPatch(world.workflow(key), parsed);
        next.metadata.resourceVersion = String(++world.rv);
        world.workflows.set(key, next);
        return clone(next);
      },
      async setFinalizers(namespace: string, name: string, _current: readonly string[], next: readonly string[], labels?: { add: Record<string, string> }) {
        world.requests.push(`finalizers ${name}`);
        const key = `${namespace}/${name}`;
        const wf = world.workflow(key);
        wf.metadata.finalizers = [...next];
        if (labels && Object.keys(labels.add).length) wf.metadata.labels = { ...wf.metadata.labels, ...labels.add };
        wf.metadata.resourceVersion = String(++world.rv);
        return clone(wf);
      },
    } as unknown as WorkflowStore;
    const pods = {
      async create(pod: Pod) {
        world.requests.push(`create pod ${pod.metadata.name}`);
        const refused = world.refusePods.get(pod.metadata.name);
        if (refused) throw apiError(422, 'Invalid', refused, 'create', '/pods');
        if (world.pods.has(pod.metadata.name)) throw apiError(409, 'AlreadyExists', 'exists', 'create', '/pods');
        const created = { ...clone(pod), metadata: { ...clone(pod.metadata), uid: `uid-${pod.metadata.name}`, creationTimestamp: new Date(world.now).toISOString() }, status: { phase: 'Pending' } } as Pod;
        world.pods.set(pod.metadata.name, created);
        return clone(created);
      },
      async delete(_namespace: string, name: string) {
        world.requests.push(`delete pod ${name}`);
        const pod = world.pods.get(name);
        if (pod) pod.metadata.deletionTimestamp ??= new Date(world.now).toISOString();
      },
      async get(_namespace: string, name: string) {
        return clone(world.pods.get(name));
      },
    } as unknown as PodGateway;
    const events = {
      record(object: InvolvedObject, event: RecordedEvent) {
        world.events.push({ ...event, name: object.name });
      },
    } as unknown as EventRecorder;
    const deps: ReconcilerDeps = {
      workflows: { get: (key) => clone(world.workflows.get(key)) },
      podsOf: (uid) => [...world.pods.values()].filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === uid)).map(clone),
      references: {
        definition: async (_namespace, name) => clone(world.definitions.get(name)),
        launchPlan: async (_namespace, name) => clone(world.launchPlans.get(name)),
      },
      cacheEntriesOf: () => new Map(world.cacheEntries),
      tenancyOf: (namespace) => world.namespaceLabels.get(namespace) ?? {},
      childrenOf: (uid) => [...world.workflows.values()].filter((w) => (w.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences?.some((r) => r.uid === uid)).map(clone),
      children: {
        create: async (child) => void world.workflows.set(`ns/${(child['metadata'] as { name: string }).name}`, clone(child) as unknown as FlyteWorkflow),
        get: async (_ns, name) => clone(world.workflows.get(`ns/${name}`)),
        abort: async () => {},
      },
      store,
      pods,
      cache: {} as CacheGateway,
      events,
      plugins: new Map([['container', containerPlugin]]),
      planConfig: { ...CONFIG, ...config },
      maxObjectBytes: 1_400_000,
      podWriteConcurrency: 8,
      cosmeticWriteDelayMs: 1000,
      log: this.logs.log,
      now: () => world.now,
    };
    this.reconciler = new Reconciler(deps);
  }

  workflow(key: string): FlyteWorkflow {
    const wf = this.workflows.get(key);
    if (!wf) throw apiError(404, 'NotFound', 'not found', 'get', key);
    return wf;
  }

  apply(name: string, spec: unknown): string {
    const key = `ns/${name}`;
    this.workflows.set(key, { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(++this.rv), generation: 1 }, spec });
    return key;
  }

  round(key: string) {
    return this.reconciler.reconcile(key, { queuedAt: this.now });
  }

  /** The pod of a node's attempt finished with these outputs. */
  succeed(podName: string, outputs: Record<string, unknown> = {}): void {
    const pod = this.pods.get(podName);
    if (!pod) throw new Error(`no pod ${podName}`);
    pod.status = { phase: 'Succeeded', containerStatuses: [{ name: 'task', state: { terminated: { exitCode: 0, reason: 'Completed', message: JSON.stringify(outputs) } } }] };
    pod.metadata.resourceVersion = String(++this.rv);
  }
}

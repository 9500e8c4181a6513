import type { DefinitionObject, DefinitionStatus } from '../api/definition.ts';
import type { Config } from '../config/schema.ts';
import { compileWorkflow } from '../core/compile.ts';
import { Codes } from '../error-codes.ts';
import { isNotFound } from '../k8s/errors.ts';
import type { Informer, KubeObject } from '../k8s/informer.ts';
import { definitionPath, definitionsPath, launchPlanPath, launchPlansPath } from '../k8s/paths.ts';
import { ResourceStore } from '../k8s/resource-store.ts';
import type { KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';
import type { InformerFactory } from './informer-factory.ts';
import { forResource, KeyedController, keyOf, watches, type ReconcileResult } from './keyed-controller.ts';
import { launchPlanInterfaces, type ReferenceReader } from './launch-plan-interfaces.ts';
import { deepEqual } from './deep-equal.ts';
import type { LaunchPlanObject } from '../api/launch-plan.ts';
import type { LaunchPlanInterface } from '../core/compiled.ts';
import { launchPlanNames } from '../core/resolve.ts';

const MESSAGE_LIMIT = 1024;

/** Compiles each WorkflowDefinition once (per generation; they never change) and records whether it is valid. */
export class DefinitionController {
  readonly name = 'workflowdefinitions';
  private readonly controller: KeyedController;
  private readonly informers: Informer<DefinitionObject>[];
  private readonly store: ResourceStore<DefinitionObject>;
  private readonly config: Config;
  private readonly references: ReferenceReader;

  constructor(opts: { config: Config; client: KubeClient; informers: InformerFactory; log: Logger }) {
    const { config, client, log } = opts;
    this.config = config;
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    this.informers = namespaces.map((ns) => opts.informers.get<DefinitionObject>({ name: `workflowdefinitions${ns ? `/${ns}` : ''}`, path: definitionsPath(ns) }));
    this.store = new ResourceStore(client, definitionPath);
    const launchPlans = namespaces.map((ns) => opts.informers.get<LaunchPlanObject>({ name: `launchplans${ns ? `/${ns}` : ''}`, path: launchPlansPath(ns) }));
    const launchPlanStore = new ResourceStore<LaunchPlanObject>(client, launchPlanPath);
    const cachedOrLive = async <T>(informers: Informer<T & KubeObject>[], store: ResourceStore<T>, namespace: string, name: string): Promise<T | undefined> =>
      informers.map((i) => i.get(`${namespace}/${name}`)).find(Boolean) ?? (await store.get(namespace, name));
    this.references = {
      definition: (namespace, name) => cachedOrLive(this.informers, this.store, namespace, name),
      launchPlan: (namespace, name) => cachedOrLive(launchPlans, launchPlanStore, namespace, name),
    };
    const unchecked = (d: DefinitionObject) => d.status?.observedGeneration !== d.metadata.generation;
    this.controller = new KeyedController({
      name: this.name,
      keyField: 'definition',
      workers: 2,
      queue: config.queue,
      log,
      sources: [
        forResource(this.informers, { filter: (_type, d) => unchecked(d) }),
        // A definition whose nodes run a launch plan is checked again when that launch plan changes.
        watches(launchPlans, (_type, lp) =>
          this.informers
            .flatMap((i) => i.list())
            .filter((d) => d.metadata.namespace === lp.metadata.namespace && launchPlanNames(d.spec.workflow).includes(lp.metadata.name))
            .map(keyOf),
        ),
      ],
      // Unchecked ones, and those running launch plans (which may have changed while no propeller ran).
      initial: () => this.informers.flatMap((i) => i.list()).filter((d) => unchecked(d) || launchPlanNames(d.spec.workflow).length > 0).map((d) => ({ key: keyOf(d) })),
      reconcile: (key) => this.reconcile(key),
    });
  }

  start(): void {
    this.controller.start();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    const def = this.informers.map((i) => i.get(key)).find(Boolean);
    if (!def) return {};
    const limits = { maxNodes: this.config.workflow.maxNodes, maxDepth: this.config.workflow.maxDepth };
    const launchPlans = await launchPlanInterfaces(this.references, def.metadata.namespace, launchPlanNames(def.spec.workflow), limits);
    const status = checkDefinition(def, this.config, launchPlans);
    if (deepEqual(status, def.status ?? {})) return {};
    try {
      await this.store.patchStatus(def.metadata.namespace, def.metadata.name, { ...status, ...(status.valid ? { error: null } : {}) });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return {};
  }
}

/** Whether a definition compiles, with the same messages an execution of it would get. */
export function checkDefinition(def: DefinitionObject, config: Pick<Config, 'workflow'>, launchPlans: Record<string, LaunchPlanInterface> = {}): DefinitionStatus {
  const result = compileWorkflow(def.spec.workflow, { maxNodes: config.workflow.maxNodes, maxDepth: config.workflow.maxDepth, inputs: 'none', launchPlans: new Map(Object.entries(launchPlans)) });
  if (result.ok) {
    return { valid: true, message: `valid: ${result.workflow.expandedNodes} node${result.workflow.expandedNodes === 1 ? '' : 's'}`, nodes: result.workflow.expandedNodes, observedGeneration: def.metadata.generation };
  }
  const first = `invalid: ${result.errors[0]}${result.errors.length > 1 ? ` (and ${result.errors.length - 1} more: see status.error)` : ''}`;
  return {
    valid: false,
    message: first.length > MESSAGE_LIMIT ? `${first.slice(0, MESSAGE_LIMIT - 1)}…` : first,
    error: { kind: 'Permanent', code: Codes.InvalidWorkflow, message: result.errors.join('\n') },
    observedGeneration: def.metadata.generation,
  };
}

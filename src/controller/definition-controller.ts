import type { DefinitionObject, DefinitionStatus } from '../api/definition.ts';
import type { Config } from '../config/schema.ts';
import { compileWorkflow } from '../core/compile.ts';
import { Codes } from '../error-codes.ts';
import { isNotFound } from '../k8s/errors.ts';
import type { Informer } from '../k8s/informer.ts';
import { definitionPath, definitionsPath } from '../k8s/paths.ts';
import { ResourceStore } from '../k8s/resource-store.ts';
import type { KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';
import type { InformerFactory } from './informer-factory.ts';
import { forResource, KeyedController, keyOf, type ReconcileResult } from './keyed-controller.ts';

const MESSAGE_LIMIT = 1024;

/** Compiles each WorkflowDefinition once (per generation; they never change) and records whether it is valid. */
export class DefinitionController {
  readonly name = 'workflowdefinitions';
  private readonly controller: KeyedController;
  private readonly informers: Informer<DefinitionObject>[];
  private readonly store: ResourceStore<DefinitionObject>;
  private readonly config: Config;

  constructor(opts: { config: Config; client: KubeClient; informers: InformerFactory; log: Logger }) {
    const { config, client, log } = opts;
    this.config = config;
    const namespaces = config.namespaces.length ? config.namespaces : [undefined];
    this.informers = namespaces.map((ns) => opts.informers.get<DefinitionObject>({ name: `workflowdefinitions${ns ? `/${ns}` : ''}`, path: definitionsPath(ns) }));
    this.store = new ResourceStore(client, definitionPath);
    const unchecked = (d: DefinitionObject) => d.status?.observedGeneration !== d.metadata.generation;
    this.controller = new KeyedController({
      name: this.name,
      workers: 2,
      queue: config.queue,
      log,
      sources: [forResource(this.informers, { filter: (_type, d) => unchecked(d) })],
      initial: () => this.informers.flatMap((i) => i.list()).filter(unchecked).map((d) => ({ key: keyOf(d) })),
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
    if (!def || def.status?.observedGeneration === def.metadata.generation) return {};
    try {
      await this.store.patchStatus(def.metadata.namespace, def.metadata.name, checkDefinition(def, this.config));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return {};
  }
}

/** Whether a definition compiles, with the same messages an execution of it would get. */
export function checkDefinition(def: DefinitionObject, config: Pick<Config, 'workflow'>): DefinitionStatus {
  const result = compileWorkflow(def.spec.workflow, { maxNodes: config.workflow.maxNodes, maxDepth: config.workflow.maxDepth, inputs: 'none' });
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

import { CODE_MOUNT_PATH } from '../../../src/api/code.ts';
import type { NodeSpec } from '../../../src/api/flyteworkflow.ts';
import type { TaskDefinition } from '../task.ts';
import type { WorkflowDefinition, WorkflowGraph } from '../workflow.ts';
import { closureOf } from './closure.ts';

export { CODE_MOUNT_PATH };
/** The bundle's file in the code ConfigMap, and so under the mount path. */
export const BUNDLE_FILE = 'bundle.mjs';
export const DEFAULT_IMAGE = 'node:24-slim';

/** How TypeScript tasks get their code: a ConfigMap holding the bundle, or an image that has it. */
export interface CodeRef {
  /** The ConfigMap holding the bundle (in the execution's namespace). */
  configMap: string;
  /** The bundle's content hash: the tasks' default version. */
  hash: string;
}

/** Stands in for the code when only the shape matters: validation and snapshots. */
export const PLACEHOLDER_CODE: CodeRef = { configMap: 'propeller-code-000000000000', hash: '0'.repeat(64) };

export interface Spec {
  description?: string;
  interface: { inputs: Record<string, string>; outputs: Record<string, string> };
  tasks: Record<string, unknown>;
  nodes: Record<string, NodeSpec>;
  outputs: Record<string, unknown>;
  subworkflows?: Record<string, unknown>;
  onFailure?: NodeSpec;
  failurePolicy?: string;
  maxParallelism?: number;
  timeout?: string;
  serviceAccountName?: string;
  pod?: unknown;
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function taskSpec(def: TaskDefinition, code: CodeRef): Record<string, unknown> {
  const name = def.resolvedName();
  const o = def.options;
  const env = o.env && Object.keys(o.env).length ? Object.entries(o.env).map(([k, value]) => ({ name: k, value })) : undefined;
  const common = { resources: o.resources, env };
  let container: Record<string, unknown>;
  let shipped: { configMap: string } | undefined;
  const c = def.container;
  if (c) container = { image: c.image, command: c.command, args: c.args, workingDir: c.workingDir, ...common };
  else {
    const bundledIn = 'bundledIn' in o ? o.bundledIn : undefined;
    const entry = bundledIn ?? `${CODE_MOUNT_PATH}/${BUNDLE_FILE}`;
    container = { image: ('image' in o ? o.image : undefined) ?? DEFAULT_IMAGE, command: ['node', '--enable-source-maps', entry, '--task', name], ...common };
    if (!bundledIn) shipped = { configMap: code.configMap };
  }
  return defined({
    version: o.version ?? (c ? undefined : code.hash.slice(0, 12)),
    interface: { inputs: def.inputs, outputs: def.outputs },
    container: defined(container),
    code: shipped,
    retries: o.retries,
    timeout: o.timeout,
    pod: o.pod,
    cache: o.cache,
  });
}

function subworkflowSpec(graph: WorkflowGraph): Record<string, unknown> {
  return defined({ description: graph.description, interface: graph.interface, nodes: graph.nodes, outputs: graph.outputs, onFailure: graph.onFailure });
}

/** The workflow as a FlyteWorkflow or WorkflowDefinition carries it: tasks, nodes, subworkflows, settings. */
export function workflowSpec(wf: WorkflowDefinition, code: CodeRef): Spec {
  const closure = closureOf(wf);
  const g = closure.root;
  const o = wf.options;
  const tasks = Object.fromEntries([...closure.tasks].sort(([a], [b]) => a.localeCompare(b)).map(([name, def]) => [name, taskSpec(def, code)]));
  const subworkflows = closure.subworkflows.size ? Object.fromEntries([...closure.subworkflows].sort(([a], [b]) => a.localeCompare(b)).map(([name, sub]) => [name, subworkflowSpec(sub)])) : undefined;
  return defined({
    description: g.description,
    interface: g.interface,
    tasks,
    nodes: g.nodes,
    outputs: g.outputs,
    subworkflows,
    onFailure: g.onFailure,
    failurePolicy: o.failurePolicy,
    maxParallelism: o.maxParallelism,
    timeout: o.timeout,
    serviceAccountName: o.serviceAccountName,
    pod: o.pod,
  });
}

/** Whether any task of the workflow needs shipped code. */
export function needsCode(wf: WorkflowDefinition): boolean {
  const closure = closureOf(wf);
  return [...closure.tasks.values()].some((t) => !t.container && !('bundledIn' in t.options && t.options.bundledIn));
}

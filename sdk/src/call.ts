import type { NodeSpec } from '../../src/api/flyteworkflow.ts';
import { bindInputs } from './bind.ts';
import { WorkflowCompileError } from './errors.ts';
import { handleOf, nodeOf, outputsOf, promiseOf, type NodeRef, type Ref } from './promise.ts';
import type { Definition } from './registry.ts';
import { currentScope, type Scope } from './scope.ts';

/** Options of one call inside a workflow body; they apply to that node only. */
export interface CallOptions {
  /** The node's name; by default the callee's, suffixed _2, _3, … when it runs more than once. */
  name?: string;
  /** Nodes (anything a call returned) that must succeed first though no data flows from them. */
  after?: readonly unknown[];
  /** Overrides the task's retries (task nodes). */
  retries?: number;
  /** Overrides the task's timeout per attempt (task nodes); how long a gate waits. */
  timeout?: string;
}

/** What a callee looks like to a call: its interface and how its node is written. */
export interface Callee {
  def: Definition | undefined;
  /** "task slope", "workflow train", …: for messages. */
  what: string;
  name: string;
  inputs: Readonly<Record<string, string>>;
  outputs: Readonly<Record<string, string>>;
  /** Declared with one unnamed output: the call returns that promise alone. */
  single: boolean;
  defaults: Readonly<Record<string, unknown>>;
  /** Inputs the call may leave unbound because the callee fills them when it runs (a launch plan's defaults). */
  mayLeaveOut?: ReadonlySet<string>;
  node: (inputs: NodeSpec['inputs']) => Omit<NodeSpec, 'inputs' | 'after'>;
}

/** Records the node of a call in the current workflow body and returns promises of its outputs. */
export function callNode(callee: Callee, given: unknown, options: CallOptions | undefined): unknown {
  const scope = currentScope(callee.what);
  if (callee.def) scope.use(callee.def);
  const name = scope.nodeName(callee.name, options?.name);
  const where = `workflow "${scope.workflow}", node "${name}"`;
  const inputs = bindInputs(scope, callee.inputs, given as Record<string, unknown> | undefined, callee.defaults, where, callee.mayLeaveOut);
  const ref: NodeRef = { name, after: new Set(), scope };
  for (const upstream of options?.after ?? []) order(scope, upstream, ref, where);
  const spec: NodeSpec = { ...callee.node(inputs), ...(Object.keys(inputs).length ? { inputs } : {}) };
  if (options?.retries !== undefined) spec.retries = options.retries;
  if (options?.timeout !== undefined) spec.timeout = options.timeout;
  scope.add({ ref, spec });
  return resultOf(callee.what, ref, callee.outputs, callee.single);
}

export function resultOf(owner: string, node: NodeRef, outputs: Readonly<Record<string, string>>, single: boolean): unknown {
  const refs: Record<string, Ref> = Object.fromEntries(Object.entries(outputs).map(([o, type]) => [o, { from: `${node.name}.${o}`, type, node }]));
  const names = Object.keys(refs);
  if (single && names.length === 1) return promiseOf(refs[names[0]!]!);
  if (names.length === 0) return handleOf(node);
  return outputsOf(`${owner} (node "${node.name}")`, node, refs);
}

/** Makes `node` run after whatever `upstream` came from. */
export function order(scope: Scope, upstream: unknown, node: NodeRef, where: string): void {
  const before = nodeOf(upstream);
  if (!before) throw new WorkflowCompileError(`${where}: after takes what calls returned (a promise, the outputs of a node, or a node without outputs), not ${typeof upstream}`);
  if (before.scope !== node.scope) throw new WorkflowCompileError(`${where}: cannot run after node "${before.name}", which belongs to another workflow or conditional arm`);
  if (before === node) throw new WorkflowCompileError(`${where}: a node cannot run after itself`);
  node.after.add(before.name);
}

/**
 * Orders nodes one after another, like Flyte's `a >> b >> c`: each starts once the one before it
 * succeeded, though no data flows between them.
 */
export function chain(...nodes: unknown[]): void {
  const scope = currentScope('chain(...)');
  for (let i = 1; i < nodes.length; i++) {
    const node = nodeOf(nodes[i]);
    if (!node) throw new WorkflowCompileError(`workflow "${scope.workflow}": chain(...) takes what calls returned; argument ${i + 1} is not one`);
    order(scope, nodes[i - 1], node, `workflow "${scope.workflow}", node "${node.name}"`);
  }
}

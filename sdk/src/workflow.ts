import type { Binding, NodeSpec } from '../../src/api/flyteworkflow.ts';
import { bindValue, parsed } from './bind.ts';
import { callNode, type CallOptions } from './call.ts';
import { WorkflowCompileError } from './errors.ts';
import { declared, SINGLE_OUTPUT } from './interface.ts';
import { isOutputRecord, nodeOf, outputsOf, promiseOf, refOf, type Ref } from './promise.ts';
import { attach, nameOf, type Definition } from './registry.ts';
import { Scope, withScope } from './scope.ts';
import type { PodOptions } from './task.ts';
import type { Type } from './types.ts';
import type { Args, BodyResult, CallResult, Promises, TypeMap, Values } from './typing.ts';

/** The error a failure handler may bind: what failed and why. */
export interface ErrorPromises {
  readonly message: import('./promise.ts').Promise<string>;
  readonly code: import('./promise.ts').Promise<string>;
  readonly kind: import('./promise.ts').Promise<string>;
  readonly node: import('./promise.ts').Promise<string | null>;
}

export interface WorkflowOptions<I extends TypeMap, O, N extends TypeMap, D> {
  /** The workflow's name; by default the name it is exported under. */
  name?: string;
  /** What it does; the first line is the short description. */
  description?: string;
  inputs?: I;
  output?: Type<O>;
  outputs?: N;
  /** Values for inputs an execution leaves out (they go into its default launch plan when registered). */
  defaults?: D;
  failurePolicy?: 'FailImmediately' | 'FailAfterExecutableNodesComplete';
  /** Most task pods active at once; 0 means no limit. */
  maxParallelism?: number;
  /** Limit for the whole execution, e.g. 2h. */
  timeout?: string;
  serviceAccountName?: string;
  pod?: PodOptions;
  /** One node run when the workflow fails: a task or workflow call that may bind the inputs and the error. */
  onFailure?: (inputs: Promises<I>, error: ErrorPromises) => unknown;
}

/** A workflow's DAG as its body built it, ready to be written as a resource. */
export interface WorkflowGraph {
  name: string;
  description?: string;
  interface: { inputs: Record<string, string>; outputs: Record<string, string> };
  nodes: Record<string, NodeSpec>;
  outputs: Record<string, Binding>;
  onFailure?: NodeSpec;
  /** What its nodes run, by "kind:name". */
  uses: Map<string, Definition>;
}

const ERROR_FIELDS = { message: 'str', code: 'str', kind: 'str', node: 'Optional[str]' } as const;

export class WorkflowDefinition implements Definition {
  readonly kind = 'workflow';
  name: string | undefined;
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly single: boolean;
  readonly defaults: Record<string, unknown>;
  private graph: WorkflowGraph | undefined;
  private compiling = false;

  readonly options: WorkflowOptions<TypeMap, unknown, TypeMap, unknown>;
  readonly body: (inputs: Record<string, unknown>) => unknown;

  constructor(options: WorkflowDefinition['options'], body: WorkflowDefinition['body']) {
    this.options = options;
    this.body = body;
    this.name = options.name;
    ({ inputs: this.inputs, outputs: this.outputs, single: this.single, defaults: this.defaults } = declared(`workflow "${options.name ?? '(unnamed)'}"`, options));
  }

  resolvedName(): string {
    return nameOf(this);
  }

  /** Runs the body once, as Flyte does at registration, and keeps the DAG it built. */
  compile(): WorkflowGraph {
    if (this.graph) return this.graph;
    const name = this.resolvedName();
    if (this.compiling) throw new WorkflowCompileError(`workflow "${name}" calls itself (directly or through other workflows); a workflow cannot recurse`);
    this.compiling = true;
    try {
      this.graph = this.build(name);
      return this.graph;
    } finally {
      this.compiling = false;
    }
  }

  private inputPromises(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.inputs).map(([k, type]) => [k, promiseOf({ from: `inputs.${k}`, type })]));
  }

  private build(name: string): WorkflowGraph {
    const scope = new Scope(name, 'workflow');
    const inputs = outputsOf(`workflow "${name}" inputs`, undefined, Object.fromEntries(Object.entries(this.inputs).map(([k, type]) => [k, { from: `inputs.${k}`, type } satisfies Ref])));
    const returned = withScope(scope, () => this.body(inputs));
    if (returned !== null && typeof returned === 'object' && !refOf(returned) && !isOutputRecord(returned) && typeof (returned as { then?: unknown }).then === 'function') {
      throw new WorkflowCompileError(`workflow "${name}": the body is async (it returned a Promise). A workflow body runs once, when it is compiled, to build the DAG: it must not await anything`);
    }
    if (scope.open.size) throw new WorkflowCompileError(`workflow "${name}": conditional ${[...scope.open].map((c) => `"${c}"`).join(', ')} was never finished; end it with .else(...), .fail(...) or .end()`);
    const outputs = withScope(scope, () => this.bindOutputs(scope, name, returned));
    const nodes: Record<string, NodeSpec> = {};
    for (const [n, draft] of scope.nodes) nodes[n] = draft.ref.after.size ? { ...draft.spec, after: [...draft.ref.after].sort() } : draft.spec;
    const graph: WorkflowGraph = { name, interface: { inputs: this.inputs, outputs: this.outputs }, nodes, outputs, uses: scope.uses };
    if (this.options.description !== undefined) graph.description = this.options.description;
    if (this.options.onFailure) graph.onFailure = this.buildOnFailure(name, scope);
    return graph;
  }

  private bindOutputs(scope: Scope, name: string, returned: unknown): Record<string, Binding> {
    const names = Object.keys(this.outputs);
    const bind = (o: string, value: unknown) => bindValue(scope, value, parsed(this.outputs[o]!, `workflow "${name}"`), `workflow "${name}": output "${o}"`);
    if (this.single) {
      if (returned === undefined) throw new WorkflowCompileError(`workflow "${name}": the body must return its output (a promise from a call, or a value)`);
      return { [SINGLE_OUTPUT]: bind(SINGLE_OUTPUT, returned) };
    }
    if (names.length === 0) {
      if (returned !== undefined && !nodeOf(returned)) throw new WorkflowCompileError(`workflow "${name}" declares no outputs but its body returned something; declare output or outputs`);
      return {};
    }
    if (typeof returned !== 'object' || returned === null || refOf(returned)) throw new WorkflowCompileError(`workflow "${name}": the body must return an object with its outputs ${names.join(', ')}`);
    const out: Record<string, Binding> = {};
    for (const o of names) {
      const value = isOutputRecord(returned) ? (returned as Record<string, unknown>)[o] : Object.hasOwn(returned, o) ? (returned as Record<string, unknown>)[o] : undefined;
      if (value === undefined) throw new WorkflowCompileError(`workflow "${name}": output "${o}" is not returned by the body`);
      out[o] = bind(o, value);
    }
    if (!isOutputRecord(returned)) for (const k of Object.keys(returned)) if (!Object.hasOwn(this.outputs, k)) throw new WorkflowCompileError(`workflow "${name}": the body returned "${k}", which is not one of its outputs (${names.join(', ')})`);
    return out;
  }

  private buildOnFailure(name: string, main: Scope): NodeSpec {
    const scope = new Scope(name, 'onFailure');
    for (const n of main.nodes.keys()) scope.nodeName(n, undefined);
    const error = outputsOf('the error', undefined, Object.fromEntries(Object.entries(ERROR_FIELDS).map(([k, type]) => [k, { from: `error.${k}`, type } satisfies Ref])));
    withScope(scope, () => this.options.onFailure!(this.inputPromises() as never, error as unknown as ErrorPromises));
    const [draft] = scope.nodes.values();
    if (!draft) throw new WorkflowCompileError(`workflow "${name}": onFailure must call one task or workflow`);
    for (const [k, def] of scope.uses) main.uses.set(k, def);
    return draft.spec;
  }
}

export type Workflow<I extends TypeMap, O, N extends TypeMap, D> = ((inputs: Args<I, D>, options?: CallOptions) => CallResult<O, N>) & { readonly definition: WorkflowDefinition };

/**
 * A workflow: its body runs once, when the workflow is compiled, and builds the DAG from the promises its
 * calls return. Called inside another workflow's body, it becomes a subworkflow node.
 */
export function workflow<I extends TypeMap = {}, O = never, N extends TypeMap = {}, D extends Partial<Values<I>> = {}>(
  options: WorkflowOptions<I, O, N, D>,
  body: (inputs: Promises<I>) => BodyResult<NoInfer<O>, NoInfer<N>>,
): Workflow<I, O, N, D> {
  if (typeof body !== 'function') throw new WorkflowCompileError(`workflow "${options.name ?? '(unnamed)'}": the second argument is its body, a function of its inputs`);
  const def = new WorkflowDefinition(options as WorkflowOptions<TypeMap, unknown, TypeMap, unknown>, body as (inputs: Record<string, unknown>) => unknown);
  const fn = (inputs: unknown, callOptions?: CallOptions) =>
    callNode(
      {
        def,
        what: `workflow "${def.resolvedName()}"`,
        name: def.resolvedName(),
        inputs: def.inputs,
        outputs: def.outputs,
        single: def.single,
        defaults: def.defaults,
        node: () => ({ subworkflow: def.resolvedName() }),
      },
      inputs,
      callOptions,
    );
  Object.defineProperty(fn, 'definition', { value: def });
  return attach(fn, def) as unknown as Workflow<I, O, N, D>;
}

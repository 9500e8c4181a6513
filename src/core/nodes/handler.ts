import type { ExecutionError, FailurePolicy, NodeSpec, NodeStatus } from '../../api/flyteworkflow.ts';
import type { BindingScope, ValueSource } from '../bindings.ts';
import type { CompiledNode, CompiledScope, CompiledTask, LaunchPlanInterface } from '../compiled.ts';
import type { Round } from '../round.ts';

/**
 * A running instance of a scope: the workflow, a subworkflow under a node's path, a branch arm or a
 * failure handler. Its nodes' statuses are keyed by `prefix` + node id.
 */
export interface ScopeInstance {
  /** "" for the workflow, else the owning node's path and a slash, e.g. "train/". */
  prefix: string;
  template: CompiledScope;
  /** Where the bindings of this scope's nodes read values: inputs.NAME and NODE.OUTPUT as they see them. */
  bindings: ValueSource;
  /** Where the scope's own outputs read values: its nodes' outputs. Differs from `bindings` for a branch arm. */
  own: ValueSource;
  policy: FailurePolicy;
  /** A failure handler runs whatever maxParallelism says: it must be able to finish the workflow. */
  unbudgeted?: boolean;
}

/** Why a node is being stopped: the whole workflow aborted, or a failure stops its scope. */
export interface Stop {
  final: 'Aborted' | 'Failed';
  message: string;
}

/** What a handler sees of one node in one round. */
export interface NodeContext<N extends CompiledNode = CompiledNode> {
  readonly round: Round;
  readonly node: N;
  readonly path: string;
  readonly scope: ScopeInstance;
  status(): NodeStatus;
  set(fields: Partial<NodeStatus>): NodeStatus;
  /** The node's input values, from its bindings. */
  inputs(): Record<string, unknown>;
  /** The current attempt failed: retry or fail through the node's retry budget. */
  failAttempt(error: Omit<ExecutionError, 'node'>): void;
  /** The node failed for good, with no retry. */
  fail(error: ExecutionError): void;
  succeed(outputs: Record<string, unknown>, fields?: Partial<NodeStatus>): void;
}

export type StartResult = 'started' | 'blocked' | 'failed';

/**
 * One kind of node. Handlers decide; they never do IO: they change node statuses, ask for actions and
 * record events through the context. The walk (readiness, parallelism, failure policy) is the scope's.
 */
export interface NodeHandler<N extends CompiledNode = CompiledNode> {
  readonly kind: N['kind'];
  /**
   * A Pending node whose upstream succeeded, or a Retrying one whose backoff is over. A kind that runs
   * pods takes a slot of maxParallelism (round.budget) for each, and says 'blocked' when none is left.
   */
  start(ctx: NodeContext<N>): StartResult;
  /** An active node (Queued, Running or Failing): bring it up to date with what was observed. No starts here. */
  observe(ctx: NodeContext<N>): void;
  /** An active node, after every node was observed: start what it runs inside (its children). */
  advance?(ctx: NodeContext<N>): void;
  /** Every round, for every node that has a status, after observing it: clean up what it left behind. */
  tidy?(ctx: NodeContext<N>): void;
  /** The node is being stopped: stop what it runs inside. Whoever stops it deletes the pods. */
  abort?(ctx: NodeContext<N>, stop: Stop): void;
}

/** What a kind's compile step gets: the node's spec, where to report errors, and the scope's bindings. */
export interface NodeCompileInput {
  id: string;
  spec: NodeSpec;
  /** How errors about this node start, e.g. `node "a"` or `subworkflow "s": node "a"`. */
  where: string;
  bindings: BindingScope;
  /** Collects the nodes of the scope this node reads from. */
  upstream: Set<string>;
  timeoutMs: number | undefined;
}

/** What a kind's compile step may ask of the compiler. */
export interface NodeCompiler {
  readonly tasks: ReadonlyMap<string, CompiledTask>;
  readonly errors: string[];
  /** A compiled subworkflow, or why there is none (unknown, recursive, invalid). */
  subworkflow(name: string): CompiledScope | string;
  /** What a launch plan a node runs looks like, or why it cannot be run. */
  launchPlan(name: string): LaunchPlanInterface | string;
  /** A scope of one node, for a branch arm: it binds against the enclosing scope. */
  single(id: string, spec: NodeSpec, where: string, bindings: BindingScope, upstream: Set<string>): CompiledScope | undefined;
}

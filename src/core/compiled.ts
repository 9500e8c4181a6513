import type { Binding, FailurePolicy, SignalSpec, TaskSpec, WorkflowSpec } from '../api/flyteworkflow.ts';
import type { Condition } from './condition.ts';
import type { FlyteType } from './types/index.ts';

/** A checked task: its spec with parsed interface types. */
export interface CompiledTask {
  name: string;
  spec: TaskSpec;
  inputs: ReadonlyMap<string, FlyteType>;
  outputs: ReadonlyMap<string, FlyteType>;
}

interface NodeBase {
  /** The node's name inside its scope; its status is keyed by the scope's prefix plus this id. */
  id: string;
  /** A binding for each input, checked against `inputTypes`. */
  inputs: Readonly<Record<string, Binding>>;
  inputTypes: ReadonlyMap<string, FlyteType>;
  outputTypes: ReadonlyMap<string, FlyteType>;
  /** Nodes of the same scope that must succeed first: those its inputs read plus `after`. */
  upstream: readonly string[];
  downstream: readonly string[];
  /** Task nodes: the per-attempt timeout; gates: how long they wait. */
  timeoutMs: number | undefined;
  /** User-error retries; 0 for every kind but tasks. */
  retries: number;
}

export interface CompiledTaskNode extends NodeBase {
  kind: 'task';
  task: CompiledTask;
}

export interface CompiledSubworkflowNode extends NodeBase {
  kind: 'subworkflow';
  scope: CompiledScope;
}

/** One arm of a branch: a scope of one node, whose outputs are the branch's outputs. */
export interface BranchArm {
  /** The arm's node id, and so its path segment: case-0, case-1, …, else. */
  id: string;
  /** Undefined for else. */
  condition: Condition | undefined;
  scope: CompiledScope;
}

export interface CompiledBranchNode extends NodeBase {
  kind: 'branch';
  arms: readonly BranchArm[];
  /** The message to fail with when no case holds and there is no else. */
  noMatch: string;
}

export type GateKind = { kind: 'sleep'; ms: number } | { kind: 'approve'; description?: string } | { kind: 'signal'; type: FlyteType; description?: string };

export interface CompiledGateNode extends NodeBase {
  kind: 'gate';
  gate: GateKind;
}

export interface CompiledLaunchPlanNode extends NodeBase {
  kind: 'launchPlan';
  launchPlan: string;
  labels: Readonly<Record<string, string>>;
}

export type CompiledNode = CompiledTaskNode | CompiledSubworkflowNode | CompiledBranchNode | CompiledGateNode | CompiledLaunchPlanNode;
export type NodeKind = CompiledNode['kind'];

/**
 * A DAG with an interface: the workflow itself, a subworkflow, a branch arm or a failure handler.
 * Subworkflow scopes are templates: every node that runs one instantiates it under its own path.
 */
export interface CompiledScope {
  /** "" for the workflow, the subworkflow's name, or a description of the arm or handler. */
  name: string;
  inputTypes: ReadonlyMap<string, FlyteType>;
  outputTypes: ReadonlyMap<string, FlyteType>;
  /** In topological order, ties in declaration order. */
  nodes: readonly CompiledNode[];
  nodeById: ReadonlyMap<string, CompiledNode>;
  outputs: Readonly<Record<string, Binding>>;
  /** Run when the scope fails, as a scope of one node named onFailure. */
  onFailure: CompiledScope | undefined;
}

export interface CompiledWorkflow extends CompiledScope {
  spec: WorkflowSpec;
  /** Every declared input, with unset Optional inputs as null. */
  inputs: Readonly<Record<string, unknown>>;
  failurePolicy: FailurePolicy;
  timeoutMs: number | undefined;
  overwriteCache: boolean;
  /** Well-formed signals by gate path. */
  signals: Readonly<Record<string, SignalSpec>>;
  /** Malformed signals by gate path, with why: their gates refuse them and keep waiting. */
  refusedSignals: Readonly<Record<string, string>>;
  /** Nodes of every scope, each subworkflow counted once per node that runs it and every branch arm counted. */
  expandedNodes: number;
}

export interface CompileLimits {
  maxNodes: number;
  /** Deepest nesting of subworkflows and branches. */
  maxDepth?: number;
  /**
   * How to treat spec.inputs: 'all' (an execution: every required input has a value), 'given' (a launch
   * plan's defaults: the values given must be known and typed right, missing ones are for later) or
   * 'none' (a definition: it has no values).
   */
  inputs?: 'all' | 'given' | 'none';
  /** What launch-plan nodes may run: each launch plan's interface (status.launchPlans). */
  launchPlans?: ReadonlyMap<string, LaunchPlanInterface>;
}

export interface LaunchPlanInterface {
  definition: string;
  inputs?: Record<string, string>;
  outputs?: Record<string, string>;
  defaulted?: string[];
  /** The launch plan's labels, merged under the parent's on each child execution. */
  labels?: Record<string, string>;
}

export type CompileResult = { ok: true; workflow: CompiledWorkflow } | { ok: false; errors: string[] };

/** The name of a failure handler's node inside its scope, and so the last segment of its path. */
export const ON_FAILURE = 'onFailure';
/** Names no node may take: they are the reference roots of bindings and the failure handler's path. */
export const RESERVED_NODE_NAMES: ReadonlySet<string> = new Set(['inputs', 'error', ON_FAILURE]);
export const DEFAULT_MAX_DEPTH = 10;

import { z } from 'zod';
import { CODE_MOUNT_PATH } from './code.ts';

export const GROUP = 'flyte.propeller.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'FlyteWorkflow';
export const PLURAL = 'flyteworkflows';
export const SINGULAR = 'flyteworkflow';
export const SHORT_NAMES = ['fwf'];

/** Marks a schema whose contents the API server must keep as-is (any JSON); zod still checks it at run time. */
const anyJson = <T extends z.ZodType>(schema: T) => schema.meta({ 'x-kubernetes-preserve-unknown-fields': true });

/**
 * A map the API server tracks as one field. Without it, managedFields records every key and sub-field
 * of every node: over 100 bytes per node per manager, which alone would push a 5,000-node workflow
 * past etcd's 1.5 MiB object limit.
 */
const atomic = <T extends z.ZodType>(schema: T) => schema.meta({ 'x-kubernetes-map-type': 'atomic' });

function exactlyOne(ctx: { value: unknown; issues: unknown[] }, keys: string[], what: string): void {
  const value = ctx.value as Record<string, unknown>;
  const set = keys.filter((k) => value[k] !== undefined);
  if (set.length === 1) return;
  (ctx.issues as object[]).push({
    code: 'custom',
    input: ctx.value,
    message: set.length === 0 ? `${what} needs one of ${keys.join(', ')}` : `${what} takes exactly one of ${keys.join(', ')}, not ${set.join(' and ')}`,
  });
}

const TypeName = z
  .string()
  .min(1)
  .max(256)
  .describe('A type in Python annotation spelling: int, float, str, bool, datetime, duration, dict, list[T], dict[str, T] or Optional[T].');

const Interface = z
  .object({
    inputs: z.record(z.string(), TypeName).optional().describe('Input names and their types.'),
    outputs: z.record(z.string(), TypeName).optional().describe('Output names and their types.'),
  })
  .describe('Typed inputs and outputs.');

export type Binding = { from: string } | { value: unknown } | { list: Binding[] } | { dict: Record<string, Binding> };

/**
 * Where a value comes from. Exactly one field is set. Nested list and dict bindings are kept as-is by the
 * API server (a CRD schema cannot recurse) and checked by the propeller, which fails the workflow on errors.
 */
export const Binding: z.ZodType<Binding> = z
  .object({
    from: z.string().min(1).optional().describe('inputs.NAME for a workflow input, or NODE.OUTPUT for an output of an upstream node (which implies the dependency).'),
    value: anyJson(z.unknown()).optional().describe('A constant value.'),
    get list() {
      return z.array(anyJson(Binding)).optional().describe('A list whose elements are bindings.');
    },
    get dict() {
      return z.record(z.string(), anyJson(Binding)).optional().describe('A dict whose values are bindings.');
    },
  })
  .check((ctx) => {
    const set = ['from', 'value', 'list', 'dict'].filter((k) => (ctx.value as Record<string, unknown>)[k] !== undefined);
    if (set.length !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: set.length === 0 ? 'a binding needs one of from, value, list or dict' : `a binding takes exactly one of from, value, list or dict, not ${set.join(' and ')}`,
      });
    }
  })
  .describe('Where a value comes from: exactly one of from, value, list or dict.') as z.ZodType<Binding>;

const Quantity = z.union([z.string(), z.int()]).describe('A Kubernetes quantity such as 500m, 2 or 1Gi.');

const ResourceList = z.record(z.string(), Quantity);

const Resources = z
  .object({
    requests: ResourceList.optional().describe('Minimum resources, e.g. {cpu: 500m, memory: 256Mi}.'),
    limits: ResourceList.optional().describe('Maximum resources.'),
  })
  .describe('Compute resources of the task container.');

const EnvVar = z.object({
  name: z.string().min(1).max(253).describe('Variable name.'),
  value: z.string().optional().describe('Value; {{.inputs.NAME}} templates are rendered.'),
});

const Container = z
  .object({
    image: z.string().min(1).describe('Container image.'),
    command: z.array(z.string()).optional().describe('Entrypoint argv; {{.inputs.NAME}} templates are rendered. Never run through a shell.'),
    args: z.array(z.string()).optional().describe('Arguments; {{.inputs.NAME}} templates are rendered.'),
    env: z.array(EnvVar).optional().describe('Extra environment variables.'),
    workingDir: z.string().optional().describe('Working directory.'),
    resources: Resources.optional(),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional().describe('Image pull policy.'),
  })
  .describe('The container that runs the task.');

const Toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.int().optional(),
});

const PodOptions = z
  .object({
    nodeSelector: z.record(z.string(), z.string()).optional().describe('Node labels the pod must match.'),
    tolerations: z.array(Toleration).optional().describe('Taints the pod tolerates.'),
    labels: z.record(z.string(), z.string()).optional().describe('Extra pod labels.'),
    annotations: z.record(z.string(), z.string()).optional().describe('Extra pod annotations.'),
    priorityClassName: z.string().optional().describe('Priority class of the pod.'),
  })
  .describe('Scheduling and metadata options for task pods.');

const Duration = z.string().min(1).max(64).describe('A duration such as 90s, 5m or 1h30m.');

const Cache = z
  .object({
    version: z.string().min(1).max(128).describe('Cache version: bump it to invalidate every entry of this task (its code changed, say).'),
    ignoreInputs: z.array(z.string().min(1).max(63)).max(64).optional().describe('Inputs left out of the cache key (a run id, say).'),
    serialize: z.boolean().optional().describe('Executions that want the same entry at once run one pod; the others wait for it and reuse its outputs.'),
  })
  .describe("Caches the task's outputs by its name, cache version, interface and inputs; a hit skips the pod.");

const Code = z
  .object({
    configMap: z.string().min(1).max(253).describe("The ConfigMap holding the code, in the workflow's namespace; a DNS-1123 subdomain."),
  })
  .describe(
    `Task code shipped without an image build: the ConfigMap's keys are mounted read-only as files under ${CODE_MOUNT_PATH} in the task container (bundle.mjs is ${CODE_MOUNT_PATH}/bundle.mjs). The submitter creates the ConfigMap. It is not part of the cache key: bump cache.version when the code changes.`,
  );

const Task = z
  .object({
    type: z.string().optional().describe('Task plugin; only "container" (the default) exists today.'),
    version: z.string().max(128).optional().describe('Task version, passed to the pod as FLYTE_INTERNAL_TASK_VERSION.'),
    interface: Interface.optional(),
    container: Container,
    code: Code.optional(),
    retries: z.int().min(0).max(100).optional().describe('How many times a user error (non-zero exit, OOM, timeout, bad outputs) is retried. Default 0.'),
    timeout: Duration.optional().describe('Limit for each attempt; an attempt past it is killed and counts as a retryable failure.'),
    pod: PodOptions.optional(),
    cache: Cache.optional(),
  })
  .describe('A typed, containerized function run as a Pod.');

const Gate = z
  .object({
    sleep: Duration.optional().describe('Wait this long, then succeed.'),
    approve: z
      .object({ description: z.string().max(1024).optional().describe('What the approver should check.') })
      .optional()
      .describe("Wait for spec.signals.NODE: {approved: true} passes the node's inputs through as its outputs; {approved: false, reason} fails it."),
    signal: z
      .object({
        type: TypeName.describe('Type of the value to wait for.'),
        description: z.string().max(1024).optional().describe('What the value means.'),
      })
      .optional()
      .describe('Wait for spec.signals.NODE: {value: ...} of this type; the value becomes the output "value".'),
  })
  .check((ctx) => exactlyOne(ctx, ['sleep', 'approve', 'signal'], 'a gate'))
  .describe('Waits for a time, an approval or a typed value (spec.signals). Without a timeout it waits forever.');

export type BranchSpec = { cases: { when: string; then: NodeSpec }[]; else?: NodeSpec; fail?: string };

export type NodeSpec = {
  task?: string;
  subworkflow?: string;
  launchPlan?: string;
  branch?: BranchSpec;
  gate?: z.infer<typeof Gate>;
  inputs?: Record<string, Binding>;
  after?: string[];
  retries?: number;
  timeout?: string;
};

const Branch: z.ZodType<BranchSpec> = z
  .object({
    get cases() {
      return z
        .array(
          z.object({
            when: z.string().min(1).max(4096).describe("A condition over the branch node's inputs, e.g. x < 0.5 and not (kind == 'test'); see docs/flyteworkflow.md."),
            get then() {
              return Node.describe('The node to run when the condition holds (a task, subworkflow, branch or gate node).');
            },
          }),
        )
        .min(1)
        .max(100)
        .describe('if, then elif, ...: the first case whose condition holds runs.');
    },
    get else() {
      return Node.optional().describe('The node to run when no case holds.');
    },
    fail: z.string().min(1).max(1024).optional().describe('Fail the branch node with this message when no case holds (instead of else).'),
  })
  .describe('Runs the first case whose condition holds; the others end Skipped.') as z.ZodType<BranchSpec>;

/** Every kind of node shares this shape; which of task, subworkflow, branch and gate is set says its kind. */
const Node: z.ZodType<NodeSpec> = z
  .object({
    task: z.string().min(1).optional().describe('Run this task of spec.tasks as a pod.'),
    subworkflow: z.string().min(1).optional().describe('Run this workflow of spec.subworkflows, with its own nodes, inside this node.'),
    launchPlan: z.string().min(1).max(253).optional().describe('Run this LaunchPlan of the namespace as a child execution (its own FlyteWorkflow, owned by this one); the node takes its outputs.'),
    get branch() {
      return Branch.optional();
    },
    gate: Gate.optional(),
    inputs: z.record(z.string(), Binding).optional().describe("A binding for each input: the task's or subworkflow's inputs, a branch's condition operands, an approve gate's values to pass through."),
    after: z.array(z.string()).optional().describe('Nodes that must succeed before this one starts, beyond those its inputs come from (like Flyte\'s >>).'),
    retries: z.int().min(0).max(100).optional().describe('Overrides the task\'s retries (task nodes only).'),
    timeout: Duration.optional().describe("Overrides the task's per-attempt timeout; on a gate, how long it waits before failing."),
  })
  .check((ctx) => exactlyOne(ctx, ['task', 'subworkflow', 'branch', 'gate', 'launchPlan'], 'a node'))
  .describe('One step of the DAG: a task, a subworkflow, a branch or a gate, with its inputs bound.') as z.ZodType<NodeSpec>;

const Subworkflow = z
  .object({
    description: z.string().max(4096).optional().describe('What the subworkflow does.'),
    interface: Interface.optional(),
    nodes: atomic(z.record(z.string(), Node)).describe('Nodes by name: its DAG. Their status is under "NODE/NAME" of the node that runs it.'),
    outputs: atomic(z.record(z.string(), Binding)).optional().describe('A binding for each output.'),
    onFailure: Node.optional().describe('A task or subworkflow node run when this subworkflow fails; it may bind inputs.NAME and error.message, error.code, error.kind, error.node.'),
  })
  .describe('A named workflow that nodes of this workflow (or of other subworkflows) run inside one node.');

export const Signal = z
  .object({
    approved: z.boolean().optional().describe('For an approve gate: true passes, false fails the node.'),
    reason: z.string().max(1024).optional().describe('Why it was approved or rejected.'),
    value: anyJson(z.unknown()).optional().describe("For a signal gate: the value, of the gate's type."),
  })
  .describe('A decision for the gate node of the same name (its path, e.g. review or train/review).');

export const FailurePolicy = z.enum(['FailImmediately', 'FailAfterExecutableNodesComplete']);

export const WorkflowSpec = z
  .object({
    description: z.string().max(4096).optional().describe('What the workflow does.'),
    interface: Interface.optional(),
    inputs: atomic(z.record(z.string(), anyJson(z.unknown()))).optional().describe("This execution's input values, checked against interface.inputs."),
    definition: z
      .object({
        name: z.string().min(1).max(63).describe('The workflow name of a WorkflowDefinition in this namespace.'),
        version: z.string().min(1).max(189).describe('Its version.'),
      })
      .optional()
      .describe('Run a versioned WorkflowDefinition instead of an inline workflow (tasks and nodes): it is copied into status.resolved when the execution starts, so later versions never change it.'),
    launchPlan: z.string().min(1).max(253).optional().describe('Run a LaunchPlan of this namespace: its definition, with its default inputs under spec.inputs and its fixed inputs, which spec.inputs may not set.'),
    tasks: atomic(z.record(z.string(), Task)).optional().describe('Tasks by name.'),
    nodes: atomic(z.record(z.string(), Node)).optional().describe('Nodes by name: the DAG. Set these (with tasks), or definition, or launchPlan.'),
    outputs: atomic(z.record(z.string(), Binding)).optional().describe('A binding for each workflow output.'),
    subworkflows: atomic(z.record(z.string(), Subworkflow)).optional().describe('Named workflows that subworkflow nodes run.'),
    onFailure: Node.optional().describe('A task or subworkflow node run when the workflow fails (not when it is aborted); it may bind inputs.NAME and error.message, error.code, error.kind, error.node. The workflow still ends Failed.'),
    signals: z.record(z.string(), Signal).optional().describe('Decisions for gate nodes, by node path; may be set before the gate is reached. Patch them in: see docs/flyteworkflow.md.'),
    overwriteCache: z.boolean().optional().describe('Run cached tasks even on a hit, and replace their cache entries.'),
    maxParallelism: z.int().min(0).max(100000).optional().describe('Most task pods active at once; 0 means no limit. Defaults to the propeller\'s configuration.'),
    failurePolicy: FailurePolicy.optional().describe('FailImmediately (default) stops everything on the first failed node; FailAfterExecutableNodesComplete lets independent branches finish.'),
    timeout: Duration.optional().describe('Limit for the whole workflow.'),
    abort: z.boolean().optional().describe('Set to true to stop the workflow: running pods are deleted and it ends Aborted.'),
    serviceAccountName: z.string().max(253).optional().describe("Service account of the task pods; the namespace's default when unset."),
    pod: PodOptions.optional().describe('Defaults for every task pod; a task\'s own pod options win.'),
  })
  .describe('The workflow definition and the inputs of this execution.');

export const NodePhase = z.enum(['Pending', 'Queued', 'Running', 'Retrying', 'Failing', 'Succeeded', 'Failed', 'Skipped', 'Aborted']);
export const CacheStatus = z.enum(['Hit', 'Miss', 'Populated', 'Disabled', 'Skipped']);
export const GateDecision = z.enum(['Approved', 'Rejected', 'Received', 'Refused']);
export const WorkflowPhase = z.enum(['Pending', 'Running', 'Failing', 'Succeeded', 'Failed', 'Aborting', 'Aborted']);
export const ErrorKind = z.enum(['User', 'System', 'Permanent']);

export const ExecutionError = z
  .object({
    kind: ErrorKind.describe('User errors use the retries budget, System errors the system-retry budget; Permanent errors are never retried.'),
    code: z.string().describe('Stable machine-readable code, e.g. NonZeroExit, OutputsInvalid, PodDeletedExternally.'),
    message: z.string().describe('Human-readable explanation.'),
    node: z.string().optional().describe('The node it concerns.'),
  })
  .describe('Why something failed.');

const Time = z.string().describe('RFC 3339 time.');

export const NodeStatus = z
  .object({
    phase: NodePhase,
    attempts: z.int().min(0).optional().describe('Attempts started so far.'),
    systemFailures: z.int().min(0).optional().describe('Attempts lost to system errors (pod deleted, evicted, node shut down).'),
    podName: z.string().optional().describe('Pod of the current or last attempt.'),
    startedAt: Time.optional(),
    attemptStartedAt: Time.optional().describe('When the current attempt started.'),
    finishedAt: Time.optional(),
    nextAttemptAt: Time.optional().describe('When the next attempt may start (retry backoff).'),
    readyAt: Time.optional().describe('When the node became ready to run, for transition latency.'),
    outputs: atomic(z.record(z.string(), anyJson(z.unknown()))).optional().describe('Outputs, once it succeeded.'),
    outputsCompacted: z.boolean().optional().describe('Outputs were dropped to keep the object under its size limit, once no unfinished node could read them.'),
    message: z.string().optional(),
    error: ExecutionError.optional(),
    cache: CacheStatus.optional().describe('For a cached task: Hit (outputs taken from the cache, no pod), Miss (ran), Populated (ran and wrote the entry), Skipped (overwriteCache), Disabled (caching is off in the propeller).'),
    gate: z
      .object({
        decision: GateDecision.describe('Approved, Rejected, Received (a signal value) or Refused (a value of the wrong shape or type; the gate keeps waiting).'),
        at: Time,
        detail: z.string().optional().describe('The reason given, or why the value was refused.'),
      })
      .optional()
      .describe("A gate's last decision."),
  })
  .describe('Observed state of one node. Nodes inside subworkflows and branches are keyed by path, e.g. train/split.');

const LaunchPlanInterface = z
  .object({
    definition: z.string().describe('The WorkflowDefinition it launches, NAME.VERSION.'),
    inputs: z.record(z.string(), z.string()).optional().describe('Inputs a node may bind, by type (fixed inputs left out).'),
    outputs: z.record(z.string(), z.string()).optional(),
    defaulted: z.array(z.string()).optional().describe('Inputs with a default: a node need not bind them.'),
    labels: z.record(z.string(), z.string()).optional().describe("The launch plan's labels: a child execution carries them under the parent's."),
  })
  .describe("What a launch-plan node sees of the launch plan it runs.");

const Resolved = z
  .object({
    definition: z.string().optional().describe('The WorkflowDefinition run, NAME.VERSION.'),
    launchPlan: z.string().optional().describe('The LaunchPlan launched.'),
    workflow: anyJson(z.record(z.string(), z.unknown())).describe("The definition's workflow, copied when the execution started."),
    inputs: atomic(z.record(z.string(), anyJson(z.unknown()))).optional().describe("The execution's inputs: the launch plan's defaults, then spec.inputs, then its fixed inputs."),
    settings: anyJson(z.record(z.string(), z.unknown())).optional().describe("The launch plan's settings (maxParallelism, serviceAccountName, overwriteCache, labels, annotations), under those of spec."),
  })
  .describe('What an execution by reference runs, fixed when it starts: deleting or adding versions later never changes it.');

export const WorkflowStatus = z
  .object({
    phase: WorkflowPhase.optional(),
    message: z.string().optional().describe('Human-readable summary of the current state.'),
    progress: z.string().optional().describe('Succeeded task nodes over all task nodes, e.g. 3/5.'),
    observedGeneration: z.int().optional(),
    revision: z
      .int()
      .min(0)
      .optional()
      .describe('Counts the propeller\'s status writes. Each write tests and bumps it, a compare-and-swap on the status alone, so label or annotation changes never conflict with status writes.'),
    startedAt: Time.optional(),
    finishedAt: Time.optional(),
    outputs: atomic(z.record(z.string(), anyJson(z.unknown()))).optional().describe('Workflow outputs, once it succeeded.'),
    error: ExecutionError.optional(),
    nodes: atomic(z.record(z.string(), NodeStatus)).optional().describe('Status of each node by name.'),
    resolved: Resolved.optional(),
    launchPlans: atomic(z.record(z.string(), LaunchPlanInterface)).optional().describe('The interface of each launch plan a node runs, fixed when the execution started.'),
  })
  .describe('Observed state of the execution, written by the propeller.');

export type WorkflowSpec = z.infer<typeof WorkflowSpec>;
export type WorkflowStatus = z.infer<typeof WorkflowStatus>;
export type NodeStatus = z.infer<typeof NodeStatus>;
export type NodePhase = z.infer<typeof NodePhase>;
export type WorkflowPhase = z.infer<typeof WorkflowPhase>;
export type ErrorKind = z.infer<typeof ErrorKind>;
export type ExecutionError = z.infer<typeof ExecutionError>;
export type FailurePolicy = z.infer<typeof FailurePolicy>;
export type TaskSpec = z.infer<typeof Task>;
export type SubworkflowSpec = z.infer<typeof Subworkflow>;
export type GateSpec = z.infer<typeof Gate>;
export type SignalSpec = z.infer<typeof Signal>;
export type CacheSpec = z.infer<typeof Cache>;
export type CodeSpec = z.infer<typeof Code>;
export type CacheStatus = z.infer<typeof CacheStatus>;
export type ContainerSpec = z.infer<typeof Container>;
export type PodOptions = z.infer<typeof PodOptions>;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
}

/** A FlyteWorkflow as read from the API server. The spec is unchecked until `parseSpec` accepts it. */
export interface FlyteWorkflow {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: unknown;
  status?: WorkflowStatus;
}

export const TERMINAL_WORKFLOW_PHASES: ReadonlySet<WorkflowPhase> = new Set(['Succeeded', 'Failed', 'Aborted']);
export const TERMINAL_NODE_PHASES: ReadonlySet<NodePhase> = new Set(['Succeeded', 'Failed', 'Skipped', 'Aborted']);

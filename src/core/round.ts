import type { NodeStatus, SignalSpec, WorkflowStatus } from '../api/flyteworkflow.ts';
import { ANNOTATIONS, LABELS } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import type { Action, ActionOutcome, CacheEntryView, ChildView } from './actions.ts';
import type { CompileResult, CompiledWorkflow } from './compiled.ts';
import type { RetryPolicy } from './retry.ts';
import type { TaskPlugin } from './task-plugin.ts';

export interface PlanConfig extends RetryPolicy {
  /** Task pods active at once per workflow when its spec does not say; 0 means no limit. */
  defaultMaxParallelism: number;
  imagePullGraceMs: number;
  maxNodes: number;
  /** Deepest nesting of subworkflows and branches. */
  maxDepth?: number;
  /** The propeller's own service account: task pods may never run as it. */
  ownServiceAccount?: { namespace: string; name: string };
  /** Task caching; off means cached tasks always run (their nodes say Disabled). */
  cache?: CachePolicy;
}

export interface CachePolicy {
  enabled: boolean;
  /** How long an entry stays valid after it is written; 0 means forever. */
  ttlMs: number;
  /** How long a serialized run's reservation lasts without renewal; its holder renews it at half-time. */
  reservationMs: number;
}

export interface WorkflowView {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
  spec: unknown;
  status?: WorkflowStatus;
}

export interface WorkflowEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  node?: string;
}

export interface PlanInput {
  workflow: WorkflowView;
  /** Pods owned by this workflow, as last observed. */
  pods: readonly Pod[];
  now: number;
  config: PlanConfig;
  plugins: ReadonlyMap<string, TaskPlugin>;
  /** The workflow's compiled spec, when the caller memoizes it. */
  compiled?: CompileResult;
  /** Cache entries of the workflow's namespace, by name. */
  cache?: ReadonlyMap<string, CacheEntryView>;
  /** Child executions of launch-plan nodes, by name. */
  children?: ReadonlyMap<string, ChildView>;
  /**
   * What became of actions an earlier call asked for, when some failed: the call then settles them
   * through the same rules as everything else (retries, failure policy) and starts nothing new.
   */
  outcomes?: readonly ActionOutcome[];
}

export interface PlanResult {
  status: WorkflowStatus;
  actions: Action[];
  events: WorkflowEvent[];
  /** Look again after this long even if nothing changes (backoff, timeouts); undefined when events suffice. */
  requeueAfterMs: number | undefined;
  /** An action failed transiently: look again with the per-workflow backoff. */
  retry?: boolean;
  /** Cache entries nodes wait on (another execution computes them): a change to one is worth a round. */
  waitingFor?: string[];
}

const MESSAGE_LIMIT = 1024;

export function cut(text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text;
}

/** Everything one plan call reads and writes: node statuses by path, pods by path, actions, events. */
export class Round {
  readonly input: PlanInput;
  readonly cw: CompiledWorkflow;
  readonly now: number;
  readonly nowIso: string;
  readonly prev: WorkflowStatus;
  readonly nodes: Record<string, NodeStatus>;
  readonly podsByPath = new Map<string, Map<number, Pod>>();
  readonly cache: ReadonlyMap<string, CacheEntryView>;
  readonly signals: Readonly<Record<string, SignalSpec>>;
  /** Settling outcomes of an earlier call: observe and decide, start nothing. */
  readonly settling: boolean;
  actions: Action[] = [];
  /** Pods this round already asked to delete, so each is asked once. */
  private readonly deleting = new Set<string>();
  readonly events: WorkflowEvent[] = [];
  wakeAt: number | undefined;
  retry = false;
  /** Task pods that may still start this round (maxParallelism), set once every node was observed. */
  budget = Infinity;
  /** Task nodes active after observing, counted while observing. */
  activeTasks = 0;
  /** The workflow's maxParallelism, for messages. */
  parallelism = 0;
  /** Cache entries waited on. */
  readonly watching = new Set<string>();

  /** Without a compiled workflow (finished or invalid ones) a round only deletes pods. */
  constructor(input: PlanInput, cw: CompiledWorkflow | undefined) {
    this.input = input;
    this.cw = cw as CompiledWorkflow;
    this.now = input.now;
    this.nowIso = new Date(input.now).toISOString();
    this.prev = input.workflow.status ?? {};
    this.nodes = { ...this.prev.nodes };
    this.cache = input.cache ?? new Map();
    this.signals = cw?.signals ?? {};
    this.settling = (input.outcomes?.length ?? 0) > 0;
    for (const pod of input.pods) {
      const node = pod.metadata.annotations?.[ANNOTATIONS.node];
      const attempt = Number(pod.metadata.labels?.[LABELS.attempt]);
      if (node === undefined || !Number.isInteger(attempt) || attempt < 0) continue;
      const byAttempt = this.podsByPath.get(node) ?? this.podsByPath.set(node, new Map()).get(node)!;
      byAttempt.set(attempt, pod);
    }
  }

  status(path: string): NodeStatus | undefined {
    return this.nodes[path];
  }

  /** Gives a node a status if it has none yet (nodes get one when their scope starts). */
  init(path: string): NodeStatus {
    return (this.nodes[path] ??= { phase: 'Pending' });
  }

  /** Applies field changes to a node, keeping the old object when nothing changed so diffs stay small. */
  set(path: string, fields: Partial<NodeStatus>): NodeStatus {
    const old = this.init(path);
    let changed = false;
    const next: Record<string, unknown> = { ...old };
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) {
        if (k in next) {
          delete next[k];
          changed = true;
        }
      } else if (next[k] !== v) {
        next[k] = v;
        changed = true;
      }
    }
    if (!changed) return old;
    this.nodes[path] = next as NodeStatus;
    return this.nodes[path];
  }

  replace(path: string, status: NodeStatus): void {
    this.nodes[path] = status;
  }

  /**
   * Takes back what this round asked for a node that is being stopped before anything it asked for
   * happened (its pod was never created): the node goes back to its status before the round.
   * Returns whether there was anything to take back.
   */
  takeBack(path: string): boolean {
    const mine = this.actions.filter((a) => a.node === path && a.type !== 'DeletePod');
    if (!mine.length) return false;
    this.actions = this.actions.filter((a) => !mine.includes(a));
    this.nodes[path] = this.prev.nodes?.[path] ?? { phase: 'Pending' };
    return true;
  }

  act(action: Action): void {
    this.actions.push(action);
  }

  event(type: WorkflowEvent['type'], reason: string, message: string, node?: string): void {
    this.events.push({ type, reason, message: cut(message), ...(node ? { node } : {}) });
  }

  wake(at: number): void {
    if (this.wakeAt === undefined || at < this.wakeAt) this.wakeAt = at;
  }

  pods(path: string): ReadonlyMap<number, Pod> | undefined {
    return this.podsByPath.get(path);
  }

  deletePod(node: string | undefined, pod: Pod, reason: string): void {
    if (this.deleting.has(pod.metadata.name)) return;
    this.deleting.add(pod.metadata.name);
    this.act({ type: 'DeletePod', node, podName: pod.metadata.name, reason });
  }

  /** Deletes each pod of the workflow that still runs, but those `keep` spares; true if any had to be asked. */
  deleteLivePods(reason: string, keep: (path: string | undefined) => boolean = () => false): boolean {
    let any = false;
    for (const pod of this.input.pods) {
      const path = pod.metadata.annotations?.[ANNOTATIONS.node];
      if (!isLive(pod) || keep(path)) continue;
      this.deletePod(path, pod, reason);
      any = true;
    }
    return any;
  }
}

/** Still running or about to: not finished and not already being deleted. */
export function isLive(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

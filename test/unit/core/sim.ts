/**
 * A small world for `plan`: one FlyteWorkflow, a fake pod store and a fake clock. Each `step` is one
 * reconcile round: plan, write the status back (through JSON, as the API server would), apply the
 * actions to the store. Tests then move pods along (start, succeed, fail, evict, delete) and step again.
 */
import type { NodePhase, WorkflowPhase, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import { ANNOTATIONS, LABELS } from '../../../src/api/labels.ts';
import type { Pod } from '../../../src/api/pod.ts';
import type { SignalSpec } from '../../../src/api/flyteworkflow.ts';
import { plan, type Action, type CacheEntryView, type PlanConfig, type PlanResult, type WorkflowView } from '../../../src/core/plan.ts';
import type { TaskPlugin } from '../../../src/core/task-plugin.ts';
import { containerPlugin } from '../../../src/plugins/container/plugin.ts';
import { SUM_TASKS } from './specs.ts';

export const T0 = Date.parse('2024-05-01T10:00:00Z');

export const CONFIG: PlanConfig = {
  maxSystemRetries: 2,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  defaultMaxParallelism: 0,
  imagePullGraceMs: 60_000,
  maxNodes: 1000,
  cache: { enabled: true, ttlMs: 0, reservationMs: 30_000 },
};

export const PLUGINS: ReadonlyMap<string, TaskPlugin> = new Map([['container', containerPlugin]]);

/** What a task computes from its inputs: the outputs a simulated pod writes to its termination message. */
export type TaskFn = (inputs: Record<string, unknown>) => Record<string, unknown>;

export interface SimOptions {
  name?: string;
  labels?: Record<string, string>;
  config?: Partial<PlanConfig>;
  /** Task functions by task name; the sum task of specs.ts by default. */
  tasks?: Record<string, TaskFn>;
}

/** One reconcile round as it happened: what plan saw and what it decided. */
export interface RoundRecord {
  now: number;
  before: WorkflowStatus | undefined;
  pods: Pod[];
  /** The cache entries the round saw. */
  cache: ReadonlyMap<string, CacheEntryView>;
  /** The spec the round saw (signals change it). */
  spec: unknown;
  result: PlanResult;
}

const TERMINAL: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Aborted']);
const iso = (ms: number) => new Date(ms).toISOString();
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export class Sim {
  readonly workflow: WorkflowView;
  readonly pods = new Map<string, Pod>();
  readonly rounds: RoundRecord[] = [];
  readonly config: PlanConfig;
  readonly tasks: Record<string, TaskFn>;
  /** CreatePod actions refused because a pod of that name already existed. */
  readonly conflicts: string[] = [];
  /** The namespace's cache entries, as an API server would keep them (creates that find a name taken do nothing). */
  readonly cache = new Map<string, CacheEntryView>();
  private version = 0;
  now = T0;
  private uid = 0;

  constructor(spec: unknown, options: SimOptions = {}) {
    this.workflow = { name: options.name ?? 'wf', namespace: 'ns', uid: 'wf-uid', generation: 1, labels: options.labels ?? {}, spec };
    this.config = { ...CONFIG, ...options.config };
    this.tasks = options.tasks ?? SUM_TASKS;
  }

  get status(): WorkflowStatus {
    return this.workflow.status ?? {};
  }

  get phase(): WorkflowPhase | undefined {
    return this.workflow.status?.phase;
  }

  get last(): PlanResult {
    const record = this.rounds.at(-1);
    if (!record) throw new Error('no round has run yet');
    return record.result;
  }

  nodePhase(node: string): NodePhase | undefined {
    return this.status.nodes?.[node]?.phase;
  }

  /** Every node's phase, for compact assertions. */
  phases(): Record<string, NodePhase> {
    return Object.fromEntries(Object.entries(this.status.nodes ?? {}).map(([id, ns]) => [id, ns.phase]));
  }

  /** One reconcile round. */
  step(): PlanResult {
    const pods = [...this.pods.values()].map(clone);
    const before = this.workflow.status && clone(this.workflow.status);
    const cache = new Map(this.cache);
    const spec = clone(this.workflow.spec);
    const result = plan({ workflow: { ...this.workflow, spec, status: before }, pods, now: this.now, config: this.config, plugins: PLUGINS, cache });
    this.rounds.push({ now: this.now, before, pods, cache, spec, result });
    this.workflow.status = clone(result.status);
    for (const action of result.actions) this.apply(action);
    return result;
  }

  private apply(action: Action): void {
    if (action.type === 'CreatePod') {
      const name = action.pod.metadata.name;
      if (this.pods.has(name)) {
        this.conflicts.push(name);
        return;
      }
      const pod = clone(action.pod);
      pod.metadata.uid = `pod-uid-${++this.uid}`;
      pod.metadata.creationTimestamp = iso(this.now);
      pod.status = { phase: 'Pending' };
      this.pods.set(name, pod);
    } else if (action.type === 'DeletePod') {
      const pod = this.pods.get(action.podName);
      if (pod) pod.metadata.deletionTimestamp ??= iso(this.now);
    } else if (action.type !== 'CreateChild' && action.type !== 'AbortChild') {
      this.applyCache(action);
    }
  }

  /** What the API server would do with a cache action: creates skip a taken name, CAS writes test the version. */
  private applyCache(action: Exclude<Action, { type: 'CreatePod' | 'DeletePod' | 'CreateChild' | 'AbortChild' }>): void {
    const rv = () => String(++this.version);
    if (action.type === 'ReserveCache') {
      const { name, ...rest } = action.entry;
      const existing = this.cache.get(name);
      if (action.replacing ? existing?.resourceVersion !== action.replacing : existing) return;
      this.cache.set(name, { name, resourceVersion: rv(), ...clone(rest) });
    } else if (action.type === 'WriteCache') {
      const { name, ...rest } = action.entry;
      const existing = this.cache.get(name);
      if (existing && !action.replace) return;
      const { reservedBy: _held, ...kept } = existing ?? { name, key: rest.key };
      this.cache.set(name, { ...kept, name, resourceVersion: rv(), ...clone(rest), reservedBy: undefined } as CacheEntryView);
      const entry = this.cache.get(name)!;
      if (!entry.reservedBy) delete entry.reservedBy;
    } else if (action.type === 'RenewCache') {
      const entry = this.cache.get(action.name);
      if (entry?.reservedBy?.uid === action.holder.uid && entry.reservedBy.node === action.holder.node) {
        this.cache.set(action.name, { ...entry, resourceVersion: rv(), reservedBy: { ...entry.reservedBy, until: action.until } });
      }
    } else {
      const entry = this.cache.get(action.name);
      if (entry && !entry.outputs && entry.reservedBy?.uid === action.holder.uid && entry.reservedBy.node === action.holder.node) this.cache.delete(action.name);
    }
  }

  /** Sends a gate its signal, as `kubectl patch` of spec.signals would. */
  signal(path: string, signal: SignalSpec | undefined): void {
    const spec = this.workflow.spec as { signals?: Record<string, SignalSpec> };
    spec.signals = { ...spec.signals };
    if (signal === undefined) delete spec.signals[path];
    else spec.signals[path] = signal;
    this.workflow.generation = (this.workflow.generation ?? 1) + 1;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  /** Pods asked to be deleted are gone: the kubelet finished killing them. */
  reap(): void {
    for (const [name, pod] of this.pods) if (pod.metadata.deletionTimestamp) this.pods.delete(name);
  }

  podsOf(node: string): Pod[] {
    return [...this.pods.values()].filter((p) => p.metadata.annotations?.[ANNOTATIONS.node] === node).sort((a, b) => attemptOf(a) - attemptOf(b));
  }

  /** The pod of a node's newest attempt (or of the given attempt). */
  pod(node: string, attempt?: number): Pod {
    const pods = this.podsOf(node);
    const pod = attempt === undefined ? pods.at(-1) : pods.find((p) => attemptOf(p) === attempt);
    if (!pod) throw new Error(`no pod for node ${node}${attempt === undefined ? '' : ` attempt ${attempt}`}`);
    return pod;
  }

  start(node: string): void {
    const pod = this.pod(node);
    pod.status = { phase: 'Running', containerStatuses: [{ name: 'task', state: { running: { startedAt: iso(this.now) } } }] };
  }

  /** Ends the newest pod successfully; its outputs are given, or computed by the task function from FLYTE_INPUTS. */
  succeed(node: string, outputs?: Record<string, unknown> | string): void {
    const pod = this.pod(node);
    const message = typeof outputs === 'string' ? outputs : JSON.stringify(outputs ?? this.compute(pod));
    this.terminate(pod, 'Succeeded', { exitCode: 0, reason: 'Completed', message });
  }

  fail(node: string, exitCode = 1, message?: string): void {
    this.terminate(this.pod(node), 'Failed', { exitCode, reason: 'Error', ...(message ? { message } : {}) });
  }

  oom(node: string): void {
    this.terminate(this.pod(node), 'Failed', { exitCode: 137, reason: 'OOMKilled' });
  }

  evict(node: string): void {
    this.pod(node).status = { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' };
  }

  /** Someone else deleted the pod and it is already gone. */
  deleteExternally(node: string): void {
    this.pods.delete(this.pod(node).metadata.name);
  }

  waitImage(node: string, reason = 'ImagePullBackOff'): void {
    this.pod(node).status = { phase: 'Pending', containerStatuses: [{ name: 'task', state: { waiting: { reason } } }] };
  }

  /** The inputs a pod was started with, read back from its FLYTE_INPUTS. */
  inputsOf(pod: Pod): Record<string, unknown> {
    const value = pod.spec.containers[0]?.env?.find((e) => e.name === 'FLYTE_INPUTS')?.value;
    return JSON.parse(value ?? '{}') as Record<string, unknown>;
  }

  private compute(pod: Pod): Record<string, unknown> {
    const task = pod.spec.containers[0]?.env?.find((e) => e.name === 'FLYTE_INTERNAL_TASK_NAME')?.value ?? '';
    const fn = this.tasks[task];
    return fn ? fn(this.inputsOf(pod)) : {};
  }

  private terminate(pod: Pod, phase: 'Succeeded' | 'Failed', state: { exitCode: number; reason: string; message?: string }): void {
    pod.status = { phase, containerStatuses: [{ name: 'task', state: { terminated: { ...state, finishedAt: iso(this.now) } } }] };
  }

  /**
   * Rounds until the workflow is finished and quiet, letting `driver` act on each live pod between rounds
   * (by default every pod succeeds with computed outputs). Deleted pods disappear after one round.
   * `afterStep` runs right after each round, before the driver: a test can simulate a crash there.
   */
  run(driver: (node: string, pod: Pod) => void = (node) => this.succeed(node), options: { maxRounds?: number; afterStep?: (round: RoundRecord) => void } = {}): void {
    const maxRounds = options.maxRounds ?? 500;
    for (let i = 0; i < maxRounds; i++) {
      this.reap();
      const result = this.step();
      options.afterStep?.(this.rounds.at(-1)!);
      if (this.phase && TERMINAL.has(this.phase) && result.actions.length === 0) return;
      for (const pod of [...this.pods.values()]) {
        if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
        driver(pod.metadata.annotations![ANNOTATIONS.node]!, pod);
      }
      if (result.requeueAfterMs !== undefined) this.advance(result.requeueAfterMs);
    }
    throw new Error(`the workflow did not finish in ${maxRounds} rounds: ${this.phase} ${JSON.stringify(this.phases())}`);
  }

  /** A crash after the actions but before the status write: the status is as it was before the last round. */
  loseLastStatusWrite(): void {
    this.workflow.status = this.rounds.at(-1)?.before;
  }

  /** Every CreatePod action so far, in order. */
  creates(): Extract<Action, { type: 'CreatePod' }>[] {
    return this.rounds.flatMap((r) => r.result.actions.filter((a) => a.type === 'CreatePod'));
  }
}

export function attemptOf(pod: Pod): number {
  return Number(pod.metadata.labels?.[LABELS.attempt]);
}

export const actionSummary = (result: PlanResult): string[] =>
  result.actions.map((a) => (a.type === 'CreatePod' ? `create ${a.pod.metadata.name}` : a.type === 'DeletePod' ? `delete ${a.podName}` : `${a.type} ${a.node}`));

import { TERMINAL_NODE_PHASES, TERMINAL_WORKFLOW_PHASES, type ExecutionError, type NodeStatus, type WorkflowPhase, type WorkflowStatus } from '../api/flyteworkflow.ts';
import { ANNOTATIONS, LABELS, WORKFLOW_LABELS } from '../api/labels.ts';
import type { Pod } from '../api/pod.ts';
import { PropellerError } from '../errors.ts';
import { resolveBinding, type ValueSource } from './bindings.ts';
import { compileWorkflow, type CompiledNode, type CompiledWorkflow, type CompileResult } from './compile.ts';
import { podName } from './names.ts';
import { parseOutputs } from './outputs.ts';
import { afterFailedAttempt, type RetryPolicy } from './retry.ts';
import type { TaskPlugin } from './task-plugin.ts';
import { checkValue, formatDuration, formatMismatch } from './types/index.ts';

export interface PlanConfig extends RetryPolicy {
  /** Task pods active at once per workflow when its spec does not say; 0 means no limit. */
  defaultMaxParallelism: number;
  imagePullGraceMs: number;
  maxNodes: number;
  /** The propeller's own service account: task pods may never run as it. */
  ownServiceAccount?: { namespace: string; name: string };
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

export type Action =
  | { type: 'CreatePod'; node: string; attempt: number; pod: Pod }
  | { type: 'DeletePod'; node: string | undefined; podName: string; reason: string };

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
}

export interface PlanResult {
  status: WorkflowStatus;
  actions: Action[];
  events: WorkflowEvent[];
  /** Look again after this long even if nothing changes (backoff, timeouts); undefined when events suffice. */
  requeueAfterMs: number | undefined;
}

const ACTIVE = new Set(['Queued', 'Running']);
const MESSAGE_LIMIT = 1024;

/**
 * One reconcile decision, pure: from the workflow and the pods it owns, the next status and the actions
 * that move the world towards it. Running it again on its own output with the same pods changes nothing.
 */
export function plan(input: PlanInput): PlanResult {
  return new Round(input).run();
}

class Round {
  private readonly input: PlanInput;
  private readonly now: number;
  private readonly nowIso: string;
  private readonly prev: WorkflowStatus;
  private readonly nodes: Record<string, NodeStatus>;
  private readonly top: Omit<WorkflowStatus, 'nodes'>;
  private readonly podsByNode = new Map<string, Map<number, Pod>>();
  private actions: Action[] = [];
  /** Pods this round already asked to delete, so each is asked once. */
  private readonly deleting = new Set<string>();
  private readonly events: WorkflowEvent[] = [];
  private wakeAt: number | undefined;

  constructor(input: PlanInput) {
    this.input = input;
    this.now = input.now;
    this.nowIso = new Date(input.now).toISOString();
    this.prev = input.workflow.status ?? {};
    const { nodes, ...top } = this.prev;
    this.nodes = { ...nodes };
    this.top = { ...top };
    for (const pod of input.pods) {
      const node = pod.metadata.annotations?.[ANNOTATIONS.node];
      const attempt = Number(pod.metadata.labels?.[LABELS.attempt]);
      if (node === undefined || !Number.isInteger(attempt) || attempt < 0) continue;
      const byAttempt = this.podsByNode.get(node) ?? this.podsByNode.set(node, new Map()).get(node)!;
      byAttempt.set(attempt, pod);
    }
  }

  run(): PlanResult {
    const wf = this.input.workflow;
    if (this.prev.phase && TERMINAL_WORKFLOW_PHASES.has(this.prev.phase)) {
      // Finished already; only make sure nothing it started is left running (a crash between writes).
      this.deleteLivePods(`workflow is ${this.prev.phase}`);
      return this.result();
    }
    const compiled = this.input.compiled ?? compileWorkflow(wf.spec, { maxNodes: this.input.config.maxNodes });
    if (!compiled.ok) return this.invalid(compiled.errors);
    const cw = compiled.workflow;
    const own = this.input.config.ownServiceAccount;
    const podAccount = cw.spec.serviceAccountName ?? 'default';
    if (own && own.namespace === wf.namespace && own.name === podAccount) {
      const why = cw.spec.serviceAccountName ? `"${podAccount}" is` : `unset, so the namespace's "default" would be used, and that is`;
      return this.invalid([`workflow: serviceAccountName: ${why} the propeller's own service account; task pods may never run as it (name another one)`]);
    }

    if (!this.prev.phase) {
      this.top.phase = 'Pending';
      this.top.startedAt = this.nowIso;
      this.event('Normal', 'Started', `workflow started with ${cw.nodes.length} nodes`);
    }
    this.top.observedGeneration = wf.generation;
    for (const node of cw.nodes) if (!this.nodes[node.id]) this.nodes[node.id] = { phase: 'Pending' };

    // Stopping is one-way: clearing spec.abort while pods are being deleted must not restart the workflow.
    if (this.prev.phase === 'Aborting') return this.stop(cw, 'Aborted', this.prev.message ?? 'aborted');
    if (this.prev.phase === 'Failing') return this.stop(cw, 'Failed', this.prev.message ?? 'failed', this.prev.error);
    if (wf.deletionTimestamp) return this.stop(cw, 'Aborted', 'the FlyteWorkflow is being deleted');
    if (cw.spec.abort) return this.stop(cw, 'Aborted', 'aborted: spec.abort is true');
    if (cw.timeoutMs !== undefined) {
      const deadline = Date.parse(this.top.startedAt ?? this.nowIso) + cw.timeoutMs;
      if (this.now >= deadline) {
        const message = `the workflow exceeded its timeout of ${formatDuration(cw.timeoutMs)}`;
        return this.stop(cw, 'Failed', message, { kind: 'User', code: 'WorkflowTimedOut', message });
      }
      this.wake(deadline);
    }

    for (const node of cw.nodes) {
      this.observe(node);
      this.deleteStalePods(node);
    }

    const failedNow = this.failFast(cw);
    if (failedNow) return failedNow;
    this.startReadyNodes(cw);
    // A node can also fail as it starts (its pod cannot be built).
    return this.failFast(cw) ?? this.finish(cw);
  }

  /** Under FailImmediately, the first failed node stops the workflow. */
  private failFast(cw: CompiledWorkflow): PlanResult | undefined {
    if (cw.failurePolicy !== 'FailImmediately') return undefined;
    const failed = cw.nodes.find((n) => this.nodes[n.id]!.phase === 'Failed');
    if (!failed) return undefined;
    const error = this.nodes[failed.id]!.error;
    const message = `node ${JSON.stringify(failed.id)} failed: ${error?.message ?? 'unknown error'}`;
    return this.stop(cw, 'Failed', message, { kind: error?.kind ?? 'User', code: error?.code ?? 'NodeFailed', message, node: failed.id });
  }

  /**
   * Deletes live pods that no longer carry the node's current attempt: the pod of a failed attempt that
   * never terminated (a permanent image or config error), or an older attempt's pod that reappeared.
   */
  private deleteStalePods(node: CompiledNode): void {
    const ns = this.nodes[node.id]!;
    const current = ACTIVE.has(ns.phase) ? (ns.attempts ?? 1) - 1 : undefined;
    for (const [attempt, pod] of this.podsByNode.get(node.id) ?? []) {
      if (attempt !== current && isLive(pod)) this.deletePod(node.id, pod, attempt === (ns.attempts ?? 0) - 1 ? 'the attempt failed' : 'superseded by a newer attempt');
    }
  }

  /** Brings an active node up to date with its pod, adopting a pod a crashed round created but never recorded. */
  private observe(node: CompiledNode): void {
    let ns = this.nodes[node.id]!;
    if (TERMINAL_NODE_PHASES.has(ns.phase)) return;
    const pods = this.podsByNode.get(node.id);
    const newest = pods && Math.max(...pods.keys());
    if (newest !== undefined && newest >= (ns.attempts ?? 0)) {
      const pod = pods!.get(newest)!;
      ns = this.setNode(node.id, {
        phase: 'Queued',
        attempts: newest + 1,
        podName: pod.metadata.name,
        attemptStartedAt: pod.metadata.creationTimestamp ?? this.nowIso,
        startedAt: ns.startedAt ?? pod.metadata.creationTimestamp ?? this.nowIso,
        nextAttemptAt: undefined,
        message: undefined,
      });
    }
    if (!ACTIVE.has(ns.phase)) return;

    const attempt = (ns.attempts ?? 1) - 1;
    const pod = pods?.get(attempt);
    if (!pod) {
      this.failAttempt(node, { kind: 'System', code: 'PodDeletedExternally', message: `pod ${ns.podName ?? '(unknown)'} disappeared before it finished` });
      return;
    }
    const attemptStartedAt = Date.parse(ns.attemptStartedAt ?? '') || this.now;
    const plugin = this.pluginOf(node);
    const obs = plugin.observe(pod, { now: this.now, attemptStartedAt, imagePullGraceMs: this.input.config.imagePullGraceMs });
    switch (obs.phase) {
      case 'Queued':
        ns = this.setNode(node.id, { phase: 'Queued', message: obs.reason ? `waiting: ${obs.reason}${obs.message ? `: ${obs.message}` : ''}` : undefined });
        if (obs.pullProblem) this.wake(attemptStartedAt + this.input.config.imagePullGraceMs);
        break;
      case 'Running':
        ns = this.setNode(node.id, { phase: 'Running', message: undefined });
        break;
      case 'Succeeded': {
        const outputs = parseOutputs(obs.outputsText, node.task.outputs);
        if (outputs.ok) {
          // What only matters while a node waits or runs goes: a finished node costs every later write.
          this.setNode(node.id, { phase: 'Succeeded', outputs: outputs.outputs, finishedAt: this.nowIso, message: undefined, error: undefined, attemptStartedAt: undefined, readyAt: undefined });
        } else {
          this.failAttempt(node, { kind: 'User', code: outputs.code, message: outputs.message });
        }
        return;
      }
      case 'Failed':
        this.failAttempt(node, obs.error);
        return;
    }
    if (node.timeoutMs !== undefined) {
      const deadline = attemptStartedAt + node.timeoutMs;
      if (this.now >= deadline) {
        this.deletePod(node.id, pod, 'attempt timed out');
        this.failAttempt(node, { kind: 'User', code: 'TimedOut', message: `the attempt exceeded its timeout of ${formatDuration(node.timeoutMs)}` });
      } else {
        this.wake(deadline);
      }
    }
  }

  private failAttempt(node: CompiledNode, error: Omit<ExecutionError, 'node'>): void {
    const outcome = afterFailedAttempt(this.nodes[node.id]!, { ...error, node: node.id }, node.retries, this.input.config, this.now);
    this.nodes[node.id] = outcome.status;
    if (outcome.retry) {
      this.event('Warning', 'NodeRetrying', outcome.status.message!, node.id);
      this.wake(this.now + outcome.delayMs);
    } else {
      this.event('Warning', 'NodeFailed', outcome.status.message!, node.id);
    }
  }

  private startReadyNodes(cw: CompiledWorkflow): void {
    const limit = cw.spec.maxParallelism ?? this.input.config.defaultMaxParallelism;
    const max = limit === 0 ? Infinity : limit;
    let active = cw.nodes.filter((n) => ACTIVE.has(this.nodes[n.id]!.phase)).length;
    for (const node of cw.nodes) {
      const ns = this.nodes[node.id]!;
      if (ns.phase === 'Pending') {
        const blocked = node.upstream.find((u) => ['Failed', 'Skipped', 'Aborted'].includes(this.nodes[u]!.phase));
        if (blocked !== undefined) {
          this.setNode(node.id, { phase: 'Skipped', finishedAt: this.nowIso, message: `skipped: upstream node ${JSON.stringify(blocked)} is ${this.nodes[blocked]!.phase.toLowerCase()}` });
          continue;
        }
        if (!node.upstream.every((u) => this.nodes[u]!.phase === 'Succeeded')) continue;
        if (active < max) {
          if (this.startAttempt(cw, node, 0)) active++;
          else if (cw.failurePolicy === 'FailImmediately') return;
        } else {
          this.setNode(node.id, { readyAt: ns.readyAt ?? this.nowIso, message: `waiting: at most ${limit} task pods run at once (maxParallelism)` });
        }
      } else if (ns.phase === 'Retrying') {
        const due = Date.parse(ns.nextAttemptAt ?? '') || this.now;
        if (this.now < due) this.wake(due);
        else if (active < max) {
          if (this.startAttempt(cw, node, ns.attempts ?? 1)) active++;
          else if (cw.failurePolicy === 'FailImmediately') return;
        }
      }
    }
  }

  /** Asks for the attempt's pod; false when the pod cannot be built and the attempt failed at once. */
  private startAttempt(cw: CompiledWorkflow, node: CompiledNode, attempt: number): boolean {
    const ns = this.nodes[node.id]!;
    const source: ValueSource = {
      workflowInput: (name) => cw.inputs[name],
      nodeOutput: (n, o) => this.nodes[n]?.outputs?.[o],
    };
    const inputs = Object.fromEntries(
      [...node.task.inputs.keys()].map((name) => [name, Object.hasOwn(node.inputs, name) ? resolveBinding(node.inputs[name]!, source) : null]),
    );
    const wf = this.input.workflow;
    const name = podName(wf.name, node.id, attempt);
    let pod: Pod;
    try {
      pod = this.pluginOf(node).buildPod({
        workflow: {
          name: wf.name,
          namespace: wf.namespace,
          uid: wf.uid,
          project: wf.labels?.[WORKFLOW_LABELS.project] ?? '',
          domain: wf.labels?.[WORKFLOW_LABELS.domain] ?? '',
        },
        node: node.id,
        attempt,
        podName: name,
        task: node.task,
        inputs,
        serviceAccountName: cw.spec.serviceAccountName,
        pod: mergePodOptions(cw.spec.pod, node.task.spec.pod),
      });
    } catch (err) {
      const code = err instanceof PropellerError ? err.code : 'PodBuildFailed';
      this.setNode(node.id, { attempts: attempt + 1 });
      this.failAttempt(node, { kind: 'Permanent', code, message: err instanceof Error ? err.message : String(err) });
      return false;
    }
    this.actions.push({ type: 'CreatePod', node: node.id, attempt, pod });
    this.setNode(node.id, {
      phase: 'Queued',
      attempts: attempt + 1,
      podName: name,
      attemptStartedAt: this.nowIso,
      startedAt: ns.startedAt ?? this.nowIso,
      readyAt: ns.readyAt ?? this.nowIso,
      nextAttemptAt: undefined,
      message: undefined,
    });
    if (node.timeoutMs !== undefined) this.wake(this.now + node.timeoutMs);
    return true;
  }

  private finish(cw: CompiledWorkflow): PlanResult {
    const count = (phase: string) => cw.nodes.filter((n) => this.nodes[n.id]!.phase === phase).length;
    const total = cw.nodes.length;
    const succeeded = count('Succeeded');
    const running = count('Running');
    const queued = count('Queued');
    const retrying = count('Retrying');
    const pending = count('Pending');
    this.top.progress = `${succeeded}/${total}`;

    if (succeeded === total) return this.succeed(cw);
    const failed = cw.nodes.find((n) => this.nodes[n.id]!.phase === 'Failed');
    if (failed) {
      const error = this.nodes[failed.id]!.error;
      const message = `node ${JSON.stringify(failed.id)} failed: ${error?.message ?? 'unknown error'}`;
      if (running + queued + retrying + pending === 0) {
        return this.end('Failed', message, { kind: error?.kind ?? 'User', code: error?.code ?? 'NodeFailed', message, node: failed.id });
      }
      this.top.phase = 'Running';
      this.top.message = cut(`${message}; letting ${running + queued + retrying + pending} independent node(s) finish`);
      return this.result();
    }
    this.top.phase = succeeded + running + queued + retrying > 0 || count('Failed') > 0 ? 'Running' : 'Pending';
    const parts = [`${succeeded}/${total} nodes succeeded`];
    if (running) parts.push(`${running} running`);
    if (queued) parts.push(`${queued} queued`);
    if (retrying) parts.push(`${retrying} retrying`);
    this.top.message = parts.join(', ');
    return this.result();
  }

  private succeed(cw: CompiledWorkflow): PlanResult {
    const source: ValueSource = { workflowInput: (n) => cw.inputs[n], nodeOutput: (n, o) => this.nodes[n]?.outputs?.[o] };
    const outputs: Record<string, unknown> = {};
    for (const [name, binding] of Object.entries(cw.outputs)) {
      const value = resolveBinding(binding, source);
      const mismatch = checkValue(cw.outputTypes.get(name)!, value);
      if (mismatch) {
        const message = `workflow output ${JSON.stringify(name)}: ${formatMismatch(mismatch)}`;
        return this.end('Failed', message, { kind: 'User', code: 'OutputsInvalid', message });
      }
      outputs[name] = value;
    }
    this.top.outputs = outputs;
    return this.end('Succeeded', `all ${cw.nodes.length} nodes succeeded`);
  }

  /** Stops every running pod; the workflow ends once none is left alive. */
  private stop(cw: CompiledWorkflow, final: 'Aborted' | 'Failed', message: string, error?: ExecutionError): PlanResult {
    // Pods asked for earlier in this round were never created: those nodes did not start after all.
    for (const action of this.actions) {
      if (action.type === 'CreatePod') this.nodes[action.node] = this.prev.nodes?.[action.node] ?? { phase: 'Pending' };
    }
    this.actions = this.actions.filter((a) => a.type !== 'CreatePod');
    for (const node of cw.nodes) {
      const ns = this.nodes[node.id]!;
      if (TERMINAL_NODE_PHASES.has(ns.phase)) continue;
      const started = ACTIVE.has(ns.phase) || ns.phase === 'Retrying';
      this.setNode(node.id, {
        phase: started || final === 'Aborted' ? 'Aborted' : 'Skipped',
        finishedAt: this.nowIso,
        message: started ? `stopped: ${message}` : `not run: ${message}`,
      });
    }
    const stillAlive = this.deleteLivePods(message);
    this.top.progress = `${cw.nodes.filter((n) => this.nodes[n.id]!.phase === 'Succeeded').length}/${cw.nodes.length}`;
    if (stillAlive) {
      this.top.phase = final === 'Aborted' ? 'Aborting' : 'Failing';
      this.top.message = cut(message);
      if (error) this.top.error = error;
      return this.result();
    }
    return this.end(final, message, error);
  }

  private invalid(errors: string[]): PlanResult {
    const message = cut(`invalid workflow: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more: see status.error)` : ''}`);
    this.top.startedAt ??= this.nowIso;
    this.top.observedGeneration = this.input.workflow.generation;
    this.top.progress ??= '0/0';
    this.deleteLivePods('the workflow is invalid');
    return this.end('Failed', message, { kind: 'Permanent', code: 'InvalidWorkflow', message: errors.join('\n') }, 'InvalidWorkflow');
  }

  private end(phase: WorkflowPhase, message: string, error?: ExecutionError, reason?: string): PlanResult {
    this.top.phase = phase;
    this.top.message = cut(message);
    this.top.finishedAt = this.nowIso;
    if (error) this.top.error = error;
    if (this.prev.phase !== phase) this.event(phase === 'Succeeded' || phase === 'Aborted' ? 'Normal' : 'Warning', reason ?? phase, this.top.message);
    return this.result();
  }

  /** Deletes each pod of the workflow that still runs; true if any had to be asked. */
  private deleteLivePods(reason: string): boolean {
    let any = false;
    for (const pod of this.input.pods) {
      if (!isLive(pod)) continue;
      this.deletePod(pod.metadata.annotations?.[ANNOTATIONS.node], pod, reason);
      any = true;
    }
    return any;
  }

  private deletePod(node: string | undefined, pod: Pod, reason: string): void {
    if (this.deleting.has(pod.metadata.name)) return;
    this.deleting.add(pod.metadata.name);
    this.actions.push({ type: 'DeletePod', node, podName: pod.metadata.name, reason });
  }

  /** Applies field changes to a node, keeping the old object when nothing changed so diffs stay small. */
  private setNode(id: string, fields: Partial<NodeStatus>): NodeStatus {
    const old = this.nodes[id]!;
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
    this.nodes[id] = next as NodeStatus;
    return this.nodes[id];
  }

  private pluginOf(node: CompiledNode): TaskPlugin {
    const type = node.task.spec.type ?? 'container';
    const plugin = this.input.plugins.get(type);
    if (!plugin) throw new PropellerError('NoPlugin', `no plugin for task type ${type}`);
    return plugin;
  }

  private event(type: WorkflowEvent['type'], reason: string, message: string, node?: string): void {
    this.events.push({ type, reason, message: cut(message), ...(node ? { node } : {}) });
  }

  private wake(at: number): void {
    if (this.wakeAt === undefined || at < this.wakeAt) this.wakeAt = at;
  }

  private result(): PlanResult {
    const status: WorkflowStatus = { ...dropUndefined(this.top), nodes: this.nodes };
    return {
      status,
      actions: this.actions,
      events: this.events,
      requeueAfterMs: this.wakeAt === undefined ? undefined : Math.max(0, this.wakeAt - this.now),
    };
  }
}

function mergePodOptions(workflow: WorkflowViewPodOptions, task: WorkflowViewPodOptions): NonNullable<WorkflowViewPodOptions> {
  return {
    ...workflow,
    ...task,
    labels: { ...workflow?.labels, ...task?.labels },
    annotations: { ...workflow?.annotations, ...task?.annotations },
  };
}

type WorkflowViewPodOptions = CompiledWorkflow['spec']['pod'];

/** Still running or about to: not finished and not already being deleted. */
function isLive(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

function dropUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

function cut(text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text;
}

import { TERMINAL_WORKFLOW_PHASES, type ExecutionError, type WorkflowPhase, type WorkflowStatus } from '../api/flyteworkflow.ts';
import { Codes } from '../error-codes.ts';
import type { Action, ActionFailure, ActionOutcome } from './actions.ts';
import { compileWorkflow } from './compile.ts';
import type { CompiledWorkflow } from './compiled.ts';
import { ON_FAILURE } from './compiled.ts';
import { findNode } from './find-node.ts';
import type { ScopeInstance } from './nodes/handler.ts';
import { tally } from './progress.ts';
import { afterFailedAttempt } from './retry.ts';
import { Round, cut, type PlanInput, type PlanResult } from './round.ts';
import { advanceFailable, beginFailure, handlerScope, initScope, isHandlerPath, observeFailable, stopScope, type FailableResult } from './scope.ts';
import { formatDuration } from './types/index.ts';

export type { Action, ActionOutcome, ActionFailure, CacheEntryView } from './actions.ts';
export type { PlanConfig, PlanInput, PlanResult, WorkflowEvent, WorkflowView } from './round.ts';

/**
 * One reconcile decision, pure: from the workflow and what it owns (pods, cache entries), the next
 * status and the actions that move the world towards it. Running it again on its own output with the
 * same observations changes nothing. Given the outcomes of actions that failed, it settles them
 * (a refused pod fails its attempt, a pod that could not be created waits for the next round) and
 * starts nothing new.
 */
export function plan(input: PlanInput): PlanResult {
  const prev = input.workflow.status ?? {};
  if (prev.phase && TERMINAL_WORKFLOW_PHASES.has(prev.phase)) return finished(input, prev.phase);
  const compiled = input.compiled ?? compileWorkflow(input.workflow.spec, { maxNodes: input.config.maxNodes, maxDepth: input.config.maxDepth });
  if (!compiled.ok) return invalid(input, compiled.errors);
  const cw = compiled.workflow;
  const own = input.config.ownServiceAccount;
  const podAccount = cw.spec.serviceAccountName ?? 'default';
  if (own && own.namespace === input.workflow.namespace && own.name === podAccount) {
    const why = cw.spec.serviceAccountName ? `"${podAccount}" is` : `unset, so the namespace's "default" would be used, and that is`;
    return invalid(input, [`workflow: serviceAccountName: ${why} the propeller's own service account; task pods may never run as it (name another one)`]);
  }
  return new WorkflowRound(input, cw).run();
}

/** Finished already; only make sure nothing it started is left running (a crash between writes). */
function finished(input: PlanInput, phase: WorkflowPhase): PlanResult {
  const round = new Round(input, undefined);
  round.deleteLivePods(`workflow is ${phase}`);
  // The round that finished it may have asked to write its last node's cache entry: a failed write shows on the node.
  let settled = false;
  for (const outcome of input.outcomes ?? []) {
    if (outcome.ok || outcome.action.type !== 'WriteCache') continue;
    cacheWriteFailed(round, outcome.action, outcome.failure);
    settled = true;
  }
  const status = settled ? { ...input.workflow.status!, nodes: round.nodes } : input.workflow.status!;
  return { status, actions: round.actions, events: [], requeueAfterMs: undefined };
}

function cacheWriteFailed(round: Round, action: Extract<Action, { type: 'WriteCache' }>, failure: ActionFailure): void {
  round.set(action.node, { cache: 'Miss', message: cut(`could not write cache entry ${action.entry.name}: ${failure.message}`) });
}

function invalid(input: PlanInput, errors: string[]): PlanResult {
  const round = new Round(input, undefined);
  const prev = input.workflow.status ?? {};
  const { nodes, ...top } = prev;
  const message = cut(`invalid workflow: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more: see status.error)` : ''}`);
  round.deleteLivePods('the workflow is invalid');
  const status: WorkflowStatus = dropUndefined({
    ...top,
    startedAt: top.startedAt ?? round.nowIso,
    observedGeneration: input.workflow.generation,
    progress: top.progress ?? '0/0',
    phase: 'Failed' as const,
    message,
    finishedAt: round.nowIso,
    error: { kind: 'Permanent' as const, code: Codes.InvalidWorkflow, message: errors.join('\n') },
    nodes: { ...nodes },
  });
  const events = prev.phase !== 'Failed' ? [{ type: 'Warning' as const, reason: 'InvalidWorkflow', message }] : [];
  return { status, actions: round.actions, events, requeueAfterMs: undefined };
}

/** The workflow's state machine around its root scope: Pending → Running → Succeeded, or Failing → Failed, or Aborting → Aborted. */
class WorkflowRound {
  private readonly round: Round;
  private readonly cw: CompiledWorkflow;
  private readonly top: Omit<WorkflowStatus, 'nodes'>;
  private readonly root: ScopeInstance;

  constructor(input: PlanInput, cw: CompiledWorkflow) {
    this.round = new Round(input, cw);
    this.cw = cw;
    const { nodes: _nodes, ...top } = this.round.prev;
    this.top = { ...top };
    const round = this.round;
    const source = {
      workflowInput: (name: string) => cw.inputs[name],
      nodeOutput: (node: string, output: string) => round.status(node)?.outputs?.[output],
    };
    this.root = { prefix: '', template: cw, bindings: source, own: source, policy: cw.failurePolicy };
  }

  run(): PlanResult {
    const { round, cw } = this;
    const wf = round.input.workflow;
    const prev = round.prev;
    if (!prev.phase) {
      this.top.phase = 'Pending';
      this.top.startedAt = round.nowIso;
      round.event('Normal', 'Started', `workflow started with ${cw.nodes.length} node${cw.nodes.length === 1 ? '' : 's'}`);
    }
    if (prev.observedGeneration !== wf.generation) this.warnUnknownSignals();
    this.top.observedGeneration = wf.generation;
    initScope(round, this.root);
    this.settle(round.input.outcomes ?? []);

    // Stopping is one-way: clearing spec.abort while pods are being deleted must not restart the workflow.
    if (prev.phase === 'Aborting') return this.abort(prev.message ?? 'aborted');
    if (prev.phase === 'Failing') {
      const error = prev.error ?? { kind: 'User', code: Codes.NodeFailed, message: prev.message ?? 'failed' };
      stopScope(round, this.root, 'Failed', error.message);
      if (wf.deletionTimestamp || cw.spec.abort) this.stopHandler(wf.deletionTimestamp ? 'the FlyteWorkflow is being deleted' : 'aborted: spec.abort is true');
      return this.failing(observeFailable(round, this.root, error));
    }
    if (wf.deletionTimestamp) return this.abort('the FlyteWorkflow is being deleted');
    if (cw.spec.abort) return this.abort('aborted: spec.abort is true');
    if (cw.timeoutMs !== undefined) {
      const deadline = Date.parse(this.top.startedAt ?? round.nowIso) + cw.timeoutMs;
      if (round.now >= deadline) {
        const message = `the workflow exceeded its timeout of ${formatDuration(cw.timeoutMs)}`;
        return this.failing(beginFailure(round, this.root, { kind: 'User', code: Codes.WorkflowTimedOut, message }));
      }
      round.wake(deadline);
    }

    const observed = observeFailable(round, this.root, undefined);
    if (observed.kind === 'failed' || observed.kind === 'failing') return this.failing(observed);
    const limit = cw.spec.maxParallelism ?? round.input.config.defaultMaxParallelism;
    round.parallelism = limit;
    round.budget = limit === 0 ? Infinity : limit - round.activeTasks;
    const advanced = advanceFailable(round, this.root, undefined);
    if (advanced.kind === 'succeeded') return this.end('Succeeded', `all ${tally(round, cw).total} nodes succeeded`, undefined, advanced.outputs);
    if (advanced.kind === 'running') return this.running();
    return this.failed(advanced);
  }

  /**
   * Signals that name no gate (a typo, a branch's path) would wait forever unnoticed: say so once per
   * change of the spec, when the signal arrives.
   */
  private warnUnknownSignals(): void {
    for (const path of Object.keys(this.cw.signals)) {
      const node = findNode(this.cw, path);
      if (node?.kind === 'gate') continue;
      const why = node ? `${JSON.stringify(path)} is a ${node.kind} node, not a gate` : `no gate has the path ${JSON.stringify(path)}`;
      this.round.event('Warning', 'SignalUnknown', `spec.signals: ${why}; the signal is ignored`);
    }
  }

  /** The outcomes of actions an earlier call asked for that did not happen, settled like anything else. */
  private settle(outcomes: readonly ActionOutcome[]): void {
    const { round } = this;
    for (const outcome of outcomes) {
      if (outcome.ok) continue;
      const { action, failure } = outcome;
      // Cache bookkeeping is best effort: a lost write costs a later miss, not a retry of the round.
      if (failure.kind !== 'NotRun' && action.type !== 'RenewCache' && action.type !== 'ReleaseCache' && action.type !== 'WriteCache') round.retry = true;
      if (action.type === 'CreatePod') {
        const node = findNode(this.cw, action.node);
        if (failure.kind === 'Rejected' && node) {
          round.retry = false;
          const message = `the API server rejected the pod: ${failure.message}`;
          const result = afterFailedAttempt(round.init(action.node), { kind: 'Permanent', code: Codes.PodRejected, message, node: action.node }, node.retries, round.input.config, round.now);
          round.replace(action.node, result.status);
          round.event('Warning', 'NodeFailed', result.status.message!, action.node);
          continue;
        }
        const why = failure.kind === 'Quota' ? 'waiting for resource quota' : failure.kind === 'NameTaken' ? 'waiting' : 'could not create pod';
        const before = action.previous ?? { phase: 'Pending' as const };
        round.replace(action.node, failure.kind === 'NotRun' ? before : { ...before, message: cut(`${why}: ${failure.message}`) });
      } else if (action.type === 'CreateChild') {
        // The node stays as it was and the round is retried; its message says why (a quota on
        // FlyteWorkflows, a foreign object holding the child's name) instead of a silent Pending.
        const why = failure.kind === 'Quota' ? 'waiting for resource quota' : 'could not create child execution';
        const before = action.previous ?? { phase: 'Pending' as const };
        round.replace(action.node, failure.kind === 'NotRun' ? before : { ...before, message: cut(`${why}: ${failure.message}`) });
      } else if (action.type === 'WriteCache') {
        cacheWriteFailed(round, action, failure);
      } else if (action.type === 'ReserveCache') {
        round.set(action.node, { message: cut(`could not reserve cache entry ${action.entry.name}: ${failure.message}`) });
      }
    }
  }

  /** Stops everything; the workflow ends Aborted once no pod of it is left alive. */
  private abort(message: string): PlanResult {
    const { round } = this;
    stopScope(round, this.root, 'Aborted', message);
    this.stopHandler(message);
    const alive = round.deleteLivePods(message);
    this.progress();
    if (alive) {
      this.top.phase = 'Aborting';
      this.top.message = cut(message);
      return this.result();
    }
    return this.end('Aborted', message);
  }

  private stopHandler(message: string): void {
    const handler = handlerScope(this.root, this.top.error);
    if (handler && this.round.status(ON_FAILURE)) stopScope(this.round, handler, 'Aborted', message);
  }

  /** A failure seen while observing: its handler, if any, may start in the same round. */
  private failing(result: FailableResult): PlanResult {
    return this.failed(result.kind === 'failing' ? advanceFailable(this.round, this.root, result.error) : result);
  }

  /** Failing: its nodes are stopped; it ends Failed once its handler is done and no pod is left alive. */
  private failed(result: FailableResult): PlanResult {
    const { round } = this;
    if (result.kind !== 'failing' && result.kind !== 'failed') return this.running();
    const error = result.error;
    const alive = round.deleteLivePods(error.message, (path) => result.kind === 'failing' && isHandlerPath(this.root, path));
    this.progress();
    if (result.kind === 'failing' || alive) {
      this.top.phase = 'Failing';
      this.top.message = cut(result.kind === 'failing' ? `${error.message}; running the failure handler` : error.message);
      this.top.error = error;
      return this.result();
    }
    return this.end('Failed', error.message, error);
  }

  private running(): PlanResult {
    const { round, cw } = this;
    const t = this.progress();
    const failed = cw.nodes.find((n) => round.status(n.id)?.phase === 'Failed');
    if (failed) {
      const error = round.status(failed.id)!.error;
      const message = error?.node !== undefined && error.node !== failed.id ? error.message : `node ${JSON.stringify(failed.id)} failed: ${error?.message ?? 'unknown error'}`;
      const unfinished = t.running + t.queued + t.retrying + t.pending + t.waiting.length;
      this.top.phase = 'Running';
      this.top.message = cut(`${message}; letting ${unfinished} independent node(s) finish`);
      return this.result();
    }
    const started = t.succeeded + t.running + t.queued + t.retrying + t.waiting.length > 0;
    this.top.phase = started ? 'Running' : 'Pending';
    const parts = [`${t.succeeded}/${t.total} nodes succeeded`];
    if (t.running) parts.push(`${t.running} running`);
    if (t.queued) parts.push(`${t.queued} queued`);
    if (t.retrying) parts.push(`${t.retrying} retrying`);
    if (t.waiting.length) parts.push(`${t.waiting.length} waiting (${t.waiting.slice(0, 3).join(', ')}${t.waiting.length > 3 ? ', …' : ''})`);
    this.top.message = cut(parts.join(', '));
    return this.result();
  }

  private progress(): ReturnType<typeof tally> {
    const t = tally(this.round, this.cw);
    this.top.progress = `${t.succeeded}/${t.total}${t.cached ? ` (${t.cached} cached)` : ''}`;
    return t;
  }

  private end(phase: WorkflowPhase, message: string, error?: ExecutionError, outputs?: Record<string, unknown>): PlanResult {
    this.progress();
    this.top.phase = phase;
    this.top.message = cut(message);
    this.top.finishedAt = this.round.nowIso;
    if (error) this.top.error = error;
    if (outputs) this.top.outputs = outputs;
    if (this.round.prev.phase !== phase) this.round.event(phase === 'Succeeded' || phase === 'Aborted' ? 'Normal' : 'Warning', phase, this.top.message);
    return this.result();
  }

  private result(): PlanResult {
    const { round } = this;
    const status: WorkflowStatus = { ...dropUndefined(this.top), nodes: round.nodes };
    return {
      status,
      actions: round.actions,
      events: round.events,
      requeueAfterMs: round.wakeAt === undefined ? undefined : Math.max(0, round.wakeAt - round.now),
      ...(round.retry ? { retry: true } : {}),
      ...(round.watching.size ? { waitingFor: [...round.watching] } : {}),
    };
  }
}

function dropUndefined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

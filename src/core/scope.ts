import { TERMINAL_NODE_PHASES, type ExecutionError, type NodePhase, type NodeStatus } from '../api/flyteworkflow.ts';
import { Codes } from '../error-codes.ts';
import { resolveBinding, type ValueSource } from './bindings.ts';
import type { CompiledNode, CompiledScope } from './compiled.ts';
import { ON_FAILURE } from './compiled.ts';
import type { NodeContext, ScopeInstance } from './nodes/handler.ts';
import { handlerOf } from './nodes/registry.ts';
import { readiness } from './readiness.ts';
import { afterFailedAttempt } from './retry.ts';
import type { Round } from './round.ts';
import { checkValue, formatMismatch } from './types/index.ts';

/** Phases of a node that is doing something: a task's pod exists, a gate waits, a container runs children. */
export const ACTIVE: ReadonlySet<NodePhase> = new Set(['Queued', 'Running', 'Failing']);
/** Phases in which a task node's pod is expected to exist. */
export const POD_ACTIVE: ReadonlySet<NodePhase> = new Set(['Queued', 'Running']);

export type ScopeOutcome = { kind: 'running' } | { kind: 'succeeded'; outputs: Record<string, unknown> } | { kind: 'failed'; error: ExecutionError };

export function contextOf<N extends CompiledNode>(round: Round, scope: ScopeInstance, node: N): NodeContext<N> {
  const path = scope.prefix + node.id;
  return {
    round,
    node,
    path,
    scope,
    status: () => round.init(path),
    set: (fields) => round.set(path, fields),
    inputs: () => resolveInputs(node, scope.bindings),
    failAttempt: (error) => failAttempt(round, node, path, error),
    fail: (error) => failNode(round, path, error),
    succeed: (outputs, fields) =>
      void round.set(path, { phase: 'Succeeded', outputs, finishedAt: round.nowIso, message: undefined, error: undefined, attemptStartedAt: undefined, readyAt: undefined, ...fields }),
  };
}

/** A node's input values: each declared input from its binding, or null when an Optional input is unbound. */
export function resolveInputs(node: CompiledNode, source: ValueSource): Record<string, unknown> {
  return Object.fromEntries([...node.inputTypes.keys()].map((name) => [name, Object.hasOwn(node.inputs, name) ? resolveBinding(node.inputs[name]!, source) : null]));
}

function failAttempt(round: Round, node: CompiledNode, path: string, error: Omit<ExecutionError, 'node'>): void {
  const outcome = afterFailedAttempt(round.init(path), { ...error, node: path }, node.retries, round.input.config, round.now);
  round.replace(path, outcome.status);
  if (outcome.retry) {
    round.event('Warning', 'NodeRetrying', outcome.status.message!, path);
    round.wake(round.now + outcome.delayMs);
  } else {
    round.event('Warning', 'NodeFailed', outcome.status.message!, path);
  }
}

/** Fails a node for good. A failure that started deeper (a subworkflow's node) was announced there already. */
function failNode(round: Round, path: string, error: ExecutionError): void {
  const own = error.node === undefined || error.node === path;
  const full: ExecutionError = { ...error, node: error.node ?? path };
  round.set(path, { phase: 'Failed', finishedAt: round.nowIso, message: error.message, error: full, nextAttemptAt: undefined });
  if (own) round.event('Warning', 'NodeFailed', error.message, path);
}

/** Every node of a scope gets a status: a scope's nodes show up when it starts. */
export function initScope(round: Round, scope: ScopeInstance): void {
  for (const node of scope.template.nodes) round.init(scope.prefix + node.id);
}

/** Phase one of a round: every unfinished node takes in what was observed. Nothing starts. */
export function observeScope(round: Round, scope: ScopeInstance): void {
  for (const node of scope.template.nodes) {
    const path = scope.prefix + node.id;
    const status = round.status(path);
    if (!status) continue;
    const terminal = TERMINAL_NODE_PHASES.has(status.phase);
    // Most nodes of a big workflow are finished tasks with nothing left to clean up (no pod, no cache
    // reservation to give back): skip them cheaply.
    if (terminal && node.kind === 'task' && !round.pods(path) && !node.task.spec.cache?.serialize) continue;
    const handler = handlerOf(node);
    const ctx = contextOf(round, scope, node);
    if (!terminal) handler.observe(ctx);
    handler.tidy?.(ctx);
    if (node.kind === 'task' && POD_ACTIVE.has(round.status(path)!.phase)) {
      round.activeTasks++;
      // A scope that starts mid-round may adopt pods of a round whose status was lost: they take slots too.
      round.budget--;
    }
  }
}

/**
 * Phase two: in dependency order, skip what can never run, start what is ready (a handler that needs a
 * pod slot checks maxParallelism itself), and let active nodes start what they run inside. Under
 * FailImmediately the first node that fails as it starts stops the pass.
 */
export function advanceScope(round: Round, scope: ScopeInstance): void {
  for (const node of scope.template.nodes) {
    const path = scope.prefix + node.id;
    const status = round.init(path);
    if (TERMINAL_NODE_PHASES.has(status.phase)) continue;
    const handler = handlerOf(node);
    const ctx = contextOf(round, scope, node);
    if (status.phase === 'Pending') {
      const ready = readiness(round, scope, node);
      if (ready.kind === 'skip') {
        round.set(path, { phase: 'Skipped', finishedAt: round.nowIso, message: `skipped: upstream node ${JSON.stringify(scope.prefix + ready.upstream)} is ${ready.phase.toLowerCase()}` });
        continue;
      }
      if (ready.kind === 'wait' || round.settling) continue;
      if (handler.start(ctx) === 'failed' && scope.policy === 'FailImmediately') return;
    } else if (status.phase === 'Retrying') {
      const due = Date.parse(status.nextAttemptAt ?? '') || round.now;
      if (round.now < due) round.wake(due);
      else if (!round.settling && handler.start(ctx) === 'failed' && scope.policy === 'FailImmediately') return;
    } else if (ACTIVE.has(status.phase)) {
      handler.advance?.(ctx);
    }
  }
}

/**
 * Where a scope stands: succeeded once every node did (its outputs resolved and checked), failed once
 * a node failed and the failure policy says so (at once, or when nothing else can run), else running.
 */
export function scopeOutcome(round: Round, scope: ScopeInstance): ScopeOutcome {
  let failed: { path: string; status: NodeStatus } | undefined;
  let runnable = false;
  let succeeded = 0;
  for (const node of scope.template.nodes) {
    const path = scope.prefix + node.id;
    const status = round.status(path);
    const phase = status?.phase ?? 'Pending';
    if (phase === 'Succeeded') succeeded++;
    else if (phase === 'Failed') failed ??= { path, status: status! };
    else if (!TERMINAL_NODE_PHASES.has(phase)) runnable = true;
  }
  if (failed && (scope.policy === 'FailImmediately' || !runnable)) return { kind: 'failed', error: scopeError(failed.path, failed.status) };
  if (succeeded === scope.template.nodes.length) return resolveOutputs(scope);
  if (!runnable) {
    const message = `nodes of ${scope.prefix ? JSON.stringify(scope.prefix.slice(0, -1)) : 'the workflow'} ended without all succeeding`;
    return { kind: 'failed', error: { kind: 'System', code: Codes.NodeFailed, message } };
  }
  return { kind: 'running' };
}

/** The error a scope fails with when one of its nodes failed: the deepest node that failed, named once. */
export function scopeError(path: string, status: NodeStatus): ExecutionError {
  const error = status.error;
  if (error?.node !== undefined && error.node !== path) return error;
  const message = `node ${JSON.stringify(path)} failed: ${error?.message ?? 'unknown error'}`;
  return { kind: error?.kind ?? 'User', code: error?.code ?? Codes.NodeFailed, message, node: path };
}

function resolveOutputs(scope: ScopeInstance): ScopeOutcome {
  const outputs: Record<string, unknown> = {};
  for (const [name, binding] of Object.entries(scope.template.outputs)) {
    const value = resolveBinding(binding, scope.own);
    const mismatch = checkValue(scope.template.outputTypes.get(name)!, value);
    if (mismatch) {
      const whose = scope.prefix ? `output ${JSON.stringify(name)} of ${JSON.stringify(scope.prefix.slice(0, -1))}` : `workflow output ${JSON.stringify(name)}`;
      return { kind: 'failed', error: { kind: 'User', code: Codes.OutputsInvalid, message: `${whose}: ${formatMismatch(mismatch)}` } };
    }
    outputs[name] = value;
  }
  return { kind: 'succeeded', outputs };
}

/**
 * Stops every unfinished node of a scope: what had started ends Aborted, what had not ends Skipped (or
 * Aborted when the whole workflow is aborted). What this round asked for a node is taken back first, so a
 * pod asked for a moment ago is never created. The round's sweep deletes the pods.
 */
export function stopScope(round: Round, scope: ScopeInstance, final: 'Aborted' | 'Failed', message: string): void {
  for (const node of scope.template.nodes) {
    const path = scope.prefix + node.id;
    let status = round.status(path);
    if (!status || TERMINAL_NODE_PHASES.has(status.phase)) continue;
    if (round.takeBack(path)) status = round.status(path)!;
    const started = ACTIVE.has(status.phase) || status.phase === 'Retrying';
    handlerOf(node).abort?.(contextOf(round, scope, node), { final, message });
    round.set(path, {
      phase: started || final === 'Aborted' ? 'Aborted' : 'Skipped',
      finishedAt: round.nowIso,
      message: started ? `stopped: ${message}` : `not run: ${message}`,
      nextAttemptAt: undefined,
    });
  }
}

export type FailableResult = ScopeOutcome | { kind: 'failing'; error: ExecutionError };

/**
 * A scope that can have a failure handler (the workflow, a subworkflow). `failing` is the error it is
 * failing with, persisted by its owner between rounds. Once it fails, its other nodes are stopped and the
 * handler runs; it ends failed with the original error, or the handler's if the handler fails too.
 */
export function observeFailable(round: Round, scope: ScopeInstance, failing: ExecutionError | undefined): FailableResult {
  if (failing) return handleFailure(round, scope, failing, 'observe');
  observeScope(round, scope);
  const outcome = scopeOutcome(round, scope);
  return outcome.kind === 'failed' ? beginFailure(round, scope, outcome.error) : outcome;
}

export function advanceFailable(round: Round, scope: ScopeInstance, failing: ExecutionError | undefined): FailableResult {
  if (failing) return handleFailure(round, scope, failing, 'advance');
  advanceScope(round, scope);
  const outcome = scopeOutcome(round, scope);
  if (outcome.kind !== 'failed') return outcome;
  const begun = beginFailure(round, scope, outcome.error);
  return begun.kind === 'failing' ? handleFailure(round, scope, begun.error, 'advance') : begun;
}

/** Stops the scope's nodes and readies its handler, if it has one. */
export function beginFailure(round: Round, scope: ScopeInstance, error: ExecutionError): FailableResult {
  stopScope(round, scope, 'Failed', error.message);
  round.deleteLivePods(error.message, (path) => !inScope(scope, path) || isHandlerPath(scope, path));
  const handler = handlerScope(scope, error);
  if (!handler) return { kind: 'failed', error };
  initScope(round, handler);
  // A crash may have lost the status of a round that had already started the handler: adopt its pod.
  observeScope(round, handler);
  return { kind: 'failing', error };
}

function handleFailure(round: Round, scope: ScopeInstance, error: ExecutionError, phase: 'observe' | 'advance'): FailableResult {
  const handler = handlerScope(scope, error);
  if (phase === 'observe') tidyScope(round, scope);
  if (!handler) return { kind: 'failed', error };
  round.init(handler.prefix + ON_FAILURE);
  if (phase === 'observe') observeScope(round, handler);
  else advanceScope(round, handler);
  const outcome = scopeOutcome(round, handler);
  if (outcome.kind === 'running') return { kind: 'failing', error };
  // A handler stopped before it finished (the workflow was aborted while it ran) leaves the original error.
  const handlerFailed = round.status(handler.prefix + ON_FAILURE)?.phase === 'Failed';
  return { kind: 'failed', error: outcome.kind === 'failed' && handlerFailed ? outcome.error : error };
}

/** The failure handler of a scope, as a scope of one node that reads the scope's inputs and the error. */
export function handlerScope(scope: ScopeInstance, error: ExecutionError | undefined): ScopeInstance | undefined {
  const template: CompiledScope | undefined = scope.template.onFailure;
  if (!template) return undefined;
  const errorFields: Record<string, unknown> = { message: error?.message ?? '', code: error?.code ?? '', kind: error?.kind ?? '', node: error?.node ?? null };
  const bindings: ValueSource = {
    workflowInput: (name) => scope.own.workflowInput(name),
    nodeOutput: (node, output) => (node === 'error' ? errorFields[output] : undefined),
  };
  return { prefix: scope.prefix, template, bindings, own: bindings, policy: 'FailImmediately', unbudgeted: true };
}

/** Whether a pod's node path lies inside a scope (any pod does for the workflow's own scope). */
function inScope(scope: ScopeInstance, path: string | undefined): boolean {
  return scope.prefix === '' || (path !== undefined && path.startsWith(scope.prefix));
}

export function isHandlerPath(scope: ScopeInstance, path: string | undefined): boolean {
  const handler = scope.prefix + ON_FAILURE;
  return path !== undefined && (path === handler || path.startsWith(`${handler}/`));
}

/** Every node of a finished scope tidies up after itself (a pod of a failed attempt still alive, say). */
export function tidyScope(round: Round, scope: ScopeInstance): void {
  for (const node of scope.template.nodes) {
    if (round.status(scope.prefix + node.id)) handlerOf(node).tidy?.(contextOf(round, scope, node));
  }
}

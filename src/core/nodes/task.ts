import type { PodOptions } from '../../api/flyteworkflow.ts';
import { WORKFLOW_LABELS } from '../../api/labels.ts';
import type { Pod } from '../../api/pod.ts';
import { Codes } from '../../error-codes.ts';
import { PropellerError } from '../../errors.ts';
import type { CompiledTaskNode } from '../compiled.ts';
import { podName } from '../names.ts';
import { parseOutputs } from '../outputs.ts';
import { quote } from '../quote.ts';
import type { TaskPlugin } from '../task-plugin.ts';
import { formatDuration, parseDuration } from '../types/index.ts';
import { isLive } from '../round.ts';
import { POD_ACTIVE } from '../scope.ts';
import { cacheOnFailure, cacheOnStart, cacheOnSuccess, cacheWhileRunning } from './task-cache.ts';
import type { NodeCompileInput, NodeCompiler, NodeContext, NodeHandler, StartResult } from './handler.ts';
import { checkNodeInputs } from './inputs.ts';

export function compileTaskNode(c: NodeCompiler, input: NodeCompileInput): CompiledTaskNode | undefined {
  const { spec, where } = input;
  const name = spec.task!;
  const task = c.tasks.has(name) ? c.tasks.get(name) : undefined;
  if (!task) {
    c.errors.push(`${where}: task: unknown task ${quote(name)}`);
    return undefined;
  }
  checkNodeInputs(c, input, task.inputs, new Set(Object.keys(task.spec.interface?.inputs ?? {})), `task ${quote(task.name)}`);
  const timeoutMs = spec.timeout !== undefined ? input.timeoutMs : task.spec.timeout === undefined ? undefined : parseDuration(task.spec.timeout);
  return {
    kind: 'task',
    id: input.id,
    task,
    inputs: spec.inputs ?? {},
    inputTypes: task.inputs,
    outputTypes: task.outputs,
    upstream: [],
    downstream: [],
    retries: spec.retries ?? task.spec.retries ?? 0,
    timeoutMs,
  };
}

/** A task node runs one pod per attempt, built by its task's plugin. */
export const taskHandler: NodeHandler<CompiledTaskNode> = {
  kind: 'task',

  start(ctx) {
    const status = ctx.status();
    if (status.phase === 'Pending') {
      const cached = cacheOnStart(ctx);
      if (cached === 'hit') return 'started';
      if (cached === 'wait') return 'blocked';
    }
    const { round } = ctx;
    if (!ctx.scope.unbudgeted && round.budget <= 0) {
      if (status.phase === 'Pending') {
        ctx.set({ readyAt: status.readyAt ?? round.nowIso, message: `waiting: at most ${round.parallelism} task pods run at once (maxParallelism)` });
        // A cache holder waiting for a slot keeps its reservation, or a waiter would take it over.
        cacheWhileRunning(ctx);
      }
      return 'blocked';
    }
    return startAttempt(ctx, status.phase === 'Pending' ? 0 : (status.attempts ?? 1));
  },

  /** Brings the node up to date with its pod, adopting a pod a crashed round created but never recorded. */
  observe(ctx) {
    const { round, node, path } = ctx;
    let status = ctx.status();
    const pods = round.pods(path);
    const newest = pods && pods.size ? Math.max(...pods.keys()) : undefined;
    if (newest !== undefined && newest >= (status.attempts ?? 0)) {
      const pod = pods!.get(newest)!;
      status = ctx.set({
        phase: 'Queued',
        attempts: newest + 1,
        podName: pod.metadata.name,
        attemptStartedAt: pod.metadata.creationTimestamp ?? round.nowIso,
        startedAt: status.startedAt ?? pod.metadata.creationTimestamp ?? round.nowIso,
        nextAttemptAt: undefined,
        message: undefined,
      });
    }
    if (!POD_ACTIVE.has(status.phase)) {
      // So does one waiting out its backoff.
      if (status.phase === 'Retrying') cacheWhileRunning(ctx);
      return;
    }

    const pod = pods?.get((status.attempts ?? 1) - 1);
    if (!pod) {
      failAttempt(ctx, { kind: 'System', code: Codes.PodDeletedExternally, message: `pod ${status.podName ?? '(unknown)'} disappeared before it finished` });
      return;
    }
    const attemptStartedAt = Date.parse(status.attemptStartedAt ?? '') || round.now;
    const obs = pluginOf(ctx).observe(pod, { now: round.now, attemptStartedAt, imagePullGraceMs: round.input.config.imagePullGraceMs });
    switch (obs.phase) {
      case 'Queued':
        ctx.set({ phase: 'Queued', message: obs.reason ? `waiting: ${obs.reason}${obs.message ? `: ${obs.message}` : ''}` : undefined });
        if (obs.pullProblem) round.wake(attemptStartedAt + round.input.config.imagePullGraceMs);
        break;
      case 'Running':
        ctx.set({ phase: 'Running', message: undefined });
        break;
      case 'Succeeded': {
        const outputs = parseOutputs(obs.outputsText, node.task.outputs);
        if (outputs.ok) {
          // What only matters while a node waits or runs goes: a finished node costs every later write.
          ctx.succeed(outputs.outputs);
          cacheOnSuccess(ctx, outputs.outputs);
        } else {
          failAttempt(ctx, { kind: 'User', code: outputs.code, message: outputs.message });
        }
        return;
      }
      case 'Failed':
        failAttempt(ctx, obs.error);
        return;
    }
    cacheWhileRunning(ctx);
    if (node.timeoutMs !== undefined) {
      const deadline = attemptStartedAt + node.timeoutMs;
      if (round.now >= deadline) {
        round.deletePod(path, pod, 'attempt timed out');
        failAttempt(ctx, { kind: 'User', code: Codes.TimedOut, message: `the attempt exceeded its timeout of ${formatDuration(node.timeoutMs)}` });
      } else {
        round.wake(deadline);
      }
    }
  },

  /**
   * Deletes live pods that no longer carry the node's current attempt: the pod of a failed attempt that
   * never terminated (a permanent image or config error), or an older attempt's pod that reappeared.
   */
  tidy(ctx) {
    const status = ctx.status();
    const current = POD_ACTIVE.has(status.phase) ? (status.attempts ?? 1) - 1 : undefined;
    for (const [attempt, pod] of ctx.round.pods(ctx.path) ?? []) {
      if (attempt !== current && isLive(pod)) {
        ctx.round.deletePod(ctx.path, pod, attempt === (status.attempts ?? 0) - 1 ? 'the attempt failed' : 'superseded by a newer attempt');
      }
    }
    // A node that failed elsewhere than in this handler (the API server refused its pod: the round's
    // outcomes fail it) still holds its cache reservation: give it back, or waiters wait for it to lapse.
    if (status.phase === 'Failed') cacheOnFailure(ctx);
  },

  abort(ctx) {
    cacheOnFailure(ctx);
  },
};

function failAttempt(ctx: NodeContext<CompiledTaskNode>, error: Parameters<NodeContext['failAttempt']>[0]): void {
  ctx.failAttempt(error);
  if (ctx.status().phase === 'Failed') cacheOnFailure(ctx);
  else cacheWhileRunning(ctx);
}

/** Asks for the attempt's pod; 'failed' when the pod cannot be built and the attempt failed at once. */
function startAttempt(ctx: NodeContext<CompiledTaskNode>, attempt: number): StartResult {
  const { round, node, path } = ctx;
  const previous = ctx.status();
  const wf = round.input.workflow;
  const name = podName(wf.name, path, attempt);
  let pod: Pod;
  try {
    pod = pluginOf(ctx).buildPod({
      workflow: {
        name: wf.name,
        namespace: wf.namespace,
        uid: wf.uid,
        project: wf.labels?.[WORKFLOW_LABELS.project] ?? '',
        domain: wf.labels?.[WORKFLOW_LABELS.domain] ?? '',
      },
      node: path,
      attempt,
      podName: name,
      task: node.task,
      inputs: ctx.inputs(),
      serviceAccountName: round.cw.spec.serviceAccountName,
      pod: mergePodOptions(round.cw.spec.pod, node.task.spec.pod),
    });
  } catch (err) {
    const code = err instanceof PropellerError ? err.code : Codes.PodBuildFailed;
    ctx.set({ attempts: attempt + 1 });
    failAttempt(ctx, { kind: 'Permanent', code, message: err instanceof Error ? err.message : String(err) });
    return 'failed';
  }
  round.act({ type: 'CreatePod', node: path, attempt, pod, previous: round.prev.nodes?.[path] ?? previous });
  round.budget--;
  ctx.set({
    phase: 'Queued',
    attempts: attempt + 1,
    podName: name,
    attemptStartedAt: round.nowIso,
    startedAt: previous.startedAt ?? round.nowIso,
    readyAt: previous.readyAt ?? round.nowIso,
    nextAttemptAt: undefined,
    message: undefined,
  });
  if (node.timeoutMs !== undefined) round.wake(round.now + node.timeoutMs);
  return 'started';
}

function pluginOf(ctx: NodeContext<CompiledTaskNode>): TaskPlugin {
  const type = ctx.node.task.spec.type ?? 'container';
  const plugin = ctx.round.input.plugins.get(type);
  if (!plugin) throw new PropellerError(Codes.NoPlugin, `no plugin for task type ${type}`);
  return plugin;
}

function mergePodOptions(workflow: PodOptions | undefined, task: PodOptions | undefined): PodOptions {
  return {
    ...workflow,
    ...task,
    labels: { ...workflow?.labels, ...task?.labels },
    annotations: { ...workflow?.annotations, ...task?.annotations },
  };
}

import type { ValueSource } from '../bindings.ts';
import type { CompiledSubworkflowNode } from '../compiled.ts';
import { quote } from '../quote.ts';
import { TERMINAL_NODE_PHASES } from '../../api/flyteworkflow.ts';
import { advanceFailable, handlerScope, initScope, observeFailable, observeScope, stopScope, tidyScope, type FailableResult } from '../scope.ts';
import { resolveInputs } from '../scope.ts';
import type { NodeCompileInput, NodeCompiler, NodeContext, NodeHandler, ScopeInstance } from './handler.ts';
import { checkNodeInputs } from './inputs.ts';

export function compileSubworkflowNode(c: NodeCompiler, input: NodeCompileInput): CompiledSubworkflowNode | undefined {
  const { spec, where } = input;
  const scope = c.subworkflow(spec.subworkflow!);
  if (typeof scope === 'string') {
    c.errors.push(`${where}: subworkflow: ${scope}`);
    return undefined;
  }
  checkNodeInputs(c, input, scope.inputTypes, new Set(scope.inputTypes.keys()), `subworkflow ${quote(scope.name)}`);
  return { kind: 'subworkflow', id: input.id, scope, inputs: spec.inputs ?? {}, inputTypes: scope.inputTypes, outputTypes: scope.outputTypes, upstream: [], downstream: [], retries: 0, timeoutMs: undefined };
}

/**
 * A subworkflow node runs a whole workflow inside itself: its nodes' statuses sit under the node's
 * path ("train/split"), they follow the workflow's failure policy and count towards its maxParallelism.
 * When the subworkflow fails, its other nodes stop and its failure handler runs (phase Failing); the node
 * then fails with the original error, or the handler's if the handler failed too.
 */
export const subworkflowHandler: NodeHandler<CompiledSubworkflowNode> = {
  kind: 'subworkflow',

  start(ctx) {
    ctx.set({ phase: 'Running', startedAt: ctx.status().startedAt ?? ctx.round.nowIso, readyAt: undefined, message: undefined });
    const scope = instance(ctx);
    initScope(ctx.round, scope);
    // A crash may have lost the status of a round that had created pods for these nodes: adopt them first.
    observeScope(ctx.round, scope);
    apply(ctx, advanceFailable(ctx.round, scope, undefined));
    return ctx.status().phase === 'Failed' ? 'failed' : 'started';
  },

  observe(ctx) {
    apply(ctx, observeFailable(ctx.round, instance(ctx), failing(ctx)));
  },

  advance(ctx) {
    apply(ctx, advanceFailable(ctx.round, instance(ctx), failing(ctx)));
  },

  tidy(ctx) {
    if (!TERMINAL_NODE_PHASES.has(ctx.status().phase)) return;
    const scope = instance(ctx);
    tidyScope(ctx.round, scope);
    const handler = handlerScope(scope, ctx.status().error);
    if (handler) tidyScope(ctx.round, handler);
  },

  abort(ctx, stop) {
    const scope = instance(ctx);
    stopScope(ctx.round, scope, stop.final, stop.message);
    const handler = handlerScope(scope, ctx.status().error);
    if (handler && ctx.round.status(handler.prefix + handler.template.nodes[0]!.id)) stopScope(ctx.round, handler, stop.final, stop.message);
  },
};

function failing(ctx: NodeContext<CompiledSubworkflowNode>) {
  const status = ctx.status();
  return status.phase === 'Failing' ? status.error : undefined;
}

function apply(ctx: NodeContext<CompiledSubworkflowNode>, result: FailableResult): void {
  switch (result.kind) {
    case 'succeeded':
      ctx.succeed(result.outputs);
      break;
    case 'failed':
      ctx.fail(result.error);
      break;
    case 'failing':
      ctx.set({ phase: 'Failing', error: result.error, message: `${result.error.message}; running the subworkflow's failure handler` });
      break;
    case 'running':
      break;
  }
}

/** The subworkflow as run by this node: its inputs are the node's inputs, its nodes live under its path. */
function instance(ctx: NodeContext<CompiledSubworkflowNode>): ScopeInstance {
  const prefix = `${ctx.path}/`;
  let inputs: Record<string, unknown> | undefined;
  const source: ValueSource = {
    workflowInput: (name) => (inputs ??= resolveInputs(ctx.node, ctx.scope.bindings))[name],
    nodeOutput: (node, output) => ctx.round.status(prefix + node)?.outputs?.[output],
  };
  return { prefix, template: ctx.node.scope, bindings: source, own: source, policy: ctx.round.cw.failurePolicy, ...(ctx.scope.unbudgeted ? { unbudgeted: true } : {}) };
}

import { API_VERSION, KIND } from '../../api/flyteworkflow.ts';
import { Codes } from '../../error-codes.ts';
import type { CompiledLaunchPlanNode } from '../compiled.ts';
import { podName } from '../names.ts';
import { quote } from '../quote.ts';
import { parseType, type FlyteType } from '../types/index.ts';
import type { NodeCompileInput, NodeCompiler, NodeContext, NodeHandler } from './handler.ts';
import { checkNodeInputs } from './inputs.ts';

/** The label every child execution carries, naming its parent. */
export const PARENT_LABEL = 'flyte.propeller.dev/parent';

export function compileLaunchPlanNode(c: NodeCompiler, input: NodeCompileInput): CompiledLaunchPlanNode | undefined {
  const { spec, where } = input;
  const name = spec.launchPlan!;
  const iface = c.launchPlan(name);
  if (typeof iface === 'string') {
    c.errors.push(`${where}: launchPlan: ${iface}`);
    return undefined;
  }
  const types = (decl: Record<string, string> | undefined, optional: ReadonlySet<string>) =>
    new Map<string, FlyteType>(
      Object.entries(decl ?? {}).flatMap(([n, text]) => {
        const parsed = parseType(text);
        if (!parsed.ok) return [];
        // An input with a default in the launch plan need not be bound: it is optional to the node.
        return [[n, optional.has(n) && parsed.type.kind !== 'optional' ? ({ kind: 'optional', of: parsed.type } as FlyteType) : parsed.type]];
      }),
    );
  const inputTypes = types(iface.inputs, new Set(iface.defaulted ?? []));
  checkNodeInputs(c, input, inputTypes, new Set(Object.keys(iface.inputs ?? {})), `launch plan ${quote(name)}`);
  return { kind: 'launchPlan', id: input.id, launchPlan: name, labels: iface.labels ?? {}, inputs: spec.inputs ?? {}, inputTypes, outputTypes: types(iface.outputs, new Set()), upstream: [], downstream: [], retries: 0, timeoutMs: undefined };
}

/** The child execution of one attempt of a launch-plan node: deterministic, so a crash never starts two. */
export function childName(parent: string, path: string, attempt: number): string {
  return podName(parent, path, attempt);
}

/**
 * A launch-plan node runs a launch plan as a child execution: its own FlyteWorkflow, owned by the parent
 * and labelled with it, which keeps its own launch plan's settings (maxParallelism among them). The node
 * takes the child's outputs, fails with its error, and stopping the node aborts the child.
 */
export const launchPlanHandler: NodeHandler<CompiledLaunchPlanNode> = {
  kind: 'launchPlan',

  start(ctx) {
    const { round, node, path } = ctx;
    const previous = ctx.status();
    const attempt = previous.attempts ?? 0;
    const wf = round.input.workflow;
    const name = childName(wf.name, path, attempt);
    // Unset Optional inputs are left out, so the launch plan's defaults apply to them.
    const inputs = Object.fromEntries(Object.entries(ctx.inputs()).filter(([, v]) => v !== null));
    round.act({
      type: 'CreateChild',
      node: path,
      attempt,
      previous: round.prev.nodes?.[path] ?? previous,
      child: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: {
          name,
          namespace: wf.namespace,
          // Merged, not replaced (Flyte replaces the launch plan's labels with the parent's).
          labels: { ...node.labels, ...wf.labels, [PARENT_LABEL]: wf.name },
          ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: wf.name, uid: wf.uid, controller: true, blockOwnerDeletion: true }],
        },
        spec: { launchPlan: node.launchPlan, inputs },
      },
    });
    ctx.set({ phase: 'Running', attempts: attempt + 1, startedAt: previous.startedAt ?? round.nowIso, readyAt: undefined, message: `running child execution ${name}` });
    return 'started';
  },

  observe(ctx) {
    const { round, path } = ctx;
    const status = ctx.status();
    const attempt = (status.attempts ?? 0) - 1;
    // A Pending node whose child exists: a crash lost the status of the round that created it.
    const adopt = status.phase === 'Pending' ? round.input.children?.get(childName(round.input.workflow.name, path, status.attempts ?? 0)) : undefined;
    if (adopt) {
      ctx.set({ phase: 'Running', attempts: (status.attempts ?? 0) + 1, startedAt: status.startedAt ?? round.nowIso, message: `running child execution ${adopt.name}` });
      return launchPlanHandler.observe(ctx);
    }
    if (status.phase !== 'Running') return;
    const name = childName(round.input.workflow.name, path, attempt);
    const child = round.input.children?.get(name);
    if (!child) {
      ctx.fail({ kind: 'System', code: Codes.ChildDeleted, message: `child execution ${name} disappeared before it finished` });
      return;
    }
    if (child.phase === 'Succeeded') {
      ctx.succeed(Object.fromEntries([...ctx.node.outputTypes.keys()].map((o) => [o, child.outputs?.[o] ?? null])), { message: `child execution ${name} succeeded` });
    } else if (child.phase === 'Failed') {
      const error = child.error;
      ctx.fail({ kind: (error?.kind as 'User' | 'System' | 'Permanent') ?? 'User', code: error?.code ?? Codes.ChildFailed, message: `child execution ${name} failed: ${error?.message ?? child.message ?? 'unknown error'}` });
    } else if (child.phase === 'Aborted') {
      ctx.fail({ kind: 'User', code: Codes.ChildAborted, message: `child execution ${name} was aborted: ${child.message ?? ''}`.trimEnd() });
    }
  },

  abort(ctx, stop) {
    const status = ctx.status();
    if (status.phase !== 'Running') return;
    const name = childName(ctx.round.input.workflow.name, ctx.path, (status.attempts ?? 1) - 1);
    ctx.round.act({ type: 'AbortChild', node: ctx.path, name, reason: stop.message });
  },
};


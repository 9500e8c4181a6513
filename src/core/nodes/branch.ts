import { Codes } from '../../error-codes.ts';
import { sourceType, type ValueSource } from '../bindings.ts';
import type { BranchArm, CompiledBranchNode } from '../compiled.ts';
import { compileCondition, evaluateCondition } from '../condition.ts';
import { quote } from '../quote.ts';
import { TERMINAL_NODE_PHASES } from '../../api/flyteworkflow.ts';
import { advanceScope, initScope, observeScope, scopeOutcome, stopScope, tidyScope, type ScopeOutcome } from '../scope.ts';
import { formatType, isAssignable, type FlyteType } from '../types/index.ts';
import type { NodeCompileInput, NodeCompiler, NodeContext, NodeHandler, ScopeInstance } from './handler.ts';

export const ELSE_ARM = 'else';
const caseArm = (i: number) => `case-${i}`;
const NO_MATCH = 'no case holds and the branch has no else';

export function compileBranchNode(c: NodeCompiler, input: NodeCompileInput): CompiledBranchNode | undefined {
  const { spec, where } = input;
  const branch = spec.branch!;
  const before = c.errors.length;
  const inputTypes = new Map<string, FlyteType>();
  for (const [name, binding] of Object.entries(spec.inputs ?? {})) {
    const source = sourceType(binding, input.bindings);
    if (typeof source === 'string') c.errors.push(`${where}: input ${quote(name)}: ${source}`);
    else {
      inputTypes.set(name, source.type);
      if (source.upstream) input.upstream.add(source.upstream);
    }
  }
  // A badly bound input has no type: the conditions reading it would only repeat that error as "unknown input".
  const inputsBound = c.errors.length === before;
  if (branch.else !== undefined && branch.fail !== undefined) c.errors.push(`${where}: branch: set else or fail, not both`);

  const arms: BranchArm[] = [];
  for (const [i, kase] of branch.cases.entries()) {
    const condition = compileCondition(kase.when, inputTypes);
    if (!condition.ok && inputsBound) for (const e of condition.errors) c.errors.push(`${where}: branch.cases[${i}].when: ${e}`);
    const scope = c.single(caseArm(i), kase.then, `${where}: branch.cases[${i}].then`, input.bindings, input.upstream);
    if (scope && condition.ok) arms.push({ id: caseArm(i), condition: condition.condition, scope });
  }
  if (branch.else !== undefined) {
    const scope = c.single(ELSE_ARM, branch.else, `${where}: branch.else`, input.bindings, input.upstream);
    if (scope) arms.push({ id: ELSE_ARM, condition: undefined, scope });
  }
  const outputTypes = sharedOutputs(arms, where, c.errors);
  if (c.errors.length > before) return undefined;
  const noMatch = branch.fail ?? NO_MATCH;
  return { kind: 'branch', id: input.id, arms, noMatch, inputs: spec.inputs ?? {}, inputTypes, outputTypes, upstream: [], downstream: [], retries: 0, timeoutMs: undefined };
}

/**
 * The branch's outputs: those every arm provides. Where arms differ in type, the wider type is taken
 * when one is assignable to the other (int and float give float, T and Optional[T] give Optional[T]);
 * otherwise it is an error.
 */
function sharedOutputs(arms: BranchArm[], where: string, errors: string[]): Map<string, FlyteType> {
  const shared = new Map<string, FlyteType>();
  if (!arms.length) return shared;
  const label = (arm: BranchArm) => (arm.id === ELSE_ARM ? 'else' : `case ${arm.id.slice('case-'.length)}`);
  const [first, ...rest] = arms;
  for (const [name, type] of first!.scope.outputTypes) {
    let wide = type;
    let ok = true;
    for (const arm of rest) {
      const other = arm.scope.outputTypes.get(name);
      if (!other) {
        ok = false;
        break;
      }
      if (isAssignable(other, wide)) continue;
      if (isAssignable(wide, other)) wide = other;
      else {
        errors.push(`${where}: branch: output ${quote(name)} is ${formatType(type)} in ${label(first!)} but ${formatType(other)} in ${label(arm)}`);
        ok = false;
        break;
      }
    }
    if (ok) shared.set(name, wide);
  }
  return shared;
}

/**
 * A branch node evaluates its cases in order on its inputs and runs the first arm that holds (or
 * else); the other arms end Skipped. It succeeds with the arm's outputs and fails with its error.
 */
export const branchHandler: NodeHandler<CompiledBranchNode> = {
  kind: 'branch',

  start(ctx) {
    const { round, node, path } = ctx;
    const values = ctx.inputs();
    let taken: BranchArm | undefined;
    let why = '';
    for (const [i, arm] of node.arms.entries()) {
      if (!arm.condition) {
        taken = arm;
        why = 'no case holds: running else';
        break;
      }
      const result = evaluateCondition(arm.condition, values);
      if (!result.ok) {
        ctx.fail({ kind: 'User', code: Codes.BranchEvaluationFailed, message: `branch.cases[${i}].when: ${result.error}` });
        return 'failed';
      }
      if (result.value) {
        taken = arm;
        why = `case ${i} holds`;
        break;
      }
    }
    for (const arm of node.arms) {
      if (arm !== taken) round.set(`${path}/${arm.id}`, { phase: 'Skipped', finishedAt: round.nowIso, message: taken ? `not taken: ${why}` : 'not taken: no case holds' });
    }
    if (!taken) {
      ctx.fail({ kind: 'User', code: ctxFailCode(node), message: node.noMatch });
      return 'failed';
    }
    ctx.set({ phase: 'Running', startedAt: ctx.status().startedAt ?? round.nowIso, readyAt: undefined, message: why });
    const arm = armScope(ctx, taken);
    initScope(round, arm);
    observeScope(round, arm);
    advanceScope(round, arm);
    settle(ctx, scopeOutcome(round, arm));
    return ctx.status().phase === 'Failed' ? 'failed' : 'started';
  },

  observe(ctx) {
    const arm = takenArm(ctx);
    if (!arm) return;
    observeScope(ctx.round, arm);
    settle(ctx, scopeOutcome(ctx.round, arm));
  },

  advance(ctx) {
    const arm = takenArm(ctx);
    if (!arm) return;
    advanceScope(ctx.round, arm);
    settle(ctx, scopeOutcome(ctx.round, arm));
  },

  tidy(ctx) {
    const arm = TERMINAL_NODE_PHASES.has(ctx.status().phase) ? takenArm(ctx) : undefined;
    if (arm) tidyScope(ctx.round, arm);
  },

  abort(ctx, stop) {
    const arm = takenArm(ctx);
    if (arm) stopScope(ctx.round, arm, stop.final, stop.message);
  },
};

function ctxFailCode(node: CompiledBranchNode): string {
  return node.noMatch === NO_MATCH ? Codes.BranchNoMatch : Codes.BranchFailed;
}

function settle(ctx: NodeContext<CompiledBranchNode>, outcome: ScopeOutcome): void {
  if (outcome.kind === 'succeeded') {
    const outputs = Object.fromEntries([...ctx.node.outputTypes.keys()].map((name) => [name, outcome.outputs[name] ?? null]));
    ctx.succeed(outputs);
  } else if (outcome.kind === 'failed') {
    ctx.fail(outcome.error);
  }
}

/** The arm a running branch took: the one whose status is not Skipped. */
function takenArm(ctx: NodeContext<CompiledBranchNode>): ScopeInstance | undefined {
  const arm = ctx.node.arms.find((a) => {
    const status = ctx.round.status(`${ctx.path}/${a.id}`);
    return status !== undefined && status.phase !== 'Skipped';
  });
  return arm && armScope(ctx, arm);
}

function armScope(ctx: NodeContext<CompiledBranchNode>, arm: BranchArm): ScopeInstance {
  const prefix = `${ctx.path}/`;
  const own: ValueSource = {
    workflowInput: (name) => ctx.scope.own.workflowInput(name),
    nodeOutput: (node, output) => ctx.round.status(prefix + node)?.outputs?.[output],
  };
  return { prefix, template: arm.scope, bindings: ctx.scope.bindings, own, policy: ctx.scope.policy, ...(ctx.scope.unbudgeted ? { unbudgeted: true } : {}) };
}

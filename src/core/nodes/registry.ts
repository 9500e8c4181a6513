import type { CompiledNode } from '../compiled.ts';
import { branchHandler, compileBranchNode } from './branch.ts';
import { compileGateNode, gateHandler } from './gate.ts';
import { compileLaunchPlanNode, launchPlanHandler } from './launch-plan.ts';
import type { NodeCompileInput, NodeCompiler, NodeHandler } from './handler.ts';
import { compileSubworkflowNode, subworkflowHandler } from './subworkflow.ts';
import { compileTaskNode, taskHandler } from './task.ts';

export type { NodeCompiler } from './handler.ts';

/** The handler of a node's kind: the one place the walk dispatches on kinds. */
export function handlerOf<N extends CompiledNode>(node: N): NodeHandler<N> {
  switch (node.kind) {
    case 'task':
      return taskHandler as unknown as NodeHandler<N>;
    case 'subworkflow':
      return subworkflowHandler as unknown as NodeHandler<N>;
    case 'branch':
      return branchHandler as unknown as NodeHandler<N>;
    case 'gate':
      return gateHandler as unknown as NodeHandler<N>;
    case 'launchPlan':
      return launchPlanHandler as unknown as NodeHandler<N>;
  }
}

/** Compiles a node by its kind, which is whichever of task, subworkflow, branch and gate its spec sets. */
export function compileNodeOfKind(c: NodeCompiler, input: NodeCompileInput): CompiledNode | undefined {
  const { spec } = input;
  if (spec.task !== undefined) return compileTaskNode(c, input);
  if (spec.subworkflow !== undefined) return compileSubworkflowNode(c, input);
  if (spec.branch !== undefined) return compileBranchNode(c, input);
  if (spec.launchPlan !== undefined) return compileLaunchPlanNode(c, input);
  return compileGateNode(c, input);
}

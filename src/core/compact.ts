import { TERMINAL_NODE_PHASES, type NodeStatus, type WorkflowStatus } from '../api/flyteworkflow.ts';
import { parseReference } from './bindings.ts';
import type { CompiledWorkflow } from './compile.ts';
import { findNode } from './find-node.ts';
import type { Binding } from '../api/flyteworkflow.ts';

export type StatusSize = (status: WorkflowStatus) => number;

/**
 * Shrinks a status that would not fit the object size budget, losing as little as possible:
 * first the fields of finished nodes nobody needs any more (pod name, attempt start, ready time, message),
 * then the outputs no unfinished node, no unfinished subworkflow or branch and no workflow output can still read. The result may still be
 * over budget; the caller then fails the workflow.
 */
export function compactStatus(status: WorkflowStatus, wf: CompiledWorkflow, budgetBytes: number, size: StatusSize): WorkflowStatus {
  if (size(status) <= budgetBytes) return status;
  const nodes: Record<string, NodeStatus> = { ...status.nodes };
  for (const [id, node] of Object.entries(nodes)) {
    if (node.phase !== 'Succeeded' && node.phase !== 'Skipped') continue;
    const { podName: _pod, attemptStartedAt: _attempt, readyAt: _ready, message: _message, ...kept } = node;
    nodes[id] = kept;
  }
  let compacted: WorkflowStatus = { ...status, nodes };
  if (size(compacted) <= budgetBytes) return compacted;

  const stillRead = new Set<string>();
  for (const binding of Object.values(wf.outputs)) for (const node of readNodes(binding)) stillRead.add(node);
  for (const [path, status] of Object.entries(nodes)) {
    if (TERMINAL_NODE_PHASES.has(status.phase)) continue;
    const node = findNode(wf, path);
    if (!node) continue;
    // An unfinished node will read its upstream; an unfinished container will read its own nodes when it ends.
    const prefix = path.slice(0, path.length - node.id.length);
    for (const up of node.upstream) stillRead.add(prefix + up);
    const inner = node.kind === 'subworkflow' ? [node.scope] : node.kind === 'branch' ? node.arms.map((a) => a.scope) : [];
    for (const scope of inner) for (const binding of Object.values(scope.outputs)) for (const child of readNodes(binding)) stillRead.add(`${path}/${child}`);
  }
  for (const [id, node] of Object.entries(nodes)) {
    if (node.phase !== 'Succeeded' || !node.outputs || stillRead.has(id)) continue;
    const { outputs: _outputs, ...rest } = node;
    nodes[id] = { ...rest, outputsCompacted: true };
  }
  compacted = { ...status, nodes };
  return compacted;
}

function readNodes(binding: Binding): string[] {
  if ('from' in binding) {
    const ref = parseReference(binding.from);
    return ref?.kind === 'output' ? [ref.node] : [];
  }
  if ('list' in binding) return binding.list.flatMap(readNodes);
  if ('dict' in binding) return Object.values(binding.dict).flatMap(readNodes);
  return [];
}

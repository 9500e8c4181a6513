import type { NodeStatus, WorkflowStatus } from '../api/flyteworkflow.ts';

/** Node fields that every round derives again from the pods, so writing them late loses nothing. */
const DERIVED = new Set(['phase', 'message']);

/**
 * True when `next` differs from `prev` only in what the next round would derive again anyway: a node
 * going Queued → Running, messages, and the workflow turning Running. Such a write can wait for the
 * next real change (a pod finishing), which saves one write per task node.
 */
export function onlyCosmeticChanges(prev: WorkflowStatus | undefined, next: WorkflowStatus): boolean {
  if (!prev?.phase) return false;
  const { nodes: prevNodes = {}, ...prevTop } = prev;
  const { nodes: nextNodes = {}, ...nextTop } = next;
  for (const key of new Set([...Object.keys(prevTop), ...Object.keys(nextTop)])) {
    const a = (prevTop as Record<string, unknown>)[key];
    const b = (nextTop as Record<string, unknown>)[key];
    if (a === b) continue;
    if (key === 'message') continue;
    if (key === 'phase' && a === 'Pending' && b === 'Running') continue;
    return false;
  }
  for (const [id, node] of Object.entries(nextNodes)) {
    const old = prevNodes[id];
    if (node === old) continue;
    if (!old || !cosmeticNodeChange(old, node)) return false;
  }
  return Object.keys(prevNodes).every((id) => id in nextNodes);
}

function cosmeticNodeChange(a: NodeStatus, b: NodeStatus): boolean {
  if (a.phase !== b.phase && !(a.phase === 'Queued' && b.phase === 'Running')) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (DERIVED.has(key)) continue;
    if ((a as Record<string, unknown>)[key] !== (b as Record<string, unknown>)[key]) return false;
  }
  return true;
}

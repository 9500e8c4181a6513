import type { NodeStatus, WorkflowStatus } from '../api/flyteworkflow.ts';

/** Node fields that every round derives again from the pods, so writing them late loses nothing. */
const DERIVED = new Set(['phase', 'message']);
/** What a node's success sets or clears; all of it is read again from the pod (its termination message) next round. */
const SUCCESS = new Set([...DERIVED, 'outputs', 'finishedAt', 'attemptStartedAt', 'readyAt']);

/**
 * True when `next` differs from `prev` only in what the next round would derive again anyway: a node
 * going Queued → Running, messages, the workflow turning Running, and a node succeeding when that
 * unblocks nothing (had it, the dependent's new status would make the change real). Such a write can
 * wait for the next real change, which saves up to two writes per task node: in a wide layer only the
 * success that releases the next layer is written at once.
 *
 * The cost of waiting: a deferred success carries the finishedAt of the round that writes it (at most
 * the deferral later), and if its pod vanishes before then the node runs again, as after a crash.
 */
export function onlyCosmeticChanges(prev: WorkflowStatus | undefined, next: WorkflowStatus): boolean {
  if (!prev?.phase) return false;
  const { nodes: prevNodes = {}, ...prevTop } = prev;
  const { nodes: nextNodes = {}, ...nextTop } = next;
  for (const key of new Set([...Object.keys(prevTop), ...Object.keys(nextTop)])) {
    const a = (prevTop as Record<string, unknown>)[key];
    const b = (nextTop as Record<string, unknown>)[key];
    if (a === b) continue;
    if (key === 'message' || key === 'progress') continue;
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
  const started = a.phase === 'Queued' && b.phase === 'Running';
  const succeeded = (a.phase === 'Queued' || a.phase === 'Running') && b.phase === 'Succeeded';
  if (a.phase !== b.phase && !started && !succeeded) return false;
  const free = succeeded ? SUCCESS : DERIVED;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (free.has(key)) continue;
    if ((a as Record<string, unknown>)[key] !== (b as Record<string, unknown>)[key]) return false;
  }
  return true;
}

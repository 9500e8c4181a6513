import type { WorkflowStatus } from '../api/flyteworkflow.ts';
import { deepEqual } from './deep-equal.ts';

export type JsonPatchOp = { op: 'add' | 'replace' | 'test'; path: string; value: unknown } | { op: 'remove'; path: string };

const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON Patch (RFC 6902) that turns `prev` into `next`, or undefined when they are equal. Only changed
 * nodes are sent, so a 5,000-node workflow writes a few hundred bytes per round. It is a JSON Patch rather
 * than a merge patch because a merge patch cannot write a null inside user outputs.
 *
 * It is a compare-and-swap on the status alone: it tests `status.revision` and bumps it, so the API server
 * refuses it (422) if another status write landed since `prev` was read, while label or annotation changes
 * by anyone else never get in its way. The first write tests that there is no status yet.
 */
export function statusPatch(prev: WorkflowStatus | undefined, next: WorkflowStatus, resourceVersion: string): JsonPatchOp[] | undefined {
  if (prev === undefined) {
    // "There is no status yet": the API server's JSON Patch tests a missing member as null.
    return [
      { op: 'test', path: '/status', value: null },
      { op: 'add', path: '/status', value: { ...next, revision: 1 } },
    ];
  }
  if (prev.revision === undefined) {
    // An empty status, or one written without a revision (by something else): replace it whole, if
    // nothing moved.
    if (Object.keys(prev).length > 0 && deepEqual(prev, next)) return undefined;
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
      { op: 'add', path: '/status', value: { ...next, revision: 1 } },
    ];
  }
  const ops: JsonPatchOp[] = [];
  const { nodes: prevNodes, revision: _prevRevision, ...prevTop } = prev;
  const { nodes: nextNodes, revision: _nextRevision, ...nextTop } = next;
  const top = new Set([...Object.keys(prevTop), ...Object.keys(nextTop)]);
  for (const key of top) {
    const a = (prevTop as Record<string, unknown>)[key];
    const b = (nextTop as Record<string, unknown>)[key];
    if (b === undefined) {
      if (a !== undefined) ops.push({ op: 'remove', path: `/status/${pointer(key)}` });
    } else if (!deepEqual(a, b)) {
      ops.push({ op: 'add', path: `/status/${pointer(key)}`, value: b });
    }
  }
  if (!prevNodes) {
    if (nextNodes) ops.push({ op: 'add', path: '/status/nodes', value: nextNodes });
  } else if (!nextNodes) {
    ops.push({ op: 'remove', path: '/status/nodes' });
  } else {
    for (const [id, node] of Object.entries(nextNodes)) {
      const old = prevNodes[id];
      if (node !== old && !deepEqual(old, node)) ops.push({ op: 'add', path: `/status/nodes/${pointer(id)}`, value: node });
    }
    for (const id of Object.keys(prevNodes)) if (!Object.hasOwn(nextNodes, id)) ops.push({ op: 'remove', path: `/status/nodes/${pointer(id)}` });
  }
  if (!ops.length) return undefined;
  return [{ op: 'test', path: '/status/revision', value: prev.revision }, { op: 'replace', path: '/status/revision', value: prev.revision + 1 }, ...ops];
}

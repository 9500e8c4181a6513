import type { WorkflowStatus } from '../api/flyteworkflow.ts';
import { deepEqual } from './deep-equal.ts';

export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

const pointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON Patch (RFC 6902) that turns `prev` into `next`, or undefined when they are equal. Only changed
 * nodes are sent, so a 5,000-node workflow writes a few hundred bytes per round. It is a JSON Patch rather
 * than a merge patch because a merge patch cannot write a null inside user outputs. Setting
 * metadata.resourceVersion makes the API server refuse the write (409) if the object changed meanwhile.
 */
export function statusPatch(prev: WorkflowStatus | undefined, next: WorkflowStatus, resourceVersion: string): JsonPatchOp[] | undefined {
  const precondition: JsonPatchOp = { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion };
  if (!prev || Object.keys(prev).length === 0) return [precondition, { op: 'add', path: '/status', value: next }];
  const ops: JsonPatchOp[] = [];
  const { nodes: prevNodes, ...prevTop } = prev;
  const { nodes: nextNodes, ...nextTop } = next;
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
  return ops.length ? [precondition, ...ops] : undefined;
}

import { parsed } from './bind.ts';
import { order } from './call.ts';
import { WorkflowCompileError } from './errors.ts';
import { handleOf, promiseOf, refOf, type NodeHandle, type NodeRef, type Promise_ } from './promise.ts';
import { currentScope } from './scope.ts';
import { isType, type Type } from './types.ts';

export interface GateOptions {
  /** The node's name (and its path in spec.signals); by default sleep, approve or the input's name. */
  name?: string;
  /** How long the gate waits before failing (GateTimedOut); without one it waits forever. */
  timeout?: string;
  /** Nodes that must succeed before the gate starts waiting. */
  after?: readonly unknown[];
}

function gateNode(kind: string, options: GateOptions | undefined, defaultName: string) {
  const scope = currentScope(`${kind}(...)`);
  const name = scope.nodeName(defaultName, options?.name);
  const ref: NodeRef = { name, after: new Set(), scope };
  for (const upstream of options?.after ?? []) order(scope, upstream, ref, `workflow "${scope.workflow}", node "${name}"`);
  return { scope, name, ref };
}

/** Waits this long (e.g. 10m), then succeeds. Returns a handle to order other nodes after it. */
export function sleep(duration: string, options?: Omit<GateOptions, 'timeout'>): NodeHandle {
  const { scope, ref } = gateNode('sleep', options, 'sleep');
  scope.add({ ref, spec: { gate: { sleep: duration } } });
  return handleOf(ref);
}

/**
 * Waits for a person to approve `value` (propeller approve NODE, or spec.signals); passes it through when
 * approved and fails the node when rejected.
 */
export function approve<T>(value: Promise_<T>, options?: GateOptions & { description?: string }): Promise_<T> {
  const source = refOf(value);
  const { scope, name, ref } = gateNode('approve', options, 'approve');
  if (!source) throw new WorkflowCompileError(`workflow "${scope.workflow}", node "${name}": approve(...) takes a promise (an upstream output) to pass through once approved`);
  scope.add({
    ref,
    spec: { gate: { approve: options?.description !== undefined ? { description: options.description } : {} }, inputs: { value: { from: source.from } }, ...(options?.timeout ? { timeout: options.timeout } : {}) },
  });
  return promiseOf<T>({ from: `${name}.value`, type: source.type, node: ref });
}

/** Waits for a value of `type` sent to the node `name` (propeller signal, or spec.signals); returns it. */
export function waitForInput<T>(name: string, type: Type<T>, options?: Omit<GateOptions, 'name'> & { description?: string }): Promise_<T> {
  const { scope, ref } = gateNode('waitForInput', { ...options, name }, name);
  if (!isType(type)) throw new WorkflowCompileError(`workflow "${scope.workflow}", node "${name}": waitForInput(...) takes a type such as t.int or t.list(t.str)`);
  parsed(type.text, `workflow "${scope.workflow}", node "${name}"`);
  scope.add({
    ref,
    spec: { gate: { signal: { type: type.text, ...(options?.description !== undefined ? { description: options.description } : {}) } }, ...(options?.timeout ? { timeout: options.timeout } : {}) },
  });
  return promiseOf<T>({ from: `${name}.value`, type: type.text, node: ref });
}

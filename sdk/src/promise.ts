import { inspect } from 'node:util';
import { WorkflowCompileError } from './errors.ts';

/** What a promise stands for: a workflow input, a node's output, or a field of the error a failure handler sees. */
export interface Ref {
  /** The binding source, as a FlyteWorkflow writes it: inputs.x, slope.o0, error.message. */
  readonly from: string;
  /** The type text of the value. */
  readonly type: string;
  /** The node it comes from (for ordering); absent for inputs and error fields. */
  readonly node?: NodeRef;
}

/** A node of the workflow being compiled, as ordering sees it. */
export interface NodeRef {
  readonly name: string;
  /** Nodes this one must run after, though no data flows (Flyte's >>). */
  readonly after: Set<string>;
  /** The scope that owns the node: ordering across scopes is an error. */
  readonly scope: object;
}

const REF = Symbol('propeller.ref');
const NODE = Symbol('propeller.node');

/**
 * A promise of a value that exists only when the workflow runs. It can be passed to tasks, compared in
 * conditional(...), and nothing else; reading it in plain code is an error that says what to do instead.
 */
export interface Promise_<T> {
  readonly [REF]: Ref;
  readonly __value?: T;
  eq(other: T | Promise_<T>): Condition;
  ne(other: T | Promise_<T>): Condition;
  lt(other: T | Promise_<T>): Condition;
  le(other: T | Promise_<T>): Condition;
  gt(other: T | Promise_<T>): Condition;
  ge(other: T | Promise_<T>): Condition;
  isNull(): Condition;
  isNotNull(): Condition;
}
export type { Promise_ as Promise };

/** A node with no outputs, kept only to order other nodes after it. */
export interface NodeHandle {
  readonly [NODE]: NodeRef;
}

/** A condition over promises, built with eq, lt, …, and, or, not. */
export type Condition =
  | { readonly kind: 'compare'; readonly op: '==' | '!=' | '<' | '<=' | '>' | '>='; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'null'; readonly negated: boolean; readonly operand: Ref }
  | { readonly kind: 'and' | 'or'; readonly parts: readonly Condition[] }
  | { readonly kind: 'not'; readonly part: Condition };
export type Operand = { readonly ref: Ref } | { readonly constant: number | string | boolean };

const misuse = (ref: Ref, what: string) =>
  new WorkflowCompileError(
    `${ref.from} is a promise: its value exists only when the workflow runs, so the workflow body cannot ${what}. ` +
      'Pass it to a task or workflow as an input (compute with it there), or branch on it with conditional(...).',
  );

function operand(ref: Ref, other: unknown, op: string): Operand {
  const r = refOf(other);
  if (r) return { ref: r };
  if (typeof other === 'number' || typeof other === 'string' || typeof other === 'boolean') {
    if (typeof other === 'number' && !Number.isFinite(other)) throw new WorkflowCompileError(`${ref.from} ${op} ${other}: compare with a finite number`);
    return { constant: other };
  }
  throw new WorkflowCompileError(`${ref.from} ${op} …: compare with another promise, a number, a string or a boolean, not ${other === null ? 'null (use isNull())' : typeof other}`);
}

const COMPARISONS = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

export function promiseOf<T>(ref: Ref): Promise_<T> {
  const methods: Record<PropertyKey, unknown> = {
    isNull: (): Condition => ({ kind: 'null', negated: false, operand: ref }),
    isNotNull: (): Condition => ({ kind: 'null', negated: true, operand: ref }),
    [inspect.custom]: () => `Promise(${ref.from}: ${ref.type})`,
  };
  for (const [name, op] of Object.entries(COMPARISONS)) {
    methods[name] = (other: unknown): Condition => ({ kind: 'compare', op, left: { ref }, right: operand(ref, other, op) });
  }
  return new Proxy(Object.create(null) as object, {
    get(_, key) {
      if (key === REF) return ref;
      if (key === 'then') return undefined; // not a thenable: `await` hands the promise back unchanged
      if (key in methods) return methods[key];
      if (key === Symbol.toPrimitive || key === 'valueOf' || key === 'toString') return () => { throw misuse(ref, 'turn it into a number or a string (it was compared, added or printed with a template)'); };
      if (key === 'toJSON') return () => { throw misuse(ref, 'serialize it'); };
      if (key === Symbol.iterator) throw misuse(ref, 'iterate over it or spread it (a map task will)');
      if (typeof key === 'symbol') return undefined;
      throw misuse(ref, `read its property "${key}"`);
    },
    set(_, key) {
      throw misuse(ref, `set its property "${String(key)}"`);
    },
    has(_, key) {
      return key === REF || key in methods;
    },
  }) as Promise_<T>;
}

export function handleOf(node: NodeRef): NodeHandle {
  return new Proxy(Object.create(null) as object, {
    get(_, key) {
      if (key === NODE) return node;
      if (key === 'then' || typeof key === 'symbol') return undefined;
      throw new WorkflowCompileError(`node "${node.name}" has no outputs; it can only order other nodes (after: [...] or chain(...)), so "${key}" does not exist`);
    },
    has(_, key) {
      return key === NODE;
    },
  }) as NodeHandle;
}

/** The named outputs of a node: a record of promises; asking for another name is an error naming the real ones. */
export function outputsOf(owner: string, node: NodeRef | undefined, outputs: Readonly<Record<string, Ref>>): Record<string, Promise_<unknown>> {
  const promises = Object.fromEntries(Object.entries(outputs).map(([k, r]) => [k, promiseOf(r)]));
  const names = Object.keys(outputs);
  return new Proxy(promises, {
    get(target, key) {
      if (key === NODE) return node;
      if (key === Symbol.iterator) return function* () { for (const n of names) yield target[n]; };
      if (key === inspect.custom) return () => `Outputs(${owner}: ${names.join(', ')})`;
      if (typeof key === 'symbol' || key === 'then') return undefined;
      if (Object.hasOwn(target, key)) return target[key];
      throw new WorkflowCompileError(`${owner} has no output "${key}"; its outputs are ${names.length ? names.join(', ') : 'none'}`);
    },
    set(_, key) {
      throw new WorkflowCompileError(`the outputs of ${owner} are promises and cannot be set ("${String(key)}")`);
    },
    has(target, key) {
      return key === NODE || Object.hasOwn(target, key);
    },
  });
}

export function refOf(x: unknown): Ref | undefined {
  if ((typeof x === 'object' || typeof x === 'function') && x !== null && REF in x) return (x as { [REF]: Ref })[REF];
  return undefined;
}

/** The node behind anything a call returned: a promise, a record of them, or a handle. */
export function nodeOf(x: unknown): NodeRef | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  if (NODE in x) return (x as { [NODE]: NodeRef })[NODE];
  return refOf(x)?.node;
}

export const isOutputRecord = (x: unknown): boolean => typeof x === 'object' && x !== null && NODE in x && !(REF in x);

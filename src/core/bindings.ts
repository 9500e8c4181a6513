import type { Binding } from '../api/flyteworkflow.ts';
import { checkValue, formatMismatch, formatType, isAssignable, type FlyteType } from './types/index.ts';
import { quote } from './quote.ts';

export interface BindingScope {
  workflowInputs: ReadonlyMap<string, FlyteType>;
  /**
   * Output types of a node, or undefined when no such node exists, or 'unknown' while they cannot be
   * known yet (the node reads from the one asking: a cycle, reported as such once the scope is sorted).
   */
  nodeOutputs(node: string): ReadonlyMap<string, FlyteType> | undefined | 'unknown';
}

/** A `from` reference: a workflow input or an upstream node's output. */
export type Reference = { kind: 'input'; name: string } | { kind: 'output'; node: string; output: string };

export function parseReference(from: string): Reference | undefined {
  const dot = from.indexOf('.');
  if (dot <= 0 || dot === from.length - 1 || from.indexOf('.', dot + 1) >= 0) return undefined;
  const head = from.slice(0, dot);
  const tail = from.slice(dot + 1);
  return head === 'inputs' ? { kind: 'input', name: tail } : { kind: 'output', node: head, output: tail };
}

/**
 * The type a `from` binding produces, for nodes whose input types come from what they are bound to
 * (a branch's condition operands, an approve gate's pass-through values); a string says why there is none.
 */
export function sourceType(binding: Binding, scope: BindingScope): { type: FlyteType; upstream: string | undefined } | string {
  if (!('from' in binding)) {
    const form = 'value' in binding ? 'value' : 'list' in binding ? 'list' : 'dict';
    return `a ${form} binding has no type to give it: bind it with from: inputs.NAME or NODE.OUTPUT (its type comes from there)`;
  }
  const check: BindingCheck = { errors: [], upstream: new Set() };
  const type = referenceType(binding.from, scope, check);
  if (typeof type === 'string') return type;
  // In a cycle the type cannot be known; the cycle is the error that will be reported.
  return { type: type ?? { kind: 'dict' }, upstream: [...check.upstream][0] };
}

export interface BindingCheck {
  errors: string[];
  /** Nodes whose outputs this binding reads: the node depends on them. */
  upstream: Set<string>;
}

/** Checks that a binding can produce a value of the expected type, and collects the nodes it reads. */
export function checkBinding(binding: Binding, expected: FlyteType, scope: BindingScope): BindingCheck {
  const result: BindingCheck = { errors: [], upstream: new Set() };
  // An explicit stack instead of recursion: nested list/dict bindings come from users and may be deep.
  const stack: { binding: Binding; expected: FlyteType | undefined; path: string }[] = [{ binding, expected, path: '' }];
  while (stack.length) {
    const { binding: b, expected: want, path } = stack.pop()!;
    const at = path ? `${path}: ` : '';
    if ('from' in b) {
      const source = referenceType(b.from, scope, result);
      if (typeof source === 'string') result.errors.push(`${at}${source}`);
      else if (source && want && !isAssignable(source, want)) {
        result.errors.push(`${at}type mismatch: expected ${formatType(want)}, got ${formatType(source)} from ${b.from}`);
      }
    } else if ('value' in b) {
      const mismatch = want ? checkValue(want, b.value) : undefined;
      if (mismatch) result.errors.push(`${at}type mismatch: ${formatMismatch(mismatch)}`);
    } else if ('list' in b) {
      const inner = want ? unwrapOptional(want) : undefined;
      if (inner && inner.kind !== 'list') result.errors.push(`${at}type mismatch: expected ${formatType(want!)}, got a list binding`);
      else b.list.forEach((item, i) => stack.push({ binding: item, expected: inner?.kind === 'list' ? inner.of : undefined, path: `${path}[${i}]` }));
    } else {
      const inner = want ? unwrapOptional(want) : undefined;
      if (inner && inner.kind !== 'map' && inner.kind !== 'dict') result.errors.push(`${at}type mismatch: expected ${formatType(want!)}, got a dict binding`);
      else for (const [k, item] of Object.entries(b.dict)) stack.push({ binding: item, expected: inner?.kind === 'map' ? inner.of : undefined, path: `${path}[${JSON.stringify(k)}]` });
    }
  }
  return result;
}

function unwrapOptional(t: FlyteType): FlyteType {
  return t.kind === 'optional' ? t.of : t;
}

/** The type a reference reads, an error, or undefined when the type cannot be known yet (a cycle). */
function referenceType(from: string, scope: BindingScope, result: BindingCheck): FlyteType | string | undefined {
  const ref = parseReference(from);
  if (!ref) return `bad reference ${quote(from)}: use inputs.NAME or NODE.OUTPUT`;
  if (ref.kind === 'input') {
    return scope.workflowInputs.get(ref.name) ?? `unknown workflow input ${quote(ref.name)} in ${quote(from)}`;
  }
  const outputs = scope.nodeOutputs(ref.node);
  if (!outputs) return `unknown node ${quote(ref.node)} in ${quote(from)}`;
  result.upstream.add(ref.node);
  if (outputs === 'unknown') return undefined;
  const type = outputs.get(ref.output);
  if (type) return type;
  // "error" is no node (the name is reserved): in a failure handler it holds the failure's fields.
  if (ref.node === 'error' && outputs.size) return `error has no field ${quote(ref.output)} (a failure handler reads ${[...outputs.keys()].map((f) => `error.${f}`).join(', ')})`;
  return `node ${quote(ref.node)} has no output ${quote(ref.output)}`;
}

export interface ValueSource {
  workflowInput(name: string): unknown;
  nodeOutput(node: string, output: string): unknown;
}

/** The value a checked binding produces. Missing values (an unset Optional) resolve to null. */
export function resolveBinding(binding: Binding, source: ValueSource): unknown {
  if ('from' in binding) {
    const ref = parseReference(binding.from)!;
    const value = ref.kind === 'input' ? source.workflowInput(ref.name) : source.nodeOutput(ref.node, ref.output);
    return value === undefined ? null : value;
  }
  if ('value' in binding) return binding.value === undefined ? null : binding.value;
  if ('list' in binding) return binding.list.map((b) => resolveBinding(b, source));
  return Object.fromEntries(Object.entries(binding.dict).map(([k, b]) => [k, resolveBinding(b, source)]));
}

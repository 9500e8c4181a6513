import type { Binding } from '../../src/api/flyteworkflow.ts';
import { checkValue, formatMismatch, formatType as text, isAssignable, parseType, type FlyteType } from '../../src/core/types/index.ts';
import { WorkflowCompileError } from './errors.ts';
import { isOutputRecord, refOf, type Ref } from './promise.ts';
import type { Scope } from './scope.ts';

export function parsed(text: string, where: string): FlyteType {
  const p = parseType(text);
  if (!p.ok) throw new WorkflowCompileError(`${where}: type "${text}": ${p.error}`);
  return p.type;
}

/** Where an input's value comes from, checked against the input's type. `where` names node and input. */
export function bindValue(scope: Scope, value: unknown, type: FlyteType, where: string): Binding {
  const refs: Ref[] = [];
  const binding = toBinding(value, where, refs);
  for (const ref of refs) {
    if (ref.node && !scope.sees(ref.node.scope)) {
      throw new WorkflowCompileError(`${where}: ${ref.from} is an output of a node of another workflow or conditional arm; pass values between workflows as inputs and outputs`);
    }
  }
  checkBinding(binding, type, new Map(refs.map((r) => [r.from, r.type])), where);
  return binding;
}

/** Checks a binding against a type, down through list and dict bindings, as the operator's compiler will. */
function checkBinding(binding: Binding, type: FlyteType, refTypes: ReadonlyMap<string, string>, where: string): void {
  if ('from' in binding) {
    const got = parsed(refTypes.get(binding.from)!, where);
    if (!isAssignable(got, type)) throw new WorkflowCompileError(`${where}: expected ${text(type)}, got ${text(got)} from ${binding.from}`);
  } else if ('value' in binding) {
    const m = checkValue(type, binding.value);
    if (m) throw new WorkflowCompileError(`${where}: ${formatMismatch(m)}`);
  } else {
    const inner = type.kind === 'optional' ? type.of : type;
    if ('list' in binding) {
      if (inner.kind !== 'list') throw new WorkflowCompileError(`${where}: expected ${text(type)}, got a list`);
      binding.list.forEach((b, i) => checkBinding(b, inner.of, refTypes, `${where}[${i}]`));
    } else {
      if (inner.kind === 'dict') return; // any JSON object: whatever its values are
      if (inner.kind !== 'map') throw new WorkflowCompileError(`${where}: expected ${text(type)}, got a dict`);
      for (const [k, b] of Object.entries(binding.dict)) checkBinding(b, inner.of, refTypes, `${where}.${k}`);
    }
  }
}

function toBinding(value: unknown, where: string, refs: Ref[]): Binding {
  const ref = refOf(value);
  if (ref) {
    refs.push(ref);
    return { from: ref.from };
  }
  if (isOutputRecord(value)) throw new WorkflowCompileError(`${where}: got all the outputs of a node (or a node without outputs); pass one of them, e.g. node.NAME`);
  if (value instanceof Date) return { value: value.toISOString() };
  if (Array.isArray(value)) {
    const items = value.map((v, i) => toBinding(v, `${where}[${i}]`, refs));
    return items.every((b) => 'value' in b) ? { value: items.map((b) => (b as { value: unknown }).value) } : { list: items };
  }
  if (typeof value === 'object' && value !== null) {
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
      throw new WorkflowCompileError(`${where}: a ${value.constructor?.name ?? 'class'} instance is not a value a workflow can pass; use plain JSON (objects, arrays, numbers, strings, booleans, null)`);
    }
    const entries = Object.entries(value).map(([k, v]) => [k, toBinding(v, `${where}.${k}`, refs)] as const);
    return entries.every(([, b]) => 'value' in b) ? { value: Object.fromEntries(entries.map(([k, b]) => [k, (b as { value: unknown }).value])) } : { dict: Object.fromEntries(entries) };
  }
  if (typeof value === 'function') throw new WorkflowCompileError(`${where}: a function is not a value; call the task or workflow and pass its output`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new WorkflowCompileError(`${where}: ${value} is not a JSON number`);
  if (typeof value === 'bigint' || typeof value === 'symbol') throw new WorkflowCompileError(`${where}: a ${typeof value} is not a JSON value`);
  return { value };
}

/**
 * The bindings of a call: each given value checked against its declared input; unknown inputs and
 * missing required ones are errors naming the node. Defaults fill inputs left out.
 */
export function bindInputs(
  scope: Scope,
  declared: Readonly<Record<string, string>>,
  given: Readonly<Record<string, unknown>> | undefined,
  defaults: Readonly<Record<string, unknown>>,
  where: string,
  mayLeaveOut: ReadonlySet<string> = new Set(),
): Record<string, Binding> {
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given) || refOf(given))) {
    throw new WorkflowCompileError(`${where}: inputs are passed as one object of named values, e.g. ({ x, y })`);
  }
  const out: Record<string, Binding> = {};
  const names = Object.keys(declared);
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(declared, name)) throw new WorkflowCompileError(`${where}: no input "${name}"; the inputs are ${names.length ? names.join(', ') : 'none'}`);
    if (value === undefined) continue;
    out[name] = bindValue(scope, value, parsed(declared[name]!, `${where}: input "${name}"`), `${where}: input "${name}"`);
  }
  for (const name of names) {
    if (out[name] || mayLeaveOut.has(name)) continue;
    if (Object.hasOwn(defaults, name)) out[name] = { value: defaults[name] };
    else if (!declared[name]!.startsWith('Optional[')) throw new WorkflowCompileError(`${where}: input "${name}" (${declared[name]}) is not bound`);
  }
  return out;
}

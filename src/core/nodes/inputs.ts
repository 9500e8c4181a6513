import { checkBinding } from '../bindings.ts';
import { quote } from '../quote.ts';
import type { FlyteType } from '../types/index.ts';
import type { NodeCompileInput, NodeCompiler } from './handler.ts';

/**
 * Checks a node's bindings against the inputs of what it runs (a task, a subworkflow): each binding
 * must name a declared input and produce its type, and every required input must be bound.
 * `declaredNames` holds every declared name, also those whose type did not parse (already reported).
 */
export function checkNodeInputs(c: NodeCompiler, input: NodeCompileInput, declared: ReadonlyMap<string, FlyteType>, declaredNames: ReadonlySet<string>, owner: string): void {
  const { spec, where } = input;
  for (const [name, binding] of Object.entries(spec.inputs ?? {})) {
    const expected = declared.get(name);
    if (!expected && declaredNames.has(name)) continue;
    if (!expected) {
      c.errors.push(`${where}: input ${quote(name)}: ${owner} has no input named ${quote(name)}${yamlBooleanHint(name)}`);
      continue;
    }
    const check = checkBinding(binding, expected, input.bindings);
    for (const e of check.errors) c.errors.push(`${where}: input ${quote(name)}: ${e}`);
    for (const u of check.upstream) input.upstream.add(u);
  }
  for (const [name, type] of declared) {
    if (!(spec.inputs && Object.hasOwn(spec.inputs, name)) && type.kind !== 'optional') {
      c.errors.push(`${where}: input ${quote(name)}: missing binding for required input of ${owner}`);
    }
  }
}

/** kubectl reads YAML 1.1, where unquoted y, n, yes, no, on and off are booleans: `y:` arrives as "true". */
export function yamlBooleanHint(name: string): string {
  return name === 'true' || name === 'false' ? ' (an unquoted YAML key y, n, yes, no, on or off is read as a boolean: quote it, e.g. "y")' : '';
}

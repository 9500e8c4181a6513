import { checkValue, formatMismatch } from '../../src/core/types/index.ts';
import { parsed } from './bind.ts';
import { WorkflowCompileError } from './errors.ts';
import { isType, type Type } from './types.ts';

export const SINGLE_OUTPUT = 'o0';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Type texts by name, from the `inputs` or `outputs` option; the names must be identifiers. */
export function typeTexts(what: string, kind: 'input' | 'output', types: Readonly<Record<string, Type<unknown>>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, type] of Object.entries(types ?? {})) {
    if (!IDENTIFIER.test(name)) throw new WorkflowCompileError(`${what}: ${kind} name "${name}" must be an identifier (letters, digits and _, not starting with a digit)`);
    if (!isType(type)) throw new WorkflowCompileError(`${what}: ${kind} "${name}" needs a type such as t.int or t.list(t.str)`);
    out[name] = type.text;
  }
  return out;
}

/** The outputs of an interface: one unnamed (o0, as Flyte names it), several named, or none. */
export function outputTexts(what: string, output: Type<unknown> | undefined, outputs: Readonly<Record<string, Type<unknown>>> | undefined): { outputs: Record<string, string>; single: boolean } {
  if (output !== undefined && outputs !== undefined) throw new WorkflowCompileError(`${what}: declare either output (one value) or outputs (named values), not both`);
  if (output !== undefined) {
    if (!isType(output)) throw new WorkflowCompileError(`${what}: output needs a type such as t.float`);
    return { outputs: { [SINGLE_OUTPUT]: output.text }, single: true };
  }
  return { outputs: typeTexts(what, 'output', outputs), single: false };
}

/** What a task or workflow declares: its inputs, its outputs and defaults checked against the inputs. */
export interface Declared {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  single: boolean;
  defaults: Record<string, unknown>;
}

export function declared(
  what: string,
  options: { inputs?: Readonly<Record<string, Type<unknown>>>; output?: Type<unknown>; outputs?: Readonly<Record<string, Type<unknown>>>; defaults?: unknown },
): Declared {
  const inputs = typeTexts(what, 'input', options.inputs);
  const { outputs, single } = outputTexts(what, options.output, options.outputs);
  const defaults = { ...((options.defaults as Record<string, unknown> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(defaults)) {
    if (!Object.hasOwn(inputs, k)) throw new WorkflowCompileError(`${what}: a default for "${k}", which is not an input`);
    const m = checkValue(parsed(inputs[k]!, `${what}: input "${k}"`), v);
    if (m) throw new WorkflowCompileError(`${what}: the default of input "${k}": ${formatMismatch(m)}`);
  }
  return { inputs, outputs, single, defaults };
}

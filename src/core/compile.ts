import type { z } from 'zod';
import { WorkflowSpec, type Binding, type FailurePolicy, type TaskSpec } from '../api/flyteworkflow.ts';
import { checkBinding, type BindingScope } from './bindings.ts';
import { topologicalOrder } from './dag.ts';
import { findJsonProblem } from './json-problems.ts';
import { NODE_NAME, VARIABLE_NAME } from './names.ts';
import { quote } from './quote.ts';
import { checkTemplate } from './template.ts';
import { checkValue, formatMismatch, parseDuration, parseType, type FlyteType } from './types/index.ts';

export interface CompiledTask {
  name: string;
  spec: TaskSpec;
  inputs: ReadonlyMap<string, FlyteType>;
  outputs: ReadonlyMap<string, FlyteType>;
}

export interface CompiledNode {
  id: string;
  task: CompiledTask;
  inputs: Readonly<Record<string, Binding>>;
  /** Nodes that must succeed first: those its inputs read plus `after`. */
  upstream: readonly string[];
  downstream: readonly string[];
  retries: number;
  timeoutMs: number | undefined;
}

export interface CompiledWorkflow {
  spec: WorkflowSpec;
  /** Every declared input, with unset Optional inputs as null. */
  inputs: Readonly<Record<string, unknown>>;
  inputTypes: ReadonlyMap<string, FlyteType>;
  outputTypes: ReadonlyMap<string, FlyteType>;
  /** In topological order, ties in declaration order. */
  nodes: readonly CompiledNode[];
  nodeById: ReadonlyMap<string, CompiledNode>;
  outputs: Readonly<Record<string, Binding>>;
  failurePolicy: FailurePolicy;
  timeoutMs: number | undefined;
}

export interface CompileLimits {
  maxNodes: number;
}

export type CompileResult = { ok: true; workflow: CompiledWorkflow } | { ok: false; errors: string[] };

const MAX_ERRORS = 20;
/** Longest error line: with "invalid workflow: " and "(and N more: see status.error)" it fits status.message (1,024). */
const MAX_ERROR_LENGTH = 960;
/** Far beyond any real spec (types nest at most 16 levels), far below what overflows the schema checker. */
const MAX_SPEC_DEPTH = 200;
const SUPPORTED_TASK_TYPES = new Set(['container']);
const RESERVED_NODE_NAMES = new Set(['inputs']);

/**
 * Validates a spec and resolves everything a round of `plan` needs: parsed types, checked bindings,
 * the dependency order. Each error names where (workflow, task or node), the field and the reason.
 */
export function compileWorkflow(rawSpec: unknown, limits: CompileLimits): CompileResult {
  // What the schema check cannot see: nesting that would overflow its recursion, and "__proto__" keys it would drop.
  const problem = findJsonProblem(rawSpec, MAX_SPEC_DEPTH);
  if (problem?.kind === 'tooDeep') return { ok: false, errors: [`workflow: (spec): nested more than ${MAX_SPEC_DEPTH} levels deep`] };
  if (problem?.kind === 'protoKey') return { ok: false, errors: cap([`workflow: ${problem.path}: "__proto__" is not allowed as a name`]) };
  const parsed = WorkflowSpec.safeParse(rawSpec);
  if (!parsed.success) return { ok: false, errors: cap(parsed.error.issues.map(formatIssue)) };
  const spec = parsed.data;
  const errors: string[] = [];
  const nodeCount = Object.keys(spec.nodes).length;
  if (nodeCount === 0) return { ok: false, errors: ['workflow: nodes: a workflow needs at least one node'] };
  if (nodeCount > limits.maxNodes) {
    return { ok: false, errors: [`workflow: nodes: ${nodeCount} nodes exceed the limit of ${limits.maxNodes} per workflow`] };
  }

  const inputTypes = parseInterface(spec.interface?.inputs, 'workflow: interface.inputs', errors);
  const outputTypes = parseInterface(spec.interface?.outputs, 'workflow: interface.outputs', errors);
  const inputs = checkWorkflowInputs(spec.inputs ?? {}, inputTypes, errors);

  const tasks = new Map<string, CompiledTask>();
  for (const [name, task] of Object.entries(spec.tasks)) tasks.set(name, compileTask(name, task, errors));

  const scope: BindingScope = {
    workflowInputs: inputTypes,
    nodeOutputs: (node) => {
      const taskName = spec.nodes[node]?.task;
      return taskName === undefined || !Object.hasOwn(spec.nodes, node) ? undefined : (tasks.get(taskName)?.outputs ?? new Map());
    },
  };

  const deps = new Map<string, string[]>();
  const partial = new Map<string, Omit<CompiledNode, 'downstream'>>();
  for (const [id, node] of Object.entries(spec.nodes)) {
    const where = `node ${quote(id)}`;
    if (!NODE_NAME.test(id) || RESERVED_NODE_NAMES.has(id)) {
      errors.push(`${where}: invalid node name: use 1-63 letters, digits, "_" or "-", starting with a letter${RESERVED_NODE_NAMES.has(id) ? ` ("${id}" is reserved)` : ''}`);
      continue;
    }
    const task = Object.hasOwn(spec.tasks, node.task) ? tasks.get(node.task) : undefined;
    if (!task) {
      errors.push(`${where}: task: unknown task ${quote(node.task)}`);
      continue;
    }
    const upstream = new Set<string>();
    for (const [input, binding] of Object.entries(node.inputs ?? {})) {
      const expected = task.inputs.get(input);
      if (!expected && Object.hasOwn(task.spec.interface?.inputs ?? {}, input)) continue; // its bad type is already reported
      if (!expected) {
        errors.push(`${where}: input ${quote(input)}: task ${quote(task.name)} has no input named ${quote(input)}${yamlBooleanHint(input)}`);
        continue;
      }
      const check = checkBinding(binding, expected, scope);
      for (const e of check.errors) errors.push(`${where}: input ${quote(input)}: ${e}`);
      for (const u of check.upstream) upstream.add(u);
    }
    for (const [input, type] of task.inputs) {
      if (!(node.inputs && Object.hasOwn(node.inputs, input)) && type.kind !== 'optional') {
        errors.push(`${where}: input ${quote(input)}: missing binding for required input of task ${quote(task.name)}`);
      }
    }
    for (const [i, after] of (node.after ?? []).entries()) {
      if (!Object.hasOwn(spec.nodes, after)) errors.push(`${where}: after[${i}]: unknown node ${quote(after)}`);
      else upstream.add(after);
    }
    if (upstream.has(id)) {
      errors.push(`${where}: depends on itself`);
      upstream.delete(id);
    }
    const timeoutText = node.timeout ?? task.spec.timeout;
    const timeoutMs = timeoutText === undefined ? undefined : parseDuration(timeoutText);
    if (node.timeout !== undefined && timeoutMs === undefined) errors.push(`${where}: timeout: ${quote(node.timeout)} is not a duration such as 90s or 1h30m`);
    deps.set(id, [...upstream]);
    partial.set(id, { id, task, inputs: node.inputs ?? {}, upstream: [...upstream], retries: node.retries ?? task.spec.retries ?? 0, timeoutMs });
  }

  const outputs = spec.outputs ?? {};
  for (const [name, binding] of Object.entries(outputs)) {
    const expected = outputTypes.get(name);
    if (!expected) {
      errors.push(`workflow: outputs.${name}: not declared in interface.outputs`);
      continue;
    }
    for (const e of checkBinding(binding, expected, scope).errors) errors.push(`workflow: outputs.${name}: ${e}`);
  }
  for (const name of outputTypes.keys()) if (!Object.hasOwn(outputs, name)) errors.push(`workflow: outputs.${name}: declared in interface.outputs but not bound`);

  const timeoutMs = spec.timeout === undefined ? undefined : parseDuration(spec.timeout);
  if (spec.timeout !== undefined && timeoutMs === undefined) errors.push(`workflow: timeout: ${quote(spec.timeout)} is not a duration such as 90s or 1h30m`);

  if (errors.length) return { ok: false, errors: cap(errors) };
  const topo = topologicalOrder(deps);
  if (!topo.ok) return { ok: false, errors: cap([`workflow: nodes: dependency cycle: ${topo.cycle.map((n) => quote(n)).join(' → ')}`]) };

  const downstream = new Map<string, string[]>();
  for (const [id, ups] of deps) for (const u of ups) (downstream.get(u) ?? downstream.set(u, []).get(u)!).push(id);
  const nodes = topo.order.map((id) => ({ ...partial.get(id)!, downstream: downstream.get(id) ?? [] }));
  return {
    ok: true,
    workflow: {
      spec,
      inputs,
      inputTypes,
      outputTypes,
      nodes,
      nodeById: new Map(nodes.map((n) => [n.id, n])),
      outputs,
      failurePolicy: spec.failurePolicy ?? 'FailImmediately',
      timeoutMs,
    },
  };
}

function compileTask(name: string, task: TaskSpec, errors: string[]): CompiledTask {
  const where = `task ${quote(name)}`;
  if (!NODE_NAME.test(name)) errors.push(`${where}: invalid task name: use 1-63 letters, digits, "_" or "-", starting with a letter`);
  if (task.type !== undefined && !SUPPORTED_TASK_TYPES.has(task.type)) errors.push(`${where}: type: unknown task type ${quote(task.type)} (supported: container)`);
  const inputs = parseInterface(task.interface?.inputs, `${where}: interface.inputs`, errors);
  const outputs = parseInterface(task.interface?.outputs, `${where}: interface.outputs`, errors);
  const known = new Set(inputs.keys());
  const templated: [string, string][] = [
    ...(task.container.command ?? []).map((t, i): [string, string] => [`container.command[${i}]`, t]),
    ...(task.container.args ?? []).map((t, i): [string, string] => [`container.args[${i}]`, t]),
    ...(task.container.env ?? []).map((e, i): [string, string] => [`container.env[${i}].value`, e.value ?? '']),
  ];
  for (const [field, text] of templated) for (const e of checkTemplate(text, known)) errors.push(`${where}: ${field}: ${e}`);
  if (task.timeout !== undefined && parseDuration(task.timeout) === undefined) errors.push(`${where}: timeout: ${quote(task.timeout)} is not a duration such as 90s or 1h30m`);
  return { name, spec: task, inputs, outputs };
}

function parseInterface(decl: Record<string, string> | undefined, where: string, errors: string[]): Map<string, FlyteType> {
  const types = new Map<string, FlyteType>();
  for (const [name, text] of Object.entries(decl ?? {})) {
    if (!VARIABLE_NAME.test(name)) {
      errors.push(`${where}: invalid name ${quote(name)}: use a Python identifier of at most 63 characters`);
      continue;
    }
    const parsed = parseType(text);
    if (parsed.ok) types.set(name, parsed.type);
    else errors.push(`${where}.${name}: ${parsed.error}`);
  }
  return types;
}

function checkWorkflowInputs(values: Record<string, unknown>, types: ReadonlyMap<string, FlyteType>, errors: string[]): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const name of Object.keys(values)) {
    if (!types.has(name)) errors.push(`workflow: inputs: unknown input ${quote(name)} (not in interface.inputs)`);
  }
  for (const [name, type] of types) {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined && type.kind !== 'optional') {
      errors.push(`workflow: inputs.${name}: missing value for required input`);
      continue;
    }
    const mismatch = checkValue(type, value);
    if (mismatch) errors.push(`workflow: inputs.${name}: type mismatch: ${formatMismatch(mismatch)}`);
    inputs[name] = value ?? null;
  }
  return inputs;
}

/** A zod issue as "where: field: reason", naming the node or task when the path is inside one. */
function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  let where = 'workflow';
  let rest = path;
  if ((path[0] === 'nodes' || path[0] === 'tasks') && path.length >= 2) {
    where = `${path[0] === 'nodes' ? 'node' : 'task'} ${quote(path[1]!)}`;
    rest = path.slice(2);
  }
  const field = rest.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return `${where}: ${field || '(spec)'}: ${issue.message}`;
}

/** kubectl reads YAML 1.1, where unquoted y, n, yes, no, on and off are booleans: `y:` arrives as "true". */
function yamlBooleanHint(name: string): string {
  return name === 'true' || name === 'false' ? ' (an unquoted YAML key y, n, yes, no, on or off is read as a boolean: quote it, e.g. "y")' : '';
}

function cap(errors: string[]): string[] {
  const unique = [...new Set(errors)].map(bound);
  return unique.length <= MAX_ERRORS ? unique : [...unique.slice(0, MAX_ERRORS), `… and ${unique.length - MAX_ERRORS} more errors`];
}

/**
 * One error at most MAX_ERROR_LENGTH characters, cut in the middle so both where it is and the reason stay:
 * a 100 KB name or a 10,000-node cycle must not flood the status (or push it over the object size limit),
 * and the first error must fit whole in status.message.
 */
function bound(error: string): string {
  if (error.length <= MAX_ERROR_LENGTH) return error;
  let head = Math.floor((MAX_ERROR_LENGTH - 1) * 0.6);
  let tail = error.length - (MAX_ERROR_LENGTH - 1 - head);
  // Never split a surrogate pair.
  if (/[\uD800-\uDBFF]/.test(error[head - 1]!)) head--;
  if (/[\uDC00-\uDFFF]/.test(error[tail]!)) tail++;
  return `${error.slice(0, head)}…${error.slice(tail)}`;
}

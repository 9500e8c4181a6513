import type { z } from 'zod';
import { Signal, WorkflowSpec, type Binding, type NodeSpec, type SignalSpec, type TaskSpec } from '../api/flyteworkflow.ts';
import { checkBinding, type BindingScope } from './bindings.ts';
import {
  DEFAULT_MAX_DEPTH,
  ON_FAILURE,
  RESERVED_NODE_NAMES,
  type CompiledNode,
  type CompiledScope,
  type CompiledTask,
  type CompileLimits,
  type CompileResult,
  type LaunchPlanInterface,
} from './compiled.ts';
import { topologicalOrder } from './dag.ts';
import { findJsonProblem } from './json-problems.ts';
import { DNS_SUBDOMAIN, MAX_SUBDOMAIN_LENGTH, NODE_NAME, VARIABLE_NAME } from './names.ts';
import { compileNodeOfKind, type NodeCompiler } from './nodes/registry.ts';
import { quote } from './quote.ts';
import { checkResources } from './quantity.ts';
import { checkTemplate } from './template.ts';
import { checkValue, formatMismatch, parseDuration, parseType, type FlyteType } from './types/index.ts';

export type { CompiledNode, CompiledScope, CompiledTask, CompiledWorkflow, CompileLimits, CompileResult } from './compiled.ts';

const MAX_ERRORS = 20;
/** Longest error line: with "invalid workflow: " and "(and N more: see status.error)" it fits status.message (1,024). */
const MAX_ERROR_LENGTH = 960;
/** Far beyond any real spec (types nest at most 16 levels), far below what overflows the schema checker. */
const MAX_SPEC_DEPTH = 200;
const SUPPORTED_TASK_TYPES = new Set(['container']);
/** The fields of the error a failure handler may bind as error.NAME. */
export const ERROR_FIELDS: ReadonlyMap<string, FlyteType> = new Map<string, FlyteType>([
  ['message', { kind: 'str' }],
  ['code', { kind: 'str' }],
  ['kind', { kind: 'str' }],
  ['node', { kind: 'optional', of: { kind: 'str' } }],
]);

/**
 * Validates a spec and resolves everything a round of `plan` needs: parsed types, checked bindings,
 * the dependency order of every scope. Each error names where (workflow, subworkflow, task or node),
 * the field and the reason.
 */
export function compileWorkflow(rawSpec: unknown, limits: CompileLimits): CompileResult {
  // What the schema check cannot see: nesting that would overflow its recursion, and "__proto__" keys it would drop.
  // Signals are patched into running workflows by hand: a bad one is refused at its gate, never fatal.
  const { signals, refusedSignals } = parseSignals(rawSpec);
  if (isObject(rawSpec) && Object.hasOwn(rawSpec, 'signals')) rawSpec = withoutSignals(rawSpec);
  const problem = findJsonProblem(rawSpec, MAX_SPEC_DEPTH);
  if (problem?.kind === 'tooDeep') return { ok: false, errors: [`workflow: (spec): nested more than ${MAX_SPEC_DEPTH} levels deep`] };
  if (problem?.kind === 'protoKey') return { ok: false, errors: cap([`workflow: ${problem.path}: "__proto__" is not allowed as a name`]) };
  const parsed = WorkflowSpec.safeParse(rawSpec);
  if (!parsed.success) return { ok: false, errors: cap(parsed.error.issues.map(formatIssue)) };
  const spec = parsed.data;
  const errors: string[] = [];
  if (spec.definition || spec.launchPlan) {
    // The reconciler replaces a reference by what it names before compiling; one left here is a mix-up.
    const set = ['definition', 'launchPlan', 'nodes', 'tasks'].filter((k) => spec[k as keyof typeof spec] !== undefined);
    return { ok: false, errors: [`workflow: (spec): set nodes and tasks, or definition, or launchPlan, not ${set.join(' and ')}`] };
  }
  const nodeCount = Object.keys(spec.nodes ?? {}).length;
  if (nodeCount === 0) return { ok: false, errors: ['workflow: nodes: a workflow needs at least one node (or run one by reference: spec.definition or spec.launchPlan)'] };
  if (nodeCount > limits.maxNodes) {
    return { ok: false, errors: [`workflow: nodes: ${nodeCount} nodes exceed the limit of ${limits.maxNodes} per workflow`] };
  }

  const inputTypes = parseInterface(spec.interface?.inputs, 'workflow: interface.inputs', errors);
  const outputTypes = parseInterface(spec.interface?.outputs, 'workflow: interface.outputs', errors);
  const inputs = checkWorkflowInputs(spec.inputs ?? {}, inputTypes, errors, limits.inputs ?? 'all');

  const tasks = new Map<string, CompiledTask>();
  for (const [name, task] of Object.entries(spec.tasks ?? {})) tasks.set(name, compileTask(name, task, errors));

  const compiler = new ScopeCompiler(spec, tasks, errors, limits.launchPlans ?? new Map());
  const root = compiler.scope({
    name: '',
    where: 'workflow',
    nodeWhere: (id) => `node ${quote(id)}`,
    inputTypes,
    outputTypes,
    nodes: spec.nodes ?? {},
    outputs: spec.outputs ?? {},
    onFailure: spec.onFailure,
  });
  // Subworkflows no node runs are still checked: they are part of what was applied.
  for (const name of Object.keys(spec.subworkflows ?? {})) compiler.subworkflow(name);

  const timeoutMs = spec.timeout === undefined ? undefined : parseDuration(spec.timeout);
  if (spec.timeout !== undefined && timeoutMs === undefined) errors.push(`workflow: timeout: ${quote(spec.timeout)} is not a duration such as 90s or 1h30m`);
  if (errors.length || !root) return { ok: false, errors: cap(errors) };

  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const deepest = depthOf(root);
  if (deepest.depth > maxDepth) {
    const top = deepest.path[0] ?? '';
    const where = top === ON_FAILURE ? 'workflow: onFailure' : `node ${quote(top)}`;
    const error = `${where}: ${deepest.kind}: subworkflows and branches nest ${deepest.depth} levels deep below it (down to ${JSON.stringify(deepest.path.join('/'))}), over the limit of ${maxDepth} (workflow.maxDepth)`;
    return { ok: false, errors: [bound(error)] };
  }
  const expandedNodes = countNodes(root);
  if (expandedNodes > limits.maxNodes) {
    return { ok: false, errors: [`workflow: nodes: with its subworkflows and branch arms the workflow has ${expandedNodes} nodes, over the limit of ${limits.maxNodes} per workflow`] };
  }
  return {
    ok: true,
    workflow: {
      ...root,
      spec,
      inputs,
      failurePolicy: spec.failurePolicy ?? 'FailImmediately',
      timeoutMs,
      overwriteCache: spec.overwriteCache ?? false,
      signals,
      refusedSignals,
      expandedNodes,
    },
  };
}

interface ScopeDefinition {
  name: string;
  /** How errors about the scope itself start: "workflow" or `subworkflow "train"`. */
  where: string;
  nodeWhere(id: string): string;
  inputTypes: ReadonlyMap<string, FlyteType>;
  outputTypes: ReadonlyMap<string, FlyteType>;
  nodes: Record<string, NodeSpec>;
  outputs: Record<string, Binding>;
  onFailure: NodeSpec | undefined;
}

/** Compiles scopes: the workflow, subworkflows (each once, checked for recursion), branch arms and failure handlers. */
class ScopeCompiler implements NodeCompiler {
  readonly tasks: ReadonlyMap<string, CompiledTask>;
  readonly errors: string[];
  private readonly spec: WorkflowSpec;
  private readonly subworkflows = new Map<string, CompiledScope | undefined>();
  /** Subworkflows being compiled, outermost first: reaching one of them again is recursion. */
  private readonly compiling: string[] = [];

  private readonly launchPlans: ReadonlyMap<string, LaunchPlanInterface>;

  constructor(spec: WorkflowSpec, tasks: ReadonlyMap<string, CompiledTask>, errors: string[], launchPlans: ReadonlyMap<string, LaunchPlanInterface>) {
    this.spec = spec;
    this.tasks = tasks;
    this.errors = errors;
    this.launchPlans = launchPlans;
  }

  launchPlan(name: string): LaunchPlanInterface | string {
    return this.launchPlans.get(name) ?? `launch plan ${quote(name)} not found in this namespace`;
  }

  subworkflow(name: string): CompiledScope | string {
    const defs = this.spec.subworkflows ?? {};
    if (!Object.hasOwn(defs, name)) {
      const known = Object.keys(defs);
      return `unknown subworkflow ${quote(name)}${known.length ? ` (spec.subworkflows has ${known.slice(0, 10).map((n) => quote(n)).join(', ')})` : ' (spec.subworkflows is empty)'}`;
    }
    const at = this.compiling.indexOf(name);
    if (at >= 0) return `recursion: subworkflow ${[...this.compiling.slice(at), name].map((n) => quote(n)).join(' → ')} runs itself`;
    if (this.subworkflows.has(name)) return this.subworkflows.get(name) ?? `subworkflow ${quote(name)} is invalid (see its errors)`;
    const def = defs[name]!;
    const where = `subworkflow ${quote(name)}`;
    if (!NODE_NAME.test(name)) this.errors.push(`${where}: invalid subworkflow name: use 1-63 letters, digits, "_" or "-", starting with a letter`);
    this.compiling.push(name);
    const before = this.errors.length;
    const scope = this.scope({
      name,
      where,
      nodeWhere: (id) => `${where}: node ${quote(id)}`,
      inputTypes: parseInterface(def.interface?.inputs, `${where}: interface.inputs`, this.errors),
      outputTypes: parseInterface(def.interface?.outputs, `${where}: interface.outputs`, this.errors),
      nodes: def.nodes,
      outputs: def.outputs ?? {},
      onFailure: def.onFailure,
    });
    if (Object.keys(def.nodes).length === 0) this.errors.push(`${where}: nodes: a subworkflow needs at least one node`);
    this.compiling.pop();
    const valid = scope && this.errors.length === before ? scope : undefined;
    this.subworkflows.set(name, valid);
    return valid ?? `subworkflow ${quote(name)} is invalid (see its errors)`;
  }

  /** A scope of one node that runs inside another node: a branch arm. Its bindings read the enclosing scope. */
  single(id: string, spec: NodeSpec, where: string, bindings: BindingScope, upstream: Set<string>): CompiledScope | undefined {
    if (spec.after?.length) this.errors.push(`${where}: after: a branch arm starts when its branch takes it; put after on the branch node`);
    const node = this.node(id, spec, where, bindings, upstream);
    if (!node) return undefined;
    const outputs = Object.fromEntries([...node.outputTypes.keys()].map((o) => [o, { from: `${id}.${o}` }]));
    return { name: where, inputTypes: new Map(), outputTypes: node.outputTypes, nodes: [node], nodeById: new Map([[id, node]]), outputs, onFailure: undefined };
  }

  scope(def: ScopeDefinition): CompiledScope | undefined {
    const { errors } = this;
    // Errors found before this scope (a task's, another scope's) are not this scope's: it is judged on its own.
    const before = errors.length;
    const specNodes = def.nodes;
    const outputTypesOf = new Map<string, ReadonlyMap<string, FlyteType> | undefined>();
    const compiled = new Map<string, CompiledNode>();
    const upstreamOf = new Map<string, Set<string>>();
    const bindings: BindingScope = {
      workflowInputs: def.inputTypes,
      nodeOutputs: (id) => {
        if (!Object.hasOwn(specNodes, id)) return undefined;
        return this.ensure(id, def, bindings, compiled, upstreamOf, outputTypesOf);
      },
    };
    for (const id of Object.keys(specNodes)) this.ensure(id, def, bindings, compiled, upstreamOf, outputTypesOf);

    const deps = new Map<string, string[]>();
    for (const [id, node] of Object.entries(specNodes)) {
      const upstream = upstreamOf.get(id);
      if (!upstream) continue;
      const where = def.nodeWhere(id);
      for (const [i, after] of (node.after ?? []).entries()) {
        if (!Object.hasOwn(specNodes, after)) errors.push(`${where}: after[${i}]: unknown node ${quote(after)}`);
        else upstream.add(after);
      }
      if (upstream.has(id)) {
        errors.push(`${where}: depends on itself`);
        upstream.delete(id);
      }
      deps.set(id, [...upstream]);
    }

    for (const [name, binding] of Object.entries(def.outputs)) {
      const expected = def.outputTypes.get(name);
      if (!expected) {
        errors.push(`${def.where}: outputs.${name}: not declared in interface.outputs`);
        continue;
      }
      for (const e of checkBinding(binding, expected, bindings).errors) errors.push(`${def.where}: outputs.${name}: ${e}`);
    }
    for (const name of def.outputTypes.keys()) if (!Object.hasOwn(def.outputs, name)) errors.push(`${def.where}: outputs.${name}: declared in interface.outputs but not bound`);

    const onFailure = def.onFailure === undefined ? undefined : this.handler(def);
    if (errors.length > before) return undefined;
    const topo = topologicalOrder(deps);
    if (!topo.ok) {
      errors.push(`${def.where}: nodes: dependency cycle: ${topo.cycle.map((n) => quote(n)).join(' → ')}`);
      return undefined;
    }
    const downstream = new Map<string, string[]>();
    for (const [id, ups] of deps) for (const u of ups) (downstream.get(u) ?? downstream.set(u, []).get(u)!).push(id);
    const nodes = topo.order.map((id) => ({ ...compiled.get(id)!, upstream: deps.get(id)!, downstream: downstream.get(id) ?? [] }));
    return { name: def.name, inputTypes: def.inputTypes, outputTypes: def.outputTypes, nodes, nodeById: new Map(nodes.map((n) => [n.id, n])), outputs: def.outputs, onFailure };
  }

  /** Compiles a node of a scope once, on first use: a node's output types may be needed before its turn. */
  private ensure(
    id: string,
    def: ScopeDefinition,
    bindings: BindingScope,
    compiled: Map<string, CompiledNode>,
    upstreamOf: Map<string, Set<string>>,
    outputTypesOf: Map<string, ReadonlyMap<string, FlyteType> | undefined>,
  ): ReadonlyMap<string, FlyteType> | 'unknown' {
    if (outputTypesOf.has(id)) return outputTypesOf.get(id) ?? 'unknown';
    outputTypesOf.set(id, undefined); // a reference back to it while it compiles is a cycle, reported later
    const where = def.nodeWhere(id);
    if (!NODE_NAME.test(id) || RESERVED_NODE_NAMES.has(id)) {
      this.errors.push(`${where}: invalid node name: use 1-63 letters, digits, "_" or "-", starting with a letter${RESERVED_NODE_NAMES.has(id) ? ` ("${id}" is reserved)` : ''}`);
      return new Map();
    }
    const upstream = new Set<string>();
    const node = this.node(id, def.nodes[id]!, where, bindings, upstream);
    if (!node) return new Map();
    compiled.set(id, node);
    upstreamOf.set(id, upstream);
    outputTypesOf.set(id, node.outputTypes);
    return node.outputTypes;
  }

  node(id: string, spec: NodeSpec, where: string, bindings: BindingScope, upstream: Set<string>): CompiledNode | undefined {
    const isTask = spec.task !== undefined;
    if (!isTask && spec.retries !== undefined) {
      const kind = spec.subworkflow !== undefined ? 'subworkflow' : spec.branch !== undefined ? 'branch' : 'gate';
      const instead = kind === 'subworkflow' ? ' (set retries on the task nodes inside it)' : kind === 'branch' ? ' (set retries on the task nodes of its arms)' : '';
      this.errors.push(`${where}: retries: only task nodes retry, not a ${kind} node${instead}`);
    }
    const timeoutMs = spec.timeout === undefined ? undefined : parseDuration(spec.timeout);
    if (spec.timeout !== undefined && timeoutMs === undefined) this.errors.push(`${where}: timeout: ${quote(spec.timeout)} is not a duration such as 90s or 1h30m`);
    if (!isTask && spec.gate === undefined && spec.timeout !== undefined) this.errors.push(`${where}: timeout: only task and gate nodes take a timeout`);
    return compileNodeOfKind(this, { id, spec, where, bindings, upstream, timeoutMs });
  }

  /** The failure handler: one task or subworkflow node that reads only the scope's inputs and the error. */
  private handler(def: ScopeDefinition): CompiledScope | undefined {
    const spec = def.onFailure!;
    const where = `${def.where}: onFailure`;
    if (spec.task === undefined && spec.subworkflow === undefined) {
      this.errors.push(`${where}: a failure handler is a task or subworkflow node, not a ${spec.gate !== undefined ? 'gate' : 'branch'}`);
      return undefined;
    }
    if (spec.after?.length) this.errors.push(`${where}: after: a failure handler runs when the workflow fails; it has no place in the DAG`);
    for (const [input, binding] of Object.entries(spec.inputs ?? {})) {
      const bad = readsNodeOtherThanError(binding);
      if (bad) this.errors.push(`${where}: input ${quote(input)}: a failure handler reads only inputs.NAME and error.${[...ERROR_FIELDS.keys()].join('|')}, not ${quote(bad)}`);
    }
    const bindings: BindingScope = { workflowInputs: def.inputTypes, nodeOutputs: (n) => (n === 'error' ? ERROR_FIELDS : undefined) };
    const upstream = new Set<string>();
    const node = this.node(ON_FAILURE, spec, where, bindings, upstream);
    if (!node) return undefined;
    return { name: where, inputTypes: def.inputTypes, outputTypes: new Map(), nodes: [{ ...node, upstream: [] }], nodeById: new Map([[ON_FAILURE, { ...node, upstream: [] }]]), outputs: {}, onFailure: undefined };
  }
}

function readsNodeOtherThanError(binding: Binding): string | undefined {
  const stack = [binding];
  while (stack.length) {
    const b = stack.pop()!;
    if ('from' in b) {
      const head = b.from.split('.')[0];
      if (head !== 'inputs' && head !== 'error') return b.from;
    } else if ('list' in b) stack.push(...b.list);
    else if ('dict' in b) stack.push(...Object.values(b.dict));
  }
  return undefined;
}

/**
 * Levels of nested subworkflows and branch arms below a scope, with the node ids down to the deepest
 * node (its status path) and the kind of the outermost one, for the error.
 */
type Depth = { depth: number; path: string[]; kind: string };

/**
 * Levels of nested subworkflows and branch arms below a scope. Memoized per scope: subworkflows are
 * shared, and without it a chain of them each run by many nodes would take exponential time.
 */
function depthOf(scope: CompiledScope, memo = new Map<CompiledScope, Depth>()): Depth {
  const known = memo.get(scope);
  if (known) return known;
  let deepest: Depth = { depth: 0, path: [], kind: '' };
  for (const node of [...scope.nodes, ...(scope.onFailure?.nodes ?? [])]) {
    for (const inner of innerScopes(node)) {
      const below = depthOf(inner, memo);
      if (1 + below.depth > deepest.depth) deepest = { depth: 1 + below.depth, path: [node.id, ...below.path], kind: node.kind };
    }
  }
  if (deepest.depth === 0 && scope.nodes.length) deepest.path = [scope.nodes[0]!.id];
  memo.set(scope, deepest);
  return deepest;
}

/** Nodes a run of the scope may have at most: subworkflows expanded, every branch arm counted. Memoized like depthOf. */
function countNodes(scope: CompiledScope, memo = new Map<CompiledScope, number>()): number {
  const known = memo.get(scope);
  if (known !== undefined) return known;
  let total = 0;
  for (const node of [...scope.nodes, ...(scope.onFailure?.nodes ?? [])]) {
    total += 1;
    for (const inner of innerScopes(node)) total += countNodes(inner, memo);
  }
  memo.set(scope, total);
  return total;
}

function innerScopes(node: CompiledNode): CompiledScope[] {
  if (node.kind === 'subworkflow') return [node.scope];
  if (node.kind === 'branch') return node.arms.map((a) => a.scope);
  return [];
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
  errors.push(...checkResources(task.container.resources, where));
  const configMap = task.code?.configMap;
  if (configMap !== undefined && (configMap.length > MAX_SUBDOMAIN_LENGTH || !DNS_SUBDOMAIN.test(configMap))) {
    errors.push(`${where}: code.configMap: ${quote(configMap)} is not a ConfigMap name: use a DNS-1123 subdomain of at most ${MAX_SUBDOMAIN_LENGTH} characters (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)`);
  }
  for (const [i, input] of (task.cache?.ignoreInputs ?? []).entries()) {
    if (!inputs.has(input)) errors.push(`${where}: cache.ignoreInputs[${i}]: ${quote(input)} is not an input of the task`);
  }
  return { name, spec: task, inputs, outputs };
}

export function parseInterface(decl: Record<string, string> | undefined, where: string, errors: string[]): Map<string, FlyteType> {
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

function checkWorkflowInputs(values: Record<string, unknown>, types: ReadonlyMap<string, FlyteType>, errors: string[], mode: 'all' | 'given' | 'none'): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  if (mode === 'none') return inputs;
  for (const name of Object.keys(values)) {
    if (!types.has(name)) errors.push(`workflow: inputs: unknown input ${quote(name)} (not in interface.inputs)`);
  }
  for (const [name, type] of types) {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined && mode === 'given') continue;
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

/** A zod issue as "where: field: reason", naming the node, task or subworkflow when the path is inside one. */
function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  let where = 'workflow';
  let rest = path;
  if ((path[0] === 'nodes' || path[0] === 'tasks' || path[0] === 'subworkflows') && path.length >= 2) {
    where = `${path[0] === 'nodes' ? 'node' : path[0] === 'tasks' ? 'task' : 'subworkflow'} ${quote(path[1]!)}`;
    rest = path.slice(2);
    if (path[0] === 'subworkflows' && rest[0] === 'nodes' && rest.length >= 2) {
      where = `${where}: node ${quote(rest[1]!)}`;
      rest = rest.slice(2);
    }
  }
  const field = rest.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return `${where}: ${field || '(spec)'}: ${issue.message}`;
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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function withoutSignals(spec: Record<string, unknown>): Record<string, unknown> {
  const { signals: _signals, ...rest } = spec;
  return rest;
}

/**
 * spec.signals, entry by entry: each well-formed signal is kept, and each malformed one (nested too deep,
 * a "__proto__" key, the wrong shape) is refused with a reason its gate will show, so a bad patch never
 * fails a running workflow.
 */
function parseSignals(spec: unknown): { signals: Record<string, SignalSpec>; refusedSignals: Record<string, string> } {
  const signals: Record<string, SignalSpec> = {};
  const refusedSignals: Record<string, string> = {};
  const raw = isObject(spec) ? spec['signals'] : undefined;
  if (!isObject(raw)) return { signals, refusedSignals };
  for (const [path, entry] of Object.entries(raw)) {
    if (path === '__proto__') continue;
    const problem = findJsonProblem(entry, MAX_SPEC_DEPTH);
    if (problem) {
      refusedSignals[path] = problem.kind === 'tooDeep' ? `the signal is nested more than ${MAX_SPEC_DEPTH} levels deep` : `${problem.path}: "__proto__" is not allowed as a name`;
      continue;
    }
    const parsed = Signal.safeParse(entry);
    if (parsed.success) signals[path] = parsed.data;
    else refusedSignals[path] = parsed.error.issues.map((i) => `${i.path.join('.') || 'the signal'}: ${i.message}`).join('; ');
  }
  return { signals, refusedSignals };
}

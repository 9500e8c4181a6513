import type { BranchSpec, NodeSpec } from '../../src/api/flyteworkflow.ts';
import { resultOf } from './call.ts';
import { WorkflowCompileError } from './errors.ts';
import { isOutputRecord, nodeOf, refOf, type Condition, type NodeRef, type Operand, type Ref } from './promise.ts';
import { currentScope, Scope, withScope } from './scope.ts';

interface Arm {
  spec: NodeSpec;
  outputs: Record<string, string>;
  single: boolean;
}

/** and(a, b, …): every condition holds. */
export const and = (...parts: Condition[]): Condition => ({ kind: 'and', parts });
/** or(a, b, …): some condition holds. */
export const or = (...parts: Condition[]): Condition => ({ kind: 'or', parts });
export const not = (part: Condition): Condition => ({ kind: 'not', part });

/**
 * Flyte's conditional: `conditional('check').if(x.lt(0), () => neg({ x })).elif(…).else(() => pos({ x }))`.
 * Each arm calls exactly one task, workflow, gate or conditional; the first case that holds at run time
 * runs, the others end Skipped. The result is the outputs every arm provides.
 */
export function conditional(name: string): { if<R>(condition: Condition, then: () => R): Conditional<R> } {
  return start(name);
}

function start(name: string): { if<R>(condition: Condition, then: () => R): Conditional<R> } {
  const scope = currentScope(`conditional("${name}")`);
  const nodeName = scope.nodeName(name, name);
  scope.root().open.add(nodeName);
  return { if: <R>(condition: Condition, then: () => R) => new Conditional<R>(scope, nodeName).if(condition, then) };
}

export class Conditional<R> {
  private readonly cases: { when: string; arm: Arm }[] = [];
  private readonly operands = new Map<string, { name: string; ref: Ref }>();

  private readonly scope: Scope;
  private readonly name: string;

  constructor(scope: Scope, name: string) {
    this.scope = scope;
    this.name = name;
  }

  if(condition: Condition, then: () => R): Conditional<R> {
    return this.elif(condition, then);
  }

  elif(condition: Condition, then: () => R): Conditional<R> {
    const index = this.cases.length;
    this.cases.push({ when: this.expression(condition, `case ${index}`), arm: this.arm(`case ${index}`, then) });
    return this;
  }

  /** Runs `then` when no case holds, and finishes the conditional. */
  else(then: () => R): R {
    const arm = this.arm('else', then);
    return this.finish({ else: arm.spec }, [arm]);
  }

  /** Fails the node with `message` when no case holds, and finishes the conditional. */
  fail(message: string): R {
    return this.finish({ fail: message }, []);
  }

  /** Finishes the conditional without else: when no case holds the node fails (BranchNoMatch). */
  end(): R {
    return this.finish({}, []);
  }

  private finish(rest: Partial<BranchSpec>, extra: Arm[]): R {
    const root = this.scope.root();
    if (!root.open.delete(this.name)) throw new WorkflowCompileError(`workflow "${this.scope.workflow}": conditional "${this.name}" was already finished`);
    const arms = [...this.cases.map((c) => c.arm), ...extra];
    const branch: BranchSpec = { cases: this.cases.map((c) => ({ when: c.when, then: c.arm.spec })), ...rest };
    const inputs = Object.fromEntries([...this.operands.values()].map(({ name, ref }) => [name, { from: ref.from }]));
    const ref: NodeRef = { name: this.name, after: new Set(), scope: this.scope };
    this.scope.add({ ref, spec: { branch, ...(Object.keys(inputs).length ? { inputs } : {}) } });
    const { outputs, single } = common(this.scope.workflow, this.name, arms);
    return resultOf(`conditional "${this.name}"`, ref, outputs, single) as R;
  }

  private arm(label: string, then: () => R): Arm {
    if (typeof then !== 'function') throw new WorkflowCompileError(`${this.where(label)}: pass a function that calls the node to run, e.g. () => task({ x })`);
    const scope = new Scope(this.scope.workflow, 'arm', this.scope);
    const returned = withScope(scope, then);
    const [draft] = scope.nodes.values();
    if (!draft) throw new WorkflowCompileError(`${this.where(label)}: the arm must call one task, workflow, gate or conditional`);
    if (returned !== undefined && nodeOf(returned) !== draft.ref) throw new WorkflowCompileError(`${this.where(label)}: the arm must return what its call returned`);
    const outputs: Record<string, string> = {};
    const r = refOf(returned);
    if (r) outputs[r.from.slice(r.from.indexOf('.') + 1)] = r.type;
    else if (isOutputRecord(returned)) {
      for (const k of Object.keys(returned as object)) {
        const out = refOf((returned as Record<string, unknown>)[k]);
        if (out) outputs[k] = out.type;
      }
    }
    return { spec: draft.spec, outputs, single: r !== undefined };
  }

  private operand(op: Operand, label: string): string {
    if ('constant' in op) {
      const c = op.constant;
      if (typeof c === 'string') return `'${c.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t')}'`;
      return String(c);
    }
    return this.input(op.ref, label);
  }

  private input(ref: Ref, label: string): string {
    if (ref.node && !this.scope.sees(ref.node.scope)) throw new WorkflowCompileError(`${this.where(label)}: ${ref.from} belongs to another workflow or arm`);
    const known = this.operands.get(ref.from);
    if (known) return known.name;
    const name = `v${this.operands.size}`;
    this.operands.set(ref.from, { name, ref });
    return name;
  }

  private expression(c: Condition, label: string): string {
    if (typeof c !== 'object' || c === null || !('kind' in c)) throw new WorkflowCompileError(`${this.where(label)}: a condition is built from promises with eq, ne, lt, le, gt, ge, isNull, isNotNull, and(), or(), not()`);
    switch (c.kind) {
      case 'compare':
        return `${this.operand(c.left, label)} ${c.op} ${this.operand(c.right, label)}`;
      case 'null':
        return `${this.input(c.operand, label)} is ${c.negated ? 'not ' : ''}null`;
      case 'not':
        return `not (${this.expression(c.part, label)})`;
      case 'and':
      case 'or':
        if (c.parts.length === 0) throw new WorkflowCompileError(`${this.where(label)}: ${c.kind}() needs at least one condition`);
        return c.parts.map((p) => `(${this.expression(p, label)})`).join(` ${c.kind} `);
    }
  }

  private where(label: string): string {
    return `workflow "${this.scope.workflow}", conditional "${this.name}", ${label}`;
  }
}

/** The outputs every arm provides, by name, with their types joined as the operator joins them. */
function common(workflow: string, name: string, arms: Arm[]): { outputs: Record<string, string>; single: boolean } {
  if (arms.length === 0) return { outputs: {}, single: false };
  const outputs: Record<string, string> = {};
  for (const [o, type] of Object.entries(arms[0]!.outputs)) {
    if (!arms.every((a) => a.outputs[o] !== undefined)) continue;
    let joined: string | null = type;
    for (const arm of arms.slice(1)) joined = joined === null ? null : join(joined, arm.outputs[o]!);
    if (joined === null) throw new WorkflowCompileError(`workflow "${workflow}", conditional "${name}": the arms give output "${o}" different types (${arms.map((a) => a.outputs[o]).join(', ')})`);
    outputs[o] = joined;
  }
  return { outputs, single: arms.every((a) => a.single) && Object.keys(outputs).length === 1 };
}

function join(a: string, b: string): string | null {
  if (a === b) return a;
  const nums = new Set([a, b]);
  if (nums.has('int') && nums.has('float')) return 'float';
  if (a === `Optional[${b}]`) return a;
  if (b === `Optional[${a}]`) return b;
  return null;
}

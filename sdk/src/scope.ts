import type { Binding, NodeSpec } from '../../src/api/flyteworkflow.ts';
import { RESERVED_NODE_NAMES } from '../../src/core/compiled.ts';
import { WorkflowCompileError } from './errors.ts';
import type { NodeRef } from './promise.ts';
import type { Definition } from './registry.ts';

/** A node recorded while a workflow body runs. */
export interface NodeDraft {
  ref: NodeRef;
  spec: NodeSpec;
}

/**
 * Where the nodes of a running workflow body go: the workflow itself, one arm of a conditional (exactly
 * one node), or its failure handler (exactly one node).
 */
export class Scope {
  readonly nodes = new Map<string, NodeDraft>();
  /** Tasks, workflows and launch plans the nodes run, by name, for the resources that carry them. */
  readonly uses = new Map<string, Definition>();
  /** Conditionals begun and not yet finished with else, fail or end. */
  readonly open = new Set<string>();
  private readonly taken = new Set<string>();

  readonly workflow: string;
  readonly kind: 'workflow' | 'arm' | 'onFailure';
  readonly parent: Scope | undefined;

  constructor(workflow: string, kind: 'workflow' | 'arm' | 'onFailure', parent?: Scope) {
    this.workflow = workflow;
    this.kind = kind;
    this.parent = parent;
  }

  /** A fresh node name: the one asked for (an error if taken), else the callee's, suffixed _2, _3, … when taken. */
  nodeName(callee: string, asked: string | undefined): string {
    const root = this.root();
    if (asked !== undefined) {
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(asked)) throw new WorkflowCompileError(`workflow "${this.workflow}": node name "${asked}" must be 1–63 letters, digits, _ or -, starting with a letter`);
      if (RESERVED_NODE_NAMES.has(asked)) throw new WorkflowCompileError(`workflow "${this.workflow}": node name "${asked}" is reserved (${[...RESERVED_NODE_NAMES].join(', ')}); pick another`);
      if (root.taken.has(asked)) throw new WorkflowCompileError(`workflow "${this.workflow}": two nodes are named "${asked}"`);
      root.taken.add(asked);
      return asked;
    }
    const base = callee.replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z]+/, '').slice(0, 56) || 'node';
    let name = base;
    // A task named inputs or error would make a node the operator refuses: its name is a binding root.
    for (let i = 2; root.taken.has(name) || RESERVED_NODE_NAMES.has(name); i++) name = `${base}_${i}`;
    root.taken.add(name);
    return name;
  }

  use(def: Definition): void {
    const root = this.root();
    const name = def.resolvedName();
    const known = root.uses.get(`${def.kind}:${name}`);
    if (known && known !== def) throw new WorkflowCompileError(`workflow "${this.workflow}" uses two different ${def.kind}s named "${name}"; give one another name`);
    root.uses.set(`${def.kind}:${name}`, def);
  }

  add(draft: NodeDraft): void {
    if (this.kind !== 'workflow' && this.nodes.size > 0) {
      const what = this.kind === 'arm' ? 'an arm of a conditional' : 'a failure handler';
      throw new WorkflowCompileError(`workflow "${this.workflow}": ${what} runs exactly one node (a task, workflow, gate or conditional); to run several, put them in a workflow and call that`);
    }
    this.nodes.set(draft.ref.name, draft);
  }

  /** Whether a node made in `scope` may be read here: its own scope or an enclosing one. */
  sees(scope: object): boolean {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s === scope) return true;
    return false;
  }

  root(): Scope {
    let s: Scope = this;
    while (s.parent) s = s.parent;
    return s;
  }
}

let active: Scope | undefined;

export function currentScope(what: string): Scope {
  if (!active) {
    throw new WorkflowCompileError(
      `${what} was called outside a workflow body. Inside workflow(...) a call adds a node; to run it now, use runLocal from "@propeller/sdk/local" or \`propeller run\``,
    );
  }
  return active;
}

export function withScope<T>(scope: Scope, fn: () => T): T {
  const before = active;
  active = scope;
  try {
    return fn();
  } finally {
    active = before;
  }
}

export type { Binding };

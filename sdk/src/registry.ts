import { WorkflowCompileError } from './errors.ts';

export type DefinitionKind = 'task' | 'workflow' | 'launchPlan';

/** Anything users define at the top of a module: tasks, workflows, launch plans. */
export interface Definition {
  readonly kind: DefinitionKind;
  /** The name given in its options, or the name it is exported under (set by nameExports). */
  name: string | undefined;
  resolvedName(): string;
}

const DEFINITION = Symbol.for('propeller.definition');

export function definitionOf(x: unknown): Definition | undefined {
  if ((typeof x === 'function' || typeof x === 'object') && x !== null && DEFINITION in x) return (x as { [DEFINITION]: Definition })[DEFINITION];
  return undefined;
}

/** Makes `fn` carry `def`, so a module's exports can be found and named. */
export function attach<F extends object>(fn: F, def: Definition): F {
  Object.defineProperty(fn, DEFINITION, { value: def });
  return fn;
}

export function nameOf(def: Definition): string {
  if (def.name === undefined) {
    throw new WorkflowCompileError(`a ${def.kind} has no name: give it one (name: "...") or export it from the module, whose export name it then takes`);
  }
  return def.name;
}

/**
 * Names every unnamed task, workflow and launch plan after its export, as Flyte names them after their
 * Python functions. Returns the definitions found, by kind and name.
 */
export function nameExports(module: Record<string, unknown>): Map<string, Definition> {
  const found = new Map<string, Definition>();
  for (const [exported, value] of Object.entries(module)) {
    const def = definitionOf(value);
    if (!def) continue;
    if (def.name === undefined && exported !== 'default') def.name = exported;
    if (def.name === undefined) continue;
    const key = `${def.kind}:${def.name}`;
    const known = found.get(key);
    if (known && known !== def) throw new WorkflowCompileError(`two ${def.kind}s are named "${def.name}"`);
    found.set(key, def);
  }
  return found;
}

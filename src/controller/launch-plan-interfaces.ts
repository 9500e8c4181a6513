import { definitionObjectName, type DefinitionObject } from '../api/definition.ts';
import type { LaunchPlanObject } from '../api/launch-plan.ts';
import { compileWorkflow } from '../core/compile.ts';
import type { CompileLimits, LaunchPlanInterface } from '../core/compiled.ts';
import { launchPlanNames } from '../core/resolve.ts';
import { formatType } from '../core/types/index.ts';

/** Where launch plans and definitions of a namespace are read: the caches, else a live read. */
export interface ReferenceReader {
  definition(namespace: string, name: string): Promise<DefinitionObject | undefined>;
  launchPlan(namespace: string, name: string): Promise<LaunchPlanObject | undefined>;
}

/**
 * The interface of each named launch plan, as a launch-plan node sees it, compiling each launch plan's
 * definition with the interfaces of the launch plans its own nodes run, to maxDepth levels. A launch plan
 * that reaches itself, or that cannot be read or compiled, is left out: the node naming it then fails to
 * compile, naming it.
 */
export async function launchPlanInterfaces(refs: ReferenceReader, namespace: string, names: readonly string[], limits: CompileLimits, outer: readonly string[] = []): Promise<Record<string, LaunchPlanInterface>> {
  const found: Record<string, LaunchPlanInterface> = {};
  if (outer.length > (limits.maxDepth ?? 10)) return found;
  for (const name of names) {
    if (outer.includes(name)) continue;
    const lp = await refs.launchPlan(namespace, name);
    if (!lp) continue;
    const definition = definitionObjectName(lp.spec.workflow.name, lp.spec.workflow.version);
    const def = await refs.definition(namespace, definition);
    if (!def) continue;
    const nested = await launchPlanInterfaces(refs, namespace, launchPlanNames(def.spec.workflow), limits, [...outer, name]);
    const compiled = compileWorkflow(def.spec.workflow, { ...limits, inputs: 'none', launchPlans: new Map(Object.entries(nested)) });
    if (!compiled.ok) continue;
    const fixed = lp.spec.fixedInputs ?? {};
    found[name] = {
      definition,
      inputs: Object.fromEntries([...compiled.workflow.inputTypes].filter(([n]) => !Object.hasOwn(fixed, n)).map(([n, t]) => [n, formatType(t)])),
      outputs: Object.fromEntries([...compiled.workflow.outputTypes].map(([n, t]) => [n, formatType(t)])),
      defaulted: Object.keys(lp.spec.defaultInputs ?? {}).filter((n) => !Object.hasOwn(fixed, n)),
      ...(lp.spec.labels ? { labels: lp.spec.labels } : {}),
    };
  }
  return found;
}

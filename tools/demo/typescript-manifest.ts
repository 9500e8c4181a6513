// The demo's view of a TypeScript workflow module: the resources `propeller run --remote` would create for
// one of its workflows or launch plans, so the demo applies and follows them like a YAML file.
import { loadModule } from '../../sdk/src/bundle/bundle.ts';
import { codeConfigMap, execution, needsCode, registration, type CodeRef, type Resource } from '../../sdk/src/compile/index.ts';
import { closureOf } from '../../sdk/src/compile/closure.ts';
import type { LaunchPlanDefinition } from '../../sdk/src/launch-plan.ts';
import type { Definition } from '../../sdk/src/registry.ts';
import type { WorkflowDefinition } from '../../sdk/src/workflow.ts';
import { API_VERSION, KIND } from '../../src/api/flyteworkflow.ts';

export interface TypeScriptRun {
  /** What runs: "workflow documented_wf" or "launch plan nightly_scale_lp". */
  what: string;
  configMaps: Resource[];
  references: Resource[];
  workflow: Resource;
}

/** Inputs a target still needs: those with neither a default nor a fixed value. */
function missingInputs(def: Definition): string[] {
  const wf = def.kind === 'launchPlan' ? (def as LaunchPlanDefinition).workflow : (def as WorkflowDefinition);
  const covered = def.kind === 'launchPlan' ? { ...(def as LaunchPlanDefinition).defaults, ...((def as LaunchPlanDefinition).options.fixedInputs ?? {}) } : wf.defaults;
  return Object.entries(wf.inputs).filter(([k, type]) => !Object.hasOwn(covered, k) && !type.startsWith('Optional[')).map(([k]) => k);
}

/**
 * Compiles `file` and picks what to run: `name` when given, else the first exported launch plan or
 * workflow whose inputs all have values (defaults or fixed inputs), launch plans first.
 */
export async function typeScriptRun(file: string, name: string | undefined, inputs: Record<string, unknown>): Promise<TypeScriptRun> {
  const { bundle, definitions } = await loadModule(file);
  const runnable = [...definitions.values()].filter((d) => d.kind !== 'task');
  let target: Definition | undefined;
  if (name !== undefined) {
    target = definitions.get(`launchPlan:${name}`) ?? definitions.get(`workflow:${name}`);
    if (!target) throw new Error(`${file} exports no workflow or launch plan "${name}" (it has ${runnable.map((d) => d.resolvedName()).join(', ') || 'none'})`);
    const missing = missingInputs(target).filter((k) => !Object.hasOwn(inputs, k));
    if (missing.length) throw new Error(`${name} needs the inputs ${missing.join(', ')}: pass --input NAME=JSON`);
  } else {
    const ordered = [...runnable.filter((d) => d.kind === 'launchPlan'), ...runnable.filter((d) => d.kind === 'workflow')];
    target = ordered.find((d) => missingInputs(d).length === 0);
    if (!target) throw new Error(`${file}: every workflow and launch plan needs inputs; name one with --workflow NAME and give its inputs with --input NAME=JSON`);
  }
  const code: CodeRef = { configMap: `propeller-code-${bundle.hash.slice(0, 12)}`, hash: bundle.hash };
  const version = bundle.hash.slice(0, 12);
  if (target.kind === 'launchPlan') {
    const lp = target as LaunchPlanDefinition;
    return {
      what: `launch plan ${lp.resolvedName()}`,
      configMaps: [codeConfigMap(bundle.code, code)],
      references: registration([], [lp], version, code),
      workflow: { apiVersion: API_VERSION, kind: KIND, metadata: { generateName: `${lp.resourceName()}-` }, spec: { launchPlan: lp.resourceName(), ...(Object.keys(inputs).length ? { inputs } : {}) } },
    };
  }
  const wf = target as WorkflowDefinition;
  const lps = [...closureOf(wf).launchPlans.values()];
  return {
    what: `workflow ${wf.resolvedName()}`,
    configMaps: needsCode(wf) || lps.length ? [codeConfigMap(bundle.code, code)] : [],
    // What its launch-plan nodes start must exist in the namespace first.
    references: lps.length ? registration([], lps, version, code) : [],
    workflow: execution(wf, code, { inputs }),
  };
}

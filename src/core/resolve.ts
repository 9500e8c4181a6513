import type { WorkflowStatus } from '../api/flyteworkflow.ts';
import { definitionObjectName, type DefinitionSpec } from '../api/definition.ts';
import type { LaunchPlanSpec } from '../api/launch-plan.ts';
import { quote } from './quote.ts';

export type Resolved = NonNullable<WorkflowStatus['resolved']>;

/** Where an execution's references are looked up: the namespace's definitions and launch plans. */
export interface References {
  definition(name: string, version: string): DefinitionSpec | undefined;
  launchPlan(name: string): LaunchPlanSpec | undefined;
}

export type Resolution = { ok: true; resolved: Resolved | undefined } | { ok: false; errors: string[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What an execution by reference (spec.definition or spec.launchPlan) runs: the definition's workflow
 * and the inputs merged as Flyte merges them (launch-plan defaults, then the execution's inputs, then
 * the fixed inputs, which the execution may not set). `resolved: undefined` for an inline workflow.
 */
export function resolveExecution(spec: unknown, refs: References): Resolution {
  if (!isObject(spec)) return { ok: true, resolved: undefined };
  const definitionRef = spec['definition'];
  const launchPlanName = spec['launchPlan'];
  if (definitionRef === undefined && launchPlanName === undefined) return { ok: true, resolved: undefined };
  const inline = ['nodes', 'tasks'].filter((k) => spec[k] !== undefined);
  if (inline.length || (definitionRef !== undefined && launchPlanName !== undefined)) {
    const set = ['definition', 'launchPlan', ...inline].filter((k) => spec[k] !== undefined);
    return { ok: false, errors: [`workflow: (spec): set nodes and tasks, or definition, or launchPlan, not ${set.join(' and ')}`] };
  }
  const inputs = isObject(spec['inputs']) ? spec['inputs'] : {};

  if (typeof launchPlanName === 'string') {
    const lp = refs.launchPlan(launchPlanName);
    if (!lp) return { ok: false, errors: [`workflow: launchPlan: launch plan ${quote(launchPlanName)} not found in this namespace`] };
    const fixed = lp.fixedInputs ?? {};
    const overridden = Object.keys(inputs).filter((k) => Object.hasOwn(fixed, k));
    if (overridden.length) {
      return { ok: false, errors: overridden.map((k) => `workflow: inputs.${k}: fixed by launch plan ${quote(launchPlanName)} and cannot be overridden`) };
    }
    const found = definitionOf(lp.workflow.name, lp.workflow.version, refs, `launch plan ${quote(launchPlanName)}: workflow`);
    if (!found.ok) return found;
    const settings = Object.fromEntries(
      Object.entries({ maxParallelism: lp.maxParallelism, serviceAccountName: lp.serviceAccountName, overwriteCache: lp.overwriteCache, labels: lp.labels, annotations: lp.annotations }).filter(([, v]) => v !== undefined),
    );
    return {
      ok: true,
      resolved: {
        definition: definitionObjectName(lp.workflow.name, lp.workflow.version),
        launchPlan: launchPlanName,
        workflow: found.workflow,
        inputs: { ...lp.defaultInputs, ...inputs, ...fixed },
        ...(Object.keys(settings).length ? { settings } : {}),
      },
    };
  }
  if (!isObject(definitionRef) || typeof definitionRef['name'] !== 'string' || typeof definitionRef['version'] !== 'string') {
    return { ok: false, errors: ['workflow: definition: needs name and version'] };
  }
  const found = definitionOf(definitionRef['name'], definitionRef['version'], refs, 'workflow: definition');
  if (!found.ok) return found;
  return { ok: true, resolved: { definition: definitionObjectName(definitionRef['name'], definitionRef['version']), workflow: found.workflow, inputs } };
}

function definitionOf(name: string, version: string, refs: References, where: string): { ok: true; workflow: Record<string, unknown> } | { ok: false; errors: string[] } {
  const def = refs.definition(name, version);
  if (!def) return { ok: false, errors: [`${where}: workflow definition ${quote(name)} version ${quote(version)} (${quote(definitionObjectName(name, version))}) not found in this namespace`] };
  return { ok: true, workflow: def.workflow as Record<string, unknown> };
}

/**
 * The spec an execution by reference runs: the resolved workflow with the execution's inputs and the
 * launch plan's settings under the execution's own (signals, abort and the settings it sets itself).
 */
export function effectiveSpec(spec: unknown, resolved: Resolved | undefined): unknown {
  if (!resolved || !isObject(spec)) return spec;
  const { definition: _d, launchPlan: _l, inputs: _i, ...own } = spec;
  const settings = (resolved.settings ?? {}) as Record<string, unknown>;
  const workflow = resolved.workflow;
  const labels = settings['labels'] as Record<string, string> | undefined;
  const annotations = settings['annotations'] as Record<string, string> | undefined;
  const pod = isObject(workflow['pod']) ? workflow['pod'] : {};
  // The execution's own pod options are merged over the definition's and the launch plan's labels, not
  // put in their place (which dropped the launch plan's labels and the definition's node selector).
  const ownPod = isObject(own['pod']) ? own['pod'] : undefined;
  const withPodMeta =
    labels || annotations || ownPod
      ? {
          pod: {
            ...pod,
            ...ownPod,
            labels: { ...labels, ...(pod['labels'] as object), ...(ownPod?.['labels'] as object) },
            annotations: { ...annotations, ...(pod['annotations'] as object), ...(ownPod?.['annotations'] as object) },
          },
        }
      : {};
  return {
    ...workflow,
    ...pick(settings, ['maxParallelism', 'serviceAccountName', 'overwriteCache']),
    ...own,
    ...withPodMeta,
    inputs: resolved.inputs ?? {},
  };
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
}

/** The launch plans the nodes of a spec run (launch-plan nodes, at any depth), each named once. */
export function launchPlanNames(spec: unknown): string[] {
  const names = new Set<string>();
  const nodes: unknown[] = [];
  const addNodes = (map: unknown) => {
    if (isObject(map)) nodes.push(...Object.values(map));
  };
  if (isObject(spec)) {
    addNodes(spec['nodes']);
    if (spec['onFailure']) nodes.push(spec['onFailure']);
    if (isObject(spec['subworkflows'])) {
      for (const sub of Object.values(spec['subworkflows'])) {
        if (!isObject(sub)) continue;
        addNodes(sub['nodes']);
        if (sub['onFailure']) nodes.push(sub['onFailure']);
      }
    }
  }
  while (nodes.length) {
    const node = nodes.pop();
    if (!isObject(node)) continue;
    if (typeof node['launchPlan'] === 'string') names.add(node['launchPlan']);
    const branch = node['branch'];
    if (isObject(branch)) {
      if (Array.isArray(branch['cases'])) for (const c of branch['cases']) if (isObject(c)) nodes.push(c['then']);
      nodes.push(branch['else']);
    }
  }
  return [...names];
}

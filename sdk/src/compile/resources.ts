import { API_VERSION, KIND } from '../../../src/api/flyteworkflow.ts';
import { DEFINITION_KIND, definitionObjectName, VERSION_PATTERN } from '../../../src/api/definition.ts';
import { LAUNCH_PLAN_KIND } from '../../../src/api/launch-plan.ts';
import { compileWorkflow } from '../../../src/core/compile.ts';
import type { LaunchPlanInterface } from '../../../src/core/compiled.ts';
import { WorkflowCompileError } from '../errors.ts';
import type { LaunchPlanDefinition } from '../launch-plan.ts';
import { resourceName } from '../resource-name.ts';
import type { WorkflowDefinition } from '../workflow.ts';
import { closureOf } from './closure.ts';
import { BUNDLE_FILE, PLACEHOLDER_CODE, workflowSpec, type CodeRef, type Spec } from './specs.ts';

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const SDK_LABEL = 'propeller.dev/sdk';
export const CODE_HASH_LABEL = 'propeller.dev/code-hash';

/**
 * Checks the workflow as the operator will: the same compiler, so the same messages (node, input, reason),
 * before anything reaches a cluster. Returns the spec it checked, its tasks reading their code from `code`.
 */
export function validate(wf: WorkflowDefinition, code: CodeRef = PLACEHOLDER_CODE): Spec {
  const spec = workflowSpec(wf, code);
  const launchPlans = new Map([...closureOf(wf).launchPlans].map(([name, lp]) => [name, launchPlanInterface(lp)]));
  const result = compileWorkflow(spec, { maxNodes: 10_000, maxDepth: 10, inputs: 'none', launchPlans });
  if (!result.ok) {
    throw new WorkflowCompileError(`workflow "${wf.resolvedName()}" is invalid:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  return spec;
}

/** What a launch-plan node sees of the launch plan it starts, as the operator reads it from the cluster. */
export function launchPlanInterface(lp: LaunchPlanDefinition): LaunchPlanInterface {
  return { definition: resourceName(lp.workflow.resolvedName(), 'workflow'), inputs: lp.inputs, outputs: lp.workflow.outputs, defaulted: Object.keys(lp.defaults) };
}

export interface ExecutionOptions {
  namespace?: string;
  name?: string;
  labels?: Record<string, string>;
  inputs?: Record<string, unknown>;
}

/** A FlyteWorkflow that runs the workflow once, with its defaults under the given inputs. */
export function execution(wf: WorkflowDefinition, code: CodeRef, options: ExecutionOptions = {}): Resource {
  const name = resourceName(wf.resolvedName(), `workflow "${wf.resolvedName()}"`);
  const spec = { ...validate(wf, code), inputs: { ...wf.defaults, ...(options.inputs ?? {}) } };
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      ...(options.name ? { name: options.name } : { generateName: `${name.slice(0, 52)}-` }),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      labels: { [SDK_LABEL]: 'true', ...(options.labels ?? {}) },
    },
    spec,
  };
}

function checkVersion(version: string): void {
  if (!new RegExp(VERSION_PATTERN).test(version)) {
    throw new WorkflowCompileError(`version "${version}" is not valid: 1–63 lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`);
  }
}

/** The immutable WorkflowDefinition of a workflow at a version. */
export function definition(wf: WorkflowDefinition, version: string, code: CodeRef, namespace?: string): Resource {
  const workflow = validate(wf, code);
  checkVersion(version);
  const name = resourceName(wf.resolvedName(), `workflow "${wf.resolvedName()}"`);
  return {
    apiVersion: API_VERSION,
    kind: DEFINITION_KIND,
    metadata: { name: definitionObjectName(name, version), ...(namespace ? { namespace } : {}), labels: { [SDK_LABEL]: 'true' } },
    spec: { name, version, workflow },
  };
}

/** A LaunchPlan resource pointing at the workflow's definition of this version. */
export function launchPlanResource(lp: LaunchPlanDefinition, version: string, namespace?: string): Resource {
  checkVersion(version);
  const o = lp.options;
  const defaults = { ...lp.workflow.defaults, ...(o.defaultInputs ?? {}) };
  const spec: Record<string, unknown> = {
    workflow: { name: resourceName(lp.workflow.resolvedName(), `workflow "${lp.workflow.resolvedName()}"`), version },
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(Object.keys(defaults).length ? { defaultInputs: defaults } : {}),
  };
  for (const key of ['fixedInputs', 'schedule', 'labels', 'annotations', 'maxParallelism', 'serviceAccountName', 'overwriteCache', 'active', 'successfulRunsHistoryLimit', 'failedRunsHistoryLimit'] as const) {
    if (o[key] !== undefined) spec[key] = o[key];
  }
  return { apiVersion: API_VERSION, kind: LAUNCH_PLAN_KIND, metadata: { name: lp.resourceName(), ...(namespace ? { namespace } : {}), labels: { [SDK_LABEL]: 'true' } }, spec };
}

/**
 * Every resource registering a module makes: each workflow's definition and its default launch plan (its
 * defaults, named after it, as Flyte makes one per workflow), the launch plans, and what they reach.
 */
export function registration(workflows: readonly WorkflowDefinition[], launchPlans: readonly LaunchPlanDefinition[], version: string, code: CodeRef, namespace?: string): Resource[] {
  const wfs = new Map<string, WorkflowDefinition>();
  const lps = new Map<string, LaunchPlanDefinition | WorkflowDefinition>();
  const addWorkflow = (wf: WorkflowDefinition) => {
    const name = resourceName(wf.resolvedName(), `workflow "${wf.resolvedName()}"`);
    if (wfs.has(name) && wfs.get(name) !== wf) throw new WorkflowCompileError(`two workflows make the resource name "${name}"`);
    if (wfs.has(name)) return;
    wfs.set(name, wf);
    for (const lp of closureOf(wf).launchPlans.values()) addLaunchPlan(lp);
  };
  const addLaunchPlan = (lp: LaunchPlanDefinition) => {
    const known = lps.get(lp.resourceName());
    if (known && known !== lp) throw new WorkflowCompileError(`two launch plans make the resource name "${lp.resourceName()}"`);
    lps.set(lp.resourceName(), lp);
    addWorkflow(lp.workflow);
  };
  for (const lp of launchPlans) addLaunchPlan(lp);
  for (const wf of workflows) addWorkflow(wf);
  const out: Resource[] = [];
  for (const wf of wfs.values()) out.push(definition(wf, version, code, namespace));
  for (const [name, wf] of wfs) {
    if (lps.has(name)) continue; // a launch plan of the same name stands in for the default one
    out.push({
      apiVersion: API_VERSION,
      kind: LAUNCH_PLAN_KIND,
      metadata: { name, ...(namespace ? { namespace } : {}), labels: { [SDK_LABEL]: 'true' } },
      spec: { workflow: { name, version }, ...(Object.keys(wf.defaults).length ? { defaultInputs: wf.defaults } : {}) },
    });
  }
  for (const lp of lps.values()) out.push(launchPlanResource(lp as LaunchPlanDefinition, version, namespace));
  return out;
}

/** A ConfigMap holds at most 1 MiB; leave room for its metadata. */
export const MAX_BUNDLE_BYTES = 1024 * 1024 - 16 * 1024;

/** The immutable ConfigMap that carries a bundle into task pods. */
export function codeConfigMap(bundle: string, code: CodeRef, namespace?: string): Resource {
  const bytes = Buffer.byteLength(bundle);
  if (bytes > MAX_BUNDLE_BYTES) {
    throw new WorkflowCompileError(
      `the bundle is ${bytes} bytes, more than a ConfigMap holds (${MAX_BUNDLE_BYTES}): build an image with it (propeller bundle FILE -o bundle.mjs, then the task options image and bundledIn)`,
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: code.configMap, ...(namespace ? { namespace } : {}), labels: { [SDK_LABEL]: 'true', [CODE_HASH_LABEL]: code.hash.slice(0, 63) } },
    immutable: true,
    data: { [BUNDLE_FILE]: bundle },
  };
}

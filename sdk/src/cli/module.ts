// Loading a workflow module (bundled, then imported) and finding the workflow or launch plan a command names.
import { existsSync, statSync } from 'node:fs';
import { loadModule, type LoadedModule } from '../bundle/bundle.ts';
import type { CodeRef } from '../compile/index.ts';
import type { LaunchPlanDefinition } from '../launch-plan.ts';
import type { Definition } from '../registry.ts';
import type { WorkflowDefinition } from '../workflow.ts';
import { UsageError } from './args.ts';

// Definitions are told apart by `kind`, never instanceof: the bundle carries its own copy of the SDK's classes.

/** A workflow file that cannot be loaded or compiled: exit 2, without the command's usage. */
export class FileError extends Error {
  override name = 'FileError';
}

export type Target = WorkflowDefinition | LaunchPlanDefinition;

export const isWorkflow = (d: Definition | undefined): d is WorkflowDefinition => d?.kind === 'workflow';
export const isLaunchPlan = (d: Definition | undefined): d is LaunchPlanDefinition => d?.kind === 'launchPlan';

export async function load(command: string, file: string): Promise<LoadedModule> {
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`, command);
  if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`, command);
  try {
    return await loadModule(file);
  } catch (err) {
    throw new FileError(err instanceof Error ? `${file}: ${err.message}` : String(err));
  }
}

/** The code a module's tasks run from on a cluster: its bundle, in a ConfigMap named after its hash. */
export const codeRef = (hash: string): CodeRef => ({ configMap: `propeller-code-${hash.slice(0, 12)}`, hash });

const kebab = (name: string) => name.replace(/_/g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

export function workflows(loaded: LoadedModule): WorkflowDefinition[] {
  return [...loaded.definitions.values()].filter(isWorkflow);
}

export function launchPlans(loaded: LoadedModule): LaunchPlanDefinition[] {
  return [...loaded.definitions.values()].filter(isLaunchPlan);
}

/** What `run` can run in a module, for messages and help: workflows, then launch plans. */
export function runnable(loaded: LoadedModule): string[] {
  return [...workflows(loaded).map((w) => w.resolvedName()), ...launchPlans(loaded).map((l) => l.resolvedName())];
}

/** The workflow or launch plan named `name` (its name, or its resource name: simple_wf or simple-wf). */
export function findTarget(command: string, file: string, loaded: LoadedModule, name: string): Target {
  const exact = loaded.definitions.get(`workflow:${name}`) ?? loaded.definitions.get(`launchPlan:${name}`);
  if (isWorkflow(exact) || isLaunchPlan(exact)) return exact;
  const byResource = [...loaded.definitions.values()].filter((d): d is Target => (isWorkflow(d) || isLaunchPlan(d)) && kebab(d.resolvedName()) === kebab(name));
  if (byResource.length === 1) return byResource[0]!;
  const task = loaded.definitions.get(`task:${name}`);
  const names = runnable(loaded);
  const hint = task ? ` ("${name}" is a task: call it from a workflow)` : '';
  throw new UsageError(`${file} has no workflow or launch plan "${name}"${hint}; it has ${names.length ? names.join(', ') : 'none (export them from the module)'}`, command);
}

/** The interface a run of the target takes: the inputs it may set, their defaults, and fixed values. */
export function interfaceOf(target: Target): { inputs: Record<string, string>; defaults: Record<string, unknown>; fixed: Record<string, unknown>; outputs: Record<string, string>; description?: string } {
  if (isLaunchPlan(target)) {
    const description = target.options.description ?? target.workflow.options.description;
    return {
      inputs: target.inputs,
      defaults: target.defaults,
      fixed: { ...(target.options.fixedInputs ?? {}) },
      outputs: target.workflow.outputs,
      ...(description !== undefined ? { description } : {}),
    };
  }
  const description = target.options.description;
  return { inputs: target.inputs, defaults: target.defaults, fixed: {}, outputs: target.outputs, ...(description !== undefined ? { description } : {}) };
}

/** The workflow a target runs. */
export const workflowOf = (target: Target): WorkflowDefinition => (isLaunchPlan(target) ? target.workflow : target);

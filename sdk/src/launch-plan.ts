import type { ScheduleSpec } from '../../src/api/launch-plan.ts';
import { checkValue, formatMismatch } from '../../src/core/types/index.ts';
import { parsed } from './bind.ts';
import { callNode, type CallOptions } from './call.ts';
import { WorkflowCompileError } from './errors.ts';
import { attach, nameOf, type Definition } from './registry.ts';
import { resourceName } from './resource-name.ts';
import type { Args, CallResult, TypeMap, Values } from './typing.ts';
import type { Workflow, WorkflowDefinition } from './workflow.ts';

export interface LaunchPlanOptions<I extends TypeMap, O = unknown, N extends TypeMap = TypeMap, D = any> {
  /** The launch plan's name; by default the name it is exported under. Its resource name is the same in kebab case. */
  name?: string;
  workflow: Workflow<I, O, N, D>;
  description?: string;
  /** Inputs an execution may override. */
  defaultInputs?: Partial<Values<I>>;
  /** Inputs no execution may set. */
  fixedInputs?: Partial<Values<I>>;
  schedule?: ScheduleSpec;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  maxParallelism?: number;
  serviceAccountName?: string;
  overwriteCache?: boolean;
  /** false stops scheduled runs (manual launches stay allowed). */
  active?: boolean;
  successfulRunsHistoryLimit?: number;
  failedRunsHistoryLimit?: number;
}

export class LaunchPlanDefinition implements Definition {
  readonly kind = 'launchPlan';
  name: string | undefined;
  readonly workflow: WorkflowDefinition;

  readonly options: LaunchPlanOptions<TypeMap>;

  constructor(options: LaunchPlanOptions<TypeMap>) {
    this.options = options;
    this.name = options.name;
    this.workflow = (options.workflow as unknown as { definition?: WorkflowDefinition }).definition!;
    const what = `launch plan "${options.name ?? '(unnamed)'}"`;
    if (!this.workflow || this.workflow.kind !== 'workflow') throw new WorkflowCompileError(`${what}: workflow must be a workflow(...)`);
    for (const [which, values] of [['defaultInputs', options.defaultInputs], ['fixedInputs', options.fixedInputs]] as const) {
      for (const [k, v] of Object.entries(values ?? {})) {
        const type = this.workflow.inputs[k];
        if (type === undefined) throw new WorkflowCompileError(`${what}: ${which}: "${k}" is not an input of the workflow (${Object.keys(this.workflow.inputs).join(', ') || 'none'})`);
        const m = checkValue(parsed(type, what), v);
        if (m) throw new WorkflowCompileError(`${what}: ${which}: input "${k}": ${formatMismatch(m)}`);
      }
    }
  }

  resolvedName(): string {
    return nameOf(this);
  }

  resourceName(): string {
    return resourceName(this.resolvedName(), `launch plan "${this.resolvedName()}"`);
  }

  /** What a call may bind: the workflow's inputs that are not fixed. */
  get inputs(): Record<string, string> {
    const fixed = this.options.fixedInputs ?? {};
    return Object.fromEntries(Object.entries(this.workflow.inputs).filter(([k]) => !Object.hasOwn(fixed, k)));
  }

  /** Defaults a call falls back on: the workflow's, overridden by the launch plan's. */
  get defaults(): Record<string, unknown> {
    return { ...this.workflow.defaults, ...(this.options.defaultInputs ?? {}) };
  }
}

export type LaunchPlan<I extends TypeMap, O, N extends TypeMap> = ((inputs: Partial<Args<I>>, options?: CallOptions) => CallResult<O, N>) & { readonly definition: LaunchPlanDefinition };

/**
 * A launch plan: a workflow with bound default and fixed inputs and an optional schedule. Registered, it
 * becomes a LaunchPlan resource; called inside a workflow body, a launch-plan node (a child execution).
 */
export function launchPlan<I extends TypeMap, O, N extends TypeMap, D>(options: LaunchPlanOptions<I, O, N, D>): LaunchPlan<I, O, N> {
  const def = new LaunchPlanDefinition(options as unknown as LaunchPlanOptions<TypeMap>);
  const fn = (inputs: unknown, callOptions?: CallOptions) =>
    callNode(
      {
        def,
        what: `launch plan "${def.resolvedName()}"`,
        name: def.resolvedName(),
        inputs: def.inputs,
        outputs: def.workflow.outputs,
        single: def.workflow.single,
        defaults: {},
        // The launch plan applies its own defaults when its execution starts.
        mayLeaveOut: new Set(Object.keys(def.defaults)),
        node: () => ({ launchPlan: def.resourceName() }),
      },
      inputs,
      callOptions,
    );
  Object.defineProperty(fn, 'definition', { value: def });
  return attach(fn, def) as unknown as LaunchPlan<I, O, N>;
}


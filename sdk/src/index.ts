// @propeller/sdk: write Propeller workflows in TypeScript.
export { t, int, float, str, bool, datetime, duration, json, list, dict, optional, type Type } from './types.ts';
export { task, containerTask, type Task, type TaskOptions, type ContainerTaskOptions, type Resources, type PodOptions } from './task.ts';
export { workflow, type Workflow, type WorkflowOptions, type ErrorPromises } from './workflow.ts';
export { launchPlan, type LaunchPlan, type LaunchPlanOptions } from './launch-plan.ts';
export { conditional, and, or, not } from './conditional.ts';
export { sleep, approve, waitForInput, type GateOptions } from './gates.ts';
export { chain, type CallOptions } from './call.ts';
export { partial } from './partial.ts';
export type { Promise_ as Promised, NodeHandle, Condition } from './promise.ts';
export { WorkflowCompileError, TypeCheckError } from './errors.ts';

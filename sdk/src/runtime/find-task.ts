import { closureOf } from '../compile/closure.ts';
import type { LaunchPlanDefinition } from '../launch-plan.ts';
import { nameExports, type Definition } from '../registry.ts';
import type { TaskDefinition } from '../task.ts';
import type { WorkflowDefinition } from '../workflow.ts';

/** Every task a module reaches by name: those it exports and those its workflows and launch plans run. */
export function tasksOf(module: Record<string, unknown>): Map<string, TaskDefinition> {
  const defs = nameExports(module);
  const tasks = new Map<string, TaskDefinition>();
  const workflows = new Set<WorkflowDefinition>();
  const visit = (def: Definition) => {
    if (def.kind === 'task') tasks.set(def.resolvedName(), def as TaskDefinition);
    else if (def.kind === 'workflow') workflows.add(def as WorkflowDefinition);
    else workflows.add((def as LaunchPlanDefinition).workflow);
  };
  for (const def of defs.values()) visit(def);
  for (const wf of workflows) {
    const closure = closureOf(wf);
    for (const [name, t] of closure.tasks) tasks.set(name, t);
    for (const lp of closure.launchPlans.values()) if (!workflows.has(lp.workflow)) workflows.add(lp.workflow);
  }
  return tasks;
}

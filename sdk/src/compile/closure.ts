import { WorkflowCompileError } from '../errors.ts';
import type { LaunchPlanDefinition } from '../launch-plan.ts';
import type { Definition } from '../registry.ts';
import type { TaskDefinition } from '../task.ts';
import type { WorkflowDefinition, WorkflowGraph } from '../workflow.ts';

// Definitions are told apart by kind, not by class: a bundled module carries its own copy of the SDK.

/** Everything a workflow needs to be written as one resource: its tasks and subworkflows, and the launch plans its nodes start. */
export interface Closure {
  root: WorkflowGraph;
  tasks: Map<string, TaskDefinition>;
  subworkflows: Map<string, WorkflowGraph>;
  launchPlans: Map<string, LaunchPlanDefinition>;
}

export function closureOf(wf: WorkflowDefinition): Closure {
  const root = wf.compile();
  const closure: Closure = { root, tasks: new Map(), subworkflows: new Map(), launchPlans: new Map() };
  const pending: WorkflowGraph[] = [root];
  for (let graph = pending.pop(); graph; graph = pending.pop()) {
    for (const def of graph.uses.values()) {
      const name = def.resolvedName();
      if (def.kind === 'task') add(closure.tasks, name, def as TaskDefinition, 'task');
      else if (def.kind === 'launchPlan') add(closure.launchPlans, (def as LaunchPlanDefinition).resourceName(), def as LaunchPlanDefinition, 'launch plan');
      else {
        const sub = def as WorkflowDefinition;
        if (sub === wf) throw new WorkflowCompileError(`workflow "${name}" calls itself; a workflow cannot recurse`);
        if (!closure.subworkflows.has(name)) {
          const graph = sub.compile();
          closure.subworkflows.set(name, graph);
          pending.push(graph);
        } else if (closure.subworkflows.get(name) !== sub.compile()) throw new WorkflowCompileError(`two different workflows are named "${name}"`);
      }
    }
  }
  return closure;
}

function add<D extends Definition>(map: Map<string, D>, name: string, def: D, what: string): void {
  const known = map.get(name);
  if (known && known !== def) throw new WorkflowCompileError(`two different ${what}s are named "${name}"; give one another name`);
  map.set(name, def);
}

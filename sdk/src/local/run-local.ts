import type { SignalSpec, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import type { ChildView } from '../../../src/core/actions.ts';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { plan, type PlanConfig } from '../../../src/core/plan.ts';
import { containerPlugin } from '../../../src/plugins/container/plugin.ts';
import { CONTAINER_NAME } from '../../../src/plugins/container/build-pod.ts';
import { closureOf } from '../compile/closure.ts';
import { launchPlanInterface } from '../compile/resources.ts';
import { PLACEHOLDER_CODE, workflowSpec } from '../compile/specs.ts';
import { TypeCheckError } from '../errors.ts';
import type { LaunchPlanDefinition } from '../launch-plan.ts';
import { resourceName } from '../resource-name.ts';
import type { WorkflowDefinition } from '../workflow.ts';
import { runPod, type Exit } from './local-pod.ts';

export interface LocalRunOptions {
  /** Decisions for gates, by node path, as spec.signals holds them. */
  signals?: Record<string, SignalSpec>;
  /** Called with the status after every round. */
  onStatus?: (status: WorkflowStatus) => void;
  /** Stops the run (as spec.abort does) when it fires. */
  signal?: AbortSignal;
}

export interface LocalRunResult {
  phase: string;
  outputs?: Record<string, unknown>;
  status: WorkflowStatus;
  message?: string;
}

/** A local run waits for a gate nobody can answer: it says which and how to answer it. */
export class LocalRunStuck extends Error {
  override name = 'LocalRunStuck';
}

/**
 * The operator's own config, but with quick retries: a local run follows the same rules (retries, timeouts,
 * failure policy, parallelism) without waiting a minute between attempts. Caching is off locally.
 */
const CONFIG: PlanConfig = {
  maxSystemRetries: 3,
  backoffBaseMs: 200,
  backoffMaxMs: 2000,
  defaultMaxParallelism: 25,
  imagePullGraceMs: 180_000,
  maxNodes: 10_000,
  maxDepth: 10,
  cache: { enabled: false, ttlMs: 0, reservationMs: 30_000 },
};
const PLUGINS = new Map([['container', containerPlugin]]);
const TERMINAL = new Set(['Succeeded', 'Failed', 'Aborted']);

/**
 * Runs a workflow (or a launch plan) in this process with the operator's own core: the same compiler,
 * the same rounds of plan, the same pod contract. Task pods are simulated: a TypeScript task's function
 * runs here; a container task's command runs as a child process.
 */
export async function runLocal(target: WorkflowDefinition | LaunchPlanDefinition, inputs: Record<string, unknown>, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const lp = target.kind === 'launchPlan' ? (target as LaunchPlanDefinition) : undefined;
  const wf = lp ? lp.workflow : (target as WorkflowDefinition);
  const fixed = lp?.options.fixedInputs ?? {};
  for (const k of Object.keys(inputs)) {
    if (Object.hasOwn(fixed, k)) throw new TypeCheckError(`launch plan "${lp!.resolvedName()}": input "${k}" is fixed and cannot be set`);
    if (!Object.hasOwn(wf.inputs, k)) throw new TypeCheckError(`workflow "${wf.resolvedName()}" has no input "${k}" (its inputs: ${Object.keys(wf.inputs).join(', ') || 'none'})`);
  }
  const closure = closureOf(wf);
  const launchPlans = new Map([...closure.launchPlans].map(([name, def]) => [name, launchPlanInterface(def)]));
  const spec = {
    ...workflowSpec(wf, PLACEHOLDER_CODE),
    inputs: { ...wf.defaults, ...(lp?.defaults ?? {}), ...inputs, ...fixed },
    ...(options.signals ? { signals: options.signals } : {}),
  };
  const compile = (spec: unknown) => compileWorkflow(spec, { maxNodes: CONFIG.maxNodes, maxDepth: CONFIG.maxDepth, launchPlans });
  let compiled = compile(spec);
  const name = resourceName(wf.resolvedName(), `workflow "${wf.resolvedName()}"`);
  const workflow: { name: string; namespace: string; uid: string; generation: number; labels: Record<string, string>; spec: unknown; status?: WorkflowStatus } = {
    name,
    namespace: 'local',
    uid: `local-${name}`,
    generation: 1,
    labels: {},
    spec,
  };
  const pods = new Map<string, Pod>();
  const stops = new Map<string, () => void>();
  const children = new Map<string, ChildView>();
  const childAborts = new Map<string, AbortController>();
  let wake: () => void = () => {};
  let changed = false;
  const changedNow = () => {
    changed = true;
    wake();
  };
  const onAbort = () => {
    // plan reads the compiled spec: as for any spec change on a cluster, a new generation, compiled anew.
    workflow.spec = { ...(workflow.spec as object), abort: true };
    workflow.generation++;
    compiled = compile(workflow.spec);
    changedNow();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  let uid = 0;
  try {
    for (;;) {
      changed = false;
      const result = plan({ workflow, pods: [...pods.values()], now: Date.now(), config: CONFIG, plugins: PLUGINS, compiled, children });
      workflow.status = JSON.parse(JSON.stringify(result.status)) as WorkflowStatus;
      options.onStatus?.(workflow.status);
      const phase = workflow.status.phase ?? 'Pending';
      if (TERMINAL.has(phase)) {
        for (const stop of stops.values()) stop();
        return { phase, status: workflow.status, ...(workflow.status.outputs ? { outputs: workflow.status.outputs } : {}), ...(workflow.status.message ? { message: workflow.status.message } : {}) };
      }
      for (const action of result.actions) {
        switch (action.type) {
          case 'CreatePod': {
            const podName = action.pod.metadata.name;
            if (pods.has(podName)) break;
            const pod: Pod = { ...action.pod, metadata: { ...action.pod.metadata, uid: `local-pod-${++uid}`, creationTimestamp: new Date().toISOString() }, status: { phase: 'Running', startTime: new Date().toISOString() } };
            pods.set(podName, pod);
            const run = runPod(pod, closure.tasks);
            stops.set(podName, run.stop);
            void run.done.then((exit) => {
              if (pods.get(podName) !== pod) return; // deleted meanwhile
              stops.delete(podName);
              pods.set(podName, finished(pod, exit));
              changedNow();
            });
            changed = true;
            break;
          }
          case 'DeletePod':
            stops.get(action.podName)?.();
            stops.delete(action.podName);
            pods.delete(action.podName);
            changed = true;
            break;
          case 'CreateChild': {
            const child = action.child as { metadata: { name: string }; spec: { launchPlan: string; inputs?: Record<string, unknown> } };
            if (children.has(child.metadata.name)) break;
            const def = closure.launchPlans.get(child.spec.launchPlan);
            const view: ChildView = { name: child.metadata.name, uid: `local-child-${++uid}`, phase: 'Running' };
            children.set(view.name, view);
            changed = true;
            if (!def) {
              children.set(view.name, { ...view, phase: 'Failed', error: { kind: 'User', code: 'LaunchPlanNotFound', message: `launch plan ${child.spec.launchPlan} is not defined in this module` } });
              break;
            }
            const abort = new AbortController();
            childAborts.set(view.name, abort);
            void runLocal(def, child.spec.inputs ?? {}, { signal: abort.signal, ...(options.signals ? { signals: options.signals } : {}) }).then(
              (r) => {
                children.set(view.name, { ...view, phase: r.phase, ...(r.outputs ? { outputs: r.outputs } : {}), ...(r.status.error ? { error: r.status.error } : {}), ...(r.message ? { message: r.message } : {}) });
                changedNow();
              },
              (err: unknown) => {
                children.set(view.name, { ...view, phase: 'Failed', error: { kind: 'User', code: 'LocalRunFailed', message: err instanceof Error ? err.message : String(err) } });
                changedNow();
              },
            );
            break;
          }
          case 'AbortChild':
            childAborts.get(action.name)?.abort();
            break;
          default:
            // Cache actions: caching is off locally, so plan never asks for them.
            break;
        }
      }
      if (changed) continue;
      const delay = result.requeueAfterMs;
      if (delay === undefined && stops.size === 0 && ![...children.values()].some((c) => c.phase === 'Running')) {
        throw new LocalRunStuck(waitingMessage(workflow.status));
      }
      await new Promise<void>((resolve) => {
        const timer = delay === undefined ? undefined : setTimeout(resolve, Math.max(delay, 10));
        wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function finished(pod: Pod, exit: Exit): Pod {
  const terminated = { exitCode: exit.exitCode, reason: exit.exitCode === 0 ? 'Completed' : 'Error', message: exit.message, finishedAt: new Date().toISOString() };
  return {
    ...pod,
    status: { ...pod.status, phase: exit.exitCode === 0 ? 'Succeeded' : 'Failed', containerStatuses: [{ name: CONTAINER_NAME, state: { terminated } }] },
  } as Pod;
}

function waitingMessage(status: WorkflowStatus): string {
  const waiting = Object.entries(status.nodes ?? {}).filter(([, n]) => n.phase === 'Running' || n.phase === 'Pending' || n.phase === 'Queued');
  // The operator's gate messages end with the kubectl command that decides them on a cluster; not here.
  const lines = waiting.map(([path, n]) => `  ${path}: ${(n.message ?? n.phase).replace(/: kubectl .*$/s, '')}`);
  return `the run waits for something only a person can give:\n${lines.join('\n')}\ndecide gates up front: propeller run … --approve NODE, --reject NODE, --signal NODE=JSON (runLocal: options.signals)`;
}

import type { ExecutionError, PodOptions } from '../api/flyteworkflow.ts';
import type { Pod } from '../api/pod.ts';
import type { CompiledTask } from './compile.ts';

/** Everything a plugin needs to build the pod of one attempt of one node. */
export interface PodBuildInput {
  workflow: { name: string; namespace: string; uid: string; project: string; domain: string };
  node: string;
  attempt: number;
  podName: string;
  task: CompiledTask;
  inputs: Readonly<Record<string, unknown>>;
  serviceAccountName: string | undefined;
  pod: PodOptions;
}

/** What an attempt's pod says about the task, in task terms. */
export type TaskObservation =
  | { phase: 'Queued'; reason?: string; message?: string; pullProblem?: boolean }
  | { phase: 'Running' }
  | { phase: 'Succeeded'; outputsText: string | undefined }
  | { phase: 'Failed'; error: Omit<ExecutionError, 'node'> };

export interface ObserveContext {
  now: number;
  attemptStartedAt: number;
  imagePullGraceMs: number;
}

/** Builds a task's pod and reads its state. Pure: no API calls, no clock of its own. */
export interface TaskPlugin {
  readonly type: string;
  buildPod(input: PodBuildInput): Pod;
  observe(pod: Pod, ctx: ObserveContext): TaskObservation;
}

import { constants } from 'node:os';
import type { Container, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from './pod-types.ts';

/** Pure builders of the pod status the process node reports, shaped like a kubelet's. */

export const NODE_IP = '127.0.0.1';
const NOT_RUN_REASON = 'NotRunByProcessNode';
const NOT_RUN_MESSAGE = 'the process node runs only the first container of a pod';

/** metav1.Time: RFC 3339 in UTC with whole seconds. */
export function kubeTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Exit code as a container runtime reports it: 128 + signal number for a process killed by a signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 0;
}

export interface Exit {
  exitCode: number;
  message: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
  /** Defaults to Completed for exit code 0 and Error otherwise. */
  reason?: string;
}

export function runningStatus(pod: Pod, opts: { startedAt: string; containerID: string }): PodStatus {
  const [main, ...others] = pod.spec.containers;
  return {
    ...placement(pod, opts.startedAt),
    phase: 'Running',
    conditions: conditions(pod, opts.startedAt, 'running'),
    containerStatuses: [
      { ...containerBase(main!), containerID: opts.containerID, ready: true, started: true, state: { running: { startedAt: opts.startedAt } } },
      ...others.map((c) => ({ ...containerBase(c), ready: false, started: false, state: { waiting: { reason: NOT_RUN_REASON, message: NOT_RUN_MESSAGE } } })),
    ],
  };
}

/** A pod whose volumes cannot be set up yet: Pending, its containers waiting in ContainerCreating, as the kubelet shows it. */
export function containerCreatingStatus(pod: Pod, at: string): PodStatus {
  return {
    ...placement(pod, at),
    phase: 'Pending',
    conditions: conditions(pod, at, 'creating'),
    containerStatuses: pod.spec.containers.map((c) => ({ ...containerBase(c), ready: false, started: false, state: { waiting: { reason: 'ContainerCreating' } } })),
  };
}

/** The pod after its main container exited (or could not start), with an optional pod-level reason. */
export function terminatedStatus(pod: Pod, exit: Exit, podReason?: { reason: string; message: string }): PodStatus {
  const [main, ...others] = pod.spec.containers;
  const phase: PodPhase = exit.exitCode === 0 && !podReason ? 'Succeeded' : 'Failed';
  const terminated = {
    exitCode: exit.exitCode,
    reason: exit.reason ?? (exit.exitCode === 0 ? 'Completed' : 'Error'),
    ...(exit.message ? { message: exit.message } : {}),
    startedAt: exit.startedAt,
    finishedAt: exit.finishedAt,
    ...(exit.containerID ? { containerID: exit.containerID } : {}),
  };
  return {
    ...placement(pod, exit.startedAt),
    phase,
    ...(podReason ?? {}),
    conditions: conditions(pod, exit.finishedAt, 'done'),
    containerStatuses: [
      { ...containerBase(main!), ...(exit.containerID ? { containerID: exit.containerID } : {}), ready: false, started: false, state: { terminated } },
      ...others.map((c) => ({
        ...containerBase(c),
        ready: false,
        started: false,
        state: { terminated: { exitCode: 0, reason: NOT_RUN_REASON, message: NOT_RUN_MESSAGE, finishedAt: exit.finishedAt } },
      })),
    ],
  };
}

/**
 * A container that could not be started at all (no command, missing binary): the kubelet with
 * containerd reports it as terminated with exit code 128 and reason StartError.
 */
export function startErrorStatus(pod: Pod, message: string, at: string): PodStatus {
  return terminatedStatus(pod, { exitCode: 128, reason: 'StartError', message, startedAt: at, finishedAt: at, containerID: '' });
}

/** A pod whose process was lost because the process node restarted, like a pod lost in a node reboot. */
export function nodeRestartedStatus(pod: Pod, at: string): PodStatus {
  const running = pod.status?.containerStatuses?.[0]?.state?.running;
  return terminatedStatus(
    pod,
    {
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container could not be located when the pod was terminated',
      startedAt: running?.startedAt ?? pod.status?.startTime ?? at,
      finishedAt: at,
      containerID: pod.status?.containerStatuses?.[0]?.containerID ?? '',
    },
    { reason: 'NodeRestarted', message: 'the process node restarted while the pod was running; its process is gone' },
  );
}

export const DEADLINE_EXCEEDED = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };

function placement(pod: Pod, startTime: string): PodStatus {
  return {
    hostIP: NODE_IP,
    hostIPs: [{ ip: NODE_IP }],
    podIP: NODE_IP,
    podIPs: [{ ip: NODE_IP }],
    startTime: pod.status?.startTime ?? startTime,
  };
}

/** Pod conditions; a condition whose status does not change keeps its lastTransitionTime. */
function conditions(pod: Pod, at: string, stage: 'creating' | 'running' | 'done'): PodCondition[] {
  const make = (type: string, status: 'True' | 'False', reason?: string): PodCondition => {
    const current = pod.status?.conditions?.find((c) => c.type === type);
    const since = current?.status === status && current.lastTransitionTime ? current.lastTransitionTime : at;
    return { type, status, ...(reason ? { reason } : {}), lastProbeTime: null, lastTransitionTime: since };
  };
  const notReady = stage === 'creating' ? 'ContainersNotReady' : 'PodCompleted';
  return [
    make('PodReadyToStartContainers', stage === 'creating' ? 'False' : 'True'),
    make('Initialized', 'True'),
    stage === 'running' ? make('Ready', 'True') : make('Ready', 'False', notReady),
    stage === 'running' ? make('ContainersReady', 'True') : make('ContainersReady', 'False', notReady),
  ];
}

function containerBase(c: Container): Pick<ContainerStatus, 'name' | 'image' | 'imageID' | 'restartCount'> {
  return { name: c.name, image: c.image ?? '', imageID: '', restartCount: 0 };
}

import { constants } from 'node:os';
import {
  initContainerStatusesOf,
  isSidecar,
  isTerminalPhase,
  type Container,
  type ContainerState,
  type ContainerStatus,
  type NodePodStatus,
  type Pod,
  type PodCondition,
  type PodPhase,
} from './pod-types.ts';

/**
 * Pure builders of the pod status the process node reports, shaped like a kubelet's (1.34): the
 * phase follows the kubelet's getPhase and the conditions its generators in pkg/kubelet/status,
 * with the pod's restartPolicy taken as Never.
 */

export const NODE_IP = '127.0.0.1';

/** metav1.Time: RFC 3339 in UTC with whole seconds. */
export function kubeTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Exit code as a container runtime reports it: 128 + signal number for a process killed by a signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 0;
}

/** How a container's process ended (or why it never started). */
export interface Exit {
  exitCode: number;
  message: string;
  startedAt?: string;
  finishedAt: string;
  containerID: string;
  /** Defaults to Completed for exit code 0 and Error otherwise. */
  reason?: string;
}

/** What a container is doing, as the process node knows it. */
export type ContainerRunState = { waiting: { reason: string; message?: string } } | { running: { startedAt: string; containerID: string } } | { terminated: Exit };

export interface ContainerView {
  state: ContainerRunState;
  /** How many times it was restarted (only sidecars are). */
  restartCount?: number;
  /** Its previous run, once restarted. */
  lastTerminated?: Exit;
}

export interface PodView {
  /** Init and app containers by name; a container missing here waits to be created. */
  containers: ReadonlyMap<string, ContainerView | undefined>;
  /** False until the pod's volumes are set up (the kubelet has no pod sandbox before that). */
  sandboxReady: boolean;
  /** A pod-level failure (DeadlineExceeded, NodeRestarted): the pod is Failed whatever its containers did. */
  podReason?: { reason: string; message: string };
  /** When the node took the pod on; kept if the pod has one already. */
  startTime: string;
  /** Now, for conditions that change. */
  at: string;
}

export const DEADLINE_EXCEEDED = { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };
export const NODE_RESTARTED = { reason: 'NodeRestarted', message: 'the process node restarted while the pod was running; its process is gone' };

/** The whole pod status for what the containers are doing. */
export function podStatusOf(pod: Pod, view: PodView): NodePodStatus {
  const inits = pod.spec.initContainers ?? [];
  const defaultState: ContainerRunState = { waiting: { reason: inits.length > 0 ? 'PodInitializing' : 'ContainerCreating' } };
  const statusOf = (c: Container, init: boolean): ContainerStatus => containerStatusOf(c, view.containers.get(c.name) ?? { state: defaultState }, init);
  const initStatuses = inits.map((c) => statusOf(c, true));
  // The kubelet lists app containers by name and init containers in spec order.
  const appStatuses = pod.spec.containers.map((c) => statusOf(c, false)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const phase = view.podReason ? 'Failed' : phaseOf(pod, initStatuses, appStatuses);
  return {
    ...placement(pod, view.startTime),
    phase,
    ...(view.podReason ?? {}),
    conditions: conditionsOf(pod, initStatuses, appStatuses, phase, view),
    ...(inits.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: appStatuses,
  };
}

/**
 * A pod whose processes were lost because the process node restarted, like a pod lost in a node
 * reboot: what was running is reported as ContainerStatusUnknown (exit code 137), as the kubelet's
 * TerminatePod does, and the pod fails with reason NodeRestarted.
 */
export function nodeRestartedStatus(pod: Pod, at: string): NodePodStatus {
  const lost = (startedAt: string | undefined, containerID: string | undefined): ContainerView => ({
    state: {
      terminated: {
        exitCode: 137,
        reason: 'ContainerStatusUnknown',
        message: 'The container could not be located when the pod was terminated',
        ...(startedAt ? { startedAt } : {}),
        finishedAt: at,
        containerID: containerID ?? '',
      },
    },
  });
  const live = new Map([...initContainerStatusesOf(pod), ...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, s]));
  const inits = pod.spec.initContainers ?? [];
  const initialized = inits.length === 0 || pod.spec.containers.some((c) => hasStarted(live.get(c.name)));
  const views = new Map<string, ContainerView>();
  for (const [i, c] of [...inits, ...pod.spec.containers].entries()) {
    const status = live.get(c.name);
    const terminated = status?.state?.terminated;
    const restarts = { restartCount: status?.restartCount ?? 0, ...(status?.lastState?.terminated ? { lastTerminated: exitOf(status.lastState.terminated) } : {}) };
    if (terminated) views.set(c.name, { state: { terminated: exitOf(terminated) }, ...restarts });
    else if (status?.state?.running) views.set(c.name, { ...lost(status.state.running.startedAt, status.containerID), ...restarts });
    // Once the pod has initialized, an app container with no evidence of an end failed; so did an
    // init container that was not reached, when the app containers had started.
    else if (i >= inits.length ? initialized : initialized && !isSidecar(c)) views.set(c.name, { ...lost(undefined, status?.containerID), ...restarts });
    else if (status?.state?.waiting?.reason) views.set(c.name, { state: { waiting: { reason: status.state.waiting.reason } }, ...restarts });
  }
  return podStatusOf(pod, { containers: views, sandboxReady: false, podReason: NODE_RESTARTED, startTime: pod.status?.startTime ?? at, at });
}

function exitOf(t: NonNullable<ContainerState['terminated']>): Exit {
  return {
    exitCode: t.exitCode,
    message: t.message ?? '',
    ...(t.reason ? { reason: t.reason } : {}),
    ...(t.startedAt ? { startedAt: t.startedAt } : {}),
    finishedAt: t.finishedAt ?? '',
    containerID: t.containerID ?? '',
  };
}

function terminatedState(exit: Exit): NonNullable<ContainerState['terminated']> {
  return {
    exitCode: exit.exitCode,
    reason: exit.reason ?? (exit.exitCode === 0 ? 'Completed' : 'Error'),
    ...(exit.message ? { message: exit.message } : {}),
    ...(exit.startedAt ? { startedAt: exit.startedAt } : {}),
    finishedAt: exit.finishedAt,
    ...(exit.containerID ? { containerID: exit.containerID } : {}),
  };
}

/**
 * One container's status. `started` and `ready` as the kubelet's prober manager sets them with no
 * probes: a running container has started; app containers and sidecars are ready while they run;
 * a regular init container is ready once it exited 0.
 */
function containerStatusOf(c: Container, view: ContainerView, init: boolean): ContainerStatus {
  const base = { name: c.name, image: c.image ?? '', imageID: '', restartCount: view.restartCount ?? 0 };
  const lastState = view.lastTerminated ? { lastState: { terminated: terminatedState(view.lastTerminated) } } : {};
  const state = view.state;
  if ('running' in state) {
    return { ...base, ...lastState, containerID: state.running.containerID, ready: !init || isSidecar(c), started: true, state: { running: { startedAt: state.running.startedAt } } };
  }
  if ('terminated' in state) {
    const exit = state.terminated;
    return {
      ...base,
      ...lastState,
      ...(exit.containerID ? { containerID: exit.containerID } : {}),
      ready: init && !isSidecar(c) && exit.exitCode === 0,
      started: false,
      state: { terminated: terminatedState(exit) },
    };
  }
  const containerID = view.lastTerminated?.containerID;
  return { ...base, ...lastState, ...(containerID ? { containerID } : {}), ready: false, started: false, state: { waiting: { ...state.waiting } } };
}

const hasStarted = (s: ContainerStatus | undefined): boolean => s?.state?.running !== undefined || s?.state?.terminated !== undefined;

/** The kubelet's getPhase, with restartPolicy Never. */
function phaseOf(pod: Pod, initStatuses: ContainerStatus[], appStatuses: ContainerStatus[]): PodPhase {
  const inits = pod.spec.initContainers ?? [];
  const initialized = appStatuses.some(hasStarted);
  let pendingInit = 0;
  let failedInit = 0;
  let pendingSidecars = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  inits.forEach((c, i) => {
    const s = initStatuses[i]!.state ?? {};
    if (isSidecar(c)) {
      // A sidecar counts while it runs; once it ended (or waits to restart) it no longer decides the phase.
      if (s.running) running++;
      else if (s.waiting && !initStatuses[i]!.lastState?.terminated) {
        pendingSidecars++;
        waiting++;
      }
    } else if (s.terminated) {
      if (s.terminated.exitCode !== 0) failedInit++;
    } else pendingInit++;
  });
  for (const status of appStatuses) {
    const s = status.state ?? {};
    if (s.running) running++;
    else if (s.terminated) {
      stopped++;
      if (s.terminated.exitCode === 0) succeeded++;
    } else waiting++;
  }
  if (failedInit > 0) return 'Failed';
  if (pendingInit > 0 || (pendingSidecars > 0 && !initialized) || waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) return stopped === succeeded ? 'Succeeded' : 'Failed';
  return 'Pending';
}

function placement(pod: Pod, startTime: string): NodePodStatus {
  return {
    hostIP: NODE_IP,
    hostIPs: [{ ip: NODE_IP }],
    podIP: NODE_IP,
    podIPs: [{ ip: NODE_IP }],
    startTime: pod.status?.startTime ?? startTime,
  };
}

/** Go's %s of a []string, which the kubelet's condition messages use. */
const goList = (names: string[]) => `[${names.join(' ')}]`;

type ConditionValue = { status: 'True' | 'False'; reason?: string; message?: string };

/**
 * PodReadyToStartContainers, Initialized, Ready and ContainersReady as the kubelet generates them;
 * a condition whose status does not change keeps its lastTransitionTime.
 */
function conditionsOf(pod: Pod, initStatuses: ContainerStatus[], appStatuses: ContainerStatus[], phase: PodPhase, view: PodView): PodCondition[] {
  const make = (type: string, value: ConditionValue): PodCondition => {
    const current = pod.status?.conditions?.find((c) => c.type === type);
    const since = current?.status === value.status && current.lastTransitionTime ? current.lastTransitionTime : view.at;
    return { type, status: value.status, ...(value.reason ? { reason: value.reason } : {}), ...(value.message ? { message: value.message } : {}), lastProbeTime: null, lastTransitionTime: since };
  };
  const inits = pod.spec.initContainers ?? [];

  // The pod sandbox exists once the volumes are set up, and is gone once the pod is terminal.
  const readyToStart: ConditionValue = { status: view.sandboxReady && !isTerminalPhase(phase) ? 'True' : 'False' };

  let initialized: ConditionValue = { status: 'True' };
  const incomplete = inits.filter((c, i) => {
    const s = initStatuses[i]!;
    return isSidecar(c) ? !s.started : !s.ready;
  });
  if (phase === 'Succeeded') initialized = { status: 'True', reason: 'PodCompleted' };
  else if (!appStatuses.some(hasStarted) && incomplete.length > 0) {
    initialized = { status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: ${goList(incomplete.map((c) => c.name))}` };
  }

  const unready = [
    ...inits.filter((c, i) => isSidecar(c) && !initStatuses[i]!.ready),
    ...pod.spec.containers.filter((c) => !appStatuses.find((s) => s.name === c.name)?.ready),
  ];
  let containersReady: ConditionValue = { status: 'True' };
  if (phase === 'Succeeded') containersReady = { status: 'False', reason: 'PodCompleted' };
  else if (phase === 'Failed') containersReady = { status: 'False', reason: 'PodFailed' };
  else if (unready.length > 0) containersReady = { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: ${goList(unready.map((c) => c.name))}` };

  return [make('PodReadyToStartContainers', readyToStart), make('Initialized', initialized), make('Ready', containersReady), make('ContainersReady', containersReady)];
}

import { mkdir, rm, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { Backoff } from './backoff.ts';
import { startChild, type ChildHandle } from './child-process.ts';
import { planProcess } from './container-command.ts';
import { errorText, log } from './log.ts';
import { finishDeletion, podRef, recordPodEvent, writePodStatus, type PodRef } from './pod-api.ts';
import { DEADLINE_EXCEEDED, exitCodeOf, kubeTime, nodeRestartedStatus, podStatusOf, type ContainerView, type Exit, type PodView } from './pod-status.ts';
import { ignoredContainerFeatures, isSidecar, isTerminalPhase, type Container, type Pod, type PodStatus } from './pod-types.ts';
import { containerMounts, setUpPodVolumes, type ContainerMountsOutcome, type VolumeDirs } from './pod-volumes.ts';
import { unlockTree } from './sandbox-files.ts';
import { FALLBACK_LOG_BYTES, MAX_MESSAGE_BYTES, chooseTerminationMessage, readTail } from './termination-message.ts';

export interface RunnerContext {
  client: KubeClient;
  nodeName: string;
  workDir: string;
  /** While the agent shuts down, exits are its own doing and are not reported. */
  shuttingDown(): boolean;
}

const MAX_GRACE_SECONDS = 30;
/** Each container's log and termination message live in `containers/NAME/`. */
const CONTAINERS_DIR = 'containers';
const LOG_FILE = 'log';
const TERMINATION_LOG_FILE = 'termination-log';
/** The first app container's log under its old name, for tools and habits that look there. */
const MAIN_LOG_LINK = 'container.log';
/** Mount retries back off up to this; the kubelet's cap is 2 minutes, too slow for a ConfigMap created a moment later. */
const MOUNT_RETRY_CAP_MS = 10_000;
// The kubelet's crash-loop backoff for restarting a sidecar: the first restart at once, then 10 s,
// doubling up to 5 minutes; a container that ran for 10 minutes starts over.
const RESTART_BACKOFF_INITIAL_MS = 10_000;
const RESTART_BACKOFF_MAX_MS = 300_000;
const RESTART_BACKOFF_RESET_MS = 600_000;

/** The grace period a kill gets: the deletion's, else the pod's, capped at 30 s. */
export function graceSecondsOf(pod: Pod): number {
  const seconds = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? MAX_GRACE_SECONDS;
  return Math.max(0, Math.min(MAX_GRACE_SECONDS, seconds));
}

type Role = 'init' | 'sidecar' | 'app';

/** One container of the pod and the process that runs it, if any. */
interface ContainerRun {
  readonly spec: Container;
  readonly role: Role;
  /** Where it is in the pod spec, for messages: `spec.initContainers[0]`. */
  readonly field: string;
  readonly logPath: string;
  readonly terminationLogPath: string;
  mounts?: ContainerMountsOutcome;
  /** Undefined until something happens to it: it waits with the pod's default reason. */
  view?: ContainerView;
  /** The running process; `exit` settles once its exit is recorded. */
  process?: { child: ChildHandle; startedAtMs: number; exit: Promise<Exit> };
}

interface Started {
  /** When the process started; undefined when it could not start. */
  startedAtMs?: number;
  /** How it ended: at once with a StartError when it could not start. */
  exit: Promise<Exit>;
}

/**
 * Runs one pod as a kubelet would, with local processes for containers: sets up its volumes, runs
 * its init containers one after another, starts its sidecars (init containers with restartPolicy
 * Always) and keeps them running, runs its app containers side by side, then stops the sidecars in
 * reverse order. Reports every step through the pod's status, from Pending to a terminal phase, and
 * finishes the pod's deletion when asked to.
 */
export class PodRunner {
  readonly ref: PodRef;
  readonly sandbox: string;
  /** Settles when every process has exited (or none started) and the final status is written. */
  readonly done: Promise<void>;
  private pod: Pod;
  private readonly ctx: RunnerContext;
  private readonly containers: ContainerRun[];
  private readonly startTime = kubeTime();
  private sandboxReady = false;
  /** When the first process started: activeDeadlineSeconds counts from there. */
  private firstStartMs = 0;
  private stopReason: 'deleted' | 'deadline' | undefined;
  private podReason: { reason: string; message: string } | undefined;
  /** Every process has exited: the next status is the final one. */
  private finished = false;
  private deletionFinishing = false;
  private gone = false;
  private deadline: NodeJS.Timeout | undefined;
  /** Aborts when the pod's processes are to stop (deletion, deadline, the end of the app containers, agent shutdown): nothing new starts after it. */
  private readonly halt = new AbortController();
  private terminating: Promise<void> | undefined;
  private readonly sidecarLoops: Promise<void>[] = [];
  private writes: Promise<unknown> = Promise.resolve();
  private statusQueued = false;

  constructor(pod: Pod, ctx: RunnerContext) {
    this.pod = pod;
    this.ctx = ctx;
    this.ref = podRef(pod);
    this.sandbox = join(ctx.workDir, `${this.ref.namespace}_${this.ref.name}_${this.ref.uid}`);
    const run = (spec: Container, role: Role, field: string): ContainerRun => {
      // The API server makes names DNS labels, unique in the pod; this only keeps a bad one in the sandbox.
      const dir = join(this.sandbox, CONTAINERS_DIR, spec.name.replace(/[^a-zA-Z0-9-]/g, '_'));
      return { spec, role, field, logPath: join(dir, LOG_FILE), terminationLogPath: join(dir, TERMINATION_LOG_FILE) };
    };
    this.containers = [
      ...(pod.spec.initContainers ?? []).map((c, i) => run(c, isSidecar(c) ? 'sidecar' : 'init', `spec.initContainers[${i}]`)),
      ...pod.spec.containers.map((c, i) => run(c, 'app', `spec.containers[${i}]`)),
    ];
    this.done = this.run().catch((err: unknown) => log(`${this.key}: runner failed: ${errorText(err)}`));
  }

  get key(): string {
    return `${this.ref.namespace}/${this.ref.name}`;
  }

  /** A newer version of the pod from the watch. */
  update(pod: Pod): void {
    const before = this.pod.spec.activeDeadlineSeconds;
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) this.requestDeletion();
    else if (pod.spec.activeDeadlineSeconds !== before) this.armDeadline();
  }

  /** The pod object is gone from the API: stop the processes; there is nothing left to report to. */
  deleted(pod: Pod): void {
    this.gone = true;
    this.pod = { ...this.pod, metadata: { ...this.pod.metadata, deletionGracePeriodSeconds: pod.metadata.deletionGracePeriodSeconds } };
    this.stop('deleted');
  }

  /** Stops every process quickly for an agent shutdown. */
  shutdown(graceMs: number): void {
    this.halt.abort();
    for (const c of this.containers) {
      const child = c.process?.child;
      if (!child) continue;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
    }
  }

  async removeSandbox(): Promise<void> {
    // Volumes are read-only and a process may have locked directories of its own.
    await unlockTree(this.sandbox);
    await rm(this.sandbox, { recursive: true, force: true }).catch(() => {});
  }

  private requestDeletion(): void {
    if (this.deletionFinishing) return;
    this.deletionFinishing = true;
    this.stop('deleted');
    void this.done.then(async () => {
      if (!this.gone && !this.ctx.shuttingDown()) await finishDeletion(this.ctx.client, this.ref);
    });
  }

  private stop(reason: 'deleted' | 'deadline'): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    if (reason === 'deadline') this.podReason = DEADLINE_EXCEEDED;
    clearTimeout(this.deadline);
    void this.terminate();
  }

  private async run(): Promise<void> {
    try {
      await mkdir(this.sandbox);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A previous agent already started this pod; its processes are lost, so the pod cannot be trusted to run again.
      log(`${this.key}: sandbox exists from an earlier agent; failing the pod`);
      await writePodStatus(this.ctx.client, this.ref, (live) => (isTerminalPhase(live.status?.phase) ? undefined : nodeRestartedStatus(live, kubeTime())));
      return;
    }
    if (this.halted()) return;

    const dirs = await this.setUpVolumes();
    if (!dirs) return;
    this.sandboxReady = true;
    await this.prepareContainers(dirs);

    let initialized = true;
    for (const c of this.containers) {
      if (c.role === 'app') break;
      if (this.halted()) {
        initialized = false;
        break;
      }
      if (c.role === 'sidecar') {
        await this.startSidecar(c);
        continue;
      }
      const exit = await (await this.startContainer(c)).exit;
      if (exit.exitCode !== 0) {
        if (!this.halted()) log(`${this.key}: init container ${c.spec.name} failed with exit code ${exit.exitCode}; the pod fails`);
        initialized = false;
        break;
      }
    }
    if (initialized) {
      const exits: Promise<Exit>[] = [];
      for (const c of this.containers) {
        if (c.role !== 'app' || this.halted()) continue;
        exits.push((await this.startContainer(c)).exit);
      }
      await Promise.all(exits);
    }
    // The app containers are done (or never start): the sidecars stop, last first.
    await this.terminate();
    await Promise.all(this.sidecarLoops);
    clearTimeout(this.deadline);
    this.finished = true;
    await this.requestStatus();
  }

  private halted(): boolean {
    return this.halt.signal.aborted || this.gone || this.ctx.shuttingDown();
  }

  /**
   * Sets up the pod's volumes. Like the kubelet, a failure keeps the pod Pending (ContainerCreating)
   * with a FailedMount event, and is retried until it works or the pod stops; undefined means it stopped.
   */
  private async setUpVolumes(): Promise<VolumeDirs | undefined> {
    const backoff = new Backoff(500, MOUNT_RETRY_CAP_MS);
    let reported: string | undefined;
    for (;;) {
      const outcome = await setUpPodVolumes(this.ctx.client, this.pod, this.sandbox, this.halt.signal);
      if (outcome.ok) return outcome.dirs;
      if (this.halted()) return undefined;
      if (reported === undefined) void this.requestStatus();
      // One event per distinct failure: retries of the same one would only add noise.
      if (outcome.message !== reported) {
        reported = outcome.message;
        log(`${this.key}: ${outcome.message}; retrying`);
        void recordPodEvent(this.ctx.client, this.pod, this.ctx.nodeName, 'Warning', 'FailedMount', outcome.message);
      }
      await backoff.wait(this.halt.signal);
      if (this.halted()) return undefined;
    }
  }

  /** Each container's directory and mounts, the old name of the main log, and one event for what will not be honoured. */
  private async prepareContainers(dirs: VolumeDirs): Promise<void> {
    for (const c of this.containers) {
      await mkdir(join(c.logPath, '..'), { recursive: true });
      c.mounts = await containerMounts(this.pod, c.spec, dirs);
    }
    const main = this.containers.find((c) => c.role === 'app');
    if (main) await symlink(relative(this.sandbox, main.logPath), join(this.sandbox, MAIN_LOG_LINK)).catch(() => {});
    this.noteUnsupported();
  }

  /**
   * Starts the container's process. A container that cannot start (no command, a missing binary, a
   * bad subPath) ends at once, as containerd reports it: exit code 128, reason StartError.
   */
  private async startContainer(c: ContainerRun): Promise<Started> {
    const mounts = c.mounts ?? { ok: true, mounts: { mappings: [], unsupported: [] } };
    if (!mounts.ok) return this.startFailed(c, mounts.message);
    const planned = planProcess(c.spec, { hostEnv: process.env, terminationLogPath: c.terminationLogPath, mounts: mounts.mounts.mappings, field: c.field });
    if (!planned.ok) return this.startFailed(c, planned.message);
    let started: Awaited<ReturnType<typeof startChild>>;
    try {
      started = await startChild(planned.plan, { cwd: this.sandbox, logPath: c.logPath });
    } catch (err) {
      // The log file could not be opened, say: a container that cannot start, not a runner that stops.
      started = { ok: false, message: `failed to create container: ${errorText(err)}` };
    }
    if (!started.ok) return this.startFailed(c, started.message);

    const child = started.child;
    const startedAtMs = Date.now();
    const startedAt = kubeTime(new Date(startedAtMs));
    const containerID = `process://${child.pid}`;
    log(`${this.key}: ${c.spec.name} started pid ${child.pid}`);
    c.view = { ...c.view, state: { running: { startedAt, containerID } } };
    const exit = child.exited.then(({ code, signal }) => this.recordExit(c, exitCodeOf(code, signal), signal, startedAt, containerID));
    c.process = { child, startedAtMs, exit };
    if (this.halt.signal.aborted) {
      // The pod began to stop while this process was being started: it was never meant to run.
      child.kill('SIGKILL');
    } else if (this.firstStartMs === 0) {
      this.firstStartMs = startedAtMs;
      this.armDeadline();
    }
    void this.requestStatus();
    return { startedAtMs, exit };
  }

  private startFailed(c: ContainerRun, message: string): Started {
    log(`${this.key}: ${c.spec.name} cannot start: ${message}`);
    const at = kubeTime();
    const exit: Exit = { exitCode: 128, reason: 'StartError', message, startedAt: at, finishedAt: at, containerID: '' };
    c.view = { ...c.view, state: { terminated: exit } };
    void this.requestStatus();
    return { exit: Promise.resolve(exit) };
  }

  private async recordExit(c: ContainerRun, exitCode: number, signal: NodeJS.Signals | null, startedAt: string, containerID: string): Promise<Exit> {
    log(`${this.key}: ${c.spec.name} exited ${signal ? `on ${signal} ` : ''}with code ${exitCode}`);
    const exit: Exit = { exitCode, message: await this.terminationMessage(c, exitCode), startedAt, finishedAt: kubeTime(), containerID };
    c.view = { ...c.view, state: { terminated: exit } };
    c.process = undefined;
    void this.requestStatus();
    return exit;
  }

  /**
   * Starts a sidecar and keeps it running: when it exits before the pod stops, it is restarted
   * with the kubelet's crash-loop backoff (waiting in CrashLoopBackOff meanwhile). Resolves once it
   * first runs, which lets the next containers start, or when the pod stops.
   */
  private startSidecar(c: ContainerRun): Promise<void> {
    return new Promise<void>((firstRun) => {
      const loop = async () => {
        let backoffMs = 0;
        while (!this.halted()) {
          const { startedAtMs, exit: exited } = await this.startContainer(c);
          if (startedAtMs !== undefined) firstRun();
          const exit = await exited;
          if (this.halted()) break;
          if (startedAtMs !== undefined && Date.now() - startedAtMs >= RESTART_BACKOFF_RESET_MS) backoffMs = 0;
          if (backoffMs > 0) {
            const message = `back-off ${backoffMs / 1000}s restarting failed container=${c.spec.name} pod=${this.ref.name}_${this.ref.namespace}(${this.ref.uid})`;
            c.view = { ...c.view, state: { waiting: { reason: 'CrashLoopBackOff', message } }, lastTerminated: exit };
            void this.requestStatus();
            await sleep(backoffMs, undefined, { signal: this.halt.signal }).catch(() => {});
            if (this.halted()) break;
          }
          backoffMs = backoffMs === 0 ? RESTART_BACKOFF_INITIAL_MS : Math.min(2 * backoffMs, RESTART_BACKOFF_MAX_MS);
          c.view = { ...c.view, state: c.view?.state ?? { waiting: { reason: 'PodInitializing' } }, restartCount: (c.view?.restartCount ?? 0) + 1, lastTerminated: exit };
          log(`${this.key}: restarting sidecar ${c.spec.name} (restart ${c.view.restartCount})`);
        }
        firstRun();
      };
      this.sidecarLoops.push(loop());
    });
  }

  /**
   * Stops every process of the pod as the kubelet does: the running init container or the app
   * containers get SIGTERM at once, each sidecar once the app containers and the sidecars after it
   * have exited; whatever still runs when the grace period ends gets SIGKILL.
   */
  private terminate(): Promise<void> {
    this.terminating ??= this.stopProcesses();
    return this.terminating;
  }

  private async stopProcesses(): Promise<void> {
    this.halt.abort();
    const graceMs = graceSecondsOf(this.pod) * 1000;
    const killAt = Date.now() + graceMs;
    const force = setTimeout(() => {
      for (const c of this.containers) c.process?.child.kill('SIGKILL');
    }, graceMs);
    const stopOne = async (c: ContainerRun) => {
      const running = c.process;
      if (!running) return;
      running.child.kill(Date.now() >= killAt ? 'SIGKILL' : 'SIGTERM');
      await running.exit;
    };
    try {
      await Promise.all(this.containers.filter((c) => c.role !== 'sidecar').map(stopOne));
      for (const c of this.containers.filter((c) => c.role === 'sidecar').reverse()) await stopOne(c);
    } finally {
      clearTimeout(force);
    }
  }

  private noteUnsupported(): void {
    const notes: string[] = [];
    const several = this.containers.length > 1;
    const of = (c: ContainerRun) => (several ? ` (container "${c.spec.name}")` : '');
    const mounts: string[] = [];
    for (const c of this.containers) {
      const valueFrom = (c.spec.env ?? []).filter((e) => e.valueFrom !== undefined && e.value === undefined).map((e) => e.name);
      if (valueFrom.length > 0) notes.push(`env valueFrom is not supported, set to ""${of(c)}: ${valueFrom.join(', ')}`);
      if ((c.spec.envFrom ?? []).length > 0) notes.push(`envFrom is not supported and is ignored${of(c)}`);
      const ignored = ignoredContainerFeatures(c.spec);
      if (ignored.length > 0) notes.push(`probes and lifecycle hooks are not run${of(c)}: ${ignored.join(', ')}`);
      if (c.mounts?.ok) mounts.push(...c.mounts.mounts.unsupported.map((m) => `${m}${of(c)}`));
    }
    const restartPolicy = this.pod.spec.restartPolicy;
    if (restartPolicy !== undefined && restartPolicy !== 'Never') notes.push(`restartPolicy ${restartPolicy} is treated as Never: only sidecars are restarted`);
    if (mounts.length > 0) notes.push(`only configMap and emptyDir volumes are mounted; not mounted: ${mounts.join(', ')}`);
    if (notes.length === 0) return;
    const message = `process node: ${notes.join('; ')}`;
    log(`${this.key}: ${message}`);
    void recordPodEvent(this.ctx.client, this.pod, this.ctx.nodeName, 'Warning', 'ProcessNodeUnsupported', message);
  }

  private armDeadline(): void {
    clearTimeout(this.deadline);
    const seconds = this.pod.spec.activeDeadlineSeconds;
    if (this.firstStartMs === 0 || this.halt.signal.aborted || seconds === undefined) return;
    const remainingMs = Math.max(0, this.firstStartMs + seconds * 1000 - Date.now());
    this.deadline = setTimeout(() => {
      log(`${this.key}: active deadline of ${seconds}s exceeded`);
      this.stop('deadline');
    }, remainingMs);
  }

  private async terminationMessage(c: ContainerRun, exitCode: number): Promise<string> {
    const policy = c.spec.terminationMessagePolicy;
    const file = await readTail(c.terminationLogPath, MAX_MESSAGE_BYTES);
    const needsLog = policy === 'FallbackToLogsOnError' && exitCode !== 0 && (file?.length ?? 0) === 0;
    const logTail = needsLog ? await readTail(c.logPath, FALLBACK_LOG_BYTES) : undefined;
    return chooseTerminationMessage({ file, log: logTail, policy, exitCode });
  }

  private view(): PodView {
    return {
      containers: new Map(this.containers.map((c) => [c.spec.name, c.view])),
      sandboxReady: this.sandboxReady,
      ...(this.podReason ? { podReason: this.podReason } : {}),
      startTime: this.startTime,
      at: kubeTime(),
    };
  }

  /**
   * The status to write over the live pod, or undefined to write none. A terminal phase is written
   * only once every process has exited, so whoever sees it sees every container's end; a pod that
   * is stopping (deleted, past its deadline) reports only that end. A terminal phase never changes.
   */
  private statusFor(live: Pod): PodStatus | undefined {
    if (this.stopReason && !this.finished) return undefined;
    const status = podStatusOf(live, this.view());
    if (!this.finished && isTerminalPhase(status.phase)) return undefined;
    if (isTerminalPhase(live.status?.phase) && status.phase !== live.status?.phase) return undefined;
    return status;
  }

  /**
   * Queues a status write. Writes of one pod go out one at a time, in order, and each is computed
   * from the runner's state when it goes out, so a burst of changes makes one or two writes.
   */
  private requestStatus(): Promise<unknown> {
    if (this.gone || this.ctx.shuttingDown()) return Promise.resolve();
    if (this.statusQueued) return this.writes;
    // What statusFor would refuse anyway, judged on the last pod seen: no read of the live pod for it.
    if (!this.finished && (this.stopReason || isTerminalPhase(podStatusOf(this.pod, this.view()).phase))) return this.writes;
    this.statusQueued = true;
    this.writes = this.writes.then(() => {
      this.statusQueued = false;
      if (this.gone || this.ctx.shuttingDown()) return undefined;
      return writePodStatus(this.ctx.client, this.ref, (live) => this.statusFor(live));
    });
    return this.writes;
  }
}

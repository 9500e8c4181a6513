import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { Backoff } from './backoff.ts';
import { startChild, type ChildHandle } from './child-process.ts';
import { mountConfigMapVolumes, unlockVolumes, type MountedVolumes } from './configmap-volumes.ts';
import { planProcess } from './container-command.ts';
import { errorText, log } from './log.ts';
import { finishDeletion, podRef, recordPodEvent, writePodStatus, type PodRef } from './pod-api.ts';
import {
  DEADLINE_EXCEEDED,
  containerCreatingStatus,
  exitCodeOf,
  kubeTime,
  nodeRestartedStatus,
  runningStatus,
  startErrorStatus,
  terminatedStatus,
  type Exit,
} from './pod-status.ts';
import { isTerminalPhase, type Container, type Pod, type PodStatus } from './pod-types.ts';
import { FALLBACK_LOG_BYTES, MAX_MESSAGE_BYTES, chooseTerminationMessage, readTail } from './termination-message.ts';

export interface RunnerContext {
  client: KubeClient;
  nodeName: string;
  workDir: string;
  /** While the agent shuts down, exits are its own doing and are not reported. */
  shuttingDown(): boolean;
}

const MAX_GRACE_SECONDS = 30;
const LOG_FILE = 'container.log';
const TERMINATION_LOG_FILE = 'termination-log';
/** Mount retries back off up to this; the kubelet's cap is 2 minutes, too slow for a ConfigMap created a moment later. */
const MOUNT_RETRY_CAP_MS = 10_000;

/** The grace period a kill gets: the deletion's, else the pod's, capped at 30 s. */
export function graceSecondsOf(pod: Pod): number {
  const seconds = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? MAX_GRACE_SECONDS;
  return Math.max(0, Math.min(MAX_GRACE_SECONDS, seconds));
}

/**
 * Runs one pod's main container as a child process and reports its life through the pod's
 * status, from Running to a terminal phase, then finishes the pod's deletion when asked to.
 */
export class PodRunner {
  readonly ref: PodRef;
  readonly sandbox: string;
  /** Settles when the process has exited (or never started) and its final status is written. */
  readonly done: Promise<void>;
  private pod: Pod;
  private readonly ctx: RunnerContext;
  private child: ChildHandle | undefined;
  private startedAtMs = 0;
  private exited = false;
  private stopReason: 'deleted' | 'deadline' | undefined;
  private deletionFinishing = false;
  private gone = false;
  private deadline: NodeJS.Timeout | undefined;
  private forceKill: NodeJS.Timeout | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  /** Aborts when the pod is to stop, which ends the wait between mount retries. */
  private readonly stopping = new AbortController();

  constructor(pod: Pod, ctx: RunnerContext) {
    this.pod = pod;
    this.ctx = ctx;
    this.ref = podRef(pod);
    this.sandbox = join(ctx.workDir, `${this.ref.namespace}_${this.ref.name}_${this.ref.uid}`);
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

  /** The pod object is gone from the API: stop the process; there is nothing left to report to. */
  deleted(pod: Pod): void {
    this.gone = true;
    this.pod = { ...this.pod, metadata: { ...this.pod.metadata, deletionGracePeriodSeconds: pod.metadata.deletionGracePeriodSeconds } };
    this.stop('deleted');
  }

  /** Stops the process quickly for an agent shutdown. */
  shutdown(graceMs: number): void {
    this.stopping.abort();
    if (!this.child || this.exited) return;
    this.child.kill('SIGTERM');
    const child = this.child;
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  }

  async removeSandbox(): Promise<void> {
    await unlockVolumes(this.sandbox);
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
    this.stopping.abort();
    if (!this.child || this.exited) return;
    clearTimeout(this.deadline);
    this.killGracefully();
  }

  private killGracefully(): void {
    const child = this.child!;
    const graceSeconds = graceSecondsOf(this.pod);
    if (graceSeconds === 0) {
      child.kill('SIGKILL');
      return;
    }
    child.kill('SIGTERM');
    this.forceKill = setTimeout(() => child.kill('SIGKILL'), graceSeconds * 1000);
  }

  private async run(): Promise<void> {
    try {
      await mkdir(this.sandbox);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A previous agent already started this pod; its process is lost, so the pod cannot be trusted to run again.
      log(`${this.key}: sandbox exists from an earlier agent; failing the pod`);
      await this.writeStatus((live) => (isTerminalPhase(live.status?.phase) ? undefined : nodeRestartedStatus(live, kubeTime())));
      return;
    }
    if (this.stopReason) return;

    const main = this.pod.spec.containers[0]!;
    const volumes = await this.mountVolumes(main);
    if (!volumes) return;
    const terminationLogPath = join(this.sandbox, TERMINATION_LOG_FILE);
    const planned = planProcess(main, { hostEnv: process.env, terminationLogPath, mounts: volumes.mappings });
    if (!planned.ok) return this.failToStart(planned.message);
    this.noteUnsupported(main, planned.plan.unsupportedEnv, volumes.unsupported);

    const started = await startChild(planned.plan, { cwd: this.sandbox, logPath: join(this.sandbox, LOG_FILE) });
    if (!started.ok) return this.failToStart(started.message);
    this.child = started.child;
    this.startedAtMs = Date.now();
    const startedAt = kubeTime(new Date(this.startedAtMs));
    const containerID = `process://${started.child.pid}`;
    log(`${this.key}: started pid ${started.child.pid}`);

    if (this.stopReason) this.killGracefully();
    else {
      this.armDeadline();
      void this.writeStatus((live) => (live.status?.phase === undefined || live.status.phase === 'Pending' ? runningStatus(live, { startedAt, containerID }) : undefined));
    }

    const { code, signal } = await started.child.exited;
    this.exited = true;
    clearTimeout(this.deadline);
    clearTimeout(this.forceKill);
    const exitCode = exitCodeOf(code, signal);
    log(`${this.key}: exited ${signal ? `on ${signal} ` : ''}with code ${exitCode}`);
    if (this.gone || this.ctx.shuttingDown()) return;

    const exit: Exit = {
      exitCode,
      message: await this.terminationMessage(terminationLogPath, main.terminationMessagePolicy, exitCode),
      startedAt,
      finishedAt: kubeTime(),
      containerID,
    };
    const podReason = this.stopReason === 'deadline' ? DEADLINE_EXCEEDED : undefined;
    await this.writeStatus((live) => (isTerminalPhase(live.status?.phase) ? undefined : terminatedStatus(live, exit, podReason)));
  }

  /**
   * Sets up the main container's configMap volumes. Like the kubelet, a failure keeps the pod
   * Pending (ContainerCreating) with a FailedMount event, and is retried until it works or the pod
   * stops; undefined means it stopped.
   */
  private async mountVolumes(main: Container): Promise<MountedVolumes | undefined> {
    const backoff = new Backoff(500, MOUNT_RETRY_CAP_MS);
    const stopped = () => this.stopReason !== undefined || this.gone || this.ctx.shuttingDown();
    let reported: string | undefined;
    for (;;) {
      const outcome = await mountConfigMapVolumes(this.ctx.client, this.pod, main, this.sandbox, this.stopping.signal);
      if (outcome.ok) return outcome.mounted;
      if (stopped()) return undefined;
      if (reported === undefined) {
        const at = kubeTime();
        void this.writeStatus((live) => (live.status?.phase === undefined || live.status.phase === 'Pending' ? containerCreatingStatus(live, at) : undefined));
      }
      // One event per distinct failure: retries of the same one would only add noise.
      if (outcome.message !== reported) {
        reported = outcome.message;
        log(`${this.key}: ${outcome.message}; retrying`);
        void recordPodEvent(this.ctx.client, this.pod, this.ctx.nodeName, 'Warning', 'FailedMount', outcome.message);
      }
      await backoff.wait(this.stopping.signal);
      if (stopped()) return undefined;
    }
  }

  private async failToStart(message: string): Promise<void> {
    log(`${this.key}: cannot start: ${message}`);
    const at = kubeTime();
    await this.writeStatus((live) => (isTerminalPhase(live.status?.phase) ? undefined : startErrorStatus(live, message, at)));
  }

  private noteUnsupported(main: Container, envNames: string[], mounts: string[]): void {
    const notes: string[] = [];
    if (envNames.length > 0) notes.push(`env valueFrom is not supported, set to "": ${envNames.join(', ')}`);
    if ((main.envFrom ?? []).length > 0) notes.push('envFrom is not supported and is ignored');
    if (mounts.length > 0) notes.push(`only configMap volumes are mounted; not mounted: ${mounts.join(', ')}`);
    if (this.pod.spec.containers.length > 1) notes.push(`only the first of ${this.pod.spec.containers.length} containers runs`);
    if ((this.pod.spec.initContainers ?? []).length > 0) notes.push('init containers are skipped');
    if (notes.length === 0) return;
    const message = `process node: ${notes.join('; ')}`;
    log(`${this.key}: ${message}`);
    void recordPodEvent(this.ctx.client, this.pod, this.ctx.nodeName, 'Warning', 'ProcessNodeUnsupported', message);
  }

  private armDeadline(): void {
    clearTimeout(this.deadline);
    const seconds = this.pod.spec.activeDeadlineSeconds;
    if (!this.child || this.exited || this.stopReason || seconds === undefined) return;
    const remainingMs = Math.max(0, this.startedAtMs + seconds * 1000 - Date.now());
    this.deadline = setTimeout(() => {
      log(`${this.key}: active deadline of ${seconds}s exceeded`);
      this.stop('deadline');
    }, remainingMs);
  }

  private async terminationMessage(path: string, policy: string | undefined, exitCode: number): Promise<string> {
    const file = await readTail(path, MAX_MESSAGE_BYTES);
    const needsLog = policy === 'FallbackToLogsOnError' && exitCode !== 0 && (file?.length ?? 0) === 0;
    const logTail = needsLog ? await readTail(join(this.sandbox, LOG_FILE), FALLBACK_LOG_BYTES) : undefined;
    return chooseTerminationMessage({ file, log: logTail, policy, exitCode });
  }

  /** Status writes of one pod go out one at a time, in order, so Running can never land after a terminal phase. */
  private writeStatus(build: (live: Pod) => PodStatus | undefined): Promise<unknown> {
    this.writes = this.writes.then(() => writePodStatus(this.ctx.client, this.ref, build));
    return this.writes;
  }
}

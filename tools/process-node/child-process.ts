import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { ProcessPlan } from './container-command.ts';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildHandle {
  pid: number;
  exited: Promise<ProcessExit>;
  /** Signals the whole process group, so a shell's children go too. */
  kill(signal: NodeJS.Signals): void;
}

export type StartResult = { ok: true; child: ChildHandle } | { ok: false; message: string };

/**
 * Starts the plan's argv (no shell) in its own process group, with stdout and stderr appended to
 * `logPath`. Resolves once the process runs, or with a readable reason why it could not start.
 */
export async function startChild(plan: ProcessPlan, opts: { cwd: string; logPath: string }): Promise<StartResult> {
  const log = await open(opts.logPath, 'a');
  try {
    const child = spawn(plan.file, plan.args, { cwd: opts.cwd, env: plan.env, detached: true, stdio: ['ignore', log.fd, log.fd] });
    const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const started = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (started || child.pid === undefined) return { ok: false, message: startErrorMessage(plan.file, started) };
    // A spawned child's later 'error' (a failed kill, say) must not become an uncaught exception.
    child.on('error', () => {});
    const pid = child.pid;
    void exited.then(() => signalGroup(pid, 'SIGKILL'));
    return { ok: true, child: { pid, exited, kill: (signal) => signalGroup(pid, signal) } };
  } finally {
    await log.close();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

function startErrorMessage(file: string, err: Error | undefined): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = file.includes('/') ? '' : ' in $PATH';
  switch (code) {
    case 'ENOENT':
      return `failed to start container process: exec: "${file}": executable file not found${where}`;
    case 'EACCES':
      return `failed to start container process: exec: "${file}": permission denied`;
    default:
      return `failed to start container process: exec: "${file}": ${err?.message ?? 'unknown error'}`;
  }
}

import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What we record about a started process so that any later run can stop it safely. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /** Kernel start time (clock ticks since boot): with the pid, it identifies the process even after pid reuse. */
  startTime: string;
  logPath: string;
  /** How it was started, so a fault-injection test can start it again the same way. */
  command?: string;
  args?: string[];
  /** Variables it was started with on top of the starter's environment (credentials, say), for a restart. */
  env?: Record<string, string>;
}

/**
 * Starts a program in its own process group with output going to a log file. It is detached, so
 * it can outlive the starter (`cluster up`); it is stopped by pid and process group, never by name.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { logPath: string; env?: NodeJS.ProcessEnv; cwd?: string; extraEnv?: Record<string, string> },
): ProcessRecord {
  const fd = openSync(opts.logPath, 'a');
  try {
    const env = opts.extraEnv ? { ...(opts.env ?? process.env), ...opts.extraEnv } : (opts.env ?? process.env);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd: opts.cwd });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    child.unref();
    return { name, pid: child.pid, startTime: startTimeOf(child.pid) ?? '', logPath: opts.logPath, command, args, ...(opts.extraEnv ? { env: opts.extraEnv } : {}) };
  } finally {
    closeSync(fd);
  }
}

export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when the recorded process is still the one we started. */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const now = startTimeOf(record.pid);
  if (now === undefined) return false;
  if (isZombie(record.pid)) return false;
  return !record.startTime || now === record.startTime;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** SIGTERM to the process group, then SIGKILL after the grace period. Resolves once it is gone. */
export async function stopProcess(record: ProcessRecord, graceMs = 5000): Promise<void> {
  if (!isRunning(record)) return;
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(record)) return;
    await sleep(50);
  }
  signalGroup(record.pid, 'SIGKILL');
  while (isRunning(record)) await sleep(20);
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** A port free on loopback right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

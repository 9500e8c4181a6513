import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../tools/controlplane/components.ts';

export interface RunningPropeller {
  child: ChildProcess;
  logPath: string;
  logs(): string;
  /** The port of /healthz, /readyz and /metrics, once the propeller has logged it. */
  serverPort(): Promise<number>;
  /** SIGKILL: a crash, with no chance to clean up. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful shutdown; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs the propeller exactly as `npm start` does, as a child process with its log in a file. */
export function startPropeller(opts: { kubeconfig: string; namespaces: string[]; args?: string[]; env?: NodeJS.ProcessEnv }): RunningPropeller {
  const logPath = join(mkdtempSync(join(tmpdir(), 'propeller-test-')), 'propeller.log');
  writeFileSync(logPath, '');
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(
    process.execPath,
    // Port 0: several propellers run at once in tests; `serverPort()` reads the one it got.
    [join(repoRoot, 'src', 'main.ts'), '--kubeconfig', opts.kubeconfig, '--namespaces', opts.namespaces.join(','), '--log-level', 'debug', '--server-port', '0', ...(opts.args ?? [])],
    { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    logPath,
    logs: () => readFileSync(logPath, 'utf8'),
    serverPort: async () => {
      for (let i = 0; i < 300; i++) {
        const match = /"port":(\d+),"msg":"serving/.exec(readFileSync(logPath, 'utf8'));
        if (match) return Number(match[1]);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the propeller did not report its server port; log:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../../../src/api/pod.ts';
import type { TaskDefinition } from '../task.ts';

/** How a local "pod" ended, as a kubelet would report it in the pod's status. */
export interface Exit {
  exitCode: number;
  message: string;
}

const envOf = (pod: Pod): Record<string, string> =>
  Object.fromEntries((pod.spec.containers[0]?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

/**
 * Runs what a task pod would run, in this process: a TypeScript task's function on the pod's
 * FLYTE_INPUTS (checked and serialized exactly as its pod checks them), or a container task's command as a
 * child process with the pod's env, no shell. `stop` ends a child process; a function cannot be stopped,
 * so its result is ignored instead.
 */
export function runPod(pod: Pod, tasks: ReadonlyMap<string, TaskDefinition>): { done: Promise<Exit>; stop: () => void } {
  const env = envOf(pod);
  const name = env['FLYTE_INTERNAL_TASK_NAME'] ?? '';
  const task = tasks.get(name);
  if (task && !task.container) {
    const done = (async (): Promise<Exit> => {
      try {
        const outputs = await task.run(JSON.parse(env['FLYTE_INPUTS'] ?? '{}') as Record<string, unknown>);
        return { exitCode: 0, message: JSON.stringify(outputs) };
      } catch (err) {
        return { exitCode: 1, message: err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err) };
      }
    })();
    return { done, stop: () => {} };
  }
  return runCommand(pod, env);
}

function runCommand(pod: Pod, env: Record<string, string>): { done: Promise<Exit>; stop: () => void } {
  const container = pod.spec.containers[0]!;
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const dir = mkdtempSync(join(tmpdir(), 'propeller-local-'));
  const outputsFile = join(dir, 'termination-log');
  let child: ChildProcess | undefined;
  const done = new Promise<Exit>((resolve) => {
    if (argv.length === 0) return resolve({ exitCode: 128, message: 'the container has no command; a local run needs one (images are not pulled)' });
    const finish = (exit: Exit) => {
      rmSync(dir, { recursive: true, force: true });
      resolve(exit);
    };
    child = spawn(argv[0]!, argv.slice(1), {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, FLYTE_OUTPUTS_FILE: outputsFile },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (err) => finish({ exitCode: 127, message: `cannot start ${argv[0]}: ${err.message}` }));
    child.on('exit', (code, signal) => {
      let message = '';
      try {
        message = readFileSync(outputsFile, 'utf8');
      } catch {}
      finish({ exitCode: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), message });
    });
  });
  return { done, stop: () => child?.kill('SIGTERM') };
}

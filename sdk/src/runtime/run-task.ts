import { realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tasksOf } from './find-task.ts';

/** The termination message the kubelet keeps: the last 4096 bytes. Error text is cut to fit. */
const MESSAGE_LIMIT = 4096;

/** Whether the module at `url` is the program node started (the pod's entry), not one imported by it. */
export function isMain(url: string): boolean {
  if (process.argv[1] === undefined) return false;
  // Node loads the program from its real path, but argv keeps the path it was given: in a pod, a
  // ConfigMap volume mounts bundle.mjs as a symlink into ..data/.
  let program = process.argv[1];
  try {
    program = realpathSync(program);
  } catch {}
  return pathToFileURL(program).href === url;
}

/**
 * A task pod's program, by the pod contract: runs the task named by --task on FLYTE_INPUTS and writes its
 * outputs as one JSON object to FLYTE_OUTPUTS_FILE. A failure writes its message there and exits 1.
 */
export async function runTaskMain(module: Record<string, unknown>, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const outputsFile = process.env['FLYTE_OUTPUTS_FILE'];
  const fail = (message: string) => {
    process.stderr.write(`${message}\n`);
    if (outputsFile) writeFileSync(outputsFile, message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 1)}…` : message);
    process.exitCode = 1;
  };
  const at = argv.indexOf('--task');
  const name = at >= 0 ? argv[at + 1] : undefined;
  if (!name) return fail('usage: bundle.mjs --task NAME');
  try {
    const task = tasksOf(module).get(name);
    if (!task) return fail(`no task "${name}" in this bundle (it has ${[...tasksOf(module).keys()].join(', ') || 'none'})`);
    const inputs = JSON.parse(process.env['FLYTE_INPUTS'] ?? '{}') as Record<string, unknown>;
    const outputs = await task.run(inputs);
    if (outputsFile) writeFileSync(outputsFile, JSON.stringify(outputs));
    else process.stdout.write(`${JSON.stringify(outputs)}\n`);
  } catch (err) {
    if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    fail(err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err));
  }
}

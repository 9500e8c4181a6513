import { expandVars } from './expand-vars.ts';
import { mapMountedPath, type PathMapping } from './mount-paths.ts';
import type { Container } from './pod-types.ts';

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/** What to exec for one of a pod's containers: argv and env, no shell. */
export interface ProcessPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** Env entries that use valueFrom, which the process node cannot resolve; they are set to "". */
  unsupportedEnv: string[];
}

export type PlanResult = { ok: true; plan: ProcessPlan } | { ok: false; message: string };

/**
 * Builds the argv and env for the container the way a kubelet would (env in order, `$(VAR)`
 * expansion), except that there is no image: the command must be given, and any value equal to
 * the termination message path, or equal to or under a mounted volume's path, points into the
 * sandbox instead.
 */
export function planProcess(
  container: Container,
  opts: { hostEnv: NodeJS.ProcessEnv; terminationLogPath: string; mounts?: readonly PathMapping[]; field?: string },
): PlanResult {
  const command = container.command ?? [];
  if (command.length === 0) {
    return {
      ok: false,
      message: `container "${container.name}" has no command: the process node ignores images, so there is no entrypoint to fall back to; set ${opts.field ?? 'spec.containers[0]'}.command`,
    };
  }
  const messagePath = container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH;
  const redirect = (value: string) => (value === messagePath ? opts.terminationLogPath : mapMountedPath(value, opts.mounts ?? []));

  // Two views of every variable: what the container would see, and what the process gets. A value
  // that is a redirected path as a whole is redirected once; otherwise `$(VAR)` references take the
  // process's view, so `--out=$(OUTPUT)` follows OUTPUT into the sandbox too.
  const seen = new Map<string, string>();
  const vars = new Map<string, string>();
  const resolve = (template: string) => {
    const value = expandVars(template, seen);
    const redirected = redirect(value);
    return { value, actual: redirected !== value ? redirected : expandVars(template, vars) };
  };
  const unsupportedEnv: string[] = [];
  for (const entry of container.env ?? []) {
    if (entry.valueFrom !== undefined && entry.value === undefined) {
      unsupportedEnv.push(entry.name);
      seen.set(entry.name, '');
      vars.set(entry.name, '');
      continue;
    }
    const { value, actual } = resolve(entry.value ?? '');
    seen.set(entry.name, value);
    vars.set(entry.name, actual);
  }
  const argv = [...command, ...(container.args ?? [])].map((arg) => resolve(arg).actual);

  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME'] as const) {
    const value = opts.hostEnv[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of vars) env[name] = value;
  return { ok: true, plan: { file: argv[0]!, args: argv.slice(1), env, unsupportedEnv } };
}

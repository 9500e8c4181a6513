// After an execution is created (run --remote, launch) or named (watch): follow it to its end, then print
// its outputs or its error, and exit by its phase.
import type { FlyteWorkflow } from '../../../src/api/flyteworkflow.ts';
import { EXIT } from './args.ts';
import type { Cluster } from './kube.ts';
import { err, formatObject, formatOutputs, out } from './output.ts';
import { stderrRenderer, watchExecution } from './watch.ts';

export interface FollowOptions {
  wait: boolean;
  output?: 'json' | 'yaml' | 'name';
  timeoutMs?: number;
  /** The namespace the user is in: hints name -n when the execution is elsewhere. */
  showNamespace?: boolean;
}

/** Watches (unless --no-wait) and reports; returns the exit code. */
export async function follow(cluster: Cluster, created: FlyteWorkflow, options: FollowOptions): Promise<number> {
  const name = created.metadata.name;
  if (!options.wait) {
    if (options.output === 'json' || options.output === 'yaml') out(formatObject(created, options.output));
    else out(name);
    return EXIT.ok;
  }
  if (options.output !== 'name') err(`execution ${name} in namespace ${cluster.namespace}`);
  const interrupted = new AbortController();
  const onSigint = () => interrupted.abort();
  process.once('SIGINT', onSigint);
  try {
    const renderer = stderrRenderer({ hints: 'remote', showNamespace: options.showNamespace ?? false });
    const done = await watchExecution(cluster.client, cluster.namespace, name, renderer, {
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      signal: interrupted.signal,
    });
    if (interrupted.signal.aborted) {
      err(`stopped watching; ${name} keeps running: propeller watch ${name}${options.showNamespace ? ` -n ${cluster.namespace}` : ''}`);
      return 130;
    }
    return report(done, options.output);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** Prints a finished execution's outputs (stdout) or error (stderr); the exit code of its phase. */
export function report(wf: FlyteWorkflow, output: FollowOptions['output']): number {
  const status = wf.status ?? {};
  if (status.phase === 'Succeeded') {
    if (output === 'name') out(wf.metadata.name);
    else {
      const text = formatOutputs(status.outputs, output);
      if (text) out(text);
    }
    return EXIT.ok;
  }
  const e = status.error;
  err(`${wf.metadata.name} ${status.phase ?? 'did not finish'}: ${e ? `${e.code}: ${e.message}` : (status.message ?? '')}`.trimEnd());
  if (output === 'name') out(wf.metadata.name);
  return EXIT.failed;
}

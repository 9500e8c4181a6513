// Follows one execution until it finishes: a GET, then a watch on its name from that resourceVersion,
// started again when the server ends it (or it expires: 410), each status handed to a renderer.
import type { FlyteWorkflow } from '../../../src/api/flyteworkflow.ts';
import { TERMINAL_WORKFLOW_PHASES } from '../../../src/api/flyteworkflow.ts';
import { isGone, isNotFound, isTransient } from '../../../src/k8s/errors.ts';
import { workflowPath, workflowsPath } from '../../../src/k8s/paths.ts';
import type { KubeClient, WatchEvent } from '../../../src/k8s/rest.ts';
import { ApiError } from './args.ts';
import { apiMessage } from './kube.ts';
import { LineRenderer, TtyRenderer, specOfExecution, type Renderer, type RenderOptions } from './render.ts';

export interface WatchOptions {
  /** Give up (exit 3) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const isFinished = (wf: FlyteWorkflow): boolean => TERMINAL_WORKFLOW_PHASES.has(wf.status?.phase ?? 'Pending');

/** The renderer for stderr: a live table on a terminal, lines otherwise. */
export function stderrRenderer(options: RenderOptions = {}): Renderer {
  const err = process.stderr;
  if (err.isTTY) {
    return new TtyRenderer(err, { ...options, color: err.hasColors?.() ?? false });
  }
  return new LineRenderer((text) => void err.write(text), options);
}

/** Watches until the execution finishes; returns it as it ended. */
export async function watchExecution(client: KubeClient, namespace: string, name: string, renderer: Renderer, options: WatchOptions = {}): Promise<FlyteWorkflow> {
  const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : undefined;
  const show = (wf: FlyteWorkflow) => renderer.update({ name: wf.metadata.name, namespace: wf.metadata.namespace, ...(wf.status ? { status: wf.status } : {}), spec: specOfExecution(wf.spec, wf.status) });
  let current = await getExecution(client, namespace, name);
  show(current);
  let failures = 0;
  try {
    while (!isFinished(current)) {
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) throw new ApiError(`timed out after ${Math.round(options.timeoutMs! / 1000)}s waiting for ${name} to finish (it is ${current.status?.phase ?? 'Pending'}); it keeps running: propeller watch ${name}`);
      const stop = new AbortController();
      const timer = left !== undefined ? setTimeout(() => stop.abort(), left) : undefined;
      const onAbort = () => stop.abort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let deleted = false;
      try {
        await client.watch<FlyteWorkflow>(
          workflowsPath(namespace),
          { fieldSelector: `metadata.name=${name}`, resourceVersion: current.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (event: WatchEvent<FlyteWorkflow>) => {
            if (event.type === 'BOOKMARK') {
              current = { ...current, metadata: { ...current.metadata, resourceVersion: event.object.metadata.resourceVersion } };
              return;
            }
            if (event.type === 'DELETED') {
              deleted = true;
              stop.abort();
              return;
            }
            current = event.object;
            failures = 0;
            show(current);
            if (isFinished(current)) stop.abort();
          },
          { signal: stop.signal, idleTimeoutMs: 120_000 },
        );
      } catch (err) {
        if (stop.signal.aborted) {
          // Ours: finished, deleted, timed out or interrupted; the loop decides which.
        } else if (isGone(err)) {
          current = await getExecution(client, namespace, name);
          show(current);
        } else if (isTransient(err) && ++failures <= 5) {
          await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** failures, 10_000)));
          current = await getExecution(client, namespace, name).catch(() => current);
        } else throw new ApiError(`watching ${name}: ${apiMessage(err)}`);
      } finally {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      }
      if (deleted) throw new ApiError(`execution ${name} was deleted before it finished`);
      if (options.signal?.aborted) break;
    }
  } finally {
    renderer.finish();
  }
  return current;
}

export async function getExecution(client: KubeClient, namespace: string, name: string): Promise<FlyteWorkflow> {
  try {
    return await client.request<FlyteWorkflow>('GET', workflowPath(namespace, name));
  } catch (err) {
    if (isNotFound(err)) throw new ApiError(`execution ${name} not found in namespace ${namespace}`);
    throw new ApiError(apiMessage(err));
  }
}

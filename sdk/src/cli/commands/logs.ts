// propeller logs EXECUTION NODE [--attempt N]: the log of a node's pod, through the API server's pods/log
// (which asks the node's kubelet), as kubectl logs reads it.
import type { Pod } from '../../../../src/api/pod.ts';
import { podName } from '../../../../src/core/names.ts';
import { KubeApiError, isNotFound } from '../../../../src/k8s/errors.ts';
import { podPath } from '../../../../src/k8s/paths.ts';
import { CONTAINER_NAME } from '../../../../src/plugins/container/build-pod.ts';
import { EXIT, HELP_OPTIONS, KUBE_OPTIONS, PROJECT_OPTIONS, ApiError, UsageError, parse, positionals, type Options } from '../args.ts';
import { COMMANDS } from '../help.ts';
import { apiMessage, connect, getOrUndefined, type Cluster } from '../kube.ts';
import { out } from '../output.ts';
import { NodeOrder, specOfExecution } from '../render.ts';
import { getExecution } from '../watch.ts';

const LOGS_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS, attempt: { type: 'string' }, tail: { type: 'string' } } as const satisfies Options;

/** The label the dev cluster's stand-in nodes carry: they have no kubelet to serve logs. */
const DEV_NODE_LABEL = 'propeller.dev/dev-node';

const positiveInt = (command: string, flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${flag} takes a whole number from 1; got "${text}"`, command);
  return Number(text);
};

export async function logs(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('logs', args, LOGS_OPTIONS);
  if (v.help) {
    out(COMMANDS.logs!.text);
    return EXIT.ok;
  }
  const [name, node] = positionals('logs', p, ['EXECUTION', 'NODE']);
  const attempt = positiveInt('logs', '--attempt', v.attempt);
  const tail = v.tail === undefined ? undefined : /^\d+$/.test(v.tail) ? Number(v.tail) : (() => { throw new UsageError(`--tail takes a number of lines; got "${v.tail}"`, 'logs'); })();
  const cluster = await connect('logs', v);
  try {
    const wf = await getExecution(cluster.client, cluster.namespace, name!);
    const status = wf.status?.nodes?.[node!];
    if (!status) {
      const known = new NodeOrder().update(wf.status?.nodes ?? {}, specOfExecution(wf.spec, wf.status));
      throw new UsageError(`${name} has no node "${node}" that started${known.length ? ` (its nodes: ${known.join(', ')})` : ''}`, 'logs');
    }
    const attempts = status.attempts ?? 0;
    if (!status.podName || attempts === 0) throw new ApiError(`node ${node} of ${name} has no pod${status.phase === 'Succeeded' && status.cache === 'Hit' ? ' (its outputs came from the cache)' : ' (only task nodes run pods, and only once they start)'}`);
    if (attempt !== undefined && attempt > attempts) throw new UsageError(`--attempt ${attempt}: node ${node} has had ${attempts} attempt${attempts === 1 ? '' : 's'}`, 'logs');
    const pod = attempt === undefined || attempt === attempts ? status.podName : podName(wf.metadata.name, node!, attempt - 1);
    out(await podLog(cluster, pod, tail));
    return EXIT.ok;
  } finally {
    await cluster.close();
  }
}

async function podLog(cluster: Cluster, pod: string, tail: number | undefined): Promise<string> {
  const ns = cluster.namespace;
  try {
    const text = await cluster.client.request<string>('GET', `${podPath(ns, pod)}/log`, { query: { container: CONTAINER_NAME, ...(tail !== undefined ? { tailLines: tail } : {}) }, accept: 'text/plain' });
    return typeof text === 'string' ? text : JSON.stringify(text);
  } catch (e) {
    if (isNotFound(e)) {
      const exists = await getOrUndefined<Pod>(cluster.client, podPath(ns, pod)).catch(() => undefined);
      if (!exists) throw new ApiError(`pod ${pod} no longer exists, and its log went with it`);
      throw new ApiError(`the log of pod ${pod}: ${apiMessage(e)}`);
    }
    // The API server reads logs from the node's kubelet; the dev cluster's stand-in nodes have none.
    const p = await getOrUndefined<Pod>(cluster.client, podPath(ns, pod)).catch(() => undefined);
    const nodeName = p?.spec.nodeName;
    const nodeObject = nodeName ? await getOrUndefined<{ metadata: { labels?: Record<string, string> } }>(cluster.client, `/api/v1/nodes/${encodeURIComponent(nodeName)}`).catch(() => undefined) : undefined;
    const devNode = nodeObject?.metadata.labels?.[DEV_NODE_LABEL];
    if (devNode === 'process') {
      throw new ApiError(`pod ${pod} ran on ${nodeName}, the dev cluster's process node, which has no kubelet log API: its output is in container.log in the pod's sandbox under the process node's --work-dir (see docs/dev-nodes.md)`);
    }
    if (devNode === 'kwok') throw new ApiError(`pod ${pod} ran on ${nodeName}, a KWOK node: nothing ran, so there is no log`);
    const why = e instanceof KubeApiError ? e.serverMessage : apiMessage(e);
    throw new ApiError(`cannot read the log of pod ${pod}${nodeName ? ` on node ${nodeName}` : ''}: ${why}`);
  }
}

import { arch, release } from 'node:os';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { MERGE_PATCH } from '../../src/k8s/rest.ts';
import { isAlreadyExists, isNotFound } from '../../src/k8s/errors.ts';
import { Backoff } from './backoff.ts';
import { errorText, log } from './log.ts';
import { NODE_IP, kubeTime } from './pod-status.ts';

export const DEV_NODE_LABEL = 'propeller.dev/dev-node';
export const DEV_NODE_VALUE = 'process';
const HEARTBEAT_MS = 10_000;
const RESOURCES = { cpu: '64', memory: '256Gi', pods: '1000' };

const nodePath = (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}`;

export function nodeLabels(name: string): Record<string, string> {
  return {
    [DEV_NODE_LABEL]: DEV_NODE_VALUE,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(arch()),
  };
}

/** The node's whole status; a merge patch replaces its lists (conditions, addresses) as a whole. */
export function nodeStatus(name: string, opts: { ready: boolean; now: string; readySince: string }): Record<string, unknown> {
  const healthy = (type: string, reason: string, message: string) => ({
    type,
    status: 'False',
    reason,
    message,
    lastHeartbeatTime: opts.now,
    lastTransitionTime: opts.readySince,
  });
  return {
    capacity: RESOURCES,
    allocatable: RESOURCES,
    conditions: [
      healthy('MemoryPressure', 'KubeletHasSufficientMemory', 'process node has sufficient memory available'),
      healthy('DiskPressure', 'KubeletHasNoDiskPressure', 'process node has no disk pressure'),
      healthy('PIDPressure', 'KubeletHasSufficientPID', 'process node has sufficient PID available'),
      {
        type: 'Ready',
        status: opts.ready ? 'True' : 'False',
        reason: opts.ready ? 'KubeletReady' : 'ProcessNodeStopped',
        message: opts.ready ? 'process node is posting ready status' : 'stopped',
        lastHeartbeatTime: opts.now,
        lastTransitionTime: opts.ready ? opts.readySince : opts.now,
      },
    ],
    addresses: [
      { type: 'InternalIP', address: NODE_IP },
      { type: 'Hostname', address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: release(),
      osImage: 'process node (pods run as local processes)',
      containerRuntimeVersion: 'process://',
      kubeletVersion: 'process-node',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(arch()),
    },
  };
}

/**
 * Creates the Node, or takes over an existing one of that name, and reports it Ready. The API
 * server's TaintNodesByCondition plugin puts a not-ready taint on every new node; with no node
 * lifecycle controller in the dev control plane nothing else would remove it, so we do.
 */
export async function registerNode(client: KubeClient, name: string, readySince: string): Promise<void> {
  const labels = nodeLabels(name);
  try {
    await client.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: {} } });
    log(`registered node ${name}`);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    log(`taking over existing node ${name}`);
  }
  await client.request('PATCH', nodePath(name), { body: { metadata: { labels }, spec: { taints: null, unschedulable: null } }, contentType: MERGE_PATCH });
  await postStatus(client, name, { ready: true, now: kubeTime(), readySince });
}

/** Registers, retrying with backoff until it works or the signal aborts. */
export async function registerNodeUntilDone(client: KubeClient, name: string, readySince: string, signal: AbortSignal): Promise<boolean> {
  const backoff = new Backoff(200, 5000);
  while (!signal.aborted) {
    try {
      await registerNode(client, name, readySince);
      return true;
    } catch (err) {
      log(`node registration failed, retrying: ${errorText(err)}`);
      await backoff.wait(signal);
    }
  }
  return false;
}

/** Refreshes the conditions' heartbeat times every 10 s; re-registers a node that was deleted. */
export function startHeartbeat(client: KubeClient, name: string, readySince: string): { stop(): void } {
  let stopped = false;
  let busy = false;
  const beat = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      await postStatus(client, name, { ready: true, now: kubeTime(), readySince });
    } catch (err) {
      if (isNotFound(err)) {
        log(`node ${name} was deleted; registering it again`);
        await registerNode(client, name, readySince).catch((e: unknown) => log(`re-registration failed: ${errorText(e)}`));
      } else log(`heartbeat failed: ${errorText(err)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

export async function markNodeStopped(client: KubeClient, name: string, readySince: string, signal: AbortSignal): Promise<void> {
  try {
    await postStatus(client, name, { ready: false, now: kubeTime(), readySince }, signal);
  } catch (err) {
    log(`could not mark node ${name} not ready: ${errorText(err)}`);
  }
}

async function postStatus(client: KubeClient, name: string, opts: { ready: boolean; now: string; readySince: string }, signal?: AbortSignal): Promise<void> {
  await client.request('PATCH', `${nodePath(name)}/status`, { body: { status: nodeStatus(name, opts) }, contentType: MERGE_PATCH, signal });
}

function goArch(nodeArch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import type { FlyteWorkflow, WorkflowPhase } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import type { KubeClient } from '../../../src/k8s/rest.ts';
import { workflowPath, workflowsPath, podsPath } from '../../../src/k8s/paths.ts';

export function workflowManifest(name: string, spec: unknown, labels?: Record<string, string>): FlyteWorkflow {
  return { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { name, labels } as FlyteWorkflow['metadata'], spec };
}

export async function createWorkflow(client: KubeClient, namespace: string, manifest: FlyteWorkflow | string): Promise<FlyteWorkflow> {
  const body = typeof manifest === 'string' ? (parse(manifest) as FlyteWorkflow) : manifest;
  return client.request<FlyteWorkflow>('POST', workflowsPath(namespace), { body });
}

export function getWorkflow(client: KubeClient, namespace: string, name: string): Promise<FlyteWorkflow> {
  return client.request<FlyteWorkflow>('GET', workflowPath(namespace, name));
}

/** Polls until the workflow reaches one of `phases`; fails with its last status otherwise. */
export async function waitForPhase(client: KubeClient, namespace: string, name: string, phases: WorkflowPhase[], timeoutMs = 60_000): Promise<FlyteWorkflow> {
  const deadline = Date.now() + timeoutMs;
  let last: FlyteWorkflow | undefined;
  while (Date.now() < deadline) {
    last = await getWorkflow(client, namespace, name).catch(() => undefined);
    if (last?.status?.phase && phases.includes(last.status.phase)) return last;
    await sleep(100);
  }
  throw new Error(`workflow ${namespace}/${name} did not reach ${phases.join('|')} within ${timeoutMs}ms; last status: ${JSON.stringify(last?.status)}`);
}

export async function listPods(client: KubeClient, namespace: string, labelSelector?: string): Promise<Pod[]> {
  const list = await client.request<{ items: Pod[] }>('GET', podsPath(namespace), { query: { labelSelector } });
  return list.items;
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

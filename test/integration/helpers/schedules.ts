import type { FlyteWorkflow } from '../../../src/api/flyteworkflow.ts';
import { workflowsPath } from '../../../src/k8s/paths.ts';
import type { Env } from './e2e.ts';

export { definitionsPath, launchPlanPath, launchPlansPath } from '../../../src/k8s/paths.ts';

export async function wfList(env: Env, labelSelector: string): Promise<FlyteWorkflow[]> {
  const list = await env.client.request<{ items: FlyteWorkflow[] }>('GET', workflowsPath(env.ns), { query: { labelSelector } });
  return list.items;
}

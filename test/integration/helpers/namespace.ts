import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../../../src/k8s/rest.ts';

/** Marks the namespaces of one test process, so it can delete them all when it ends. */
export const TEST_OWNER_LABEL = 'propeller.dev/test-owner';

/**
 * A fresh namespace for one test, ready for pods (its default ServiceAccount exists, which the
 * ServiceAccount admission plugin requires). Deleted afterwards without waiting.
 */
export async function createNamespace(client: KubeClient, prefix: string): Promise<{ name: string; remove(): Promise<void> }> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [TEST_OWNER_LABEL]: String(process.pid) } } } });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ok = await client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`).then(() => true, () => false);
    if (ok) break;
    await sleep(100);
  }
  return { name, remove: async () => void (await client.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => {})) };
}

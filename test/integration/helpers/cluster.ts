import { after, before } from 'node:test';
import { KubeClient } from '../../../src/k8s/rest.ts';
import { startControlPlane, type ControlPlane } from '../../../tools/controlplane/control-plane.ts';
import { TEST_OWNER_LABEL } from './namespace.ts';

export interface TestCluster {
  kubeconfigPath: string;
  client: KubeClient;
  kubectl: string | undefined;
}

/**
 * The cluster of this test run: the one `npm test` started (KUBECONFIG), or, when a file is run on its
 * own, a control plane started for it. Call at the top of a file or describe block; the returned
 * function gives the cluster inside tests.
 */
export function useTestCluster(): () => TestCluster {
  let cluster: TestCluster | undefined;
  let own: ControlPlane | undefined;
  before(async () => {
    if (process.env['KUBECONFIG']) {
      cluster = { kubeconfigPath: process.env['KUBECONFIG'], client: await KubeClient.load(process.env['KUBECONFIG']), kubectl: process.env['PROPELLER_TEST_KUBECTL'] };
    } else {
      own = await startControlPlane({ kwokNodes: 2, kwokPodDurationMs: 500, processNode: true });
      cluster = { kubeconfigPath: own.kubeconfigPath, client: own.client, kubectl: own.binaries['kubectl'] };
    }
  });
  after(async () => {
    if (own) {
      await own.stop();
      return;
    }
    if (!cluster) return;
    // Whatever namespaces this process created go too, before the client closes (hook order does not matter).
    const mine = await cluster.client
      .request<{ items: { metadata: { name: string } }[] }>('GET', '/api/v1/namespaces', { query: { labelSelector: `${TEST_OWNER_LABEL}=${process.pid}` } })
      .catch(() => ({ items: [] }));
    await Promise.all(mine.items.map((ns) => cluster!.client.request('DELETE', `/api/v1/namespaces/${ns.metadata.name}`).catch(() => {})));
    await cluster.client.close();
  });
  return () => {
    if (!cluster) throw new Error('the test cluster is not ready: call useTestCluster() at the top of the file');
    return cluster;
  };
}

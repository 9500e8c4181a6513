import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import PQueue from 'p-queue';
import type { Pod } from '../../src/api/pod.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { podPath, podsPath } from '../../src/k8s/paths.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { KWOK_ENV, KWOK_NODE_LABEL, KWOK_NODE_VALUE } from '../../tools/controlplane/kwok.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { createNamespace } from './helpers/namespace.ts';
import { createWorkflow, listPods, waitFor, workflowManifest } from './helpers/workflows.ts';

const kwokPod = (name: string, env: Record<string, string> = {}, extra: Partial<Pod['metadata']> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: '', labels: { app: 'kwok-test' }, ...extra },
  spec: {
    restartPolicy: 'Never',
    nodeSelector: { [KWOK_NODE_LABEL]: KWOK_NODE_VALUE },
    tolerations: [{ key: KWOK_NODE_LABEL, operator: 'Exists', effect: 'NoSchedule' }],
    containers: [{ name: 'main', image: 'fake', env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) }],
  },
});

async function gone(client: KubeClient, path: string): Promise<boolean> {
  return client.request('GET', path).then(
    () => false,
    (err: unknown) => isNotFound(err),
  );
}

describe('local control plane', () => {
  const cluster = useTestCluster();
  let client: KubeClient;
  let ns: { name: string; remove(): Promise<void> };
  before(async () => {
    client = cluster().client;
    ns = await createNamespace(client, 'controlplane');
  });
  after(() => ns.remove());

  test('serves /readyz and reports the pinned Kubernetes version', async () => {
    assert.equal(await client.request<string>('GET', '/readyz'), 'ok');
    const version = await client.request<{ gitVersion: string; major: string; minor: string }>('GET', '/version');
    assert.match(version.gitVersion, /^v1\.34\.\d+$/);
    assert.equal(version.major, '1');
    assert.equal(version.minor, '34');
  });

  test('lists the dev nodes as Ready', async () => {
    const nodes = await client.request<{ items: { metadata: { name: string; labels?: Record<string, string> }; status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes');
    const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    assert.ok(ready.some((n) => n.metadata.labels?.[KWOK_NODE_LABEL] === KWOK_NODE_VALUE), 'a KWOK node is Ready');
    assert.ok(ready.some((n) => n.metadata.labels?.[KWOK_NODE_LABEL] === 'process'), 'the process node is Ready');
  });

  test('garbage-collects a pod when its FlyteWorkflow owner is deleted', async () => {
    // No propeller watches this namespace: the workflow is only an owner here.
    const owner = await createWorkflow(client, ns.name, workflowManifest('gc-owner', { tasks: { t: { container: { image: 'x' } } }, nodes: { n: { task: 't' } } }));
    const pod = kwokPod('gc-owned', { [KWOK_ENV.duration]: '1h' }, {
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true }],
    });
    await client.request('POST', podsPath(ns.name), { body: pod });
    await waitFor('the owned pod to run', async () => (await client.request<Pod>('GET', podPath(ns.name, 'gc-owned'))).status?.phase === 'Running');
    await client.request('DELETE', `/apis/flyte.propeller.dev/v1alpha1/namespaces/${ns.name}/flyteworkflows/gc-owner`);
    // The garbage collector refreshes discovery every 30 s, so allow for one refresh.
    await waitFor('the owned pod to be garbage-collected', () => gone(client, podPath(ns.name, 'gc-owned')), 60_000);
  });

  test('garbage-collects a pod owned by a core object', async () => {
    const cm = await client.request<{ metadata: { uid: string } }>('POST', `/api/v1/namespaces/${ns.name}/configmaps`, { body: { metadata: { name: 'owner' } } });
    await client.request('POST', podsPath(ns.name), {
      body: kwokPod('cm-owned', { [KWOK_ENV.duration]: '1h' }, { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: cm.metadata.uid }] }),
    });
    await client.request('DELETE', `/api/v1/namespaces/${ns.name}/configmaps/owner`);
    await waitFor('the owned pod to be garbage-collected', () => gone(client, podPath(ns.name, 'cm-owned')), 60_000);
  });

  test('finishes deleting a namespace (namespace controller)', async () => {
    const other = await createNamespace(client, 'doomed');
    await client.request('POST', podsPath(other.name), { body: kwokPod('victim', { [KWOK_ENV.duration]: '1h' }) });
    await other.remove();
    await waitFor('the namespace to disappear', () => gone(client, `/api/v1/namespaces/${other.name}`), 60_000);
  });

  test('KWOK takes its exit code and termination message from the pod env', async () => {
    const message = JSON.stringify({ o0: 'a "quoted" value; $(not a shell)' });
    await client.request('POST', podsPath(ns.name), { body: kwokPod('scripted', { [KWOK_ENV.duration]: '200ms', [KWOK_ENV.exitCode]: '3', [KWOK_ENV.message]: message }) });
    const pod = await waitFor('the scripted pod to fail', async () => {
      const p = await client.request<Pod>('GET', podPath(ns.name, 'scripted'));
      return p.status?.phase === 'Failed' ? p : undefined;
    });
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 3);
    assert.equal(terminated?.message, message);
  });

  test('KWOK completes 1,000 pods', { timeout: 240_000 }, async () => {
    const total = 1000;
    const queue = new PQueue({ concurrency: 32 });
    const started = Date.now();
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        queue.add(() => client.request('POST', podsPath(ns.name), { body: { ...kwokPod(`bulk-${i}`, { [KWOK_ENV.duration]: '100ms' }), metadata: { name: `bulk-${i}`, namespace: ns.name, labels: { app: 'bulk' } } } })),
      ),
    );
    const created = Date.now();
    const succeeded = await waitFor(
      `${total} pods to succeed`,
      async () => {
        const pods = await listPods(client, ns.name, 'app=bulk');
        const done = pods.filter((p) => p.status?.phase === 'Succeeded').length;
        return done === total ? done : undefined;
      },
      180_000,
    );
    assert.equal(succeeded, total);
    process.stderr.write(`# KWOK: created ${total} pods in ${created - started} ms; all Succeeded after ${Date.now() - started} ms\n`);
  });
});

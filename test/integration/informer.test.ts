import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { Informer } from '../../src/k8s/informer.ts';
import { workflowsPath } from '../../src/k8s/paths.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { createNamespace } from './helpers/namespace.ts';
import { createWorkflow, waitFor, workflowManifest } from './helpers/workflows.ts';

const spec = {
  tasks: { t: { container: { image: 'busybox', command: ['true'] } } },
  nodes: { a: { task: 't' } },
};

describe('a metadata-only informer against the real API server', () => {
  const cluster = useTestCluster();
  let client: KubeClient;
  let ns: { name: string; remove(): Promise<void> };

  before(async () => {
    client = cluster().client;
    ns = await createNamespace(client, 'informer-meta');
  });
  after(async () => ns.remove());

  test('syncs on an empty collection (items: null) and then sees objects without their spec', { timeout: 30_000 }, async () => {
    const informer = new Informer<FlyteWorkflow>({ name: 'meta', client, path: workflowsPath(ns.name), log: createLogger('silent'), metadataOnly: true });
    informer.start();
    try {
      await informer.waitForSync();
      assert.equal(informer.size, 0);

      await createWorkflow(client, ns.name, workflowManifest('seen-by-metadata', spec, { team: 'bench' }));
      const seen = await waitFor('the workflow in the cache', async () => informer.get(`${ns.name}/seen-by-metadata`));
      assert.equal((seen as unknown as { kind: string }).kind, 'PartialObjectMetadata');
      assert.equal(seen.metadata.name, 'seen-by-metadata');
      assert.equal((seen.metadata as { labels?: Record<string, string> }).labels?.['team'], 'bench');
      assert.equal((seen as { spec?: unknown }).spec, undefined, 'no spec travels');
    } finally {
      await informer.stop();
    }
  });
});

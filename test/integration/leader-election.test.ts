import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { LABELS } from '../../src/api/labels.ts';
import { leasePath } from '../../src/k8s/paths.ts';
import type { Lease } from '../../src/k8s/lease-store.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { KWOK_ENV, KWOK_NODE_LABEL, KWOK_NODE_VALUE } from '../../tools/controlplane/kwok.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { scrape } from './helpers/metrics.ts';
import { createNamespace } from './helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from './helpers/propeller.ts';
import { createWorkflow, listPods, waitFor, waitForPhase, workflowManifest } from './helpers/workflows.ts';

// Short timings keep the test quick; the same code runs with the 15 s / 10 s / 2 s defaults.
const LEASE_MS = 4000;
const RENEW_MS = 3000;
const RETRY_MS = 500;

/** A chain of KWOK tasks, each passing its input on: the seed must reach the end. */
function chain(name: string, length: number, durationMs: number) {
  const nodes: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) {
    nodes[`n${i}`] = { task: 'step', inputs: { x: i === 0 ? { value: 7 } : { from: `n${i - 1}.o0` } } };
  }
  return workflowManifest(name, {
    interface: { outputs: { total: 'int' } },
    tasks: {
      step: {
        interface: { inputs: { x: 'int' }, outputs: { o0: 'int' } },
        container: {
          image: 'kwok',
          env: [
            { name: KWOK_ENV.duration, value: `${durationMs}ms` },
            // The propeller renders x into the message, so each step outputs its input: the value flows.
            { name: KWOK_ENV.message, value: '{"o0": {{.inputs.x}}}' },
          ],
        },
      },
    },
    nodes,
    outputs: { total: { from: `n${length - 1}.o0` } },
    maxParallelism: 0,
    pod: { nodeSelector: { [KWOK_NODE_LABEL]: KWOK_NODE_VALUE }, tolerations: [{ key: KWOK_NODE_LABEL, operator: 'Exists' }] },
  });
}

describe('leader election', () => {
  const cluster = useTestCluster();
  let client: KubeClient;
  let ns: { name: string; remove(): Promise<void> };
  const running: RunningPropeller[] = [];

  const start = () => {
    const p = startPropeller({
      kubeconfig: cluster().kubeconfigPath,
      namespaces: [ns.name],
      args: [
        '--leader-election-enabled', 'true',
        '--leader-election-namespace', ns.name,
        '--leader-election-lease-duration-ms', String(LEASE_MS),
        '--leader-election-renew-deadline-ms', String(RENEW_MS),
        '--leader-election-retry-period-ms', String(RETRY_MS),
      ],
    });
    running.push(p);
    return p;
  };
  const holder = async () => (await client.request<Lease>('GET', leasePath(ns.name, 'propeller-leader')).catch(() => undefined))?.spec.holderIdentity;
  const isLeaderLog = (p: RunningPropeller) => p.logs().includes('"msg":"became leader"');

  before(async () => {
    client = cluster().client;
    ns = await createNamespace(client, 'leader');
  });
  after(async () => {
    for (const p of running) await p.kill();
    await ns.remove();
  });

  test('one leads and one stands by; only the leader acts; a killed leader is replaced within the lease duration', async () => {
    const a = start();
    await waitFor('a leader', async () => (await holder()) !== undefined && isLeaderLog(a));
    const b = start();
    const [portA, portB] = [await a.serverPort(), await b.serverPort()];
    await waitFor('the standby to be ready', async () => (await fetch(`http://127.0.0.1:${portB}/readyz`)).ok);
    assert.equal(await (await fetch(`http://127.0.0.1:${portA}/readyz`)).text(), 'ok (leader)\n');
    assert.equal(await (await fetch(`http://127.0.0.1:${portB}/readyz`)).text(), 'ok (standby)\n');

    await createWorkflow(client, ns.name, chain('handover', 12, 400));
    await waitFor('the chain to be under way', async () => (await listPods(client, ns.name)).length >= 3, 30_000);
    assert.equal((await scrape(portB)).value('propeller_pods_created_total'), 0, 'the standby created no pod');
    assert.equal((await scrape(portB)).value('propeller_leader'), 0);
    assert.equal((await scrape(portA)).value('propeller_leader'), 1);

    const killedAt = Date.now();
    await a.kill();
    await waitFor('the standby to take over', async () => isLeaderLog(b), LEASE_MS + 5000);
    const handoverMs = Date.now() - killedAt;
    // Worst case: the lease is observed up to one retry period late, and acquisition waits one more (with jitter).
    assert.ok(handoverMs <= LEASE_MS + 3 * RETRY_MS, `handover took ${handoverMs} ms`);
    process.stderr.write(`# handover after SIGKILL of the leader: ${handoverMs} ms (lease ${LEASE_MS} ms)\n`);

    const done = await waitForPhase(client, ns.name, 'handover', ['Succeeded', 'Failed'], 60_000);
    assert.equal(done.status?.phase, 'Succeeded', b.logs().slice(-3000));
    assert.equal(done.status?.outputs?.['total'], 7, 'the seed travelled through every step');
    const pods = await listPods(client, ns.name);
    const attempts = pods.map((p) => `${p.metadata.labels?.[LABELS.node]}/${p.metadata.labels?.[LABELS.attempt]}`);
    assert.equal(new Set(attempts).size, attempts.length, `no (node, attempt) had two pods: ${attempts.join(' ')}`);
    assert.equal(pods.length, 12, 'one pod per node: nothing was retried or duplicated');
  });

  test('a leader stopped with SIGTERM releases the lease, so a standby takes over at once', async () => {
    const current = running.find((p) => p.child.exitCode === null && p.child.signalCode === null && isLeaderLog(p));
    assert.ok(current, 'a leader is running');
    const standby = start();
    await standby.serverPort();
    await waitFor('the new process to stand by', async () => (await fetch(`http://127.0.0.1:${await standby.serverPort()}/readyz`)).ok);
    const stoppedAt = Date.now();
    assert.equal(await current.stop(), 0, 'graceful exit');
    const stopMs = Date.now() - stoppedAt;
    assert.ok(stopMs < 10_000, `SIGTERM to exit took ${stopMs} ms`);
    assert.match(current.logs(), /released the leader lease/);
    await waitFor('the standby to lead', async () => isLeaderLog(standby), LEASE_MS);
    process.stderr.write(`# graceful handover: exit in ${stopMs} ms, new leader after ${Date.now() - stoppedAt} ms\n`);
    await sleep(10);
  });
});

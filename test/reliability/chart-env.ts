// A namespace and a propeller that runs with the Helm chart's namespaced RBAC (a token of the chart's
// ServiceAccount, nothing else), for the reliability files of lost pods, hostile input, outputs, status
// size and security. The test's own client stays admin.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { ensureBinaries } from '../../tools/controlplane/build.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import type { TestCluster } from '../integration/helpers/cluster.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { Recorder, tail, waitForReady, logsOf, type Env } from '../integration/helpers/e2e.ts';
import { scrape } from '../integration/helpers/metrics.ts';
import { createNamespace } from '../integration/helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from '../integration/helpers/propeller.ts';
import { installChartRbac, kubeconfigWithToken, serviceAccountToken, type ChartRbac } from '../integration/helpers/restricted.ts';

export interface ChartEnv extends Env {
  rbac: ChartRbac;
  /** Port of the propeller's /metrics. */
  port: number;
  cleanup(): Promise<void>;
}

/**
 * SIGTERM, then SIGKILL if it has not exited within 10 s. (Like e2e.ts's stopPropeller, but its timer does
 * not keep the test process alive for 10 s after a prompt exit.)
 */
export async function stopPropellerPromptly(p: RunningPropeller): Promise<void> {
  const timer = setTimeout(() => void p.kill(), 10_000);
  try {
    await p.stop();
  } finally {
    clearTimeout(timer);
  }
}

/** Installs the chart's RBAC for a fresh namespace and starts a propeller with only that token. */
export async function startChartEnv(cluster: TestCluster, prefix: string, args: string[] = []): Promise<ChartEnv> {
  const ns = await createNamespace(cluster.client, prefix);
  const rbac = await installChartRbac(cluster, { watchNamespaces: [ns.name] });
  const propeller = startPropeller({ kubeconfig: rbac.kubeconfigPath, namespaces: [ns.name], args: ['--config', rbac.configPath, ...args], env: rbac.env });
  const cleanup = async () => {
    await Recorder.stopAll(`/namespaces/${ns.name}/`);
    await stopPropellerPromptly(propeller);
    await rbac.uninstall();
    await ns.remove();
  };
  try {
    await waitForReady(propeller);
    const port = await propeller.serverPort();
    return { client: cluster.client, kubeconfig: cluster.kubeconfigPath, ns: ns.name, propeller, rbac, port, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The test cluster plus one chart-RBAC env for the whole describe block (call at its top). */
export function useChartEnv(prefix: string, args: string[] = []): () => ChartEnv {
  let env: ChartEnv | undefined;
  after(async () => {
    await env?.cleanup();
  });
  const cluster = useTestCluster();
  before(async () => {
    env = await startChartEnv(cluster(), prefix, args);
  });
  return () => {
    if (!env) throw new Error('the chart env is not ready');
    return env;
  };
}

/** Reconcile rounds the propeller has run so far (every outcome). */
export async function roundsRun(port: number): Promise<number> {
  return (await scrape(port)).value('propeller_round_duration_seconds_count');
}

/** Status patches the propeller has sent so far (every response code). */
export async function statusPatches(port: number): Promise<number> {
  return (await scrape(port)).value('propeller_api_requests_total', { resource: 'flyteworkflows/status' });
}

/** Whether the propeller process is still running and answers /healthz. */
export async function propellerAlive(env: ChartEnv): Promise<boolean> {
  if (env.propeller.child.exitCode !== null || env.propeller.child.signalCode !== null) return false;
  const res = await fetch(`http://127.0.0.1:${env.port}/healthz`).catch(() => undefined);
  return res?.status === 200;
}

/** Lines of the propeller's log that say a request was forbidden (there must be none under the chart's RBAC). */
export function forbiddenLines(env: Env): string[] {
  return logsOf(env.propeller)
    .split('\n')
    .filter((l) => /forbidden|"(status|code|statusCode)":403/i.test(l));
}

export function logTail(env: Env, lines = 30): string {
  return tail(logsOf(env.propeller), lines);
}

/**
 * Like installChartRbac, but the release (and so the propeller's own ServiceAccount) lives in the namespace
 * it watches, as when the chart is installed into a team's namespace.
 */
export async function installChartInto(cluster: TestCluster, namespace: string): Promise<ChartRbac> {
  const exec = promisify(execFile);
  const helm = (await ensureBinaries({ only: ['helm'] }))['helm']!;
  const release = `p-${randomBytes(3).toString('hex')}`;
  const full = `${release}-propeller`;
  await exec(helm, ['install', release, join(repoRoot, 'charts', 'propeller'), '--namespace', namespace, '--kubeconfig', cluster.kubeconfigPath, '--set', `watchNamespaces={${namespace}}`]);
  const dir = await mkdtemp(join(tmpdir(), 'propeller-rbac-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, await kubeconfigWithToken(cluster.kubeconfigPath, cluster.client.server, await serviceAccountToken(cluster.client, namespace, full)), { mode: 0o600 });
  const cm = await cluster.client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/configmaps/${full}-config`);
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, cm.data['config.yaml']!);
  return {
    release,
    releaseNamespace: namespace,
    serviceAccount: full,
    kubeconfigPath,
    configPath,
    env: { POD_NAME: `${full}-test-0`, POD_NAMESPACE: namespace },
    uninstall: async () => {
      await exec(helm, ['uninstall', release, '--namespace', namespace, '--kubeconfig', cluster.kubeconfigPath, '--ignore-not-found']).catch(() => {});
    },
  };
}

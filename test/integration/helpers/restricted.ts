import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import type { KubeClient } from '../../../src/k8s/rest.ts';
import { ensureBinaries } from '../../../tools/controlplane/build.ts';
import { repoRoot } from '../../../tools/controlplane/components.ts';
import type { TestCluster } from './cluster.ts';
import { createNamespace } from './namespace.ts';

const exec = promisify(execFile);

/** Everything needed to run the propeller with the chart's RBAC and nothing more. */
export interface ChartRbac {
  release: string;
  releaseNamespace: string;
  serviceAccount: string;
  /** A kubeconfig whose only credential is a token of the chart's ServiceAccount. */
  kubeconfigPath: string;
  /** The config file exactly as the chart rendered it. */
  configPath: string;
  /** POD_NAME and POD_NAMESPACE, as the Deployment sets them. */
  env: Record<string, string>;
  uninstall(): Promise<void>;
}

/**
 * Installs the chart (RBAC, ServiceAccount, ConfigMap; no image can run here) and mints a token of its
 * ServiceAccount. `watchNamespaces` selects the namespaced RBAC mode; `set` passes more --set values.
 */
export async function installChartRbac(cluster: TestCluster, opts: { watchNamespaces?: string[]; set?: string[] } = {}): Promise<ChartRbac> {
  const helm = (await ensureBinaries({ only: ['helm'] }))['helm']!;
  const releaseNs = await createNamespace(cluster.client, 'propeller-release');
  const release = `p-${randomBytes(3).toString('hex')}`;
  const full = `${release}-propeller`;
  const values = [
    ...(opts.watchNamespaces?.length ? ['--set', `watchNamespaces={${opts.watchNamespaces.join(',')}}`] : []),
    ...(opts.set ?? []).flatMap((v) => ['--set', v]),
  ];
  await exec(helm, ['install', release, join(repoRoot, 'charts', 'propeller'), '--namespace', releaseNs.name, '--kubeconfig', cluster.kubeconfigPath, ...values]);
  const dir = await mkdtemp(join(tmpdir(), 'propeller-rbac-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, await kubeconfigWithToken(cluster.kubeconfigPath, cluster.client.server, await serviceAccountToken(cluster.client, releaseNs.name, full)), { mode: 0o600 });
  const cm = await cluster.client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${releaseNs.name}/configmaps/${full}-config`);
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, cm.data['config.yaml']!);
  return {
    release,
    releaseNamespace: releaseNs.name,
    serviceAccount: full,
    kubeconfigPath,
    configPath,
    env: { POD_NAME: `${full}-test-0`, POD_NAMESPACE: releaseNs.name },
    uninstall: async () => {
      await exec(helm, ['uninstall', release, '--namespace', releaseNs.name, '--kubeconfig', cluster.kubeconfigPath, '--ignore-not-found']).catch(() => {});
      await releaseNs.remove();
    },
  };
}

/** A short-lived token of a ServiceAccount, from the TokenRequest API. */
export async function serviceAccountToken(client: KubeClient, namespace: string, name: string): Promise<string> {
  const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } };
  const res = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, { body });
  return res.status.token;
}

/** A kubeconfig for `server` with the CA of the test kubeconfig (inlined) and a bearer token. */
export async function kubeconfigWithToken(testKubeconfig: string, server: string, token: string): Promise<string> {
  const kc = parse(await readFile(testKubeconfig, 'utf8')) as {
    'current-context': string;
    contexts: { name: string; context: { cluster: string } }[];
    clusters: { name: string; cluster: { 'certificate-authority'?: string; 'certificate-authority-data'?: string } }[];
  };
  const context = kc.contexts.find((c) => c.name === kc['current-context'])!.context;
  const cluster = kc.clusters.find((c) => c.name === context.cluster)!.cluster;
  const ca = cluster['certificate-authority-data'] ?? (await readFile(cluster['certificate-authority']!)).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': ca } }],
    users: [{ name: 'propeller', user: { token } }],
    contexts: [{ name: 'propeller', context: { cluster: 'test', user: 'propeller' } }],
    'current-context': 'propeller',
  });
}

/** Whether the client's own identity may do something, as the API server decides. */
export async function selfSubjectAccessReview(client: KubeClient, attrs: { verb: string; resource: string; namespace?: string; group?: string; subresource?: string; name?: string }): Promise<boolean> {
  const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } };
  const res = await client.request<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body });
  return res.status.allowed;
}

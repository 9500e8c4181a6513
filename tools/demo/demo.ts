// npm run demo [-- --kubeconfig PATH] [--no-propeller] [--keep]
// Runs Flyte's regression example end to end: a local control plane (built if needed), the process node,
// the propeller, then examples/regression.yaml, streaming node phases until the workflow finishes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import type { FlyteWorkflow, WorkflowStatus } from '../../src/api/flyteworkflow.ts';
import { TERMINAL_WORKFLOW_PHASES } from '../../src/api/flyteworkflow.ts';
import { workflowsPath } from '../../src/k8s/paths.ts';
import { KubeClient } from '../../src/k8s/rest.ts';
import { repoRoot } from '../controlplane/components.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/control-plane.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'no-propeller': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    example: { type: 'string', default: join(repoRoot, 'examples', 'regression.yaml') },
  },
});

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let cp: ControlPlane | undefined;
  let propeller: ChildProcess | undefined;
  let client: KubeClient;
  let kubeconfig = values.kubeconfig;
  const namespace = `demo-${randomBytes(3).toString('hex')}`;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    if (!kubeconfig) {
      say('▸ Starting the local control plane (etcd, kube-apiserver, controller manager, scheduler, process node)…');
      cp = await startControlPlane({ processNode: true, kwokNodes: 0, log: (l) => say(`  ${l}`) });
      cleanups.push(() => cp!.stop());
      kubeconfig = cp.kubeconfigPath;
      client = cp.client;
    } else {
      client = await KubeClient.load(kubeconfig);
      cleanups.push(() => client.close());
    }
    if (!values['no-propeller']) {
      say('▸ Starting the propeller…');
      propeller = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), '--kubeconfig', kubeconfig, '--namespaces', namespace, '--log-level', 'warn', '--server-port', '0'], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      cleanups.unshift(async () => {
        propeller!.kill('SIGTERM');
        await new Promise((r) => propeller!.once('exit', r));
      });
    }
    await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: namespace } } });
    if (!values.keep) cleanups.unshift(async () => void (await client.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {})));
    await waitForDefaultServiceAccount(client, namespace);

    const manifest = parse(readFileSync(values.example, 'utf8')) as FlyteWorkflow;
    say(`▸ Applying ${manifest.metadata.name} in namespace ${namespace}`);
    await client.request('POST', workflowsPath(namespace), { body: manifest });
    const final = await follow(client, namespace, manifest.metadata.name);
    say('');
    say(`Workflow ${final.phase}: ${final.message ?? ''}`);
    for (const [name, value] of Object.entries(final.outputs ?? {})) say(`${name} = ${JSON.stringify(value)}`);
    return final.phase === 'Succeeded' ? 0 : 1;
  } finally {
    say(values.keep ? `▸ Leaving namespace ${namespace} in place (--keep)` : '▸ Cleaning up');
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

/** Prints each node's phase as it changes, until the workflow is finished. */
async function follow(client: KubeClient, namespace: string, name: string): Promise<WorkflowStatus> {
  const seen = new Map<string, string>();
  const started = Date.now();
  for (;;) {
    const wf = await client.request<FlyteWorkflow>('GET', `${workflowsPath(namespace)}/${name}`);
    const status = wf.status ?? {};
    const t = `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
    if (status.phase && seen.get('') !== status.phase) {
      say(`${t}  workflow        ${status.phase}`);
      seen.set('', status.phase);
    }
    for (const [node, ns] of Object.entries(status.nodes ?? {})) {
      const line = `${ns.phase}${ns.outputs ? ` ${JSON.stringify(ns.outputs)}` : ''}${ns.message ? ` (${ns.message})` : ''}`;
      if (seen.get(node) !== line) {
        say(`${t}  ${node.padEnd(15)} ${line}`);
        seen.set(node, line);
      }
    }
    if (status.phase && TERMINAL_WORKFLOW_PHASES.has(status.phase)) return status;
    if (Date.now() - started > 300_000) throw new Error('the workflow did not finish within 5 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForDefaultServiceAccount(client: KubeClient, namespace: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await client.request('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

// npm run cluster -- up|down|status|build [--kwok-nodes N] [--no-process-node] [--kwok-pod-duration MS]
import { parseArgs } from 'node:util';
import { KubeClient } from '../../src/k8s/rest.ts';
import { ensureBinaries } from './build.ts';
import { readState, startControlPlane, stopControlPlane } from './control-plane.ts';
import { isRunning } from './processes.ts';

const ID = 'default';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'kwok-nodes': { type: 'string', default: '2' },
    'kwok-pod-duration': { type: 'string', default: '1000' },
    'no-process-node': { type: 'boolean', default: false },
  },
});

async function up(): Promise<number> {
  const existing = readState(ID);
  if (existing && (await healthy(existing.kubeconfigPath, existing.processes))) {
    console.log(`already up; kubeconfig: ${existing.kubeconfigPath}`);
    console.log(existing.kubeconfigPath);
    return 0;
  }
  if (existing) await stopControlPlane(ID);
  const cp = await startControlPlane({
    id: ID,
    ownerPid: null,
    kwokNodes: Number(values['kwok-nodes']),
    kwokPodDurationMs: Number(values['kwok-pod-duration']),
    processNode: !values['no-process-node'],
  });
  await cp.client.close();
  console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
  console.log(cp.kubeconfigPath);
  return 0;
}

async function down(): Promise<number> {
  console.log((await stopControlPlane(ID)) ? 'stopped' : 'not running');
  return 0;
}

async function status(): Promise<number> {
  const state = readState(ID);
  if (!state) {
    console.log('not running');
    return 1;
  }
  for (const p of state.processes) console.log(`${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${isRunning(p) ? 'running' : 'STOPPED'}  log ${p.logPath}`);
  const ok = await healthy(state.kubeconfigPath, state.processes);
  console.log(`server ${state.server} ${ok ? 'ready' : 'NOT READY'} (ready after ${(state.readyAfterMs / 1000).toFixed(1)}s at start)`);
  console.log(`kubeconfig ${state.kubeconfigPath}`);
  return ok ? 0 : 1;
}

async function healthy(kubeconfigPath: string, processes: { pid: number; startTime: string }[]): Promise<boolean> {
  if (!processes.every(isRunning)) return false;
  try {
    const client = await KubeClient.load(kubeconfigPath, { timeoutMs: 5000 });
    const ready = await client.request<string>('GET', '/readyz').catch(() => '');
    await client.close();
    return ready === 'ok';
  } catch {
    return false;
  }
}

const commands: Record<string, () => Promise<number>> = {
  up,
  down,
  status,
  build: async () => {
    const paths = await ensureBinaries();
    for (const [name, path] of Object.entries(paths)) console.log(`${name.padEnd(24)} ${path}`);
    return 0;
  },
};

const command = commands[positionals[0] ?? ''];
if (!command) {
  console.error('usage: npm run cluster -- up|down|status|build [--kwok-nodes N] [--kwok-pod-duration MS] [--no-process-node]');
  process.exit(2);
}
command().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

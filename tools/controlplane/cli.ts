// npm run cluster -- up|down|status|build [--kwok-nodes N] [--no-process-node] [--kwok-pod-duration MS] [--s3]
import { parseArgs } from 'node:util';
import { KubeClient } from '../../src/k8s/rest.ts';
import { ensureBinaries } from './build.ts';
import { addS3, readState, startControlPlane, stopControlPlane } from './control-plane.ts';
import { isRunning } from './processes.ts';
import { S3_PROCESS_NAME, s3Env, type S3Config } from './s3.ts';

const ID = 'default';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'kwok-nodes': { type: 'string', default: '2' },
    'kwok-pod-duration': { type: 'string', default: '1000' },
    'no-process-node': { type: 'boolean', default: false },
    s3: { type: 'boolean', default: false },
  },
});

/** The S3 server's endpoint and credentials, as lines to read and as variables the AWS tools take. */
function printS3(s3: S3Config): void {
  console.log(`S3 (versitygw): endpoint ${s3.endpoint}  region ${s3.region}  bucket ${s3.bucket}  (path-style)`);
  console.log(`export ${Object.entries(s3Env(s3)).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}

async function up(): Promise<number> {
  const existing = readState(ID);
  if (existing && (await healthy(existing.kubeconfigPath, existing.processes))) {
    console.log(`already up; kubeconfig: ${existing.kubeconfigPath}`);
    // Asked for S3 on a cluster started without it: add it rather than restart what runs.
    const s3 = values.s3 ? await addS3(ID) : existing.s3;
    if (s3) printS3(s3);
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
    s3: values.s3,
  });
  await cp.client.close();
  if (cp.s3) printS3(cp.s3);
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
  if (state.s3) printS3(state.s3);
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
    if (values.s3) Object.assign(paths, await ensureBinaries({ only: [S3_PROCESS_NAME] }));
    for (const [name, path] of Object.entries(paths)) console.log(`${name.padEnd(24)} ${path}`);
    return 0;
  },
};

const command = commands[positionals[0] ?? ''];
if (!command) {
  console.error('usage: npm run cluster -- up|down|status|build [--kwok-nodes N] [--kwok-pod-duration MS] [--no-process-node] [--s3]');
  process.exit(2);
}
command().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../../src/k8s/rest.ts';
import { isAlreadyExists } from '../../src/k8s/errors.ts';
import { ensureBinaries, type BinaryPaths } from './build.ts';
import { cacheRoot, repoRoot } from './components.ts';
import { freePort, isRunning, signalGroup, startProcess, startTimeOf, stopProcess, type ProcessRecord } from './processes.ts';
import { startKwok, KWOK_NODE_LABEL } from './kwok.ts';
import { S3_PROCESS_NAME, startS3Process, waitForS3, type S3Config } from './s3.ts';

export interface ControlPlaneOptions {
  /** Registry name of this run; the CLI uses "default". */
  id?: string;
  /** The run is stale once this process is gone; null keeps it until `down` (the CLI). */
  ownerPid?: number | null;
  /** Fake KWOK nodes to create (0 starts no KWOK). */
  kwokNodes?: number;
  /** How long a KWOK pod runs before it completes, unless its KWOK_DURATION env says otherwise. */
  kwokPodDurationMs?: number;
  /** Start the process node, which runs pods as local processes. */
  processNode?: boolean;
  /** Start an S3 server (versitygw, built on first use) with a bucket and random credentials: `cp.s3`. */
  s3?: boolean;
  log?: (line: string) => void;
}

export interface ControlPlaneState {
  id: string;
  dir: string;
  ownerPid: number | null;
  ownerStartTime: string | null;
  server: string;
  kubeconfigPath: string;
  processes: ProcessRecord[];
  startedAt: string;
  readyAfterMs: number;
  /** The S3 server, when started with `s3: true`. */
  s3?: S3Config;
}

export interface ControlPlane extends ControlPlaneState {
  binaries: BinaryPaths;
  client: KubeClient;
  stop(): Promise<void>;
}

export const PROCESS_NODE_NAME = 'propeller-process-node';
const ADMIN_USER = 'propeller-admin';
const runsDir = join(cacheRoot, 'runs');
const stateFile = (id: string) => join(runsDir, `${id}.json`);

/**
 * A new run's directory and record, saved before anything starts so that a crash from here on is reaped
 * by the next run. The owner is this process unless `ownerPid` says otherwise (null: nobody).
 */
async function recordRun(id: string, prefix: string, owner: number | null | undefined, withKubeconfig: boolean) {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const ownerPid = owner === undefined ? process.pid : owner;
  const state: ControlPlaneState = {
    id,
    dir,
    ownerPid,
    ownerStartTime: ownerPid === null ? null : (startTimeOf(ownerPid) ?? null),
    server: '',
    kubeconfigPath: withKubeconfig ? join(dir, 'kubeconfig') : '',
    processes: [],
    startedAt: new Date(started).toISOString(),
    readyAfterMs: 0,
  };
  await saveState(state);
  return { state, started, dir, ownerPid };
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const id = opts.id ?? `run-${process.pid}-${randomBytes(3).toString('hex')}`;
  await reapStaleRuns(log);
  const binaries = await ensureBinaries({ log });
  if (opts.s3) Object.assign(binaries, await ensureBinaries({ only: [S3_PROCESS_NAME], log }));
  const { state, started, dir } = await recordRun(id, 'propeller-cp-', opts.ownerPid, true);
  try {
    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    state.server = `https://127.0.0.1:${apiPort}`;
    const token = randomBytes(24).toString('hex');
    await writeAuthFiles(dir, token);

    const spawn = async (name: string, command: string, args: string[], env?: NodeJS.ProcessEnv) => {
      state.processes.push(startProcess(name, command, args, { logPath: join(dir, `${name}.log`), env }));
      await saveState(state);
    };
    await spawn('etcd', binaries['etcd']!, etcdArgs(dir, etcdPort, etcdPeerPort));
    await spawn('kube-apiserver', binaries['kube-apiserver']!, apiserverArgs(dir, etcdPort, apiPort));
    // S3 needs nothing of Kubernetes: it boots while the API server does, and is waited for at the end.
    if (opts.s3) await addS3Process(state, binaries[S3_PROCESS_NAME]!);
    await waitFor('the API server serving certificate', 60_000, state, async () => existsSync(join(dir, 'certs', 'apiserver.crt')));
    await writeFile(state.kubeconfigPath, kubeconfig(state.server, join(dir, 'certs', 'apiserver.crt'), token));
    const client = await KubeClient.load(state.kubeconfigPath);
    await waitFor('kube-apiserver /readyz', 90_000, state, async () => (await client.request<string>('GET', '/readyz').catch(() => '')) === 'ok');
    state.readyAfterMs = Date.now() - started;
    log(`[cluster] kube-apiserver ready after ${(state.readyAfterMs / 1000).toFixed(1)}s at ${state.server}`);

    // CRDs go in before the controller manager starts: its garbage collector reads discovery only every 30 s.
    await installCrds(client, state);
    await writeFile(join(dir, 'scheduler.yaml'), schedulerConfig(state.kubeconfigPath));
    await spawn('kube-controller-manager', binaries['kube-controller-manager']!, controllerManagerArgs(state.kubeconfigPath));
    await spawn('kube-scheduler', binaries['kube-scheduler']!, ['--config', join(dir, 'scheduler.yaml'), '--secure-port=0', '-v=1']);

    if ((opts.kwokNodes ?? 0) > 0) {
      const kwok = await startKwok({ binary: binaries['kwok']!, dir, kubeconfigPath: state.kubeconfigPath, client, nodes: opts.kwokNodes!, podDurationMs: opts.kwokPodDurationMs ?? 1000 });
      state.processes.push(kwok);
      await saveState(state);
    }
    if (opts.processNode) {
      await spawn('process-node', process.execPath, [join(repoRoot, 'tools', 'process-node', 'main.ts'), '--kubeconfig', state.kubeconfigPath, '--node-name', PROCESS_NODE_NAME, '--work-dir', join(dir, 'process-node')]);
    }
    await waitFor('the default ServiceAccount (controller manager running)', 60_000, state, async () =>
      client.request('GET', '/api/v1/namespaces/default/serviceaccounts/default').then(() => true, () => false),
    );
    const wantNodes = (opts.kwokNodes ?? 0) + (opts.processNode ? 1 : 0);
    if (wantNodes > 0) await waitFor(`${wantNodes} Ready node(s)`, 60_000, state, async () => (await readyNodes(client)) >= wantNodes);
    if (state.s3) {
      await waitForS3(state.processes.find((p) => p.name === S3_PROCESS_NAME)!, state.s3);
      log(`[cluster] S3 (versitygw) ready at ${state.s3.endpoint}, bucket ${state.s3.bucket}`);
    }
    log(`[cluster] up in ${((Date.now() - started) / 1000).toFixed(1)}s; kubeconfig: ${state.kubeconfigPath}`);
    return { ...state, binaries, client, stop: async () => { await client.close(); await stopControlPlane(id); } };
  } catch (err) {
    await teardown(state);
    throw err;
  }
}

async function addS3Process(state: ControlPlaneState, binary: string): Promise<S3Config> {
  const { process: record, config } = await startS3Process(binary, state.dir);
  state.processes.push(record);
  state.s3 = config;
  await saveState(state);
  return config;
}

/**
 * Adds an S3 server to a running control plane that has none (`cluster up --s3` on a cluster started
 * without it); returns the one it has otherwise.
 */
export async function addS3(id: string, opts: { log?: (line: string) => void } = {}): Promise<S3Config> {
  const state = readState(id);
  if (!state) throw new Error(`no control plane ${id}`);
  const running = state.processes.find((p) => p.name === S3_PROCESS_NAME);
  if (state.s3 && running && isRunning(running)) return state.s3;
  if (running) {
    await stopProcess(running);
    state.processes = state.processes.filter((p) => p !== running);
  }
  const { versitygw } = await ensureBinaries({ only: [S3_PROCESS_NAME], log: opts.log });
  const config = await addS3Process(state, versitygw!);
  await waitForS3(state.processes.at(-1)!, config);
  return config;
}

export interface S3Server {
  id: string;
  dir: string;
  s3: S3Config;
  stop(): Promise<void>;
}

/**
 * An S3 server on its own, for a test file that needs S3 but not a control plane of its own. It is
 * recorded and reaped like a control plane run; when its owner is this process it is also killed if
 * the process is interrupted (SIGINT, SIGTERM), since test files are ended that way and run no hooks.
 */
export async function startS3Server(opts: { id?: string; ownerPid?: number | null; log?: (line: string) => void } = {}): Promise<S3Server> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const id = opts.id ?? `s3-${process.pid}-${randomBytes(3).toString('hex')}`;
  await reapStaleRuns(log);
  const { versitygw } = await ensureBinaries({ only: [S3_PROCESS_NAME], log });
  const { state, started, dir, ownerPid } = await recordRun(id, 'propeller-s3-', opts.ownerPid, false);
  const onSignal = ownerPid === process.pid ? killOnSignal(state) : undefined;
  try {
    const config = await addS3Process(state, versitygw!);
    await waitForS3(state.processes[0]!, config);
    state.readyAfterMs = Date.now() - started;
    await saveState(state);
    log(`[s3] versitygw ready after ${(state.readyAfterMs / 1000).toFixed(1)}s at ${config.endpoint}, bucket ${config.bucket}`);
    return {
      id,
      dir,
      s3: config,
      stop: async () => {
        onSignal?.remove();
        await stopControlPlane(id);
      },
    };
  } catch (err) {
    onSignal?.remove();
    await teardown(state);
    throw err;
  }
}

/** On SIGINT or SIGTERM: kill the run's processes and remove its files at once, then die of the signal as before. */
function killOnSignal(state: ControlPlaneState): { remove(): void } {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const handler = (signal: NodeJS.Signals) => {
    remove();
    for (const p of readState(state.id)?.processes ?? state.processes) if (isRunning(p)) signalGroup(p.pid, 'SIGKILL');
    rmSync(state.dir, { recursive: true, force: true });
    rmSync(stateFile(state.id), { force: true });
    // Other handlers (a harness's own clean-up, say) decide what happens next; with none, the default.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const remove = () => {
    for (const s of signals) process.off(s, handler);
  };
  for (const s of signals) process.on(s, handler);
  return { remove };
}

/** Stops every process of a run, by recorded pid, and removes its directory. */
export async function stopControlPlane(id: string): Promise<boolean> {
  const state = readState(id);
  if (!state) return false;
  await teardown(state);
  return true;
}

export function readState(id: string): ControlPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(id), 'utf8')) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/**
 * Stops one component of a running control plane (SIGKILL: a crash; SIGTERM: a clean stop), keeps it
 * down for `downMs`, then starts it again with the same command line, ports and data. For fault tests:
 * an API server outage on the same etcd, say.
 */
export async function restartComponent(id: string, name: string, opts: { downMs?: number; signal?: 'SIGKILL' | 'SIGTERM' } = {}): Promise<void> {
  const state = readState(id);
  const index = state?.processes.findIndex((p) => p.name === name) ?? -1;
  if (!state || index < 0) throw new Error(`no process ${name} in control plane ${id}`);
  const old = state.processes[index]!;
  if (!old.command || !old.args) throw new Error(`${name} was started without a recorded command line`);
  if (opts.signal === 'SIGKILL') {
    signalGroup(old.pid, 'SIGKILL');
    while (isRunning(old)) await sleep(20);
  } else {
    await stopProcess(old);
  }
  await sleep(opts.downMs ?? 0);
  state.processes[index] = startProcess(name, old.command, old.args, { logPath: old.logPath, ...(old.env ? { extraEnv: old.env } : {}) });
  await saveState(state);
}

/** Runs whose owner died (a killed test run, say) are stopped so they cannot get in the next run's way. */
export async function reapStaleRuns(log: (line: string) => void = () => {}): Promise<void> {
  if (!existsSync(runsDir)) return;
  for (const file of readdirSync(runsDir).filter((f) => f.endsWith('.json'))) {
    const state = readState(file.slice(0, -5));
    if (!state || state.ownerPid === null) continue;
    if (isRunning({ pid: state.ownerPid, startTime: state.ownerStartTime ?? '' })) continue;
    log(`[cluster] stopping stale run ${state.id} (owner ${state.ownerPid} is gone)`);
    await teardown(state);
  }
}

async function teardown(state: ControlPlaneState): Promise<void> {
  // Dependents first, etcd last, so nothing logs a storm of connection errors on the way down.
  for (const p of [...state.processes].reverse()) await stopProcess(p);
  await rm(state.dir, { recursive: true, force: true });
  await rm(stateFile(state.id), { force: true });
}

async function saveState(state: ControlPlaneState): Promise<void> {
  await mkdir(runsDir, { recursive: true });
  // Owner-only: it can hold the S3 server's credentials.
  await writeFile(stateFile(state.id), JSON.stringify(state, null, 2), { mode: 0o600 });
}

async function waitFor(what: string, timeoutMs: number, state: ControlPlaneState, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    const dead = state.processes.find((p) => !isRunning(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; last log lines:\n${tail(dead.logPath)}`);
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function writeAuthFiles(dir: string, token: string): Promise<void> {
  await mkdir(join(dir, 'certs'), { recursive: true });
  // One admin token in system:masters: the harness, tests, kubectl, the controller manager and the scheduler use it.
  await writeFile(join(dir, 'tokens.csv'), `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

function etcdArgs(dir: string, port: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=propeller-dev',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=propeller-dev=${peer}`,
    // The data is thrown away after the run; fsync would only slow every write.
    '--unsafe-no-fsync',
    '--quota-backend-bytes=8589934592',
    '--log-level=warn',
  ];
}

function apiserverArgs(dir: string, etcdPort: number, port: number): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    // Without it the API server dies on hosts with no default route.
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    // No --tls-cert-file: the API server writes a self-signed serving certificate here.
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    // It taints new nodes not-ready until the node-lifecycle controller sees kubelet heartbeats; dev nodes have none.
    '--disable-admission-plugins=TaintNodesByCondition',
    // As on hardened clusters: setting blockOwnerDeletion needs update on the owner's finalizers, so RBAC tests prove it.
    '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
    '--profiling=false',
    '--event-ttl=1h',
  ];
}

function controllerManagerArgs(kubeconfigPath: string): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    // Owner-reference cascades, namespace deletion, default ServiceAccounts, orphaned-pod cleanup and quota usage.
    '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,pod-garbage-collector-controller,resourcequota-controller',
    '--leader-elect=false',
    '--secure-port=0',
    '--use-service-account-credentials=false',
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    '-v=1',
  ];
}

function schedulerConfig(kubeconfigPath: string): string {
  // Defaults (50 QPS) would cap every benchmark at 50 bindings/s, hiding the propeller's own cost.
  return [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'clientConnection:',
    `  kubeconfig: ${JSON.stringify(kubeconfigPath)}`,
    '  qps: 500',
    '  burst: 1000',
    'leaderElection:',
    '  leaderElect: false',
    '',
  ].join('\n');
}

function kubeconfig(server: string, caPath: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: propeller-dev',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caPath}`,
    'users:',
    `- name: ${ADMIN_USER}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: propeller-dev',
    '  context:',
    '    cluster: propeller-dev',
    `    user: ${ADMIN_USER}`,
    'current-context: propeller-dev',
    '',
  ].join('\n');
}

/** Applies the chart's CRDs (generated from the zod schema) and waits until each is Established. */
async function installCrds(client: KubeClient, state: ControlPlaneState): Promise<void> {
  const crdDir = join(repoRoot, 'charts', 'propeller', 'crds');
  if (!existsSync(crdDir)) return;
  for (const file of readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(await readFile(join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS() as { metadata: { name: string } } | null;
      if (!crd) continue;
      await applyCrd(client, crd);
      await waitFor(`CRD ${crd.metadata.name} to be Established`, 30_000, state, async () => {
        const live = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
        );
        return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      });
    }
  }
}

export async function applyCrd(client: KubeClient, crd: { metadata: { name: string } }): Promise<void> {
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  try {
    await client.request('POST', path, { body: crd });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const live = await client.request<{ metadata: { resourceVersion: string } }>('GET', `${path}/${crd.metadata.name}`);
    await client.request('PUT', `${path}/${crd.metadata.name}`, { body: { ...crd, metadata: { ...crd.metadata, resourceVersion: live.metadata.resourceVersion } } });
  }
}

async function readyNodes(client: KubeClient): Promise<number> {
  const nodes = await client.request<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes').catch(() => ({ items: [] }));
  return nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

export { KWOK_NODE_LABEL };

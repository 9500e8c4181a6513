// Shared pieces of the API-server fault tests (apiserver-outage, watch-expiry, conflicts): seeded
// randomness, retrying test-side calls, a list/watch recorder that survives outages and 410s, a TCP proxy
// that can cut one client off the API server, etcd compaction, API server restarts, log parsing, and the
// status invariants every observed version of a FlyteWorkflow must keep.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow, NodeStatus, WorkflowStatus } from '../../src/api/flyteworkflow.ts';
import { isAlreadyExists, isGone, isTransient } from '../../src/k8s/errors.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { readState, restartComponent } from '../../tools/controlplane/control-plane.ts';
import type { TestCluster } from '../integration/helpers/cluster.ts';
import { Recorder, waitForReady, type Env } from '../integration/helpers/e2e.ts';
import { createNamespace } from '../integration/helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from '../integration/helpers/propeller.ts';
import { installChartRbac, type ChartRbac } from '../integration/helpers/restricted.ts';
import { rng } from './dag-workload.ts';

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness

export interface Rng {
  seed: number;
  next(): number;
  int(lo: number, hi: number): number;
}

/** mulberry32, seeded from RELIABILITY_SEED or at random; the seed is printed so a run can be replayed. */
export function seededRng(what: string): Rng {
  const fromEnv = Number(process.env['RELIABILITY_SEED']);
  const seed = Number.isInteger(fromEnv) && process.env['RELIABILITY_SEED'] ? fromEnv : Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`[${what}] seed ${seed} (replay with RELIABILITY_SEED=${seed})\n`);
  const next = rng(seed);
  return { seed, next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

// ---------------------------------------------------------------------------------------------------------
// Test-side calls that survive an API server outage

/** Retries `fn` on transport errors, 429 and 5xx (the API server restarting) until `timeoutMs`. */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() > deadline) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }
}

/** Creates an object, retrying; a create that went through before its answer was lost counts as done. */
export async function createRetrying<T>(client: KubeClient, path: string, body: { metadata: { name: string } }): Promise<T> {
  let attempts = 0;
  return retrying(async () => {
    attempts++;
    try {
      return await client.request<T>('POST', path, { body });
    } catch (err) {
      if (attempts > 1 && isAlreadyExists(err)) return client.request<T>('GET', `${path}/${body.metadata.name}`);
      throw err;
    }
  });
}

/** Waits until the API server answers /readyz with ok. */
export async function waitForApiServer(client: KubeClient, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await client.request<string>('GET', '/readyz').catch(() => '')) === 'ok') return;
    await sleep(100);
  }
  throw new Error(`the API server was not ready within ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------------------
// A recorder that survives outages and expired watches

type Obj = { metadata: { name: string; uid?: string; resourceVersion?: string } };

/**
 * List, then watch from the list's resourceVersion; on 410 Gone it lists again (counted in `relists`),
 * on any other failure it retries, so it keeps recording through API server restarts. Every object
 * version it sees goes to `onVersion` (in order, per object); objects that vanished between two lists are
 * reported as deleted. Versions seen only through a relist may skip intermediate states.
 */
export class ResilientRecorder<T extends Obj> {
  readonly current = new Map<string, T>();
  /** Every uid ever seen, with its last version. */
  readonly byUid = new Map<string, T>();
  relists = 0;
  failures = 0;
  versions = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly listeners: ((type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void)[] = [];
  private readonly client: KubeClient;
  private readonly path: string;
  private readonly labelSelector: string | undefined;
  private readonly slim: (o: T) => T;

  private constructor(client: KubeClient, path: string, labelSelector: string | undefined, slim: (o: T) => T) {
    this.client = client;
    this.path = path;
    this.labelSelector = labelSelector;
    this.slim = slim;
  }

  static async start<T extends Obj>(client: KubeClient, path: string, opts: { labelSelector?: string; slim?: (o: T) => T; onVersion?: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void } = {}): Promise<ResilientRecorder<T>> {
    const r = new ResilientRecorder<T>(client, path, opts.labelSelector, opts.slim ?? ((o) => o));
    if (opts.onVersion) r.listeners.push(opts.onVersion);
    const rv = await retrying(() => r.list());
    r.relists = 0;
    r.loop = r.run(rv);
    return r;
  }

  onVersion(listener: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void): void {
    this.listeners.push(listener);
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', raw: T): void {
    const object = this.slim(raw);
    const prev = this.current.get(object.metadata.name);
    if (type !== 'DELETED' && prev && prev.metadata.uid === object.metadata.uid && prev.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.versions++;
    if (type === 'DELETED') this.current.delete(object.metadata.name);
    else this.current.set(object.metadata.name, object);
    if (object.metadata.uid) this.byUid.set(object.metadata.uid, object);
    for (const l of this.listeners) l(type, object);
  }

  private async list(): Promise<string> {
    const list = await this.client.request<{ metadata: { resourceVersion: string }; items: T[] }>('GET', this.path, {
      query: this.labelSelector ? { labelSelector: this.labelSelector } : {},
      signal: this.abort.signal,
    });
    const seen = new Set(list.items.map((i) => i.metadata.name));
    for (const [name, old] of [...this.current]) if (!seen.has(name)) this.emit('DELETED', old);
    for (const item of list.items) this.emit(this.current.has(item.metadata.name) ? 'MODIFIED' : 'ADDED', item);
    this.relists++;
    return list.metadata.resourceVersion;
  }

  private async run(rv: string): Promise<void> {
    let resourceVersion = rv;
    while (!this.abort.signal.aborted) {
      try {
        if (!resourceVersion) resourceVersion = await this.list();
        await this.client.watch<T>(
          this.path,
          { resourceVersion, allowWatchBookmarks: true, ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}) },
          (e) => {
            const erv = e.object?.metadata?.resourceVersion;
            if (erv) resourceVersion = erv;
            if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') this.emit(e.type, e.object);
          },
          { signal: this.abort.signal },
        );
      } catch (err) {
        if (this.abort.signal.aborted) return;
        if (isGone(err)) {
          resourceVersion = '';
          continue;
        }
        this.failures++;
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------
// Status invariants across every observed version

const NODE_RANK: Record<string, number> = { Pending: 0, Queued: 1, Running: 2, Retrying: 2, Succeeded: 3, Failed: 3, Skipped: 3, Aborted: 3 };
const NODE_TERMINAL = new Set(['Succeeded', 'Failed', 'Skipped', 'Aborted']);
const ACTIVE = new Set(['Queued', 'Running']);
const WF_RANK: Record<string, number> = { Pending: 0, Running: 1, Failing: 2, Aborting: 2, Succeeded: 3, Failed: 3, Aborted: 3 };
const WF_TERMINAL = new Set(['Succeeded', 'Failed', 'Aborted']);

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Why going from node status `a` to `b` breaks the state machine, or undefined when it does not. */
export function nodeTransitionProblem(a: NodeStatus, b: NodeStatus | undefined): string | undefined {
  if (!b) return `node status disappeared (was ${a.phase})`;
  const aAtt = a.attempts ?? 0;
  const bAtt = b.attempts ?? 0;
  if (bAtt < aAtt) return `attempts decreased ${aAtt} → ${bAtt}`;
  if (a.outputs !== undefined && !same(a.outputs, b.outputs)) return `outputs changed ${JSON.stringify(a.outputs)} → ${JSON.stringify(b.outputs)}`;
  if (NODE_TERMINAL.has(a.phase)) {
    if (b.phase !== a.phase) return `left terminal phase ${a.phase} for ${b.phase}`;
    if (bAtt !== aAtt) return `attempts of a ${a.phase} node changed ${aAtt} → ${bAtt}`;
    return undefined;
  }
  if (a.phase === b.phase) {
    // A new attempt may be adopted straight from Queued (its pod seen before the Retrying write).
    return undefined;
  }
  // A new attempt: back to Queued/Running only with more attempts.
  if (ACTIVE.has(b.phase) && (a.phase === 'Retrying' || NODE_RANK[b.phase]! < NODE_RANK[a.phase]!)) {
    return bAtt > aAtt ? undefined : `${a.phase} → ${b.phase} without a new attempt (attempts ${aAtt} → ${bAtt})`;
  }
  // An attempt failed; from Pending only when that attempt started and failed between two writes.
  if (b.phase === 'Retrying') return ACTIVE.has(a.phase) || bAtt > aAtt ? undefined : `${a.phase} → Retrying without an attempt`;
  if (a.phase === 'Retrying' && (b.phase === 'Succeeded' || b.phase === 'Failed')) {
    return bAtt > aAtt ? undefined : `Retrying → ${b.phase} without a new attempt`;
  }
  return NODE_RANK[b.phase]! > NODE_RANK[a.phase]! ? undefined : `${a.phase} → ${b.phase} goes backwards`;
}

const progressOf = (p: string | undefined) => {
  const m = /^(\d+)\/(\d+)$/.exec(p ?? '');
  return m ? { done: Number(m[1]), total: Number(m[2]) } : undefined;
};

/** Why going from workflow status `a` to `b` is a regression (a lost update), or undefined. */
export function statusTransitionProblems(a: WorkflowStatus | undefined, b: WorkflowStatus | undefined): string[] {
  const problems: string[] = [];
  if (!a || Object.keys(a).length === 0) return problems;
  if (!b || Object.keys(b).length === 0) return ['status disappeared'];
  if (a.phase && WF_TERMINAL.has(a.phase)) {
    if (b.phase !== a.phase) problems.push(`terminal workflow phase ${a.phase} changed to ${b.phase}`);
    if (a.outputs !== undefined && !same(a.outputs, b.outputs)) problems.push('workflow outputs changed after the workflow finished');
  } else if (a.phase && (!b.phase || WF_RANK[b.phase]! < WF_RANK[a.phase]!)) {
    problems.push(`workflow phase ${a.phase} → ${b.phase} goes backwards`);
  }
  if (a.outputs !== undefined && !same(a.outputs, b.outputs)) problems.push('workflow outputs changed once set');
  const pa = progressOf(a.progress);
  const pb = progressOf(b.progress);
  if (pa && !pb) problems.push(`progress ${a.progress} → ${b.progress}`);
  if (pa && pb && (pb.done < pa.done || pb.total !== pa.total)) problems.push(`progress ${a.progress} → ${b.progress} goes backwards`);
  if ((b.observedGeneration ?? 0) < (a.observedGeneration ?? 0)) problems.push(`observedGeneration decreased`);
  for (const [id, node] of Object.entries(a.nodes ?? {})) {
    const why = nodeTransitionProblem(node, b.nodes?.[id]);
    if (why) problems.push(`node ${id}: ${why}`);
  }
  return problems;
}

/** Checks every version of every workflow it is fed against the previous one of the same uid. */
export class StatusInvariants {
  readonly problems: string[] = [];
  versions = 0;
  private readonly last = new Map<string, FlyteWorkflow>();
  private readonly extra: ((prev: FlyteWorkflow, next: FlyteWorkflow) => string[])[] = [];

  /** More checks on consecutive versions (the writer's labels, say). */
  also(check: (prev: FlyteWorkflow, next: FlyteWorkflow) => string[]): this {
    this.extra.push(check);
    return this;
  }

  observe(wf: FlyteWorkflow, deleted = false): void {
    const uid = wf.metadata.uid;
    const prev = this.last.get(uid);
    this.versions++;
    if (prev) {
      const rvPrev = Number(prev.metadata.resourceVersion);
      const rvNext = Number(wf.metadata.resourceVersion);
      // The same version seen twice (a relist) or an older one replayed: nothing new to compare.
      if (rvNext <= rvPrev && !deleted) return;
      const problems = [...statusTransitionProblems(prev.status, wf.status), ...this.extra.flatMap((c) => c(prev, wf))];
      for (const p of problems) if (this.problems.length < 200) this.problems.push(`${wf.metadata.name} rv ${prev.metadata.resourceVersion} → ${wf.metadata.resourceVersion}: ${p}`);
    }
    this.last.set(uid, wf);
  }
}

/** A workflow without its spec and managed fields: what the invariants look at, kept small. */
export function slimWorkflow(wf: FlyteWorkflow): FlyteWorkflow {
  const { name, namespace, uid, resourceVersion, generation, labels, annotations, finalizers, deletionTimestamp } = wf.metadata;
  return { apiVersion: wf.apiVersion, kind: wf.kind, metadata: { name, namespace, uid, resourceVersion, generation, labels, annotations, finalizers, deletionTimestamp }, spec: undefined, status: wf.status };
}

// ---------------------------------------------------------------------------------------------------------
// Pods: duplicates

export interface PodLike {
  metadata: { name: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  status?: { phase?: string };
}

/**
 * Pods by (workflow, node, attempt) from every pod uid ever recorded: more than one uid for a triple, or
 * more than one pod name, is a duplicate (a task run twice).
 */
export function duplicatePods(pods: Iterable<PodLike>): { duplicates: number; details: string[] } {
  const byTriple = new Map<string, Set<string>>();
  for (const p of pods) {
    const key = `${p.metadata.labels?.['flyte.propeller.dev/workflow']}/${p.metadata.annotations?.['flyte.propeller.dev/node'] ?? p.metadata.labels?.['flyte.propeller.dev/node']}#${p.metadata.labels?.['flyte.propeller.dev/attempt']}`;
    const set = byTriple.get(key) ?? byTriple.set(key, new Set()).get(key)!;
    set.add(p.metadata.uid ?? p.metadata.name);
  }
  let duplicates = 0;
  const details: string[] = [];
  for (const [key, uids] of byTriple) {
    if (uids.size > 1) {
      duplicates += uids.size - 1;
      details.push(`${key}: ${uids.size} pods`);
    }
  }
  return { duplicates, details };
}

// ---------------------------------------------------------------------------------------------------------
// The propeller under test, with the chart's RBAC

export interface RbacEnv extends Env {
  rbac: ChartRbac;
  /** The kubeconfig the propeller uses (the chart ServiceAccount's token, maybe through a proxy). */
  propellerKubeconfig: string;
  port: number;
  cleanup(): Promise<void>;
}

/**
 * A fresh namespace, the chart's RBAC for it, and a propeller that runs with nothing but that RBAC.
 * `server` points the propeller somewhere else than the API server (a proxy on 127.0.0.1, say).
 */
export async function startRbacEnv(cluster: TestCluster, prefix: string, opts: { args?: string[]; server?: string } = {}): Promise<RbacEnv> {
  const ns = await createNamespace(cluster.client, prefix);
  const rbac = await installChartRbac(cluster, { watchNamespaces: [ns.name] });
  let kubeconfig = rbac.kubeconfigPath;
  if (opts.server) {
    const kc = JSON.parse(await readFile(rbac.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    for (const c of kc.clusters) c.cluster.server = opts.server;
    kubeconfig = join(dirname(rbac.kubeconfigPath), 'kubeconfig-proxied');
    await writeFile(kubeconfig, JSON.stringify(kc), { mode: 0o600 });
  }
  const propeller = startPropeller({ kubeconfig, namespaces: [ns.name], args: ['--config', rbac.configPath, ...(opts.args ?? [])], env: rbac.env });
  await waitForReady(propeller, 90_000);
  const port = await propeller.serverPort();
  return {
    client: cluster.client,
    kubeconfig: cluster.kubeconfigPath,
    ns: ns.name,
    propeller,
    rbac,
    propellerKubeconfig: kubeconfig,
    port,
    cleanup: async () => {
      await Recorder.stopAll(`/namespaces/${ns.name}/`);
      await stopPromptly(propeller);
      await rbac.uninstall();
      await ns.remove();
    },
  };
}

/** SIGTERM, then SIGKILL after 10 s; unlike e2e.ts's stopPropeller, no timer outlives a prompt exit (it kept the test process up 10 s). */
export async function stopPromptly(p: RunningPropeller): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 10_000)));
  const timedOut = await Promise.race([p.stop().then(() => false), late]);
  clearTimeout(timer);
  if (timedOut) await p.kill();
}

export function alive(p: RunningPropeller): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

// ---------------------------------------------------------------------------------------------------------
// Propeller logs

export interface LogLine {
  level: number;
  time: string;
  t: number;
  msg: string;
  [key: string]: unknown;
}

export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as LogLine;
      l.t = Date.parse(l.time);
      out.push(l);
    } catch {
      // A partial last line.
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Control-plane faults

export function controlPlaneId(): string {
  const id = process.env['PROPELLER_CONTROL_PLANE_ID'];
  assert.ok(id, 'PROPELLER_CONTROL_PLANE_ID is not set: run this file through `node tools/test/run.ts --reliability`');
  return id;
}

export interface Outage {
  /** When the API server was killed, when it was started again, and when /readyz answered ok again (epoch ms). */
  killedAt: number;
  startedAt: number;
  readyAt: number;
}

/** SIGKILLs kube-apiserver, keeps it down `downMs`, starts it again on the same etcd and waits for /readyz. */
export async function apiServerOutage(client: KubeClient, downMs: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<Outage> {
  const killedAt = Date.now();
  await restartComponent(controlPlaneId(), 'kube-apiserver', { signal, downMs });
  const startedAt = Date.now();
  await waitForApiServer(client);
  return { killedAt, startedAt, readyAt: Date.now() };
}

/** etcd's client URL, from the recorded command line. */
export function etcdUrl(): string {
  const etcd = readState(controlPlaneId())?.processes.find((p) => p.name === 'etcd');
  const flag = etcd?.args?.find((a) => a.startsWith('--listen-client-urls='));
  assert.ok(flag, 'no etcd --listen-client-urls in the control plane state');
  return flag.slice('--listen-client-urls='.length).split(',')[0]!;
}

async function etcdPost<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${etcdUrl()}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** etcd's current revision (the header of a one-key range read, through its JSON gateway). */
export async function etcdRevision(): Promise<number> {
  const res = await etcdPost<{ header: { revision: string } }>('/v3/kv/range', { key: 'AA==' });
  return Number(res.header.revision);
}

/** Compacts etcd's history up to `revision`: watches from any earlier version can only get 410 Gone. */
export async function compactEtcd(revision: number): Promise<void> {
  await etcdPost('/v3/kv/compaction', { revision: String(revision), physical: true });
}

/**
 * What a watch from `resourceVersion` gets: 'expired' (410 Gone) or 'accepted'. Retries while the API server
 * or its watch cache is still starting (transport errors, 429).
 */
export async function watchFrom(client: KubeClient, path: string, resourceVersion: string, timeoutMs = 30_000): Promise<'expired' | 'accepted'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 3000);
    try {
      await client.watch(path, { resourceVersion, timeoutSeconds: 1 }, () => abort.abort(), { signal: abort.signal });
      return 'accepted';
    } catch (err) {
      if (isGone(err)) return 'expired';
      if (abort.signal.aborted) return 'accepted';
      if (!isTransient(err) || Date.now() > deadline) throw err;
      await sleep(200);
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// A TCP proxy that can cut one client off the API server

/**
 * Forwards TCP connections to `target`. `cut()` drops every open connection and holds new ones (accepted,
 * nothing forwarded: to the client the server is silent) until `restore()` forwards them, so the client's
 * watches break and its reconnects wait, while everyone else keeps using the API server directly.
 */
export class CutProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly target: { host: string; port: number };
  private readonly pairs = new Set<Socket>();
  private held: Socket[] = [];
  private cutting = false;
  connections = 0;
  dropped = 0;

  private constructor(server: Server, port: number, target: { host: string; port: number }) {
    this.server = server;
    this.port = port;
    this.target = target;
  }

  static async start(targetUrl: string): Promise<CutProxy> {
    const url = new URL(targetUrl);
    const target = { host: url.hostname, port: Number(url.port) };
    let proxy: CutProxy | undefined;
    const server = createServer((socket) => proxy!.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    proxy = new CutProxy(server, address.port, target);
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    this.connections++;
    if (this.cutting) {
      socket.pause();
      this.held.push(socket);
      return;
    }
    this.forward(socket);
  }

  private forward(client: Socket): void {
    if (client.destroyed) return;
    const upstream = connect(this.target.port, this.target.host);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      upstream.destroy();
      this.pairs.delete(client);
    });
    upstream.on('close', () => client.destroy());
    this.pairs.add(client);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  /** Drops every forwarded connection and holds new ones. */
  cut(): void {
    this.cutting = true;
    for (const s of [...this.pairs]) {
      this.dropped++;
      s.destroy();
    }
    this.pairs.clear();
  }

  /** Forwards again, including the connections held while cut. */
  restore(): number {
    this.cutting = false;
    const held = this.held.filter((s) => !s.destroyed);
    this.held = [];
    for (const s of held) this.forward(s);
    return held.length;
  }

  async close(): Promise<void> {
    for (const s of [...this.pairs, ...this.held]) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// Shared pieces of the end-to-end propeller tests (propeller-*.test.ts): a namespace with its own
// propeller, task builders, pod/workflow recorders and assertion helpers that explain failures.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow, WorkflowPhase, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import { MERGE_PATCH, type KubeClient, type WatchEvent } from '../../../src/k8s/rest.ts';
import { useTestCluster, type TestCluster } from './cluster.ts';
import { createNamespace } from './namespace.ts';
import { startPropeller, type RunningPropeller } from './propeller.ts';
import { createWorkflow, getWorkflow, listPods, workflowManifest } from './workflows.ts';

// Label, annotation and finalizer names spelled out here rather than imported from src/, so the tests
// check the documented contract instead of whatever the code currently says.
export const L = {
  managedBy: 'app.kubernetes.io/managed-by',
  workflow: 'flyte.propeller.dev/workflow',
  node: 'flyte.propeller.dev/node',
  attempt: 'flyte.propeller.dev/attempt',
  task: 'flyte.propeller.dev/task',
  project: 'flyte.propeller.dev/project',
  domain: 'flyte.propeller.dev/domain',
} as const;
export const FINALIZER_NAME = 'flyte.propeller.dev/finalizer';
export const WF_API = '/apis/flyte.propeller.dev/v1alpha1';
export const wfsPath = (ns: string) => `${WF_API}/namespaces/${ns}/flyteworkflows`;
export const wfPath = (ns: string, name: string) => `${wfsPath(ns)}/${name}`;

/** Retry backoff short enough for tests (the default starts at 2 s). */
export const FAST_RETRIES = ['--workflow-retry-backoff-base-ms', '200', '--workflow-retry-backoff-max-ms', '1000'];

/** Pod options that put task pods on the (tainted) KWOK nodes. */
export const KWOK_POD = {
  nodeSelector: { 'propeller.dev/dev-node': 'kwok' },
  tolerations: [{ key: 'propeller.dev/dev-node', operator: 'Exists' as const }],
};

export interface Env {
  client: KubeClient;
  kubeconfig: string;
  ns: string;
  propeller: RunningPropeller;
}

/** A namespace and a propeller watching only it, started on the given cluster. */
export async function startEnv(cluster: TestCluster, prefix: string, args: string[] = []): Promise<Env & { cleanup(): Promise<void> }> {
  const ns = await createNamespace(cluster.client, prefix);
  const env: Env = { client: cluster.client, kubeconfig: cluster.kubeconfigPath, ns: ns.name, propeller: startPropeller({ kubeconfig: cluster.kubeconfigPath, namespaces: [ns.name], args }) };
  return {
    ...env,
    get propeller() {
      return env.propeller;
    },
    set propeller(p: RunningPropeller) {
      env.propeller = p;
    },
    cleanup: async () => {
      await Recorder.stopAll(`/namespaces/${ns.name}/`);
      await stopPropeller(env.propeller);
      await ns.remove();
    },
  };
}

/** SIGTERM, then SIGKILL if it has not exited within 10 s. */
export async function stopPropeller(p: RunningPropeller): Promise<void> {
  const stopped = p.stop();
  const late = await Promise.race([stopped.then(() => false), sleep(10_000, undefined, { ref: false }).then(() => true)]);
  if (late) await p.kill();
}

/**
 * The test cluster plus one namespace and one propeller for the whole describe block. Call at the top of
 * the describe; cleanup runs before the cluster's own teardown.
 */
export function usePropellerEnv(prefix: string, args: string[] = []): () => Env {
  let env: (Env & { cleanup(): Promise<void> }) | undefined;
  after(async () => {
    await env?.cleanup();
  });
  const cluster = useTestCluster();
  before(async () => {
    env = await startEnv(cluster(), prefix, args);
    await waitForReady(env.propeller);
  });
  return () => {
    if (!env) throw new Error('the propeller env is not ready');
    return env;
  };
}

/** The propeller's log so far ('' before its log file exists). */
export function logsOf(p: RunningPropeller): string {
  try {
    return p.logs();
  } catch {
    return '';
  }
}

/** Waits until the propeller says its caches are synced (it reconciles from then on). */
export function waitForReady(p: RunningPropeller, timeoutMs = 60_000): Promise<void> {
  return waitForLog(p, /caches synced|reconciling/, timeoutMs);
}

export async function waitForLog(p: RunningPropeller, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(logsOf(p))) return;
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`the propeller exited before logging ${pattern}:\n${tail(logsOf(p), 40)}`);
    await sleep(100);
  }
  throw new Error(`the propeller did not log ${pattern} within ${timeoutMs}ms:\n${tail(logsOf(p), 40)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Tasks

const PY_PRELUDE = `import json, os, sys, time
inp = json.loads(os.environ["FLYTE_INPUTS"])
attempt = int(os.environ["FLYTE_ATTEMPT_NUMBER"])
out = {}
`;
const PY_EPILOGUE = `
with open(os.environ["FLYTE_OUTPUTS_FILE"], "w") as f:
    json.dump(out, f)
`;

export interface TaskOptions {
  inputs?: Record<string, string>;
  outputs?: Record<string, string>;
  retries?: number;
  timeout?: string;
  args?: string[];
  env?: { name: string; value: string }[];
  pod?: Record<string, unknown>;
  version?: string;
}

function taskOf(command: string[], o: TaskOptions): Record<string, unknown> {
  return {
    version: o.version ?? '1',
    interface: { inputs: o.inputs ?? {}, outputs: o.outputs ?? {} },
    container: { image: 'python:3.12-slim', command, ...(o.args ? { args: o.args } : {}), ...(o.env ? { env: o.env } : {}) },
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
    ...(o.pod ? { pod: o.pod } : {}),
  };
}

/**
 * A Python task run by the process node. `code` runs at top level with `inp` (the inputs), `attempt`
 * (FLYTE_ATTEMPT_NUMBER) and `out` (a dict written to FLYTE_OUTPUTS_FILE when the code ends normally).
 * Never put a "$" in code: the kubelet (and the process node) expand $(VAR) and $$ in arguments.
 */
export function pyTask(code: string, o: TaskOptions = {}): Record<string, unknown> {
  assert.ok(!code.includes('$'), 'a task script must not contain "$"');
  return taskOf(['python3', '-c', PY_PRELUDE + code + PY_EPILOGUE], o);
}

/** A Node.js task: `code` sees `inp`, `attempt` and fills `out`. */
export function nodeTask(code: string, o: TaskOptions = {}): Record<string, unknown> {
  assert.ok(!code.includes('$'), 'a task script must not contain "$"');
  const script = `const fs = require('fs');
const inp = JSON.parse(process.env.FLYTE_INPUTS);
const attempt = Number(process.env.FLYTE_ATTEMPT_NUMBER);
const out = {};
${code}
fs.writeFileSync(process.env.FLYTE_OUTPUTS_FILE, JSON.stringify(out));
`;
  return taskOf([process.execPath, '-e', script], o);
}

/**
 * A task whose pod runs on a KWOK node: it "runs" for `duration` and its outputs are the rendered `message`.
 * The task's own pod options place it on KWOK unless `taskPod` is false (then the workflow's spec.pod must).
 */
export function kwokTask(message: string, o: TaskOptions & { duration?: string; exitCode?: number; taskPod?: boolean } = {}): Record<string, unknown> {
  const env = [
    { name: 'KWOK_DURATION', value: o.duration ?? '500ms' },
    { name: 'KWOK_MESSAGE', value: message },
    ...(o.exitCode !== undefined ? [{ name: 'KWOK_EXIT_CODE', value: String(o.exitCode) }] : []),
    ...(o.env ?? []),
  ];
  return taskOf(['/bin/true'], { ...o, env, pod: o.taskPod === false ? o.pod : { ...KWOK_POD, ...o.pod } });
}

// ---------------------------------------------------------------------------------------------------------
// Workflows

export async function submit(env: Env, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<FlyteWorkflow> {
  return createWorkflow(env.client, env.ns, workflowManifest(name, spec, labels));
}

export const TERMINAL: WorkflowPhase[] = ['Succeeded', 'Failed', 'Aborted'];

/** Polls until the workflow is in a terminal phase; at the deadline, returns the last copy read (if any). */
export async function waitForEnd(env: { client: KubeClient; ns: string }, name: string, timeoutMs: number): Promise<FlyteWorkflow | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: FlyteWorkflow | undefined;
  while (Date.now() < deadline) {
    last = await getWorkflow(env.client, env.ns, name).catch(() => last);
    if (last?.status?.phase && TERMINAL.includes(last.status.phase)) return last;
    await sleep(200);
  }
  return last;
}

/** Last lines of a text. */
export function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines - 1).join('\n');
}

/** What to print when an assertion about a workflow fails: its status, its pods and the propeller's log about it. */
export async function diagnose(env: Env, name: string, extraLogs: RunningPropeller[] = []): Promise<string> {
  const wf = await getWorkflow(env.client, env.ns, name).catch((err: unknown) => String(err));
  const pods = await listPods(env.client, env.ns, `${L.workflow}=${name}`).catch(() => [] as Pod[]);
  const podLines = pods.map((p) => {
    const t = p.status?.containerStatuses?.[0]?.state?.terminated;
    return `  ${p.metadata.name} node=${p.metadata.labels?.[L.node]} attempt=${p.metadata.labels?.[L.attempt]} phase=${p.status?.phase}${p.metadata.deletionTimestamp ? ' (deleting)' : ''}${t ? ` exit=${t.exitCode} msg=${JSON.stringify(t.message ?? '').slice(0, 200)}` : ''}`;
  });
  const logs = [...extraLogs, env.propeller].map((p) => {
    const all = logsOf(p);
    const lines = all.split('\n').filter((l) => l.includes(name) || /"level":(40|50|60)/.test(l));
    return lines.length ? tail(lines.join('\n'), 40) : tail(all, 20);
  });
  return [
    `--- workflow ${env.ns}/${name}: ${typeof wf === 'string' ? wf : JSON.stringify(wf.status, null, 1)}`,
    `--- pods (${pods.length}):`,
    ...podLines,
    `--- propeller log (${logsOf(env.propeller).length} bytes; lines about ${name} and warnings/errors, else its tail):`,
    ...logs,
  ].join('\n');
}

/** Waits for any terminal phase and asserts it is `phase`: fails fast on a wrong ending, with diagnostics. */
export async function expectPhase(env: Env, name: string, phase: WorkflowPhase, timeoutMs = 60_000): Promise<FlyteWorkflow> {
  const deadline = Date.now() + timeoutMs;
  let last: FlyteWorkflow | undefined;
  while (Date.now() < deadline) {
    last = await getWorkflow(env.client, env.ns, name).catch(() => last);
    const p = last?.status?.phase;
    if (p === phase) return last!;
    if (p && TERMINAL.includes(p)) assert.fail(`workflow ${name} ended ${p}, expected ${phase}: ${last?.status?.message}\n${await diagnose(env, name)}`);
    await sleep(150);
  }
  assert.fail(`workflow ${name} did not reach ${phase} within ${timeoutMs}ms (last phase ${last?.status?.phase})\n${await diagnose(env, name)}`);
}

/** Polls the workflow until `check` returns something truthy; the failure message carries diagnostics. */
export async function waitForWorkflow<T>(env: Env, name: string, what: string, check: (wf: FlyteWorkflow) => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const wf = await getWorkflow(env.client, env.ns, name).catch(() => undefined);
    if (wf) {
      const v = check(wf);
      if (v) return v;
      const p = wf.status?.phase;
      if (p && TERMINAL.includes(p)) assert.fail(`workflow ${name} ended ${p} while waiting for ${what}\n${await diagnose(env, name)}`);
    }
    await sleep(100);
  }
  assert.fail(`timed out after ${timeoutMs}ms waiting for ${what}\n${await diagnose(env, name)}`);
}

/** Polls until `check` holds, failing with the workflow's diagnostics. */
export async function eventually(env: Env, name: string, what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${timeoutMs}ms waiting for ${what}\n${await diagnose(env, name)}`);
}

export function podsOf(env: Env, name: string, more = ''): Promise<Pod[]> {
  return listPods(env.client, env.ns, `${L.workflow}=${name}${more ? `,${more}` : ''}`);
}

export async function patchWorkflow(env: Env, name: string, patch: unknown): Promise<FlyteWorkflow> {
  return env.client.request<FlyteWorkflow>('PATCH', wfPath(env.ns, name), { body: patch, contentType: MERGE_PATCH });
}

export function nodeStatus(status: WorkflowStatus | undefined, node: string) {
  const ns = status?.nodes?.[node];
  assert.ok(ns, `no status for node ${node}: ${JSON.stringify(status)}`);
  return ns;
}

export const isTerminalPod = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

// ---------------------------------------------------------------------------------------------------------
// Recorders

/**
 * Every change of the objects under a list path (list, then watch from its resourceVersion, resuming when
 * the server closes the watch), so a test sees each state an object went through, not just samples.
 */
export class Recorder<T extends { metadata: { name: string; uid?: string; resourceVersion?: string } }> {
  readonly events: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T; at: number }[] = [];
  readonly current = new Map<string, T>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private listeners: ((e: WatchEvent<T>) => void)[] = [];
  error: unknown;

  private readonly client: KubeClient;
  private readonly path: string;
  private readonly query: Record<string, string>;

  private constructor(client: KubeClient, path: string, query: Record<string, string>) {
    this.client = client;
    this.path = path;
    this.query = query;
  }

  private static readonly live = new Set<Recorder<never>>();

  /** Stops every recorder whose path contains `pathPart` (a test's cleanup, before the cluster's client closes). */
  static async stopAll(pathPart: string): Promise<void> {
    await Promise.all([...Recorder.live].filter((r) => r.path.includes(pathPart)).map((r) => r.stop()));
  }

  static async start<T extends { metadata: { name: string; uid?: string; resourceVersion?: string } }>(client: KubeClient, path: string, labelSelector?: string): Promise<Recorder<T>> {
    const r = new Recorder<T>(client, path, labelSelector ? { labelSelector } : {});
    const list = await client.request<{ metadata: { resourceVersion: string }; items: T[] }>('GET', path, { query: r.query });
    for (const item of list.items) r.apply({ type: 'ADDED', object: item });
    r.loop = r.run(list.metadata.resourceVersion);
    Recorder.live.add(r as unknown as Recorder<never>);
    return r;
  }

  onEvent(listener: (e: WatchEvent<T>) => void): void {
    this.listeners.push(listener);
  }

  private apply(e: WatchEvent<T>): void {
    if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') return;
    this.events.push({ type: e.type, object: e.object, at: Date.now() });
    if (e.type === 'DELETED') this.current.delete(e.object.metadata.name);
    else this.current.set(e.object.metadata.name, e.object);
    for (const l of this.listeners) l(e);
  }

  private async run(rv: string): Promise<void> {
    let resourceVersion = rv;
    while (!this.abort.signal.aborted) {
      try {
        await this.client.watch<T>(
          this.path,
          { ...this.query, resourceVersion, allowWatchBookmarks: true },
          (e) => {
            if (e.object?.metadata?.resourceVersion) resourceVersion = e.object.metadata.resourceVersion;
            this.apply(e);
          },
          { signal: this.abort.signal },
        );
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.error = err;
        await sleep(200);
      }
    }
  }

  async stop(): Promise<void> {
    Recorder.live.delete(this as unknown as Recorder<never>);
    this.abort.abort();
    await this.loop?.catch(() => {});
  }

  /** Every distinct object (by uid) ever seen. */
  uids(): Map<string, T> {
    const out = new Map<string, T>();
    for (const e of this.events) if (e.object.metadata.uid) out.set(e.object.metadata.uid, e.object);
    return out;
  }
}

export function podRecorder(env: Env, labelSelector?: string): Promise<Recorder<Pod>> {
  return Recorder.start<Pod>(env.client, `/api/v1/namespaces/${env.ns}/pods`, labelSelector);
}

export function workflowRecorder(env: Env): Promise<Recorder<FlyteWorkflow>> {
  return Recorder.start<FlyteWorkflow>(env.client, wfsPath(env.ns));
}

/** Asserts two numbers are equal up to floating-point noise. */
export function assertClose(actual: unknown, expected: number, what: string, context = ''): void {
  assert.equal(typeof actual, 'number', `${what}: expected a number, got ${JSON.stringify(actual)}${context}`);
  assert.ok(Math.abs((actual as number) - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}${context}`);
}

/** Wraps an assertion block so a failure carries the workflow's diagnostics. */
export async function explain<T>(env: Env, name: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof Error) || err.message.includes('--- workflow')) throw err;
    const message = `${err.message}\n${await diagnose(env, name)}`;
    if (err instanceof assert.AssertionError) throw new assert.AssertionError({ message, actual: err.actual, expected: err.expected, operator: err.operator, diff: 'simple' });
    throw new Error(message, { cause: err });
  }
}

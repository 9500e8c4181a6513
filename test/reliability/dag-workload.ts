// Workloads and checks shared by the crash and shutdown reliability tests: seeded random layered DAGs whose
// data flows along every edge (so a lost, changed or mixed-up output shows in the values downstream), the
// expected value of every node computed independently here, and analyses of what the recorders saw.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow, WorkflowPhase } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { KWOK_POD, L, pyTask, type Recorder } from '../integration/helpers/e2e.ts';
import type { RunningPropeller } from '../integration/helpers/propeller.ts';

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness

export type Rand = () => number;

/** mulberry32: small, fast and good enough to pick DAG shapes and kill moments. */
export function rng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RELIABILITY_SEED when set (to replay a run), else a fresh one; printed either way. */
export function seedFor(what: string): number {
  const env = process.env['RELIABILITY_SEED'];
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`# ${what}: seed ${seed} (replay with RELIABILITY_SEED=${seed})\n`);
  return seed;
}

export const between = (rand: Rand, min: number, max: number): number => min + rand() * (max - min);
export const intBetween = (rand: Rand, min: number, max: number): number => Math.floor(between(rand, min, max + 1));

function pickDistinct<T>(rand: Rand, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Layered DAG workflows

export type Runtime = 'kwok' | 'python';

export interface Workload {
  name: string;
  runtime: Runtime;
  spec: Record<string, unknown>;
  nodes: string[];
  /** The outputs every node must end with. */
  nodeOutputs: Record<string, Record<string, unknown>>;
  /** The workflow's outputs. */
  outputs: Record<string, unknown>;
}

/**
 * A random layered DAG of `size` nodes. Every node of layer > 0 has one "spine" parent in the layer just
 * above and up to two more anywhere above; every parent's output is one of its inputs.
 *
 * - kwok: each node outputs `o0 = "<tag><<spine parent's o0>>"` and `seen` = the list of all its parents'
 *   o0, rendered by the propeller into KWOK_MESSAGE; roots start from the workflow's `seed` input.
 * - python (process node): each node outputs `o0 = (31 * sum(parents' o0) + k) mod 1000003`.
 */
export function layeredDag(rand: Rand, opts: { name: string; size: number; runtime: Runtime; durationMs?: [number, number] }): Workload {
  const { name, size, runtime } = opts;
  const [dMin, dMax] = opts.durationMs ?? [400, 1500];
  const depth = Math.max(2, Math.min(size, intBetween(rand, Math.round(Math.sqrt(size)) - 1, Math.round(Math.sqrt(size)) + 1)));
  // Every layer gets at least one node; the rest land anywhere.
  const layerSize = Array.from({ length: depth }, () => 1);
  for (let i = depth; i < size; i++) layerSize[Math.floor(rand() * depth)]!++;
  const layers: string[][] = [];
  let next = 0;
  for (const n of layerSize) layers.push(Array.from({ length: n }, () => `n${next++}`));

  const parents = new Map<string, string[]>();
  for (let l = 0; l < depth; l++) {
    for (const node of layers[l]!) {
      if (l === 0) {
        parents.set(node, []);
        continue;
      }
      const spine = layers[l - 1]![Math.floor(rand() * layers[l - 1]!.length)]!;
      const above = layers.slice(0, l).flat().filter((n) => n !== spine);
      parents.set(node, [spine, ...pickDistinct(rand, above, intBetween(rand, 0, 2))]);
    }
  }
  const all = layers.flat();
  const children = new Set([...parents.values()].flat());
  const sinks = all.filter((n) => !children.has(n));
  const nodes: Record<string, unknown> = {};
  const nodeOutputs: Record<string, Record<string, unknown>> = {};
  const outputs: Record<string, unknown> = {};

  if (runtime === 'kwok') {
    const seed = `${name}-${Math.floor(rand() * 1e9).toString(36)}`;
    for (const node of all) {
      const ps = parents.get(node)!;
      const duration = `${Math.round(between(rand, dMin, dMax))}ms`;
      nodes[node] = {
        task: 'step',
        inputs: {
          tag: { value: node },
          p: ps.length ? { from: `${ps[0]}.o0` } : { from: 'inputs.seed' },
          ins: { list: ps.map((p) => ({ from: `${p}.o0` })) },
          d: { value: duration },
        },
      };
      const p = ps.length ? (nodeOutputs[ps[0]!]!['o0'] as string) : seed;
      nodeOutputs[node] = { o0: `${node}<${p}>`, seen: ps.map((x) => nodeOutputs[x]!['o0']) };
    }
    for (const s of sinks) outputs[`out_${s}`] = nodeOutputs[s]!['o0'];
    return {
      name,
      runtime,
      nodes: all,
      nodeOutputs,
      outputs,
      spec: {
        interface: { inputs: { seed: 'str' }, outputs: Object.fromEntries(sinks.map((s) => [`out_${s}`, 'str'])) },
        inputs: { seed },
        tasks: {
          step: {
            version: '1',
            interface: { inputs: { tag: 'str', p: 'str', ins: 'list[str]', d: 'str' }, outputs: { o0: 'str', seen: 'list[str]' } },
            container: {
              image: 'kwok',
              command: ['/bin/true'],
              env: [
                { name: 'KWOK_DURATION', value: '{{.inputs.d}}' },
                { name: 'KWOK_MESSAGE', value: '{"o0": "{{.inputs.tag}}<{{.inputs.p}}>", "seen": {{.inputs.ins}}}' },
              ],
            },
          },
        },
        nodes,
        outputs: Object.fromEntries(sinks.map((s) => [`out_${s}`, { from: `${s}.o0` }])),
        maxParallelism: 0,
        pod: KWOK_POD,
      },
    };
  }

  const seed = intBetween(rand, 1, 999_999);
  for (const node of all) {
    const ps = parents.get(node)!;
    const k = intBetween(rand, 1, 999);
    nodes[node] = {
      task: 'step',
      inputs: { k: { value: k }, xs: { list: ps.length ? ps.map((p) => ({ from: `${p}.o0` })) : [{ from: 'inputs.seed' }] } },
    };
    const xs = ps.length ? ps.map((p) => nodeOutputs[p]!['o0'] as number) : [seed];
    nodeOutputs[node] = { o0: (31 * xs.reduce((a, b) => a + b, 0) + k) % 1_000_003 };
  }
  for (const s of sinks) outputs[`out_${s}`] = nodeOutputs[s]!['o0'];
  return {
    name,
    runtime,
    nodes: all,
    nodeOutputs,
    outputs,
    spec: {
      interface: { inputs: { seed: 'int' }, outputs: Object.fromEntries(sinks.map((s) => [`out_${s}`, 'int'])) },
      inputs: { seed },
      tasks: {
        // A real failure (the process node under load) may be retried once; the checks tell it apart.
        step: pyTask('time.sleep(0.2)\nout["o0"] = (31 * sum(inp["xs"]) + inp["k"]) % 1000003', { inputs: { k: 'int', xs: 'list[int]' }, outputs: { o0: 'int' }, retries: 1 }),
      },
      nodes,
      outputs: Object.fromEntries(sinks.map((s) => [`out_${s}`, { from: `${s}.o0` }])),
      maxParallelism: 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Checks

const TERMINAL: readonly WorkflowPhase[] = ['Succeeded', 'Failed', 'Aborted'];
export const isFinished = (wf: FlyteWorkflow | undefined): boolean => !!wf?.status?.phase && TERMINAL.includes(wf.status.phase);

/** Workflows of `names` that exist and have not finished, as the recorder last saw them (not yet seen: in flight). */
export function inFlight(wfs: Recorder<FlyteWorkflow>, names: Iterable<string>): number {
  let n = 0;
  for (const name of names) if (!isFinished(wfs.current.get(name))) n++;
  return n;
}

/** JSON with sorted keys, so equal values compare equal whatever order the API server kept. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/**
 * What a finished workflow got wrong against its workload: `lost` (not Succeeded, a node's or the
 * workflow's outputs missing or wrong) and `rerun` (a node with more than one attempt that no failed pod
 * justifies, `retried` holding the justified `workflow/node`s).
 */
export function workflowProblems(wf: FlyteWorkflow | undefined, w: Workload, retried: ReadonlySet<string> = new Set()): { lost: string[]; rerun: string[] } {
  if (!wf) return { lost: [`${w.name}: not found`], rerun: [] };
  const st = wf.status;
  const lost: string[] = [];
  const rerun: string[] = [];
  if (st?.phase !== 'Succeeded') lost.push(`${w.name}: ended ${st?.phase ?? '(no phase)'}: ${st?.message ?? ''}`);
  for (const node of w.nodes) {
    const ns = st?.nodes?.[node];
    if (canonical(ns?.outputs) !== canonical(w.nodeOutputs[node])) {
      lost.push(`${w.name}/${node}: outputs ${canonical(ns?.outputs)} (${ns?.phase}), expected ${canonical(w.nodeOutputs[node])}`);
    }
    if (ns?.attempts !== 1 && !retried.has(`${w.name}/${node}`)) rerun.push(`${w.name}/${node}: ${ns?.attempts} attempts with no failed pod to justify a retry (${ns?.message ?? ''})`);
  }
  if (st?.phase === 'Succeeded' && canonical(st.outputs) !== canonical(w.outputs)) lost.push(`${w.name}: workflow outputs ${canonical(st.outputs)}, expected ${canonical(w.outputs)}`);
  return { lost, rerun };
}

export interface PodFindings {
  /** Distinct pods (by uid) ever seen. */
  pods: number;
  /** `workflow/node#attempt` keys that had more than one pod, with the pods. */
  duplicates: string[];
  /** Attempts > 0 whose previous attempt's pod really failed (`workflow/node`). */
  justifiedRetries: Set<string>;
  /** Attempts > 0 with no failed previous pod: a task run again for nothing. */
  unjustifiedRetries: string[];
}

const podKey = (p: Pod) =>
  `${p.metadata.annotations?.[L.workflow] ?? p.metadata.labels?.[L.workflow]}/${p.metadata.annotations?.[L.node] ?? p.metadata.labels?.[L.node]}#${p.metadata.labels?.[L.attempt]}`;

/** Every pod a pod recorder saw, grouped by (workflow, node, attempt). */
export function podFindings(pods: Recorder<Pod>, workflows?: ReadonlySet<string>): PodFindings {
  const byKey = new Map<string, Map<string, Pod[]>>();
  for (const e of pods.events) {
    const p = e.object;
    if (!p.metadata.uid || p.metadata.labels?.[L.managedBy] !== 'propeller') continue;
    const wf = p.metadata.annotations?.[L.workflow] ?? p.metadata.labels?.[L.workflow];
    if (workflows && (!wf || !workflows.has(wf))) continue;
    const key = podKey(p);
    const uids = byKey.get(key) ?? byKey.set(key, new Map()).get(key)!;
    const versions = uids.get(p.metadata.uid) ?? uids.set(p.metadata.uid, []).get(p.metadata.uid)!;
    versions.push(p);
  }
  const duplicates: string[] = [];
  const justifiedRetries = new Set<string>();
  const unjustifiedRetries: string[] = [];
  let count = 0;
  for (const [key, uids] of byKey) {
    count += uids.size;
    if (uids.size > 1) duplicates.push(`${key}: ${[...uids].map(([uid, v]) => `${v[0]!.metadata.name}/${uid}`).join(', ')}`);
    const m = /^(.*)#(\d+)$/.exec(key)!;
    const attempt = Number(m[2]);
    if (attempt === 0) continue;
    const previous = byKey.get(`${m[1]}#${attempt - 1}`);
    const failed = [...(previous?.values() ?? [])].some((versions) => versions.some((v) => v.status?.phase === 'Failed'));
    if (failed) justifiedRetries.add(m[1]!);
    else unjustifiedRetries.push(`${key} (attempt ${attempt - 1}: ${previous ? 'never failed' : 'no pod seen'})`);
  }
  return { pods: count, duplicates, justifiedRetries, unjustifiedRetries };
}

/**
 * Outputs that changed or vanished once written, and nodes that left Succeeded, across every version of
 * every workflow the recorder saw.
 */
export function outputChanges(wfs: Recorder<FlyteWorkflow>, workflows?: ReadonlySet<string>): { versions: number; problems: string[] } {
  const written = new Map<string, Map<string, string>>(); // uid → node (or '#workflow') → outputs
  const succeeded = new Map<string, Set<string>>();
  const problems: string[] = [];
  let versions = 0;
  for (const e of wfs.events) {
    if (e.type === 'DELETED') continue;
    const wf = e.object;
    if (workflows && !workflows.has(wf.metadata.name)) continue;
    versions++;
    const uid = wf.metadata.uid ?? wf.metadata.name;
    const seen = written.get(uid) ?? written.set(uid, new Map()).get(uid)!;
    const done = succeeded.get(uid) ?? succeeded.set(uid, new Set()).get(uid)!;
    const nodes = wf.status?.nodes ?? {};
    const rv = wf.metadata.resourceVersion;
    for (const [node, before] of seen) {
      const now = node === '#workflow' ? wf.status?.outputs : nodes[node]?.outputs;
      if (now === undefined) problems.push(`${wf.metadata.name}/${node}: outputs ${before} disappeared at rv ${rv}`);
      else if (canonical(now) !== before) problems.push(`${wf.metadata.name}/${node}: outputs changed from ${before} to ${canonical(now)} at rv ${rv}`);
    }
    for (const node of done) {
      if (nodes[node]?.phase !== 'Succeeded') problems.push(`${wf.metadata.name}/${node}: went from Succeeded to ${nodes[node]?.phase} at rv ${rv}`);
    }
    for (const [node, ns] of Object.entries(nodes)) {
      if (ns.outputs !== undefined && !seen.has(node)) seen.set(node, canonical(ns.outputs));
      if (ns.phase === 'Succeeded') done.add(node);
    }
    if (wf.status?.outputs !== undefined && !seen.has('#workflow')) seen.set('#workflow', canonical(wf.status.outputs));
  }
  // One problem usually repeats in every later version: report each (workflow, node) once, as first seen.
  const first = new Map<string, string>();
  for (const p of problems) if (!first.has(p.slice(0, p.indexOf(':')))) first.set(p.slice(0, p.indexOf(':')), p);
  return { versions, problems: [...first.values()] };
}

/** Small summary of numbers: min/median/max. */
export function spread(values: number[]): string {
  if (!values.length) return '-';
  const s = [...values].sort((a, b) => a - b);
  return `${s[0]}/${s[Math.floor(s.length / 2)]}/${s[s.length - 1]}`;
}

/** A propeller's pino log lines, parsed, with `at` the epoch ms of each (lines that are not JSON are skipped). */
export function logLines(text: string): { at: number; msg: string; [k: string]: unknown }[] {
  const out: { at: number; msg: string; [k: string]: unknown }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { time?: string | number; msg: string };
      out.push({ ...entry, at: typeof entry.time === 'number' ? entry.time : Date.parse(entry.time ?? '') });
    } catch {
      // a partial last line
    }
  }
  return out;
}

/**
 * Pods a propeller logged creating ("created pod", debug) that no workflow status in `workflows` records
 * (the node's attempts do not reach them): a round that created them ended before its status write.
 */
export function unrecordedPods(logText: string, workflows: readonly FlyteWorkflow[]): string[] {
  const byKey = new Map(workflows.map((wf) => [`${wf.metadata.namespace}/${wf.metadata.name}`, wf]));
  return logLines(logText)
    .filter((l) => l.msg === 'created pod')
    .filter((l) => {
      const node = byKey.get(String(l['workflow']))?.status?.nodes?.[String(l['node'])];
      return !node || (node.attempts ?? 0) < Number(l['attempt']) + 1;
    })
    .map((l) => `${String(l['workflow'])}/${String(l['node'])}#${String(l['attempt'])}`);
}

/** Waits until what an exited propeller printed last has reached its log file (its exit can come first). */
export async function logSettled(p: RunningPropeller): Promise<void> {
  const out = p.child.stdout;
  if (out && !out.readableEnded) await Promise.race([once(out, 'end'), sleep(1000)]);
  await sleep(50);
}

// npm run demo [-- FILE] [--kubeconfig PATH] [--no-propeller] [--keep] [--approve PATH]... [--reject PATH=REASON]...
//               [--signal PATH=JSON]... [--timeout DURATION]
// Runs one FlyteWorkflow file (default examples/regression.yaml) end to end: a local control plane (built if
// needed) with the process node, which runs each task's command as a local process, the propeller, then the
// workflow in a fresh namespace, printing node progress as it changes and the outputs at the end.
// The file may also hold the WorkflowDefinitions and LaunchPlans the workflow runs by reference
// (examples/nightly.yaml): the demo applies those first (definitions, then launch plans), then the workflow.
// Exit code: 0 when the workflow Succeeded; 1 when it did not (its error is printed), e.g. for
// test/fixtures/demo/failure-handler.yaml, which fails by design; 2 for a bad command line or file; 130 on Ctrl-C.
//
// Gates: when an approve or signal gate starts waiting, the demo prints the kubectl command that decides it
// (run it from a second terminal) and keeps waiting. --approve, --reject and --signal make the demo send that
// same patch itself once the gate is reached, for unattended runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import type { FlyteWorkflow, NodeSpec, NodeStatus, WorkflowStatus } from '../../src/api/flyteworkflow.ts';
import { API_VERSION, KIND, TERMINAL_WORKFLOW_PHASES } from '../../src/api/flyteworkflow.ts';
import { definitionsPath, launchPlanPath, launchPlansPath, workflowPath, workflowsPath } from '../../src/k8s/paths.ts';
import { JSON_PATCH, KubeClient, MERGE_PATCH } from '../../src/k8s/rest.ts';
import { repoRoot } from '../controlplane/components.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/control-plane.ts';
import { typeScriptRun, type TypeScriptRun } from './typescript-manifest.ts';
import { WorkflowFeed } from './workflow-feed.ts';

const USAGE = `usage: npm run demo -- [FILE] [options]

  FILE                     a FlyteWorkflow manifest (default: examples/regression.yaml; --example FILE also works);
                           it may also hold WorkflowDefinitions and LaunchPlans, which are applied first
  --kubeconfig PATH        use this cluster instead of starting a local control plane
  --no-propeller           do not start a propeller (one is already watching the cluster)
  --keep                   leave the namespace and the workflow in place
  --approve PATH           approve the approve gate at node path PATH once it is reached (repeatable)
  --reject PATH=REASON     reject the approve gate at PATH with REASON (repeatable)
  --signal PATH=JSON       send the JSON value to the signal gate at PATH (repeatable)
  --timeout DURATION       give up after this long, not counting time spent waiting for you at a gate (default 5m)

  For a TypeScript module (FILE.ts, written with @propeller/sdk), the demo ships its code and runs one of its
  workflows or launch plans as \`propeller run --remote\` would:
  --workflow NAME          the workflow or launch plan to run (default: the first whose inputs all have values)
  --input NAME=JSON        an input value (repeatable)
`;

/** A bad command line: exit 2 with the usage. */
class UsageError extends Error {}
/** A workflow file the demo cannot run: exit 2. */
class FileError extends Error {}
class Interrupted extends Error {}

const say = (line: string) => process.stdout.write(`${line}\n`);

// ─── Arguments ───────────────────────────────────────────────────────────────

interface Options {
  file: string;
  kubeconfig: string | undefined;
  propeller: boolean;
  keep: boolean;
  timeoutMs: number;
  /** Decisions to send, by gate path. */
  decisions: Map<string, Decision>;
  /** TypeScript modules: what to run, and its inputs. */
  workflow: string | undefined;
  inputs: Record<string, unknown>;
}

type Decision = { kind: 'approve'; approved: true } | { kind: 'approve'; approved: false; reason: string } | { kind: 'signal'; value: unknown; text: string };

/**
 * `npm run demo` runs from the package root; relative paths are meant from where the user typed the command,
 * which npm passes in INIT_CWD (only trusted when npm started the demo script itself, not some other script).
 */
const userCwd = (process.env['npm_lifecycle_event'] === 'demo' ? process.env['INIT_CWD'] : undefined) ?? process.cwd();
const fromUser = (path: string) => (isAbsolute(path) ? path : resolve(userCwd, path));

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kubeconfig: { type: 'string' },
      'no-propeller': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      example: { type: 'string' },
      approve: { type: 'string', multiple: true, default: [] },
      reject: { type: 'string', multiple: true, default: [] },
      signal: { type: 'string', multiple: true, default: [] },
      timeout: { type: 'string', default: '5m' },
      workflow: { type: 'string' },
      input: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const files = [...positionals, ...(values.example !== undefined ? [values.example] : [])];
  if (files.length > 1) throw new UsageError(`one workflow file at a time, not ${files.length}: ${files.join(', ')}`);
  const decisions = new Map<string, Decision>();
  const add = (flag: string, path: string, decision: Decision) => {
    if (!path) throw new UsageError(`${flag}: give the gate's node path, e.g. ${flag} review`);
    if (decisions.has(path)) throw new UsageError(`${flag} ${path}: a decision for gate ${path} was already given`);
    decisions.set(path, decision);
  };
  for (const path of values.approve) add('--approve', path, { kind: 'approve', approved: true });
  for (const arg of values.reject) {
    const [path, reason] = splitAt(arg, '--reject', 'PATH=REASON');
    add('--reject', path, { kind: 'approve', approved: false, reason });
  }
  for (const arg of values.signal) {
    const [path, text] = splitAt(arg, '--signal', 'PATH=JSON');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UsageError(`--signal ${arg}: the value is not JSON (a string needs quotes: --signal '${path}="text"')`);
    }
    add('--signal', path, { kind: 'signal', value, text });
  }
  const inputs: Record<string, unknown> = {};
  for (const arg of values.input) {
    const [name, text] = splitAt(arg, '--input', 'NAME=JSON');
    try {
      inputs[name] = JSON.parse(text);
    } catch {
      throw new UsageError(`--input ${arg}: the value is not JSON (a string needs quotes: --input '${name}="text"')`);
    }
  }
  const timeoutMs = parseDuration(values.timeout);
  if (timeoutMs === undefined) throw new UsageError(`--timeout ${values.timeout}: not a duration such as 90s, 5m or 1h`);
  return {
    file: fromUser(files[0] ?? join(repoRoot, 'examples', 'regression.yaml')),
    kubeconfig: values.kubeconfig === undefined ? undefined : fromUser(values.kubeconfig),
    propeller: !values['no-propeller'],
    keep: values.keep,
    timeoutMs,
    decisions,
    workflow: values.workflow,
    inputs,
  };
}

function splitAt(arg: string, flag: string, shape: string): [string, string] {
  const at = arg.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} ${arg}: expected ${shape}`);
  return [arg.slice(0, at), arg.slice(at + 1)];
}

function parseDuration(text: string): number | undefined {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text) ? text.match(/\d+(?:\.\d+)?(?:ms|s|m|h)/g)! : undefined;
  return parts?.reduce((sum, p) => sum + Number(/^[\d.]+/.exec(p)![0]) * unit[/[a-z]+$/.exec(p)![0]]!, 0);
}

// ─── The manifest ────────────────────────────────────────────────────────────

interface SpecShape {
  nodes?: Record<string, NodeSpec>;
  subworkflows?: Record<string, { nodes?: Record<string, NodeSpec>; onFailure?: NodeSpec }>;
  onFailure?: NodeSpec;
  definition?: { name?: unknown; version?: unknown };
  launchPlan?: unknown;
}

/** The kinds a workflow file may hold besides its FlyteWorkflow: what it runs by reference. Applied first, in this order. */
const REFERENCE_KINDS = ['WorkflowDefinition', 'LaunchPlan'] as const;
type ReferenceKind = (typeof REFERENCE_KINDS)[number];

interface ReferenceObject {
  apiVersion: string;
  kind: ReferenceKind;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

interface Manifest {
  workflow: FlyteWorkflow & { spec: SpecShape };
  /** The file's WorkflowDefinitions and LaunchPlans, in the order they are applied. */
  references: ReferenceObject[];
  /** ConfigMaps applied before anything else: the code of a TypeScript module. */
  configMaps?: { metadata: { name: string } }[];
}

async function loadTypeScriptManifest(opts: Options): Promise<Manifest> {
  let run: TypeScriptRun;
  try {
    run = await typeScriptRun(opts.file, opts.workflow, opts.inputs);
  } catch (err) {
    throw new FileError(err instanceof Error ? err.message : String(err));
  }
  say(`▸ Compiled ${relative(userCwd, opts.file) || opts.file}: running ${run.what}`);
  return {
    workflow: run.workflow as unknown as Manifest['workflow'],
    references: (run.references as unknown as ReferenceObject[]).sort((a, b) => REFERENCE_KINDS.indexOf(a.kind) - REFERENCE_KINDS.indexOf(b.kind)),
    configMaps: run.configMaps as { metadata: { name: string } }[],
  };
}

function loadManifest(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new FileError(`${file}: not a YAML stream`);
  const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (errors.length) throw new FileError(`${file} is not valid YAML: ${errors[0]}`);
  const objects = docs.map((d) => d.toJS() as unknown).filter((o) => o !== null && o !== undefined);
  const workflows = objects.filter((o): o is FlyteWorkflow => typeof o === 'object' && (o as { kind?: unknown }).kind === KIND);
  const kindOf = (o: unknown) => (typeof o === 'object' && o !== null ? (o as { kind?: unknown }).kind : undefined);
  const others = objects.filter((o) => kindOf(o) !== KIND);
  const foreign = others.filter((o) => !(REFERENCE_KINDS as readonly unknown[]).includes(kindOf(o)));
  if (workflows.length !== 1 || foreign.length) {
    const what = foreign.length ? `; the other documents may only be ${REFERENCE_KINDS.map((k) => `${k}s`).join(' and ')} (what it runs by reference), not ${foreign.map((o) => JSON.stringify(kindOf(o) ?? null)).join(', ')}` : '';
    throw new FileError(`${file}: expected one ${KIND} document, found ${objects.length} document(s) of which ${workflows.length} ${KIND}(s)${what}`);
  }
  const references = (others as ReferenceObject[]).map((o, i) => checkReference(file, o, i)).sort((a, b) => REFERENCE_KINDS.indexOf(a.kind) - REFERENCE_KINDS.indexOf(b.kind));
  const manifest = workflows[0]! as FlyteWorkflow & { spec: SpecShape };
  if (manifest.apiVersion !== API_VERSION) throw new FileError(`${file}: apiVersion is ${JSON.stringify(manifest.apiVersion)}, expected ${API_VERSION}`);
  if (typeof manifest.metadata !== 'object' || manifest.metadata === null) throw new FileError(`${file}: metadata is missing`);
  const meta = manifest.metadata as Partial<FlyteWorkflow['metadata']> & { generateName?: string };
  if (!meta.name && !meta.generateName) throw new FileError(`${file}: metadata.name (or generateName) is missing`);
  if (typeof manifest.spec !== 'object' || manifest.spec === null) throw new FileError(`${file}: spec is missing`);
  // The demo runs it in its own namespace.
  delete (meta as { namespace?: string }).namespace;

  // kubectl reads YAML 1.1, where unquoted y, n, yes, no, on and off are booleans: warn where that changes the meaning.
  const all = docs.length === 1 ? undefined : parseAllDocuments(text, { version: '1.1' });
  const oldDocs: unknown[] = all === undefined ? [parse(text, { version: '1.1' }) as unknown] : Array.isArray(all) ? all.map((d) => d.toJS() as unknown) : [];
  for (const [i, doc] of docs.entries()) {
    const where = i < oldDocs.length ? firstDifference(oldDocs[i], doc.toJS() as unknown, '') : undefined;
    if (where === undefined) continue;
    const which = docs.length > 1 ? ` (document ${i + 1})` : '';
    say(`⚠ ${relative(userCwd, file)}${which}: kubectl (YAML 1.1) reads ${where || 'this file'} differently from YAML 1.2: quote keys and values such as "y", "n", "yes", "no", "on" and "off".`);
    break;
  }
  return { workflow: manifest, references };
}

function checkReference(file: string, o: ReferenceObject, index: number): ReferenceObject {
  const where = `${file}: ${o.kind} ${JSON.stringify(o.metadata?.name ?? `#${index + 1}`)}`;
  if (o.apiVersion !== API_VERSION) throw new FileError(`${where}: apiVersion is ${JSON.stringify(o.apiVersion)}, expected ${API_VERSION}`);
  if (typeof o.metadata !== 'object' || o.metadata === null || typeof o.metadata.name !== 'string' || !o.metadata.name) throw new FileError(`${where}: metadata.name is missing`);
  if (typeof o.spec !== 'object' || o.spec === null) throw new FileError(`${where}: spec is missing`);
  // Applied in the demo's namespace, like the workflow.
  delete o.metadata.namespace;
  return o;
}

/**
 * The spec whose node paths the demo shows: the workflow's own, or, for a workflow run by reference,
 * that of the definition in the same file it names (directly or through a launch plan of the file).
 */
function runSpec(manifest: Manifest): SpecShape {
  const spec = manifest.workflow.spec;
  const find = (kind: ReferenceKind, name: unknown) => manifest.references.find((r) => r.kind === kind && r.metadata.name === name);
  let ref: { name?: unknown; version?: unknown } | undefined = spec.definition;
  if (ref === undefined && spec.launchPlan !== undefined) ref = (find('LaunchPlan', spec.launchPlan)?.spec['workflow'] as typeof ref) ?? undefined;
  if (ref === undefined) return spec;
  const def = find('WorkflowDefinition', `${String(ref.name)}.${String(ref.version)}`);
  const workflow = def?.spec['workflow'];
  return typeof workflow === 'object' && workflow !== null ? (workflow as SpecShape) : spec;
}

function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    if (!Object.hasOwn(ra, key) || !Object.hasOwn(rb, key)) return path || '(top level)';
    const deeper = firstDifference(ra[key], rb[key], path ? `${path}.${key}` : key);
    if (deeper !== undefined) return deeper;
  }
  return path;
}

const hasOwn = <T>(record: Record<string, T> | undefined, key: string): record is Record<string, T> => !!record && Object.hasOwn(record, key);

/** Every node path the spec can produce (subworkflow children, branch arms, failure handlers), with its node spec. */
function nodePaths(spec: SpecShape): Map<string, NodeSpec> {
  const out = new Map<string, NodeSpec>();
  const visitScope = (prefix: string, nodes: Record<string, NodeSpec> | undefined, onFailure: NodeSpec | undefined, depth: number) => {
    for (const [id, node] of Object.entries(nodes ?? {})) visitNode(`${prefix}${id}`, node, depth);
    if (onFailure) visitNode(`${prefix}onFailure`, onFailure, depth);
  };
  const visitNode = (path: string, node: NodeSpec, depth: number) => {
    if (typeof node !== 'object' || node === null) return;
    out.set(path, node);
    if (depth > 12) return; // deeper than the propeller allows; recursion is a compile error
    if (typeof node.subworkflow === 'string' && hasOwn(spec.subworkflows, node.subworkflow)) {
      const sub = spec.subworkflows[node.subworkflow]!;
      visitScope(`${path}/`, sub.nodes, sub.onFailure, depth + 1);
    }
    if (node.branch) {
      for (const [i, kase] of (node.branch.cases ?? []).entries()) if (kase?.then) visitNode(`${path}/case-${i}`, kase.then, depth + 1);
      if (node.branch.else) visitNode(`${path}/else`, node.branch.else, depth + 1);
    }
  };
  visitScope('', spec.nodes, spec.onFailure, 0);
  return out;
}

type GateOf = ({ kind: 'approve' } | { kind: 'signal'; type: string }) & { description?: string; timeout?: string };

function gateOf(node: NodeSpec | undefined): GateOf | undefined {
  const gate = node?.gate;
  const extra = { ...(typeof node?.timeout === 'string' ? { timeout: node.timeout } : {}) };
  if (gate?.approve !== undefined) return { kind: 'approve', ...(gate.approve?.description ? { description: gate.approve.description } : {}), ...extra };
  if (gate?.signal !== undefined) return { kind: 'signal', type: gate.signal.type, ...(gate.signal.description ? { description: gate.signal.description } : {}), ...extra };
  return undefined;
}

function checkDecisions(decisions: Map<string, Decision>, paths: Map<string, NodeSpec>): void {
  const gates = [...paths].filter(([, n]) => gateOf(n)).map(([p, n]) => `${p} (${gateOf(n)!.kind})`);
  const known = gates.length ? `its approve and signal gates: ${gates.join(', ')}` : 'it has no approve or signal gates';
  for (const [path, decision] of decisions) {
    const flag = decision.kind === 'signal' ? '--signal' : decision.approved ? '--approve' : '--reject';
    const gate = gateOf(paths.get(path));
    if (!gate) throw new UsageError(`${flag} ${path}: the workflow has no approve or signal gate at ${path}; ${known}`);
    if (gate.kind !== decision.kind) {
      throw new UsageError(`${flag} ${path}: ${path} is ${gate.kind === 'approve' ? 'an approve gate: use --approve or --reject' : 'a signal gate: use --signal PATH=JSON'}`);
    }
  }
}

// ─── Commands ────────────────────────────────────────────────────────────────

/** Quotes one argument for a POSIX shell, only when needed. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

interface Target {
  kubectl: string;
  kubeconfig: string;
  namespace: string;
  name: string;
}

function signalPatch(path: string, signal: Record<string, unknown>): { spec: { signals: Record<string, Record<string, unknown>> } } {
  return { spec: { signals: { [path]: signal } } };
}

function patchCommand(t: Target, patch: unknown, type: 'merge' | 'json' = 'merge'): string {
  return [t.kubectl, '--kubeconfig', t.kubeconfig, '-n', t.namespace, 'patch', 'fwf', t.name, '--type', type, '-p', JSON.stringify(patch)].map(shellQuote).join(' ');
}

/** A merge patch deletes every object member whose value is null, so such a signal must go as a JSON patch. */
function hasNullMember(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasNullMember);
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some((v) => v === null || hasNullMember(v));
}

/**
 * The patch that sets spec.signals[path]: the merge patch of the docs, or, when the signal holds a null
 * (a null value for an Optional gate), a JSON patch, which keeps it.
 */
async function decisionPatch(client: KubeClient, t: Target, path: string, signal: Record<string, unknown>): Promise<{ type: 'merge' | 'json'; body: unknown }> {
  if (!hasNullMember(signal)) return { type: 'merge', body: signalPatch(path, signal) };
  const wf = await client.request<FlyteWorkflow & { spec: { signals?: unknown } }>('GET', workflowPath(t.namespace, t.name));
  const pointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
  const body = wf.spec.signals ? [{ op: 'add', path: `/spec/signals/${pointer(path)}`, value: signal }] : [{ op: 'add', path: '/spec/signals', value: { [path]: signal } }];
  return { type: 'json', body };
}

function decisionSignal(d: Decision): Record<string, unknown> {
  if (d.kind === 'signal') return { value: d.value };
  return d.approved ? { approved: true } : { approved: false, reason: d.reason };
}

/** A value of the given type to show in the example command. */
function sampleValue(type: string): unknown {
  const t = type.replaceAll(' ', '');
  const inner = (prefix: string) => (t.startsWith(prefix) && t.endsWith(']') ? t.slice(prefix.length, -1) : undefined);
  const optional = inner('Optional[');
  if (optional !== undefined) return sampleValue(optional);
  const list = inner('list[');
  if (list !== undefined) return [sampleValue(list)];
  const dict = inner('dict[str,');
  if (dict !== undefined) return { key: sampleValue(dict) };
  const samples: Record<string, unknown> = { int: 1, float: 0.5, str: 'text', bool: true, datetime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), duration: '1m', dict: {} };
  return samples[t] ?? null;
}

// ─── Main ────────────────────────────────────────────────────────────────────

let interrupted = false;
/** Until the control plane is up, Ctrl-C exits at once (the next run reaps a half-started one); from then on it cleans up. */
let cleanUpOnInterrupt = false;

async function main(): Promise<number> {
  let opts: Options;
  let manifest: Manifest;
  let paths: Map<string, NodeSpec>;
  try {
    opts = parseOptions(process.argv.slice(2));
    manifest = /\.[cm]?ts$/.test(opts.file) ? await loadTypeScriptManifest(opts) : loadManifest(opts.file);
    paths = nodePaths(runSpec(manifest));
    checkDecisions(opts.decisions, paths);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`demo: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof FileError) {
      process.stderr.write(`demo: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let cp: ControlPlane | undefined;
  let propeller: ChildProcess | undefined;
  let client: KubeClient;
  let kubeconfig = opts.kubeconfig;
  let kubectl = 'kubectl';
  const namespace = `demo-${randomBytes(3).toString('hex')}`;
  const cleanups: (() => Promise<void>)[] = [];
  let created = false;
  try {
    if (!kubeconfig) {
      say('▸ Starting the local control plane (etcd, kube-apiserver, controller manager, scheduler, process node)…');
      cp = await startControlPlane({ processNode: true, kwokNodes: 0, log: (l) => say(`  ${l}`) });
      cleanups.push(() => cp!.stop());
      kubeconfig = cp.kubeconfigPath;
      client = cp.client;
      kubectl = cp.binaries['kubectl'] ?? kubectl;
    } else {
      client = await KubeClient.load(kubeconfig);
      cleanups.push(() => client.close());
    }
    cleanUpOnInterrupt = true;
    checkInterrupted();
    if (opts.propeller) {
      say('▸ Starting the propeller (its warnings and errors are shown)…');
      // argv, never a shell: nothing here passes through one.
      const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), '--kubeconfig', kubeconfig, '--namespaces', namespace, '--log-level', 'warn', '--server-port', '0'], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      propeller = child;
      const exited = new Promise((r) => child.once('exit', r));
      cleanups.unshift(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      });
    }
    await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: namespace, labels: { 'propeller.dev/demo': 'true' } } } });
    if (!opts.keep) cleanups.unshift(async () => void (await client.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {})));
    await waitForDefaultServiceAccount(client, namespace);
    checkInterrupted();

    say(`▸ Applying ${relative(userCwd, opts.file) || opts.file} in namespace ${namespace}`);
    for (const cm of manifest.configMaps ?? []) {
      await client.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, { body: cm });
      say(`  ConfigMap ${cm.metadata.name} created (the module's code)`);
    }
    for (const ref of manifest.references) {
      await client.request('POST', (ref.kind === 'LaunchPlan' ? launchPlansPath : definitionsPath)(namespace), { body: ref }).catch((err: unknown) => {
        const message = (err as { serverMessage?: string }).serverMessage ?? (err instanceof Error ? err.message : String(err));
        throw new Error(`the API server refused ${ref.kind} ${ref.metadata.name}: ${message}`);
      });
      say(`  ${ref.kind} ${ref.metadata.name} created`);
    }
    for (const lp of manifest.references.filter((r) => r.kind === 'LaunchPlan')) await reportLaunchPlan(client, namespace, lp.metadata.name);
    checkInterrupted();
    const applied = await client.request<FlyteWorkflow>('POST', workflowsPath(namespace), { body: manifest.workflow }).catch((err: unknown) => {
      const message = (err as { serverMessage?: string }).serverMessage ?? (err instanceof Error ? err.message : String(err));
      throw new Error(`the API server refused the workflow: ${message}`);
    });
    if (manifest.references.length) say(`  ${KIND} ${applied.metadata.name} created`);
    created = true;
    const target: Target = { kubectl, kubeconfig, namespace, name: applied.metadata.name };
    const final = await follow(client, target, paths, opts, propeller);
    say('');
    say(`Workflow ${final.phase}: ${final.message ?? ''}`);
    if (final.phase === 'Succeeded') {
      for (const [name, value] of Object.entries(final.outputs ?? {})) say(`${name} = ${JSON.stringify(value)}`);
      return 0;
    }
    if (final.error) say(`error: ${final.error.code}${final.error.node ? ` at node ${final.error.node}` : ''}: ${final.error.message}`);
    return 1;
  } catch (err) {
    if (err instanceof Interrupted) {
      say('\n▸ Interrupted');
      return 130;
    }
    throw err;
  } finally {
    if (opts.keep && created) {
      if (cp) say(`▸ Leaving namespace ${namespace} in place (--keep), but the control plane this demo started stops now: to inspect afterwards, start one with \`npm run cluster -- up\` and pass --kubeconfig`);
      else {
        const kinds = manifest.references.length ? 'fwd,flp,fwf,pods,fcache,events' : 'fwf,pods,fcache,events';
        say(`▸ Leaving namespace ${namespace} in place (--keep); inspect it with: ${[kubectl, '--kubeconfig', kubeconfig!, '-n', namespace, 'get', kinds].map(shellQuote).join(' ')}`);
      }
    }
    say('▸ Cleaning up');
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

function checkInterrupted(): void {
  if (interrupted) throw new Interrupted('interrupted');
}

/** Prints each node's progress as it changes, helps with gates, until the workflow is finished. */
async function follow(client: KubeClient, target: Target, paths: Map<string, NodeSpec>, opts: Options, propeller: ChildProcess | undefined): Promise<WorkflowStatus> {
  const width = Math.min(40, Math.max(15, ...[...paths.keys()].map((p) => p.length)));
  const seen = new Map<string, string>();
  const announced = new Set<string>();
  /** Gates the demo sent a decision to, with the time of the refusal they showed then (a refusal of an earlier signal). */
  const sent = new Map<string, string | undefined>();
  const refusals = new Set<string>();
  const started = Date.now();
  let budget = opts.timeoutMs;
  let last = Date.now();
  const feed = await WorkflowFeed.open(client, target.namespace, target.name);
  try {
    for (;;) {
      checkInterrupted();
      if (propeller && (propeller.exitCode !== null || propeller.signalCode !== null)) {
        throw new Error(`the propeller exited (${propeller.exitCode ?? propeller.signalCode}) before the workflow finished; its log is above`);
      }
      const wf = await feed.next(150);
      const status = wf.status ?? {};
      const t = `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
      if (status.phase && seen.get('') !== status.phase) {
        say(`${t}  ${'workflow'.padEnd(width)} ${status.phase}${status.phase === 'Failing' && status.message ? ` (${status.message})` : ''}`);
        seen.set('', status.phase);
      }
      let waitingForPerson = false;
      for (const [path, ns] of Object.entries(status.nodes ?? {})) {
        const gate = gateOf(paths.get(path));
        const line = describeNode(ns, gate !== undefined);
        if (seen.get(path) !== line) {
          say(`${t}  ${path.padEnd(width)} ${line}`);
          seen.set(path, line);
        }
        if (!gate || ns.phase !== 'Running') continue;
        const decision = opts.decisions.get(path);
        if (ns.gate?.decision === 'Refused') {
          const detail = ns.gate.detail ?? ns.message ?? '';
          if (decision && sent.has(path) && sent.get(path) !== ns.gate.at) throw new Error(`gate ${path} refused the demo's ${decision.kind === 'signal' ? `--signal ${path}=${decision.text}` : 'decision'}: ${detail}`);
          if (!refusals.has(`${path}\n${detail}`) && !decision) {
            refusals.add(`${path}\n${detail}`);
            say(`\n✗ Gate ${path} refused the signal (${detail}) and keeps waiting. Send another:\n\n   ${patchCommand(target, signalPatch(path, gate.kind === 'approve' ? { approved: true } : { value: sampleValue(gate.type) }))}\n`);
          }
        }
        if (decision) {
          if (!sent.has(path)) {
            sent.set(path, ns.gate?.decision === 'Refused' ? ns.gate.at : undefined);
            const patch = await decisionPatch(client, target, path, decisionSignal(decision));
            say(`\n▸ Gate ${path} reached; sending its decision, as: ${patchCommand(target, patch.body, patch.type)}\n`);
            await client.request('PATCH', workflowPath(target.namespace, target.name), { body: patch.body, contentType: patch.type === 'merge' ? MERGE_PATCH : JSON_PATCH });
          }
          continue;
        }
        waitingForPerson = true;
        if (!announced.has(path)) {
          announced.add(path);
          announceGate(target, path, gate);
        }
      }
      if (status.phase && TERMINAL_WORKFLOW_PHASES.has(status.phase)) {
        for (const path of opts.decisions.keys()) if (!sent.has(path)) say(`  (gate ${path} was never reached, so its decision was not sent)`);
        return status;
      }
      const now = Date.now();
      if (!waitingForPerson) budget -= now - last;
      last = now;
      if (budget <= 0) throw new Error(`the workflow did not finish within --timeout ${opts.timeoutMs / 1000}s (not counting time spent waiting at a gate)`);
    }
  } finally {
    feed.close();
  }
}

function describeNode(ns: NodeStatus, isWaitingGate: boolean): string {
  const parts: string[] = [ns.phase];
  if (ns.cache) parts.push(`[cache ${ns.cache}]`);
  if (ns.gate) parts.push(`[${ns.gate.decision}${ns.gate.detail ? `: ${ns.gate.detail}` : ''}]`);
  if (ns.outputs && Object.keys(ns.outputs).length) {
    const json = JSON.stringify(ns.outputs);
    parts.push(json.length > 300 ? `${json.slice(0, 297)}...` : json);
  }
  let message = ns.message;
  // A waiting gate's message ends with a kubectl command without --kubeconfig; the demo prints a complete one.
  if (message && isWaitingGate && ns.phase === 'Running') message = message.replace(/: kubectl .*$/s, '');
  if (message) parts.push(`(${message})`);
  if (ns.error && !(message ?? '').includes(ns.error.message)) parts.push(`[${ns.error.code}: ${ns.error.message}]`);
  return parts.join(' ');
}

function announceGate(target: Target, path: string, gate: GateOf): void {
  const bar = '━'.repeat(78);
  const lines = [''];
  lines.push(bar);
  if (gate.kind === 'approve') {
    lines.push(`⏸  Gate ${path} is waiting for an approval${gate.description ? `: ${gate.description}` : ''}.`);
    lines.push('   To approve it, run this from another terminal:');
    lines.push('');
    lines.push(`   ${patchCommand(target, signalPatch(path, { approved: true }))}`);
    lines.push('');
    lines.push('   To reject it instead (the workflow then fails):');
    lines.push('');
    lines.push(`   ${patchCommand(target, signalPatch(path, { approved: false, reason: 'not this time' }))}`);
  } else {
    const sample = sampleValue(gate.type);
    lines.push(`⏸  Gate ${path} is waiting for a value of type ${gate.type}${gate.description ? `: ${gate.description}` : ''}.`);
    lines.push(`   To send one, run this from another terminal (with your value instead of ${JSON.stringify(sample)}):`);
    lines.push('');
    lines.push(`   ${patchCommand(target, signalPatch(path, { value: sample }))}`);
  }
  lines.push('');
  lines.push(`   The demo keeps waiting until then${gate.timeout ? ` (the gate fails if nothing comes within its timeout, ${gate.timeout})` : ''}; Ctrl-C stops it and cleans up.`);
  lines.push(`   Next time, --${gate.kind === 'approve' ? `approve ${path}` : `signal ${path}=JSON`} sends it for you.`);
  lines.push(bar);
  lines.push('');
  say(lines.join('\n'));
}

/**
 * Says whether the propeller found a launch plan valid, and when it runs next if it has a schedule. Waits a
 * few seconds at most: an invalid launch plan also fails the workflow that launches it, with the reason.
 */
async function reportLaunchPlan(client: KubeClient, namespace: string, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const lp = await client.request<{ spec: { schedule?: unknown; active?: boolean }; status?: { valid?: boolean; message?: string; nextScheduledTime?: string } }>('GET', launchPlanPath(namespace, name)).catch(() => undefined);
    const status = lp?.status;
    if (status?.valid !== undefined) {
      const next = status.nextScheduledTime ? `; next scheduled run ${status.nextScheduledTime}` : '';
      say(`  LaunchPlan ${name}: ${status.message ?? (status.valid ? 'valid' : 'invalid')}${next}`);
      return;
    }
    checkInterrupted();
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForDefaultServiceAccount(client: KubeClient, namespace: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await client.request('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted || !cleanUpOnInterrupt) process.exit(130); // a second Ctrl-C: leave at once
    interrupted = true;
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

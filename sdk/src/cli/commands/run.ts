// propeller run [--remote] FILE WORKFLOW [--INPUT VALUE …]
import type { FlyteWorkflow, WorkflowStatus } from '../../../../src/api/flyteworkflow.ts';
import { workflowsPath } from '../../../../src/k8s/paths.ts';
import { closureOf, codeConfigMap, execution, registration, workflowSpec, PLACEHOLDER_CODE, type Resource } from '../../compile/index.ts';
import { EXIT, HELP_OPTIONS, KUBE_OPTIONS, OUTPUT_OPTIONS, PROJECT_OPTIONS, UsageError, ApiError, durationMs, keyValues, leadingPositionals, outputFormat, parse, type Options } from '../args.ts';
import { follow } from '../follow.ts';
import { COMMANDS } from '../help.ts';
import { checkGate } from '../gates.ts';
import { describeInputs, inputFlags, inputOptions, readInputs, readValue } from '../inputs.ts';
import { apiMessage, apply, connect, type Cluster } from '../kube.ts';
import { codeRef, findTarget, interfaceOf, isLaunchPlan, load, runnable, workflowOf, type Target } from '../module.ts';
import { err, formatOutputs, out } from '../output.ts';
import { TtyRenderer, gateHint, type Renderer } from '../render.ts';
import type { LoadedModule } from '../../bundle/bundle.ts';
import type { LaunchPlanDefinition } from '../../launch-plan.ts';
import type { WorkflowDefinition } from '../../workflow.ts';

const COMMAND = 'run';

export const RUN_OPTIONS = {
  ...HELP_OPTIONS,
  ...KUBE_OPTIONS,
  ...PROJECT_OPTIONS,
  ...OUTPUT_OPTIONS,
  remote: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  name: { type: 'string' },
  label: { type: 'string', short: 'l', multiple: true },
  timeout: { type: 'string' },
  approve: { type: 'string', multiple: true },
  reject: { type: 'string', multiple: true },
  signal: { type: 'string', multiple: true },
} as const satisfies Options;

/** The label that names the workflow an execution runs (list and get show it). */
export const WORKFLOW_LABEL = 'propeller.dev/workflow';

export async function run(args: readonly string[]): Promise<number> {
  const first = leadingPositionals(COMMAND, args, RUN_OPTIONS);
  const [file, name] = first.positionals;
  if (first.help && !file) {
    out(COMMANDS.run!.text);
    return EXIT.ok;
  }
  if (!file) throw new UsageError('missing FILE WORKFLOW', COMMAND);
  if (first.unknownBefore && !name) throw new UsageError(`put the workflow's inputs (${first.unknownBefore}) after FILE WORKFLOW`, COMMAND);
  const loaded = await load(COMMAND, file);
  if (!name) {
    if (first.help) {
      out(`${file}: ${runnable(loaded).join(', ') || 'no workflows or launch plans'}\n"propeller run ${file} WORKFLOW --help" lists a workflow's inputs.`);
      return EXIT.ok;
    }
    throw new UsageError(`missing WORKFLOW: ${file} has ${runnable(loaded).join(', ') || 'no workflows or launch plans (export them from the module)'}`, COMMAND);
  }
  const target = findTarget(COMMAND, file, loaded, name);
  const iface = interfaceOf(target);
  const flags = inputFlags(iface.inputs, iface.defaults, new Set(Object.keys(RUN_OPTIONS)));
  const parsed = parse(COMMAND, args, { ...RUN_OPTIONS, ...inputOptions(flags) });
  const v = parsed.values as Record<string, unknown> & typeof parsed.values;
  if (v.help) {
    out(targetHelp(file, target, flags, iface));
    return EXIT.ok;
  }
  if (parsed.positionals.length > 2) throw new UsageError(`unexpected argument "${parsed.positionals[2]}" (inputs are flags: --NAME VALUE)`, COMMAND);
  const inputs = readInputs(`${COMMAND} ${file} ${name}`, flags, v);
  const output = outputFormat(COMMAND, v.output, ['json', 'yaml', 'name'] as const);
  const signals = readSignals(target, v.approve, v.reject, v.signal);
  if (!v.remote) {
    for (const flag of ['no-wait', 'name', 'label', 'timeout', 'namespace', 'context', 'kubeconfig', 'project', 'domain'] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag} applies to remote runs: add --remote`, COMMAND);
    }
    if (output === 'name') throw new UsageError('-o name applies to remote runs (the execution\'s name)', COMMAND);
    return runLocally(target, inputs, signals, output);
  }
  if (Object.keys(signals).length) throw new UsageError('--approve, --reject and --signal decide gates of local runs; on a cluster use propeller approve, reject or signal once the execution is created', COMMAND);
  const cluster = await connect(COMMAND, v);
  try {
    return await runRemotely(cluster, loaded, target, inputs, {
      wait: !v['no-wait'],
      ...(output ? { output } : {}),
      ...(v.name !== undefined ? { name: v.name } : {}),
      labels: keyValues(COMMAND, '--label', v.label),
      ...(v.timeout !== undefined ? { timeoutMs: durationMs(COMMAND, '--timeout', v.timeout)! } : {}),
      showNamespace: v.namespace !== undefined || v.project !== undefined,
    });
  } finally {
    await cluster.close();
  }
}

/** `run FILE WORKFLOW --help`: the workflow's description, inputs with types and defaults, outputs. */
export function targetHelp(file: string, target: Target, flags: ReturnType<typeof inputFlags>, iface: ReturnType<typeof interfaceOf>, command = 'run'): string {
  const kind = isLaunchPlan(target) ? `launch plan ${target.resolvedName()} (workflow ${target.workflow.resolvedName()})` : `workflow ${target.resolvedName()}`;
  const lines = [`Usage: propeller ${command} ${file} ${target.resolvedName()}${flags.map((f) => (f.required ? ` --${f.flag} ${f.type.toUpperCase().replace(/[^A-Z]+/g, '_').replace(/_+$/, '')}` : '')).join('')} [flags]`, '', kind];
  if (iface.description) lines.push('', ...iface.description.split('\n').map((l) => `  ${l}`.trimEnd()));
  lines.push('', 'Inputs:');
  const described = describeInputs(flags, iface.fixed);
  lines.push(...(described.length ? described : ['  (none)']));
  const outputs = Object.entries(iface.outputs);
  lines.push('', 'Outputs:', ...(outputs.length ? outputs.map(([n, t]) => `  ${n}  ${t}`) : ['  (none)']));
  lines.push('', 'str, datetime and duration values are taken as typed; other types are JSON. "propeller run --help" lists the other flags.');
  return lines.join('\n');
}

type Signal = { approved?: boolean; reason?: string; value?: unknown };

/** --approve NODE, --reject NODE[=REASON], --signal NODE=VALUE: spec.signals for a local run. */
export function readSignals(target: Target, approve: readonly string[] | undefined, reject: readonly string[] | undefined, signal: readonly string[] | undefined): Record<string, Signal> {
  const out: Record<string, Signal> = {};
  const set = (path: string, s: Signal, flag: string) => {
    if (!path) throw new UsageError(`${flag} needs a node path`, COMMAND);
    if (Object.hasOwn(out, path)) throw new UsageError(`${flag} ${path}: node ${path} was decided twice`, COMMAND);
    out[path] = s;
  };
  let spec: Parameters<typeof checkGate>[1];
  const specOf = () => (spec ??= workflowSpec(workflowOf(target), PLACEHOLDER_CODE) as Parameters<typeof checkGate>[1]);
  for (const path of approve ?? []) {
    checkGate(COMMAND, specOf(), `workflow ${workflowOf(target).resolvedName()}`, path, 'approve');
    set(path, { approved: true }, '--approve');
  }
  for (const item of reject ?? []) {
    const at = item.indexOf('=');
    const path = at < 0 ? item : item.slice(0, at);
    checkGate(COMMAND, specOf(), `workflow ${workflowOf(target).resolvedName()}`, path, 'approve');
    set(path, { approved: false, ...(at >= 0 ? { reason: item.slice(at + 1) } : {}) }, '--reject');
  }
  for (const item of signal ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`--signal takes NODE=VALUE; got "${item}"`, COMMAND);
    const path = item.slice(0, at);
    const { type } = checkGate(COMMAND, specOf(), `workflow ${workflowOf(target).resolvedName()}`, path, 'signal');
    set(path, { value: signalValue(COMMAND, `--signal ${path}`, type, item.slice(at + 1)) }, '--signal');
  }
  return out;
}

/** A signal's value: text for str-like gates, JSON otherwise, type-checked when the type is known. */
export function signalValue(command: string, label: string, type: string | undefined, text: string): unknown {
  if (type) return readValue(command, { flag: label, type, raw: /^(Optional\[)?(str|datetime|duration)\]?$/.test(type) }, text, label);
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${label}: ${JSON.stringify(text)} is not JSON (a text value is written '"text"')`, command);
  }
}

// ─── Locally ─────────────────────────────────────────────────────────────────

type RunLocal = (target: Target, inputs: Record<string, unknown>, options?: { signals?: Record<string, Signal>; onStatus?: (status: WorkflowStatus) => void }) => Promise<{ phase: string; outputs?: Record<string, unknown>; status: WorkflowStatus; message?: string }>;

async function localRunner(): Promise<RunLocal> {
  try {
    const mod = (await import('../../local/run-local.ts')) as { runLocal?: RunLocal };
    if (typeof mod.runLocal !== 'function') throw new Error('sdk/src/local/run-local.ts exports no runLocal');
    return mod.runLocal;
  } catch (err) {
    throw new ApiError(`local runs are not available in this build of the SDK (${err instanceof Error ? err.message : String(err)}); run on a cluster with --remote`);
  }
}

async function runLocally(target: Target, inputs: Record<string, unknown>, signals: Record<string, Signal>, output: 'json' | 'yaml' | undefined): Promise<number> {
  const runLocal = await localRunner();
  const name = workflowOf(target).resolvedName();
  const spec = workflowSpec(workflowOf(target), PLACEHOLDER_CODE);
  const renderer: Renderer | undefined = process.stderr.isTTY ? new TtyRenderer(process.stderr, { hints: 'local', color: process.stderr.hasColors?.() ?? false }) : undefined;
  let result: Awaited<ReturnType<RunLocal>>;
  try {
    result = await runLocal(target, inputs, {
      ...(Object.keys(signals).length ? { signals } : {}),
      ...(renderer ? { onStatus: (status: WorkflowStatus) => renderer.update({ name, status, spec }) } : {}),
    });
  } catch (e) {
    renderer?.finish();
    const error = e as Error;
    if (error?.name === 'LocalRunStuck') {
      // Its lines name the kubectl patch a cluster would take; locally the flags decide.
      err(error.message.replace(/^ {2}([^:\n]+): (waiting for .*)$/gm, (line, path: string, message: string) => `  ${path}: ${gateHint(message, path, { name }, 'local')}`));
      return EXIT.failed;
    }
    throw e;
  }
  renderer?.finish();
  if (result.phase === 'Succeeded') {
    const text = formatOutputs(result.outputs, output);
    if (text) out(text);
    return EXIT.ok;
  }
  const e = result.status.error;
  err(`${name} ${result.phase}: ${e ? `${e.code}: ${e.message}` : (result.message ?? '')}`.trimEnd());
  return EXIT.failed;
}

// ─── On the cluster ──────────────────────────────────────────────────────────

export interface RemoteOptions {
  wait: boolean;
  output?: 'json' | 'yaml' | 'name';
  name?: string;
  labels: Record<string, string>;
  timeoutMs?: number;
  showNamespace: boolean;
}

/** Every definition's workflow spec asks for shipped code when one of its tasks has `code`. */
const needsShippedCode = (specs: readonly unknown[]): boolean =>
  specs.some((s) => Object.values((s as { tasks?: Record<string, { code?: unknown }> }).tasks ?? {}).some((t) => t.code !== undefined));

async function runRemotely(cluster: Cluster, loaded: LoadedModule, target: Target, inputs: Record<string, unknown>, options: RemoteOptions): Promise<number> {
  const ns = cluster.namespace;
  const code = codeRef(loaded.bundle.hash);
  const wf = workflowOf(target);
  const lp = isLaunchPlan(target) ? target : undefined;
  // A launch plan runs inline here, with its defaults and fixed inputs and settings: registering it would move
  // the cluster's launch plan (and its schedule) to this code.
  const runInputs = lp ? { ...lp.defaults, ...inputs, ...(lp.options.fixedInputs ?? {}) } : inputs;
  const labels = { ...(lp?.options.labels ?? {}), ...cluster.labels, ...options.labels, [WORKFLOW_LABEL]: resourceLabel(wf.resolvedName()) };
  const fwf = execution(wf, code, { namespace: ns, labels, inputs: runInputs, ...(options.name !== undefined ? { name: options.name } : {}) }) as Resource & { spec: Record<string, unknown> };
  if (lp) {
    const o = lp.options;
    for (const key of ['maxParallelism', 'serviceAccountName', 'overwriteCache'] as const) if (o[key] !== undefined) fwf.spec[key] = o[key];
  }
  // What the workflow's launch-plan nodes start must be registered: definitions and launch plans at the code's version.
  const reached = launchPlansReached(wf);
  const needed = new Set(reached.map((l) => l.resourceName()));
  // Not the default launch plans registration adds for each workflow: only what the nodes start.
  const registered = reached.length ? registration([], reached, code.hash.slice(0, 12), code, ns).filter((r) => r.kind !== 'LaunchPlan' || needed.has(r.metadata.name!)) : [];
  const specs = [fwf.spec, ...registered.filter((r) => r.kind === 'WorkflowDefinition').map((r) => (r.spec as { workflow: unknown }).workflow)];
  // Built first: a bundle too large for a ConfigMap is the file's problem (exit 2), not the cluster's.
  const configMap = needsShippedCode(specs) ? codeConfigMap(loaded.bundle.code, code, ns) : undefined;
  try {
    if (configMap) await apply(cluster.client, ns, configMap as never);
    for (const r of registered) await apply(cluster.client, ns, r as never);
  } catch (e) {
    throw new ApiError(`shipping the code to namespace ${ns}: ${apiMessage(e)}`);
  }
  let created: FlyteWorkflow;
  try {
    created = await cluster.client.request<FlyteWorkflow>('POST', workflowsPath(ns), { body: fwf });
  } catch (e) {
    throw new ApiError(`creating the execution in namespace ${ns}: ${apiMessage(e)}`);
  }
  return follow(cluster, created, {
    wait: options.wait,
    ...(options.output ? { output: options.output } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    showNamespace: options.showNamespace,
  });
}

/** The launch plans a workflow's launch-plan nodes start, and theirs, and so on. */
export function launchPlansReached(wf: WorkflowDefinition): LaunchPlanDefinition[] {
  const found = new Map<string, LaunchPlanDefinition>();
  const pending = [wf];
  const seen = new Set<WorkflowDefinition>();
  for (let w = pending.pop(); w; w = pending.pop()) {
    if (seen.has(w)) continue;
    seen.add(w);
    for (const [name, lp] of closureOf(w).launchPlans) {
      if (!found.has(name)) found.set(name, lp);
      pending.push(lp.workflow);
    }
  }
  return [...found.values()];
}

/** A label value for a name (label values: 63 characters of letters, digits, -, _ and .). */
export function resourceLabel(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

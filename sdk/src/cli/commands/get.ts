// propeller get EXECUTION   ·   propeller list   ·   propeller watch EXECUTION
import type { FlyteWorkflow } from '../../../../src/api/flyteworkflow.ts';
import { workflowsPath } from '../../../../src/k8s/paths.ts';
import { EXIT, HELP_OPTIONS, KUBE_OPTIONS, OUTPUT_OPTIONS, PROJECT_OPTIONS, ApiError, UsageError, durationMs, outputFormat, parse, positionals, type Options } from '../args.ts';
import { follow } from '../follow.ts';
import { COMMANDS } from '../help.ts';
import { apiMessage, connect } from '../kube.ts';
import { formatObject, out } from '../output.ts';
import { NodeOrder, age, elapsed, layout, nodeRows, paint, phaseStyle, specOfExecution, type Cell } from '../render.ts';
import { getExecution } from '../watch.ts';
import { WORKFLOW_LABEL } from './run.ts';

const useColor = () => Boolean(process.stdout.isTTY && process.stdout.hasColors?.());

/** What an execution runs: the definition it resolved, the one it names, the CLI's label, or its launch plan. */
export function workflowOf(wf: FlyteWorkflow): string {
  const label = wf.metadata.labels?.[WORKFLOW_LABEL];
  const spec = (wf.spec ?? {}) as { definition?: { name: string; version: string }; launchPlan?: string };
  if (wf.status?.resolved?.definition) return wf.status.resolved.definition;
  if (spec.definition) return `${spec.definition.name}.${spec.definition.version}`;
  if (label) return label;
  if (spec.launchPlan) return `launchplan/${spec.launchPlan}`;
  return '-';
}

// ─── get ─────────────────────────────────────────────────────────────────────

const GET_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS, ...OUTPUT_OPTIONS } as const satisfies Options;

export async function get(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('get', args, GET_OPTIONS);
  if (v.help) {
    out(COMMANDS.get!.text);
    return EXIT.ok;
  }
  const [name] = positionals('get', p, ['EXECUTION']);
  const output = outputFormat('get', v.output, ['json', 'yaml', 'name'] as const);
  const cluster = await connect('get', v);
  try {
    const wf = await getExecution(cluster.client, cluster.namespace, name!);
    if (output === 'name') out(wf.metadata.name);
    else if (output) out(formatObject(wf, output));
    else out(describe(wf, Date.now(), useColor()));
    return EXIT.ok;
  } finally {
    await cluster.close();
  }
}

/** `propeller get`'s text: the execution's fields, its outputs or error, and its node table. */
export function describe(wf: FlyteWorkflow, now: number, color = false): string {
  const s = wf.status ?? {};
  const phase = s.phase ?? 'Pending';
  const started = s.startedAt ? `${s.startedAt} (${age(now - Date.parse(s.startedAt))} ago)` : '-';
  const fields: [string, Cell[]][] = [
    ['Name', [{ text: wf.metadata.name }]],
    ['Namespace', [{ text: wf.metadata.namespace }]],
    ['Workflow', [{ text: workflowOf(wf) }]],
    ['Phase', [{ text: phase, ...(phaseStyle(phase) ? { style: phaseStyle(phase)! } : {}) }]],
    ['Progress', [{ text: s.progress ?? '-' }]],
    ['Started', [{ text: started }]],
    ['Duration', [{ text: elapsed(s.startedAt, s.finishedAt, now) || '-' }]],
  ];
  if (s.message) fields.push(['Message', [{ text: s.message }]]);
  if (s.error) fields.push(['Error', [{ text: `${s.error.kind} ${s.error.code}${s.error.node ? ` (node ${s.error.node})` : ''}: ${s.error.message}`, style: 'red' }]]);
  const lines = fields.map(([k, cells]) => paint([{ text: `${k}:`.padEnd(11) }, ...cells], color));
  if (s.outputs) {
    lines.push('Outputs:');
    for (const [k, value] of Object.entries(s.outputs)) lines.push(`  ${k}: ${JSON.stringify(value)}`);
  }
  const nodes = s.nodes ?? {};
  const paths = new NodeOrder().update(nodes, specOfExecution(wf.spec, wf.status));
  if (paths.length) {
    lines.push('');
    const snapshot = { name: wf.metadata.name, namespace: wf.metadata.namespace, status: s };
    lines.push(...nodeRows(paths.map((path) => ({ path, node: nodes[path]! })), snapshot, now, { hints: 'remote' }).map((cells) => paint(cells, color)));
  }
  return lines.join('\n');
}

// ─── list ────────────────────────────────────────────────────────────────────

const LIST_OPTIONS = {
  ...HELP_OPTIONS,
  ...KUBE_OPTIONS,
  ...PROJECT_OPTIONS,
  ...OUTPUT_OPTIONS,
  selector: { type: 'string', short: 'l' },
  phase: { type: 'string' },
  'all-namespaces': { type: 'boolean', short: 'A' },
} as const satisfies Options;

const PHASES = ['Pending', 'Running', 'Failing', 'Succeeded', 'Failed', 'Aborting', 'Aborted'];

export async function list(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('list', args, LIST_OPTIONS);
  if (v.help) {
    out(COMMANDS.list!.text);
    return EXIT.ok;
  }
  positionals('list', p, []);
  const output = outputFormat('list', v.output, ['json', 'yaml', 'name'] as const);
  const phases = v.phase?.split(',').map((x) => x.trim()).filter(Boolean);
  for (const ph of phases ?? []) {
    if (!PHASES.includes(ph)) throw new UsageError(`--phase: "${ph}" is not a phase (${PHASES.join(', ')})`, 'list');
  }
  const all = Boolean(v['all-namespaces']);
  const cluster = await connect('list', v);
  try {
    let items: FlyteWorkflow[];
    try {
      ({ items } = await cluster.client.request<{ items: FlyteWorkflow[] }>('GET', workflowsPath(all ? undefined : cluster.namespace), { query: { labelSelector: v.selector } }));
    } catch (e) {
      throw new ApiError(apiMessage(e));
    }
    const shown = sortNewestFirst(items.filter((wf) => !phases || phases.includes(wf.status?.phase ?? 'Pending')));
    if (output === 'name') {
      for (const wf of shown) out(wf.metadata.name);
    } else if (output) out(formatObject({ apiVersion: 'v1', kind: 'List', items: shown }, output));
    else if (!shown.length) process.stderr.write(`No executions found${all ? '' : ` in namespace ${cluster.namespace}`}.\n`);
    else out(listTable(shown, Date.now(), all, useColor()));
    return EXIT.ok;
  } finally {
    await cluster.close();
  }
}

export function sortNewestFirst(items: readonly FlyteWorkflow[]): FlyteWorkflow[] {
  const t = (wf: FlyteWorkflow) => Date.parse(wf.metadata.creationTimestamp ?? '') || 0;
  return [...items].sort((a, b) => t(b) - t(a) || b.metadata.name.localeCompare(a.metadata.name));
}

/** NAME, WORKFLOW, PHASE, PROGRESS, AGE (and NAMESPACE first with -A). */
export function listTable(items: readonly FlyteWorkflow[], now: number, allNamespaces = false, color = false): string {
  const header = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'WORKFLOW', 'PHASE', 'PROGRESS', 'AGE'].map((text): Cell => ({ text }));
  const rows = items.map((wf): Cell[] => {
    const phase = wf.status?.phase ?? 'Pending';
    return [
      ...(allNamespaces ? [{ text: wf.metadata.namespace }] : []),
      { text: wf.metadata.name },
      { text: workflowOf(wf) },
      { text: phase, ...(phaseStyle(phase) ? { style: phaseStyle(phase)! } : {}) },
      { text: wf.status?.progress ?? '-' },
      { text: wf.metadata.creationTimestamp ? age(now - Date.parse(wf.metadata.creationTimestamp)) : '-' },
    ];
  });
  return layout([header, ...rows]).map((cells) => paint(cells, color)).join('\n');
}

// ─── watch ───────────────────────────────────────────────────────────────────

const WATCH_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS, ...OUTPUT_OPTIONS, timeout: { type: 'string' } } as const satisfies Options;

export async function watch(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('watch', args, WATCH_OPTIONS);
  if (v.help) {
    out(COMMANDS.watch!.text);
    return EXIT.ok;
  }
  const [name] = positionals('watch', p, ['EXECUTION']);
  const output = outputFormat('watch', v.output, ['json', 'yaml', 'name'] as const);
  const timeoutMs = durationMs('watch', '--timeout', v.timeout);
  const cluster = await connect('watch', v);
  try {
    const wf = await getExecution(cluster.client, cluster.namespace, name!);
    return await follow(cluster, wf, { wait: true, ...(output ? { output } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}), showNamespace: v.namespace !== undefined });
  } finally {
    await cluster.close();
  }
}

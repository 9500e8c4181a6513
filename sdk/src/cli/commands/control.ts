// propeller abort · approve · reject · signal: patches of an execution's spec, as docs/flyteworkflow.md
// describes them (spec.abort; spec.signals[NODE] by JSON merge patch, or JSON patch for a null value).
import type { FlyteWorkflow } from '../../../../src/api/flyteworkflow.ts';
import { workflowPath } from '../../../../src/k8s/paths.ts';
import { JSON_PATCH, MERGE_PATCH } from '../../../../src/k8s/rest.ts';
import { EXIT, HELP_OPTIONS, KUBE_OPTIONS, PROJECT_OPTIONS, ApiError, ExitError, UsageError, parse, positionals, type Options } from '../args.ts';
import { follow } from '../follow.ts';
import { checkGate } from '../gates.ts';
import { COMMANDS } from '../help.ts';
import { apiMessage, connect, type Cluster } from '../kube.ts';
import { err, out } from '../output.ts';
import { getExecution, isFinished } from '../watch.ts';
import { signalValue } from './run.ts';

async function patch(cluster: Cluster, name: string, body: unknown, contentType: string): Promise<FlyteWorkflow> {
  try {
    return await cluster.client.request<FlyteWorkflow>('PATCH', workflowPath(cluster.namespace, name), { body, contentType });
  } catch (e) {
    throw new ApiError(`patching ${name}: ${apiMessage(e)}`);
  }
}

/** The spec a gate path is looked up in: inline, or the workflow an execution by reference resolved. */
function specOf(wf: FlyteWorkflow): Parameters<typeof checkGate>[1] {
  const spec = wf.spec as { nodes?: unknown } | undefined;
  if (spec?.nodes) return spec as Parameters<typeof checkGate>[1];
  return wf.status?.resolved?.workflow as Parameters<typeof checkGate>[1];
}

// ─── abort ───────────────────────────────────────────────────────────────────

const ABORT_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS, wait: { type: 'boolean' } } as const satisfies Options;

export async function abort(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('abort', args, ABORT_OPTIONS);
  if (v.help) {
    out(COMMANDS.abort!.text);
    return EXIT.ok;
  }
  const [name] = positionals('abort', p, ['EXECUTION']);
  const cluster = await connect('abort', v);
  try {
    const wf = await getExecution(cluster.client, cluster.namespace, name!);
    if (isFinished(wf)) {
      err(`${name} already finished (${wf.status?.phase}): nothing to abort`);
      return EXIT.ok;
    }
    const patched = await patch(cluster, name!, { spec: { abort: true } }, MERGE_PATCH);
    err(`${name} aborting`);
    if (!v.wait) return EXIT.ok;
    const code = await follow(cluster, patched, { wait: true, showNamespace: v.namespace !== undefined });
    return code === EXIT.failed ? EXIT.ok : code; // Aborted is what was asked for
  } finally {
    await cluster.close();
  }
}

// ─── approve, reject ─────────────────────────────────────────────────────────

const DECIDE_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS, reason: { type: 'string' } } as const satisfies Options;

export const approve = (args: readonly string[]) => decide('approve', args);
export const reject = (args: readonly string[]) => decide('reject', args);

async function decide(command: 'approve' | 'reject', args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse(command, args, DECIDE_OPTIONS);
  if (v.help) {
    out(COMMANDS[command]!.text);
    return EXIT.ok;
  }
  const [name, node] = positionals(command, p, ['EXECUTION', 'NODE']);
  if (command === 'reject' && !v.reason) throw new UsageError('--reason is required: say why it is rejected', command);
  const cluster = await connect(command, v);
  try {
    const wf = await getExecution(cluster.client, cluster.namespace, name!);
    checkGate(command, specOf(wf), name!, node!, 'approve');
    if (isFinished(wf)) throw new ExitError(EXIT.failed, `${name} already finished (${wf.status?.phase}): no gate waits for a decision`);
    const signal = { approved: command === 'approve', ...(v.reason !== undefined ? { reason: v.reason } : {}) };
    await patch(cluster, name!, { spec: { signals: { [node!]: signal } } }, MERGE_PATCH);
    err(`${command === 'approve' ? 'approved' : 'rejected'} ${node} of ${name}`);
    return EXIT.ok;
  } finally {
    await cluster.close();
  }
}

// ─── signal ──────────────────────────────────────────────────────────────────

const SIGNAL_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS } as const satisfies Options;

/** A JSON pointer segment: ~ and / escaped. */
const pointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

export async function signal(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('signal', args, SIGNAL_OPTIONS);
  if (v.help) {
    out(COMMANDS.signal!.text);
    return EXIT.ok;
  }
  const [name, node, text] = positionals('signal', p, ['EXECUTION', 'NODE', 'VALUE']);
  const cluster = await connect('signal', v);
  try {
    const wf = await getExecution(cluster.client, cluster.namespace, name!);
    const { type } = checkGate('signal', specOf(wf), name!, node!, 'signal');
    const value = signalValue('signal', 'VALUE', type, text!);
    if (isFinished(wf)) throw new ExitError(EXIT.failed, `${name} already finished (${wf.status?.phase}): no gate waits for a value`);
    if (value === null) {
      // A merge patch cannot carry a null (it means "delete"): a JSON patch adds it.
      const signals = (wf.spec as { signals?: Record<string, unknown> }).signals;
      const ops = signals ? [{ op: 'add', path: `/spec/signals/${pointer(node!)}`, value: { value: null } }] : [{ op: 'add', path: '/spec/signals', value: { [node!]: { value: null } } }];
      await patch(cluster, name!, ops, JSON_PATCH);
    } else await patch(cluster, name!, { spec: { signals: { [node!]: { value } } } }, MERGE_PATCH);
    err(`sent ${JSON.stringify(value)} to ${node} of ${name}`);
    return EXIT.ok;
  } finally {
    await cluster.close();
  }
}

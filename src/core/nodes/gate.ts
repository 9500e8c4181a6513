import type { SignalSpec } from '../../api/flyteworkflow.ts';
import { Codes } from '../../error-codes.ts';
import { sourceType } from '../bindings.ts';
import type { CompiledGateNode, GateKind } from '../compiled.ts';
import { quote } from '../quote.ts';
import { describeValue, formatDuration, formatMismatch, formatType, parseDuration, parseType, checkValue, type FlyteType } from '../types/index.ts';
import type { NodeCompileInput, NodeCompiler, NodeContext, NodeHandler } from './handler.ts';

/** The output of a signal gate. */
export const SIGNAL_OUTPUT = 'value';

export function compileGateNode(c: NodeCompiler, input: NodeCompileInput): CompiledGateNode | undefined {
  const { spec, where } = input;
  const gate = spec.gate!;
  const inputTypes = new Map<string, FlyteType>();
  let kind: GateKind | undefined;
  if (gate.sleep !== undefined) {
    const ms = parseDuration(gate.sleep);
    if (ms === undefined) c.errors.push(`${where}: gate.sleep: ${quote(gate.sleep)} is not a duration such as 90s or 1h30m`);
    else kind = { kind: 'sleep', ms };
  } else if (gate.signal !== undefined) {
    const parsed = parseType(gate.signal.type);
    if (!parsed.ok) c.errors.push(`${where}: gate.signal.type: ${parsed.error}`);
    else kind = { kind: 'signal', type: parsed.type, ...(gate.signal.description ? { description: gate.signal.description } : {}) };
  } else {
    kind = { kind: 'approve', ...(gate.approve?.description ? { description: gate.approve.description } : {}) };
  }
  const bound = Object.entries(spec.inputs ?? {});
  if (kind && kind.kind !== 'approve' && bound.length) {
    c.errors.push(`${where}: inputs: a ${kind.kind} gate takes no inputs (an approve gate passes its inputs through)`);
  }
  if (kind?.kind === 'approve') {
    for (const [name, binding] of bound) {
      const source = sourceType(binding, input.bindings);
      if (typeof source === 'string') c.errors.push(`${where}: input ${quote(name)}: ${source}`);
      else {
        inputTypes.set(name, source.type);
        if (source.upstream) input.upstream.add(source.upstream);
      }
    }
  }
  if (!kind) return undefined;
  const outputTypes = kind.kind === 'approve' ? inputTypes : kind.kind === 'signal' ? new Map([[SIGNAL_OUTPUT, kind.type]]) : new Map<string, FlyteType>();
  return { kind: 'gate', id: input.id, gate: kind, inputs: spec.inputs ?? {}, inputTypes, outputTypes, upstream: [], downstream: [], retries: 0, timeoutMs: input.timeoutMs };
}

/**
 * A gate waits: for a time (sleep), for spec.signals.PATH {approved} (approve), or for
 * spec.signals.PATH {value} of its type (signal). A signal may arrive before the gate is reached; it is
 * read once the gate starts. A value that does not fit is refused, said so once, and the gate keeps waiting.
 */
export const gateHandler: NodeHandler<CompiledGateNode> = {
  kind: 'gate',

  start(ctx) {
    ctx.set({ phase: 'Running', startedAt: ctx.round.nowIso, readyAt: undefined, message: undefined });
    gateHandler.observe(ctx);
    return 'started';
  },

  observe(ctx) {
    const { round, node } = ctx;
    const status = ctx.status();
    if (status.phase !== 'Running') return;
    const started = Date.parse(status.startedAt ?? '') || round.now;
    const gate = node.gate;
    if (gate.kind === 'sleep') {
      const until = started + gate.ms;
      if (round.now >= until) return ctx.succeed({});
      ctx.set({ message: `sleeping until ${new Date(until).toISOString()}` });
      round.wake(until);
    } else {
      const malformed = round.cw.refusedSignals[ctx.path];
      const signal = round.signals[ctx.path];
      if (malformed !== undefined) refuse(ctx, malformed);
      else if (signal !== undefined && decide(ctx, gate, signal)) return;
      // A refused signal that was taken back leaves the gate simply waiting again.
      if (signal === undefined && malformed === undefined && ctx.status().gate?.decision === 'Refused') ctx.set({ gate: undefined });
      if (ctx.status().gate?.decision !== 'Refused') ctx.set({ message: waitingMessage(ctx, gate) });
    }
    if (node.timeoutMs !== undefined) {
      const deadline = started + node.timeoutMs;
      if (round.now >= deadline) {
        ctx.fail({ kind: 'User', code: Codes.GateTimedOut, message: `the gate waited longer than its timeout of ${formatDuration(node.timeoutMs)}` });
      } else {
        round.wake(deadline);
      }
    }
  },
};

/** Applies a signal; true when the gate is done (passed or failed). */
function decide(ctx: NodeContext<CompiledGateNode>, gate: Exclude<GateKind, { kind: 'sleep' }>, signal: SignalSpec): boolean {
  const { round } = ctx;
  const reason = signal.reason ? `: ${signal.reason}` : '';
  if (gate.kind === 'approve') {
    if (signal.approved === undefined) return refuse(ctx, `this gate waits for an approval, {approved: true} or {approved: false, reason: "..."}${signal.value !== undefined ? ', not a value' : ''}`);
    if (signal.approved) {
      ctx.succeed(ctx.inputs(), { gate: { decision: 'Approved', at: round.nowIso, ...(signal.reason ? { detail: signal.reason } : {}) }, message: `approved${reason}` });
      round.event('Normal', 'GateApproved', `approved${reason}`, ctx.path);
      return true;
    }
    ctx.set({ gate: { decision: 'Rejected', at: round.nowIso, ...(signal.reason ? { detail: signal.reason } : {}) } });
    round.event('Warning', 'GateRejected', `rejected${reason || ' (no reason given)'}`, ctx.path);
    ctx.fail({ kind: 'User', code: Codes.GateRejected, message: `rejected${reason || ' (no reason given)'}` });
    return true;
  }
  if (signal.approved !== undefined) return refuse(ctx, `this gate waits for a value of type ${formatType(gate.type)} in {value: ...}, not an approval`);
  if (signal.value === undefined) {
    // A merge patch cannot write a null: it deletes the field. Say how to send one.
    const nullHint = gate.type.kind === 'optional' ? `; to send null, use a JSON patch: --type json -p '[{"op":"add","path":"/spec/signals/${ctx.path.replaceAll('~', '~0').replaceAll('/', '~1')}","value":{"value":null}}]'` : '';
    return refuse(ctx, `the signal has no value; send {value: ...} of type ${formatType(gate.type)}${nullHint}`);
  }
  const mismatch = checkValue(gate.type, signal.value);
  if (mismatch) return refuse(ctx, `the value does not fit: ${formatMismatch(mismatch)}`);
  ctx.succeed({ [SIGNAL_OUTPUT]: signal.value }, { gate: { decision: 'Received', at: round.nowIso }, message: `received ${describeValue(signal.value)}` });
  round.event('Normal', 'SignalReceived', `received ${describeValue(signal.value)}`, ctx.path);
  return true;
}

/** Records a refused signal; the event goes out once per distinct refusal, however many rounds see it. */
function refuse(ctx: NodeContext<CompiledGateNode>, why: string): boolean {
  const { round } = ctx;
  const detail = why;
  const previous = ctx.status().gate;
  if (previous?.decision === 'Refused' && previous.detail === detail) return false;
  ctx.set({ gate: { decision: 'Refused', at: round.nowIso, detail }, message: `signal refused: ${why}; still waiting (patch spec.signals again)` });
  round.event('Warning', 'SignalRefused', `signal refused: ${why}`, ctx.path);
  return false;
}

function waitingMessage(ctx: NodeContext<CompiledGateNode>, gate: Exclude<GateKind, { kind: 'sleep' }>): string {
  const wf = ctx.round.input.workflow;
  const payload = gate.kind === 'approve' ? '{"approved":true}' : `{"value":...}`;
  const what = gate.kind === 'approve' ? `approval${gate.description ? ` (${gate.description})` : ''}` : `a value of type ${formatType(gate.type)}${gate.description ? ` (${gate.description})` : ''}`;
  return `waiting for ${what}: kubectl -n ${wf.namespace} patch fwf ${wf.name} --type merge -p '{"spec":{"signals":{${JSON.stringify(ctx.path)}:${payload}}}}'`;
}

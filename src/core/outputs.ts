import { checkValue, formatMismatch, type FlyteType } from './types/index.ts';
import { Codes, type ErrorCode } from '../error-codes.ts';
import { quote } from './quote.ts';

/** The kubelet keeps at most this many bytes of a termination message, and so of the outputs file. */
export const OUTPUTS_LIMIT_BYTES = 4096;

export type OutputsResult = { ok: true; outputs: Record<string, unknown> } | { ok: false; code: ErrorCode; message: string };

/**
 * Reads the JSON object a task wrote to FLYTE_OUTPUTS_FILE (delivered as the container's termination
 * message) and checks it against the task's declared outputs.
 */
export function parseOutputs(text: string | undefined, types: ReadonlyMap<string, FlyteType>): OutputsResult {
  const body = text?.trim() ?? '';
  if (!body) {
    if (types.size === 0) return { ok: true, outputs: {} };
    const required = [...types].filter(([, t]) => t.kind !== 'optional').map(([n]) => n);
    if (required.length === 0) return { ok: true, outputs: Object.fromEntries([...types.keys()].map((n) => [n, null])) };
    return { ok: false, code: Codes.OutputsMissing, message: `the task wrote no outputs to FLYTE_OUTPUTS_FILE; expected a JSON object with ${required.map((n) => quote(n)).join(', ')}` };
  }
  const bytes = Buffer.byteLength(text ?? '');
  const tooLarge = { ok: false, code: Codes.OutputsTooLarge, message: `outputs exceed the ${OUTPUTS_LIMIT_BYTES}-byte limit of FLYTE_OUTPUTS_FILE (the kubelet keeps only the last ${OUTPUTS_LIMIT_BYTES} bytes)` } as const;
  if (bytes > OUTPUTS_LIMIT_BYTES) return tooLarge;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    // The kubelet hands over exactly the limit when it cut a longer file: broken JSON of that size was too large.
    if (bytes === OUTPUTS_LIMIT_BYTES) return tooLarge;
    return { ok: false, code: Codes.OutputsNotJson, message: `FLYTE_OUTPUTS_FILE is not valid JSON (${(err as Error).message}): ${quote(body, 80)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, code: Codes.OutputsNotObject, message: `FLYTE_OUTPUTS_FILE must hold one JSON object of outputs, got ${Array.isArray(parsed) ? 'an array' : typeof parsed === 'object' ? 'null' : typeof parsed}` };
  }
  const record = parsed as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!types.has(name)) {
      const declared = [...types.keys()].map((n) => quote(n)).join(', ') || 'none';
      return { ok: false, code: Codes.OutputsInvalid, message: `output ${quote(name)} is not declared by the task (declared: ${declared})` };
    }
  }
  const outputs: Record<string, unknown> = {};
  for (const [name, type] of types) {
    const value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (value === undefined && type.kind !== 'optional') return { ok: false, code: Codes.OutputsInvalid, message: `output ${quote(name)} is missing` };
    const mismatch = checkValue(type, value);
    if (mismatch) return { ok: false, code: Codes.OutputsInvalid, message: `output ${quote(name)}: ${formatMismatch(mismatch)}` };
    outputs[name] = value ?? null;
  }
  return { ok: true, outputs };
}

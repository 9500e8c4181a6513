import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OUTPUTS_LIMIT_BYTES, parseOutputs } from '../../../src/core/outputs.ts';
import { parseType, type FlyteType } from '../../../src/core/types/index.ts';

function types(decl: Record<string, string>): Map<string, FlyteType> {
  return new Map(
    Object.entries(decl).map(([name, text]) => {
      const parsed = parseType(text);
      if (!parsed.ok) assert.fail(parsed.error);
      return [name, parsed.type];
    }),
  );
}

const floatOut = types({ o0: 'float' });
const TOO_LARGE = { ok: false, code: 'OutputsTooLarge', message: 'outputs exceed the 4096-byte limit of FLYTE_OUTPUTS_FILE (the kubelet keeps only the last 4096 bytes)' };

test('parseOutputs reads a JSON object of declared outputs, whitespace around it allowed', () => {
  assert.deepEqual(parseOutputs('\n {"o0": -1.5}\n', floatOut), { ok: true, outputs: { o0: -1.5 } });
  assert.deepEqual(parseOutputs('{"o0": 3}', floatOut), { ok: true, outputs: { o0: 3 } });
});

test('parseOutputs accepts no file at all when nothing is declared or everything is Optional', () => {
  assert.deepEqual(parseOutputs(undefined, new Map()), { ok: true, outputs: {} });
  assert.deepEqual(parseOutputs('', types({ a: 'Optional[int]' })), { ok: true, outputs: { a: null } });
});

test('parseOutputs fills Optional outputs left out, and accepts null for them', () => {
  assert.deepEqual(parseOutputs('{"n": 1}', types({ n: 'int', m: 'Optional[str]' })), { ok: true, outputs: { n: 1, m: null } });
  assert.deepEqual(parseOutputs('{"n": 1, "m": null}', types({ n: 'int', m: 'Optional[str]' })), { ok: true, outputs: { n: 1, m: null } });
});

test('parseOutputs fails on missing outputs, naming the required ones', () => {
  assert.deepEqual(parseOutputs(undefined, types({ a: 'int', b: 'Optional[int]', c: 'str' })), {
    ok: false,
    code: 'OutputsMissing',
    message: 'the task wrote no outputs to FLYTE_OUTPUTS_FILE; expected a JSON object with "a", "c"',
  });
  assert.deepEqual(parseOutputs('{}', floatOut), { ok: false, code: 'OutputsInvalid', message: 'output "o0" is missing' });
});

test('parseOutputs fails on text that is not JSON, quoting it', () => {
  const result = parseOutputs('done!', floatOut);
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.code, 'OutputsNotJson');
  assert.match(result.message, /^FLYTE_OUTPUTS_FILE is not valid JSON \(.+\): "done!"$/);
});

test('parseOutputs fails on JSON that is not one object', () => {
  assert.deepEqual(parseOutputs('[1]', floatOut), { ok: false, code: 'OutputsNotObject', message: 'FLYTE_OUTPUTS_FILE must hold one JSON object of outputs, got an array' });
  assert.deepEqual(parseOutputs('null', floatOut), { ok: false, code: 'OutputsNotObject', message: 'FLYTE_OUTPUTS_FILE must hold one JSON object of outputs, got null' });
  assert.deepEqual(parseOutputs('1.5', floatOut), { ok: false, code: 'OutputsNotObject', message: 'FLYTE_OUTPUTS_FILE must hold one JSON object of outputs, got number' });
});

test('parseOutputs fails on an undeclared output, listing the declared ones', () => {
  assert.deepEqual(parseOutputs('{"o0": 1, "extra": 2}', floatOut), { ok: false, code: 'OutputsInvalid', message: 'output "extra" is not declared by the task (declared: "o0")' });
  assert.deepEqual(parseOutputs('{"x": 1}', new Map()), { ok: false, code: 'OutputsInvalid', message: 'output "x" is not declared by the task (declared: none)' });
});

test('parseOutputs fails on a value of the wrong type, naming the output and where', () => {
  assert.deepEqual(parseOutputs('{"o0": "1.5"}', floatOut), { ok: false, code: 'OutputsInvalid', message: 'output "o0": expected float, got str "1.5"' });
  assert.deepEqual(parseOutputs('{"xs": [1, 2.5]}', types({ xs: 'list[int]' })), { ok: false, code: 'OutputsInvalid', message: 'output "xs": at [1]: expected int, got float 2.5' });
  assert.deepEqual(parseOutputs('{"o0": null}', floatOut), { ok: false, code: 'OutputsInvalid', message: 'output "o0": expected float, got null' });
});

test('parseOutputs fails clearly on outputs over 4 KiB, whether cut short by the kubelet or not', () => {
  assert.equal(OUTPUTS_LIMIT_BYTES, 4096);
  const big = JSON.stringify({ s: 'x'.repeat(5000) });
  const s = types({ s: 'str' });
  // What the kubelet hands over: the last 4096 bytes, which are not JSON.
  assert.deepEqual(parseOutputs(big.slice(-4096), s), TOO_LARGE);
  assert.deepEqual(parseOutputs(big, s), TOO_LARGE);
  // A multi-byte character cut in half decodes to a replacement character: longer than the limit.
  assert.deepEqual(parseOutputs(`\uFFFD${'é'.repeat(2047)}`, s), TOO_LARGE);
});

test('parseOutputs accepts outputs of exactly 4 KiB', () => {
  const exact = JSON.stringify({ s: 'x'.repeat(4096 - 8) });
  assert.equal(Buffer.byteLength(exact), 4096);
  const result = parseOutputs(exact, types({ s: 'str' }));
  assert.equal(result.ok, true);
});

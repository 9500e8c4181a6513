import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate, renderTemplate, renderValue } from '../../../src/core/template.ts';

const known = new Set(['name', 'n', 'xs']);

test('checkTemplate accepts known inputs, with or without inner spaces', () => {
  assert.deepEqual(checkTemplate('hello {{.inputs.name}} and {{ .inputs.n }}', known), []);
});

test('checkTemplate leaves braces that are not a dot-expression alone', () => {
  assert.deepEqual(checkTemplate("python -c 'print(f\"{{x}}\")' {single} {{ x }}", known), []);
});

test('checkTemplate names each unknown input and each unsupported expression', () => {
  assert.deepEqual(checkTemplate('{{.inputs.nope}} {{.outputs.o}} {{.inputs.n}} {{.inputs}}', known), [
    'template "{{.inputs.nope}}" names unknown input "nope"',
    'unsupported template "{{.outputs.o}}": only {{.inputs.NAME}} is supported',
    'unsupported template "{{.inputs}}": only {{.inputs.NAME}} is supported',
  ]);
});

test('renderTemplate renders str inputs as-is and everything else as compact JSON', () => {
  const inputs = { name: 'a b "c"', n: 3, xs: [1, 2.5], m: { k: [true, null] } };
  const isString = (name: string) => name === 'name';
  assert.equal(renderTemplate('--name={{.inputs.name}}', inputs, isString), '--name=a b "c"');
  assert.equal(renderTemplate('{{.inputs.n}}|{{ .inputs.xs }}|{{.inputs.m}}', inputs, isString), '3|[1,2.5]|{"k":[true,null]}');
});

test('renderTemplate does not interpret replacement patterns or shell syntax in values', () => {
  const inputs = { name: "$& $1 $` ; rm -rf / && echo $(id) `id` 'q'" };
  assert.equal(renderTemplate('{{.inputs.name}}', inputs, () => true), inputs.name);
});

test('renderTemplate renders a missing value as null and leaves text without placeholders unchanged', () => {
  assert.equal(renderTemplate('x={{.inputs.gone}}', {}, () => false), 'x=null');
  assert.equal(renderTemplate('plain {{x}} text', {}, () => false), 'plain {{x}} text');
});

test('renderValue quotes a string that is not declared str', () => {
  assert.equal(renderValue('2024-05-01T10:00:00Z', false), '"2024-05-01T10:00:00Z"');
  assert.equal(renderValue('x', true), 'x');
  assert.equal(renderValue(null, true), 'null');
  assert.equal(renderValue(undefined, false), 'null');
});

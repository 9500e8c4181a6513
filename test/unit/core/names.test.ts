import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { labelValue, NODE_NAME, podName } from '../../../src/core/names.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const HASHED = /-[a-z2-7]{10}$|^[a-z2-7]{10}$/;

function assertHashed(name: string, prefix: string): void {
  assert.match(name, DNS_LABEL);
  assert.ok(name.length <= 63);
  assert.match(name, HASHED);
  assert.ok(name.startsWith(prefix), `${name} should start with ${prefix}`);
}

test('podName is plain when workflow-node-attempt is already a valid, unambiguous DNS label', () => {
  assert.equal(podName('wf', 'n0', 0), 'wf-n0-0');
  assert.equal(podName('my-workflow-7', 'train', 12), 'my-workflow-7-train-12');
});

test('podName hashes names that are too long', () => {
  const long = podName('w'.repeat(60), 'node', 1);
  assert.equal(long.length, 63);
  assertHashed(long, 'w'.repeat(52));
});

test('podName hashes uppercase, underscores and other characters a DNS label cannot hold', () => {
  assertHashed(podName('wf', 'slope_val', 0), 'wf-slope-val-0-');
  assertHashed(podName('wf', 'Train', 0), 'wf-train-0-');
  assertHashed(podName('wf.v2', 'n', 0), 'wf-v2-n-0-');
});

test('podName hashes node names with a "-", which would make plain names ambiguous', () => {
  assert.notEqual(podName('a-b', 'c', 0), podName('a', 'b-c', 0));
  assertHashed(podName('a', 'b-c', 0), 'a-b-c-0-');
  assert.equal(podName('a-b', 'c', 0), 'a-b-c-0');
});

test('podName is a pure function of its triple', () => {
  assert.equal(podName('wf', 'slope_val', 3), podName('wf', 'slope_val', 3));
  assert.notEqual(podName('wf', 'slope_val', 3), podName('wf', 'slope_val', 4));
});

const workflowName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,40}[a-z0-9])?$/),
  fc.constantFrom('a', 'a-b', 'a-b-c', 'w'.repeat(63), `${'x'.repeat(62)}-`),
  fc.string({ maxLength: 80 }),
);
const nodeName = fc.oneof(fc.stringMatching(NODE_NAME), fc.constantFrom('b', 'c', 'b-c', 'c-0', 'n', 'N', 'n_0', 'b-c-0'));
const attempt = fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 200 }), fc.constant(999_999_999), fc.constant(1_000_000_000));
const triple = fc.tuple(workflowName, nodeName, attempt);

test('podName is always a valid DNS label of at most 63 characters (property)', () => {
  fc.assert(
    fc.property(triple, ([w, n, a]) => {
      const name = podName(w, n, a);
      assert.ok(name.length <= 63, name);
      assert.match(name, DNS_LABEL);
    }),
    { numRuns: 2000 },
  );
});

test('podName never gives distinct triples the same name (property)', () => {
  fc.assert(
    fc.property(fc.uniqueArray(triple, { minLength: 2, maxLength: 40, selector: (t) => JSON.stringify(t) }), (triples) => {
      const names = triples.map(([w, n, a]) => podName(w, n, a));
      assert.equal(new Set(names).size, names.length, JSON.stringify(triples));
    }),
    { numRuns: 500 },
  );
});

test('podName keeps distinct the triples that plain concatenation would merge', () => {
  const triples: [string, string, number][] = [
    ['a-b', 'c', 0],
    ['a', 'b-c', 0],
    ['a-b-c', 'd', 1],
    ['a-b', 'c-d', 1],
    ['a', 'b-c-d', 1],
    ['a', 'b', 10],
    ['a', 'b-1', 0],
  ];
  const names = triples.map(([w, n, a]) => podName(w, n, a));
  assert.equal(new Set(names).size, triples.length, names.join(' '));
});

test('labelValue keeps valid label values and hashes the rest into valid ones', () => {
  assert.equal(labelValue('slope_val'), 'slope_val');
  assert.equal(labelValue('My.Project-1'), 'My.Project-1');
  const long = labelValue('p'.repeat(64));
  assert.equal(long.length, 63);
  assert.match(long, LABEL_VALUE);
  assert.match(labelValue('-weird name!'), /^weird-name-[a-z2-7]{10}$/);
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => assert.match(labelValue(s), LABEL_VALUE)));
});

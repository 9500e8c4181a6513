import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import { onlyCosmeticChanges } from '../../../src/controller/cosmetic.ts';

const queued = { phase: 'Queued' as const, attempts: 1, podName: 'p-0', attemptStartedAt: 't0' };
const base: WorkflowStatus = { phase: 'Running', progress: '0/2', message: '0/2 nodes succeeded, 1 queued', nodes: { a: queued, b: { phase: 'Pending' } } };

test('a node going Queued → Running, with new messages, is cosmetic', () => {
  const next: WorkflowStatus = { ...base, message: '0/2 nodes succeeded, 1 running', nodes: { ...base.nodes, a: { ...queued, phase: 'Running' } } };
  assert.equal(onlyCosmeticChanges(base, next), true);
});

test('the workflow turning Pending → Running is cosmetic', () => {
  assert.equal(onlyCosmeticChanges({ ...base, phase: 'Pending' }, { ...base, phase: 'Running' }), true);
});

test('anything a round could not derive again from pods is not cosmetic', () => {
  const cases: [string, WorkflowStatus][] = [
    ['a node succeeding', { ...base, nodes: { ...base.nodes, a: { ...queued, phase: 'Succeeded', outputs: { o0: 1 } } } }],
    ['a new attempt', { ...base, nodes: { ...base.nodes, a: { ...queued, attempts: 2, podName: 'p-1' } } }],
    ['a node starting', { ...base, nodes: { ...base.nodes, b: { phase: 'Queued', attempts: 1, podName: 'q-0' } } }],
    ['progress', { ...base, progress: '1/2' }],
    ['the workflow finishing', { ...base, phase: 'Succeeded' }],
    ['a node vanishing', { ...base, nodes: { a: queued } }],
  ];
  for (const [what, next] of cases) assert.equal(onlyCosmeticChanges(base, next), false, what);
});

test('the first status is never cosmetic: it records that the workflow was accepted', () => {
  assert.equal(onlyCosmeticChanges(undefined, base), false);
  assert.equal(onlyCosmeticChanges({}, base), false);
});

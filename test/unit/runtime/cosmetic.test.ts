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
    ['a node succeeding and its dependent starting', { ...base, progress: '1/2', nodes: { a: { phase: 'Succeeded', attempts: 1, podName: 'p-0', outputs: { o0: 1 }, finishedAt: 't1' }, b: { phase: 'Queued', attempts: 1, podName: 'q-0' } } }],
    ['a node failing', { ...base, nodes: { ...base.nodes, a: { ...queued, phase: 'Failed', finishedAt: 't1' } } }],
    ['a new attempt', { ...base, nodes: { ...base.nodes, a: { ...queued, attempts: 2, podName: 'p-1' } } }],
    ['a node starting', { ...base, nodes: { ...base.nodes, b: { phase: 'Queued', attempts: 1, podName: 'q-0' } } }],
    ['the workflow outputs', { ...base, outputs: { o: 1 } }],
    ['the workflow finishing', { ...base, phase: 'Succeeded' }],
    ['a node vanishing', { ...base, nodes: { a: queued } }],
  ];
  for (const [what, next] of cases) assert.equal(onlyCosmeticChanges(base, next), false, what);
  const done = { phase: 'Succeeded' as const, attempts: 1, podName: 'p-0', outputs: { o0: 1 } };
  const compacted = { phase: 'Succeeded' as const, attempts: 1, podName: 'p-0' };
  assert.equal(onlyCosmeticChanges({ ...base, nodes: { ...base.nodes, a: done } }, { ...base, nodes: { ...base.nodes, a: compacted } }), false, 'a succeeded node losing its outputs');
});

test('a node succeeding that unblocks nothing is cosmetic: its pod still says so next round', () => {
  const running = { ...queued, phase: 'Running' as const };
  const prev: WorkflowStatus = { ...base, nodes: { a: running, b: running } };
  const next: WorkflowStatus = {
    ...prev,
    progress: '1/2',
    message: '1/2 nodes succeeded, 1 running',
    nodes: { a: { phase: 'Succeeded', attempts: 1, podName: 'p-0', outputs: { o0: 1 }, finishedAt: 't1' }, b: running },
  };
  assert.equal(onlyCosmeticChanges(prev, next), true);
  assert.equal(onlyCosmeticChanges(base, { ...base, nodes: { ...base.nodes, a: { phase: 'Succeeded', attempts: 1, podName: 'p-0' } } }), true, 'straight from Queued');
  assert.equal(onlyCosmeticChanges(prev, { ...next, nodes: { ...next.nodes, a: { ...next.nodes!['a']!, attempts: 2 } } }), false, 'but not with a new attempt');
});

test('the first status is never cosmetic: it records that the workflow was accepted', () => {
  assert.equal(onlyCosmeticChanges(undefined, base), false);
  assert.equal(onlyCosmeticChanges({}, base), false);
});

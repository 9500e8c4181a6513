import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeStatus, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import { compactStatus } from '../../../src/core/compact.ts';
import { compileWorkflow, type CompiledWorkflow } from '../../../src/core/compile.ts';

const size = (s: WorkflowStatus) => Buffer.byteLength(JSON.stringify(s));

/** a → b → c, with c's output the workflow output. */
function chainWorkflow(): CompiledWorkflow {
  const step = { interface: { inputs: { x: 'int' }, outputs: { o0: 'int' } }, container: { image: 'x' } };
  const result = compileWorkflow(
    {
      interface: { outputs: { out: 'int' } },
      tasks: { step },
      nodes: { a: { task: 'step', inputs: { x: { value: 1 } } }, b: { task: 'step', inputs: { x: { from: 'a.o0' } } }, c: { task: 'step', inputs: { x: { from: 'b.o0' } } } },
      outputs: { out: { from: 'c.o0' } },
    },
    { maxNodes: 10 },
  );
  assert.ok(result.ok);
  return result.workflow;
}

const done = (outputs: unknown): NodeStatus => ({
  phase: 'Succeeded',
  attempts: 1,
  podName: 'wf-a-0',
  startedAt: '2026-01-01T00:00:00.000Z',
  attemptStartedAt: '2026-01-01T00:00:00.000Z',
  readyAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  outputs: outputs as Record<string, unknown>,
});

test('a status within budget is returned untouched', () => {
  const status: WorkflowStatus = { phase: 'Running', nodes: { a: done({ o0: 1 }) } };
  assert.equal(compactStatus(status, chainWorkflow(), 1e6, size), status);
});

test('first, finished nodes lose the fields nobody needs; outputs stay while that is enough', () => {
  const status: WorkflowStatus = { phase: 'Running', nodes: { a: done({ o0: 1 }), b: { phase: 'Running', attempts: 1, podName: 'wf-b-0' }, c: { phase: 'Pending' } } };
  const compacted = compactStatus(status, chainWorkflow(), size(status) - 10, size);
  assert.deepEqual(compacted.nodes!['a'], { phase: 'Succeeded', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', outputs: { o0: 1 } });
  assert.equal(compacted.nodes!['b'], status.nodes!['b'], 'unfinished nodes are untouched');
});

test('then outputs no unfinished node or workflow output reads are dropped, and marked', () => {
  const big = { o0: 1, pad: 'x'.repeat(1000) };
  const status: WorkflowStatus = { phase: 'Running', nodes: { a: done(big), b: done(big), c: { phase: 'Running', attempts: 1 } } };
  const compacted = compactStatus(status, chainWorkflow(), 1500, size);
  assert.equal(compacted.nodes!['a']!.outputs, undefined, 'a feeds only b, which finished');
  assert.equal(compacted.nodes!['a']!.outputsCompacted, true);
  assert.deepEqual(compacted.nodes!['b']!.outputs, big, 'c still needs b');
});

test('outputs the workflow output reads are kept even when every node finished', () => {
  const big = { o0: 1, pad: 'x'.repeat(1000) };
  const status: WorkflowStatus = { phase: 'Running', nodes: { a: done(big), b: done(big), c: done(big) } };
  const compacted = compactStatus(status, chainWorkflow(), 100, size);
  assert.deepEqual(compacted.nodes!['c']!.outputs, big);
  assert.equal(compacted.nodes!['a']!.outputsCompacted, true);
  assert.equal(compacted.nodes!['b']!.outputsCompacted, true);
  assert.ok(size(compacted) > 100, 'still over budget: the caller then fails the workflow');
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { NodeStatus, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import { statusPatch, type JsonPatchOp } from '../../../src/controller/status-patch.ts';
import { applyPatch, parsePointer } from './json-patch.ts';

const RV = '4711';
/** The first write tests that there is no status; later ones test and bump status.revision. */
const FIRST: JsonPatchOp = { op: 'test', path: '/status', value: null };
const cas = (revision: number): JsonPatchOp[] => [
  { op: 'test', path: '/status/revision', value: revision },
  { op: 'replace', path: '/status/revision', value: revision + 1 },
];

/** What the API server holds, as statusPatch sees it. */
const docOf = (status: WorkflowStatus | undefined, resourceVersion = RV) => ({ metadata: { name: 'wf', resourceVersion }, ...(status === undefined ? {} : { status }) });

function applied(prev: WorkflowStatus | undefined, next: WorkflowStatus): { metadata: { resourceVersion: string }; status?: WorkflowStatus } {
  const ops = statusPatch(prev, next, RV);
  assert.ok(ops, 'expected a patch');
  return applyPatch(docOf(prev), ops);
}

const running = (extra: Partial<NodeStatus> = {}): NodeStatus => ({ phase: 'Running', attempts: 1, podName: 'wf-a-0', ...extra });

describe('statusPatch examples', () => {
  test('the first write adds the whole status with revision 1, conditioned on there being none', () => {
    const next: WorkflowStatus = { phase: 'Running', nodes: { a: running() } };
    const written = { ...next, revision: 1 };
    assert.deepEqual(statusPatch(undefined, next, RV), [FIRST, { op: 'add', path: '/status', value: written }]);
    assert.deepEqual(applied(undefined, next).status, written);
    // A stored empty status is not "none": it is replaced under the resourceVersion instead.
    assert.deepEqual(statusPatch({}, next, RV), [{ op: 'test', path: '/metadata/resourceVersion', value: RV }, { op: 'add', path: '/status', value: written }]);
    assert.deepEqual(applied({}, next).status, written);
    assert.deepEqual(applyPatch(docOf(undefined, 'relabelled'), statusPatch(undefined, next, RV)!).status, written, 'metadata changes do not matter');
    assert.throws(() => applyPatch(docOf({ phase: 'Pending', revision: 1 }), statusPatch(undefined, next, RV)!), /test/, 'refused once a status exists');
  });

  test('later writes are a compare-and-swap on status.revision alone', () => {
    const prev: WorkflowStatus = { revision: 7, phase: 'Running', nodes: { a: running() } };
    const next: WorkflowStatus = { ...prev, phase: 'Succeeded' };
    const ops = statusPatch(prev, next, RV)!;
    assert.deepEqual(ops.slice(0, 2), cas(7));
    // Metadata changes (another client's labels) do not matter: the resourceVersion is not tested.
    assert.deepEqual(applyPatch(docOf(prev, 'someone-relabelled'), ops).status, { ...next, revision: 8 });
    // Another status write in between does.
    assert.throws(() => applyPatch(docOf({ ...prev, revision: 8 }), ops), /test/);
  });

  test('an unchanged status gives no patch', () => {
    const status: WorkflowStatus = { phase: 'Running', progress: '0/1', nodes: { a: running({ outputs: { x: null, y: [1, { z: null }] } }) } };
    assert.equal(statusPatch({ ...status, revision: 1 }, structuredClone(status), RV), undefined);
    assert.equal(statusPatch({ ...status, revision: 1 }, { ...status, revision: 1 }, RV), undefined);
    assert.equal(statusPatch({ phase: 'Pending', revision: 3 }, { phase: 'Pending' }, RV), undefined);
  });

  test('key order does not count as a change', () => {
    assert.equal(statusPatch({ revision: 1, phase: 'Running', progress: '1/2' }, { progress: '1/2', phase: 'Running' }, RV), undefined);
  });

  test('only changed nodes are sent, each as a whole', () => {
    const nodes: Record<string, NodeStatus> = {};
    for (let i = 0; i < 1000; i++) nodes[`n${i}`] = { phase: 'Succeeded', attempts: 1, outputs: { o: i } };
    const prev: WorkflowStatus = { revision: 5, phase: 'Running', progress: '1000/1002', nodes: { ...nodes, a: running(), b: { phase: 'Pending' } } };
    const next: WorkflowStatus = structuredClone(prev);
    next.nodes!['a'] = { ...running(), phase: 'Succeeded', outputs: { x: 1 } };
    next.progress = '1001/1002';
    const ops = statusPatch(prev, next, RV)!;
    assert.deepEqual(ops, [
      ...cas(5),
      { op: 'add', path: '/status/progress', value: '1001/1002' },
      { op: 'add', path: '/status/nodes/a', value: next.nodes!['a'] },
    ]);
    assert.ok(JSON.stringify(ops).length < 400, 'a small patch for a big status');
    assert.deepEqual(applied(prev, next).status, { ...next, revision: 6 });
  });

  test('added and removed nodes', () => {
    const prev: WorkflowStatus = { revision: 1, nodes: { a: running(), gone: { phase: 'Skipped' } } };
    const next: WorkflowStatus = { nodes: { a: running(), fresh: { phase: 'Queued' } } };
    assert.deepEqual(statusPatch(prev, next, RV), [
      ...cas(1),
      { op: 'add', path: '/status/nodes/fresh', value: { phase: 'Queued' } },
      { op: 'remove', path: '/status/nodes/gone' },
    ]);
  });

  test('nodes appearing or disappearing as a whole', () => {
    assert.deepEqual(statusPatch({ revision: 1, phase: 'Pending' }, { phase: 'Pending', nodes: { a: running() } }, RV), [
      ...cas(1),
      { op: 'add', path: '/status/nodes', value: { a: running() } },
    ]);
    assert.deepEqual(statusPatch({ revision: 1, phase: 'Pending', nodes: { a: running() } }, { phase: 'Pending' }, RV), [...cas(1), { op: 'remove', path: '/status/nodes' }]);
  });

  test('top-level fields that disappear become remove ops', () => {
    const prev: WorkflowStatus = { revision: 1, phase: 'Failing', message: 'node a failed', error: { kind: 'User', code: 'NonZeroExit', message: 'exit 1', node: 'a' } };
    const next: WorkflowStatus = { phase: 'Running' };
    const ops = statusPatch(prev, next, RV)!;
    assert.deepEqual(ops.slice(0, 2), cas(1));
    assert.deepEqual(
      ops.slice(2).sort((x, y) => x.path.localeCompare(y.path)),
      [
        { op: 'remove', path: '/status/error' },
        { op: 'remove', path: '/status/message' },
        { op: 'add', path: '/status/phase', value: 'Running' },
      ],
    );
    assert.deepEqual(applied(prev, next).status, { ...next, revision: 2 });
  });

  test('node ids with / and ~ are escaped as JSON pointers', () => {
    const prev: WorkflowStatus = { revision: 1, nodes: { 'a/b': running(), 'c~d': running(), '~1': running() } };
    const next: WorkflowStatus = { nodes: { 'a/b': { phase: 'Succeeded' }, 'c~d': { phase: 'Failed' }, '~1/~0': { phase: 'Queued' } } };
    const ops = statusPatch(prev, next, RV)!;
    const paths = ops.map((o) => o.path);
    assert.deepEqual(paths, ['/status/revision', '/status/revision', '/status/nodes/a~1b', '/status/nodes/c~0d', '/status/nodes/~01~1~00', '/status/nodes/~01']);
    assert.deepEqual(parsePointer('/status/nodes/~01~1~00'), ['status', 'nodes', '~1/~0']);
    assert.deepEqual(applied(prev, next).status, { ...next, revision: 2 });
  });

  test('nulls inside outputs are written, where a merge patch would delete them', () => {
    const prev: WorkflowStatus = { revision: 1, phase: 'Running', nodes: { a: running() } };
    const next: WorkflowStatus = { phase: 'Succeeded', outputs: { result: null }, nodes: { a: { phase: 'Succeeded', outputs: { maybe: null, list: [null], dict: { k: null } } } } };
    const result = applied(prev, next).status!;
    assert.deepEqual(result, { ...next, revision: 2 });
    assert.equal(result.outputs!['result'], null);
    assert.ok(Object.hasOwn(result.nodes!['a']!.outputs!, 'maybe'));
    // And a value changing to null is a change.
    const later: WorkflowStatus = { ...structuredClone(next), revision: 2 };
    later.nodes!['a']!.outputs!['list'] = null;
    assert.deepEqual(statusPatch({ ...next, revision: 2 }, later, RV), [...cas(2), { op: 'add', path: '/status/nodes/a', value: later.nodes!['a'] }]);
  });

  test('a status written before revisions existed is replaced whole, conditioned on the resourceVersion', () => {
    const ops = statusPatch({ phase: 'Pending' }, { phase: 'Running' }, '99')!;
    assert.deepEqual(ops, [
      { op: 'test', path: '/metadata/resourceVersion', value: '99' },
      { op: 'add', path: '/status', value: { phase: 'Running', revision: 1 } },
    ]);
    assert.equal(statusPatch({ phase: 'Pending' }, { phase: 'Pending' }, '99'), undefined);
  });

  test('the ops survive JSON serialisation unchanged', () => {
    const prev: WorkflowStatus = { revision: 1, nodes: { a: running() } };
    const next: WorkflowStatus = { nodes: { a: { phase: 'Succeeded', outputs: { x: 1 } } } };
    const text = JSON.stringify(statusPatch(prev, next, RV));
    assert.deepEqual(JSON.parse(text), [...cas(1), { op: 'add', path: '/status/nodes/a', value: { phase: 'Succeeded', outputs: { x: 1 } } }]);
  });
});

// ---- property ----

const nodeIds = fc.constantFrom('a', 'b', 'c', 'n-1', 'x_y', 'a/b', 'c~d', '~1', '~0/', '/', '~', '', 'constructor', 'toString');
const time = fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-01T00:01:00.5Z');
// JSON values including nulls at every level (fc.jsonValue), normalised through JSON so -0 and the like round-trip.
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const outputs = fc.dictionary(fc.constantFrom('o', 'result', 'maybe', 'list'), fc.oneof(fc.constant(null), jsonValue), { maxKeys: 3 });
const error = fc.record({
  kind: fc.constantFrom('User', 'System', 'Permanent'),
  code: fc.constantFrom('NonZeroExit', 'PodDeletedExternally'),
  message: fc.string({ maxLength: 5 }),
  node: fc.option(nodeIds, { nil: undefined }),
}, { requiredKeys: ['kind', 'code', 'message'] });
const nodeStatus: fc.Arbitrary<NodeStatus> = fc.record(
  {
    phase: fc.constantFrom('Pending', 'Queued', 'Running', 'Retrying', 'Succeeded', 'Failed', 'Skipped', 'Aborted'),
    attempts: fc.nat(3),
    systemFailures: fc.nat(2),
    podName: fc.constantFrom('wf-a-0', 'wf-a-1'),
    startedAt: time,
    finishedAt: time,
    outputs,
    message: fc.string({ maxLength: 4 }),
    error,
  },
  { requiredKeys: ['phase'] },
) as fc.Arbitrary<NodeStatus>;
const workflowStatus: fc.Arbitrary<WorkflowStatus> = fc.record(
  {
    phase: fc.constantFrom('Pending', 'Running', 'Failing', 'Succeeded', 'Failed', 'Aborting', 'Aborted'),
    message: fc.string({ maxLength: 4 }),
    progress: fc.constantFrom('0/1', '1/1'),
    observedGeneration: fc.nat(3),
    startedAt: time,
    finishedAt: time,
    outputs,
    error,
    nodes: fc.dictionary(nodeIds, nodeStatus, { maxKeys: 6 }),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<WorkflowStatus>;

/** A next status that shares most of prev: nodes kept, changed, dropped or added; top-level fields kept, changed or dropped. */
const evolved = (prev: WorkflowStatus): fc.Arbitrary<WorkflowStatus> =>
  fc
    .tuple(
      workflowStatus,
      fc.array(fc.constantFrom('keep', 'change', 'drop'), { minLength: 10, maxLength: 10 }),
      fc.array(fc.constantFrom('keep', 'change', 'drop'), { minLength: 20, maxLength: 20 }),
      fc.dictionary(nodeIds, nodeStatus, { maxKeys: 2 }),
    )
    .map(([other, topChoices, nodeChoices, added]) => {
      const next: Record<string, unknown> = {};
      const keys = [...new Set([...Object.keys(prev), ...Object.keys(other)])].filter((k) => k !== 'nodes');
      keys.forEach((k, i) => {
        const choice = topChoices[i % topChoices.length];
        const p = (prev as Record<string, unknown>)[k];
        const o = (other as Record<string, unknown>)[k];
        if (choice === 'keep' && p !== undefined) next[k] = structuredClone(p);
        else if (choice === 'change' && o !== undefined) next[k] = o;
      });
      if (prev.nodes || other.nodes) {
        const nodes: Record<string, NodeStatus> = {};
        Object.entries(prev.nodes ?? {}).forEach(([id, n], i) => {
          const choice = nodeChoices[i % nodeChoices.length];
          if (choice === 'keep') nodes[id] = structuredClone(n);
          else if (choice === 'change') nodes[id] = other.nodes?.[id] ?? { ...n, phase: n.phase === 'Running' ? 'Succeeded' : 'Running' };
        });
        Object.assign(nodes, added);
        if (!(nodeChoices[19] === 'drop' && topChoices[9] === 'drop')) next['nodes'] = nodes;
      }
      return next as WorkflowStatus;
    });

/** Statuses as they arrive from the API server: plain JSON (fast-check may build null-prototype dictionaries). */
const asJson = <T,>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
const pairs = fc
  .oneof(
    fc.tuple(fc.option(workflowStatus, { nil: undefined }), workflowStatus),
    workflowStatus.chain((prev) => fc.tuple(fc.constant(prev), evolved(prev))),
    workflowStatus.map((prev) => [prev, structuredClone(prev)] as [WorkflowStatus, WorkflowStatus]),
  )
  .map(([prev, next]) => [asJson(prev), asJson(next)] as const);

const equalJson = (a: unknown, b: unknown) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

describe('statusPatch properties', () => {
  test('applied to the stored object, the patch yields exactly next with the revision bumped', () => {
    fc.assert(
      fc.property(pairs, fc.option(fc.nat(1000), { nil: undefined }), fc.string({ minLength: 1, maxLength: 6 }), ([prev0, next], revision, rv) => {
        const prev = prev0 && revision !== undefined ? { ...prev0, revision } : prev0;
        const ops = statusPatch(prev, next, rv);
        const isFirst = prev === undefined;
        const isLegacy = !isFirst && prev!.revision === undefined;
        const { revision: _r, ...prevBody } = prev ?? {};
        if (ops === undefined) {
          assert.ok(!isFirst && !(isLegacy && Object.keys(prev!).length === 0), 'the first write always writes');
          assert.ok(equalJson(prevBody, next), 'no patch only when nothing changed');
          return;
        }
        // Ops travel as JSON: serialise them on the way, as the client does.
        const wire = JSON.parse(JSON.stringify(ops)) as JsonPatchOp[];
        const result = applyPatch(docOf(prev, rv), wire);
        const expectedRevision = (prev?.revision ?? 0) + 1;
        assert.deepEqual(result.status, { ...next, revision: expectedRevision });
        if (isFirst) {
          assert.throws(() => applyPatch(docOf({ phase: 'Pending', revision: 1 }, rv), wire), 'a status written meanwhile makes the first write fail');
        } else if (isLegacy) {
          assert.throws(() => applyPatch(docOf(prev, `${rv}x`), wire), 'an object changed meanwhile makes it fail');
        } else {
          assert.ok(!equalJson(prevBody, next), 'a patch only when something changed');
          assert.throws(() => applyPatch(docOf({ ...prev!, revision: prev!.revision! + 1 }, rv), wire), 'a status written meanwhile makes it fail');
        }
      }),
      { numRuns: 500 },
    );
  });

  test('only nodes that differ are sent', () => {
    fc.assert(
      fc.property(workflowStatus.chain((prev) => fc.tuple(fc.constant(prev), evolved(prev))).map(([p, n]) => [asJson(p), asJson(n)] as const), ([prev, next]) => {
        fc.pre(Object.keys(prev).length > 0 && !!prev.nodes && !!next.nodes);
        const ops = statusPatch({ ...prev, revision: 1 }, next, RV) ?? [];
        const nodeOps = ops.filter((o) => o.path.startsWith('/status/nodes/')).map((o) => parsePointer(o.path)[2]!);
        const expected = new Set([
          ...Object.keys(next.nodes!).filter((id) => !Object.hasOwn(prev.nodes!, id) || !equalJson(prev.nodes![id], next.nodes![id])),
          ...Object.keys(prev.nodes!).filter((id) => !Object.hasOwn(next.nodes!, id)),
        ]);
        assert.deepEqual(new Set(nodeOps), expected);
        assert.equal(nodeOps.length, expected.size, 'each node at most once');
      }),
      { numRuns: 300 },
    );
  });
});

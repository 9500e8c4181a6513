import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey } from '../../../src/core/cache-key.ts';
import { compileWorkflow, type CompiledTask } from '../../../src/core/compile.ts';
import { plan, type ActionOutcome, type CacheEntryView, type PlanResult } from '../../../src/core/plan.ts';
import { actionSummary, PLUGINS, Sim, T0, type SimOptions } from './sim.ts';
import { task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();
const AT0 = at(0);
const DAY = 86_400_000;

/** sq(n) = n²; run and opts go into the pod but only opts into the cache key. */
const SQ_FNS = { sq: ({ n }: Record<string, unknown>) => ({ o: (n as number) ** 2 }) };

function sqTask(cache: Record<string, unknown>): Record<string, unknown> {
  return { ...task({ inputs: { n: 'int', run: 'str', opts: 'dict' }, outputs: { o: 'int' } }), cache };
}

const CACHE = { version: 'v1', ignoreInputs: ['run'] };

/** One node a = sq(n) with the given run id and opts; `cache` as given; more top-level fields in `top`. */
function single(n = 3, run = 'r1', opts: Record<string, unknown> = { a: 1, b: 2 }, cache: Record<string, unknown> = CACHE, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { tasks: { sq: sqTask(cache) }, nodes: { a: { task: 'sq', inputs: { n: { value: n }, run: { value: run }, opts: { value: opts } } } }, ...top };
}

function sim(spec: unknown, options: SimOptions = {}, entries: Iterable<CacheEntryView> = []): Sim {
  const s = new Sim(spec, { tasks: SQ_FNS, ...options });
  for (const e of entries) s.cache.set(e.name, structuredClone(e));
  return s;
}

/** Runs a fresh workflow of `spec` to the end and returns the cache it leaves. */
function populate(spec: unknown, options: SimOptions = {}): CacheEntryView[] {
  const s = sim(spec, options);
  s.run();
  assert.equal(s.phase, 'Succeeded');
  assert.equal(s.cache.size, 1);
  return [...s.cache.values()];
}

const writes = (result: PlanResult) => result.actions.filter((a) => a.type === 'WriteCache');

test('a miss runs the task and, on success, writes the entry: name, key, task, version, creator and outputs', () => {
  const s = sim(single());
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-0']);
  assert.equal(s.status.nodes?.a?.cache, 'Miss');

  s.advance(5000);
  s.succeed('a');
  s.step();
  assert.equal(s.phase, 'Succeeded');
  const [write] = writes(s.last);
  assert.ok(write?.type === 'WriteCache');
  if (write?.type !== 'WriteCache') return;
  const { key, name } = write.entry;
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.equal(name, `sq-${key.slice(0, 20)}`);
  assert.deepEqual(write, {
    type: 'WriteCache',
    node: 'a',
    entry: { name, key, task: 'sq', cacheVersion: 'v1', createdBy: { workflow: 'wf', node: 'a', at: at(5000) }, outputs: { o: 9 } },
    replace: false,
  });
  assert.equal(s.last.actions.length, 1);
  assert.deepEqual(s.status.nodes?.a, { phase: 'Succeeded', cache: 'Populated', attempts: 1, podName: 'wf-a-0', startedAt: AT0, outputs: { o: 9 }, finishedAt: at(5000) });
  assert.equal(s.status.progress, '1/1', 'a populated entry is no hit');
});

test('with a time to live, the entry written expires that long after it was written', () => {
  const s = sim(single(), { config: { cache: { enabled: true, ttlMs: DAY, reservationMs: 30_000 } } });
  s.step();
  s.advance(1000);
  s.succeed('a');
  s.step();
  const [write] = writes(s.last);
  assert.equal(write?.type === 'WriteCache' && write.entry.expiresAt, at(1000 + DAY));
});

test('a hit takes the outputs from the entry: no pod, cache Hit, progress says so', () => {
  const entries = populate(single());
  const s = sim(single(), { name: 'again' }, entries);
  s.advance(60_000);
  s.step();
  assert.equal(s.phase, 'Succeeded');
  assert.deepEqual(s.last.actions, []);
  assert.equal(s.pods.size, 0);
  assert.deepEqual(s.status.nodes?.a, {
    phase: 'Succeeded',
    outputs: { o: 9 },
    finishedAt: at(60_000),
    message: `outputs taken from cache entry ${entries[0]!.name} (written by wf, node a, at ${AT0})`,
    cache: 'Hit',
  });
  assert.equal(s.status.progress, '1/1 (1 cached)');
  assert.equal(s.status.message, 'all 1 nodes succeeded');
  assert.deepEqual(s.last.events.map((e) => e.reason), ['Started', 'Succeeded']);
});

test('a hit feeds the nodes downstream like a run would', () => {
  const spec = single();
  (spec.tasks as Record<string, unknown>).use = task({ inputs: { v: 'int' } });
  (spec.nodes as Record<string, unknown>).b = { task: 'use', inputs: { v: { from: 'a.o' } } };
  const entries = populate(single());
  const s = sim(spec, {}, entries);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-b-0']);
  assert.deepEqual(s.inputsOf(s.pod('b')), { v: 9 });
  assert.equal(s.status.progress, '1/2 (1 cached)');
});

test('the key ignores the order of input keys and the ignored inputs, but not the others', () => {
  const entries = populate(single(3, 'r1', { a: 1, b: 2 }));
  const reordered = sim(single(3, 'another run', { b: 2, a: 1 }), {}, entries);
  reordered.step();
  assert.equal(reordered.status.nodes?.a?.cache, 'Hit');

  for (const [what, spec] of [
    ['another n', single(4, 'r1', { a: 1, b: 2 })],
    ['other opts', single(3, 'r1', { a: 1, b: 3 })],
  ] as const) {
    const s = sim(spec, {}, entries);
    s.step();
    assert.equal(s.status.nodes?.a?.cache, 'Miss', what);
    assert.deepEqual(actionSummary(s.last), ['create wf-a-0'], what);
  }
});

test('another cache version is another key: a miss, written beside the old entry', () => {
  const entries = populate(single());
  const s = sim(single(3, 'r1', { a: 1, b: 2 }, { ...CACHE, version: 'v2' }), {}, entries);
  s.step();
  assert.equal(s.status.nodes?.a?.cache, 'Miss');
  s.succeed('a');
  s.step();
  const [write] = writes(s.last);
  assert.ok(write?.type === 'WriteCache' && write.entry.cacheVersion === 'v2' && write.entry.name !== entries[0]!.name && !write.replace);
  assert.equal(s.cache.size, 2);
});

/** single() whose task runs its code from the ConfigMap `configMap` (none when undefined). */
function withCode(configMap: string | undefined, cache: Record<string, unknown> = CACHE): Record<string, unknown> {
  const spec = single(3, 'r1', { a: 1, b: 2 }, cache);
  if (configMap !== undefined) (spec.tasks as Record<string, Record<string, unknown>>).sq!.code = { configMap };
  return spec;
}

test('the code bundle is no part of the key, as in Flyte: a new bundle hits the old entry; the cache version is what to bump', () => {
  const compiledTask = (spec: Record<string, unknown>): CompiledTask => {
    const result = compileWorkflow(spec, { maxNodes: 10 });
    if (!result.ok) assert.fail(result.errors.join('; '));
    const node = result.workflow.nodeById.get('a')!;
    assert.ok(node.kind === 'task');
    return node.task;
  };
  const inputs = { n: 3, run: 'r1', opts: { a: 1, b: 2 } };
  const base = cacheKey(compiledTask(withCode('propeller-code-aaaaaaaaaaaa')), inputs);
  assert.deepEqual(cacheKey(compiledTask(withCode('propeller-code-bbbbbbbbbbbb')), inputs), base, 'another bundle');
  assert.deepEqual(cacheKey(compiledTask(withCode(undefined)), inputs), base, 'no bundle');
  assert.notEqual(cacheKey(compiledTask(withCode('propeller-code-bbbbbbbbbbbb', { ...CACHE, version: 'v2' })), inputs).key, base.key, 'another cache version');

  // Through plan: an entry written by a run of one bundle is a hit for a run of another, with no pod.
  const entries = populate(withCode('propeller-code-aaaaaaaaaaaa'));
  const hit = sim(withCode('propeller-code-bbbbbbbbbbbb'), { name: 'again' }, entries);
  hit.step();
  assert.equal(hit.status.nodes?.a?.cache, 'Hit');
  assert.equal(hit.pods.size, 0);
  const bumped = sim(withCode('propeller-code-bbbbbbbbbbbb', { ...CACHE, version: 'v2' }), { name: 'bumped' }, entries);
  bumped.step();
  assert.equal(bumped.status.nodes?.a?.cache, 'Miss');
  assert.deepEqual(bumped.pod('a').spec.volumes?.map((v) => v.configMap?.name), ['propeller-code-bbbbbbbbbbbb'], 'the miss runs the new bundle');
});

test('an expired entry is a miss, and the new outputs replace it', () => {
  const entries = populate(single(), { config: { cache: { enabled: true, ttlMs: DAY, reservationMs: 30_000 } } });
  assert.equal(entries[0]!.expiresAt, at(DAY));
  const s = sim(single(), { name: 'later' }, entries);
  s.advance(DAY);
  s.step();
  assert.equal(s.status.nodes?.a?.cache, 'Miss');
  assert.deepEqual(actionSummary(s.last), ['create later-a-0']);
  s.succeed('a');
  s.step();
  const [write] = writes(s.last);
  assert.ok(write?.type === 'WriteCache');
  if (write?.type !== 'WriteCache') return;
  assert.equal(write.replace, true);
  assert.equal(write.entry.name, entries[0]!.name);
  assert.deepEqual(write.entry.createdBy, { workflow: 'later', node: 'a', at: at(DAY) });
  assert.equal(s.cache.get(entries[0]!.name)?.createdBy?.workflow, 'later');
});

test('overwriteCache runs even on a hit and replaces the entry; the node keeps saying Skipped', () => {
  const entries = populate(single());
  const s = sim(single(3, 'r1', { a: 1, b: 2 }, CACHE, { overwriteCache: true }), { name: 'fresh' }, entries);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create fresh-a-0']);
  assert.equal(s.status.nodes?.a?.cache, 'Skipped');
  s.succeed('a', { o: 10 });
  s.step();
  const [write] = writes(s.last);
  assert.ok(write?.type === 'WriteCache' && write.replace === true && write.entry.name === entries[0]!.name);
  assert.equal(s.status.nodes?.a?.cache, 'Skipped');
  assert.deepEqual(s.cache.get(entries[0]!.name)?.outputs, { o: 10 });
});

test('with caching off in the configuration, a cached task runs every time and writes nothing (Disabled)', () => {
  const entries = populate(single());
  const s = sim(single(), { config: { cache: { enabled: false, ttlMs: 0, reservationMs: 30_000 } } }, entries);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-0']);
  assert.equal(s.status.nodes?.a?.cache, 'Disabled');
  s.succeed('a');
  s.step();
  assert.equal(s.phase, 'Succeeded');
  assert.deepEqual(s.last.actions, []);
  assert.equal(s.status.nodes?.a?.cache, 'Disabled');
});

const SERIAL = { version: 'v1', serialize: true };

test('serialize: two nodes of one workflow with the same key run one pod; the other takes its outputs', () => {
  const inputs = { n: { value: 3 }, run: { value: 'same' }, opts: { value: {} } };
  const s = sim({ tasks: { sq: sqTask(SERIAL) }, nodes: { a: { task: 'sq', inputs }, b: { task: 'sq', inputs } } });
  s.step();
  assert.deepEqual(actionSummary(s.last), ['ReserveCache a', 'ReserveCache b'], 'both ask; the API server lets one create the entry');
  assert.equal(s.last.requeueAfterMs, 0, 'look again at once to see who holds it');
  assert.equal(s.cache.size, 1);
  const name = [...s.cache.keys()][0]!;
  assert.deepEqual({ ...s.status.nodes }, { a: { phase: 'Pending', message: `reserving cache entry ${name}` }, b: { phase: 'Pending', message: `reserving cache entry ${name}` } });
  assert.deepEqual(s.cache.get(name)?.reservedBy, { workflow: 'wf', uid: 'wf-uid', node: 'a', until: at(30_000) });

  s.advance(1000);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-0']);
  assert.equal(s.status.nodes?.a?.cache, 'Miss');
  assert.deepEqual(s.status.nodes?.b, { phase: 'Pending', message: `waiting for the cache: wf (node a) is computing entry ${name}; its reservation lasts until ${at(30_000)}` });
  assert.deepEqual(s.last.waitingFor, [name]);
  assert.equal(s.last.requeueAfterMs, 29_000);

  s.advance(1000);
  s.succeed('a');
  s.step();
  assert.deepEqual(actionSummary(s.last), ['WriteCache a']);
  s.advance(1000);
  s.step();
  assert.equal(s.phase, 'Succeeded');
  assert.equal(s.status.nodes?.b?.cache, 'Hit');
  assert.deepEqual(s.status.nodes?.b?.outputs, { o: 9 });
  assert.equal(s.pods.size, 1);
  assert.deepEqual(s.creates().map((c) => c.node), ['a']);
  assert.equal(s.status.progress, '2/2 (1 cached)');
});

test('serialize: a holder waiting for a maxParallelism slot keeps its reservation, so the computation still runs once', () => {
  const inputs = { n: { value: 3 }, run: { value: 'same' }, opts: { value: {} } };
  const s = sim({ maxParallelism: 1, tasks: { sq: sqTask(SERIAL), t: task() }, nodes: { busy: { task: 't' }, a: { task: 'sq', inputs }, b: { task: 'sq', inputs } } });
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-busy-0', 'ReserveCache a', 'ReserveCache b']);
  const name = [...s.cache.keys()][0]!;
  s.start('busy');
  s.step();
  assert.equal(s.status.nodes?.a?.message, 'waiting: at most 1 task pods run at once (maxParallelism)');
  assert.equal(s.status.nodes?.b?.message, `waiting for the cache: wf (node a) is computing entry ${name}; its reservation lasts until ${at(30_000)}`);
  assert.equal(s.last.requeueAfterMs, 15_000, 'the holder renews at half-time even before it runs');

  // busy holds the only slot for a minute: the holder renews, the waiter keeps waiting.
  for (let i = 0; i < 4; i++) {
    s.advance(15_000);
    s.step();
    assert.deepEqual(actionSummary(s.last), ['RenewCache a'], `at ${15 * (i + 1)} s`);
    assert.equal(s.nodePhase('b'), 'Pending');
  }
  assert.equal(s.cache.get(name)?.reservedBy?.until, at(90_000));
  s.succeed('busy', {});
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-0']);
  s.run();
  assert.equal(s.phase, 'Succeeded');
  assert.deepEqual(s.creates().map((c) => c.node), ['busy', 'a']);
  assert.equal(s.status.nodes?.b?.cache, 'Hit');
});

/** The entry `single(…, SERIAL)` computes, as another execution left it: reserved until `until`, no outputs. */
function heldElsewhere(until: number): CacheEntryView[] {
  const s = sim(single(3, 'r1', {}, SERIAL));
  s.step();
  const entry = [...s.cache.values()][0]!;
  return [{ ...entry, createdBy: { workflow: 'other', node: 'x/y', at: AT0 }, reservedBy: { workflow: 'other', uid: 'other-uid', node: 'x/y', until: at(until) } }];
}

test('a reservation held by another execution: wait with a message, watch the entry, wake when it expires', () => {
  const entries = heldElsewhere(20_000);
  const name = entries[0]!.name;
  const s = sim(single(3, 'r1', {}, SERIAL), {}, entries);
  s.step();
  assert.equal(s.phase, 'Pending');
  assert.deepEqual(s.last.actions, []);
  assert.deepEqual(s.status.nodes?.a, { phase: 'Pending', message: `waiting for the cache: other (node x/y) is computing entry ${name}; its reservation lasts until ${at(20_000)}` });
  assert.equal(s.last.requeueAfterMs, 20_000);
  assert.deepEqual(s.last.waitingFor, [name]);

  // The holder finishes: its outputs are used.
  s.cache.set(name, { ...entries[0]!, resourceVersion: '9', reservedBy: undefined, outputs: { o: 9 } });
  delete s.cache.get(name)!.reservedBy;
  s.advance(5000);
  s.step();
  assert.equal(s.phase, 'Succeeded');
  assert.equal(s.status.nodes?.a?.cache, 'Hit');
  assert.equal(s.pods.size, 0);
});

test('an expired reservation is taken over, then the new holder runs', () => {
  const entries = heldElsewhere(20_000);
  const s = sim(single(3, 'r1', {}, SERIAL), {}, entries);
  s.advance(20_000);
  s.step();
  assert.deepEqual(s.last.actions, [
    {
      type: 'ReserveCache',
      node: 'a',
      entry: {
        name: entries[0]!.name,
        key: entries[0]!.key,
        task: 'sq',
        cacheVersion: 'v1',
        createdBy: { workflow: 'wf', node: 'a', at: at(20_000) },
        reservedBy: { workflow: 'wf', uid: 'wf-uid', node: 'a', until: at(50_000) },
      },
      replacing: entries[0]!.resourceVersion,
    },
  ]);
  assert.equal(s.status.nodes?.a?.message, 'taking over the expired cache reservation of other (node x/y)');
  assert.equal(s.last.requeueAfterMs, 0);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-0']);
  assert.equal(s.status.nodes?.a?.cache, 'Miss');
});

test('the holder renews its reservation at half-time while its pod runs', () => {
  const s = sim(single(3, 'r1', {}, SERIAL));
  s.step();
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-0']);
  const name = [...s.cache.keys()][0]!;
  s.start('a');
  s.advance(1000);
  s.step();
  // Reserved until 30 s: renew at 15 s.
  assert.deepEqual(s.last.actions, []);
  assert.equal(s.last.requeueAfterMs, 14_000);
  s.advance(13_999);
  s.step();
  assert.deepEqual(s.last.actions, []);
  assert.equal(s.last.requeueAfterMs, 1);
  s.advance(1);
  s.step();
  assert.deepEqual(s.last.actions, [{ type: 'RenewCache', node: 'a', name, holder: { workflow: 'wf', uid: 'wf-uid', node: 'a' }, until: at(45_000) }]);
  assert.equal(s.last.requeueAfterMs, 15_000);
  assert.equal(s.cache.get(name)?.reservedBy?.until, at(45_000));
  s.advance(15_000);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['RenewCache a']);
});

test('a holder that fails for good gives its reservation back', () => {
  const s = sim(single(3, 'r1', {}, SERIAL));
  s.step();
  s.step();
  const name = [...s.cache.keys()][0]!;
  s.fail('a', 1);
  s.step();
  assert.equal(s.phase, 'Failed');
  assert.deepEqual(s.last.actions, [{ type: 'ReleaseCache', node: 'a', name, holder: { workflow: 'wf', uid: 'wf-uid', node: 'a' } }]);
  assert.equal(s.cache.size, 0);
});

test('a holder that will retry keeps its reservation, renewing it through a long backoff', () => {
  const spec = single(3, 'r1', {}, SERIAL);
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 1;
  const s = sim(spec, { config: { backoffBaseMs: 40_000, backoffMaxMs: 60_000 } });
  s.step();
  s.step();
  const name = [...s.cache.keys()][0]!;
  s.fail('a', 1);
  s.step();
  assert.equal(s.nodePhase('a'), 'Retrying');
  assert.deepEqual(s.last.actions, []);
  assert.equal(s.last.requeueAfterMs, 15_000, 'the renewal comes before the next attempt');
  s.advance(15_000);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['RenewCache a']);
  assert.equal(s.cache.get(name)?.reservedBy?.until, at(45_000));
  assert.equal(s.last.requeueAfterMs, 15_000);
  s.advance(15_000);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['RenewCache a']);
  assert.equal(s.cache.get(name)?.reservedBy?.until, at(60_000));
  assert.equal(s.last.requeueAfterMs, 10_000, 'the backoff ends at 40 s');
  s.advance(10_000);
  s.step();
  assert.deepEqual(actionSummary(s.last), ['create wf-a-1']);
});

/** Plans once more with the outcomes of the last round's actions, as the controller does when some failed. */
function settle(s: Sim, outcomes: ActionOutcome[]): PlanResult {
  const result = plan({ workflow: { ...s.workflow, status: structuredClone(s.status) }, pods: [...s.pods.values()], now: s.now, config: s.config, plugins: PLUGINS, cache: new Map(s.cache), outcomes });
  s.workflow.status = structuredClone(result.status);
  return result;
}

test('a cache write that failed while the workflow runs on: the node says Miss and why; it is not retried (a later run misses)', () => {
  const spec = single();
  (spec.tasks as Record<string, unknown>).t = task();
  (spec.nodes as Record<string, unknown>).other = { task: 't' };
  const s = sim(spec);
  s.step();
  s.succeed('a');
  s.step();
  assert.equal(s.phase, 'Running');
  const write = s.last.actions.find((a) => a.type === 'WriteCache')!;
  s.cache.clear();
  assert.ok(write.type === 'WriteCache');
  if (write.type !== 'WriteCache') return;
  const result = settle(s, [{ action: write, ok: false, failure: { kind: 'Transient', message: 'etcd timed out' } }]);
  assert.equal(s.status.nodes?.a?.message, `could not write cache entry ${write.entry.name}: etcd timed out`);
  assert.equal(s.status.nodes?.a?.cache, 'Miss');
  assert.equal(s.nodePhase('a'), 'Succeeded');
  assert.deepEqual(result.actions, []);
  assert.equal(result.retry, undefined);
});

test('a cache write that failed in the round that finished the workflow still shows on the node', () => {
  const s = sim(single());
  s.step();
  s.succeed('a');
  s.step();
  assert.equal(s.phase, 'Succeeded');
  const write = s.last.actions.find((a) => a.type === 'WriteCache')!;
  assert.ok(write.type === 'WriteCache');
  if (write.type !== 'WriteCache') return;
  s.cache.clear();
  const before = structuredClone(s.status);
  const result = settle(s, [{ action: write, ok: false, failure: { kind: 'Transient', message: 'etcd timed out' } }]);
  assert.deepEqual(result.actions, []);
  assert.deepEqual(result.events, []);
  assert.deepEqual(s.status, {
    ...before,
    nodes: { a: { ...before.nodes!.a!, cache: 'Miss', message: `could not write cache entry ${write.entry.name}: etcd timed out` } },
  });
});

test('a serialized holder whose pod the API server refuses gives its reservation back in the round that settles it', () => {
  const s = sim(single(3, 'r1', { a: 1, b: 2 }, SERIAL));
  s.step(); // reserves
  s.step(); // holds it: asks for its pod
  const create = s.last.actions.find((a) => a.type === 'CreatePod');
  assert.ok(create, 'the holder asked for its pod');
  s.pods.clear();
  const result = settle(s, [{ action: create, ok: false, failure: { kind: 'Rejected', message: 'spec.tolerations[0].operator: Invalid value' } }]);
  assert.equal(s.status.nodes?.a?.phase, 'Failed');
  assert.equal(s.status.nodes?.a?.error?.code, 'PodRejected');
  assert.deepEqual(
    result.actions.filter((a) => a.type === 'ReleaseCache').map((a) => a.node),
    ['a'],
    'the reservation is given back at once, not left to lapse',
  );
});

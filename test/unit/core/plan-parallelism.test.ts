import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionSummary, Sim, T0 } from './sim.ts';
import { sumSpec } from './specs.ts';

const FIVE_ROOTS = { a: [], b: [], c: [], d: [], e: [] };
const at = (ms: number) => new Date(T0 + ms).toISOString();

test('maxParallelism caps task pods active at once; waiting nodes say why', () => {
  const sim = new Sim(sumSpec(FIVE_ROOTS, { maxParallelism: 2 }));
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0', 'create wf-b-0']);
  assert.deepEqual(sim.phases(), { a: 'Queued', b: 'Queued', c: 'Pending', d: 'Pending', e: 'Pending' });
  assert.equal(sim.status.nodes?.c?.message, 'waiting: at most 2 task pods run at once (maxParallelism)');
  assert.equal(sim.status.nodes?.c?.readyAt, at(0));

  sim.start('a');
  sim.advance(1000);
  sim.step();
  assert.deepEqual(sim.last.actions, [], 'Running pods count too');

  sim.succeed('a');
  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-c-0']);
  assert.equal(sim.status.nodes?.c?.message, undefined);
  assert.equal(sim.status.nodes?.c?.readyAt, at(0), 'readyAt keeps when it first became ready');
});

test('maxParallelism holds over a whole run', () => {
  const sim = new Sim(sumSpec({ ...FIVE_ROOTS, f: ['a'], g: ['a'], h: ['f', 'g', 'e'] }, { maxParallelism: 2 }));
  let most = 0;
  sim.run((node) => {
    const active = Object.values(sim.status.nodes ?? {}).filter((ns) => ns.phase === 'Queued' || ns.phase === 'Running').length;
    most = Math.max(most, active);
    sim.succeed(node);
  });
  assert.equal(sim.phase, 'Succeeded');
  assert.equal(most, 2);
});

test('retries wait for a free slot too', () => {
  const spec = sumSpec({ a: [], b: [] }, { maxParallelism: 1 });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 1;
  const sim = new Sim(spec);
  sim.step();
  sim.fail('a');
  sim.step();
  // a is retrying, so its slot went to b.
  assert.deepEqual(actionSummary(sim.last), ['create wf-b-0']);
  sim.advance(1000);
  sim.step();
  assert.deepEqual(sim.last.actions, []);
  sim.succeed('b');
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
});

test('the configured default applies when the spec does not say, and 0 means no limit', () => {
  const limited = new Sim(sumSpec(FIVE_ROOTS), { config: { defaultMaxParallelism: 3 } });
  limited.step();
  assert.equal(limited.last.actions.length, 3);
  const unlimited = new Sim(sumSpec(FIVE_ROOTS, { maxParallelism: 0 }), { config: { defaultMaxParallelism: 3 } });
  unlimited.step();
  assert.equal(unlimited.last.actions.length, 5);
});

test('a pod created before a crash, which the status does not know, is adopted: no second pod for that attempt', () => {
  const sim = new Sim(sumSpec({ a: [], b: ['a'] }));
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0']);
  // The status write was lost in a crash: the pod exists, the status does not know it.
  sim.workflow.status = sim.rounds[0]!.before;
  sim.advance(5000);
  sim.start('a');
  sim.step();
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.nodePhase('a'), 'Running');
  assert.equal(sim.status.nodes?.a?.podName, 'wf-a-0');
  assert.equal(sim.status.nodes?.a?.attempts, 1);
  assert.equal(sim.status.nodes?.a?.attemptStartedAt, at(0), 'the attempt started when the pod was created');
  assert.deepEqual(sim.conflicts, []);
});

test('a retry pod created before a crash is adopted as the newer attempt', () => {
  const spec = sumSpec({ a: [] });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 2;
  const sim = new Sim(spec);
  sim.step();
  sim.fail('a');
  sim.step();
  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
  sim.workflow.status = sim.rounds.at(-1)!.before; // lost: the node still says Retrying after attempt 1
  sim.step();
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.status.nodes?.a?.attempts, 2);
  assert.equal(sim.status.nodes?.a?.podName, 'wf-a-1');
  assert.deepEqual(sim.conflicts, []);
});

test('a live pod of an older attempt that shows up again is deleted', () => {
  const spec = sumSpec({ a: [] });
  (spec.nodes as Record<string, Record<string, unknown>>).a!.retries = 2;
  const sim = new Sim(spec);
  sim.step();
  // The cache missed the new pod: plan took it for gone and moved to attempt 1.
  const first = sim.pod('a');
  sim.pods.delete(first.metadata.name);
  sim.step();
  sim.advance(1000);
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-1']);
  first.status = { phase: 'Running' };
  sim.pods.set(first.metadata.name, first);
  sim.step();
  assert.deepEqual(sim.last.actions, [{ type: 'DeletePod', node: 'a', podName: 'wf-a-0', reason: 'superseded by a newer attempt' }]);
  assert.equal(sim.status.nodes?.a?.attempts, 2);
});

test('pods that are not the propeller\'s (no node annotation or attempt label) are ignored', () => {
  const sim = new Sim(sumSpec({ a: [] }));
  sim.pods.set('other', { metadata: { name: 'other', namespace: 'ns', labels: {} }, spec: { containers: [] }, status: { phase: 'Running' } });
  sim.step();
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0']);
});

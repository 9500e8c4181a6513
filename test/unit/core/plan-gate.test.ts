import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionSummary, Sim, T0, type TaskFn } from './sim.ts';
import { task } from './specs.ts';

const at = (ms: number) => new Date(T0 + ms).toISOString();
const AT0 = at(0);

/** The exact command a waiting gate's message tells people to run. */
const patch = (path: string, payload: string) => `kubectl -n ns patch fwf wf --type merge -p '{"spec":{"signals":{"${path}":${payload}}}}'`;

/** count(v) = number of elements. */
const FNS: Record<string, TaskFn> = { count: ({ v }) => ({ o: (v as unknown[]).length }) };
const COUNT = task({ inputs: { v: 'list[int]' }, outputs: { o: 'int' } });
const t = task({ outputs: { o: 'int' } });

test('a sleep gate waits its time: requeueAfterMs points at the wake-up, then it succeeds and the next node starts', () => {
  const sim = new Sim({ tasks: { t }, nodes: { nap: { gate: { sleep: '90s' } }, after: { task: 't', after: ['nap'] } } });
  sim.step();
  assert.deepEqual(sim.status.nodes?.nap, { phase: 'Running', startedAt: AT0, message: 'sleeping until 2024-05-01T10:01:30.000Z' });
  assert.equal(sim.last.requeueAfterMs, 90_000);
  assert.deepEqual(sim.last.actions, []);
  assert.equal(sim.phase, 'Running');
  assert.equal(sim.status.message, '0/2 nodes succeeded, 1 waiting (nap)');

  sim.advance(60_000);
  sim.step();
  assert.equal(sim.nodePhase('nap'), 'Running');
  assert.equal(sim.last.requeueAfterMs, 30_000);

  sim.advance(30_000);
  sim.step();
  assert.deepEqual(sim.status.nodes?.nap, { phase: 'Succeeded', startedAt: AT0, outputs: {}, finishedAt: at(90_000) });
  assert.deepEqual(actionSummary(sim.last), ['create wf-after-0']);
  assert.equal(sim.status.progress, '1/2');
});

/** review: an approve gate passing n (a workflow input) and m (p's output); u reads them after approval. */
function approveSpec(): Record<string, unknown> {
  return {
    interface: { inputs: { n: 'list[int]' }, outputs: { r: 'int' } },
    inputs: { n: [1, 2] },
    tasks: { p: task({ outputs: { o: 'list[int]' } }), count: COUNT },
    nodes: {
      p: { task: 'p' },
      review: { gate: { approve: { description: 'check the numbers' } }, inputs: { n: { from: 'inputs.n' }, m: { from: 'p.o' } } },
      u: { task: 'count', inputs: { v: { from: 'review.m' } } },
    },
    outputs: { r: { from: 'u.o' } },
  };
}

test('an approve gate waits with the exact kubectl command, and on approval passes its inputs through as outputs', () => {
  const sim = new Sim(approveSpec(), { tasks: FNS });
  sim.step();
  assert.equal(sim.nodePhase('review'), 'Pending', 'it waits for its upstream first');
  sim.advance(1000);
  sim.succeed('p', { o: [7, 8, 9] });
  sim.step();
  assert.deepEqual(sim.status.nodes?.review, {
    phase: 'Running',
    startedAt: at(1000),
    message: `waiting for approval (check the numbers): ${patch('review', '{"approved":true}')}`,
  });
  assert.equal(sim.status.message, '1/3 nodes succeeded, 1 waiting (review)');
  assert.equal(sim.last.requeueAfterMs, undefined, 'no timeout: a signal is what wakes it');

  sim.step();
  assert.equal(sim.last.events.length, 0);

  sim.advance(1000);
  sim.signal('review', { approved: true, reason: 'lgtm' });
  sim.step();
  assert.deepEqual(sim.status.nodes?.review, {
    phase: 'Succeeded',
    startedAt: at(1000),
    message: 'approved: lgtm',
    outputs: { n: [1, 2], m: [7, 8, 9] },
    finishedAt: at(2000),
    gate: { decision: 'Approved', at: at(2000), detail: 'lgtm' },
  });
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason, e.message, e.node]), [['Normal', 'GateApproved', 'approved: lgtm', 'review']]);
  assert.deepEqual(actionSummary(sim.last), ['create wf-u-0']);
  assert.deepEqual(sim.inputsOf(sim.pod('u')), { v: [7, 8, 9] });
  sim.succeed('u');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.outputs, { r: 3 });
});

test('an approval without a reason succeeds with message "approved" and no detail', () => {
  const sim = new Sim({ tasks: { t }, nodes: { review: { gate: { approve: {} } } } });
  sim.step();
  assert.equal(sim.status.nodes?.review?.message, `waiting for approval: ${patch('review', '{"approved":true}')}`);
  sim.signal('review', { approved: true });
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.nodes?.review, { phase: 'Succeeded', startedAt: AT0, message: 'approved', outputs: {}, finishedAt: AT0, gate: { decision: 'Approved', at: AT0 } });
});

test('a rejection fails the gate (GateRejected) with the reason, and the workflow with it', () => {
  const sim = new Sim({ tasks: { t }, nodes: { review: { gate: { approve: {} } }, after: { task: 't', after: ['review'] } } });
  sim.step();
  sim.signal('review', { approved: false, reason: 'numbers are off' });
  sim.advance(5000);
  sim.step();
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.nodes?.review, {
    phase: 'Failed',
    startedAt: AT0,
    message: 'rejected: numbers are off',
    gate: { decision: 'Rejected', at: at(5000), detail: 'numbers are off' },
    finishedAt: at(5000),
    error: { kind: 'User', code: 'GateRejected', message: 'rejected: numbers are off', node: 'review' },
  });
  assert.deepEqual(sim.status.nodes?.after, { phase: 'Skipped', finishedAt: at(5000), message: 'not run: node "review" failed: rejected: numbers are off' });
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'GateRejected', message: 'node "review" failed: rejected: numbers are off', node: 'review' });
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason, e.message, e.node]), [
    ['Warning', 'GateRejected', 'rejected: numbers are off', 'review'],
    ['Warning', 'NodeFailed', 'rejected: numbers are off', 'review'],
    ['Warning', 'Failed', 'node "review" failed: rejected: numbers are off', undefined],
  ]);
});

test('a rejection without a reason says so', () => {
  const sim = new Sim({ tasks: { t }, nodes: { review: { gate: { approve: {} } } } });
  sim.step();
  sim.signal('review', { approved: false });
  sim.step();
  assert.equal(sim.status.message, 'node "review" failed: rejected (no reason given)');
  assert.deepEqual(sim.status.nodes?.review?.gate, { decision: 'Rejected', at: AT0 });
});

/** pick: a signal gate for a list[int]; u counts what was picked. */
function signalSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: { outputs: { r: 'int' } },
    tasks: { count: COUNT },
    nodes: { pick: { gate: { signal: { type: 'list[int]', description: 'which ones' } }, ...extra }, u: { task: 'count', inputs: { v: { from: 'pick.value' } } } },
    outputs: { r: { from: 'u.o' } },
  };
}

test('a signal gate succeeds with the value sent, typed, and the value flows downstream', () => {
  const sim = new Sim(signalSpec(), { tasks: FNS });
  sim.step();
  assert.deepEqual(sim.status.nodes?.pick, {
    phase: 'Running',
    startedAt: AT0,
    message: `waiting for a value of type list[int] (which ones): ${patch('pick', '{"value":...}')}`,
  });
  sim.advance(1000);
  sim.signal('pick', { value: [3, 4, 5] });
  sim.step();
  assert.deepEqual(sim.status.nodes?.pick, {
    phase: 'Succeeded',
    startedAt: AT0,
    message: 'received list of 3',
    outputs: { value: [3, 4, 5] },
    finishedAt: at(1000),
    gate: { decision: 'Received', at: at(1000) },
  });
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason, e.message, e.node]), [['Normal', 'SignalReceived', 'received list of 3', 'pick']]);
  assert.deepEqual(sim.inputsOf(sim.pod('u')), { v: [3, 4, 5] });
  sim.succeed('u');
  sim.step();
  assert.deepEqual(sim.status.outputs, { r: 3 });
});

test('a signal sent before the gate is reached is used as soon as it is', () => {
  const spec = signalSpec({ after: ['a'] });
  (spec.tasks as Record<string, unknown>).t = t;
  (spec.nodes as Record<string, unknown>).a = { task: 't' };
  const sim = new Sim(spec, { tasks: FNS });
  sim.signal('pick', { value: [42] });
  sim.step();
  assert.deepEqual(sim.phases(), { pick: 'Pending', u: 'Pending', a: 'Queued' });
  sim.advance(1000);
  sim.succeed('a', { o: 1 });
  sim.step();
  assert.deepEqual(sim.status.nodes?.pick, {
    phase: 'Succeeded',
    startedAt: at(1000),
    outputs: { value: [42] },
    finishedAt: at(1000),
    message: 'received list of 1',
    gate: { decision: 'Received', at: at(1000) },
  });
  assert.deepEqual(actionSummary(sim.last), ['create wf-u-0']);
  assert.deepEqual(sim.inputsOf(sim.pod('u')), { v: [42] });
});

test('a value of the wrong type is refused once, however many rounds see it; a corrected value passes', () => {
  const sim = new Sim(signalSpec(), { tasks: FNS });
  sim.step();
  sim.advance(1000);
  sim.signal('pick', { value: ['x'] });
  sim.step();
  const detail = 'the value does not fit: at [0]: expected int, got str "x"';
  const refused = {
    phase: 'Running',
    startedAt: AT0,
    message: `signal refused: ${detail}; still waiting (patch spec.signals again)`,
    gate: { decision: 'Refused', at: at(1000), detail },
  };
  assert.deepEqual(sim.status.nodes?.pick, refused);
  assert.deepEqual(sim.last.events.map((e) => [e.type, e.reason, e.message, e.node]), [['Warning', 'SignalRefused', `signal refused: ${detail}`, 'pick']]);
  assert.equal(sim.phase, 'Running');
  assert.equal(sim.status.message, '0/2 nodes succeeded, 1 waiting (pick)');

  for (let i = 0; i < 5; i++) {
    sim.advance(1000);
    sim.step();
  }
  assert.equal(sim.rounds.flatMap((r) => r.result.events).filter((e) => e.reason === 'SignalRefused').length, 1);
  assert.deepEqual(sim.status.nodes?.pick, refused, 'the first refusal stands as it was');

  sim.signal('pick', { value: [1, 2] });
  sim.step();
  assert.equal(sim.nodePhase('pick'), 'Succeeded');
  assert.deepEqual(sim.status.nodes?.pick?.gate, { decision: 'Received', at: at(6000) });
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['SignalReceived']);
});

test('signals of the wrong shape are refused, each distinct refusal announced once', () => {
  const sim = new Sim(signalSpec(), { tasks: FNS });
  sim.step();
  sim.signal('pick', { approved: true });
  sim.step();
  sim.step();
  sim.signal('pick', {});
  sim.step();
  sim.step();
  assert.deepEqual(sim.rounds.flatMap((r) => r.result.events).filter((e) => e.reason === 'SignalRefused').map((e) => e.message), [
    'signal refused: this gate waits for a value of type list[int] in {value: ...}, not an approval',
    'signal refused: the signal has no value; send {value: ...} of type list[int]',
  ]);
  assert.equal(sim.nodePhase('pick'), 'Running');

  const approve = new Sim({ tasks: { t }, nodes: { review: { gate: { approve: {} } } } });
  approve.step();
  approve.signal('review', { value: 3 });
  approve.step();
  approve.step();
  assert.deepEqual(approve.rounds.flatMap((r) => r.result.events).filter((e) => e.reason === 'SignalRefused').map((e) => e.message), [
    'signal refused: this gate waits for an approval, {approved: true} or {approved: false, reason: "..."}, not a value',
  ]);
  assert.equal(approve.status.nodes?.review?.gate?.decision, 'Refused');
});

test('a refused signal that is removed leaves the gate simply waiting again', () => {
  const sim = new Sim(signalSpec(), { tasks: FNS });
  sim.step();
  const waiting = structuredClone(sim.status.nodes?.pick);
  sim.signal('pick', { value: 'nope' });
  sim.step();
  assert.equal(sim.status.nodes?.pick?.gate?.decision, 'Refused');
  sim.signal('pick', undefined);
  sim.step();
  assert.deepEqual(sim.status.nodes?.pick, waiting);
  assert.equal(sim.last.events.length, 0);
  // The same wrong value sent again is a new refusal.
  sim.signal('pick', { value: 'nope' });
  sim.step();
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['SignalRefused']);
});

test('a gate past its timeout fails with GateTimedOut; requeueAfterMs points at the deadline', () => {
  const sim = new Sim(signalSpec({ timeout: '10m' }), { tasks: FNS });
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 600_000);
  sim.advance(599_999);
  sim.step();
  assert.equal(sim.nodePhase('pick'), 'Running');
  assert.equal(sim.last.requeueAfterMs, 1);
  sim.advance(1);
  sim.step();
  const message = 'the gate waited longer than its timeout of 10m';
  assert.equal(sim.phase, 'Failed');
  assert.deepEqual(sim.status.nodes?.pick, { phase: 'Failed', startedAt: AT0, message, finishedAt: at(600_000), error: { kind: 'User', code: 'GateTimedOut', message, node: 'pick' } });
  assert.deepEqual(sim.status.error, { kind: 'User', code: 'GateTimedOut', message: `node "pick" failed: ${message}`, node: 'pick' });
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['NodeFailed', 'Failed']);
});

test('a timeout counts from when the gate started, not from the workflow start', () => {
  const sim = new Sim({ tasks: { t }, nodes: { a: { task: 't' }, review: { gate: { approve: {} }, timeout: '1m', after: ['a'] } } });
  sim.step();
  sim.advance(30_000);
  sim.succeed('a', { o: 1 });
  sim.step();
  assert.equal(sim.last.requeueAfterMs, 60_000);
  sim.advance(59_000);
  sim.step();
  assert.equal(sim.nodePhase('review'), 'Running');
  sim.advance(1000);
  sim.step();
  assert.equal(sim.status.nodes?.review?.error?.code, 'GateTimedOut');
});

test('gates in a branch arm and in a subworkflow wait for signals keyed by their paths', () => {
  const spec = {
    interface: { inputs: { x: 'int' }, outputs: { r: 'float', q: 'int' } },
    inputs: { x: 1 },
    tasks: { inc: task({ inputs: { v: 'float' }, outputs: { o: 'float' } }) },
    subworkflows: { s: { interface: { outputs: { v: 'int' } }, nodes: { ask: { gate: { signal: { type: 'int' } } } }, outputs: { v: { from: 'ask.value' } } } },
    nodes: {
      b: { inputs: { x: { from: 'inputs.x' } }, branch: { cases: [{ when: 'x == 1', then: { gate: { signal: { type: 'int' } } } }], else: { gate: { signal: { type: 'float' } } } } },
      sub: { subworkflow: 's' },
      w: { task: 'inc', inputs: { v: { from: 'b.value' } } },
    },
    outputs: { r: { from: 'w.o' }, q: { from: 'sub.v' } },
  };
  const sim = new Sim(spec, { tasks: { inc: ({ v }) => ({ o: (v as number) + 1 }) } });
  sim.step();
  assert.deepEqual(sim.phases(), { b: 'Running', sub: 'Running', w: 'Pending', 'b/else': 'Skipped', 'b/case-0': 'Running', 'sub/ask': 'Running' });
  assert.equal(sim.status.nodes?.['b/case-0']?.message, `waiting for a value of type int: ${patch('b/case-0', '{"value":...}')}`);
  assert.equal(sim.status.nodes?.['sub/ask']?.message, `waiting for a value of type int: ${patch('sub/ask', '{"value":...}')}`);
  assert.equal(sim.status.message, '0/5 nodes succeeded, 2 running, 2 waiting (sub/ask, b/case-0)');

  // A signal keyed by the branch's own path is for no gate: it changes nothing, and says so once.
  sim.signal('b', { value: 1 });
  sim.signal('sub/ask', { value: 5 });
  sim.step();
  assert.deepEqual(sim.phases(), { b: 'Running', sub: 'Succeeded', w: 'Pending', 'b/else': 'Skipped', 'b/case-0': 'Running', 'sub/ask': 'Succeeded' });
  assert.deepEqual(sim.status.nodes?.sub?.outputs, { v: 5 });
  assert.deepEqual(sim.last.events.map((e) => [e.reason, e.node]), [['SignalUnknown', undefined], ['SignalReceived', 'sub/ask']]);
  assert.equal(sim.last.events[0]?.message, 'spec.signals: "b" is a branch node, not a gate; the signal is ignored');
  sim.step();
  assert.deepEqual(sim.last.events, [], 'the warning is not repeated while the spec stays the same');

  sim.signal('b/case-0', { value: 7 });
  sim.step();
  assert.deepEqual(sim.status.nodes?.b?.outputs, { value: 7 });
  assert.deepEqual(sim.inputsOf(sim.pod('w')), { v: 7 });
  sim.succeed('w');
  sim.step();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.outputs, { r: 8, q: 5 });
});

test('the workflow message lists at most three waiting gates', () => {
  const gates = Object.fromEntries(['g1', 'g2', 'g3', 'g4'].map((g) => [g, { gate: { approve: {} } }]));
  const sim = new Sim({ tasks: { t }, nodes: { ...gates, a: { task: 't' } } });
  sim.step();
  assert.equal(sim.status.message, '0/5 nodes succeeded, 1 queued, 4 waiting (g1, g2, g3, …)');
  sim.signal('g2', { approved: true });
  sim.step();
  assert.equal(sim.status.message, '1/5 nodes succeeded, 1 queued, 3 waiting (g1, g3, g4)');
});

test('gates take no maxParallelism slot', () => {
  const sim = new Sim({ maxParallelism: 1, tasks: { t }, nodes: { g: { gate: { approve: {} } }, s: { gate: { sleep: '1m' } }, a: { task: 't' } } });
  sim.step();
  assert.deepEqual(sim.phases(), { g: 'Running', s: 'Running', a: 'Queued' });
  assert.deepEqual(actionSummary(sim.last), ['create wf-a-0']);
});

test('abort stops a waiting gate', () => {
  const sim = new Sim({ tasks: { t }, nodes: { g: { gate: { approve: {} } } } });
  sim.step();
  (sim.workflow.spec as Record<string, unknown>).abort = true;
  sim.step();
  assert.equal(sim.phase, 'Aborted');
  assert.deepEqual(sim.status.nodes?.g, { phase: 'Aborted', startedAt: AT0, message: 'stopped: aborted: spec.abort is true', finishedAt: AT0 });
});

test('a malformed signal (nested too deep, a "__proto__" key) is refused at its gate and never fails the running workflow', () => {
  const sim = new Sim({ tasks: { t: task({ outputs: { o: 'int' } }) }, nodes: { a: { task: 't' }, g: { gate: { signal: { type: 'dict' } } } } }, { tasks: { t: () => ({ o: 1 }) } });
  sim.step();
  let deep: unknown = 1;
  for (let i = 0; i < 250; i++) deep = { d: deep };
  sim.signal('g', { value: deep });
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.equal(sim.nodePhase('g'), 'Running');
  assert.equal(sim.status.nodes?.g?.gate?.decision, 'Refused');
  assert.equal(sim.status.nodes?.g?.gate?.detail, 'the signal is nested more than 200 levels deep');
  assert.deepEqual(sim.last.events.map((e) => e.reason), ['SignalRefused']);

  sim.signal('g', JSON.parse('{"value": {"__proto__": {"polluted": true}}}'));
  sim.step();
  assert.equal(sim.phase, 'Running');
  assert.equal(sim.status.nodes?.g?.gate?.detail, 'value.__proto__: "__proto__" is not allowed as a name');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);

  sim.signal('g', { value: { ok: true } });
  sim.run();
  assert.equal(sim.phase, 'Succeeded');
  assert.deepEqual(sim.status.nodes?.g?.outputs, { value: { ok: true } });
});

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LeaderElector } from '../../../src/controller/leader-elector.ts';
import type { Lease, LeaseStore } from '../../../src/k8s/lease-store.ts';
import { AsyncFakeClock, memoryLogger, settle } from './helpers.ts';
import { FakeLeaseStore, conflict, serverError, transportError, type Fault, type StoreOp } from './fake-lease-store.ts';

const LEASE = 15_000;
const DEADLINE = 10_000;
const RETRY = 2_000;

interface Handle {
  elector: LeaderElector;
  abort: AbortController;
  startedAt: number | undefined;
  result: boolean | undefined;
  done: Promise<boolean>;
  lines: () => Record<string, unknown>[];
}

function startElector(clock: AsyncFakeClock, store: LeaseStore, identity: string, opts: { skewMs?: number } = {}): Handle {
  const { log, lines } = memoryLogger();
  const elector = new LeaderElector({
    store,
    namespace: 'ns',
    name: 'l',
    identity,
    leaseDurationMs: LEASE,
    renewDeadlineMs: DEADLINE,
    retryPeriodMs: RETRY,
    log,
    now: () => clock.now() + (opts.skewMs ?? 0),
    wait: clock.wait,
  });
  const abort = new AbortController();
  const handle: Handle = { elector, abort, startedAt: undefined, result: undefined, done: undefined as unknown as Promise<boolean>, lines };
  handle.done = elector.run(abort.signal, () => {
    assert.equal(handle.startedAt, undefined, 'onStarted is called once');
    assert.ok(elector.isLeader(), 'isLeader() is true when onStarted runs');
    handle.startedAt = clock.now();
  });
  void handle.done.then((r) => (handle.result = r));
  return handle;
}

const warnings = (h: Handle) => h.lines().filter((l) => (l['level'] as number) >= 40);
/** No jitter: the campaign waits exactly retryPeriod. */
const noJitter = (t: TestContext) => t.mock.method(Math, 'random', () => 0);

describe('LeaderElector', () => {
  test('creates the lease when there is none and leads at once', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock(1_700_000_000_000);
    const store = new FakeLeaseStore();
    const a = startElector(clock, store.view('a'), 'a');
    await settle();
    assert.equal(a.startedAt, clock.now());
    assert.ok(a.elector.isLeader());
    assert.equal(store.writes.length, 1);
    assert.equal(store.writes[0]!.op, 'create');
    const spec = store.lease!.spec;
    assert.equal(spec.holderIdentity, 'a');
    assert.equal(spec.leaseDurationSeconds, 15);
    assert.equal(spec.leaseTransitions, 0);
    assert.equal(spec.renewTime, '2023-11-14T22:13:20.000000Z', 'MicroTime with six fractional digits');
    assert.equal(spec.acquireTime, spec.renewTime);
    a.abort.abort();
    assert.equal(await a.done, false);
  });

  test('renews every retry period, keeping acquireTime and transitions', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock(1_700_000_000_000);
    const store = new FakeLeaseStore();
    const a = startElector(clock, store.view('a'), 'a');
    await settle();
    const acquired = store.lease!.spec.acquireTime;
    for (let i = 1; i <= 5; i++) {
      await clock.advance(RETRY);
      assert.equal(store.writes.length, 1 + i);
      assert.equal(store.lease!.spec.renewTime, new Date(clock.now()).toISOString().replace('Z', '000Z'));
    }
    assert.equal(store.lease!.spec.acquireTime, acquired);
    assert.equal(store.lease!.spec.leaseTransitions, 0);
    assert.ok(a.elector.isLeader());
    assert.deepEqual(warnings(a), []);
    a.abort.abort();
    await a.done;
  });

  test('a second elector never acquires while the first keeps renewing', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    const a = startElector(clock, store.view('a'), 'a');
    await settle();
    const b = startElector(clock, store.view('b'), 'b');
    await clock.advance(20 * LEASE);
    assert.ok(a.elector.isLeader());
    assert.ok(!b.elector.isLeader());
    assert.equal(b.startedAt, undefined);
    assert.ok(store.writes.every((w) => w.by === 'a'));
    assert.ok(store.calls.filter((c) => c.by === 'b').length >= 100, 'b kept trying');
    assert.deepEqual(warnings(b), [], 'a lease held by another is not an error');
    a.abort.abort();
    b.abort.abort();
    await Promise.all([a.done, b.done]);
  });

  test('an elector whose clock is far behind or ahead behaves the same', async (t) => {
    noJitter(t);
    for (const skewMs of [-86_400_000 * 365, 86_400_000 * 365]) {
      const clock = new AsyncFakeClock(1_700_000_000_000);
      const store = new FakeLeaseStore();
      const a = startElector(clock, store.view('a'), 'a');
      await settle();
      const b = startElector(clock, store.view('b'), 'b', { skewMs });
      await clock.advance(5 * LEASE);
      assert.ok(a.elector.isLeader() && !b.elector.isLeader(), `skew ${skewMs}`);
      a.abort.abort();
      b.abort.abort();
      await Promise.all([a.done, b.done]);
    }
  });

  test('a holder whose renewTime is far in the past but keeps changing is never taken over', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock(1_700_000_000_000);
    const store = new FakeLeaseStore();
    // Someone with a clock decades behind renews every retry period.
    let renewals = 0;
    const renew = () => store.put({ holderIdentity: 'skewed', leaseDurationSeconds: 15, renewTime: new Date(Date.UTC(1990, 0, 1) + renewals++ * 2000).toISOString() });
    renew();
    const b = startElector(clock, store.view('b'), 'b');
    for (let i = 0; i < 50; i++) {
      await clock.advance(RETRY);
      renew();
    }
    assert.ok(!b.elector.isLeader());
    assert.equal(b.startedAt, undefined);
    assert.equal(store.lease!.spec.holderIdentity, 'skewed');
    b.abort.abort();
    assert.equal(await b.done, false);
  });

  test('a holder with a future renewTime that stops renewing is taken over after the lease duration on our clock', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock(1_700_000_000_000);
    const t0 = clock.now();
    const store = new FakeLeaseStore();
    store.put({ holderIdentity: 'ahead', leaseDurationSeconds: 15, acquireTime: '2100-01-01T00:00:00.000000Z', renewTime: '2100-01-01T00:00:00.000000Z', leaseTransitions: 4 });
    const b = startElector(clock, store.view('b'), 'b');
    await clock.advance(LEASE - 1);
    assert.ok(!b.elector.isLeader(), 'not before the lease duration has passed since b first saw the record');
    await clock.advance(RETRY + 1);
    assert.ok(b.elector.isLeader());
    assert.ok(b.startedAt! >= t0 + LEASE && b.startedAt! <= t0 + LEASE + RETRY, `took over at +${b.startedAt! - t0} ms`);
    assert.equal(store.lease!.spec.holderIdentity, 'b');
    assert.equal(store.lease!.spec.leaseTransitions, 5);
    assert.equal(store.lease!.spec.acquireTime, new Date(b.startedAt!).toISOString().replace('Z', '000Z'));
    b.abort.abort();
    await b.done;
  });

  test('the lease duration written by the holder is the one that counts', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    store.put({ holderIdentity: 'other', leaseDurationSeconds: 60, renewTime: '2000-01-01T00:00:00.000000Z' });
    const b = startElector(clock, store.view('b'), 'b');
    await clock.advance(59_000);
    assert.ok(!b.elector.isLeader());
    await clock.advance(RETRY * 2);
    assert.ok(b.elector.isLeader());
    b.abort.abort();
    await b.done;
  });

  test('a leader whose renewals fail steps down at the renew deadline and run resolves true', async (t) => {
    noJitter(t);
    for (const error of [serverError(), transportError(), conflict()]) {
      const clock = new AsyncFakeClock();
      const store = new FakeLeaseStore();
      let failing = false;
      const a = startElector(clock, store.view('a', (op) => (failing && op === 'update' ? { kind: 'error', error } : { kind: 'ok' })), 'a');
      await clock.advance(3 * RETRY);
      const lastRenewAt = clock.now();
      assert.equal(store.writes.length, 4);
      failing = true;
      await clock.advance(DEADLINE - 1);
      assert.ok(a.elector.isLeader(), 'still leading just before the deadline');
      assert.equal(a.result, undefined);
      await clock.advance(1);
      assert.ok(!a.elector.isLeader(), `stepped down exactly at the deadline (${error.message})`);
      assert.equal(a.result, true);
      assert.ok(a.lines().some((l) => l['msg'] === 'could not renew the leader lease in time; stepping down'));
      assert.equal(clock.now() - lastRenewAt, DEADLINE);
      // Stepping down is final for this run: nothing more is written.
      const writes = store.writes.length;
      await clock.advance(5 * LEASE);
      assert.equal(store.writes.length, writes);
      // Having lost leadership, there is nothing to release.
      await a.elector.release();
      assert.equal(store.writes.length, writes);
    }
  });

  test('a leader whose renewal request hangs still steps down at the renew deadline', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    let hang = false;
    const a = startElector(clock, store.view('a', (op) => (hang && op === 'update' ? { kind: 'hang' } : { kind: 'ok' })), 'a');
    await clock.advance(RETRY);
    const lastRenewAt = clock.now();
    hang = true;
    await clock.advance(DEADLINE - 1);
    assert.ok(a.elector.isLeader());
    await clock.advance(1);
    assert.ok(!a.elector.isLeader(), 'a hanging request must not keep it leading');
    assert.equal(a.result, true);
    assert.equal(clock.now() - lastRenewAt, DEADLINE);
  });

  test('a slow renewal counts from when it was sent', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore((ms) => clock.wait(ms));
    let slow = false;
    // Each update is applied at once but its answer takes 1.5 s; gets then fail, so the next renewals fail.
    let failGets = false;
    const a = startElector(
      clock,
      store.view('a', (op): Fault => (failGets && op === 'get' ? { kind: 'error', error: serverError() } : slow && op === 'update' ? { kind: 'ok', afterMs: 1500 } : { kind: 'ok' })),
      'a',
    );
    await settle();
    slow = true;
    await clock.advance(RETRY); // renewal sent at 2000, answered at 3500
    const sentAt = RETRY;
    await clock.advance(1500);
    failGets = true;
    await clock.advance(sentAt + DEADLINE - clock.now() - 1);
    assert.ok(a.elector.isLeader());
    await clock.advance(1);
    assert.ok(!a.elector.isLeader(), 'the deadline runs from when the renewal was sent, not answered');
  });

  test('losing the create race and update conflicts are lost races, not errors', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore((ms) => clock.wait(ms));
    // Both read "no lease" before either creates it.
    const slowCreate = (op: StoreOp): Fault => (op === 'create' ? { kind: 'ok', beforeMs: 10 } : { kind: 'ok' });
    const a = startElector(clock, store.view('a', slowCreate), 'a');
    const b = startElector(clock, store.view('b', slowCreate), 'b');
    await clock.advance(10);
    assert.equal([a, b].filter((h) => h.elector.isLeader()).length, 1);
    assert.equal(store.writes.length, 1);
    // The loser keeps campaigning quietly.
    await clock.advance(3 * LEASE);
    assert.equal([a, b].filter((h) => h.elector.isLeader()).length, 1);
    assert.deepEqual([...warnings(a), ...warnings(b)], []);

    // An update conflict while renewing is not logged either.
    let once = true;
    const clock2 = new AsyncFakeClock();
    const store2 = new FakeLeaseStore();
    const c = startElector(clock2, store2.view('c', (op) => (op === 'update' && once ? ((once = false), { kind: 'error', error: conflict() }) : { kind: 'ok' })), 'c');
    await clock2.advance(2 * RETRY);
    assert.ok(c.elector.isLeader());
    assert.deepEqual(warnings(c), []);
    // Other errors are logged.
    const d = startElector(clock2, store2.view('d', () => ({ kind: 'error', error: serverError() })), 'd');
    await clock2.advance(RETRY * 2);
    assert.ok(warnings(d).some((l) => l['msg'] === 'leader election attempt failed'));
    for (const h of [a, b, c, d]) h.abort.abort();
    await Promise.all([a.done, b.done, c.done, d.done]);
  });

  test('release clears the holder so a standby takes over at its next attempt', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    const a = startElector(clock, store.view('a'), 'a');
    await settle();
    const b = startElector(clock, store.view('b'), 'b');
    await clock.advance(5 * RETRY);
    a.abort.abort();
    assert.equal(await a.done, false);
    await a.elector.release();
    assert.ok(!a.elector.isLeader());
    assert.equal(store.lease!.spec.holderIdentity, null);
    assert.equal(store.lease!.spec.leaseDurationSeconds, 1);
    assert.ok(a.lines().some((l) => l['msg'] === 'released the leader lease'));
    const releasedAt = clock.now();
    await clock.advance(RETRY);
    assert.ok(b.elector.isLeader());
    assert.ok(b.startedAt! - releasedAt <= RETRY, 'no need to wait for the lease to expire');
    assert.equal(store.lease!.spec.holderIdentity, 'b');
    assert.equal(store.lease!.spec.leaseTransitions, 1);
    // Releasing twice, or releasing a lease never held, writes nothing.
    const writes = store.writes.length;
    await a.elector.release();
    const never = new LeaderElector({ store: store.view('c'), namespace: 'ns', name: 'l', identity: 'c', leaseDurationMs: LEASE, renewDeadlineMs: DEADLINE, retryPeriodMs: RETRY, log: memoryLogger().log, now: clock.now, wait: clock.wait });
    await never.release();
    assert.equal(store.writes.length, writes);
    b.abort.abort();
    await b.done;
  });

  test('a failed release is logged, not thrown', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    let broken = false;
    const a = startElector(clock, store.view('a', (op) => (broken ? { kind: 'error', error: transportError() } : { kind: 'ok' })), 'a');
    await settle();
    a.abort.abort();
    await a.done;
    broken = true;
    await a.elector.release();
    assert.ok(a.lines().some((l) => l['msg'] === 'could not release the leader lease; it will expire'));
    assert.equal(store.lease!.spec.holderIdentity, 'a');
  });

  test('aborting while campaigning resolves false without leading', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    store.put({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z' });
    const b = startElector(clock, store.view('b'), 'b');
    await clock.advance(RETRY / 2);
    b.abort.abort();
    assert.equal(await b.done, false);
    assert.equal(b.startedAt, undefined);
    assert.equal(clock.pending, 0, 'no timers left behind');
  });

  test('aborted while its winning attempt is in flight, it hands the lease back at once', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore(clock.wait);
    // The create lands at once but its answer arrives 500 ms later: the abort comes in between.
    const a = startElector(clock, store.view('a', (op) => (op === 'create' ? { kind: 'ok', afterMs: 500 } : { kind: 'ok' })), 'a');
    await settle();
    assert.equal(store.lease!.spec.holderIdentity, 'a', 'the lease is taken');
    a.abort.abort();
    await clock.advance(500);
    assert.equal(await a.done, false);
    assert.equal(a.startedAt, undefined, 'it never started leading');
    assert.equal(store.lease!.spec.holderIdentity, null, 'and released what it had won, so a successor need not wait');
    assert.equal(a.elector.isLeader(), false);
  });

  test('a lease held by this identity (a restarted process) is renewed at once', async (t) => {
    noJitter(t);
    const clock = new AsyncFakeClock();
    const store = new FakeLeaseStore();
    store.put({ holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2000-01-01T00:00:00.000000Z', renewTime: '2000-01-01T00:00:05.000000Z', leaseTransitions: 2 });
    const a = startElector(clock, store.view('a'), 'a');
    await settle();
    assert.ok(a.elector.isLeader());
    assert.equal(store.lease!.spec.acquireTime, '2000-01-01T00:00:00.000000Z');
    assert.equal(store.lease!.spec.leaseTransitions, 2);
    a.abort.abort();
    await a.done;
  });
});

// ---- mutual exclusion under random interleavings ----

/** A small deterministic PRNG, seeded by fast-check, for latencies, faults and jitter. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outage {
  who: number;
  from: number;
  to: number;
  kind: 'error' | 'hang' | 'slow' | 'pause';
}

const scenario = fc.record({
  seed: fc.integer(),
  electors: fc.integer({ min: 2, max: 3 }),
  skews: fc.array(fc.integer({ min: -3_600_000, max: 3_600_000 }), { minLength: 3, maxLength: 3 }),
  starts: fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 3, maxLength: 3 }),
  maxLatencyMs: fc.constantFrom(0, 50, 1_000, 4_000),
  errorRate: fc.constantFrom(0, 0.1, 0.4),
  outages: fc.array(
    fc.record({
      who: fc.nat(2),
      from: fc.integer({ min: 0, max: 80_000 }),
      length: fc.integer({ min: 1_000, max: 40_000 }),
      kind: fc.constantFrom('error', 'hang', 'slow', 'pause'),
    }),
    { maxLength: 4 },
  ),
});

describe('LeaderElector mutual exclusion', () => {
  test('electors sharing a store never lead at the same instant, whatever the latencies, faults and clock skews', async (t) => {
    const HORIZON = 150_000;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const random = mulberry32(s.seed);
        t.mock.method(Math, 'random', random);
        const clock = new AsyncFakeClock(1_700_000_000_000);
        const t0 = clock.now();
        const store = new FakeLeaseStore((ms) => clock.wait(ms));
        const outages: Outage[] = s.outages.map((o) => ({ who: o.who, from: t0 + o.from, to: t0 + o.from + o.length, kind: o.kind }));
        const faultFor = (who: number) => (): Fault => {
          const now = clock.now();
          const outage = outages.find((o) => o.who === who && now >= o.from && now < o.to);
          if (outage?.kind === 'hang') return { kind: 'hang' };
          if (outage?.kind === 'error') return { kind: 'error', error: random() < 0.5 ? serverError() : transportError() };
          if (outage?.kind === 'slow') return { kind: 'ok', beforeMs: 3_000 + random() * 6_000, afterMs: random() * 6_000 };
          if (outage?.kind === 'pause') return { kind: 'ok', beforeMs: outage.to - now, afterMs: 0 };
          if (random() < s.errorRate) return { kind: 'error', error: serverError() };
          return { kind: 'ok', beforeMs: random() * s.maxLatencyMs, afterMs: random() * s.maxLatencyMs };
        };

        // Leadership intervals per elector incarnation: [start, end).
        const intervals: { who: number; start: number; end: number }[] = [];
        const live: (Handle | undefined)[] = [];
        const open = new Map<Handle, number>();
        const launch = (who: number) => {
          const h = startElector(clock, store.view(`e${who}`, faultFor(who)), `e${who}`, { skewMs: s.skews[who]! });
          live[who] = h;
          // A process that lost leadership exits; a fresh one campaigns again a little later.
          void h.done.then((lost) => {
            if (lost) void clock.wait(1_000).then(() => launch(who));
          });
        };
        for (let i = 0; i < s.electors; i++) void clock.wait(s.starts[i]!).then(() => launch(i));

        const observe = () => {
          for (const h of live) {
            if (!h) continue;
            const leading = h.elector.isLeader();
            if (leading && !open.has(h)) open.set(h, clock.now());
            if (!leading && open.has(h)) {
              intervals.push({ who: live.indexOf(h), start: open.get(h)!, end: clock.now() });
              open.delete(h);
            }
          }
          const leaders = live.filter((h) => h?.elector.isLeader());
          assert.ok(leaders.length <= 1, `${leaders.length} leaders at +${clock.now() - t0} ms`);
        };
        while (clock.now() < t0 + HORIZON && (await clock.step())) observe();
        for (const [h, start] of open) intervals.push({ who: live.indexOf(h), start, end: clock.now() });
        // Stronger than "never two at once after a step": the intervals do not overlap at all.
        intervals.sort((x, y) => x.start - y.start);
        for (let i = 1; i < intervals.length; i++) {
          assert.ok(intervals[i]!.start >= intervals[i - 1]!.end, `overlap: ${JSON.stringify(intervals.slice(i - 1, i + 1))}`);
        }
        // Liveness: with nothing broken at the end and requests well within the deadline, someone leads.
        const quietFrom = Math.max(t0, ...outages.map((o) => o.to));
        if (s.errorRate === 0 && s.maxLatencyMs <= 1_000 && quietFrom + 3 * LEASE < t0 + HORIZON) assert.ok(live.some((h) => h?.elector.isLeader()), 'someone leads once faults end');
        assert.ok(intervals.length > 0 || s.errorRate > 0, 'someone led at some point');
        for (const h of live) h?.abort.abort();
        t.mock.restoreAll();
      }),
      { numRuns: 60 },
    );
  });
});

// The watch renderers of the propeller CLI, fed a sequence of statuses as a watch or a local run delivers
// them: the plain one prints one line per change (like kubectl get -w); the terminal one redraws a table in
// place. A small terminal emulator replays what the terminal one wrote, to check that each frame overwrote
// the one before (no duplicated frames, scrollback above left alone), lines never wrap, and a frame never
// outgrows the screen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeStatus, WorkflowStatus } from '../../../src/api/flyteworkflow.ts';
import { LineRenderer, NodeOrder, TtyRenderer, age, gateHint, pathComparator, shortDuration, type Snapshot } from '../../../sdk/src/cli/render.ts';
import { describe as describeExecution, listTable } from '../../../sdk/src/cli/commands/get.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** simple_wf's statuses as the propeller writes them: slope, then intercept, then done. */
function statuses(): WorkflowStatus[] {
  const pending: NodeStatus = { phase: 'Pending' };
  const running = (start: number): NodeStatus => ({ phase: 'Running', attempts: 1, startedAt: at(start), podName: 'p' });
  const done = (start: number, end: number, o0: number): NodeStatus => ({ phase: 'Succeeded', attempts: 1, startedAt: at(start), finishedAt: at(end), outputs: { o0 } });
  return [
    { phase: 'Pending' },
    { phase: 'Running', progress: '0/2', startedAt: at(0), nodes: { slope: { phase: 'Queued', attempts: 1, startedAt: at(0) }, intercept: pending } },
    { phase: 'Running', progress: '0/2', startedAt: at(0), nodes: { slope: running(0), intercept: pending } },
    { phase: 'Running', progress: '1/2', startedAt: at(0), nodes: { slope: done(0, 2, -1.5), intercept: running(2) } },
    { phase: 'Running', progress: '1/2', startedAt: at(0), nodes: { slope: done(0, 2, -1.5), intercept: running(2) } },
    { phase: 'Succeeded', progress: '2/2', startedAt: at(0), finishedAt: at(4), message: 'all 2 nodes succeeded', outputs: { o0: 3 }, nodes: { slope: done(0, 2, -1.5), intercept: done(2, 4, 3) } },
  ];
}

const snap = (status: WorkflowStatus): Snapshot => ({ name: 'simple-wf-x7k2p', namespace: 'ns1', status });

describe('the plain renderer: one line per change', () => {
  test('the execution and each node print a line when their phase or attempt changes, and only then', () => {
    const lines: string[] = [];
    const r = new LineRenderer((t) => lines.push(t), { now: () => T0 + 5000 });
    for (const s of statuses()) r.update(snap(s));
    r.finish();
    assert.deepEqual(lines.join('').split('\n'), [
      'simple-wf-x7k2p   Pending',
      'simple-wf-x7k2p   Running    0/2',
      'slope             Queued     attempt 1',
      'intercept         Pending',
      'slope             Running    attempt 1',
      'slope             Succeeded  attempt 1  2.0s',
      'intercept         Running    attempt 1',
      'intercept         Succeeded  attempt 1  2.0s',
      'simple-wf-x7k2p   Succeeded  2/2  4.0s  all 2 nodes succeeded',
      '',
    ]);
  });

  test('retries show as new attempts; a waiting gate names the propeller command that decides it', () => {
    const lines: string[] = [];
    const r = new LineRenderer((t) => lines.push(t), { hints: 'remote', now: () => T0 });
    const gate = 'waiting for approval (check it): kubectl -n ns1 patch fwf simple-wf-x7k2p --type merge -p \'{"spec":{"signals":{"review":{"approved":true}}}}\'';
    r.update(snap({ phase: 'Running', nodes: { fit: { phase: 'Running', attempts: 1 } } }));
    r.update(snap({ phase: 'Running', nodes: { fit: { phase: 'Retrying', attempts: 1, message: 'exit 1' } } }));
    r.update(snap({ phase: 'Running', nodes: { fit: { phase: 'Running', attempts: 2 } } }));
    r.update(snap({ phase: 'Running', nodes: { fit: { phase: 'Succeeded', attempts: 2 }, review: { phase: 'Running', message: gate } } }));
    assert.deepEqual(lines.join('').trimEnd().split('\n').slice(1), [
      'fit               Running    attempt 1',
      'fit               Retrying   attempt 1  exit 1',
      'fit               Running    attempt 2',
      'fit               Succeeded  attempt 2',
      'review            Running    waiting for approval (check it): propeller approve simple-wf-x7k2p review',
    ]);
  });
});

// ─── A terminal, enough of one ───────────────────────────────────────────────

/** Replays what was written: text, \n, \r, cursor up (CSI n A), column (CSI n G), erase line (CSI n K), erase below (CSI n J), colours ignored. */
class Terminal {
  readonly lines: string[] = [''];
  row = 0;
  col = 0;
  readonly columns: number;
  readonly rows: number;
  /** Every write, in order. */
  readonly writes: string[] = [];
  wrapped = false;
  constructor(columns = 100, rows = 40) {
    this.columns = columns;
    this.rows = rows;
  }
  write(text: string): boolean {
    this.writes.push(text);
    const re = /\x1b\[(\d*)([A-Za-z])|\n|\r|[^\x1b\n\r]+/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const s = m[0];
      if (s === '\n') {
        this.row++;
        this.col = 0;
        while (this.lines.length <= this.row) this.lines.push('');
      } else if (s === '\r') this.col = 0;
      else if (m[2]) {
        const n = m[1] === '' ? undefined : Number(m[1]);
        const top = Math.max(0, this.lines.length - this.rows);
        if (m[2] === 'A') this.row = Math.max(top, this.row - (n ?? 1));
        else if (m[2] === 'G') this.col = (n ?? 1) - 1;
        else if (m[2] === 'K') {
          const line = this.lines[this.row]!;
          this.lines[this.row] = (n ?? 0) === 0 ? line.slice(0, this.col) : (n === 1 ? ' '.repeat(this.col) + line.slice(this.col) : '');
        } else if (m[2] === 'J') {
          this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
          this.lines.length = this.row + 1;
        }
        // m (colours) and anything else: no effect on the text.
      } else {
        const line = this.lines[this.row]!.padEnd(this.col);
        if (this.col + s.length > this.columns) this.wrapped = true;
        this.lines[this.row] = line.slice(0, this.col) + s + line.slice(this.col + s.length);
        this.col += s.length;
      }
    }
    return true;
  }
  screen(): string[] {
    const out = [...this.lines];
    while (out.length && out[out.length - 1] === '') out.pop();
    return out;
  }
}

describe('the terminal renderer: a table redrawn in place', () => {
  test('each frame overwrites the previous one: the screen holds what was there before and one frame', () => {
    const term = new Terminal();
    term.write('$ propeller run --remote examples/workflow.ts simple_wf …\nexecution simple-wf-x7k2p in namespace ns1\n');
    const r = new TtyRenderer(term, { now: () => T0 + 3000, tickMs: 0, minIntervalMs: 0 });
    const frames: string[][] = [];
    for (const s of statuses()) {
      r.update(snap(s));
      frames.push(r.frame());
      assert.deepEqual(term.screen().slice(2), r.frame(), 'after every update the screen shows exactly the current frame');
    }
    r.finish();
    assert.deepEqual(term.screen(), [
      '$ propeller run --remote examples/workflow.ts simple_wf …',
      'execution simple-wf-x7k2p in namespace ns1',
      'simple-wf-x7k2p  Succeeded  2/2  4.0s',
      'NODE       PHASE      ATTEMPTS  DURATION  MESSAGE',
      'slope      Succeeded  1         2.0s',
      'intercept  Succeeded  1         2.0s',
    ]);
    assert.equal(term.screen().filter((l) => l.startsWith('simple-wf-x7k2p')).length, 1, 'no duplicated frame');
    assert.equal(term.wrapped, false);
    // The cursor went up over the previous frame each time (never a clear-screen, which would lose the scrollback).
    const ups = term.writes.filter((w) => /^\x1b\[\d+A$/.test(w)).map((w) => Number(/\d+/.exec(w)![0]));
    assert.deepEqual(ups, frames.slice(0, -1).map((f) => f.length).concat(frames.at(-1)!.length));
    assert.ok(!term.writes.some((w) => w.includes('\x1b[2J') || w.includes('\x1b[H')), 'the screen is never cleared');
  });

  test('a running node shows its duration so far, redrawn by the clock', async () => {
    const term = new Terminal();
    let now = T0 + 3000;
    const r = new TtyRenderer(term, { now: () => now, tickMs: 20, minIntervalMs: 0 });
    r.update(snap(statuses()[3]!));
    assert.match(term.screen()[3]!, /^intercept  Running    1         1\.0s$/);
    now += 5000;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.match(term.screen()[3]!, /^intercept  Running    1         6\.0s$/);
    r.finish();
    assert.equal(term.screen().length, 4);
  });

  test('lines are cut to the width of the terminal, so none wraps', () => {
    const term = new Terminal(40, 40);
    const r = new TtyRenderer(term, { now: () => T0, tickMs: 0, minIntervalMs: 0 });
    const long = { phase: 'Failed' as const, attempts: 3, message: 'attempt 3 failed: NonZeroExit: the container exited with code 1 and said a lot' };
    r.update(snap({ phase: 'Failed', message: 'node "fit" failed: attempt 3 failed: NonZeroExit: the container exited with code 1', nodes: { fit: long } }));
    r.update(snap({ phase: 'Failed', message: 'node "fit" failed: attempt 3 failed: NonZeroExit: the container exited with code 1', nodes: { fit: long } }));
    r.finish();
    assert.equal(term.wrapped, false);
    for (const line of term.screen()) assert.ok(line.length <= 39, `"${line}" is wider than 39`);
    assert.match(term.screen()[2]!, /^fit   Failed  3 .*…$/);
    assert.match(term.screen()[3]!, /^node "fit" failed: attempt 3 failed: N…$/);
  });

  test('a frame taller than the terminal leaves out finished nodes first and says how many', () => {
    const term = new Terminal(100, 10);
    const r = new TtyRenderer(term, { now: () => T0, tickMs: 0, minIntervalMs: 0 });
    const nodes = (done: number): Record<string, NodeStatus> =>
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`n${String(i).padStart(2, '0')}`, { phase: i < done ? 'Succeeded' : i === done ? 'Running' : 'Pending' } as NodeStatus]));
    for (let done = 0; done <= 20; done++) {
      r.update(snap({ phase: done === 20 ? 'Succeeded' : 'Running', progress: `${done}/20`, nodes: nodes(done) }));
      const frame = r.frame();
      assert.ok(frame.length <= 9, `a frame of ${frame.length} lines does not fit 10 rows`);
      if (done > 0 && done < 20) assert.ok(frame.some((l) => /^n\d\d +Running/.test(l)), 'the running node stays visible');
    }
    r.finish();
    const screen = term.screen();
    assert.equal(screen.filter((l) => l.startsWith('simple-wf-x7k2p')).length, 1, 'no duplicated frame in the scrollback');
    assert.equal(screen.at(-1), '… 14 more nodes (14 succeeded or skipped, 0 other)');
  });

  test('with colour on, the same text in SGR colours', () => {
    const term = new Terminal();
    const r = new TtyRenderer(term, { now: () => T0 + 3000, tickMs: 0, minIntervalMs: 0, color: true });
    r.update(snap(statuses()[3]!));
    r.finish();
    assert.ok(term.writes.some((w) => w.includes('\x1b[32mSucceeded')));
    assert.deepEqual(term.screen(), r.frame());
  });
});

describe('pieces', () => {
  test('durations and ages', () => {
    assert.deepEqual([0, 450, 9_950, 10_000, 65_000, 3_725_000, 200_000_000].map(shortDuration), ['0.0s', '0.4s', '9.9s', '10s', '1m05s', '1h02m', '2d07h']);
    assert.deepEqual([5_000, 150_000, 7_300_000, 200_000_000].map(age), ['5s', '2m', '2h', '2d']);
  });

  test('nested nodes stay under their parent, in the order they appeared', () => {
    const order = new NodeOrder();
    order.update({ a: 1, train: 1, b: 1 });
    assert.deepEqual(order.update({ a: 1, train: 1, b: 1, 'train/split': 1, 'train/fit': 1, 'train/fit/x': 1, c: 1 }), ['a', 'train', 'train/split', 'train/fit', 'train/fit/x', 'b', 'c']);
  });

  test('with the spec, nodes are in the order the workflow runs them, whatever order the status map has', () => {
    const spec = {
      nodes: {
        intercept: { task: 'intercept', inputs: { slope: { from: 'slope.o0' }, xs: { list: [{ from: 'inputs.x' }] } } },
        report: { task: 'r', after: ['check'] },
        check: { branch: { cases: [{ then: { subworkflow: 'train', inputs: { v: { from: 'intercept.o0' } } } }], else: { gate: { sleep: '1s' } } } },
        slope: { task: 'slope' },
      },
      subworkflows: { train: { nodes: { fit: { task: 'fit', inputs: { d: { from: 'split.d' } } }, split: { task: 'split' } } } },
      onFailure: { task: 'notify' },
    };
    const status = { onFailure: 1, report: 1, 'check/case-0/split': 1, 'check/else': 1, 'check/case-0/fit': 1, check: 1, 'check/case-0': 1, intercept: 1, slope: 1, stray: 1 };
    assert.deepEqual(new NodeOrder().update(status, spec), ['slope', 'intercept', 'check', 'check/case-0', 'check/case-0/split', 'check/case-0/fit', 'check/else', 'report', 'onFailure', 'stray']);
    assert.deepEqual(pathComparator(spec)('slope', 'intercept') < 0, true);
  });

  test('gate hints: the propeller command on a cluster, the run flags locally; other messages unchanged', () => {
    const signal = 'waiting for a value of type int (how many): kubectl -n ns1 patch fwf wf --type merge -p \'{"spec":{"signals":{"level":{"value":...}}}}\'';
    assert.equal(gateHint(signal, 'level', { name: 'wf', namespace: 'ns1' }, 'remote', true), 'waiting for a value of type int (how many): propeller -n ns1 signal wf level VALUE');
    assert.equal(gateHint(signal, 'level', { name: 'wf' }, 'local'), 'waiting for a value of type int (how many): --signal level=VALUE');
    assert.equal(gateHint('exit 1', 'x', { name: 'wf' }, 'remote'), 'exit 1');
  });

  test('get and list as text', () => {
    const wf = {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'FlyteWorkflow',
      metadata: { name: 'simple-wf-x7k2p', namespace: 'ns1', uid: 'u', resourceVersion: '1', creationTimestamp: at(-1), labels: { 'propeller.dev/workflow': 'simple_wf' } },
      spec: {},
      status: statuses()[5]!,
    };
    assert.equal(
      describeExecution(wf, T0 + 64_000),
      [
        'Name:      simple-wf-x7k2p',
        'Namespace: ns1',
        'Workflow:  simple_wf',
        'Phase:     Succeeded',
        'Progress:  2/2',
        'Started:   2026-12-06T10:00:00.000Z (64s ago)',
        'Duration:  4.0s',
        'Message:   all 2 nodes succeeded',
        'Outputs:',
        '  o0: 3',
        '',
        'NODE       PHASE      ATTEMPTS  DURATION  MESSAGE',
        'slope      Succeeded  1         2.0s',
        'intercept  Succeeded  1         2.0s',
      ].join('\n'),
    );
    const other = { ...wf, metadata: { ...wf.metadata, name: 'nightly-1', creationTimestamp: at(-600), labels: {} }, spec: { launchPlan: 'nightly' }, status: { phase: 'Running' as const, progress: '1/3' } };
    assert.equal(
      listTable([wf, other], T0 + 64_000),
      [
        'NAME             WORKFLOW            PHASE      PROGRESS  AGE',
        'simple-wf-x7k2p  simple_wf           Succeeded  2/2       65s',
        'nightly-1        launchplan/nightly  Running    1/3       11m',
      ].join('\n'),
    );
  });
});

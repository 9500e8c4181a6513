// Helpers for the reliability files of lost pods, hostile input, outputs, status size and security:
// every fault ends in exactly one result row, recorded before any assertion can throw.
import assert from 'node:assert/strict';
import { recordResult, type FaultResult } from './results.ts';

/** A row being filled in by a test; `passed` is decided by `withRow`. */
export type Row = Omit<FaultResult, 'passed'>;

/** Soft assertions: every failed check is kept, so the row can say what went wrong, then all are thrown. */
export class Checks {
  readonly failures: string[] = [];

  ok(condition: unknown, message: string): boolean {
    if (!condition) this.failures.push(message);
    return Boolean(condition);
  }

  equal<T>(actual: T, expected: T, message: string): boolean {
    return this.ok(Object.is(actual, expected), `${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }

  match(text: string | undefined, pattern: RegExp, message: string): boolean {
    return this.ok(text !== undefined && pattern.test(text), `${message}: ${JSON.stringify(text)} does not match ${pattern}`);
  }
}

const short = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * Runs one fault: `body` fills in the row's counts and records soft checks. The row is recorded whatever
 * happens (with passed: false and the first problem in its notes), and only then does the test fail.
 */
export async function withRow(fault: string, body: (row: Row, checks: Checks) => Promise<void>): Promise<void> {
  const row: Row = { fault, injected: 0, workflows: 0, outcome: '', lost: 0, duplicates: 0 };
  const checks = new Checks();
  let error: unknown;
  try {
    await body(row, checks);
  } catch (err) {
    error = err;
  }
  const problems = [...checks.failures, ...(error === undefined ? [] : [error instanceof Error ? error.message : String(error)])];
  const passed = problems.length === 0 && row.lost === 0 && row.duplicates === 0;
  const notes = passed ? row.notes : [row.notes, `FAILED: ${short(problems[0] ?? 'lost or duplicated work')}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`].filter(Boolean).join('; ');
  recordResult({ ...row, outcome: row.outcome || (passed ? 'ok' : 'did not complete'), passed, ...(notes ? { notes } : {}) });
  if (error !== undefined) throw error;
  assert.deepEqual(checks.failures, [], `${fault}: ${checks.failures.length} check(s) failed`);
  assert.equal(row.lost, 0, `${fault}: lost work`);
  assert.equal(row.duplicates, 0, `${fault}: duplicated work`);
}

/** A seed for this run: RELIABILITY_SEED replays one; printed so any failure can be replayed. */
export function runSeed(file: string): number {
  const fromEnv = process.env['RELIABILITY_SEED'];
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`[${file}] seed ${seed} (replay with RELIABILITY_SEED=${seed})\n`);
  return seed;
}

/**
 * Several rows from one test: each is recorded whatever happens to the others, and the test fails at the
 * end, naming every row that did not pass.
 */
export class Rows {
  private readonly failed: { fault: string; error: unknown }[] = [];

  async run(fault: string, body: (row: Row, checks: Checks) => Promise<void>): Promise<void> {
    try {
      await withRow(fault, body);
    } catch (error) {
      this.failed.push({ fault, error });
    }
  }

  /** Throws if any row failed: the first failure in full, the others by name. */
  finish(): void {
    if (!this.failed.length) return;
    const [first, ...rest] = this.failed;
    if (!rest.length) throw first!.error;
    const message = first!.error instanceof Error ? first!.error.message : String(first!.error);
    assert.fail(`${this.failed.length} rows failed: ${this.failed.map((f) => f.fault).join('; ')}\nfirst: ${message}`);
  }
}

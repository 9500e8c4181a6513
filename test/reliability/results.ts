import { appendFileSync } from 'node:fs';

/** One row of docs/reliability.md: a fault, how often it was injected, and what survived. */
export interface FaultResult {
  fault: string;
  /** How many times the fault was injected (kills, outages, corrupt inputs, …). */
  injected: number;
  /** Workflows in flight or submitted while it was injected. */
  workflows: number;
  outcome: string;
  /** Outputs or work lost (must be 0). */
  lost: number;
  /** (node, attempt) pairs that got more than one pod, or tasks run twice (must be 0). */
  duplicates: number;
  passed: boolean;
  notes?: string;
}

/** full: the numbers the issue asks for; smoke: a few kill points and a corpus subset, for CI. */
export const SCALE: 'full' | 'smoke' = process.env['RELIABILITY_SCALE'] === 'smoke' ? 'smoke' : 'full';

/** Appends a row to the run's results file (the runner renders them); a no-op outside the runner. */
export function recordResult(result: FaultResult): void {
  const file = process.env['RELIABILITY_RESULTS'];
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
}

/** Records the row of a test that threw before it could judge its fault, so the report still shows it failed. */
export function recordAborted(row: { fault: string; injected: number; workflows: number; seed: number }, err: unknown): void {
  recordResult({
    fault: row.fault,
    injected: row.injected,
    workflows: row.workflows,
    outcome: `test aborted: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    lost: 0,
    duplicates: 0,
    passed: false,
    notes: `seed ${row.seed}`,
  });
}

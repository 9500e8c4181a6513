import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../tools/controlplane/components.ts';
import type { RunResult } from './report.ts';

const run = promisify(execFile);

export interface Comparison {
  scenario: string;
  ref: string;
  runs: { version: 'this' | 'ref'; result: RunResult }[];
}

/** Another commit of this repository, checked out (a git worktree) beside it with the same node_modules. */
export async function checkoutRef(ref: string, say: (line: string) => void): Promise<{ root: string; label: string; remove(): Promise<void> }> {
  const { stdout } = await run('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: repoRoot });
  const label = stdout.trim();
  const root = join(await mkdtemp(join(tmpdir(), 'propeller-ref-')), label);
  await run('git', ['worktree', 'add', '--detach', root, label], { cwd: repoRoot });
  await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  say(`checked out ${ref} (${label}) at ${root} to compare against`);
  return {
    root,
    label,
    remove: async () => {
      await run('git', ['worktree', 'remove', '--force', root], { cwd: repoRoot }).catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => {
  const sorted = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const FIGURES: [string, (r: RunResult) => number, 'higher' | 'lower'][] = [
  ['task nodes/s', (r) => r.nodesPerSecond, 'higher'],
  ['wall ms', (r) => r.wallMs, 'lower'],
  ['transition p50 ms', (r) => r.transitionP50Ms, 'lower'],
  ['transition p99 ms', (r) => r.transitionP99Ms, 'lower'],
  ['acceptance p99 ms', (r) => r.acceptanceP99Ms, 'lower'],
  ['cpu ms/node', (r) => r.cpuMsPerNode ?? NaN, 'lower'],
  ['writes/node', (r) => r.writesPerNode ?? NaN, 'lower'],
];

/** Medians of each version's runs, and this tree's as a ratio of the reference's. */
export function renderComparison(comparisons: Comparison[]): string {
  const rows = [['scenario', 'figure', 'ref (median)', 'this (median)', 'this / ref', 'all runs ref | this']];
  for (const c of comparisons) {
    for (const [name, get, better] of FIGURES) {
      const ref = c.runs.filter((r) => r.version === 'ref').map((r) => get(r.result));
      const mine = c.runs.filter((r) => r.version === 'this').map((r) => get(r.result));
      const ratio = median(mine) / median(ref);
      const fmt = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : '–');
      rows.push([c.scenario, `${name} (${better} is better)`, fmt(median(ref)), fmt(median(mine)), Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)}%` : '–', `${ref.map(fmt).join(' ')} | ${mine.map(fmt).join(' ')}`]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

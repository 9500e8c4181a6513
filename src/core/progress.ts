import type { NodeStatus } from '../api/flyteworkflow.ts';
import type { CompiledScope } from './compiled.ts';
import { ON_FAILURE } from './compiled.ts';
import type { Round } from './round.ts';

export interface Tally {
  total: number;
  succeeded: number;
  running: number;
  queued: number;
  retrying: number;
  pending: number;
  cached: number;
  /** Paths of gates that wait (for a time, a signal or an approval). */
  waiting: string[];
}

/**
 * Counts the nodes that run or ran: the workflow's own, those of every subworkflow that started, the arm
 * each branch took, and failure handlers that started. Arms not taken and subworkflows not started are
 * left out, so a workflow that succeeded shows N/N.
 */
export function tally(round: Round, root: CompiledScope): Tally {
  const t: Tally = { total: 0, succeeded: 0, running: 0, queued: 0, retrying: 0, pending: 0, cached: 0, waiting: [] };
  const stack: { scope: CompiledScope; prefix: string }[] = [{ scope: root, prefix: '' }];
  while (stack.length) {
    const { scope, prefix } = stack.pop()!;
    const handler = scope.onFailure && round.status(prefix + ON_FAILURE) ? [scope.onFailure.nodes[0]!] : [];
    for (const node of [...scope.nodes, ...handler]) {
      const path = prefix + node.id;
      const status: NodeStatus = round.status(path) ?? { phase: 'Pending' };
      count(t, status, path, node.kind === 'gate');
      // A subworkflow's nodes have statuses once it started; one stopped before it started (Aborted) has none.
      if (node.kind === 'subworkflow' && round.status(`${path}/${node.scope.nodes[0]!.id}`)) stack.push({ scope: node.scope, prefix: `${path}/` });
      if (node.kind === 'branch') {
        const arm = node.arms.find((a) => {
          const s = round.status(`${path}/${a.id}`);
          return s !== undefined && s.phase !== 'Skipped';
        });
        if (arm) stack.push({ scope: arm.scope, prefix: `${path}/` });
      }
    }
  }
  return t;
}

function count(t: Tally, status: NodeStatus, path: string, gate: boolean): void {
  t.total++;
  if (status.cache === 'Hit') t.cached++;
  switch (status.phase) {
    case 'Succeeded':
      t.succeeded++;
      break;
    case 'Running':
    case 'Failing':
      if (gate) t.waiting.push(path);
      else t.running++;
      break;
    case 'Queued':
      t.queued++;
      break;
    case 'Retrying':
      t.retrying++;
      break;
    case 'Pending':
      t.pending++;
      break;
    default:
      break;
  }
}

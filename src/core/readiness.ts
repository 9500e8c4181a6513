import type { NodePhase } from '../api/flyteworkflow.ts';
import type { CompiledNode } from './compiled.ts';
import type { ScopeInstance } from './nodes/handler.ts';
import type { Round } from './round.ts';

export type Readiness = { kind: 'ready' } | { kind: 'wait' } | { kind: 'skip'; upstream: string; phase: NodePhase };

const BLOCKING: ReadonlySet<NodePhase> = new Set(['Failed', 'Skipped', 'Aborted']);

/**
 * Whether a Pending node may start: every node it depends on succeeded (ready), one of them failed,
 * was skipped or aborted (skip: it can never run), or some are still on their way (wait).
 * The one place that decides it, for every kind of node and every scope.
 */
export function readiness(round: Round, scope: ScopeInstance, node: CompiledNode): Readiness {
  let waiting = false;
  for (const up of node.upstream) {
    const phase = round.status(scope.prefix + up)?.phase ?? 'Pending';
    if (BLOCKING.has(phase)) return { kind: 'skip', upstream: up, phase };
    if (phase !== 'Succeeded') waiting = true;
  }
  return waiting ? { kind: 'wait' } : { kind: 'ready' };
}

import { TERMINAL_WORKFLOW_PHASES, type FlyteWorkflow } from '../api/flyteworkflow.ts';
import type { ReconcileObserver } from '../controller/reconciler.ts';
import type { Metrics } from './metrics.ts';

/** Turns reconciler events into the latency and throughput metrics. */
export function reconcileMetrics(metrics: Metrics, firstSeenAt: (key: string) => number | undefined): ReconcileObserver {
  const key = (wf: FlyteWorkflow) => `${wf.metadata.namespace}/${wf.metadata.name}`;
  return {
    podCreated: (e) => {
      metrics.podsCreated.inc();
      const seen = firstSeenAt(key(e.workflow));
      if (e.first && seen !== undefined) metrics.acceptanceLatency.observe(Math.max(0, e.at - seen) / 1000);
      if (e.attempt === 0 && e.dependent) metrics.transitionLatency.observe(Math.max(0, e.at - e.readySince) / 1000);
    },
    podDeleted: () => metrics.podsDeleted.inc(),
    statusWritten: (e) => {
      if (e.bytes !== undefined) metrics.statusBytes.observe(e.bytes);
      const before = e.prev?.phase;
      const after = e.next.phase;
      if (after && TERMINAL_WORKFLOW_PHASES.has(after) && !(before && TERMINAL_WORKFLOW_PHASES.has(before))) {
        const started = Date.parse(e.next.startedAt ?? '');
        const finished = Date.parse(e.next.finishedAt ?? '');
        if (!Number.isNaN(started) && !Number.isNaN(finished)) metrics.completion.observe({ phase: after }, Math.max(0, finished - started) / 1000);
      }
    },
  };
}

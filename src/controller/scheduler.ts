import { API_VERSION, KIND, TERMINAL_WORKFLOW_PHASES, type FlyteWorkflow } from '../api/flyteworkflow.ts';
import { GROUP } from '../api/flyteworkflow.ts';
import { LAUNCH_PLAN_KIND, type LaunchPlanObject, type LaunchPlanStatus } from '../api/launch-plan.ts';
import { planSchedule } from '../core/schedule/launch-plan-schedule.ts';
import { errorMessage } from '../errors.ts';
import { isAlreadyExists, isNotFound } from '../k8s/errors.ts';
import type { EventRecorder } from '../k8s/event-recorder.ts';
import { workflowPath, workflowsPath } from '../k8s/paths.ts';
import { MERGE_PATCH, type KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';

export const SCHEDULE_LABELS = { launchPlan: `${GROUP}/launch-plan`, scheduledTime: `${GROUP}/scheduled-time` } as const;
const MAX_SKIPPED = 20;

/**
 * The IO of one scheduler round of one launch plan: starts the runs the pure schedule decision asks for
 * (creating a FlyteWorkflow named after the scheduled time: AlreadyExists means a run already started it,
 * so a time never runs twice), aborts runs it replaces, records skipped times (status and an Event) and
 * deletes runs beyond the history limits.
 */
export class Scheduler {
  private readonly client: KubeClient;
  private readonly events: EventRecorder;
  private readonly log: Logger;

  constructor(opts: { client: KubeClient; events: EventRecorder; log: Logger }) {
    this.client = opts.client;
    this.events = opts.events;
    this.log = opts.log;
  }

  async tick(lp: LaunchPlanObject, runs: FlyteWorkflow[], now: number): Promise<{ status: Partial<LaunchPlanStatus>; requeueAfterMs: number | undefined }> {
    const active = runs.filter((r) => !(r.status?.phase && TERMINAL_WORKFLOW_PHASES.has(r.status.phase)));
    // A run for a time after lastScheduledTime was started by a round whose status write never happened (the
    // propeller died first, or the write failed): this round decides that time again, so its run is not one
    // active before it (Forbid would skip the very time it runs for), and it is never the one Replace aborts.
    const last = lp.status?.lastScheduledTime ? Date.parse(lp.status.lastScheduledTime) : undefined;
    const before = active.filter((r) => last !== undefined && scheduledTime(r) * 1000 <= last);
    const decision = planSchedule(lp, { now, activeRuns: before.length });
    const { namespace, name } = lp.metadata;
    const log = this.log.child({ launchPlan: `${namespace}/${name}` });
    if (decision.abortActive) {
      for (const run of active.filter((r) => !decision.runs.some((d) => d.name === r.metadata.name))) {
        await this.client.request('PATCH', workflowPath(namespace, run.metadata.name), { body: { spec: { abort: true } }, contentType: MERGE_PATCH }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        this.event(lp, 'Normal', 'RunReplaced', `aborted ${run.metadata.name} to start a newer run (concurrencyPolicy Replace)`);
      }
    }
    for (const run of decision.runs) {
      try {
        await this.client.request('POST', workflowsPath(namespace), { body: runObject(lp, run.name, run.time, run.inputs) });
        log.info({ run: run.name, scheduledTime: new Date(run.time).toISOString() }, 'started scheduled run');
        this.event(lp, 'Normal', 'RunStarted', `started ${run.name} for ${new Date(run.time).toISOString()}`);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    for (const skip of decision.skipped) this.event(lp, 'Warning', 'RunSkipped', `skipped ${new Date(skip.time).toISOString()}: ${skip.reason}`);
    await this.pruneHistory(lp, runs, log);
    const skipped = [...(lp.status?.skipped ?? []), ...decision.skipped.map((s) => ({ time: new Date(s.time).toISOString(), reason: s.reason }))].slice(-MAX_SKIPPED);
    return {
      status: {
        ...(decision.lastScheduledTime !== undefined ? { lastScheduledTime: new Date(decision.lastScheduledTime).toISOString() } : {}),
        nextScheduledTime: decision.nextTime === undefined ? undefined : new Date(decision.nextTime).toISOString(),
        active: [...active.map((r) => r.metadata.name), ...decision.runs.map((r) => r.name)].filter((v, i, a) => a.indexOf(v) === i).sort(),
        ...(skipped.length ? { skipped } : {}),
      },
      requeueAfterMs: decision.nextTime === undefined ? undefined : Math.max(0, decision.nextTime - now),
    };
  }

  /** Keeps the newest successfulRunsHistoryLimit succeeded and failedRunsHistoryLimit failed runs. */
  private async pruneHistory(lp: LaunchPlanObject, runs: FlyteWorkflow[], log: Logger): Promise<void> {
    const byTime = (a: FlyteWorkflow, b: FlyteWorkflow) => scheduledTime(b) - scheduledTime(a);
    const succeeded = runs.filter((r) => r.status?.phase === 'Succeeded').sort(byTime);
    const failed = runs.filter((r) => r.status?.phase === 'Failed' || r.status?.phase === 'Aborted').sort(byTime);
    const doomed = [...succeeded.slice(lp.spec.successfulRunsHistoryLimit ?? 3), ...failed.slice(lp.spec.failedRunsHistoryLimit ?? 1)];
    for (const run of doomed) {
      try {
        await this.client.request('DELETE', workflowPath(lp.metadata.namespace, run.metadata.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: run.metadata.uid }, propagationPolicy: 'Background' } });
        log.info({ run: run.metadata.name }, 'deleted an old scheduled run (history limit)');
      } catch (err) {
        if (!isNotFound(err)) log.warn({ run: run.metadata.name, err: errorMessage(err) }, 'could not delete an old scheduled run');
      }
    }
  }

  private event(lp: LaunchPlanObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const { name, namespace, uid } = lp.metadata;
    this.events.record({ apiVersion: API_VERSION, kind: LAUNCH_PLAN_KIND, name, namespace, uid }, { type, reason, message });
  }
}

function scheduledTime(run: FlyteWorkflow): number {
  return Number(run.metadata.labels?.[SCHEDULE_LABELS.scheduledTime] ?? 0);
}

/** A scheduled run: an execution of the launch plan, owned by it, labelled with it and its scheduled time. */
function runObject(lp: LaunchPlanObject, name: string, time: number, inputs: Record<string, unknown>): Record<string, unknown> {
  const { namespace, uid } = lp.metadata;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace,
      labels: { ...lp.spec.labels, [SCHEDULE_LABELS.launchPlan]: lp.metadata.name, [SCHEDULE_LABELS.scheduledTime]: String(Math.floor(time / 1000)) },
      ...(lp.spec.annotations ? { annotations: lp.spec.annotations } : {}),
      ownerReferences: [{ apiVersion: API_VERSION, kind: LAUNCH_PLAN_KIND, name: lp.metadata.name, uid, controller: true }],
    },
    spec: { launchPlan: lp.metadata.name, inputs },
  };
}

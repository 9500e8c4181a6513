import type { LaunchPlanObject } from '../../api/launch-plan.ts';
import { parseDuration } from '../types/index.ts';
import { parseCron } from './cron.ts';
import { parseFixedRate } from './fixed-rate.ts';
import { decideSchedule, executionName, type ParsedSchedule, type SkippedTime } from './plan-schedule.ts';

export interface ScheduledRun {
  /** The execution's name: derived from the launch plan and the scheduled time, so a time runs once. */
  name: string;
  time: number;
  inputs: Record<string, unknown>;
}

export interface LaunchPlanTick {
  runs: ScheduledRun[];
  skipped: SkippedTime[];
  abortActive: boolean;
  nextTime: number | undefined;
  lastScheduledTime: number | undefined;
}

/** Launch plans catch up on the most recent missed time by default, as Kubernetes and Argo do; All is capped. */
export const DEFAULT_CATCH_UP = 'Latest';
export const DEFAULT_MAX_CATCH_UP = 100;

/**
 * One scheduler round of a valid, scheduled launch plan: the times to run now (with their execution
 * names and the kickoff-time input), those to record as skipped, and when to look again. An inactive
 * launch plan runs nothing; reactivated, it catches up as its policy says.
 */
export function planSchedule(lp: LaunchPlanObject, observed: { now: number; activeRuns: number }): LaunchPlanTick {
  const spec = lp.spec.schedule;
  const last = lp.status?.lastScheduledTime ? Date.parse(lp.status.lastScheduledTime) : undefined;
  const idle: LaunchPlanTick = { runs: [], skipped: [], abortActive: false, nextTime: undefined, lastScheduledTime: last };
  if (!spec || lp.spec.active === false) return idle;
  const createdAt = Date.parse(lp.metadata.creationTimestamp ?? '') || observed.now;
  const schedule = parsedSchedule(spec.cron, spec.fixedRate, createdAt);
  if (!schedule) return idle;
  const deadline = spec.startingDeadline === undefined ? undefined : parseDuration(spec.startingDeadline);
  const decision = decideSchedule({
    schedule,
    ...(spec.timeZone ? { timeZone: spec.timeZone } : {}),
    createdAt,
    state: last === undefined ? {} : { lastScheduledTime: last },
    now: observed.now,
    catchUp: spec.catchUp ?? DEFAULT_CATCH_UP,
    maxCatchUp: spec.maxCatchUp ?? DEFAULT_MAX_CATCH_UP,
    ...(deadline === undefined ? {} : { startingDeadlineMs: deadline }),
    concurrency: spec.concurrencyPolicy ?? 'Allow',
    activeRuns: observed.activeRuns,
  });
  const kickoff = spec.kickoffTimeInput;
  const ranges = decision.skippedRanges.map((r) => ({ time: r.last, reason: `${r.reason} (every time from ${new Date(r.first).toISOString()} on)` }));
  return {
    runs: decision.runs.map((time) => ({ name: executionName(lp.metadata.name, time), time, inputs: kickoff ? { [kickoff]: new Date(time).toISOString() } : {} })),
    skipped: [...decision.skipped, ...ranges].sort((a, b) => a.time - b.time),
    abortActive: decision.abortActive,
    nextTime: decision.nextTime,
    lastScheduledTime: decision.lastScheduledTime,
  };
}

function parsedSchedule(cron: string | undefined, fixedRate: string | undefined, createdAt: number): ParsedSchedule | undefined {
  if (cron !== undefined) {
    const parsed = parseCron(cron);
    return parsed.ok ? { kind: 'cron', cron: parsed.cron } : undefined;
  }
  if (fixedRate !== undefined) {
    const parsed = parseFixedRate(fixedRate);
    return parsed.ok ? { kind: 'fixedRate', rateMs: parsed.rateMs, anchorMs: createdAt } : undefined;
  }
  return undefined;
}

// One round of the launch-plan scheduler, as a pure decision: given the schedule, what the scheduler has
// already acted on, and the time now, which scheduled times to start, which to record as skipped, and
// when to look again. No IO, no clock: `now` is an input.
//
// The contract with the caller, which is what makes runs exactly-once:
//   1. Start every time in `runs` under the name executionName(launchPlan, time); the name is
//      deterministic, so a second replica or a restart that repeats a round creates the same object and
//      gets AlreadyExists instead of a second run. With `abortActive`, abort the active runs first
//      (never one this round starts).
//   2. Record every time in `skipped` and `skippedRanges` as skipped, with its reason.
//   3. Store `lastScheduledTime` (the newest time acted on; every earlier one has been acted on too) as
//      the schedule's state, and come back at `nextTime`.
// Each round decides every scheduled time in (max(lastScheduledTime, createdAt), now] and nothing else,
// so a time is acted on in exactly one round, whatever the moments and gaps between rounds.
//
// Policies, applied in this order:
//   - Missed times are the fire times after max(lastScheduledTime, createdAt) and at or before now.
//   - Catch-up (which missed times are candidates to run):
//       All     every missed time, oldest first, up to maxCatchUp; the newer ones are skipped ("the
//               catch-up cap was reached"). Kubernetes gives up beyond 100 missed times and Flyte replays
//               all of them unbounded (flyte#4285, #4538); this caps. Times older than the starting
//               deadline are skipped first and do not count toward the cap.
//       Latest  only the most recent missed time, if it is within the starting deadline (Argo, and
//               Kubernetes CronJob); the older ones are skipped as superseded.
//       None    only a time that is due now: the most recent missed time, if it is at most the starting
//               deadline old, or, without a deadline, at most NONE_ON_TIME_MS (one minute) old — slack for
//               a round that runs a little late or a restart, not a catch-up. Everything else is skipped.
//     A starting deadline of 0 means a time can only start in a round that runs at exactly that time.
//   - Concurrency (applied to the candidates):
//       Allow   all candidates start.
//       Forbid  with active runs, every candidate is skipped ("the previous run is still active"); without,
//               the oldest candidate starts and the others of this round are skipped, since it will be
//               active.
//       Replace the newest candidate starts and the older ones of this round are skipped (each would be
//               replaced at once); `abortActive` tells the caller to abort the runs already active.

import { formatDuration } from '../types/duration.ts';
import { podName } from '../names.ts';
import { nextAfter, type Cron } from './cron.ts';
import { lastFixedRateAtOrBefore, MIN_FIXED_RATE_MS, nextFixedRate } from './fixed-rate.ts';
import { checkTimeZone } from './time-zone.ts';

/** A cron expression (parseCron), or a fixed rate (parseFixedRate) anchored at `anchorMs`, by default the creation time. */
export type ParsedSchedule = { kind: 'cron'; cron: Cron } | { kind: 'fixedRate'; rateMs: number; anchorMs?: number };

export type CatchUpPolicy = 'All' | 'Latest' | 'None';
export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace';

export interface ScheduleState {
  /** Epoch ms of the newest scheduled time that was started or recorded as skipped. */
  lastScheduledTime?: number;
}

export interface ScheduleInput {
  schedule: ParsedSchedule;
  /** The IANA zone a cron expression is read in, unless it has a CRON_TZ= prefix. Default "UTC". */
  timeZone?: string;
  /** Epoch ms the schedule came into force (the launch plan's activation); nothing at or before it fires. */
  createdAt: number;
  state: ScheduleState;
  now: number;
  catchUp: CatchUpPolicy;
  /** The most runs the All policy starts for missed times in one round; a positive integer. */
  maxCatchUp: number;
  /** A scheduled time more than this many ms old is not started (skipped instead). */
  startingDeadlineMs?: number;
  concurrency: ConcurrencyPolicy;
  /**
   * How many runs of this launch plan are active now, of those for times up to lastScheduledTime: a run for
   * a later time comes from an earlier attempt at this very round (its state was never stored), not before it.
   */
  activeRuns: number;
}

export interface SkippedTime {
  time: number;
  reason: string;
}

/** Every fire time from `first` to `last`, both included, skipped for one reason: too many to list one by one. */
export interface SkippedRange {
  first: number;
  last: number;
  reason: string;
}

export interface ScheduleDecision {
  /** Scheduled times to start now, oldest first. */
  runs: number[];
  /** Scheduled times to record as skipped, oldest first. */
  skipped: SkippedTime[];
  /** Longer stretches of skipped times (more than MAX_LISTED_SKIPS for one reason), oldest first. */
  skippedRanges: SkippedRange[];
  /** Abort the active runs before starting `runs` (concurrency Replace). */
  abortActive: boolean;
  /** When the next scheduled time falls: when to look again. Undefined when the schedule never fires again. */
  nextTime: number | undefined;
  /** The state to store: the newest time acted on in this round, or the old value when there was none. */
  lastScheduledTime: number | undefined;
}

/** Without a starting deadline, how late a round may be for policy None to still start a time. */
export const NONE_ON_TIME_MS = 60_000;
/** The most skipped times of one reason listed one by one; more become a SkippedRange. */
export const MAX_LISTED_SKIPS = 100;

/** Fire times of a schedule, as seen from one round. */
interface Timeline {
  /** The first fire time after `after`. */
  next(after: number): number | undefined;
  /** The last fire time in (after, through]. */
  last(after: number, through: number): number | undefined;
}

/** Decides one scheduler round; see the top of this file for the policies. Throws a RangeError on invalid input. */
export function decideSchedule(input: ScheduleInput): ScheduleDecision {
  checkInput(input);
  const { now, catchUp, maxCatchUp, concurrency, activeRuns } = input;
  // Times are integer ms, so "now - t > deadline" is "now - t > floor(deadline)".
  const deadline = input.startingDeadlineMs === undefined ? undefined : Math.floor(input.startingDeadlineMs);
  const previous = input.state.lastScheduledTime;
  const cursor = previous === undefined ? input.createdAt : Math.max(previous, input.createdAt);
  const timeline = timelineFor(input, cursor);
  const idle = (nextTime: number | undefined): ScheduleDecision => ({
    runs: [],
    skipped: [],
    skippedRanges: [],
    abortActive: false,
    nextTime,
    lastScheduledTime: previous,
  });
  if (now <= cursor) return idle(timeline.next(cursor));
  const first = timeline.next(cursor);
  if (first === undefined || first > now) return idle(first);
  const latest = timeline.last(cursor, now) ?? first;

  const deadlineReason = () => `older than the starting deadline of ${formatDuration(input.startingDeadlineMs ?? 0)}`;
  /** Stretches of consecutive fire times in (after, through] to skip, listed or as ranges below. */
  const segments: { after: number; through: number; reason: string }[] = [];
  const skipped: SkippedTime[] = [];
  let candidates: number[] = [];
  switch (catchUp) {
    case 'None': {
      const window = deadline ?? NONE_ON_TIME_MS;
      segments.push({ after: cursor, through: latest - 1, reason: 'missed: catch-up policy None starts only a time that is due now' });
      if (now - latest <= window) candidates = [latest];
      else {
        const reason = deadline === undefined ? `more than ${formatDuration(window)} late: catch-up policy None starts only a time that is due now` : deadlineReason();
        skipped.push({ time: latest, reason });
      }
      break;
    }
    case 'Latest':
      segments.push({ after: cursor, through: latest - 1, reason: 'superseded: catch-up policy Latest starts only the most recent missed time' });
      if (deadline === undefined || now - latest <= deadline) candidates = [latest];
      else skipped.push({ time: latest, reason: deadlineReason() });
      break;
    case 'All': {
      let from = cursor;
      if (deadline !== undefined && now - deadline - 1 > cursor) {
        // t is too old when now - t > deadline, that is t <= now - deadline - 1 (times are integer ms).
        from = now - deadline - 1;
        segments.push({ after: cursor, through: from, reason: deadlineReason() });
      }
      while (candidates.length < maxCatchUp) {
        const t = timeline.next(from);
        if (t === undefined || t > now) break;
        candidates.push(t);
        from = t;
      }
      if (candidates.length === maxCatchUp) {
        segments.push({ after: from, through: now, reason: `the catch-up cap of ${maxCatchUp} run${maxCatchUp === 1 ? '' : 's'} was reached (catch-up policy All)` });
      }
      break;
    }
  }

  let runs: number[] = [];
  let abortActive = false;
  if (candidates.length > 0) {
    switch (concurrency) {
      case 'Allow':
        runs = candidates;
        break;
      case 'Forbid': {
        if (activeRuns > 0) {
          for (const time of candidates) skipped.push({ time, reason: 'the previous run is still active (concurrency policy Forbid)' });
          break;
        }
        const [oldest, ...rest] = candidates as [number, ...number[]];
        runs = [oldest];
        for (const time of rest) skipped.push({ time, reason: `the run for ${iso(oldest)} starts in this round (concurrency policy Forbid)` });
        break;
      }
      case 'Replace': {
        const newest = candidates[candidates.length - 1]!;
        runs = [newest];
        for (const time of candidates.slice(0, -1)) skipped.push({ time, reason: `replaced by the run for ${iso(newest)} (concurrency policy Replace)` });
        abortActive = activeRuns > 0;
        break;
      }
    }
  }

  const skippedRanges: SkippedRange[] = [];
  for (const { after, through, reason } of segments) {
    const listed: number[] = [];
    for (let t = timeline.next(after); t !== undefined && t <= through && listed.length <= MAX_LISTED_SKIPS; t = timeline.next(t)) listed.push(t);
    if (listed.length <= MAX_LISTED_SKIPS) {
      for (const time of listed) skipped.push({ time, reason });
    } else {
      skippedRanges.push({ first: listed[0]!, last: timeline.last(after, through)!, reason });
    }
  }
  skipped.sort((a, b) => a.time - b.time);
  skippedRanges.sort((a, b) => a.first - b.first);
  return { runs, skipped, skippedRanges, abortActive, nextTime: timeline.next(now), lastScheduledTime: latest };
}

function timelineFor(input: ScheduleInput, cursor: number): Timeline {
  const { schedule } = input;
  if (schedule.kind === 'fixedRate') {
    const anchor = schedule.anchorMs ?? Math.floor(input.createdAt / 1000) * 1000;
    return arithmetic(anchor, schedule.rateMs);
  }
  const { cron } = schedule;
  if (cron.kind === 'every') {
    // robfig's @every counts from the previous time (rounded down to the second): from the cursor, which
    // is the newest time acted on, so the chain is the same in every round.
    return arithmetic(Math.floor(cursor / 1000) * 1000 + cron.everyMs, cron.everyMs);
  }
  const zone = input.timeZone ?? 'UTC';
  const next = (after: number) => nextAfter(cron, after, zone);
  return { next, last: (after, through) => lastCronTime(next, after, through) };
}

function arithmetic(anchor: number, rate: number): Timeline {
  return {
    next: (after) => nextFixedRate(anchor, rate, after),
    last: (after, through) => {
      const last = lastFixedRateAtOrBefore(anchor, rate, through);
      return last !== undefined && last > after ? last : undefined;
    },
  };
}

/**
 * The last cron fire time in (after, through]. A few steps forward find it when it is near; otherwise a
 * binary search over whole seconds s for the last s with next(s) <= through, so a year-long outage of a
 * per-minute schedule costs about forty searches, not half a million. The answer is checked (its next
 * fire is past `through`), and found by walking should the check ever fail.
 */
function lastCronTime(next: (after: number) => number | undefined, after: number, through: number): number | undefined {
  let t = next(after);
  if (t === undefined || t > through) return undefined;
  let previous = t;
  for (let step = 0; step < 16; step++) {
    const n = next(t);
    if (n === undefined || n > through) return t;
    previous = t;
    t = n;
  }
  let low = Math.floor(previous / 1000); // next(low) = t <= through
  let high = Math.floor(through / 1000); // next(high) > through: fire times are whole seconds after it
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    const n = next(middle * 1000);
    if (n !== undefined && n <= through) low = middle;
    else high = middle;
  }
  t = next(low * 1000)!;
  for (let n = next(t); n !== undefined && n <= through; n = next(t)) t = n;
  return t;
}

function iso(time: number): string {
  return new Date(time).toISOString();
}

function checkInput(input: ScheduleInput): void {
  const integer = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) throw new RangeError(`decideSchedule: ${name} must be an integer >= ${min}, got ${value}`);
  };
  integer('now', input.now, Number.MIN_SAFE_INTEGER);
  integer('createdAt', input.createdAt, Number.MIN_SAFE_INTEGER);
  integer('state.lastScheduledTime', input.state.lastScheduledTime, Number.MIN_SAFE_INTEGER);
  integer('maxCatchUp', input.maxCatchUp, 1);
  const deadline = input.startingDeadlineMs;
  if (deadline !== undefined && !(Number.isFinite(deadline) && deadline >= 0)) throw new RangeError(`decideSchedule: startingDeadlineMs must be a finite number >= 0, got ${deadline}`);
  integer('activeRuns', input.activeRuns, 0);
  const { schedule } = input;
  if (schedule.kind === 'fixedRate') {
    integer('schedule.rateMs', schedule.rateMs, MIN_FIXED_RATE_MS);
    integer('schedule.anchorMs', schedule.anchorMs, Number.MIN_SAFE_INTEGER);
  } else if (schedule.cron.kind === 'spec' && schedule.cron.timeZone === undefined) {
    const problem = checkTimeZone(input.timeZone ?? 'UTC');
    if (problem) throw new RangeError(`decideSchedule: invalid time zone: ${problem}`);
  }
}

/** DNS-1123 subdomain: lowercase alphanumeric labels with inner "-", separated by ".". */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The name of the run a schedule starts for `scheduledTime`: `<launchPlan>-<unix seconds>`, as Argo names
 * a CronWorkflow's runs, when that is a DNS-1123 subdomain of at most 63 characters. Otherwise (a long or
 * non-DNS launch-plan name, or a time that is not a whole second) a sanitized prefix and a hash of the
 * exact pair, from names.ts's podName. Deterministic, so that two replicas, or a round repeated after a
 * restart, name the same run the same and the second create fails with AlreadyExists. Distinct pairs get
 * distinct names: the plain form reads back unambiguously (a name cannot end in "-", and seconds hold no
 * "-"), and the hashed form ends in a 10-character base32 hash, not in digits alone in all but a
 * (6/32)^10 fraction of cases.
 */
export function executionName(launchPlanName: string, scheduledTime: number): string {
  if (!Number.isSafeInteger(scheduledTime) || scheduledTime < 0) {
    throw new RangeError(`executionName: the scheduled time must be non-negative integer epoch milliseconds, got ${scheduledTime}`);
  }
  if (scheduledTime % 1000 !== 0) return podName(launchPlanName, 'atms', scheduledTime);
  const seconds = scheduledTime / 1000;
  const plain = `${launchPlanName}-${seconds}`;
  if (plain.length <= 63 && DNS_SUBDOMAIN.test(plain)) return plain;
  return podName(launchPlanName, 'at', seconds);
}

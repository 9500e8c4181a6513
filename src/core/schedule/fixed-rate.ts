// Fixed-rate schedules: one fire every `rate`, anchored at a start time, so fire times are
// anchor + k × rate for k = 0, 1, 2, … . Anchoring (rather than counting from the previous run, as
// robfig's @every does) keeps the times put across restarts and outages: the fault behind Flyte's
// "fixed-rate start time wrong after restart" (flyte#2885) cannot happen. Pure.

import { parseGoDuration } from './go-duration.ts';

/** The shortest rate accepted: one second, the granularity of scheduled times and execution names. */
export const MIN_FIXED_RATE_MS = 1000;

export type FixedRateParseResult = { ok: true; rateMs: number } | { ok: false; error: string };

/**
 * Parses a fixed rate written as a Go/Kubernetes duration ("10m", "1h30m", "90s", "1.5h"). The rate must
 * be at least 1s and a whole number of seconds; zero and negative rates are refused.
 */
export function parseFixedRate(text: string): FixedRateParseResult {
  const parsed = parseGoDuration(text);
  if (!parsed.ok) return { ok: false, error: `rate: ${parsed.error}` };
  if (parsed.nanos < 0n) return { ok: false, error: `rate: "${text}" is negative; a rate must be at least 1s` };
  if (parsed.nanos === 0n) return { ok: false, error: `rate: "${text}" is zero; a rate must be at least 1s` };
  if (parsed.nanos < BigInt(MIN_FIXED_RATE_MS) * 1_000_000n) return { ok: false, error: `rate: "${text}" is shorter than the minimum of 1s` };
  if (parsed.nanos % 1_000_000_000n !== 0n) return { ok: false, error: `rate: "${text}" is not a whole number of seconds` };
  return { ok: true, rateMs: Number(parsed.nanos / 1_000_000n) };
}

function checkArguments(anchorMs: number, rateMs: number, timeMs: number): void {
  if (!Number.isSafeInteger(anchorMs) || !Number.isSafeInteger(timeMs)) {
    throw new RangeError(`fixed-rate times must be integer milliseconds, got anchor ${anchorMs} and time ${timeMs}`);
  }
  if (!Number.isSafeInteger(rateMs) || rateMs < MIN_FIXED_RATE_MS) throw new RangeError(`a fixed rate must be at least ${MIN_FIXED_RATE_MS} ms, got ${rateMs}`);
}

/** The first fire time anchorMs + k × rateMs (k ≥ 0) strictly after afterMs. */
export function nextFixedRate(anchorMs: number, rateMs: number, afterMs: number): number {
  checkArguments(anchorMs, rateMs, afterMs);
  if (afterMs < anchorMs) return anchorMs;
  return anchorMs + (Math.floor((afterMs - anchorMs) / rateMs) + 1) * rateMs;
}

/** The last fire time anchorMs + k × rateMs (k ≥ 0) at or before throughMs, or undefined before the anchor. */
export function lastFixedRateAtOrBefore(anchorMs: number, rateMs: number, throughMs: number): number | undefined {
  checkArguments(anchorMs, rateMs, throughMs);
  if (throughMs < anchorMs) return undefined;
  return anchorMs + Math.floor((throughMs - anchorMs) / rateMs) * rateMs;
}

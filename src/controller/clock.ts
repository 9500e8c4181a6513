/** Time source and timers, injectable so queue and limiter tests are deterministic. */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Node fires timers longer than this after 1 ms instead, so longer waits are
// cut short; callers re-check the time when a timer fires and re-arm.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock. Timers are unref()'d so a pending delay never keeps the
 * process alive: something else (a server, a watch) has to.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

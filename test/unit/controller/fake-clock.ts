import type { Clock } from '../../../src/controller/clock.ts';

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A manual clock: time moves only through `advance`, which fires due timers in deadline order. */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, FakeTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms || 0), seq: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing each due timer at its own deadline (including ones scheduled while advancing). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: FakeTimer | undefined;
      for (const [id, timer] of this.#timers) {
        if (timer.at > target) continue;
        if (due === undefined || timer.at < due.at || (timer.at === due.at && timer.seq < due.seq)) {
          dueId = id;
          due = timer;
        }
      }
      if (due === undefined || dueId === undefined) break;
      this.#timers.delete(dueId);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = target;
  }
}

/** Lets pending promise callbacks (and what they schedule) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

import { pino, type Logger } from 'pino';

/** A pino logger whose JSON lines are kept in memory, so tests can assert on what was logged. */
export function memoryLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const log = pino({ level: 'trace' }, { write: (s: string) => void raw.push(s) });
  return { log, lines: () => raw.map((s) => JSON.parse(s) as Record<string, unknown>) };
}

/** Lets pending promise callbacks (and what they schedule) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Polls on macrotask turns until `check` is true; fails after `timeoutMs` of real time (a safety net, not a wait). */
export async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (check()) return;
    await settle();
  }
  if (!check()) throw new Error('condition not reached');
}

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A manual async clock for code that takes `now()` and `wait(ms, signal)`. Time moves only through
 * `advance`/`runUntil`, which wake sleepers in deadline order and let their continuations run.
 */
export class AsyncFakeClock {
  #now: number;
  #seq = 0;
  readonly #sleepers = new Set<Sleeper>();

  constructor(start = 0) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly wait = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = { at: this.#now + Math.max(0, ms), seq: this.#seq++, resolve: () => {} };
      const onAbort = () => {
        this.#sleepers.delete(sleeper);
        resolve();
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.add(sleeper);
    });

  get pending(): number {
    return this.#sleepers.size;
  }

  /** The earliest deadline of a sleeper, if any. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const s of this.#sleepers) if (best === undefined || s.at < best) best = s.at;
    return best;
  }

  /** Wakes the earliest sleeper (moving time to its deadline) and lets the woken code run. */
  async step(): Promise<boolean> {
    let due: Sleeper | undefined;
    for (const s of this.#sleepers) if (!due || s.at < due.at || (s.at === due.at && s.seq < due.seq)) due = s;
    if (!due) return false;
    this.#sleepers.delete(due);
    this.#now = Math.max(this.#now, due.at);
    due.resolve();
    await settle();
    return true;
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way at its own deadline. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.nextDeadline();
      if (next === undefined || next > target) break;
      await this.step();
    }
    this.#now = target;
    await settle();
  }
}

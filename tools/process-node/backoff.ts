import { setTimeout as sleep } from 'node:timers/promises';

/** Capped exponential backoff with jitter, for retrying API calls that failed. */
export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;

  constructor(baseMs = 200, capMs = 5000) {
    this.baseMs = baseMs;
    this.capMs = capMs;
  }

  get attempts(): number {
    return this.attempt;
  }

  nextDelayMs(): number {
    const delay = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt++;
    return delay / 2 + Math.random() * (delay / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  /** Sleeps for the next delay; resolves early (without throwing) when the signal aborts. */
  async wait(signal?: AbortSignal): Promise<void> {
    await sleep(this.nextDelayMs(), undefined, { signal }).catch(() => {});
  }
}

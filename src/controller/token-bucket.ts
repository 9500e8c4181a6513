import { systemClock, type Clock } from './clock.ts';

export interface TokenBucketOptions {
  /** Tokens added per second. `<= 0` or `Infinity` means unlimited. */
  qps: number;
  /** Bucket size: how many tokens can be taken at once after a quiet spell. */
  burst: number;
  clock?: Clock;
}

/**
 * A token bucket that hands out reservations: a caller always gets a token
 * but may have to wait before using it. The bucket goes into debt, so N callers
 * arriving together are spaced 1/qps apart instead of retrying in a herd.
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly unlimited: boolean;
  readonly #clock: Clock;
  #tokens: number;
  /** When `#tokens` was last brought up to date. */
  #updatedAt: number;
  /** When the most recent reservation may act; used to refund cancelled ones. */
  #lastActAt: number;

  constructor(options: TokenBucketOptions) {
    const { qps, burst } = options;
    if (Number.isNaN(qps)) throw new RangeError('TokenBucket: qps is NaN');
    this.unlimited = qps <= 0 || qps === Infinity;
    if (!this.unlimited && !(burst >= 1)) {
      throw new RangeError(`TokenBucket: burst must be at least 1, got ${burst}`);
    }
    this.qps = qps;
    this.burst = burst;
    this.#clock = options.clock ?? systemClock;
    this.#tokens = burst;
    this.#updatedAt = this.#clock.now();
    this.#lastActAt = this.#updatedAt;
  }

  /** Takes a token now; returns how many ms to wait before using it (0 = use it now). */
  reserve(): number {
    if (this.unlimited) return 0;
    const now = this.#clock.now();
    this.#refill(now);
    this.#tokens -= 1;
    const waitMs = this.#tokens < 0 ? (-this.#tokens * 1000) / this.qps : 0;
    this.#lastActAt = now + waitMs;
    return waitMs;
  }

  /**
   * Reserves a token and waits until it may be used; resolves with the ms waited.
   * If `signal` aborts first, rejects with its reason and gives back what it can of the token.
   */
  take(signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waitMs = this.reserve();
    if (waitMs <= 0) return Promise.resolve(0);
    const actAt = this.#lastActAt;
    const clock = this.#clock;
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => {
        clock.clearTimeout(handle);
        this.#cancel(actAt);
        reject(signal?.reason);
      };
      const handle = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(waitMs);
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #refill(now: number): void {
    const elapsed = now - this.#updatedAt;
    if (elapsed <= 0) return;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.qps) / 1000);
    this.#updatedAt = now;
  }

  /**
   * Returns an unused reservation's token, minus the share that later
   * reservations were already scheduled around (their delays stand).
   */
  #cancel(actAt: number): void {
    const now = this.#clock.now();
    if (actAt <= now) return;
    const refund = 1 - ((this.#lastActAt - actAt) * this.qps) / 1000;
    if (refund <= 0) return;
    this.#refill(now);
    this.#tokens = Math.min(this.burst, this.#tokens + refund);
    if (actAt === this.#lastActAt) {
      this.#lastActAt = Math.max(now, actAt - 1000 / this.qps);
    }
  }
}

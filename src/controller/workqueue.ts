import { systemClock, type Clock } from './clock.ts';
import { TokenBucket } from './token-bucket.ts';

export interface WorkQueueObserver {
  /** A key was accepted as new work (not a duplicate of work already pending); delayed keys report when their delay ends. */
  added?(key: string): void;
  /** `get` handed out `key` after it had been ready for `waitedMs`. */
  started?(key: string, waitedMs: number): void;
  /** The number of ready keys changed to `n`. */
  depth?(n: number): void;
}

export interface WorkQueueOptions {
  /** Per-key exponential backoff for `addRateLimited`: base * 2^failures, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Global token bucket shared by all `addRateLimited` calls. */
  qps: number;
  burst: number;
  clock?: Clock;
  observer?: WorkQueueObserver;
}

/**
 * A keyed work queue with client-go's guarantees: a key is queued at most once,
 * is never processed by two consumers at once, and a key added while it is being
 * processed is processed again (once) after `done`.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #bucket: TokenBucket;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #observer: WorkQueueObserver;

  readonly #ready = new KeyFifo();
  /** Ready keys served before any in #ready: work nobody has started yet (a new workflow's first round). */
  readonly #urgent = new KeyFifo();
  /** Dirty keys that go to #urgent when they are enqueued. */
  readonly #urgentKeys = new Set<string>();
  readonly #readyAt = new Map<string, number>();
  /** Keys that need processing: queued in #ready, or re-added while processing. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #waiters: Array<(key: string | undefined) => void> = [];

  /** The live (earliest) deadline per delayed key; superseded heap entries are skipped lazily. */
  readonly #delayed = new Map<string, Delayed>();
  readonly #heap = new DeadlineHeap();
  #nextSeq = 0;
  #timer: unknown = undefined;
  #timerAt = Infinity;

  readonly #failures = new Map<string, number>();
  #shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    const { baseDelayMs, maxDelayMs } = options;
    if (!(baseDelayMs >= 0 && Number.isFinite(baseDelayMs))) {
      throw new RangeError(`WorkQueue: baseDelayMs must be a finite number >= 0, got ${baseDelayMs}`);
    }
    if (!(maxDelayMs >= 0 && Number.isFinite(maxDelayMs))) {
      throw new RangeError(`WorkQueue: maxDelayMs must be a finite number >= 0, got ${maxDelayMs}`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#bucket = new TokenBucket({ qps: options.qps, burst: options.burst, clock: this.#clock });
    this.#baseDelayMs = baseDelayMs;
    this.#maxDelayMs = maxDelayMs;
    this.#observer = options.observer ?? {};
  }

  /**
   * Queues `key`. An urgent key jumps ahead of ordinary ones; a key already waiting keeps its place
   * (and its lane), so urgency only ever applies to work that was not pending.
   */
  add(key: string, opts: { urgent?: boolean } = {}): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (opts.urgent) this.#urgentKeys.add(key);
    if (!this.#processing.has(key)) this.#enqueue(key);
    this.#observer.added?.(key);
  }

  /** Adds `key` once `delayMs` has passed; if it is already waiting, the earlier deadline wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (Number.isNaN(delayMs) || delayMs === Infinity) {
      throw new RangeError(`WorkQueue.addAfter: delay must be finite, got ${delayMs}`);
    }
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + delayMs;
    const current = this.#delayed.get(key);
    if (current !== undefined && current.at <= at) return;
    const entry: Delayed = { key, at, seq: this.#nextSeq++ };
    this.#delayed.set(key, entry);
    this.#heap.push(entry);
    if (this.#heap.size > 2 * this.#delayed.size + 64) this.#heap.rebuild(this.#delayed.values());
    this.#armTimer();
  }

  /** Re-adds `key` after the longer of its own backoff and the global bucket's delay. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // Capping the exponent keeps 2^n finite, so a zero base stays 0 instead of NaN.
    const backoff = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** Math.min(failures, 1023));
    this.addAfter(key, Math.max(backoff, this.#bucket.reserve()));
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * Resolves with the next ready key and marks it processing; the caller must call `done`.
   * After `shutDown`, keys still ready are handed out, then `undefined`.
   */
  get(): Promise<string | undefined> {
    const lane = this.#urgent.length ? this.#urgent : this.#ready;
    const key = lane.peek();
    if (key !== undefined) {
      // Observers run before the key is taken: if one throws, the key stays queued rather than lost.
      this.#observer.started?.(key, this.#clock.now() - (this.#readyAt.get(key) ?? this.#clock.now()));
      this.#observer.depth?.(this.len() - 1);
      lane.shift();
      this.#start(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key)) this.#enqueue(key);
  }

  /** Keys ready to be handed out (not counting delayed or processing ones). */
  len(): number {
    return this.#urgent.length + this.#ready.length;
  }

  delayedLen(): number {
    return this.#delayed.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Wakes idle `get` callers with `undefined`, drops delayed keys, and ignores further adds. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#delayed.clear();
    this.#heap.clear();
    for (const wake of this.#waiters.splice(0)) wake(undefined);
  }

  // Observer callbacks run once the queue's state is consistent, so one that
  // throws (the error reaches the caller) cannot strand a key as dirty or processing.
  #enqueue(key: string): void {
    const lane = this.#urgentKeys.delete(key) ? this.#urgent : this.#ready;
    lane.push(key);
    this.#readyAt.set(key, this.#clock.now());
    const wake = this.#waiters.shift();
    if (wake === undefined) {
      this.#observer.depth?.(this.len());
      return;
    }
    // A consumer was waiting, so the queue held nothing else: hand the key straight over.
    lane.shift();
    const waitedMs = this.#start(key);
    wake(key);
    this.#observer.depth?.(this.len());
    this.#observer.started?.(key, waitedMs);
  }

  /** Marks a key taken off the ready queue as processing; returns how long it was ready. */
  #start(key: string): number {
    this.#dirty.delete(key);
    this.#processing.add(key);
    const readyAt = this.#readyAt.get(key) ?? this.#clock.now();
    this.#readyAt.delete(key);
    return this.#clock.now() - readyAt;
  }

  #armTimer(): void {
    let next = this.#heap.peek();
    while (next !== undefined && this.#delayed.get(next.key) !== next) {
      this.#heap.pop();
      next = this.#heap.peek();
    }
    if (next === undefined || next.at >= this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = next.at;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), next.at - this.#clock.now());
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    try {
      for (let next = this.#heap.peek(); next !== undefined && next.at <= now; next = this.#heap.peek()) {
        this.#heap.pop();
        if (this.#delayed.get(next.key) !== next) continue;
        this.#delayed.delete(next.key);
        this.add(next.key);
      }
    } finally {
      // Also re-arms when the timer fired a little early for the head deadline.
      this.#armTimer();
    }
  }
}

interface Delayed {
  readonly key: string;
  readonly at: number;
  /** Breaks ties between equal deadlines in insertion order. */
  readonly seq: number;
}

/** Min-heap of deadlines, ordered by (at, seq). */
class DeadlineHeap {
  #items: Delayed[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Delayed | undefined {
    return this.#items[0];
  }

  push(entry: Delayed): void {
    this.#items.push(entry);
    this.#siftUp(this.#items.length - 1);
  }

  pop(): Delayed | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top !== undefined && last !== undefined && items.length > 0) {
      items[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  clear(): void {
    this.#items = [];
  }

  /** Replaces the contents with `entries`, dropping superseded ones. */
  rebuild(entries: Iterable<Delayed>): void {
    this.#items = [...entries];
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftUp(i: number): void {
    const items = this.#items;
    const entry = items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!before(entry, parent)) break;
      items[i] = parent;
      i = parentIndex;
    }
    items[i] = entry;
  }

  #siftDown(i: number): void {
    const items = this.#items;
    const n = items.length;
    const entry = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, entry)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = entry;
  }
}

function before(a: Delayed, b: Delayed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** FIFO of keys with O(1) amortised shift. */
class KeyFifo {
  #items: Array<string | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(key: string): void {
    this.#items.push(key);
  }

  peek(): string | undefined {
    return this.#items[this.#head];
  }

  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const key = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return key;
  }
}

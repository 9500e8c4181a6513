import { errorMessage } from '../errors.ts';
import type { Informer, InformerEventType, KubeObject } from '../k8s/informer.ts';
import type { Logger } from '../observability/logger.ts';
import { WorkQueue, type WorkQueueObserver } from './workqueue.ts';

/** What a reconcile function returns: look again after a delay, or retry with the key's backoff. */
export interface ReconcileResult {
  requeueAfterMs?: number;
  /** Something transient failed: retry with the per-key backoff. */
  retry?: boolean;
}

/** What the caller knows about the round: when its key entered the queue. */
export interface RoundContext {
  queuedAt: number;
  /** Shutting down: write down what exists, start nothing. */
  recordOnly?: boolean;
}

export interface Enqueue {
  (key: string, options?: { urgent?: boolean }): void;
}

/**
 * Something whose changes are worth a round: the resource the controller reconciles (For), the objects
 * it owns (Owns), or anything else mapped to keys (Watches), as controller-runtime spells them.
 */
export interface Source {
  informers: readonly Informer<KubeObject>[];
  handle(type: InformerEventType, object: KubeObject, enqueue: Enqueue): void;
}

export interface KeyedControllerOptions {
  name: string;
  /** The log field that names a key (workflow, launchPlan, …), so each resource's lines read as before. */
  keyField?: string;
  workers: number;
  queue: { baseDelayMs: number; maxDelayMs: number; qps: number; burst: number };
  sources: readonly Source[];
  reconcile(key: string, round: RoundContext): Promise<ReconcileResult>;
  /** Keys to look at again every resyncMs even without events. */
  resync?: { everyMs: number; keys(): Iterable<string>; also?(): void };
  /** Keys to start with once workers start (everything in the For cache). */
  initial?(): Iterable<{ key: string; urgent?: boolean }>;
  /** After the last round of a graceful stop, before the caches stop. */
  afterWorkers?(): Promise<void>;
  log: Logger;
  now?: () => number;
  queueObserver?: WorkQueueObserver;
  onRound?: (key: string, durationMs: number, outcome: 'ok' | 'requeue' | 'retry' | 'error') => void;
}

/**
 * A controller: events from its sources become keys in a work queue drained by N workers; a key is never
 * reconciled by two workers at once. Errors and retries back off per key, as in controller-runtime.
 */
export class KeyedController {
  readonly name: string;
  private readonly opts: KeyedControllerOptions;
  private readonly queue: WorkQueue;
  /** How long the key a worker just took had waited in the queue. */
  private readonly waited = new Map<string, number>();
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;
  /** Set by stop(): workers finish the round they have and take no other key, even one already queued. */
  private stopping = false;

  constructor(opts: KeyedControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue({
      ...opts.queue,
      observer: {
        ...opts.queueObserver,
        started: (key, waitedMs) => {
          this.waited.set(key, waitedMs);
          opts.queueObserver?.started?.(key, waitedMs);
        },
      },
    });
    const enqueue: Enqueue = (key, options) => {
      if (this.running) this.queue.add(key, options);
    };
    for (const source of opts.sources) for (const informer of source.informers) informer.on((type, object) => source.handle(type, object, enqueue));
  }

  /** Starts the workers; call once the caches are synced (and, with leader election, once leading). */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const { key, urgent } of this.opts.initial?.() ?? []) this.queue.add(key, { urgent });
    this.workers = Array.from({ length: this.opts.workers }, () => this.work());
    const resync = this.opts.resync;
    if (resync) {
      this.resyncTimer = setInterval(() => {
        for (const key of resync.keys()) this.queue.add(key);
        resync.also?.();
      }, resync.everyMs);
      this.resyncTimer.unref();
    }
  }

  /** Takes no new rounds and lets the rounds in flight finish. */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.stopping = true;
    this.queue.shutDown();
    await Promise.all(this.workers);
    if (this.running) await this.opts.afterWorkers?.();
  }

  queueDepth(): number {
    return this.queue.len();
  }

  private async work(): Promise<void> {
    const now = this.opts.now ?? Date.now;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.stopping) {
        // The queue still hands out keys that were ready; whoever leads next reconciles them.
        this.queue.done(key);
        return;
      }
      const started = performance.now();
      let outcome: 'ok' | 'requeue' | 'retry' | 'error' = 'ok';
      try {
        const result = await this.opts.reconcile(key, { queuedAt: now() - (this.waited.get(key) ?? 0) });
        if (result.retry) {
          outcome = 'retry';
          this.queue.addRateLimited(key);
        } else {
          this.queue.forget(key);
          if (result.requeueAfterMs !== undefined) {
            outcome = 'requeue';
            this.queue.addAfter(key, result.requeueAfterMs);
          }
        }
      } catch (err) {
        outcome = 'error';
        this.opts.log.error({ controller: this.name, [this.opts.keyField ?? 'key']: key, err: errorMessage(err), retries: this.queue.failures(key) }, 'round failed; retrying with backoff');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
        this.waited.delete(key);
        this.opts.onRound?.(key, performance.now() - started, outcome);
      }
    }
  }
}

export const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** For: the reconciled resource itself; `filter` drops events not worth a round (our own status writes). */
export function forResource<T extends KubeObject>(
  informers: readonly Informer<T>[],
  options: { filter?(type: InformerEventType, object: T): boolean; urgent?(object: T): boolean; onDelete?(object: T): void } = {},
): Source {
  return {
    informers: informers as unknown as Informer<KubeObject>[],
    handle: (type, object, enqueue) => {
      const o = object as T;
      if (type === 'deleted') {
        options.onDelete?.(o);
        return;
      }
      if (options.filter && !options.filter(type, o)) return;
      enqueue(keyOf(o), { urgent: options.urgent?.(o) ?? false });
    },
  };
}

interface Owned extends KubeObject {
  metadata: KubeObject['metadata'] & { ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] };
}

/** Owns: objects whose controlling owner is of `kind` wake their owner. */
export function owns<T extends Owned>(informers: readonly Informer<T>[], kind: string, options: { onEvent?(type: InformerEventType, object: T, ownerKey: string): void } = {}): Source {
  return {
    informers: informers as unknown as Informer<KubeObject>[],
    handle: (type, object, enqueue) => {
      const o = object as T;
      const owner = o.metadata.ownerReferences?.find((r) => r.controller && r.kind === kind);
      if (!owner) return;
      const key = `${o.metadata.namespace ?? ''}/${owner.name}`;
      options.onEvent?.(type, o, key);
      enqueue(key);
    },
  };
}

/** Watches: any object, mapped to the keys it concerns. */
export function watches<T extends KubeObject>(informers: readonly Informer<T>[], map: (type: InformerEventType, object: T) => Iterable<string>): Source {
  return {
    informers: informers as unknown as Informer<KubeObject>[],
    handle: (type, object, enqueue) => {
      for (const key of map(type, object as T)) enqueue(key);
    },
  };
}

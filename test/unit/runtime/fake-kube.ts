import type { KubeClient, RequestOptions, WatchEvent } from '../../../src/k8s/rest.ts';

export interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; managedFields?: unknown[] };
  data?: string;
}

/** One watch request the informer made; the test drives it. */
export class FakeWatch {
  readonly query: Record<string, string | number | boolean | undefined>;
  readonly idleTimeoutMs: number | undefined;
  readonly done: Promise<void>;
  settled = false;
  #onEvent: (event: WatchEvent<Obj>) => void;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;

  constructor(query: FakeWatch['query'], onEvent: (event: WatchEvent<Obj>) => void, opts: { signal?: AbortSignal; idleTimeoutMs?: number }) {
    this.query = query;
    this.idleTimeoutMs = opts.idleTimeoutMs;
    this.#onEvent = onEvent;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    void this.done.catch(() => {}).finally(() => (this.settled = true));
    const signal = opts.signal;
    if (signal?.aborted) this.fail(new DOMException('This operation was aborted', 'AbortError'));
    signal?.addEventListener('abort', () => this.fail(new DOMException('This operation was aborted', 'AbortError')), { once: true });
  }

  emit(...events: WatchEvent<Obj>[]): void {
    if (this.settled) throw new Error('the watch is over');
    for (const e of events) this.#onEvent(structuredClone(e));
  }

  /** The server closes the watch normally. */
  end(): void {
    this.#resolve();
  }

  fail(err: unknown): void {
    this.#reject(err);
  }
}

/**
 * A stand-in for KubeClient: `request` serves paginated lists of `objects` (or scripted errors);
 * `watch` hands each call to the test as a FakeWatch.
 */
export class FakeKube {
  readonly objects = new Map<string, Obj>();
  resourceVersion = 100;
  readonly lists: { path: string; query: RequestOptions['query'] }[] = [];
  readonly watches: FakeWatch[] = [];
  /** Errors the next list requests throw, in order. */
  readonly listErrors: unknown[] = [];
  /** Watch calls that fail at once (before the test sees them), in order. */
  readonly watchErrors: unknown[] = [];

  set(obj: Obj): Obj {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.resourceVersion);
    this.objects.set(`${stored.metadata.namespace ?? ''}/${stored.metadata.name}`, stored);
    return structuredClone(stored);
  }

  delete(namespace: string, name: string): void {
    this.objects.delete(`${namespace}/${name}`);
    this.resourceVersion++;
  }

  readonly client = {
    request: async <T>(verb: string, path: string, opts: RequestOptions = {}): Promise<T> => {
      if (verb !== 'GET') throw new Error(`unexpected ${verb}`);
      this.lists.push({ path, query: opts.query });
      const err = this.listErrors.shift();
      if (err) throw err;
      const items = [...this.objects.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, o]) => structuredClone(o));
      const limit = Number(opts.query?.['limit'] ?? items.length);
      const start = Number(opts.query?.['continue'] ?? 0);
      const page = items.slice(start, start + limit);
      const next = start + limit < items.length ? String(start + limit) : '';
      return { items: page, metadata: { resourceVersion: String(this.resourceVersion), ...(next ? { continue: next } : {}) } } as T;
    },
    watch: async <T>(_path: string, query: FakeWatch['query'], onEvent: (event: WatchEvent<T>) => void, opts: { signal?: AbortSignal; idleTimeoutMs?: number } = {}): Promise<void> => {
      const err = this.watchErrors.shift();
      if (err) throw err;
      const w = new FakeWatch(query, onEvent as unknown as (e: WatchEvent<Obj>) => void, opts);
      this.watches.push(w);
      return w.done;
    },
  };

  get kube(): KubeClient {
    return this.client as unknown as KubeClient;
  }
}

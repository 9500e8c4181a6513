import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import { isGone } from './errors.ts';
import type { KubeClient, WatchEvent } from './rest.ts';

export interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type InformerEventType = 'added' | 'updated' | 'deleted';
export type InformerHandler<T> = (type: InformerEventType, object: T) => void;

export interface InformerOptions<T> {
  name: string;
  client: KubeClient;
  /** Collection path, e.g. /api/v1/pods or /apis/g/v/namespaces/ns/things. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to every object before it is stored, to keep only what the controller reads. */
  transform?: (object: T) => T;
  /** Secondary index, e.g. pods by owning workflow. */
  indexBy?: (object: T) => string | undefined;
  /** Ask for PartialObjectMetadata: no spec and no status travel, for watchers that need only metadata. */
  metadataOnly?: boolean;
  log: Logger;
  pageSize?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onRelist?: (reason: 'initial' | 'expired' | 'error') => void;
}

export const objectKey = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const PARTIAL_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const PARTIAL_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/**
 * A list-then-watch cache that never gives up: an expired watch (410 Gone) relists, any other
 * failure (API server down, connection reset) retries with jittered exponential backoff.
 */
export class Informer<T extends KubeObject> {
  private readonly opts: InformerOptions<T>;
  private readonly store = new Map<string, T>();
  private readonly index = new Map<string, Set<string>>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly abort = new AbortController();
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  private synced = false;
  relists = 0;
  watchFailures = 0;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  byIndex(value: string): T[] {
    const keys = this.index.get(value);
    return keys ? [...keys].map((k) => this.store.get(k)!).filter(Boolean) : [];
  }

  get size(): number {
    return this.store.size;
  }

  private async run(): Promise<void> {
    const { log } = this.opts;
    const signal = this.abort.signal;
    let resourceVersion = '';
    let failures = 0;
    let relistReason: 'initial' | 'expired' | 'error' = 'initial';
    while (!signal.aborted) {
      try {
        if (!resourceVersion) {
          resourceVersion = await this.relist(signal);
          this.opts.onRelist?.(relistReason);
          this.relists++;
          if (!this.synced) {
            this.synced = true;
            for (const resolve of this.syncWaiters.splice(0)) resolve();
          }
        }
        // The server ends a watch after timeoutSeconds; a spread stops many informers reconnecting at once.
        const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
        const watchStarted = performance.now();
        let events = 0;
        await this.opts.client.watch<T>(
          this.opts.path,
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector },
          (event) => {
            events++;
            resourceVersion = this.apply(event) ?? resourceVersion;
            failures = 0;
          },
          { signal, idleTimeoutMs: (timeoutSeconds + 60) * 1000, accept: this.opts.metadataOnly ? PARTIAL_METADATA : undefined },
        );
        // Like client-go's "very short watch": a watch that closes at once without a single event
        // (a proxy cutting it, say) backs off instead of reconnecting in a tight loop.
        if (events === 0 && performance.now() - watchStarted < 1000) throw new Error('the watch closed at once without any event');
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          log.info({ informer: this.opts.name }, 'watch expired (410 Gone); relisting');
          resourceVersion = '';
          relistReason = 'expired';
          continue;
        }
        failures++;
        this.watchFailures++;
        const base = this.opts.backoffBaseMs ?? 500;
        const delay = Math.min(this.opts.backoffMaxMs ?? 30_000, base * 2 ** Math.min(failures - 1, 16)) * (0.5 + Math.random() / 2);
        log.warn({ informer: this.opts.name, err: describe(err), retryInMs: Math.round(delay) }, 'list/watch failed; retrying');
        if (!this.synced || failures > 3) {
          // Resume from the last version when we can; after repeated failures start from a fresh list.
          resourceVersion = failures > 3 ? '' : resourceVersion;
          relistReason = 'error';
        }
        await sleep(delay, undefined, { signal }).catch(() => {});
      }
    }
  }

  /** Full list (paginated); the store becomes exactly its result, with events for every difference. */
  private async relist(signal: AbortSignal): Promise<string> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.opts.client.request<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>('GET', this.opts.path, {
        query: { limit: this.opts.pageSize ?? 500, continue: cont, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector },
        accept: this.opts.metadataOnly ? PARTIAL_METADATA_LIST : undefined,
        signal,
      });
      // An empty PartialObjectMetadataList arrives as `items: null`.
      for (const item of page.items ?? []) {
        const object = this.prepare(item);
        fresh.set(objectKey(object), object);
      }
      cont = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (cont);
    for (const [key, old] of this.store) if (!fresh.has(key)) this.remove(key, old);
    for (const [key, object] of fresh) this.put(key, object);
    return resourceVersion;
  }

  private apply(event: WatchEvent<T>): string | undefined {
    const rv = (event.object as KubeObject | undefined)?.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') return rv;
    const object = this.prepare(event.object);
    const key = objectKey(object);
    if (event.type === 'DELETED') {
      const old = this.store.get(key);
      if (old) this.remove(key, old);
    } else {
      this.put(key, object);
    }
    return rv;
  }

  private prepare(object: T): T {
    const meta = object.metadata as Record<string, unknown>;
    delete meta['managedFields'];
    return this.opts.transform ? this.opts.transform(object) : object;
  }

  private put(key: string, object: T): void {
    const old = this.store.get(key);
    if (old && old.metadata.resourceVersion === object.metadata.resourceVersion) return;
    if (old) this.unindex(key, old);
    this.store.set(key, object);
    const value = this.opts.indexBy?.(object);
    if (value !== undefined) (this.index.get(value) ?? this.index.set(value, new Set()).get(value)!).add(key);
    this.emit(old ? 'updated' : 'added', object);
  }

  private remove(key: string, old: T): void {
    this.store.delete(key);
    this.unindex(key, old);
    this.emit('deleted', old);
  }

  private unindex(key: string, old: T): void {
    const value = this.opts.indexBy?.(old);
    if (value === undefined) return;
    const keys = this.index.get(value);
    keys?.delete(key);
    if (keys?.size === 0) this.index.delete(value);
  }

  private emit(type: InformerEventType, object: T): void {
    for (const handler of this.handlers) {
      try {
        handler(type, object);
      } catch (err) {
        this.opts.log.error({ informer: this.opts.name, err: describe(err) }, 'informer handler threw');
      }
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

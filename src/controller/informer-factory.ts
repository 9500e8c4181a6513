import { Informer, type InformerOptions, type KubeObject } from '../k8s/informer.ts';
import type { KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';

export type InformerSpec<T extends KubeObject> = Omit<InformerOptions<T>, 'client' | 'log' | 'onRelist'>;

/**
 * One informer per watched collection (path, label selector, metadata-only), shared by every controller
 * that asks for it: two controllers that both read pods open one watch and keep one cache.
 */
export class InformerFactory {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly onRelist: ((informer: string, reason: 'initial' | 'expired' | 'error') => void) | undefined;
  private readonly informers = new Map<string, { informer: Informer<KubeObject>; spec: InformerSpec<KubeObject> }>();

  constructor(client: KubeClient, log: Logger, onRelist?: (informer: string, reason: 'initial' | 'expired' | 'error') => void) {
    this.client = client;
    this.log = log;
    this.onRelist = onRelist;
  }

  /** The informer of a collection; asking twice returns the same one, which must then be asked for the same way. */
  get<T extends KubeObject>(spec: InformerSpec<T>): Informer<T> {
    const key = `${spec.path}?labelSelector=${spec.labelSelector ?? ''}&fieldSelector=${spec.fieldSelector ?? ''}&metadataOnly=${spec.metadataOnly === true}`;
    const known = this.informers.get(key);
    if (known) {
      if (known.spec.transform !== spec.transform || known.spec.indexBy !== spec.indexBy) {
        throw new Error(`informer ${key} asked for twice with a different transform or index; share one function`);
      }
      return known.informer as unknown as Informer<T>;
    }
    const informer = new Informer<T>({ ...spec, client: this.client, log: this.log, onRelist: (reason) => this.onRelist?.(spec.name, reason) });
    this.informers.set(key, { informer: informer as unknown as Informer<KubeObject>, spec: spec as unknown as InformerSpec<KubeObject> });
    return informer;
  }

  /** Starts every informer asked for so far; resolves once all are synced. */
  async start(): Promise<void> {
    const all = [...this.informers.values()].map((i) => i.informer);
    for (const informer of all) informer.start();
    await Promise.all(all.map((i) => i.waitForSync()));
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.informer.hasSynced());
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.informer.stop()));
  }
}

import type { KubeClient } from '../k8s/rest.ts';
import type { Logger } from '../observability/logger.ts';
import { InformerFactory } from './informer-factory.ts';

/** What the manager runs: a controller that starts once the caches are synced (and it leads) and stops gracefully. */
export interface Runnable {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Runs several controllers in one process over shared informers, one client (so one QPS budget) and one
 * leader election (the caller's): controller-runtime's Manager. Controllers ask the manager's informer
 * factory for what they watch before start().
 */
export class Manager {
  readonly informers: InformerFactory;
  private readonly controllers: Runnable[] = [];
  private readonly log: Logger;
  private started = false;

  constructor(client: KubeClient, log: Logger, onRelist?: (informer: string, reason: 'initial' | 'expired' | 'error') => void) {
    this.informers = new InformerFactory(client, log, onRelist);
    this.log = log;
  }

  add<T extends Runnable>(controller: T): T {
    this.controllers.push(controller);
    return controller;
  }

  /** Starts every informer; resolves once all are synced (the process is then ready). */
  startInformers(): Promise<void> {
    return this.informers.start();
  }

  hasSynced(): boolean {
    return this.informers.hasSynced();
  }

  /** Starts every controller's workers: once synced, and with leader election once leading. */
  startControllers(): void {
    if (this.started) return;
    this.started = true;
    for (const c of this.controllers) {
      c.start();
      this.log.debug({ controller: c.name }, 'controller started');
    }
  }

  /** Stops every controller (each finishes its rounds in flight), then the informers. */
  async stop(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop()));
    await this.informers.stop();
  }
}

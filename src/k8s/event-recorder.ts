import { randomBytes } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import { eventsPath } from './paths.ts';
import type { KubeClient } from './rest.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const MAX_PENDING = 1000;

/**
 * Kubernetes Events on workflows, best effort: they are sent in the background, never fail a round,
 * and are dropped (with a log line) when too many are waiting, so an event storm cannot stall the loop.
 */
export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly component: string;
  private pending = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(client: KubeClient, log: Logger, component = 'propeller') {
    this.client = client;
    this.log = log;
    this.component = component;
  }

  record(object: InvolvedObject, event: RecordedEvent): void {
    if (this.pending >= MAX_PENDING) {
      this.log.warn({ workflow: `${object.namespace}/${object.name}`, reason: event.reason }, 'too many events waiting; dropping one');
      return;
    }
    const now = new Date().toISOString();
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${object.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`, namespace: object.namespace },
      involvedObject: object,
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      source: { component: this.component },
      reportingComponent: this.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.pending++;
    const sent = this.client
      .request('POST', eventsPath(object.namespace), { body })
      .then(
        () => {},
        (err: unknown) => this.log.debug({ workflow: `${object.namespace}/${object.name}`, err: (err as Error).message }, 'event not recorded'),
      )
      .finally(() => {
        this.pending--;
        this.inFlight.delete(sent);
      });
    this.inFlight.add(sent);
  }

  /** Waits for events already handed over, e.g. before exiting. */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}

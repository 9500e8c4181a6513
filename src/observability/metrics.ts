import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord } from '../k8s/rest.ts';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LONG_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];

/** Every metric the propeller exports, on its own registry (tests run several propellers in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly roundDuration = new Histogram({
    name: 'propeller_round_duration_seconds',
    help: 'Duration of one reconcile round of one workflow, by outcome (ok, requeue, retry, error).',
    labelNames: ['outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'propeller_queue_depth', help: 'Workflows waiting in the work queue.', registers: [this.registry] });
  readonly queueLatency = new Histogram({
    name: 'propeller_queue_latency_seconds',
    help: 'Time a workflow waited in the work queue before a worker took it.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly acceptanceLatency = new Histogram({
    name: 'propeller_workflow_acceptance_latency_seconds',
    help: 'From the propeller first seeing a workflow to creating its first pod.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly completion = new Histogram({
    name: 'propeller_workflow_completion_seconds',
    help: 'From a workflow starting to it finishing, by final phase.',
    labelNames: ['phase'],
    buckets: LONG_BUCKETS,
    registers: [this.registry],
  });
  readonly transitionLatency = new Histogram({
    name: 'propeller_node_transition_latency_seconds',
    help: 'From the propeller learning that the last dependency of a node succeeded to creating the node\'s pod.',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly podsCreated = new Counter({ name: 'propeller_pods_created_total', help: 'Task pods created.', registers: [this.registry] });
  readonly podsDeleted = new Counter({ name: 'propeller_pods_deleted_total', help: 'Task pods deleted (timeouts, aborts, failures).', registers: [this.registry] });
  readonly statusBytes = new Histogram({
    name: 'propeller_status_bytes',
    help: 'Size of a workflow status when measured: when it finishes, and whenever it nears the object size limit.',
    buckets: [1e3, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 1.5e6],
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'propeller_api_requests_total',
    help: 'Kubernetes API requests by verb, resource and HTTP code (0: no response).',
    labelNames: ['verb', 'resource', 'code'],
    registers: [this.registry],
  });
  readonly apiDuration = new Histogram({
    name: 'propeller_api_request_duration_seconds',
    help: 'Kubernetes API request latency by verb (watches excluded).',
    labelNames: ['verb'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly apiThrottle = new Histogram({
    name: 'propeller_api_client_throttle_seconds',
    help: 'Time requests waited for the client-side QPS limiter.',
    buckets: [0, 0.001, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  private workflowSource: (() => Iterable<{ status?: { phase?: string } }>) | undefined;
  readonly workflows = ((source: () => Iterable<{ status?: { phase?: string } }> | undefined) =>
    new Gauge({
      name: 'propeller_workflows',
      help: 'Workflows in the cache by phase (New: not yet seen by a round).',
      labelNames: ['phase'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const wf of source() ?? []) this.inc({ phase: wf.status?.phase ?? 'New' });
      },
    }))(() => this.workflowSource?.());
  readonly leader = new Gauge({ name: 'propeller_leader', help: '1 while this process holds the leader lease (or runs without election), else 0.', registers: [this.registry] });
  readonly informerRelists = new Counter({
    name: 'propeller_informer_relists_total',
    help: 'Full relists of an informer, by reason (initial, expired watch, error).',
    labelNames: ['informer', 'reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where the workflows-by-phase gauge counts from, read at each scrape. */
  countWorkflows(source: () => Iterable<{ status?: { phase?: string } }>): void {
    this.workflowSource = source;
  }

  /** Feeds the API metrics; pass as the REST client's onRequest hook. */
  readonly onRequest = (r: RequestRecord): void => {
    this.apiRequests.inc({ verb: r.verb, resource: r.resource, code: String(r.code) });
    if (r.verb !== 'watch') this.apiDuration.observe({ verb: r.verb }, r.durationMs / 1000);
    if (r.verb !== 'watch') this.apiThrottle.observe(r.throttledMs / 1000);
  };
}

import { z } from 'zod';

const ms = (def: number, description: string) => z.int().min(0).default(def).describe(description);

/**
 * Every option of the propeller. Each leaf is settable from the YAML config file, an env var
 * (PROPELLER_ + the path in upper snake case) and a flag (the path in kebab case), in that order of precedence.
 */
export const ConfigSchema = z.object({
  kubeconfig: z.string().default('').describe('Path to a kubeconfig file; empty uses the in-cluster service account (or ~/.kube/config).'),
  namespaces: z.array(z.string()).default([]).describe('Namespaces to watch (comma-separated on the command line); empty watches all.'),
  workers: z.int().min(1).max(512).default(8).describe('Workflows reconciled concurrently.'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('Log level.'),
  kube: z
    .object({
      qps: z.number().min(0).default(100).describe('Client-side limit on API requests per second (0: none).'),
      burst: z.int().min(1).default(200).describe('Requests allowed in a burst above qps.'),
      timeoutMs: ms(30_000, 'Timeout of one API request.'),
    })
    .prefault({}),
  queue: z
    .object({
      baseDelayMs: ms(50, 'First retry delay of a workflow whose round failed; doubles each time.'),
      maxDelayMs: ms(60_000, 'Longest retry delay.'),
      qps: z.number().min(0).default(100).describe('Global rate of retried rounds per second.'),
      burst: z.int().min(1).default(1000).describe('Retried rounds allowed in a burst.'),
    })
    .prefault({}),
  resyncPeriodMs: ms(30_000, 'Every running workflow is looked at this often even without events.'),
  podWriteConcurrency: z.int().min(1).default(32).describe('Pod creates and deletes in flight at once per round.'),
  cosmeticWriteDelayMs: ms(1000, 'How long a status write that only shows a node going Queued → Running may wait to ride along with the next real change (0: write at once).'),
  shutdownTimeoutMs: ms(10_000, 'On SIGTERM, how long rounds in flight may take before the process exits anyway.'),
  server: z
    .object({
      host: z.string().default('0.0.0.0').describe('Address of the /healthz, /readyz and /metrics server.'),
      port: z.int().min(-1).max(65535).default(10254).describe('Port of that server; 0 picks a free one, -1 turns it off.'),
    })
    .prefault({}),
  leaderElection: z
    .object({
      enabled: z.boolean().default(false).describe('Elect one active propeller through a Lease; required when running more than one replica.'),
      namespace: z.string().default('').describe("Namespace of the Lease; empty means the pod's own namespace (POD_NAMESPACE or the service account's), else default."),
      name: z.string().default('propeller-leader').describe('Name of the Lease.'),
      identity: z.string().default('').describe('This replica\'s name in the Lease; empty means POD_NAME or hostname plus pid.'),
      leaseDurationMs: ms(15_000, 'How long a lease lasts without renewal before a standby may take it.'),
      renewDeadlineMs: ms(10_000, 'How long the leader keeps trying to renew before it stops leading.'),
      retryPeriodMs: ms(2_000, 'How often the leader renews and standbys try to acquire.'),
    })
    .prefault({}),
  workflow: z
    .object({
      defaultMaxParallelism: z.int().min(0).default(25).describe('Task pods active at once per workflow when spec.maxParallelism is unset (0: no limit).'),
      maxNodes: z.int().min(1).default(10_000).describe('Most nodes a workflow may have, counting each subworkflow once per node that runs it and every branch arm.'),
      maxDepth: z.int().min(1).max(100).default(10).describe('Deepest nesting of subworkflows and branches in a workflow.'),
      maxSystemRetries: z.int().min(0).default(3).describe('Attempts lost to system errors (pod deleted, evicted, node shutdown) that are retried.'),
      retryBackoffBaseMs: ms(2000, 'Delay before the first retry of a node; doubles with each failure.'),
      retryBackoffMaxMs: ms(60_000, 'Longest delay between attempts of a node.'),
      imagePullGraceMs: ms(180_000, 'How long an image pull may back off before the node fails permanently.'),
      maxObjectBytes: z
        .int()
        .min(100_000)
        .default(1_400_000)
        .describe("Largest FlyteWorkflow (spec and status) the propeller writes, under etcd's 1.5 MiB; above it, finished nodes' details and unneeded outputs are dropped, and then the workflow fails."),
    })
    .prefault({}),
  cache: z
    .object({
      enabled: z.boolean().default(true).describe('Task caching; when off, cached tasks always run and their nodes say Disabled.'),
      ttlMs: ms(30 * 24 * 3600_000, 'How long a cache entry is used after it is written (0: forever); expired entries are deleted.'),
      reservationMs: z.int().min(1000).default(30_000).describe("How long a serialized run's cache reservation lasts without renewal; its holder renews it at half-time, and a crashed holder's lapses."),
    })
    .prefault({}),
  projects: z
    .object({
      enabled: z
        .boolean()
        .default(true)
        .describe('Run the Project controller: a namespace per domain of each Project, with its quota, limits and RoleBindings. It needs the cluster-wide mode: with namespaces set it does not run.'),
      viewerRole: z.string().min(1).default('propeller-viewer').describe("The ClusterRole a Project's viewers are bound to in its namespaces (the propeller may only bind it, not hold it)."),
      submitterRole: z.string().min(1).default('propeller-submitter').describe("The ClusterRole a Project's submitters are bound to."),
      adminRole: z.string().min(1).default('propeller-admin').describe("The ClusterRole a Project's admins are bound to."),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

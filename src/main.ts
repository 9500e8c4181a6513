// The propeller: `npm start -- --kubeconfig PATH`, or in a cluster with no flags.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { DefinitionController } from './controller/definition-controller.ts';
import { LaunchPlanController } from './controller/launch-plan-controller.ts';
import { Manager } from './controller/manager.ts';
import { EventRecorder } from './k8s/event-recorder.ts';
import { NAMESPACE_INFORMER, ProjectController } from './controller/project-controller.ts';
import { WorkflowController } from './controller/workflow-controller.ts';
import { LeaderElector } from './controller/leader-elector.ts';
import { TokenBucket } from './controller/token-bucket.ts';
import { errorMessage } from './errors.ts';
import { ownServiceAccount, type ServiceAccountRef } from './k8s/identity.ts';
import { leaseStore } from './k8s/lease-store.ts';
import { KubeClient } from './k8s/rest.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { reconcileMetrics } from './observability/reconcile-metrics.ts';
import { startServer } from './observability/server.ts';
import { containerPlugin } from './plugins/container/plugin.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2));
  const log = createLogger(config.logLevel);
  const metrics = new Metrics();
  const limiter = config.kube.qps > 0 ? new TokenBucket({ qps: config.kube.qps, burst: config.kube.burst }) : undefined;
  const client = await KubeClient.load(config.kubeconfig || undefined, {
    limiter,
    timeoutMs: config.kube.timeoutMs,
    userAgent: 'propeller/0.1.0',
    onRequest: metrics.onRequest,
  });
  const ownServiceAccount = await ownServiceAccountOf(client, log);
  // Projects create namespaces: only a propeller that watches every namespace (and is granted that) runs them.
  const projects = config.projects.enabled && !config.namespaces.length;
  const manager = new Manager(client, log, (informer, reason) => metrics.informerRelists.inc({ informer, reason }));
  const workflows: WorkflowController = manager.add(
    new WorkflowController({
      config,
      client,
      informers: manager.informers,
      ...(projects ? { namespaceLabels: (ns: string) => manager.informers.get(NAMESPACE_INFORMER).get(`/${ns}`)?.metadata.labels } : {}),
      log,
      ownServiceAccount,
      plugins: new Map([[containerPlugin.type, containerPlugin]]),
      queueObserver: { depth: (n) => metrics.queueDepth.set(n), started: (_key, ms) => metrics.queueLatency.observe(ms / 1000) },
      reconcileObserver: reconcileMetrics(metrics, (key) => workflows.firstSeenAt(key)),
      onRound: (_key, ms, outcome) => metrics.roundDuration.observe({ outcome }, ms / 1000),
    }),
  );
  manager.add(new DefinitionController({ config, client, informers: manager.informers, log }));
  manager.add(new LaunchPlanController({ config, client, informers: manager.informers, events: new EventRecorder(client, log), log }));
  if (projects) manager.add(new ProjectController({ config, client, informers: manager.informers, log }));
  else if (config.projects.enabled) log.info('the Project controller is off: it needs the cluster-wide mode, and namespaces is set');
  metrics.countWorkflows(() => workflows.workflows());
  const elector = config.leaderElection.enabled ? createElector(config, client, log) : undefined;

  const server =
    config.server.port >= 0
      ? await startServer(config.server.host, config.server.port, {
          registry: metrics.registry,
          ready: () => {
            if (!manager.hasSynced()) return { ok: false, detail: 'caches syncing' };
            return { ok: true, detail: !elector ? 'ok' : elector.isLeader() ? 'ok (leader)' : 'ok (standby)' };
          },
        })
      : undefined;
  if (server) log.info({ port: server.port }, 'serving /healthz, /readyz and /metrics');

  const campaign = new AbortController();
  let election: Promise<boolean> | undefined;
  let stopping = false;
  const shutdown = async (signal: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new rounds; finishing the ones in flight');
    campaign.abort();
    setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'rounds in flight did not finish in time; exiting anyway');
      process.exit(code || 1);
    }, config.shutdownTimeoutMs).unref();
    await manager.stop();
    // An attempt in flight may still win or renew the lease: release only once the campaign has ended.
    await election;
    await elector?.release();
    metrics.leader.set(0);
    server?.server.close();
    await client.close();
    log.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));

  log.info({ server: client.server, namespaces: config.namespaces.length ? config.namespaces : 'all', workers: config.workers }, 'starting');
  await manager.startInformers();
  log.info('caches synced');
  if (!elector) {
    metrics.leader.set(1);
    manager.startControllers();
    log.info('reconciling');
    return;
  }
  metrics.leader.set(0);
  election = elector.run(campaign.signal, () => {
    metrics.leader.set(1);
    manager.startControllers();
    log.info('reconciling as leader');
  });
  const lost = await election;
  // Exiting is the safe way to stop acting: a fresh process campaigns again from a clean state.
  if (lost) await shutdown('lost leadership', 1);
}

function createElector(config: Config, client: KubeClient, log: Logger): LeaderElector {
  const le = config.leaderElection;
  const namespace = le.namespace || process.env['POD_NAMESPACE'] || serviceAccountNamespace() || 'default';
  return new LeaderElector({
    store: leaseStore(client, namespace, le.name),
    namespace,
    name: le.name,
    identity: le.identity || process.env['POD_NAME'] || `${hostname()}-${process.pid}`,
    leaseDurationMs: le.leaseDurationMs,
    renewDeadlineMs: le.renewDeadlineMs,
    retryPeriodMs: le.retryPeriodMs,
    log,
  });
}

/** Task pods must never run as the propeller's own account; knowing it lets plan refuse such workflows. */
async function ownServiceAccountOf(client: KubeClient, log: Logger): Promise<ServiceAccountRef | undefined> {
  try {
    const account = await ownServiceAccount(client);
    log.info({ serviceAccount: account ? `${account.namespace}/${account.name}` : null }, account ? 'running as a service account' : 'not running as a service account');
    return account;
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not tell which service account this is (SelfSubjectReview failed); workflows naming it are not refused');
    return undefined;
  }
}

function serviceAccountNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`propeller: ${errorMessage(err)}\n`);
  process.exit(1);
});

// The propeller: `npm start -- --kubeconfig PATH`, or in a cluster with no flags.
import { loadConfig } from './config/load.ts';
import { Controller } from './controller/controller.ts';
import { TokenBucket } from './controller/token-bucket.ts';
import { errorMessage } from './errors.ts';
import { KubeClient } from './k8s/rest.ts';
import { createLogger } from './observability/logger.ts';
import { containerPlugin } from './plugins/container/plugin.ts';

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2));
  const log = createLogger(config.logLevel);
  const limiter = config.kube.qps > 0 ? new TokenBucket({ qps: config.kube.qps, burst: config.kube.burst }) : undefined;
  const client = await KubeClient.load(config.kubeconfig || undefined, { limiter, timeoutMs: config.kube.timeoutMs, userAgent: 'propeller/0.1.0' });
  const controller = new Controller({ config, client, log, plugins: new Map([[containerPlugin.type, containerPlugin]]) });

  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      log.info({ signal }, 'shutting down: finishing rounds in flight');
      await controller.stop();
      await client.close();
      log.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  log.info({ server: client.server, namespaces: config.namespaces.length ? config.namespaces : 'all', workers: config.workers }, 'starting');
  await controller.startInformers();
  log.info('caches synced; reconciling');
  controller.startWorkers();
}

main().catch((err: unknown) => {
  process.stderr.write(`propeller: ${errorMessage(err)}\n`);
  process.exit(1);
});

// node tools/process-node/main.ts --kubeconfig PATH --node-name NAME --work-dir DIR
// A kubelet stand-in for the dev control plane: runs each pod's first container as a local process.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient } from '../../src/k8s/rest.ts';
import { errorText, log } from './log.ts';
import { markNodeStopped, registerNodeUntilDone, startHeartbeat } from './node-registration.ts';
import { PodSupervisor } from './pod-supervisor.ts';
import { kubeTime } from './pod-status.ts';
import { watchNodePods } from './pod-watch.ts';

/** Children get this long after SIGTERM on shutdown; the harness SIGKILLs the agent 5 s after its own SIGTERM. */
const SHUTDOWN_GRACE_MS = 2000;

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'node-name': { type: 'string' },
    'work-dir': { type: 'string' },
  },
});
const kubeconfig = values.kubeconfig;
const nodeName = values['node-name'];
const workDirArg = values['work-dir'];
if (!kubeconfig || !nodeName || !workDirArg) {
  process.stderr.write('usage: node tools/process-node/main.ts --kubeconfig PATH --node-name NAME --work-dir DIR\n');
  process.exit(2);
}
const workDir = resolve(workDirArg);

const abort = new AbortController();
let shuttingDown = false;
const client = await KubeClient.load(kubeconfig, { userAgent: `process-node/${nodeName}` });
const supervisor = new PodSupervisor({ client, nodeName, workDir, shuttingDown: () => shuttingDown });
const readySince = kubeTime();
let heartbeat: { stop(): void } | undefined;

async function shutdown(why: string, exitCode: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`${why}: stopping ${supervisor.running} pod process(es)`);
  abort.abort();
  heartbeat?.stop();
  await Promise.all([
    supervisor.shutdown(SHUTDOWN_GRACE_MS),
    markNodeStopped(client, nodeName!, readySince, AbortSignal.timeout(SHUTDOWN_GRACE_MS)),
  ]);
  process.exit(exitCode);
}

process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));
// Losing the agent to a bug would orphan every child; log API-level surprises and keep going.
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${errorText(err)}`));
process.on('uncaughtException', (err) => {
  log(`uncaught exception: ${err.stack ?? errorText(err)}`);
  void shutdown('crash', 1);
});

await mkdir(workDir, { recursive: true });
if (await registerNodeUntilDone(client, nodeName, readySince, abort.signal)) {
  heartbeat = startHeartbeat(client, nodeName, readySince);
  log(`node ${nodeName} ready; pods run under ${workDir}`);
  await watchNodePods(client, nodeName, supervisor, abort.signal);
}

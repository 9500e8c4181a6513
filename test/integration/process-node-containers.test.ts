// The process node runs pods with init containers, native sidecars, several app containers and
// shared emptyDir volumes as a kubelet does: Flyte's copilot design (an init container downloads
// inputs, a sidecar uploads outputs) needs it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../src/k8s/rest.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { startControlPlane } from '../../tools/controlplane/control-plane.ts';
import { nodeRestartedStatus, podStatusOf, type ContainerView, type Exit, type PodView } from '../../tools/process-node/pod-status.ts';
import type { ContainerStatus, NodePodStatus, Pod, PodCondition } from '../../tools/process-node/pod-types.ts';

let client: KubeClient;
let stopControlPlane: (() => Promise<void>) | undefined;
const namespaces: string[] = [];
let scratch: string;

/** A fresh namespace whose default ServiceAccount exists, so pods pass ServiceAccount admission. */
async function newNamespace(): Promise<string> {
  const name = `process-node-c-${randomBytes(4).toString('hex')}`;
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  namespaces.push(name);
  await waitFor(`default ServiceAccount in ${name}`, 30_000, async () =>
    client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`).then(() => true, () => false),
  );
  return name;
}

const IMAGE = 'ignored.example/none:latest';

/** A pod on the process node; containers get the ignored image unless they name one. */
async function createPod(ns: string, name: string, spec: Record<string, unknown> & { containers: Record<string, unknown>[]; initContainers?: Record<string, unknown>[] }): Promise<Pod> {
  const withImage = (c: Record<string, unknown>) => ({ image: IMAGE, ...c });
  return client.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        nodeSelector: { 'propeller.dev/dev-node': 'process' },
        ...spec,
        containers: spec.containers.map(withImage),
        ...(spec.initContainers ? { initContainers: spec.initContainers.map(withImage) } : {}),
      },
    },
  });
}

const getPod = (ns: string, name: string) => client.request<Pod>('GET', `/api/v1/namespaces/${ns}/pods/${name}`);

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Waits until `check` holds for the pod, and returns that version of it. */
async function waitForPod(ns: string, name: string, what: string, check: (pod: Pod) => boolean, timeoutMs = 30_000): Promise<Pod> {
  let pod: Pod | undefined;
  await waitFor(`pod ${ns}/${name}: ${what}`, timeoutMs, async () => {
    pod = await getPod(ns, name);
    return check(pod);
  });
  return pod!;
}

const waitForEnd = (ns: string, name: string, timeoutMs = 30_000) => waitForPod(ns, name, 'a terminal phase', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed', timeoutMs);

const initStatuses = (pod: Pod): ContainerStatus[] => (pod.status as NodePodStatus | undefined)?.initContainerStatuses ?? [];
const appStatus = (pod: Pod, name: string) => pod.status?.containerStatuses?.find((c) => c.name === name);
const initStatus = (pod: Pod, name: string) => initStatuses(pod).find((c) => c.name === name);
const condition = (pod: Pod, type: string): PodCondition | undefined => pod.status?.conditions?.find((c) => c.type === type);
const statusCondition = (status: NodePodStatus, type: string): PodCondition | undefined => status.conditions?.find((c) => c.type === type);
const pidOf = (s: ContainerStatus | undefined) => Number(/^process:\/\/(\d+)$/.exec(s?.containerID ?? '')?.[1]);
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A node script that appends `WHO WHAT` lines to the events file given as its first argument. */
const noteFn = `const fs = require('fs'); const note = (what) => fs.appendFileSync(process.argv[1], process.env.WHO + ' ' + what + '\\n');`;
const waitForFile = `const waitFor = (file, then) => { const t = setInterval(() => { if (fs.existsSync(file)) { clearInterval(t); then(); } }, 50); };`;
const readEvents = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n');

describe('process node: init containers, sidecars, several containers, emptyDir', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'process-node-containers-'));
    if (process.env['KUBECONFIG']) {
      client = await KubeClient.load(process.env['KUBECONFIG']);
    } else {
      const cp = await startControlPlane({ processNode: true, kwokNodes: 0 });
      client = cp.client;
      stopControlPlane = cp.stop;
    }
  });

  after(async () => {
    await Promise.all(namespaces.map((ns) => client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {})));
    await rm(scratch, { recursive: true, force: true });
    if (stopControlPlane) await stopControlPlane();
    else await client.close();
  });

  test('an init container fills an emptyDir that the app container reads at its own mountPath and subPath', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const gate = join(scratch, `gate-${ns}`);
    await createPod(ns, 'fills', {
      volumes: [{ name: 'data', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
      initContainers: [
        {
          name: 'fetch',
          // Waits for the test's go-ahead so the Pending state can be seen, then writes two files.
          command: ['sh', '-c', 'while [ ! -e "$1" ]; do sleep 0.05; done; printf "%s" "$4" > "$2"; printf nested > "$3/y.txt"', 'sh', gate, '/in/input.txt', '/in/nested', 'hello from init'],
          volumeMounts: [{ name: 'data', mountPath: '/in' }],
        },
      ],
      containers: [
        {
          name: 'main',
          command: [process.execPath, '-e', `const fs = require('fs'); fs.writeFileSync(process.env.OUT, JSON.stringify({ input: fs.readFileSync(process.env.IN, 'utf8'), nested: fs.readFileSync(process.argv[1] + '/y.txt', 'utf8') }))`, '--', '/only-nested'],
          env: [{ name: 'OUT', value: '/dev/termination-log' }, { name: 'IN', value: '/data/input.txt' }],
          volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }, { name: 'data', mountPath: '/only-nested', subPath: 'nested' }],
        },
      ],
    });

    const pending = await waitForPod(ns, 'fills', 'the init container running', (p) => initStatus(p, 'fetch')?.state?.running !== undefined);
    assert.equal(pending.status?.phase, 'Pending');
    assert.deepEqual(initStatus(pending, 'fetch')?.started, true);
    assert.deepEqual(initStatus(pending, 'fetch')?.ready, false);
    assert.deepEqual(appStatus(pending, 'main')?.state, { waiting: { reason: 'PodInitializing' } });
    const notInitialized = condition(pending, 'Initialized');
    assert.deepEqual([notInitialized?.status, notInitialized?.reason, notInitialized?.message], ['False', 'ContainersNotInitialized', 'containers with incomplete status: [fetch]']);
    assert.equal(condition(pending, 'PodReadyToStartContainers')?.status, 'True');

    await writeFile(gate, '');
    const pod = await waitForEnd(ns, 'fills');
    assert.equal(pod.status?.phase, 'Succeeded', JSON.stringify(pod.status));
    assert.deepEqual(JSON.parse(appStatus(pod, 'main')?.state?.terminated?.message ?? '{}'), { input: 'hello from init', nested: 'nested' });
    const fetch = initStatus(pod, 'fetch');
    assert.equal(fetch?.state?.terminated?.exitCode, 0);
    assert.equal(fetch?.state?.terminated?.reason, 'Completed');
    assert.equal(fetch?.ready, true);
    assert.ok((fetch?.state?.terminated?.finishedAt ?? '') <= (appStatus(pod, 'main')?.state?.terminated?.startedAt ?? ''), 'the app started after the init container finished');
    // Initialized went True: the reason and message it had while False are gone.
    const initialized = condition(pod, 'Initialized');
    assert.deepEqual([initialized?.status, initialized?.reason, initialized?.message], ['True', 'PodCompleted', undefined]);
  });

  test('a failing init container fails the pod; later init containers and the app never run', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const marker = join(scratch, `ran-${ns}`);
    await createPod(ns, 'init-fails', {
      initContainers: [
        { name: 'fails', command: ['sh', '-c', 'echo broken >&2; exit 7'], terminationMessagePolicy: 'FallbackToLogsOnError' },
        { name: 'never', command: ['touch', `${marker}-init`] },
      ],
      containers: [{ name: 'main', command: ['touch', `${marker}-app`] }],
    });
    const pod = await waitForEnd(ns, 'init-fails');
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(pod.status?.reason, undefined, 'the kubelet sets no pod reason for a failed init container');
    const fails = initStatus(pod, 'fails')?.state?.terminated;
    assert.deepEqual([fails?.exitCode, fails?.reason, fails?.message], [7, 'Error', 'broken\n']);
    assert.deepEqual(initStatus(pod, 'never')?.state, { waiting: { reason: 'PodInitializing' } });
    assert.deepEqual(appStatus(pod, 'main')?.state, { waiting: { reason: 'PodInitializing' } });
    const initialized = condition(pod, 'Initialized');
    assert.deepEqual([initialized?.status, initialized?.reason, initialized?.message], ['False', 'ContainersNotInitialized', 'containers with incomplete status: [fails never]']);
    assert.equal(condition(pod, 'Ready')?.reason, 'PodFailed');
    await sleep(300);
    assert.equal(existsSync(`${marker}-init`), false, 'the second init container did not run');
    assert.equal(existsSync(`${marker}-app`), false, 'the app container did not run');
  });

  test('a native sidecar starts before the app, runs beside it, gets SIGTERM after it exits, and does not decide the phase', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const events = join(scratch, `events-${ns}`);
    const gate = join(scratch, `gate-${ns}`);
    // The uploader waits for the app's result and copies it elsewhere in the volume; on SIGTERM it
    // copies what it has not yet, reports the copy as its termination message and dies of the signal.
    const uploader = `${noteFn} ${waitForFile}
const [, , from, toDir] = process.argv;
let copied = null;
const copy = () => { if (copied === null && fs.existsSync(from)) { fs.mkdirSync(toDir, { recursive: true }); fs.copyFileSync(from, toDir + '/result.txt'); copied = fs.readFileSync(toDir + '/result.txt', 'utf8'); note('copied'); } };
waitFor(from, copy);
// Runs until told to stop, like any sidecar.
const keepAlive = setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  note('sigterm');
  copy();
  fs.writeFileSync(process.env.MSG, JSON.stringify({ copied }));
  process.removeAllListeners('SIGTERM');
  process.kill(process.pid, 'SIGTERM');
});
note('start');`;
    const app = `${noteFn} ${waitForFile}
const [, , gate, out] = process.argv;
note('start');
waitFor(gate, () => { fs.mkdirSync(require('path').dirname(out), { recursive: true }); fs.writeFileSync(out + '.tmp', 'result 42'); fs.renameSync(out + '.tmp', out); note('exit'); });`;
    await createPod(ns, 'sidecar', {
      volumes: [{ name: 'data', emptyDir: {} }],
      initContainers: [
        {
          name: 'uploader',
          restartPolicy: 'Always',
          command: [process.execPath, '-e', uploader, '--', events, '/shared/out/result.txt', '/shared/uploaded'],
          env: [{ name: 'WHO', value: 'uploader' }, { name: 'MSG', value: '/dev/termination-log' }],
          volumeMounts: [{ name: 'data', mountPath: '/shared' }],
        },
      ],
      containers: [
        {
          name: 'task',
          command: [process.execPath, '-e', app, '--', events, gate, '/task-data/out/result.txt'],
          env: [{ name: 'WHO', value: 'task' }],
          volumeMounts: [{ name: 'data', mountPath: '/task-data' }],
        },
      ],
    });

    const running = await waitForPod(ns, 'sidecar', 'the sidecar and the app running', (p) => p.status?.phase === 'Running' && appStatus(p, 'task')?.state?.running !== undefined);
    const side = initStatus(running, 'uploader');
    assert.ok(side?.state?.running, 'the sidecar runs beside the app');
    assert.deepEqual([side?.started, side?.ready], [true, true]);
    assert.equal(condition(running, 'Initialized')?.status, 'True');
    assert.equal(condition(running, 'Ready')?.status, 'True');
    // The sidecar's process was spawned first: pids are handed out in order, and startedAt agrees.
    assert.ok(pidOf(side) < pidOf(appStatus(running, 'task')), 'the sidecar started before the app');
    assert.ok((side?.state?.running?.startedAt ?? '') <= (appStatus(running, 'task')?.state?.running?.startedAt ?? ''));

    // With no startup probe a sidecar counts as started once its process runs, on a kubelet too; the
    // test lets the uploader finish booting (its SIGTERM handler installed) before the app finishes.
    await waitFor('the uploader to be ready', 15_000, async () => existsSync(events) && (await readEvents(events)).includes('uploader start'));
    await writeFile(gate, '');
    const pod = await waitForEnd(ns, 'sidecar');
    assert.equal(pod.status?.phase, 'Succeeded', 'the app exited 0; the sidecar killed by SIGTERM does not count');
    const ended = initStatus(pod, 'uploader')?.state?.terminated;
    assert.equal(ended?.exitCode, 143);
    assert.equal(ended?.reason, 'Error');
    assert.deepEqual(JSON.parse(ended?.message ?? '{}'), { copied: 'result 42' });
    assert.equal(initStatus(pod, 'uploader')?.restartCount, 0);
    assert.equal(appStatus(pod, 'task')?.state?.terminated?.exitCode, 0);

    const lines = await readEvents(events);
    const at = (line: string) => {
      const i = lines.indexOf(line);
      assert.ok(i >= 0, `${line} in ${JSON.stringify(lines)}`);
      return i;
    };
    assert.ok(at('task start') < at('task exit'));
    assert.ok(at('task exit') < at('uploader sigterm'), `SIGTERM came after the app exited: ${JSON.stringify(lines)}`);
    assert.ok(at('uploader copied') >= 0);
    assert.equal(lines.filter((line) => line === 'uploader start').length, 1, 'the sidecar ran once, never restarted');
  });

  test('the pod phase follows the app containers: a failing app fails the pod even when the sidecar exits 0', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'app-fails', {
      initContainers: [{ name: 'side', restartPolicy: 'Always', command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'] }],
      containers: [{ name: 'main', command: ['sh', '-c', 'exit 4'] }],
    });
    const pod = await waitForEnd(ns, 'app-fails');
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(appStatus(pod, 'main')?.state?.terminated?.exitCode, 4);
    assert.deepEqual([initStatus(pod, 'side')?.state?.terminated?.exitCode, initStatus(pod, 'side')?.state?.terminated?.reason], [0, 'Completed']);
  });

  test('two app containers run side by side, each with its own termination message; one failing fails the pod', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const events = join(scratch, `events-${ns}`);
    await createPod(ns, 'two', {
      containers: [
        // "slow" exits only once "fast" has started: they run at the same time.
        { name: 'slow', command: ['sh', '-c', 'while ! grep -q fast "$1" 2>/dev/null; do sleep 0.05; done; printf "from slow" > "$2"', 'sh', events, '/dev/termination-log'] },
        { name: 'fast', command: ['sh', '-c', 'echo fast >> "$1"; printf "from fast" > "$2"; exit 2', 'sh', events, '/tmp/fast-message'], terminationMessagePath: '/tmp/fast-message' },
      ],
    });
    const pod = await waitForEnd(ns, 'two');
    assert.equal(pod.status?.phase, 'Failed');
    assert.deepEqual(
      pod.status?.containerStatuses?.map((c) => [c.name, c.state?.terminated?.exitCode, c.state?.terminated?.reason, c.state?.terminated?.message]),
      [
        ['fast', 2, 'Error', 'from fast'],
        ['slow', 0, 'Completed', 'from slow'],
      ],
      'statuses are listed by name, as the kubelet does',
    );
  });

  test('two app containers that both exit 0 make the pod Succeed', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'two-ok', {
      containers: [
        { name: 'a', command: ['sh', '-c', 'printf A > "$1"', 'sh', '/dev/termination-log'] },
        { name: 'b', command: ['sh', '-c', 'sleep 0.3; printf B > "$1"', 'sh', '/dev/termination-log'] },
      ],
    });
    const pod = await waitForEnd(ns, 'two-ok');
    assert.equal(pod.status?.phase, 'Succeeded');
    assert.deepEqual(pod.status?.containerStatuses?.map((c) => c.state?.terminated?.message), ['A', 'B']);
  });

  test('deleting a pod with a running sidecar stops the app, then the sidecar, SIGKILL after the grace period', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const events = join(scratch, `events-${ns}`);
    await createPod(ns, 'doomed', {
      terminationGracePeriodSeconds: 2,
      initContainers: [
        // Notes SIGTERM and carries on: only the SIGKILL at the end of the grace period stops it.
        { name: 'stubborn', restartPolicy: 'Always', command: ['sh', '-c', 'trap "echo stubborn-term >> $0" TERM; while true; do sleep 0.1; done', events] },
      ],
      containers: [{ name: 'main', command: ['sh', '-c', 'trap "echo main-term >> $0; exit 0" TERM; while true; do sleep 0.1; done', events] }],
    });
    const running = await waitForPod(ns, 'doomed', 'both running', (p) => appStatus(p, 'main')?.state?.running !== undefined && initStatus(p, 'stubborn')?.state?.running !== undefined);
    const pids = [pidOf(appStatus(running, 'main')), pidOf(initStatus(running, 'stubborn'))];
    assert.ok(pids.every((pid) => pid > 0 && isAlive(pid)), `running pids ${pids}`);

    const deletedAt = Date.now();
    await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/doomed`);
    await waitFor('the pod to disappear', 15_000, async () => getPod(ns, 'doomed').then(() => false, (err: unknown) => isNotFound(err)));
    const took = Date.now() - deletedAt;
    assert.ok(took >= 1500 && took < 8000, `gone after ${took} ms: the stubborn sidecar held on until the 2 s grace period ended`);
    assert.deepEqual(pids.map(isAlive), [false, false], 'every process was killed');
    const lines = await readEvents(events);
    assert.ok(lines.indexOf('main-term') >= 0 && lines.indexOf('main-term') < lines.indexOf('stubborn-term'), `the app got SIGTERM before the sidecar: ${JSON.stringify(lines)}`);
  });

  test('activeDeadlineSeconds stops a running init container and fails the pod', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'late', {
      activeDeadlineSeconds: 1,
      initContainers: [{ name: 'slow', command: ['sleep', '60'] }],
      containers: [{ name: 'main', command: ['true'] }],
    });
    const pod = await waitForEnd(ns, 'late', 15_000);
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(pod.status?.reason, 'DeadlineExceeded');
    assert.equal(initStatus(pod, 'slow')?.state?.terminated?.exitCode, 143);
    assert.deepEqual(appStatus(pod, 'main')?.state, { waiting: { reason: 'PodInitializing' } });
  });

  test('a sidecar that exits is restarted, with restartCount and lastState as the kubelet reports them', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const events = join(scratch, `events-${ns}`);
    await createPod(ns, 'flaky', {
      // The first restart is immediate; the next would wait 10 s, longer than the app lives.
      initContainers: [{ name: 'flaky', restartPolicy: 'Always', command: ['sh', '-c', 'echo run >> "$1"; exit 3', 'sh', events] }],
      containers: [{ name: 'main', command: ['sh', '-c', 'while [ "$(grep -c run "$1" 2>/dev/null)" -lt 2 ]; do sleep 0.05; done; sleep 1', 'sh', events] }],
    });
    const backingOff = await waitForPod(ns, 'flaky', 'the sidecar in CrashLoopBackOff', (p) => initStatus(p, 'flaky')?.state?.waiting?.reason === 'CrashLoopBackOff');
    const flaky = initStatus(backingOff, 'flaky');
    assert.equal(flaky?.restartCount, 1);
    assert.equal(flaky?.lastState?.terminated?.exitCode, 3);
    assert.match(flaky?.state?.waiting?.message ?? '', /^back-off 10s restarting failed container=flaky pod=flaky_/);
    const pod = await waitForEnd(ns, 'flaky');
    assert.equal(pod.status?.phase, 'Succeeded', 'a crashing sidecar does not fail the pod');
    assert.equal((await readEvents(events)).length, 2);
  });
});

// The status builders for init containers and sidecars need no cluster.
describe('process node status of init containers and sidecars', () => {
  const pod: Pod = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: {
      initContainers: [{ name: 'fetch' }, { name: 'up', restartPolicy: 'Always' } as Pod['spec']['containers'][number]],
      containers: [{ name: 'task' }],
    },
  };
  const view = (containers: Record<string, ContainerView>, extra: Partial<PodView> = {}): PodView => ({
    containers: new Map(Object.entries(containers)),
    sandboxReady: true,
    startTime: '2020-01-02T00:00:00Z',
    at: '2020-01-02T00:00:05Z',
    ...extra,
  });
  const running = (id: number): ContainerView => ({ state: { running: { startedAt: '2020-01-02T00:00:01Z', containerID: `process://${id}` } } });
  const ended = (exitCode: number, id = 1): ContainerView => ({ state: { terminated: { exitCode, message: '', startedAt: '2020-01-02T00:00:01Z', finishedAt: '2020-01-02T00:00:02Z', containerID: `process://${id}` } } });
  const states = (status: NodePodStatus) => [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].map((s) => [s.name, Object.keys(s.state ?? {})[0], s.state?.waiting?.reason, s.started, s.ready]);

  test('while an init container runs the pod is Pending, everything after it waits in PodInitializing', () => {
    const status = podStatusOf(pod, view({ fetch: running(1) }));
    assert.equal(status.phase, 'Pending');
    assert.deepEqual(states(status), [
      ['fetch', 'running', undefined, true, false],
      ['up', 'waiting', 'PodInitializing', false, false],
      ['task', 'waiting', 'PodInitializing', false, false],
    ]);
    assert.equal(statusCondition(status, 'Initialized')?.message, 'containers with incomplete status: [fetch up]');
    assert.equal(statusCondition(status, 'Ready')?.message, 'containers with unready status: [up task]');
  });

  test('a failed init container fails the pod at once, with no pod reason', () => {
    const status = podStatusOf(pod, view({ fetch: ended(1) }));
    assert.equal(status.phase, 'Failed');
    assert.equal(status.reason, undefined);
    assert.equal(status.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Error');
    assert.deepEqual(statusCondition(status, 'ContainersReady')?.reason, 'PodFailed');
  });

  test('a started sidecar completes initialization and runs next to the app; the app alone decides the end', () => {
    const started = podStatusOf(pod, view({ fetch: ended(0), up: running(2) }));
    assert.equal(started.phase, 'Pending', 'the app container is not running yet');
    assert.equal(statusCondition(started, 'Initialized')?.status, 'True');
    assert.deepEqual(states(started)[0], ['fetch', 'terminated', undefined, false, true]);
    const both = podStatusOf(pod, view({ fetch: ended(0), up: running(2), task: running(3) }));
    assert.equal(both.phase, 'Running');
    assert.equal(statusCondition(both, 'Ready')?.status, 'True');
    assert.equal(podStatusOf(pod, view({ fetch: ended(0), up: running(2), task: ended(0, 3) })).phase, 'Running', 'the sidecar still runs');
    assert.equal(podStatusOf(pod, view({ fetch: ended(0), up: ended(143, 2), task: ended(0, 3) })).phase, 'Succeeded');
    assert.equal(podStatusOf(pod, view({ fetch: ended(0), up: ended(0, 2), task: ended(1, 3) })).phase, 'Failed');
    const lastRun = (ended(3, 2).state as { terminated: Exit }).terminated;
    const looping = podStatusOf(pod, view({ fetch: ended(0), up: { state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } }, restartCount: 1, lastTerminated: lastRun }, task: running(3) }));
    assert.equal(looping.phase, 'Running');
    assert.equal(looping.initContainerStatuses?.[1]?.lastState?.terminated?.exitCode, 3);
    assert.equal(looping.initContainerStatuses?.[1]?.containerID, 'process://2');
  });

  test('a node restart fails the pod and marks what ran as ContainerStatusUnknown', () => {
    const live: Pod = { ...pod, status: podStatusOf(pod, view({ fetch: ended(0), up: running(2), task: running(3) })) };
    const status = nodeRestartedStatus(live, '2020-01-02T00:01:00Z');
    assert.equal(status.phase, 'Failed');
    assert.equal(status.reason, 'NodeRestarted');
    assert.deepEqual(
      [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].map((s) => [s.name, s.state?.terminated?.reason, s.state?.terminated?.exitCode]),
      [
        ['fetch', 'Completed', 0],
        ['up', 'ContainerStatusUnknown', 137],
        ['task', 'ContainerStatusUnknown', 137],
      ],
    );
    const pendingLive: Pod = { ...pod, status: podStatusOf(pod, view({ fetch: running(1) })) };
    const lostInInit = nodeRestartedStatus(pendingLive, '2020-01-02T00:01:00Z');
    assert.deepEqual(lostInInit.containerStatuses?.[0]?.state, { waiting: { reason: 'PodInitializing' } }, 'app containers that never started keep waiting');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../src/k8s/rest.ts';
import { isInvalid, isNotFound } from '../../src/k8s/errors.ts';
import { startControlPlane } from '../../tools/controlplane/control-plane.ts';
import { configMapVolumeFiles } from '../../tools/process-node/configmap-files.ts';
import { planProcess } from '../../tools/process-node/container-command.ts';
import { expandVars } from '../../tools/process-node/expand-vars.ts';
import { mapMountedPath } from '../../tools/process-node/mount-paths.ts';
import { exitCodeOf, podStatusOf, type ContainerView, type PodView } from '../../tools/process-node/pod-status.ts';
import type { ConfigMap, Container, Pod, Volume, VolumeMount } from '../../tools/process-node/pod-types.ts';
import { containerMounts, setUpPodVolumes } from '../../tools/process-node/pod-volumes.ts';
import { unlockTree } from '../../tools/process-node/sandbox-files.ts';
import { chooseTerminationMessage } from '../../tools/process-node/termination-message.ts';

let client: KubeClient;
let stopControlPlane: (() => Promise<void>) | undefined;
const namespaces: string[] = [];

/** A fresh namespace whose default ServiceAccount exists, so pods pass ServiceAccount admission. */
async function newNamespace(): Promise<string> {
  const name = `process-node-${randomBytes(4).toString('hex')}`;
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  namespaces.push(name);
  await waitFor(`default ServiceAccount in ${name}`, 30_000, async () =>
    client.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`).then(() => true, () => false),
  );
  return name;
}

type TestContainer = Omit<Container, 'name' | 'volumeMounts'> & { volumeMounts?: VolumeMount[] };
type TestPodSpec = Omit<Partial<Pod['spec']>, 'volumes'> & { volumes?: Volume[] };

async function createPod(ns: string, name: string, container: TestContainer, spec: TestPodSpec = {}): Promise<Pod> {
  return client.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        // The scheduler places it: the process node is the only untainted node.
        nodeSelector: { 'propeller.dev/dev-node': 'process' },
        ...spec,
        containers: [{ name: 'main', image: 'ignored.example/none:latest', ...container }],
      },
    },
  });
}

async function createConfigMap(ns: string, name: string, content: { data?: Record<string, string>; binaryData?: Record<string, string> }): Promise<void> {
  await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, immutable: true, ...content } });
}

async function podEvents(ns: string, pod: string, reason: string): Promise<{ message?: string }[]> {
  const list = await client.request<{ items: { reason?: string; message?: string }[] }>('GET', `/api/v1/namespaces/${ns}/events`, {
    query: { fieldSelector: `involvedObject.name=${pod}` },
  });
  return list.items.filter((e) => e.reason === reason);
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

async function waitForPhase(ns: string, name: string, phases: string[], timeoutMs = 30_000): Promise<Pod> {
  let pod: Pod | undefined;
  await waitFor(`pod ${ns}/${name} to reach ${phases.join('|')}`, timeoutMs, async () => {
    pod = await getPod(ns, name);
    return phases.includes(pod.status?.phase ?? '');
  });
  return pod!;
}

const terminatedOf = (pod: Pod) => pod.status?.containerStatuses?.[0]?.state?.terminated;

describe('process node on a control plane', () => {
  before(async () => {
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
    // stop() closes the harness's own client; a client we loaded ourselves is ours to close.
    if (stopControlPlane) await stopControlPlane();
    else await client.close();
  });

  test('a pod that writes its termination message succeeds and reports the message', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'writes-message', {
      command: ['sh', '-c', 'printf "%s" "{\\"answer\\": 42}" > "$FLYTE_OUTPUTS_FILE"'],
      env: [{ name: 'FLYTE_OUTPUTS_FILE', value: '/dev/termination-log' }],
    });
    const pod = await waitForPhase(ns, 'writes-message', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded');
    const terminated = terminatedOf(pod);
    assert.equal(terminated?.exitCode, 0);
    assert.equal(terminated?.reason, 'Completed');
    assert.equal(terminated?.message, '{"answer": 42}');
    assert.equal(pod.status?.podIP, '127.0.0.1');
    assert.ok(pod.status?.startTime);
  });

  test('a non-zero exit fails the pod with that exit code', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'exits-3', { command: ['sh', '-c', 'exit 3'] });
    const pod = await waitForPhase(ns, 'exits-3', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(terminatedOf(pod)?.exitCode, 3);
    assert.equal(terminatedOf(pod)?.reason, 'Error');
  });

  test('env values and argv with shell metacharacters arrive unchanged', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const tricky = [`$(rm -rf /)`, `a; echo pwned`, `'single' "double" \`id\``, `line one\nline two\n`, ` | & > < * ? ~ $HOME \\`];
    const script = `require('fs').writeFileSync(process.env.OUT, JSON.stringify({ argv: process.argv.slice(1), env: [process.env.T0, process.env.T1, process.env.T2, process.env.T3, process.env.T4] }))`;
    await createPod(ns, 'metachars', {
      command: [process.execPath, '-e', script, '--'],
      args: tricky,
      env: [{ name: 'OUT', value: '/dev/termination-log' }, ...tricky.map((value, i) => ({ name: `T${i}`, value }))],
    });
    const pod = await waitForPhase(ns, 'metachars', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded', terminatedOf(pod)?.message);
    assert.deepEqual(JSON.parse(terminatedOf(pod)?.message ?? '{}'), { argv: tricky, env: tricky });
  });

  test('$(VAR) references in args expand like the kubelet does', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'expands', {
      command: [process.execPath, '-e', `require('fs').writeFileSync(process.env.OUT, JSON.stringify(process.argv.slice(1)))`, '--'],
      args: ['$(GREETING)', '$$(GREETING)', '$(UNDEFINED)'],
      env: [{ name: 'OUT', value: '/dev/termination-log' }, { name: 'GREETING', value: 'hello' }],
    });
    const pod = await waitForPhase(ns, 'expands', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded', terminatedOf(pod)?.message);
    assert.deepEqual(JSON.parse(terminatedOf(pod)?.message ?? '[]'), ['hello', '$(GREETING)', '$(UNDEFINED)']);
  });

  test('deleting a running pod kills its process and the pod disappears', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'sleeper', { command: ['sleep', '60'] });
    const running = await waitForPhase(ns, 'sleeper', ['Running', 'Succeeded', 'Failed']);
    assert.equal(running.status?.phase, 'Running');
    const pid = Number(/^process:\/\/(\d+)$/.exec(running.status?.containerStatuses?.[0]?.containerID ?? '')?.[1]);
    assert.ok(pid > 0, 'containerID names the pid');
    assert.equal(isAlive(pid), true);

    const deletedAt = Date.now();
    await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/sleeper`);
    await waitFor('the pod to disappear', 10_000, async () => getPod(ns, 'sleeper').then(() => false, (err: unknown) => isNotFound(err)));
    assert.ok(Date.now() - deletedAt < 5000, `gone after ${Date.now() - deletedAt} ms`);
    assert.equal(isAlive(pid), false, 'the process was killed');
  });

  test('a missing binary fails the pod with a clear message', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'no-binary', { command: ['no-such-binary-propeller-test', '--flag'] });
    const pod = await waitForPhase(ns, 'no-binary', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(terminatedOf(pod)?.reason, 'StartError');
    assert.match(terminatedOf(pod)?.message ?? '', /"no-such-binary-propeller-test": executable file not found/);
  });

  test('a container without a command fails: there is no image entrypoint', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'no-command', { args: ['hello'] });
    const pod = await waitForPhase(ns, 'no-command', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Failed');
    assert.match(terminatedOf(pod)?.message ?? '', /no command/);
  });

  test('FallbackToLogsOnError reports the end of the log on failure', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'fallback', { command: ['sh', '-c', 'echo first; echo boom >&2; exit 1'], terminationMessagePolicy: 'FallbackToLogsOnError' });
    const pod = await waitForPhase(ns, 'fallback', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(terminatedOf(pod)?.message, 'first\nboom\n');
  });

  test('activeDeadlineSeconds kills the process and fails the pod', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'deadline', { command: ['sleep', '60'] }, { activeDeadlineSeconds: 1 });
    const pod = await waitForPhase(ns, 'deadline', ['Succeeded', 'Failed'], 15_000);
    assert.equal(pod.status?.phase, 'Failed');
    assert.equal(pod.status?.reason, 'DeadlineExceeded');
    assert.equal(terminatedOf(pod)?.exitCode, 143);
  });

  test('a configMap volume brings data and binaryData keys as read-only files under the mount path', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    const blob = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const script = [
      `import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';`,
      `const blob = process.argv[2];`,
      `writeFileSync(process.env.OUT, JSON.stringify({`,
      `  greeting: 'hello from the configmap',`,
      `  files: readdirSync(process.env.CODE_DIR).sort(),`,
      `  blob: readFileSync(blob).toString('hex'),`,
      `  mode: (statSync(blob).mode & 0o777).toString(8),`,
      `}));`,
    ].join('\n');
    await createConfigMap(ns, 'code-3f2a9c1b', { data: { 'hello.mjs': script }, binaryData: { 'blob.bin': blob.toString('base64') } });
    await createPod(
      ns,
      'mounted',
      {
        command: [process.execPath, '/mnt/code/hello.mjs', '/mnt/code/blob.bin'],
        env: [{ name: 'OUT', value: '/dev/termination-log' }, { name: 'CODE_DIR', value: '/mnt/code' }],
        volumeMounts: [{ name: 'code', mountPath: '/mnt/code', readOnly: true }],
      },
      { volumes: [{ name: 'code', configMap: { name: 'code-3f2a9c1b', defaultMode: 292 } }] },
    );
    const pod = await waitForPhase(ns, 'mounted', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded', terminatedOf(pod)?.message);
    assert.deepEqual(JSON.parse(terminatedOf(pod)?.message ?? '{}'), { greeting: 'hello from the configmap', files: ['blob.bin', 'hello.mjs'], blob: '000102feff', mode: '444' });
  });

  test('a missing ConfigMap keeps the pod Pending with FailedMount events until it appears', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(
      ns,
      'waits',
      { command: [process.execPath, '/opt/app/main.mjs'], env: [{ name: 'OUT', value: '/dev/termination-log' }], volumeMounts: [{ name: 'app', mountPath: '/opt/app' }] },
      { volumes: [{ name: 'app', configMap: { name: 'later' } }] },
    );
    await waitFor('ContainerCreating', 15_000, async () => (await getPod(ns, 'waits')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating');
    await waitFor('a FailedMount event', 15_000, async () => (await podEvents(ns, 'waits', 'FailedMount')).length > 0);
    const [event] = await podEvents(ns, 'waits', 'FailedMount');
    assert.equal(event?.message, 'MountVolume.SetUp failed for volume "app" : configmap "later" not found');
    await sleep(1500);
    assert.equal((await getPod(ns, 'waits')).status?.phase, 'Pending', 'still waiting after a few retries');

    await createConfigMap(ns, 'later', { data: { 'main.mjs': `import { writeFileSync } from 'node:fs'; writeFileSync(process.env.OUT, 'started late');` } });
    const pod = await waitForPhase(ns, 'waits', ['Succeeded', 'Failed'], 30_000);
    assert.equal(pod.status?.phase, 'Succeeded', terminatedOf(pod)?.message);
    assert.equal(terminatedOf(pod)?.message, 'started late');
    assert.deepEqual(Object.keys(pod.status?.containerStatuses?.[0]?.state ?? {}), ['terminated'], 'no waiting state left behind');
  });

  test('deleting a pod that waits for its ConfigMap removes it at once', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(ns, 'never', { command: ['true'], volumeMounts: [{ name: 'v', mountPath: '/v' }] }, { volumes: [{ name: 'v', configMap: { name: 'never-created' } }] });
    await waitFor('a FailedMount event', 15_000, async () => (await podEvents(ns, 'never', 'FailedMount')).length > 0);
    const deletedAt = Date.now();
    await client.request('DELETE', `/api/v1/namespaces/${ns}/pods/never`);
    await waitFor('the pod to disappear', 10_000, async () => getPod(ns, 'never').then(() => false, (err: unknown) => isNotFound(err)));
    assert.ok(Date.now() - deletedAt < 3000, `gone after ${Date.now() - deletedAt} ms`);
  });

  test('an optional missing ConfigMap mounts an empty directory', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(
      ns,
      'optional',
      {
        command: [process.execPath, '-e', `require('fs').writeFileSync(process.env.OUT, JSON.stringify(require('fs').readdirSync(process.argv[1])))`, '/etc/maybe'],
        env: [{ name: 'OUT', value: '/dev/termination-log' }],
        volumeMounts: [{ name: 'maybe', mountPath: '/etc/maybe' }],
      },
      { volumes: [{ name: 'maybe', configMap: { name: 'absent', optional: true } }] },
    );
    const pod = await waitForPhase(ns, 'optional', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded', terminatedOf(pod)?.message);
    assert.equal(terminatedOf(pod)?.message, '[]');
  });

  test('items place chosen keys at their paths, and a subPath mount maps to one file', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createConfigMap(ns, 'settings', { data: { a: 'A', b: 'B', c: 'C' } });
    const script = `const fs = require('fs');
fs.writeFileSync(process.env.OUT, JSON.stringify({
  files: fs.readdirSync(process.env.APP_DIR, { recursive: true }).sort(),
  nested: fs.readFileSync(process.argv[1], 'utf8'),
  single: fs.readFileSync(process.argv[2], 'utf8'),
  mode: (fs.statSync(process.argv[2]).mode & 0o777).toString(8),
}))`;
    await createPod(
      ns,
      'items',
      {
        command: [process.execPath, '-e', script, '/etc/app/nested/dir/a.txt', '/etc/single.txt'],
        env: [{ name: 'OUT', value: '/dev/termination-log' }, { name: 'APP_DIR', value: '/etc/app/' }],
        volumeMounts: [
          { name: 'cfg', mountPath: '/etc/app/' },
          { name: 'cfg', mountPath: '/etc/single.txt', subPath: 'b.txt' },
        ],
      },
      { volumes: [{ name: 'cfg', configMap: { name: 'settings', items: [{ key: 'a', path: 'nested/dir/a.txt' }, { key: 'b', path: 'b.txt', mode: 0o755 }] } }] },
    );
    const pod = await waitForPhase(ns, 'items', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded', terminatedOf(pod)?.message);
    assert.deepEqual(JSON.parse(terminatedOf(pod)?.message ?? '{}'), { files: ['b.txt', 'nested', 'nested/dir', 'nested/dir/a.txt'], nested: 'A', single: 'B', mode: '555' });
  });

  test('other volume types are not mounted and the ProcessNodeUnsupported event says so', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await createPod(
      ns,
      'scratch',
      { command: ['sh', '-c', 'exit 0'], volumeMounts: [{ name: 'creds', mountPath: '/etc/creds' }] },
      { volumes: [{ name: 'creds', secret: { secretName: 'not-mounted' } } as Volume] },
    );
    const pod = await waitForPhase(ns, 'scratch', ['Succeeded', 'Failed']);
    assert.equal(pod.status?.phase, 'Succeeded');
    await waitFor('a ProcessNodeUnsupported event', 15_000, async () => (await podEvents(ns, 'scratch', 'ProcessNodeUnsupported')).length > 0);
    const [event] = await podEvents(ns, 'scratch', 'ProcessNodeUnsupported');
    assert.match(event?.message ?? '', /only configMap and emptyDir volumes are mounted; not mounted: volume "creds" \(secret\) at \/etc\/creds$/);
    // The service account token volume admission adds to every pod is left out silently.
    assert.doesNotMatch(event?.message ?? '', /kube-api-access/);
  });

  test('the API server refuses ConfigMap keys and item paths that would leave the volume', { timeout: 60_000 }, async () => {
    const ns = await newNamespace();
    await assert.rejects(createConfigMap(ns, 'escape', { data: { '../escape': 'x' } }), isInvalid);
    await assert.rejects(
      createPod(ns, 'escape', { command: ['true'], volumeMounts: [{ name: 'v', mountPath: '/v' }] }, { volumes: [{ name: 'v', configMap: { name: 'any', items: [{ key: 'k', path: '../escape' }] } }] }),
      isInvalid,
    );
  });

  test('a few hundred pods at once all run to completion', { timeout: 180_000 }, async () => {
    const ns = await newNamespace();
    const count = 200;
    const names = Array.from({ length: count }, (_, i) => `many-${i}`);
    await Promise.all(
      names.map((name, i) =>
        createPod(ns, name, {
          command: ['sh', '-c', 'printf "%s" "$INDEX" > "$OUT"'],
          env: [{ name: 'INDEX', value: String(i) }, { name: 'OUT', value: '/dev/termination-log' }],
        }),
      ),
    );
    await waitFor(`${count} pods to finish`, 150_000, async () => {
      const list = await client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`);
      return list.items.filter((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed').length === count;
    });
    const list = await client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`);
    for (const pod of list.items) {
      assert.equal(pod.status?.phase, 'Succeeded', pod.metadata.name);
      assert.equal(terminatedOf(pod)?.message, pod.metadata.name.slice('many-'.length));
    }
  });
});

// The pure parts need no cluster.
describe('process node building blocks', () => {
  const pod: Pod = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: { containers: [{ name: 'main', command: ['x'] }, { name: 'side' }] },
    status: { phase: 'Pending', conditions: [{ type: 'Initialized', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] },
  };

  test('$(VAR) expansion matches the kubelet', () => {
    const vars = new Map([['A', 'a']]);
    const cases: [string, string][] = [['$(A)', 'a'], ['$$(A)', '$(A)'], ['$(B)', '$(B)'], ['$(rm -rf /)', '$(rm -rf /)'], ['$', '$'], ['$(A', '$(A'], ['x$y', 'x$y']];
    for (const [input, want] of cases) assert.equal(expandVars(input, vars), want, input);
  });

  test('values equal to the termination message path point into the sandbox', () => {
    const planned = planProcess(
      { name: 'main', command: ['tool', '/out'], terminationMessagePath: '/out', env: [{ name: 'O', value: '/out' }, { name: 'S', valueFrom: {} }] },
      { hostEnv: { PATH: '/bin', SECRET: 'no' }, terminationLogPath: '/sandbox/termination-log' },
    );
    assert.ok(planned.ok);
    assert.deepEqual(planned.plan.args, ['/sandbox/termination-log']);
    assert.deepEqual(planned.plan.env, { PATH: '/bin', O: '/sandbox/termination-log', S: '' });
    assert.deepEqual(planned.plan.unsupportedEnv, ['S']);
  });

  test('termination messages keep the last 4096 bytes, or fall back to the log tail on error', () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    assert.equal(chooseTerminationMessage({ file: bytes('a'.repeat(5000) + 'END'), log: undefined, policy: 'File', exitCode: 0 }), 'a'.repeat(4093) + 'END');
    const log = bytes(Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n'));
    assert.equal(chooseTerminationMessage({ file: undefined, log, policy: 'FallbackToLogsOnError', exitCode: 0 }), '');
    const tail = chooseTerminationMessage({ file: undefined, log, policy: 'FallbackToLogsOnError', exitCode: 2 });
    assert.ok(tail.startsWith('line 20\n') && tail.endsWith('line 99'));
  });

  const view = (containers: Record<string, ContainerView>, extra: Partial<PodView> = {}): PodView => ({
    containers: new Map(Object.entries(containers)),
    sandboxReady: true,
    startTime: '2020-01-02T00:00:00Z',
    at: '2020-01-02T00:00:05Z',
    ...extra,
  });

  test('status builders: signals, phases, and conditions that keep their transition time', () => {
    assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
    assert.equal(exitCodeOf(3, null), 3);
    const run = (id: number): ContainerView => ({ state: { running: { startedAt: '2020-01-02T00:00:00Z', containerID: `process://${id}` } } });
    const running = podStatusOf(pod, view({ main: run(1), side: run(2) }));
    assert.equal(running.phase, 'Running');
    assert.deepEqual(running.containerStatuses?.map((c) => Object.keys(c.state ?? {})[0]), ['running', 'running']);
    assert.equal(running.conditions?.find((c) => c.type === 'Initialized')?.lastTransitionTime, '2020-01-01T00:00:00Z');
    assert.equal(running.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const exit = { exitCode: 0, message: 'ok', startedAt: '2020-01-02T00:00:00Z', finishedAt: '2020-01-02T00:00:01Z', containerID: 'process://1' };
    assert.equal(podStatusOf(pod, view({ main: { state: { terminated: exit } }, side: run(2) })).phase, 'Running', 'a pod runs while any container runs');
    assert.equal(podStatusOf(pod, view({ main: { state: { terminated: exit } }, side: { state: { terminated: exit } } })).phase, 'Succeeded');
    const failed = podStatusOf(pod, view({ main: { state: { terminated: exit } }, side: { state: { terminated: { ...exit, exitCode: 1 } } } }));
    assert.equal(failed.phase, 'Failed');
    assert.deepEqual(failed.containerStatuses?.map((c) => c.state?.terminated?.reason), ['Completed', 'Error']);
    assert.deepEqual(failed.conditions?.map((c) => [c.type, c.status, c.reason]), [
      ['PodReadyToStartContainers', 'False', undefined],
      ['Initialized', 'True', undefined],
      ['Ready', 'False', 'PodFailed'],
      ['ContainersReady', 'False', 'PodFailed'],
    ]);
    const deadline = podStatusOf(pod, view({ main: { state: { terminated: exit } } }, { podReason: { reason: 'DeadlineExceeded', message: 'late' } }));
    assert.equal(deadline.phase, 'Failed');
    assert.equal(deadline.reason, 'DeadlineExceeded');
  });

  test('mounted paths map into the sandbox: equal or under the mountPath, deepest mount first, never twice, $(VAR) follows', () => {
    const mounts = [
      { containerPath: '/opt/code', hostPath: '/sb/volumes/code' },
      { containerPath: '/opt/code/extra', hostPath: '/sb/volumes/extra' },
      { containerPath: '/tmp', hostPath: '/tmp/sb/volumes/tmp' },
    ];
    assert.equal(mapMountedPath('/opt/code', mounts), '/sb/volumes/code');
    assert.equal(mapMountedPath('/opt/code/bundle.mjs', mounts), '/sb/volumes/code/bundle.mjs');
    assert.equal(mapMountedPath('/opt/code/extra/x', mounts), '/sb/volumes/extra/x');
    assert.equal(mapMountedPath('/opt/codex', mounts), '/opt/codex');
    assert.equal(mapMountedPath('--file=/opt/code/x', mounts), '--file=/opt/code/x');
    const planned = planProcess(
      {
        name: 'main',
        command: ['node', '/opt/code/bundle.mjs', '$(DIR)/x', '/tmp/y', '--file=$(DIR)/z', '--out=$(OUT)', '$(T)'],
        env: [{ name: 'DIR', value: '/opt/code' }, { name: 'T', value: '/tmp' }, { name: 'OUT', value: '/dev/termination-log' }, { name: 'LIST', value: '$(DIR):/usr/lib' }],
      },
      { hostEnv: {}, terminationLogPath: '/tmp/sb/termination-log', mounts },
    );
    assert.ok(planned.ok);
    assert.deepEqual(planned.plan.args, [
      '/sb/volumes/code/bundle.mjs',
      '/sb/volumes/code/x',
      '/tmp/sb/volumes/tmp/y',
      '--file=/sb/volumes/code/z',
      '--out=/tmp/sb/termination-log',
      '/tmp/sb/volumes/tmp',
    ]);
    assert.deepEqual(planned.plan.env, { DIR: '/sb/volumes/code', T: '/tmp/sb/volumes/tmp', OUT: '/tmp/sb/termination-log', LIST: '/sb/volumes/code:/usr/lib' });
  });

  test('configMap volume files: data and binaryData, items, optional, and read-only modes', () => {
    const configMap: ConfigMap = { metadata: { name: 'cm' }, data: { 'a.txt': 'A' }, binaryData: { 'b.bin': Buffer.from([1, 2]).toString('base64') } };
    const all = configMapVolumeFiles({ name: 'cm', defaultMode: 0o755 }, configMap);
    assert.ok(all.ok);
    assert.deepEqual(all.files.map((f) => [f.path, [...f.content], f.mode]), [['a.txt', [0x41], 0o555], ['b.bin', [1, 2], 0o555]]);
    const items = configMapVolumeFiles({ name: 'cm', items: [{ key: 'b.bin', path: 'sub/./b', mode: 0o600 }] }, configMap);
    assert.ok(items.ok);
    assert.deepEqual(items.files.map((f) => [f.path, f.mode]), [['sub/b', 0o400]]);
    const defaults = configMapVolumeFiles({ name: 'cm' }, configMap);
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.files.map((f) => f.mode), [0o444, 0o444]);
    assert.deepEqual(configMapVolumeFiles({ name: 'cm', items: [{ key: 'nope', path: 'x' }] }, configMap), { ok: false, message: 'configmap references non-existent config key: nope' });
    assert.deepEqual(configMapVolumeFiles({ name: 'cm', items: [{ key: 'nope', path: 'x' }], optional: true }, configMap), { ok: true, files: [] });
    assert.deepEqual(configMapVolumeFiles({ name: 'gone' }, undefined), { ok: false, message: 'configmap "gone" not found' });
    assert.deepEqual(configMapVolumeFiles({ name: 'gone', optional: true }, undefined), { ok: true, files: [] });
  });

  test('configMap keys and item paths that would leave the volume are refused', () => {
    for (const key of ['../escape', 'a/b', '..data', '.', '/abs']) {
      const result = configMapVolumeFiles({ name: 'cm' }, { metadata: { name: 'cm' }, data: { ok: 'fine', [key]: 'x' } });
      assert.equal(result.ok, false, key);
    }
    for (const path of ['../escape', 'a/../../escape', '/etc/passwd', '..data/x', '.', '', 'a/..']) {
      const result = configMapVolumeFiles({ name: 'cm', items: [{ key: 'ok', path }] }, { metadata: { name: 'cm' }, data: { ok: 'fine' } });
      assert.equal(result.ok, false, path);
    }
  });

  test('a forged ConfigMap with a traversing key writes nothing outside the sandbox', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'process-node-volumes-'));
    try {
      const sandbox = join(dir, 'sandbox');
      // What a compromised or buggy API server could send; the real one refuses such keys.
      const forged: ConfigMap = { metadata: { name: 'cm' }, data: { 'fine.txt': 'ok', '../../../escape': 'pwned' } };
      const fakeClient = { request: async () => forged } as unknown as KubeClient;
      const volumePod: Pod = {
        metadata: { name: 'p', namespace: 'ns', uid: 'u' },
        spec: { containers: [{ name: 'main', command: ['x'], volumeMounts: [{ name: 'v', mountPath: '/v' }] } as Container] },
      };
      (volumePod.spec as unknown as { volumes: Volume[] }).volumes = [{ name: 'v', configMap: { name: 'cm' } }];
      const outcome = await setUpPodVolumes(fakeClient, volumePod, sandbox);
      assert.equal(outcome.ok, false);
      assert.match(outcome.ok ? '' : outcome.message, /^MountVolume\.SetUp failed for volume "v" : configmap "cm" has key "\.\.\/\.\.\/\.\.\/escape"/);
      assert.deepEqual((await readdir(dir, { recursive: true })).filter((p) => p.includes('escape')), []);

      forged.data = { 'fine.txt': 'ok' };
      const volumes = await setUpPodVolumes(fakeClient, volumePod, sandbox);
      assert.ok(volumes.ok);
      const mounted = await containerMounts(volumePod, volumePod.spec.containers[0]!, volumes.dirs);
      assert.ok(mounted.ok);
      assert.deepEqual(mounted.mounts.mappings, [{ containerPath: '/v', hostPath: join(sandbox, 'volumes', 'v') }]);
      assert.equal((await stat(join(sandbox, 'volumes', 'v', 'fine.txt'))).mode & 0o777, 0o444);
      assert.equal((await stat(join(sandbox, 'volumes', 'v'))).mode & 0o777, 0o555);
      await unlockTree(sandbox);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a pod waiting for its volumes is Pending with its containers in ContainerCreating', () => {
    const status = podStatusOf(pod, view({}, { sandboxReady: false }));
    assert.equal(status.phase, 'Pending');
    assert.deepEqual(status.containerStatuses?.map((c) => c.state), [{ waiting: { reason: 'ContainerCreating' } }, { waiting: { reason: 'ContainerCreating' } }]);
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual([ready?.reason, ready?.message], ['ContainersNotReady', 'containers with unready status: [main side]']);
    assert.equal(status.conditions?.find((c) => c.type === 'PodReadyToStartContainers')?.status, 'False');
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

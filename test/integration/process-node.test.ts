import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../src/k8s/rest.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { startControlPlane } from '../../tools/controlplane/control-plane.ts';
import { planProcess } from '../../tools/process-node/container-command.ts';
import { expandVars } from '../../tools/process-node/expand-vars.ts';
import { exitCodeOf, runningStatus, terminatedStatus } from '../../tools/process-node/pod-status.ts';
import type { Container, Pod } from '../../tools/process-node/pod-types.ts';
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

async function createPod(ns: string, name: string, container: Omit<Container, 'name'>, spec: Partial<Pod['spec']> = {}): Promise<Pod> {
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

  test('status builders: signals, phases, and conditions that keep their transition time', () => {
    assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
    assert.equal(exitCodeOf(3, null), 3);
    const running = runningStatus(pod, { startedAt: '2020-01-02T00:00:00Z', containerID: 'process://1' });
    assert.equal(running.phase, 'Running');
    assert.deepEqual(running.containerStatuses?.map((c) => Object.keys(c.state ?? {})[0]), ['running', 'waiting']);
    assert.equal(running.conditions?.find((c) => c.type === 'Initialized')?.lastTransitionTime, '2020-01-01T00:00:00Z');
    const exit = { exitCode: 0, message: 'ok', startedAt: '2020-01-02T00:00:00Z', finishedAt: '2020-01-02T00:00:01Z', containerID: 'process://1' };
    assert.equal(terminatedStatus(pod, exit).phase, 'Succeeded');
    assert.equal(terminatedStatus(pod, { ...exit, exitCode: 1 }).containerStatuses?.[0]?.state?.terminated?.reason, 'Error');
    const deadline = terminatedStatus(pod, exit, { reason: 'DeadlineExceeded', message: 'late' });
    assert.equal(deadline.phase, 'Failed');
    assert.equal(deadline.reason, 'DeadlineExceeded');
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

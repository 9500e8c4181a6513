import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerState, Pod, PodStatus } from '../../../../src/api/pod.ts';
import type { ObserveContext, TaskObservation } from '../../../../src/core/task-plugin.ts';
import { observePod } from '../../../../src/plugins/container/observe-pod.ts';

const START = Date.parse('2024-05-01T10:00:00Z');
const GRACE = 60_000;
const ctx = (elapsedMs = 0): ObserveContext => ({ now: START + elapsedMs, attemptStartedAt: START, imagePullGraceMs: GRACE });

function pod(status: PodStatus, deletionTimestamp?: string): Pod {
  return {
    metadata: { name: 'wf-n-0', namespace: 'ns', ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: { containers: [{ name: 'task', image: 'img' }] },
    status,
  };
}

const withContainer = (phase: PodStatus['phase'], state: ContainerState, extra: Partial<PodStatus> = {}): Pod => pod({ phase, containerStatuses: [{ name: 'task', state }], ...extra });
const terminated = (exitCode: number, more: { reason?: string; message?: string } = {}): ContainerState => ({ terminated: { exitCode, ...more } });
const waiting = (reason: string, message?: string): ContainerState => ({ waiting: { reason, ...(message ? { message } : {}) } });
const failed = (kind: 'User' | 'System' | 'Permanent', code: string, message: string): TaskObservation => ({ phase: 'Failed', error: { kind, code, message } });

const ROWS: [string, Pod, TaskObservation, number?][] = [
  ['Succeeded hands over the termination message', withContainer('Succeeded', terminated(0, { message: '{"o0": 1}' })), { phase: 'Succeeded', outputsText: '{"o0": 1}' }],
  ['Succeeded without a message', withContainer('Succeeded', terminated(0)), { phase: 'Succeeded', outputsText: undefined }],
  ['Succeeded but OOMKilled is a user error', withContainer('Succeeded', terminated(0, { reason: 'OOMKilled' })), failed('User', 'OOMKilled', 'the container ran out of memory (OOMKilled)')],
  ['Failed with an exit code is a user error quoting the message', withContainer('Failed', terminated(3, { reason: 'Error', message: ' bad input \n' })), failed('User', 'NonZeroExit', 'the container exited with code 3: bad input')],
  ['Failed with exit code 1 and no message', withContainer('Failed', terminated(1, { reason: 'Error' })), failed('User', 'NonZeroExit', 'the container exited with code 1')],
  ['Failed OOMKilled is a user error', withContainer('Failed', terminated(137, { reason: 'OOMKilled' })), failed('User', 'OOMKilled', 'the container ran out of memory (OOMKilled)')],
  ['SIGKILL (137) without OOM is a system error', withContainer('Failed', terminated(137, { reason: 'Error' })), failed('System', 'Interrupted', 'the container was killed (SIGKILL) from outside the task')],
  [
    'evicted is a system error',
    pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }),
    failed('System', 'Evicted', 'the pod was lost: Evicted: The node was low on resource: memory.'),
  ],
  ['node shutdown is a system error', pod({ phase: 'Failed', reason: 'NodeShutdown', message: 'Pod was terminated in response to imminent node shutdown.' }), failed('System', 'NodeShutdown', 'the pod was lost: NodeShutdown: Pod was terminated in response to imminent node shutdown.')],
  ['OutOf* admission failures are system errors', pod({ phase: 'Failed', reason: 'OutOfcpu' }), failed('System', 'OutOfcpu', 'the pod was lost: OutOfcpu')],
  ['DeadlineExceeded is a timeout', pod({ phase: 'Failed', reason: 'DeadlineExceeded' }), failed('User', 'TimedOut', 'the pod exceeded its active deadline')],
  ['Failed without a container exit is a system error', pod({ phase: 'Failed', message: 'lost' }), failed('System', 'PodFailed', 'the pod failed without a container exit: lost')],
  ['deleted while running is a system error', pod({ phase: 'Running', containerStatuses: [{ name: 'task', state: { running: {} } }] }, '2024-05-01T10:00:30Z'), failed('System', 'PodDeleted', 'pod wf-n-0 was deleted before it finished')],
  [
    'InvalidImageName is permanent',
    withContainer('Pending', waiting('InvalidImageName', 'couldn\'t parse image reference "UPPER"')),
    failed('Permanent', 'InvalidImageName', 'the container cannot start: InvalidImageName: couldn\'t parse image reference "UPPER"'),
  ],
  [
    'CreateContainerConfigError is permanent',
    withContainer('Pending', waiting('CreateContainerConfigError', 'secret "s" not found')),
    failed('Permanent', 'CreateContainerConfigError', 'the container cannot start: CreateContainerConfigError: secret "s" not found'),
  ],
  ['ImagePullBackOff within the grace period waits', withContainer('Pending', waiting('ImagePullBackOff', 'Back-off pulling image')), { phase: 'Queued', reason: 'ImagePullBackOff', message: 'Back-off pulling image', pullProblem: true }, GRACE - 1],
  [
    'ImagePullBackOff past the grace period is permanent',
    withContainer('Pending', waiting('ImagePullBackOff', 'Back-off pulling image')),
    failed('Permanent', 'ImagePullBackOff', 'the container could not start within 60s: ImagePullBackOff: Back-off pulling image'),
    GRACE,
  ],
  ['ErrImagePull past the grace period is permanent', withContainer('Pending', waiting('ErrImagePull')), failed('Permanent', 'ErrImagePull', 'the container could not start within 60s: ErrImagePull'), GRACE + 5000],
  [
    'unschedulable waits as queued',
    pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] }),
    { phase: 'Queued', reason: 'Unschedulable', message: '0/3 nodes are available' },
  ],
  ['pending while the container is created', withContainer('Pending', waiting('ContainerCreating')), { phase: 'Queued', reason: 'ContainerCreating' }],
  ['a pod with no status yet is queued', { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [] } }, { phase: 'Queued', reason: undefined }],
  ['running', withContainer('Running', { running: { startedAt: '2024-05-01T10:00:05Z' } }), { phase: 'Running' }],
];

for (const [name, p, expected, elapsed] of ROWS) {
  test(`observePod: ${name}`, () => {
    assert.deepEqual(observePod(p, ctx(elapsed)), expected);
  });
}

test('observePod: a finished pod being deleted still reports how it finished', () => {
  const done = pod({ phase: 'Succeeded', containerStatuses: [{ name: 'task', state: terminated(0, { message: '{}' }) }] }, '2024-05-01T10:00:30Z');
  assert.deepEqual(observePod(done, ctx()), { phase: 'Succeeded', outputsText: '{}' });
});

test('observePod: reads the task container even when a sidecar is listed first', () => {
  const p = pod({ phase: 'Failed', containerStatuses: [{ name: 'sidecar', state: terminated(0) }, { name: 'task', state: terminated(2) }] });
  assert.deepEqual(observePod(p, ctx()), failed('User', 'NonZeroExit', 'the container exited with code 2'));
});

test('observePod: cuts a huge exit message to 512 characters', () => {
  const p = withContainer('Failed', terminated(1, { message: 'e'.repeat(2000) }));
  const obs = observePod(p, ctx());
  assert.ok(obs.phase === 'Failed');
  assert.equal(obs.error.message, `the container exited with code 1: ${'e'.repeat(512)}…`);
});

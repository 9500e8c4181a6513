import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_MOUNT_PATH } from '../../../../src/api/code.ts';
import type { TaskSpec } from '../../../../src/api/flyteworkflow.ts';
import type { CompiledTask } from '../../../../src/core/compile.ts';
import { parseType } from '../../../../src/core/types/index.ts';
import type { PodBuildInput } from '../../../../src/core/task-plugin.ts';
import { buildPod, MAX_INPUTS_ENV_BYTES, OUTPUTS_FILE, PodBuildError } from '../../../../src/plugins/container/build-pod.ts';
import { PropellerError } from '../../../../src/errors.ts';

/** A compiled task, its interface parsed by the real type parser. */
function compiledTask(spec: TaskSpec): CompiledTask {
  const types = (decl: Record<string, string> | undefined) =>
    new Map(
      Object.entries(decl ?? {}).map(([name, text]) => {
        const parsed = parseType(text);
        if (!parsed.ok) assert.fail(parsed.error);
        return [name, parsed.type];
      }),
    );
  return { name: 't', spec, inputs: types(spec.interface?.inputs), outputs: types(spec.interface?.outputs) };
}

const TASK: TaskSpec = {
  version: 'v7',
  interface: { inputs: { name: 'str', n: 'int', xs: 'list[float]', when: 'datetime', label: 'Optional[str]' }, outputs: { o: 'float' } },
  container: {
    image: 'ghcr.io/acme/task:1.0',
    command: ['python', '-c', 'import sys; print(sys.argv)'],
    args: ['--name', '{{.inputs.name}}', '--n={{ .inputs.n }}', '{{.inputs.xs}}', '{{.inputs.when}}', '{{.inputs.label}}'],
    env: [
      { name: 'GREETING', value: 'hi {{.inputs.name}}' },
      { name: 'FLYTE_INPUTS', value: 'user tries to override' },
      { name: 'EMPTY' },
    ],
    workingDir: '/work',
    resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    imagePullPolicy: 'IfNotPresent',
  },
};

const INPUTS = { name: 'a b; rm -rf / && $(id) `id` "q" \'s\' | > *', n: 3, xs: [1, 2.5], when: '2024-05-01T10:00:00Z', label: 'tag' };

function input(overrides: Partial<PodBuildInput> = {}): PodBuildInput {
  return {
    workflow: { name: 'wf-1', namespace: 'team-a', uid: 'uid-123', project: 'flytesnacks', domain: 'development' },
    node: 'slope_val',
    attempt: 2,
    podName: 'wf-1-slope-val-2-abcdefghij',
    task: compiledTask(TASK),
    inputs: INPUTS,
    serviceAccountName: 'runner',
    pod: { nodeSelector: { pool: 'cpu' }, tolerations: [{ key: 'k', operator: 'Exists' }], labels: { team: 'a', 'app.kubernetes.io/managed-by': 'someone-else' }, annotations: { note: 'x' }, priorityClassName: 'low' },
    ...overrides,
  };
}

const envOf = (pod: ReturnType<typeof buildPod>) => Object.fromEntries((pod.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));

test('buildPod sets the metadata: name, labels, annotations and a controller owner reference', () => {
  const pod = buildPod(input());
  assert.deepEqual(pod.metadata, {
    name: 'wf-1-slope-val-2-abcdefghij',
    namespace: 'team-a',
    labels: {
      team: 'a',
      'app.kubernetes.io/managed-by': 'propeller',
      'flyte.propeller.dev/workflow': 'wf-1',
      'flyte.propeller.dev/node': 'slope_val',
      'flyte.propeller.dev/attempt': '2',
      'flyte.propeller.dev/task': 't',
      'flyte.propeller.dev/project': 'flytesnacks',
      'flyte.propeller.dev/domain': 'development',
    },
    annotations: { note: 'x', 'flyte.propeller.dev/workflow': 'wf-1', 'flyte.propeller.dev/node': 'slope_val' },
    ownerReferences: [{ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', name: 'wf-1', uid: 'uid-123', controller: true, blockOwnerDeletion: true }],
  });
});

test('buildPod leaves out project and domain labels the workflow does not have', () => {
  const pod = buildPod(input({ workflow: { name: 'wf-1', namespace: 'ns', uid: 'u', project: '', domain: '' } }));
  assert.equal(pod.metadata.labels?.['flyte.propeller.dev/project'], undefined);
  assert.equal(pod.metadata.labels?.['flyte.propeller.dev/domain'], undefined);
});

test('buildPod sets the pod spec: never restart, the service account, scheduling options, the task resources', () => {
  const pod = buildPod(input());
  const { containers, ...spec } = pod.spec;
  assert.deepEqual(spec, {
    restartPolicy: 'Never',
    serviceAccountName: 'runner',
    nodeSelector: { pool: 'cpu' },
    tolerations: [{ key: 'k', operator: 'Exists' }],
    priorityClassName: 'low',
    enableServiceLinks: false,
  });
  assert.equal(containers.length, 1);
  const c = containers[0]!;
  assert.equal(c.name, 'task');
  assert.equal(c.image, 'ghcr.io/acme/task:1.0');
  assert.equal(c.workingDir, '/work');
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.deepEqual(c.resources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi' } });
  assert.equal(c.terminationMessagePath, OUTPUTS_FILE);
  assert.equal(c.terminationMessagePolicy, 'File');
  assert.equal(buildPod(input({ serviceAccountName: undefined })).spec.serviceAccountName, undefined);
});

/** What the container gets after the kubelet's expansion of command, args and env ($$ becomes $). */
const kubeletSees = (value: string) => value.replaceAll('$$', '$');

test('buildPod renders templates into argv elements: str as-is, shell metacharacters untouched, the rest as JSON', () => {
  const c = buildPod(input()).spec.containers[0]!;
  assert.deepEqual(c.command, ['python', '-c', 'import sys; print(sys.argv)']);
  assert.deepEqual(c.args?.map(kubeletSees), ['--name', INPUTS.name, '--n=3', '[1,2.5]', '"2024-05-01T10:00:00Z"', 'tag']);
  assert.match(c.args![1]!, /\$\$\(id\)/, 'the $ in the value is escaped in the pod spec, so the kubelet does not expand $(id)');
});

test('buildPod escapes only substituted values: the author\'s own $(VAR) still expands like in any pod', () => {
  const base = input();
  const task = { ...base.task, spec: { ...base.task.spec, container: { ...base.task.spec.container, args: ['$(HOME)/{{.inputs.name}}'] } } };
  const c = buildPod({ ...base, task }).spec.containers[0]!;
  assert.equal(c.args?.[0], `$(HOME)/${INPUTS.name.replaceAll('$', () => '$$')}`);
});

test('buildPod renders an Optional[str] that is null as null', () => {
  const c = buildPod(input({ inputs: { ...INPUTS, label: null } })).spec.containers[0]!;
  assert.equal(c.args?.at(-1), 'null');
});

test('buildPod passes the inputs, outputs file and identity in the environment; reserved names win', () => {
  const env = Object.fromEntries(Object.entries(envOf(buildPod(input()))).map(([k, v]) => [k, kubeletSees(v ?? '')]));
  assert.deepEqual(env, {
    GREETING: `hi ${INPUTS.name}`,
    EMPTY: '',
    FLYTE_INPUTS: JSON.stringify(INPUTS),
    FLYTE_OUTPUTS_FILE: OUTPUTS_FILE,
    FLYTE_INTERNAL_EXECUTION_ID: 'wf-1',
    FLYTE_INTERNAL_EXECUTION_PROJECT: 'flytesnacks',
    FLYTE_INTERNAL_EXECUTION_DOMAIN: 'development',
    FLYTE_INTERNAL_NAMESPACE: 'team-a',
    FLYTE_INTERNAL_NODE_ID: 'slope_val',
    FLYTE_ATTEMPT_NUMBER: '2',
    FLYTE_INTERNAL_TASK_NAME: 't',
    FLYTE_INTERNAL_TASK_VERSION: 'v7',
  });
  const names = (buildPod(input()).spec.containers[0]!.env ?? []).map((e) => e.name);
  assert.equal(names.filter((n) => n === 'FLYTE_INPUTS').length, 1);
  assert.equal(JSON.parse(env.FLYTE_INPUTS!).name, INPUTS.name);
});

test('buildPod keeps the outputs file and the termination message path the same', () => {
  const pod = buildPod(input());
  assert.equal(envOf(pod).FLYTE_OUTPUTS_FILE, pod.spec.containers[0]!.terminationMessagePath);
});

test('buildPod hashes label values that are not valid labels, keeping exact names in annotations', () => {
  const longName = `wf-${'x'.repeat(70)}`;
  const pod = buildPod(input({ workflow: { name: longName, namespace: 'ns', uid: 'u', project: 'p', domain: 'd' } }));
  const label = pod.metadata.labels!['flyte.propeller.dev/workflow']!;
  assert.ok(label.length <= 63);
  assert.notEqual(label, longName);
  assert.equal(pod.metadata.annotations!['flyte.propeller.dev/workflow'], longName);
});

test('buildPod is deterministic', () => {
  assert.deepEqual(buildPod(input()), buildPod(input()));
});

test('buildPod refuses inputs too large for FLYTE_INPUTS with InputsTooLarge', () => {
  const big = { ...INPUTS, name: 'x'.repeat(MAX_INPUTS_ENV_BYTES) };
  const bytes = Buffer.byteLength(JSON.stringify(big));
  assert.throws(
    () => buildPod(input({ inputs: big })),
    (err: unknown) => {
      assert.ok(err instanceof PodBuildError && err instanceof PropellerError);
      assert.equal(err.code, 'InputsTooLarge');
      assert.equal(err.message, `inputs take ${bytes} bytes as JSON, over the ${MAX_INPUTS_ENV_BYTES}-byte limit of FLYTE_INPUTS`);
      return true;
    },
  );
});

test('buildPod leaves out command and args the task does not set', () => {
  const c = buildPod(input({ task: compiledTask({ container: { image: 'busybox' } }), inputs: {} })).spec.containers[0]!;
  assert.equal('command' in c, false);
  assert.equal('args' in c, false);
  assert.equal(envOf(buildPod(input({ task: compiledTask({ container: { image: 'busybox' } }), inputs: {} }))).FLYTE_INPUTS, '{}');
});

/** The slope task of the SDK's fast-register path: a stock image running a bundle from a ConfigMap. */
const CODE_TASK: TaskSpec = {
  interface: { inputs: { name: 'str' } },
  code: { configMap: 'propeller-code-3f2a9c1b7d4e' },
  container: { image: 'node:24-slim', command: ['node', `${CODE_MOUNT_PATH}/bundle.mjs`, '--task', 'slope'] },
};

test('buildPod mounts the code ConfigMap read-only at /opt/propeller/code (files 0444) when the task sets code', () => {
  assert.equal(CODE_MOUNT_PATH, '/opt/propeller/code', 'the SDK writes commands against this path: it is part of the pod contract');
  const pod = buildPod(input({ task: compiledTask(CODE_TASK), inputs: { name: 'x' } }));
  assert.deepEqual(pod.spec.volumes, [{ name: 'propeller-code', configMap: { name: 'propeller-code-3f2a9c1b7d4e', defaultMode: 0o444 } }]);
  assert.equal(pod.spec.volumes![0]!.configMap!.defaultMode, 292);
  const c = pod.spec.containers[0]!;
  assert.deepEqual(c.volumeMounts, [{ name: 'propeller-code', mountPath: '/opt/propeller/code', readOnly: true }]);
  assert.deepEqual(c.command, ['node', '/opt/propeller/code/bundle.mjs', '--task', 'slope']);
  assert.equal(c.image, 'node:24-slim');
  assert.deepEqual(buildPod(input({ task: compiledTask(CODE_TASK), inputs: { name: 'x' } })), pod, 'deterministic with code too');
});

test('buildPod adds no volume and no mount to a task without code', () => {
  const pod = buildPod(input());
  assert.equal('volumes' in pod.spec, false);
  assert.equal('volumeMounts' in pod.spec.containers[0]!, false);
  const { code: _, ...withoutCode } = CODE_TASK;
  const plain = buildPod(input({ task: compiledTask(withoutCode), inputs: { name: 'x' } }));
  assert.equal('volumes' in plain.spec, false);
  assert.equal('volumeMounts' in plain.spec.containers[0]!, false);
});

test('buildPod: code changes only the volume and the mount, nothing else of the pod', () => {
  const { code: _, ...withoutCode } = CODE_TASK;
  const withCode = buildPod(input({ task: compiledTask(CODE_TASK), inputs: { name: 'x' } }));
  const without = buildPod(input({ task: compiledTask(withoutCode), inputs: { name: 'x' } }));
  const { volumes, ...spec } = withCode.spec;
  assert.ok(volumes);
  const { volumeMounts, ...container } = spec.containers[0]!;
  assert.ok(volumeMounts);
  assert.deepEqual({ ...withCode, spec: { ...spec, containers: [container] } }, without);
});

import { CODE_FILE_MODE, CODE_MOUNT_PATH, CODE_VOLUME } from '../../api/code.ts';
import { API_VERSION, KIND } from '../../api/flyteworkflow.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY } from '../../api/labels.ts';
import type { EnvVar, Pod } from '../../api/pod.ts';
import { labelValue } from '../../core/names.ts';
import type { PodBuildInput } from '../../core/task-plugin.ts';
import { renderTemplate } from '../../core/template.ts';
import { Codes } from '../../error-codes.ts';
import { PropellerError } from '../../errors.ts';

export const CONTAINER_NAME = 'task';
/** Where the kubelet reads the termination message from; the task writes its outputs JSON here. */
export const OUTPUTS_FILE = '/dev/termination-log';
/** Linux refuses to exec with a single env string over 128 KiB; stay clear of it. */
export const MAX_INPUTS_ENV_BYTES = 100 * 1024;

export class PodBuildError extends PropellerError {}

/**
 * The kubelet expands $(VAR) and turns $$ into $ in command, args and env values. Data we put there
 * (inputs, FLYTE_INPUTS, the task version) is escaped so it reaches the container byte for byte; the
 * task author's own text is left alone, so $(VAR) written in the spec still works as in any pod.
 */
export const kubeletLiteral = (value: string): string => value.replaceAll('$', '$$$$');

/** The pod of one attempt. Pure: the same input always gives the same pod. */
export function buildPod(input: PodBuildInput): Pod {
  const { workflow, task, inputs } = input;
  // An Optional[str] holding a string is a str too; its null still renders as JSON null.
  const isString = (name: string) => {
    const type = task.inputs.get(name);
    return type?.kind === 'str' || (type?.kind === 'optional' && type.of.kind === 'str');
  };
  const render = (text: string) => renderTemplate(text, inputs, isString, kubeletLiteral);
  const inputsJson = JSON.stringify(inputs);
  if (Buffer.byteLength(inputsJson) > MAX_INPUTS_ENV_BYTES) {
    throw new PodBuildError(Codes.InputsTooLarge, `inputs take ${Buffer.byteLength(inputsJson)} bytes as JSON, over the ${MAX_INPUTS_ENV_BYTES}-byte limit of FLYTE_INPUTS`);
  }
  const c = task.spec.container;
  const flyteEnv: EnvVar[] = [
    { name: 'FLYTE_INPUTS', value: kubeletLiteral(inputsJson) },
    { name: 'FLYTE_OUTPUTS_FILE', value: OUTPUTS_FILE },
    { name: 'FLYTE_INTERNAL_EXECUTION_ID', value: workflow.name },
    { name: 'FLYTE_INTERNAL_EXECUTION_PROJECT', value: workflow.project },
    { name: 'FLYTE_INTERNAL_EXECUTION_DOMAIN', value: workflow.domain },
    { name: 'FLYTE_INTERNAL_NAMESPACE', value: workflow.namespace },
    { name: 'FLYTE_INTERNAL_NODE_ID', value: input.node },
    { name: 'FLYTE_ATTEMPT_NUMBER', value: String(input.attempt) },
    { name: 'FLYTE_INTERNAL_TASK_NAME', value: task.name },
    { name: 'FLYTE_INTERNAL_TASK_VERSION', value: kubeletLiteral(task.spec.version ?? '') },
  ];
  const reserved = new Set(flyteEnv.map((e) => e.name));
  const userEnv = (c.env ?? []).filter((e) => !reserved.has(e.name)).map((e) => ({ name: e.name, value: render(e.value ?? '') }));

  const labels: Record<string, string> = {
    ...input.pod.labels,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.workflow]: labelValue(workflow.name),
    [LABELS.node]: labelValue(input.node),
    [LABELS.attempt]: String(input.attempt),
    [LABELS.task]: labelValue(task.name),
  };
  if (workflow.project) labels[LABELS.project] = labelValue(workflow.project);
  if (workflow.domain) labels[LABELS.domain] = labelValue(workflow.domain);

  // The task's code bundle, from a ConfigMap the submitter created: the kubelet mounts it, read-only.
  const code = task.spec.code;

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.podName,
      namespace: workflow.namespace,
      labels,
      annotations: { ...input.pod.annotations, [ANNOTATIONS.workflow]: workflow.name, [ANNOTATIONS.node]: input.node },
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: workflow.name, uid: workflow.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      restartPolicy: 'Never',
      ...(input.serviceAccountName ? { serviceAccountName: input.serviceAccountName } : {}),
      ...(input.pod.nodeSelector ? { nodeSelector: input.pod.nodeSelector } : {}),
      ...(input.pod.tolerations ? { tolerations: input.pod.tolerations } : {}),
      ...(input.pod.priorityClassName ? { priorityClassName: input.pod.priorityClassName } : {}),
      // Service links add an env var per Service in the namespace: noise in the task's environment.
      enableServiceLinks: false,
      containers: [
        {
          name: CONTAINER_NAME,
          image: c.image,
          ...(c.command ? { command: c.command.map(render) } : {}),
          ...(c.args ? { args: c.args.map(render) } : {}),
          env: [...userEnv, ...flyteEnv],
          ...(c.workingDir ? { workingDir: c.workingDir } : {}),
          ...(c.resources ? { resources: c.resources } : {}),
          ...(c.imagePullPolicy ? { imagePullPolicy: c.imagePullPolicy } : {}),
          ...(code ? { volumeMounts: [{ name: CODE_VOLUME, mountPath: CODE_MOUNT_PATH, readOnly: true }] } : {}),
          terminationMessagePath: OUTPUTS_FILE,
          terminationMessagePolicy: 'File',
        },
      ],
      ...(code ? { volumes: [{ name: CODE_VOLUME, configMap: { name: code.configMap, defaultMode: CODE_FILE_MODE } }] } : {}),
    },
  };
}

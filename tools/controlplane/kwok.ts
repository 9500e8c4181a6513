import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { isAlreadyExists } from '../../src/k8s/errors.ts';
import { startProcess, type ProcessRecord } from './processes.ts';

/** Label and taint key of the fake nodes. Pods reach them only with a matching toleration and node selector. */
export const KWOK_NODE_LABEL = 'propeller.dev/dev-node';
export const KWOK_NODE_VALUE = 'kwok';

/**
 * Env vars a pod's first container may set to script its life on a KWOK node:
 * KWOK_DURATION (Go duration, how long it runs), KWOK_EXIT_CODE (default 0) and
 * KWOK_MESSAGE (the termination message; like the kubelet, only its last 4096 bytes are kept).
 */
export const KWOK_ENV = { duration: 'KWOK_DURATION', exitCode: 'KWOK_EXIT_CODE', message: 'KWOK_MESSAGE' } as const;

export interface KwokOptions {
  binary: string;
  dir: string;
  kubeconfigPath: string;
  client: KubeClient;
  nodes: number;
  podDurationMs: number;
}

export async function startKwok(opts: KwokOptions): Promise<ProcessRecord> {
  const stagesPath = join(opts.dir, 'kwok-stages.yaml');
  await writeFile(stagesPath, kwokStages(opts.podDurationMs));
  const record = startProcess(
    'kwok',
    opts.binary,
    [
      `--kubeconfig=${opts.kubeconfigPath}`,
      `--config=${stagesPath}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL}=${KWOK_NODE_VALUE}`,
      // Room for far more concurrent fake pods than a /24 would allow.
      '--cidr=10.128.0.0/10',
      '--node-lease-duration-seconds=0',
      '--server-address=',
      '-v=INFO',
    ],
    { logPath: join(opts.dir, 'kwok.log') },
  );
  for (let i = 0; i < opts.nodes; i++) await createFakeNode(opts.client, `kwok-node-${i}`);
  return record;
}

async function createFakeNode(client: KubeClient, name: string): Promise<void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { [KWOK_NODE_LABEL]: KWOK_NODE_VALUE, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
    },
    spec: { taints: [{ key: KWOK_NODE_LABEL, value: KWOK_NODE_VALUE, effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '1000', memory: '4Ti', pods: '100000' },
      allocatable: { cpu: '1000', memory: '4Ti', pods: '100000' },
    },
  };
  try {
    await client.request('POST', '/api/v1/nodes', { body: node });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}

/** The env value of the first container, as a jq expression KWOK evaluates per pod. */
const envExpr = (name: string) => `.spec.containers[0].env[]? | select(.name == "${name}") | .value`;

function kwokStages(defaultDurationMs: number): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: propeller-node-ready
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range $type := list "MemoryPressure" "DiskPressure" "PIDPressure" "NetworkUnavailable" }}
      - type: {{ $type }}
        status: "False"
        reason: KwokFakeNode
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
      {{ end }}
      - type: Ready
        status: "True"
        reason: KwokFakeNode
        message: fake node managed by KWOK for Propeller's tests and benchmarks
        lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
      addresses:
      - {type: InternalIP, address: {{ NodeIP | Quote }}}
      - {type: Hostname, address: {{ NodeName | Quote }}}
      allocatable:
      {{ YAML .status.allocatable 1 }}
      capacity:
      {{ YAML .status.capacity 1 }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
        containerRuntimeVersion: {{ printf "kwok-%s" Version | Quote }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: propeller-pod-start
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: ['Pending']}
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running: {startedAt: {{ $now | Quote }}}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: propeller-pod-complete
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: ['Running']}
  delay:
    durationMilliseconds: ${defaultDurationMs}
    durationFrom:
      expressionFrom: '${envExpr(KWOK_ENV.duration)}'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := "0" }}
      {{ $message := "" }}
      {{ range (index .spec.containers 0).env }}
      {{ if eq .name "${KWOK_ENV.exitCode}" }}{{ $code = .value }}{{ end }}
      {{ if eq .name "${KWOK_ENV.message}" }}{{ $message = .value }}{{ end }}
      {{ end }}
      conditions:
      - {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range $i, $c := .spec.containers }}
      - name: {{ $c.name | Quote }}
        image: {{ $c.image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          terminated:
            exitCode: {{ if eq $i 0 }}{{ $code }}{{ else }}0{{ end }}
            reason: {{ if and (eq $i 0) (ne $code "0") }}Error{{ else }}Completed{{ end }}
            {{ if and (eq $i 0) $message }}message: {{ trunc -4096 $message | Quote }}{{ end }}
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: {{ if eq $code "0" }}Succeeded{{ else }}Failed{{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: propeller-pod-delete
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: Exists}
  next:
    finalizers: {empty: true}
    delete: true
`;
}

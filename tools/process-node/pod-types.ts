export type { Container, ContainerState, ContainerStatus, EnvVar, Pod, PodCondition, PodPhase, PodSpec, PodStatus } from '../../src/api/pod.ts';
import type { Container, ContainerStatus, Pod, PodPhase, PodStatus } from '../../src/api/pod.ts';

export interface PodList {
  metadata: { resourceVersion: string };
  items: Pod[];
}

export const isTerminalPhase = (phase: PodPhase | undefined): boolean => phase === 'Succeeded' || phase === 'Failed';

export const podKey = (pod: Pod): string => `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;

// The pod as the process node reads and writes it: every field a kubelet would look at. The shared
// Pod type is the propeller's view and carries at most what the propeller writes.

/** A pod status with the init containers' statuses, which the propeller's type leaves out. */
export type NodePodStatus = PodStatus & { initContainerStatuses?: ContainerStatus[] };

export const initContainerStatusesOf = (pod: Pod): ContainerStatus[] => (pod.status as NodePodStatus | undefined)?.initContainerStatuses ?? [];

/**
 * An init container with `restartPolicy: Always` is a native sidecar (Kubernetes 1.29+): it starts
 * in order with the init containers but keeps running next to the app containers.
 */
export const isSidecar = (container: Container): boolean => (container as { restartPolicy?: string }).restartPolicy === 'Always';

/** What a container asks for that the process node does not do: probes and lifecycle hooks. */
export function ignoredContainerFeatures(container: Container): string[] {
  const c = container as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) if (c[probe] !== undefined) out.push(probe);
  if (c['lifecycle'] !== undefined) out.push('lifecycle');
  return out;
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface ConfigMapVolumeSource {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface EmptyDirVolumeSource {
  /** "" (node disk) or "Memory" (tmpfs on a kubelet); both are a plain directory here. */
  medium?: string;
  /** Accepted, not enforced. */
  sizeLimit?: string | number;
}

/** A pod volume: its name and one source field (configMap, emptyDir, projected, …). */
export interface Volume {
  name: string;
  configMap?: ConfigMapVolumeSource;
  emptyDir?: EmptyDirVolumeSource;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  subPathExpr?: string;
  readOnly?: boolean;
}

export interface ConfigMap {
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export const volumesOf = (pod: Pod): Volume[] => (pod.spec as unknown as { volumes?: Volume[] }).volumes ?? [];

export const volumeMountsOf = (container: Container): VolumeMount[] => (container as unknown as { volumeMounts?: VolumeMount[] }).volumeMounts ?? [];

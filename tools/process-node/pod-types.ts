export type { Container, ContainerState, ContainerStatus, EnvVar, Pod, PodCondition, PodPhase, PodSpec, PodStatus } from '../../src/api/pod.ts';
import type { Container, Pod, PodPhase } from '../../src/api/pod.ts';

export interface PodList {
  metadata: { resourceVersion: string };
  items: Pod[];
}

export const isTerminalPhase = (phase: PodPhase | undefined): boolean => phase === 'Succeeded' || phase === 'Failed';

export const podKey = (pod: Pod): string => `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;

// Volumes as the process node reads them: every source, every field. The shared Pod type is the
// propeller's view and carries at most what the propeller writes.

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

/** A pod volume: its name and one source field (configMap, emptyDir, projected, …). */
export interface Volume {
  name: string;
  configMap?: ConfigMapVolumeSource;
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

export type { Container, ContainerState, ContainerStatus, EnvVar, Pod, PodCondition, PodPhase, PodSpec, PodStatus } from '../../src/api/pod.ts';
import type { Pod, PodPhase } from '../../src/api/pod.ts';

export interface PodList {
  metadata: { resourceVersion: string };
  items: Pod[];
}

export const isTerminalPhase = (phase: PodPhase | undefined): boolean => phase === 'Succeeded' || phase === 'Failed';

export const podKey = (pod: Pod): string => `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;

import type { TaskPlugin } from '../../core/task-plugin.ts';
import { buildPod } from './build-pod.ts';
import { observePod } from './observe-pod.ts';

/** The default plugin: the task's container runs as the pod's only container. */
export const containerPlugin: TaskPlugin = {
  type: 'container',
  buildPod,
  observe: observePod,
};

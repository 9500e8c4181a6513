import { posix } from 'node:path';

/** Where a path the container would see (a mountPath) lives on the host, in the pod's sandbox. */
export interface PathMapping {
  containerPath: string;
  hostPath: string;
}

/** A mountPath as a comparable absolute path: normalized, no trailing slash. */
export function normalizeMountPath(mountPath: string): string {
  const absolute = posix.normalize(`/${mountPath}`);
  return absolute.length > 1 ? absolute.replace(/\/+$/, '') : absolute;
}

/**
 * The host's view of a value the container would see: a value equal to a mount path, or under it,
 * points into the sandbox. The deepest mount wins, as with nested mounts in a container.
 */
export function mapMountedPath(value: string, mappings: readonly PathMapping[]): string {
  let best: PathMapping | undefined;
  for (const m of mappings) {
    const under = value === m.containerPath || value.startsWith(`${m.containerPath}/`);
    if (under && (!best || m.containerPath.length > best.containerPath.length)) best = m;
  }
  return best ? best.hostPath + value.slice(best.containerPath.length) : value;
}

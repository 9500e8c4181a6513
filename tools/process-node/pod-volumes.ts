import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { isDescendingPath } from './configmap-files.ts';
import { setUpConfigMapVolume } from './configmap-volumes.ts';
import { errorText } from './log.ts';
import { normalizeMountPath, type PathMapping } from './mount-paths.ts';
import { volumeMountsOf, volumesOf, type Container, type Pod, type Volume } from './pod-types.ts';

export const VOLUMES_DIR = 'volumes';

/** The pod's volumes that are set up: volume name → its directory in the sandbox. */
export type VolumeDirs = ReadonlyMap<string, string>;

export type VolumesOutcome = { ok: true; dirs: VolumeDirs } | { ok: false; message: string };

/**
 * Sets up the pod's configMap and emptyDir volumes, as the kubelet does before any container
 * starts: each in `SANDBOX/volumes/NAME/`. A configMap volume is written from the ConfigMap; an
 * emptyDir is an empty directory shared by every container that mounts it (`medium` and `sizeLimit`
 * are accepted, not enforced) and lives as long as the sandbox. A failure is worded like the
 * kubelet's FailedMount event; the caller retries, and each attempt rewrites the configMap volumes
 * (emptyDirs are left as they are: nothing has run yet to write in them).
 */
export async function setUpPodVolumes(client: KubeClient, pod: Pod, sandbox: string, signal?: AbortSignal): Promise<VolumesOutcome> {
  const root = join(sandbox, VOLUMES_DIR);
  const dirs = new Map<string, string>();
  for (const volume of volumesOf(pod)) {
    if (!volume.configMap && !volume.emptyDir) continue;
    const failed = (message: string): VolumesOutcome => ({ ok: false, message: `MountVolume.SetUp failed for volume "${volume.name}" : ${message}` });
    if (!isDescendingPath(volume.name) || volume.name.includes('/')) return failed('invalid volume name');
    const dir = join(root, volume.name);
    if (volume.configMap) {
      const error = await setUpConfigMapVolume(client, pod, volume.configMap, dir, signal);
      if (error) return failed(error);
    } else {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        return failed(`cannot create the emptyDir directory: ${errorText(err)}`);
      }
    }
    dirs.set(volume.name, dir);
  }
  return { ok: true, dirs };
}

export interface ContainerMounts {
  /** Where each mountPath of the container lives in the sandbox. */
  mappings: PathMapping[];
  /** The container's mounts that were left out, for the ProcessNodeUnsupported event. */
  unsupported: string[];
}

export type ContainerMountsOutcome = { ok: true; mounts: ContainerMounts } | { ok: false; message: string };

/**
 * Maps one container's volumeMounts onto the volume directories: each container may mount a
 * volume at its own mountPath, or only a `subPath` of it (for an emptyDir the subPath directory is
 * created when missing, as the kubelet does). Mounts of volumes that are not set up are listed as
 * unsupported, except the service account token that admission adds to every pod.
 */
export async function containerMounts(pod: Pod, container: Container, dirs: VolumeDirs): Promise<ContainerMountsOutcome> {
  const volumes = new Map(volumesOf(pod).map((v) => [v.name, v]));
  const mappings: PathMapping[] = [];
  const unsupported: string[] = [];
  for (const mount of volumeMountsOf(container)) {
    const volume = volumes.get(mount.name);
    const dir = dirs.get(mount.name);
    const mountPath = normalizeMountPath(mount.mountPath);
    if (!volume || dir === undefined) {
      if (!volume || !isServiceAccountToken(volume)) unsupported.push(`volume "${mount.name}" (${volume ? sourceOf(volume) : 'undefined'}) at ${mount.mountPath}`);
      continue;
    }
    if (mount.subPathExpr !== undefined || mountPath === '/') {
      unsupported.push(`volume "${mount.name}" at ${mount.mountPath}${mount.subPathExpr !== undefined ? ' (subPathExpr)' : ''}`);
      continue;
    }
    let hostPath = dir;
    if (mount.subPath) {
      if (!isDescendingPath(mount.subPath)) return { ok: false, message: `subPath "${mount.subPath}" of volume "${mount.name}" must be relative and may not contain ".."` };
      hostPath = join(dir, mount.subPath);
      if (volume.emptyDir && !(await exists(hostPath))) {
        try {
          await mkdir(hostPath, { recursive: true });
        } catch (err) {
          return { ok: false, message: `failed to create subPath directory for volumeMount "${mount.name}": ${errorText(err)}` };
        }
      }
    }
    mappings.push({ containerPath: mountPath, hostPath });
  }
  return { ok: true, mounts: { mappings, unsupported } };
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

/** The token volume that ServiceAccount admission adds to every pod; leaving it out is not worth a warning. */
function isServiceAccountToken(volume: Volume): boolean {
  return volume.name.startsWith('kube-api-access-') && 'projected' in volume;
}

function sourceOf(volume: Volume): string {
  return Object.keys(volume).find((key) => key !== 'name') ?? 'no source';
}

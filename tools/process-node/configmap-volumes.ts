import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { configMapVolumeFiles, isDescendingPath, type VolumeFile } from './configmap-files.ts';
import { errorText } from './log.ts';
import { normalizeMountPath, type PathMapping } from './mount-paths.ts';
import { volumeMountsOf, volumesOf, type ConfigMap, type Container, type Pod, type Volume } from './pod-types.ts';

const VOLUMES_DIR = 'volumes';

export interface MountedVolumes {
  mappings: PathMapping[];
  /** The container's mounts that were left out, for the ProcessNodeUnsupported event. */
  unsupported: string[];
}

export type MountOutcome = { ok: true; mounted: MountedVolumes } | { ok: false; message: string };

/**
 * Sets up the configMap volumes the container mounts, as files under `SANDBOX/volumes/NAME/`, and
 * maps each mountPath there. A failure (a missing ConfigMap, an API error) is worded like the
 * kubelet's FailedMount event; the caller retries, and each attempt starts from empty directories.
 */
export async function mountConfigMapVolumes(client: KubeClient, pod: Pod, container: Container, sandbox: string, signal?: AbortSignal): Promise<MountOutcome> {
  const volumes = new Map(volumesOf(pod).map((v) => [v.name, v]));
  const root = join(sandbox, VOLUMES_DIR);
  const mappings: PathMapping[] = [];
  const unsupported: string[] = [];
  const written = new Set<string>();
  for (const mount of volumeMountsOf(container)) {
    const volume = volumes.get(mount.name);
    const mountPath = normalizeMountPath(mount.mountPath);
    if (!volume?.configMap) {
      if (!volume || !isServiceAccountToken(volume)) unsupported.push(`volume "${mount.name}" (${volume ? sourceOf(volume) : 'undefined'}) at ${mount.mountPath}`);
      continue;
    }
    if (mount.subPathExpr !== undefined || mountPath === '/') {
      unsupported.push(`volume "${mount.name}" at ${mount.mountPath}${mount.subPathExpr !== undefined ? ' (subPathExpr)' : ''}`);
      continue;
    }
    const failed = (message: string): MountOutcome => ({ ok: false, message: `MountVolume.SetUp failed for volume "${mount.name}" : ${message}` });
    if (!isDescendingPath(mount.name) || mount.name.includes('/')) return failed('invalid volume name');
    const volumeDir = join(root, mount.name);
    if (!written.has(mount.name)) {
      const name = volume.configMap.name ?? '';
      let configMap: ConfigMap | undefined;
      try {
        configMap = await getConfigMap(client, pod, name, signal);
      } catch (err) {
        return failed(`failed to get configmap "${name}": ${errorText(err)}`);
      }
      const files = configMapVolumeFiles(volume.configMap, configMap);
      if (!files.ok) return failed(files.message);
      const error = await writeVolume(volumeDir, files.files);
      if (error) return failed(error);
      written.add(mount.name);
    }
    if (mount.subPath && !isDescendingPath(mount.subPath)) return failed(`subPath "${mount.subPath}" must be relative and may not contain ".."`);
    mappings.push({ containerPath: mountPath, hostPath: mount.subPath ? join(volumeDir, mount.subPath) : volumeDir });
  }
  return { ok: true, mounted: { mappings, unsupported } };
}

/** The ConfigMap, or undefined when it does not exist; other failures reject. */
async function getConfigMap(client: KubeClient, pod: Pod, name: string, signal?: AbortSignal): Promise<ConfigMap | undefined> {
  const namespace = pod.metadata.namespace ?? 'default';
  try {
    return await client.request<ConfigMap>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`, { signal });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Writes a volume from scratch; returns why it could not, or undefined. */
async function writeVolume(volumeDir: string, files: VolumeFile[]): Promise<string | undefined> {
  await unlockTree(volumeDir);
  try {
    await rm(volumeDir, { recursive: true, force: true });
    await mkdir(volumeDir, { recursive: true });
    for (const file of files) {
      const target = resolve(volumeDir, file.path);
      // configMapVolumeFiles checked the path already; this keeps a bug there from writing outside.
      if (!target.startsWith(volumeDir + sep)) return `path "${file.path}" leaves the volume`;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content, { flag: 'wx' });
      await chmod(target, file.mode);
    }
    await chmodDirs(volumeDir, 0o555);
    return undefined;
  } catch (err) {
    return `cannot write volume files: ${errorText(err)}`;
  }
}

/** Makes the sandbox's volume directories writable again, so the sandbox can be removed. */
export async function unlockVolumes(sandbox: string): Promise<void> {
  await unlockTree(join(sandbox, VOLUMES_DIR));
}

const unlockTree = (dir: string) => chmodDirs(dir, 0o755).catch(() => {});

async function chmodDirs(dir: string, mode: number): Promise<void> {
  // Children first when locking, parent first when unlocking, so every step has the access it needs.
  if (mode & 0o200) await chmod(dir, mode);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmodDirs(join(dir, entry.name), mode);
  }
  if (!(mode & 0o200)) await chmod(dir, mode);
}

/** The token volume that ServiceAccount admission adds to every pod; leaving it out is not worth a warning. */
function isServiceAccountToken(volume: Volume): boolean {
  return volume.name.startsWith('kube-api-access-') && 'projected' in volume;
}

function sourceOf(volume: Volume): string {
  return Object.keys(volume).find((key) => key !== 'name') ?? 'no source';
}

import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { configMapVolumeFiles, type VolumeFile } from './configmap-files.ts';
import { errorText } from './log.ts';
import { chmodDirs, unlockTree } from './sandbox-files.ts';
import type { ConfigMap, ConfigMapVolumeSource, Pod } from './pod-types.ts';

/**
 * Writes a configMap volume into `volumeDir` from scratch: the ConfigMap's keys as read-only files.
 * Returns why it could not (a missing ConfigMap, an API error, a key that would leave the volume),
 * worded like the kubelet's FailedMount events, or undefined.
 */
export async function setUpConfigMapVolume(client: KubeClient, pod: Pod, source: ConfigMapVolumeSource, volumeDir: string, signal?: AbortSignal): Promise<string | undefined> {
  const name = source.name ?? '';
  let configMap: ConfigMap | undefined;
  try {
    configMap = await getConfigMap(client, pod, name, signal);
  } catch (err) {
    return `failed to get configmap "${name}": ${errorText(err)}`;
  }
  const files = configMapVolumeFiles(source, configMap);
  if (!files.ok) return files.message;
  return writeVolume(volumeDir, files.files);
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

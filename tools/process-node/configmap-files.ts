import { posix } from 'node:path';
import type { ConfigMap, ConfigMapVolumeSource } from './pod-types.ts';

/** One file of a configMap volume, relative to the volume's directory. */
export interface VolumeFile {
  path: string;
  content: Buffer;
  mode: number;
}

export type VolumeFilesResult = { ok: true; files: VolumeFile[] } | { ok: false; message: string };

// The kubelet's default for configMap volumes; the write bits are dropped below either way.
const DEFAULT_MODE = 0o644;
const WRITE_BITS = 0o222;
// The API server's rule for ConfigMap keys.
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The files a configMap volume holds, as the kubelet lays them out: every key of `data` (utf8) and
 * `binaryData` (base64), or only the `items` asked for, at their `path`. `configMap` is undefined
 * when it does not exist. Every path is checked to stay inside the volume, whatever the API server
 * let through. Files are read-only: the kubelet mounts configMap volumes read-only, so the write
 * bits of `defaultMode` and `mode` are dropped.
 */
export function configMapVolumeFiles(source: ConfigMapVolumeSource, configMap: ConfigMap | undefined): VolumeFilesResult {
  if (!configMap) {
    return source.optional ? { ok: true, files: [] } : { ok: false, message: `configmap "${source.name ?? ''}" not found` };
  }
  const contents = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(configMap.data ?? {})) contents.set(key, Buffer.from(value, 'utf8'));
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) contents.set(key, Buffer.from(value, 'base64'));
  const modeOf = (mode: number | undefined) => (mode ?? source.defaultMode ?? DEFAULT_MODE) & 0o777 & ~WRITE_BITS;

  const files: VolumeFile[] = [];
  if (source.items === undefined) {
    for (const [key, content] of contents) {
      if (!isValidKey(key)) return { ok: false, message: `configmap "${configMap.metadata.name}" has key "${key}", which is not a valid file name` };
      files.push({ path: key, content, mode: modeOf(undefined) });
    }
    return { ok: true, files };
  }
  for (const item of source.items) {
    const content = contents.get(item.key);
    if (content === undefined) {
      if (source.optional) continue;
      return { ok: false, message: `configmap references non-existent config key: ${item.key}` };
    }
    if (!isDescendingPath(item.path)) return { ok: false, message: `item path "${item.path}" of key "${item.key}" must be relative and may not contain ".."` };
    files.push({ path: posix.normalize(item.path), content, mode: modeOf(item.mode) });
  }
  return { ok: true, files };
}

function isValidKey(key: string): boolean {
  return CONFIG_MAP_KEY.test(key) && !key.startsWith('..') && key !== '.';
}

/** A relative path that names something strictly inside its directory (the kubelet also refuses a leading ".."). */
export function isDescendingPath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.startsWith('..') || path.includes('\0')) return false;
  if (path.split('/').includes('..')) return false;
  return posix.normalize(path) !== '.';
}

import { chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes every directory under `dir` writable again (read-only configMap volumes, or directories a
 * process locked), so the tree can be rewritten or removed. Best effort.
 */
export const unlockTree = (dir: string): Promise<void> => chmodDirs(dir, 0o755).catch(() => {});

/** Sets the mode of `dir` and every directory under it; symlinks are not followed. */
export async function chmodDirs(dir: string, mode: number): Promise<void> {
  // Children first when locking, parent first when unlocking, so every step has the access it needs.
  if (mode & 0o200) await chmod(dir, mode);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmodDirs(join(dir, entry.name), mode);
  }
  if (!(mode & 0o200)) await chmod(dir, mode);
}

import { open } from 'node:fs/promises';

// The kubelet's limits (pkg/kubelet/container/runtime.go).
export const MAX_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;

/**
 * The container's termination message as the kubelet computes it: the last 4096 bytes of the
 * message file; with FallbackToLogsOnError, a non-zero exit and an empty or missing file, the
 * last 80 lines of the log, of which at most the last 2048 bytes.
 */
export function chooseTerminationMessage(opts: {
  file: Uint8Array | undefined;
  log: Uint8Array | undefined;
  policy: string | undefined;
  exitCode: number;
}): string {
  const file = opts.file ?? new Uint8Array();
  if (file.length > 0) return decode(lastBytes(file, MAX_MESSAGE_BYTES));
  if (opts.policy !== 'FallbackToLogsOnError' || opts.exitCode === 0) return '';
  return decode(lastBytes(lastLines(opts.log ?? new Uint8Array(), FALLBACK_LOG_LINES), FALLBACK_LOG_BYTES));
}

function lastBytes(bytes: Uint8Array, max: number): Uint8Array {
  return bytes.length > max ? bytes.subarray(bytes.length - max) : bytes;
}

/** The last `count` lines, a final unterminated line counting as one. */
export function lastLines(bytes: Uint8Array, count: number): Uint8Array {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (bytes[i] === 0x0a && ++seen === count) return bytes.subarray(i + 1);
  }
  return bytes;
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The last `max` bytes of a file, or undefined when it does not exist or cannot be read. */
export async function readTail(path: string, max: number): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, max);
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    return buffer.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

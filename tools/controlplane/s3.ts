import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@bradenmacdonald/s3-lite-client';
import { freePort, isRunning, startProcess, type ProcessRecord } from './processes.ts';

/** Where and how to reach the local S3 server: what an S3 client needs, path-style. */
export interface S3Config {
  /** `http://127.0.0.1:PORT`; path-style addressing (`/bucket/key`). */
  endpoint: string;
  region: string;
  /** Created at start. */
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export const S3_PROCESS_NAME = 'versitygw';
export const S3_REGION = 'us-east-1';
export const S3_BUCKET = 'propeller';
/** Unauthenticated readiness probe; `_` is not allowed in bucket names, so it cannot shadow a bucket. */
export const S3_HEALTH_PATH = '/_health';

/**
 * Starts versitygw (the posix backend: buckets are directories under `<dir>/s3/data`, metadata in
 * `<dir>/s3/meta`) on a free loopback port with fresh random root credentials. It does not wait: record
 * the process first (so a failed start is still torn down), then call `waitForS3`.
 */
export async function startS3Process(binary: string, dir: string, opts: { bucket?: string } = {}): Promise<{ process: ProcessRecord; config: S3Config }> {
  const data = join(dir, 's3', 'data');
  const meta = join(dir, 's3', 'meta');
  await mkdir(data, { recursive: true });
  await mkdir(meta, { recursive: true });
  const port = await freePort();
  const config: S3Config = {
    endpoint: `http://127.0.0.1:${port}`,
    region: S3_REGION,
    bucket: opts.bucket ?? S3_BUCKET,
    // Shaped like AWS keys (20 upper-case characters, 40-character secret), random for every start.
    accessKeyId: `PROP${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
  const args = [
    '--port', `127.0.0.1:${port}`,
    '--region', config.region,
    '--health', S3_HEALTH_PATH,
    // One line per request would grow the log by the thousand in data-heavy tests; errors still go to it.
    '--quiet',
    // --sidecar: metadata in files, not user xattrs, which tmpfs (where temp dirs often live) lacks.
    'posix', '--sidecar', meta, data,
  ];
  // Credentials go in the environment, not the command line, so `ps` does not show them.
  const record = startProcess(S3_PROCESS_NAME, binary, args, {
    logPath: join(dir, `${S3_PROCESS_NAME}.log`),
    extraEnv: { ROOT_ACCESS_KEY: config.accessKeyId, ROOT_SECRET_KEY: config.secretAccessKey },
  });
  return { process: record, config };
}

/** Waits until the server answers its health probe, then creates the bucket (idempotent). */
export async function waitForS3(record: ProcessRecord, config: S3Config, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${config.endpoint}${S3_HEALTH_PATH}`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (!isRunning(record)) throw new Error(`${record.name} exited while starting; last log lines:\n${tail(record.logPath)}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${record.name} at ${config.endpoint}`);
    await sleep(100);
  }
  const client = s3Client(config);
  if (!(await client.bucketExists(config.bucket))) await client.makeBucket(config.bucket);
}

/** An s3-lite-client for the config (path-style, as the local server needs). */
export function s3Client(config: S3Config, overrides: { secretAccessKey?: string } = {}): S3Client {
  return new S3Client({
    endPoint: config.endpoint,
    region: config.region,
    bucket: config.bucket,
    accessKey: config.accessKeyId,
    secretKey: overrides.secretAccessKey ?? config.secretAccessKey,
    pathStyle: true,
  });
}

/** The variables the AWS CLI and SDKs read, to paste into a shell. */
export function s3Env(config: S3Config): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: config.endpoint,
    AWS_REGION: config.region,
    AWS_ACCESS_KEY_ID: config.accessKeyId,
    AWS_SECRET_ACCESS_KEY: config.secretAccessKey,
  };
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

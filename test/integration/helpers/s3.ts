import { after, before } from 'node:test';
import { startS3Server, type S3Server } from '../../../tools/controlplane/control-plane.ts';
import type { S3Config } from '../../../tools/controlplane/s3.ts';

/** A run that already has an S3 server (the control plane's `cp.s3`, say) passes it to test files as JSON here. */
export const TEST_S3_ENV = 'PROPELLER_TEST_S3';

/**
 * The S3 server of a test file: the run's (PROPELLER_TEST_S3), or a versitygw started for this file
 * alone (built on first use, cached like the control plane) and stopped after it. Only files that call
 * this pay for S3. Keys should go under a prefix of the file's own: the server may be shared.
 */
export function useS3(): () => S3Config {
  let config: S3Config | undefined;
  let own: S3Server | undefined;
  before(async () => {
    const shared = process.env[TEST_S3_ENV];
    if (shared) {
      config = JSON.parse(shared) as S3Config;
    } else {
      own = await startS3Server();
      config = own.s3;
    }
  });
  after(async () => {
    await own?.stop();
  });
  return () => {
    if (!config) throw new Error('the S3 server is not ready: call useS3() at the top of the file');
    return config;
  };
}

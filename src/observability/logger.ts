import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout. Tokens never reach the log, and API errors are logged by code and reason. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { component: 'propeller' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.headers.authorization', '*.token', 'token'], censor: '[redacted]' },
  });
}

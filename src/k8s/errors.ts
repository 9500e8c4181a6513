import { Codes } from '../error-codes.ts';
import { PropellerError } from '../errors.ts';

/** A non-2xx answer from the API server, carrying the Status object's reason. */
export class KubeApiError extends PropellerError {
  readonly status: number;
  readonly reason: string;
  readonly verb: string;
  readonly path: string;

  constructor(init: { status: number; reason: string; message: string; verb: string; path: string }) {
    super(`Kube${init.reason || init.status}`, `${init.verb} ${init.path}: ${init.status} ${init.reason}: ${init.message}`);
    this.status = init.status;
    this.reason = init.reason;
    this.verb = init.verb;
    this.path = init.path;
  }

  /** The server's own message, without the verb and path prefix. */
  get serverMessage(): string {
    const prefix = `${this.verb} ${this.path}: ${this.status} ${this.reason}: `;
    return this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
  }
}

/** Connection-level failure (refused, reset, timed out) before any HTTP status arrived. */
export class KubeTransportError extends PropellerError {
  constructor(verb: string, path: string, cause: unknown) {
    super(Codes.KubeTransport, `${verb} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

const statusOf = (err: unknown): number | undefined => (err instanceof KubeApiError ? err.status : undefined);

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409 && (err as KubeApiError).reason !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean => statusOf(err) === 409 && (err as KubeApiError).reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => statusOf(err) === 410;
/**
 * A JSON Patch whose `test` operation failed: the API server answers 422 with this generic message. Our
 * patches are otherwise always well-formed, so for them it means "the tested value changed": a conflict.
 */
export const isPatchTestFailed = (err: unknown): boolean =>
  statusOf(err) === 422 && (err as KubeApiError).serverMessage === 'the server rejected our request due to an error in our request';
export const isForbidden = (err: unknown): boolean => statusOf(err) === 403;
export const isQuotaExceeded = (err: unknown): boolean =>
  statusOf(err) === 403 && /exceeded quota|forbidden: exceeded/i.test((err as KubeApiError).message);
/** 400 and 422: the server rejected the object itself; sending it again cannot succeed. */
export const isInvalid = (err: unknown): boolean => statusOf(err) === 422 || statusOf(err) === 400;
export const isTooLarge = (err: unknown): boolean =>
  statusOf(err) === 413 || (err instanceof KubeApiError && /request is too large|too large|exceeds the maximum/i.test(err.message));
/** Worth retrying with backoff: throttling, server errors, transport failures. */
export const isTransient = (err: unknown): boolean => {
  if (err instanceof KubeTransportError) return true;
  const s = statusOf(err);
  return s === 429 || s === 500 || s === 502 || s === 503 || s === 504;
};

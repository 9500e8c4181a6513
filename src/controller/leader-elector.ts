import { setTimeout as sleep } from 'node:timers/promises';
import { isAlreadyExists, isConflict } from '../k8s/errors.ts';
import type { Lease, LeaseStore } from '../k8s/lease-store.ts';
import type { Logger } from '../observability/logger.ts';

export interface LeaderElectorOptions {
  store: LeaseStore;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  now?: () => number;
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** MicroTime wants six fractional digits. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Leader election on a coordination.k8s.io Lease, with client-go's rules: a lease held by someone else
 * is taken over only after it has gone unrenewed for its duration *as observed on our clock* (so clock
 * skew between machines cannot make two leaders), and a leader that cannot renew within the renew
 * deadline stops leading before anyone else may take over.
 */
export class LeaderElector {
  private readonly opts: LeaderElectorOptions;
  private readonly now: () => number;
  private readonly wait: (ms: number, signal: AbortSignal) => Promise<void>;
  private leading = false;
  private lease: Lease | undefined;
  private observed: { record: string; at: number } | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.wait = opts.wait ?? ((ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}));
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until it leads, calls `onStarted`, keeps renewing, and resolves when leadership is lost
   * (true) or `signal` aborts (false). It never throws: API errors count as failed attempts.
   */
  async run(signal: AbortSignal, onStarted: () => void): Promise<boolean> {
    const { log, retryPeriodMs, renewDeadlineMs } = this.opts;
    // lastRenew is when the last successful attempt *started*: its write landed later, so no other
    // elector can have seen it earlier, and every attempt is cut off at the renew deadline (a hanging
    // request must not keep us leading past it).
    let lastRenew = this.now();
    for (;;) {
      if (signal.aborted) return false;
      const startedAt = this.now();
      if (await this.attempt(renewDeadlineMs)) {
        lastRenew = startedAt;
        break;
      }
      await this.wait(jitter(retryPeriodMs), signal);
    }
    if (signal.aborted) {
      // Stopped while the winning attempt was in flight: the lease is ours now, so hand it back at once
      // instead of leaving a successor to wait for it to expire.
      this.leading = true;
      await this.release();
      return false;
    }
    this.leading = true;
    log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
    onStarted();
    while (!signal.aborted) {
      await this.wait(Math.min(retryPeriodMs, Math.max(0, lastRenew + renewDeadlineMs - this.now())), signal);
      if (signal.aborted) break;
      const startedAt = this.now();
      const remaining = lastRenew + renewDeadlineMs - startedAt;
      if (remaining > 0 && (await this.attempt(remaining))) {
        lastRenew = startedAt;
      } else if (this.now() - lastRenew >= renewDeadlineMs) {
        this.leading = false;
        log.error({ sinceLastRenewMs: this.now() - lastRenew }, 'could not renew the leader lease in time; stepping down');
        return true;
      }
    }
    return false;
  }

  /** Gives the lease up so a standby can take over at once instead of waiting for it to expire. */
  async release(): Promise<void> {
    if (!this.leading || !this.lease) return;
    this.leading = false;
    try {
      const now = this.now();
      await this.opts.store.update({ ...this.lease, spec: { ...this.lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(now) } });
      this.opts.log.info('released the leader lease');
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not release the leader lease; it will expire');
    }
  }

  /** One attempt, counted as failed if it has not finished within `timeoutMs`. */
  private async attempt(timeoutMs: number): Promise<boolean> {
    const timer = new AbortController();
    try {
      return await Promise.race([this.tryAcquireOrRenew(), this.wait(timeoutMs, timer.signal).then(() => false)]);
    } finally {
      timer.abort();
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { store, identity, leaseDurationMs, namespace, name } = this.opts;
    const now = this.now();
    const durationSeconds = Math.ceil(leaseDurationMs / 1000);
    try {
      const current = await store.get();
      if (!current) {
        this.lease = await store.create({
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      }
      // Read the clock after the response: the record may have been written while the get was in flight.
      const seenAt = this.now();
      const spec = current.spec;
      const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
      if (this.observed?.record !== record) this.observed = { record, at: seenAt };
      const holder = spec.holderIdentity;
      const heldByOther = !!holder && holder !== identity;
      if (heldByOther && seenAt < this.observed.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000) return false;
      const mine = holder === identity;
      this.lease = await store.update({
        ...current,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: mine ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      });
      return true;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) this.opts.log.warn({ err: (err as Error).message }, 'leader election attempt failed');
      return false;
    }
  }
}

const jitter = (ms: number) => ms * (1 + Math.random() * 0.2);

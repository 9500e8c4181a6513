import type { CacheEntryContent, CacheEntryView, CacheHolder } from '../actions.ts';
import { cacheKey, type CacheKey } from '../cache-key.ts';
import type { CompiledTaskNode } from '../compiled.ts';
import { checkValue } from '../types/index.ts';
import type { NodeContext } from './handler.ts';

type Ctx = NodeContext<CompiledTaskNode>;

/**
 * Before a cached task's first attempt: take the outputs from a valid entry (a hit: no pod), or go on
 * and run it (a miss). With serialization, only the holder of the entry's reservation runs; the others
 * wait for its outputs, and take the reservation over once it expires (a crashed holder never blocks
 * forever). Reservations are asked for here and confirmed by a later round that observes them.
 */
export function cacheOnStart(ctx: Ctx): 'hit' | 'wait' | 'run' {
  const { round, node } = ctx;
  const cache = node.task.spec.cache;
  if (!cache) return 'run';
  const policy = round.input.config.cache;
  if (!policy?.enabled) {
    ctx.set({ cache: 'Disabled' });
    return 'run';
  }
  if (round.cw.overwriteCache) {
    ctx.set({ cache: 'Skipped' });
    return 'run';
  }
  const key = cacheKey(node.task, ctx.inputs());
  const entry = round.cache.get(key.name);
  const mine = entry?.key === key.key ? entry : undefined;
  if (mine && usable(mine, round.now)) {
    const outputs = checkedOutputs(node, mine.outputs!);
    if (outputs) {
      const source = mine.createdBy ? ` (written by ${mine.createdBy.workflow}, node ${mine.createdBy.node}, at ${mine.createdBy.at})` : '';
      ctx.succeed(outputs, { cache: 'Hit', message: `outputs taken from cache entry ${key.name}${source}` });
      return 'hit';
    }
  }
  if (!cache.serialize || (entry && !mine)) {
    // An entry of another key under the same name (a hash prefix collision) is left alone: run uncached.
    ctx.set({ cache: 'Miss' });
    return 'run';
  }
  const me = holderOf(ctx);
  const held = mine?.reservedBy;
  if (held && sameHolder(held, me)) {
    ctx.set({ cache: 'Miss', message: undefined });
    return 'run';
  }
  if (held && Date.parse(held.until) > round.now) {
    ctx.set({ message: `waiting for the cache: ${held.workflow} (node ${held.node}) is computing entry ${key.name}; its reservation lasts until ${held.until}` });
    round.wake(Date.parse(held.until));
    round.watching.add(key.name);
    return 'wait';
  }
  const until = new Date(round.now + policy.reservationMs).toISOString();
  round.act({ type: 'ReserveCache', node: ctx.path, entry: { ...content(ctx, key), reservedBy: { ...me, until } }, ...(entry ? { replacing: entry.resourceVersion } : {}) });
  ctx.set({ message: held ? `taking over the expired cache reservation of ${held.workflow} (node ${held.node})` : `reserving cache entry ${key.name}` });
  round.wake(round.now);
  return 'wait';
}

/** While the holder waits for a slot or a retry, and while its pod runs, it renews its reservation at half-time. */
export function cacheWhileRunning(ctx: Ctx): void {
  const { round, node } = ctx;
  const policy = round.input.config.cache;
  if (!node.task.spec.cache?.serialize || !policy?.enabled || round.cw.overwriteCache) return;
  const key = cacheKey(node.task, ctx.inputs());
  const held = round.cache.get(key.name)?.reservedBy;
  const me = holderOf(ctx);
  if (!held || !sameHolder(held, me)) return;
  const renewAt = Date.parse(held.until) - policy.reservationMs / 2;
  if (round.now >= renewAt) {
    // A node may be looked at twice in a round (observed, then started); it renews once.
    if (round.actions.some((a) => a.type === 'RenewCache' && a.node === ctx.path)) return;
    round.act({ type: 'RenewCache', node: ctx.path, name: key.name, holder: me, until: new Date(round.now + policy.reservationMs).toISOString() });
    round.wake(round.now + policy.reservationMs / 2);
  } else {
    round.wake(renewAt);
  }
}

/** A cached task that ran and succeeded writes its outputs (replacing its own reservation, or an old entry). */
export function cacheOnSuccess(ctx: Ctx, outputs: Record<string, unknown>): void {
  const { round, node } = ctx;
  const policy = round.input.config.cache;
  const status = ctx.status();
  if (!node.task.spec.cache || !policy?.enabled || (status.cache !== 'Miss' && status.cache !== 'Skipped')) return;
  const key = cacheKey(node.task, ctx.inputs());
  const entry = round.cache.get(key.name);
  if (entry && entry.key !== key.key) return;
  const expiresAt = policy.ttlMs > 0 ? new Date(round.now + policy.ttlMs).toISOString() : undefined;
  round.act({
    type: 'WriteCache',
    node: ctx.path,
    entry: { ...content(ctx, key), outputs, ...(expiresAt ? { expiresAt } : {}) },
    replace: entry !== undefined || round.cw.overwriteCache || node.task.spec.cache.serialize === true,
  });
  // Skipped stays: it says the lookup was skipped and the entry replaced (overwriteCache).
  if (status.cache === 'Miss') ctx.set({ cache: 'Populated' });
}

/** A holder that failed for good or was stopped gives its reservation back, so a waiter can run at once. */
export function cacheOnFailure(ctx: Ctx): void {
  const { round, node } = ctx;
  if (!node.task.spec.cache?.serialize || !round.input.config.cache?.enabled || round.cw.overwriteCache) return;
  const key = cacheKey(node.task, ctx.inputs());
  const entry = round.cache.get(key.name);
  const me = holderOf(ctx);
  const asked = round.actions.some((a) => a.type === 'ReleaseCache' && a.node === ctx.path);
  if (entry?.reservedBy && !entry.outputs && sameHolder(entry.reservedBy, me) && !asked) round.act({ type: 'ReleaseCache', node: ctx.path, name: key.name, holder: me });
}

function usable(entry: CacheEntryView, now: number): boolean {
  if (!entry.outputs) return false;
  return entry.expiresAt === undefined || Date.parse(entry.expiresAt) > now;
}

/** The entry's outputs, if they still fit the task's outputs (they always should: the interface is in the key). */
function checkedOutputs(node: CompiledTaskNode, outputs: Record<string, unknown>): Record<string, unknown> | undefined {
  const checked: Record<string, unknown> = {};
  for (const [name, type] of node.task.outputs) {
    const value = Object.hasOwn(outputs, name) ? outputs[name] : null;
    if (checkValue(type, value)) return undefined;
    checked[name] = value;
  }
  return checked;
}

function holderOf(ctx: Ctx): CacheHolder {
  const wf = ctx.round.input.workflow;
  return { workflow: wf.name, uid: wf.uid, node: ctx.path };
}

function sameHolder(a: CacheHolder, b: CacheHolder): boolean {
  return a.uid === b.uid && a.node === b.node;
}

function content(ctx: Ctx, key: CacheKey): CacheEntryContent {
  const wf = ctx.round.input.workflow;
  return {
    name: key.name,
    key: key.key,
    task: ctx.node.task.name,
    cacheVersion: ctx.node.task.spec.cache!.version,
    createdBy: { workflow: wf.name, node: ctx.path, at: ctx.round.nowIso },
  };
}

/** Properties every run of plan must have, checked over the rounds a Sim recorded. */
import assert from 'node:assert/strict';
import type { Pod } from '../../../src/api/pod.ts';
import { plan, type Action } from '../../../src/core/plan.ts';
import { PLUGINS, type RoundRecord, type Sim } from './sim.ts';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export const creates = (round: Pick<RoundRecord, 'result'>) => round.result.actions.filter((a): a is Extract<Action, { type: 'CreatePod' }> => a.type === 'CreatePod');
export const deletes = (round: Pick<RoundRecord, 'result'>) => round.result.actions.flatMap((a) => (a.type === 'DeletePod' ? [a.podName] : []));

/** Planning again on its own output, with the pods it asked for now Pending, asks for nothing new and changes nothing. */
export function checkIdempotent(sim: Sim): void {
  for (const round of sim.rounds) {
    const created: Pod[] = creates(round).map((a) => {
      const pod = clone(a.pod);
      pod.metadata.creationTimestamp = new Date(round.now).toISOString();
      pod.status = { phase: 'Pending' };
      return pod;
    });
    const again = plan({
      workflow: { ...sim.workflow, spec: round.spec, status: clone(round.result.status) },
      pods: [...round.pods, ...created],
      now: round.now,
      config: sim.config,
      plugins: PLUGINS,
      cache: round.cache,
    });
    assert.deepEqual(creates({ result: again }), [], 'a second round asked for more pods');
    assert.deepEqual(deletes({ result: again }).sort(), deletes(round).sort(), 'a second round deleted different pods');
    assert.deepEqual(again.status, round.result.status);
  }
}

/** One pod name per (node path, attempt), never shared, and never a create for a name that exists. */
export function checkPodNames(sim: Sim): void {
  const nameOf = new Map<string, string>();
  const ownerOf = new Map<string, string>();
  for (const round of sim.rounds) {
    for (const create of creates(round)) {
      const key = `${create.node}#${create.attempt}`;
      const name = create.pod.metadata.name;
      assert.equal(nameOf.get(key) ?? name, name, `${key} got two names`);
      assert.equal(ownerOf.get(name) ?? key, key, `${name} used by two attempts`);
      nameOf.set(key, name);
      ownerOf.set(name, key);
    }
  }
  assert.deepEqual(sim.conflicts, []);
}

/** Status objects carry no undefined-valued keys, so they equal their JSON round trip. */
export function checkStatusJson(sim: Sim): void {
  for (const round of sim.rounds) assert.deepEqual(round.result.status, clone(round.result.status));
}

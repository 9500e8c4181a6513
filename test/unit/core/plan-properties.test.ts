import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Pod } from '../../../src/api/pod.ts';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { plan, type Action } from '../../../src/core/plan.ts';
import { CONFIG, PLUGINS, Sim, T0, type RoundRecord } from './sim.ts';
import { dependenciesOf, expectedOutputs, outcomes, randomDag, specOf, type Outcome, type RandomDag } from './random-dag.ts';
import { regressionSpec } from './specs.ts';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const TERMINAL = new Set(['Succeeded', 'Failed', 'Aborted']);

/**
 * Runs the DAG to the end, each live pod taking the next outcome of the (cycled) list each round. After a
 * round whose entry in the (cycled) `crashes` list is true, the status write is lost, as in a crash.
 */
function simulate(dag: RandomDag, plan: Outcome[], crashes: boolean[] = [false]): Sim {
  const sim = new Sim(specOf(dag), { config: { backoffBaseMs: 100, backoffMaxMs: 1000 } });
  let i = 0;
  let round = 0;
  const afterStep = () => {
    if (crashes[round++ % crashes.length]) sim.loseLastStatusWrite();
  };
  sim.run((node, pod) => {
    const outcome = plan[i++ % plan.length]!;
    const running = pod.status?.phase === 'Running';
    switch (outcome) {
      case 'succeed':
        return sim.succeed(node);
      case 'run':
        return running ? sim.succeed(node) : sim.start(node);
      case 'fail':
        return sim.fail(node, 2);
      case 'oom':
        return sim.oom(node);
      case 'evict':
        return sim.evict(node);
      case 'delete':
        return sim.deleteExternally(node);
      case 'badOutputs':
        return sim.succeed(node, 'not json');
      case 'imagePull':
        return sim.waitImage(node);
    }
  }, { maxRounds: 2000, afterStep });
  return sim;
}

const creates = (round: RoundRecord) => round.result.actions.filter((a): a is Extract<Action, { type: 'CreatePod' }> => a.type === 'CreatePod');
const deletes = (round: RoundRecord) => round.result.actions.flatMap((a) => (a.type === 'DeletePod' ? [a.podName] : []));

/** (a) A node is asked to start only when every node it depends on has Succeeded. */
function checkDependencies(dag: RandomDag, sim: Sim): void {
  const deps = dependenciesOf(dag);
  for (const round of sim.rounds) {
    for (const create of creates(round)) {
      for (const up of deps.get(create.node)!) {
        assert.equal(round.result.status.nodes?.[up]?.phase, 'Succeeded', `${create.node} created while ${up} is ${round.result.status.nodes?.[up]?.phase}`);
      }
    }
  }
}

/** (b) Planning again on its own output, with the pods it asked for now Pending, asks for nothing new and changes nothing. */
function checkIdempotent(sim: Sim): void {
  for (const round of sim.rounds) {
    const created: Pod[] = creates(round).map((a) => {
      const pod = clone(a.pod);
      pod.metadata.creationTimestamp = new Date(round.now).toISOString();
      pod.status = { phase: 'Pending' };
      return pod;
    });
    const again = plan({
      workflow: { ...sim.workflow, status: clone(round.result.status) },
      pods: [...round.pods, ...created],
      now: round.now,
      config: sim.config,
      plugins: PLUGINS,
    });
    assert.deepEqual(creates({ ...round, result: again }), [], 'a second round asked for more pods');
    assert.deepEqual(deletes({ ...round, result: again }).sort(), deletes(round).sort(), 'a second round deleted different pods');
    assert.deepEqual(again.status, round.result.status);
  }
}

/** (c) One pod name per (node, attempt), never shared, and never a create for a name that exists. */
function checkPodNames(sim: Sim): void {
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
function checkStatusJson(sim: Sim): void {
  for (const round of sim.rounds) assert.deepEqual(round.result.status, clone(round.result.status));
}

/** Which rounds lose their status write, cycled; each cycle ends with a round that keeps it, so runs still end. */
const crashes = fc.array(fc.constantFrom(false, false, false, true), { maxLength: 7 }).map((a) => [...a, false]);

test('random DAGs with random pod outcomes and crashes: dependencies, idempotence, pod names, termination (property)', () => {
  fc.assert(
    fc.property(randomDag(30), outcomes, crashes, (dag, plan, crash) => {
      const sim = simulate(dag, plan, crash);
      assert.ok(TERMINAL.has(sim.phase ?? ''), `ended ${sim.phase}`);
      checkDependencies(dag, sim);
      checkIdempotent(sim);
      checkPodNames(sim);
      checkStatusJson(sim);
      // No node is left mid-flight in a finished workflow, and nothing runs after the end.
      for (const ns of Object.values(sim.status.nodes ?? {})) assert.ok(ns.phase !== 'Queued' && ns.phase !== 'Running', JSON.stringify(ns));
      assert.equal([...sim.pods.values()].filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length, 0);
    }),
    { numRuns: 150 },
  );
});

test('random DAGs where every pod eventually succeeds end Succeeded with the right outputs (property)', () => {
  const slowSuccess = fc.array(fc.constantFrom<Outcome>('succeed', 'run'), { minLength: 1, maxLength: 10 });
  fc.assert(
    fc.property(randomDag(30), slowSuccess, (dag, plan) => {
      const sim = simulate(dag, plan);
      assert.equal(sim.phase, 'Succeeded');
      const expected = expectedOutputs(dag);
      for (const node of dag.nodes) {
        assert.equal(sim.nodePhase(node.id), 'Succeeded');
        assert.deepEqual(sim.status.nodes?.[node.id]?.outputs, { o: expected.get(node.id) });
      }
      assert.equal(sim.status.progress, `${dag.nodes.length}/${dag.nodes.length}`);
      checkDependencies(dag, sim);
      checkIdempotent(sim);
      checkPodNames(sim);
    }),
    { numRuns: 150 },
  );
});

const ROUND_INPUT = { pods: [], now: T0, config: CONFIG, plugins: PLUGINS };
const view = (spec: unknown) => ({ name: 'wf', namespace: 'ns', uid: 'u', spec });

function checkNeverCreatesForInvalid(spec: unknown): void {
  const result = plan({ ...ROUND_INPUT, workflow: view(spec) });
  if (!compileWorkflow(spec, { maxNodes: CONFIG.maxNodes }).ok) {
    assert.deepEqual(result.actions, []);
    assert.equal(result.status.phase, 'Failed');
    assert.equal(result.status.error?.code, 'InvalidWorkflow');
  }
}

test('plan never throws on arbitrary specs and starts nothing for an invalid one (property)', () => {
  fc.assert(fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), checkNeverCreatesForInvalid), { numRuns: 1000 });
  fc.assert(fc.property(fc.object(), checkNeverCreatesForInvalid), { numRuns: 500 });
});

/** Every JSON path of a value, as key lists, so a test can replace any one part of a spec. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function replaceAt(value: unknown, path: string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string, unknown>;
  copy[path[0]!] = replaceAt(copy[path[0]!], path.slice(1), replacement);
  return copy;
}

test('plan never throws on valid specs with one part replaced by arbitrary JSON (property)', () => {
  const base = regressionSpec();
  const all = paths(base);
  fc.assert(
    fc.property(fc.constantFrom(...all), fc.jsonValue(), (path, replacement) => checkNeverCreatesForInvalid(replaceAt(base, path, replacement))),
    { numRuns: 1500 },
  );
});

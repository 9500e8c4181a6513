import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { plan } from '../../../src/core/plan.ts';
import { checkIdempotent, checkPodNames, checkStatusJson, creates } from './plan-checks.ts';
import { CONFIG, PLUGINS, Sim, T0 } from './sim.ts';
import { dependenciesOf, expectedOutputs, outcomes, randomDag, specOf, type Outcome, type RandomDag } from './random-dag.ts';
import { regressionSpec } from './specs.ts';

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

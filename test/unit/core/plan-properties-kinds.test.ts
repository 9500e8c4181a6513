import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { checkIdempotent, checkPodNames, checkStatusJson, creates } from './plan-checks.ts';
import { Sim } from './sim.ts';
import { outcomes, type Outcome } from './random-dag.ts';
import { dependenciesOfMixed, randomWorkflow, SUB_DEPENDENCIES, specOfMixed, type MixedWorkflow } from './random-workflow.ts';

const TERMINAL = new Set(['Succeeded', 'Failed', 'Aborted']);
const SUM = ({ xs }: Record<string, unknown>) => ({ o: (xs as number[]).reduce((a, b) => a + b, 0) + 1 });

/** Runs a mixed workflow to its end, pods taking the (cycled) outcomes, some status writes lost as in a crash. */
function simulate(wf: MixedWorkflow, plan: Outcome[], crashes: boolean[]): Sim {
  const sim = new Sim(specOfMixed(wf), { config: { backoffBaseMs: 100, backoffMaxMs: 1000 }, tasks: { sum: SUM, csum: SUM } });
  let i = 0;
  let round = 0;
  sim.run(
    (node, pod) => {
      const outcome = plan[i++ % plan.length]!;
      const running = pod.status?.phase === 'Running';
      if (outcome === 'succeed' || (outcome === 'run' && running)) return sim.succeed(node);
      if (outcome === 'run') return sim.start(node);
      if (outcome === 'fail') return sim.fail(node, 2);
      if (outcome === 'oom') return sim.oom(node);
      if (outcome === 'evict') return sim.evict(node);
      if (outcome === 'delete') return sim.deleteExternally(node);
      if (outcome === 'badOutputs') return sim.succeed(node, 'not json');
      return sim.waitImage(node);
    },
    { maxRounds: 3000, afterStep: () => void (crashes[round++ % crashes.length] && sim.loseLastStatusWrite()) },
  );
  return sim;
}

/**
 * The scope a container node opens, by the kind of node: which local nodes wait for which inside it.
 * Branch arms wait for nothing but their branch; failure handlers are left out (they run on failure).
 */
function innerScope(scope: string, segment: string, wf: MixedWorkflow): string | undefined {
  if (scope === 'root') {
    const kind = wf.nodes.find((n) => n.id === segment)?.kind;
    return kind === 'sub' ? 'pair' : kind === 'nested' ? 'outer' : kind === 'branch' ? 'branch' : undefined;
  }
  if (scope === 'branch') return segment === 'case-1' ? 'pair' : segment === 'else' ? 'branch2' : undefined;
  if (scope === 'outer') return segment === 'inner' ? 'pair' : undefined;
  return undefined;
}

/** (a) A pod is asked for only when, at every level of its path, the node's own upstream has succeeded. */
function checkDependencies(wf: MixedWorkflow, sim: Sim): void {
  const rootDeps = dependenciesOfMixed(wf);
  for (const round of sim.rounds) {
    const status = round.result.status.nodes ?? {};
    for (const create of creates(round)) {
      const segments = create.node.split('/');
      if (segments.includes('onFailure')) continue;
      let scope = 'root';
      for (let level = 0; level < segments.length; level++) {
        const prefix = segments.slice(0, level).map((s) => `${s}/`).join('');
        const id = segments[level]!;
        const deps = scope === 'root' ? [...(rootDeps.get(id) ?? [])] : (SUB_DEPENDENCIES[scope]?.[id] ?? []);
        for (const dep of deps) assert.equal(status[prefix + dep]?.phase, 'Succeeded', `${create.node} created while ${prefix + dep} is ${status[prefix + dep]?.phase}`);
        if (level > 0) assert.ok(['Running', 'Failing'].includes(status[prefix.slice(0, -1)]?.phase ?? ''), `${create.node} created while its container is ${status[prefix.slice(0, -1)]?.phase}`);
        scope = innerScope(scope, id, wf) ?? 'leaf';
      }
    }
  }
}



const crashes = fc.array(fc.constantFrom(false, false, false, true), { maxLength: 7 }).map((a) => [...a, false]);

test('every generated mixed workflow compiles', () => {
  fc.assert(
    fc.property(randomWorkflow(), (wf) => {
      const result = compileWorkflow(specOfMixed(wf), { maxNodes: 1000 });
      assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    }),
    { numRuns: 300 },
  );
});

test('mixed workflows with random pod outcomes and crashes: dependencies at every level, idempotence, pod names, termination (property)', () => {
  fc.assert(
    fc.property(randomWorkflow(), outcomes, crashes, (wf, pods, crash) => {
      const sim = simulate(wf, pods, crash);
      assert.ok(TERMINAL.has(sim.phase ?? ''), `ended ${sim.phase}`);
      checkDependencies(wf, sim);
      checkIdempotent(sim);
      checkPodNames(sim);
      checkStatusJson(sim);
    }),
    { numRuns: 150 },
  );
});

test('mixed workflows whose pods all succeed end Succeeded, each cached computation running at most once per key (property)', () => {
  fc.assert(
    fc.property(randomWorkflow(), (wf) => {
      const sim = simulate({ ...wf, serialize: true }, ['succeed'], [false]);
      assert.equal(sim.phase, 'Succeeded', `${sim.status.message}`);
      // With serialization, pods of the cached task never share inputs.
      const keys = sim
        .creates()
        .filter((c) => c.pod.spec.containers[0]?.env?.find((e) => e.name === 'FLYTE_INTERNAL_TASK_NAME')?.value === 'csum')
        .map((c) => `${c.attempt}:${c.pod.spec.containers[0]?.env?.find((e) => e.name === 'FLYTE_INPUTS')?.value}`);
      assert.equal(new Set(keys).size, keys.length, `a cached computation ran twice: ${keys.join(' ')}`);
    }),
    { numRuns: 150 },
  );
});

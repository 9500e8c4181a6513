// The TypeScript twins of Flyte's documented examples give the same result locally (runLocal, in-process on
// the operator's core) and remotely (the bundle shipped as a ConfigMap, run by the propeller as pods of the
// process node), and fail the same way.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { isAlreadyExists } from '../../src/k8s/errors.ts';
import { definitionsPath, launchPlansPath } from '../../src/k8s/paths.ts';
import { loadModule, type LoadedModule } from '../../sdk/src/bundle/bundle.ts';
import { codeConfigMap, execution, registration, type CodeRef } from '../../sdk/src/compile/index.ts';
import type { LaunchPlanDefinition } from '../../sdk/src/launch-plan.ts';
import { runLocal, type LocalRunResult } from '../../sdk/src/local/run-local.ts';
import type { WorkflowDefinition } from '../../sdk/src/workflow.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { TERMINAL, usePropellerEnv, waitForWorkflow, wfsPath, type Env } from './helpers/e2e.ts';

const modules = new Map<string, Promise<LoadedModule>>();
const load = (file: string) => {
  if (!modules.has(file)) modules.set(file, loadModule(join(repoRoot, 'examples', file)));
  return modules.get(file)!;
};

const codeOf = (m: LoadedModule): CodeRef => ({ configMap: `propeller-code-${m.bundle.hash.slice(0, 12)}`, hash: m.bundle.hash });

async function shipCode(env: Env, m: LoadedModule): Promise<CodeRef> {
  const code = codeOf(m);
  await env.client.request('POST', `/api/v1/namespaces/${env.ns}/configmaps`, { body: codeConfigMap(m.bundle.code, code, env.ns) }).catch((err: unknown) => {
    if (!isAlreadyExists(err)) throw err; // content-addressed: the same bundle is already there
  });
  return code;
}

async function finished(env: Env, created: FlyteWorkflow): Promise<FlyteWorkflow> {
  return waitForWorkflow(env, created.metadata.name, 'a terminal phase', (wf) => (wf.status?.phase && TERMINAL.includes(wf.status.phase) ? wf : undefined), 60_000);
}

async function runRemote(env: Env, m: LoadedModule, name: string, inputs: Record<string, unknown>): Promise<FlyteWorkflow> {
  const code = await shipCode(env, m);
  const wf = m.definitions.get(`workflow:${name}`) as WorkflowDefinition;
  const body = execution(wf, code, { namespace: env.ns, inputs });
  return finished(env, await env.client.request<FlyteWorkflow>('POST', wfsPath(env.ns), { body }));
}

/** The same comparison for both sides: phase, outputs, and the error's code, node and message. */
function outcome(phase: string | undefined, outputs: unknown, error: { code?: string; node?: string; message?: string } | undefined) {
  return { phase, outputs: outputs ?? null, error: error ? { code: error.code, node: error.node, message: error.message } : null };
}
const localOutcome = (r: LocalRunResult) => outcome(r.phase, r.outputs, r.status.error);
const remoteOutcome = (wf: FlyteWorkflow) => outcome(wf.status?.phase, wf.status?.outputs, wf.status?.error);

const CASES: { file: string; workflow: string; inputs: Record<string, unknown>; expect: unknown }[] = [
  { file: 'workflow.ts', workflow: 'simple_wf', inputs: { x: [-3, 0, 3], y: [7, 4, -2] }, expect: { o0: 3 } },
  { file: 'workflow.ts', workflow: 'data_pipeline', inputs: { raw_data: '1.5,2,3.25' }, expect: { o0: 6.75 } },
  { file: 'workflow.ts', workflow: 'simple_wf_with_partial', inputs: { x: [-3, 0, 3] }, expect: { o0: -1.5 } },
  { file: 'workflow.ts', workflow: 'documented_wf', inputs: {}, expect: { o0: 3 } },
  { file: 'standard-scale.ts', workflow: 'standard_scale_workflow', inputs: { values: [1, 2, 3, 4, 5] }, expect: { o0: [1, 2, 3, 4, 5].map((x) => (x - 3) / Math.sqrt(10)) } },
];

describe('TypeScript examples: the same result locally and on the cluster', { concurrency: true }, () => {
  const env = usePropellerEnv('sdk-ex');

  for (const c of CASES) {
    test(`${c.file} ${c.workflow}`, { timeout: 90_000 }, async () => {
      const m = await load(c.file);
      const local = await runLocal(m.definitions.get(`workflow:${c.workflow}`) as WorkflowDefinition, c.inputs);
      const remote = await runRemote(env(), m, c.workflow, c.inputs);
      assert.deepEqual(localOutcome(local), { phase: 'Succeeded', outputs: c.expect, error: null });
      assert.deepEqual(remoteOutcome(remote), localOutcome(local));
    });
  }

  test('a task that returns NaN fails the same way locally and remotely, naming the task and output', { timeout: 90_000 }, async () => {
    const m = await load('workflow.ts');
    // All x equal: the slope's denominator is 0, so the task returns NaN, which is not a JSON number.
    const inputs = { x: [1, 1, 1], y: [1, 2, 3] };
    const local = await runLocal(m.definitions.get('workflow:simple_wf') as WorkflowDefinition, inputs);
    const remote = await runRemote(env(), m, 'simple_wf', inputs);
    assert.equal(local.phase, 'Failed');
    assert.match(local.status.error?.message ?? '', /TypeCheckError: task "slope": output "o0": NaN is not a JSON number/);
    assert.deepEqual(remoteOutcome(remote), localOutcome(local));
  });

  test('the nightly launch plan, registered from the module and launched, matches its local run', { timeout: 90_000 }, async () => {
    const m = await load('standard-scale.ts');
    const lp = m.definitions.get('launchPlan:nightly_scale_lp') as LaunchPlanDefinition;
    const local = await runLocal(lp, {});
    const code = await shipCode(env(), m);
    for (const r of registration([], [lp], m.bundle.hash.slice(0, 12), code, env().ns)) {
      await env().client.request('POST', (r.kind === 'LaunchPlan' ? launchPlansPath : definitionsPath)(env().ns), { body: r });
    }
    const body = { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { generateName: 'nightly-', namespace: env().ns }, spec: { launchPlan: lp.resourceName() } };
    const remote = await finished(env(), await env().client.request<FlyteWorkflow>('POST', wfsPath(env().ns), { body }));
    assert.equal(local.phase, 'Succeeded');
    assert.deepEqual(remoteOutcome(remote), localOutcome(local));
  });
});

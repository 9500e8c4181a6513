// Versioned, immutable WorkflowDefinitions and executions that run them by reference, directly or through
// a LaunchPlan with default and fixed inputs, on the real API server with the process node.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { definitionPath, definitionsPath, launchPlanPath, launchPlansPath } from '../../src/k8s/paths.ts';
import { KubeApiError } from '../../src/k8s/errors.ts';
import { expectPhase, explain, pyTask, submit, usePropellerEnv, waitForWorkflow, type Env } from './helpers/e2e.ts';

const scale = pyTask('import time\ntime.sleep(inp["pause"])\nout["y"] = inp["x"] * inp["k"]', { inputs: { x: 'int', k: 'int', pause: 'float' }, outputs: { y: 'int' } });

function workflow(factor: number): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'int', pause: 'float' }, outputs: { y: 'int' } },
    tasks: { scale },
    nodes: { s: { task: 'scale', inputs: { x: { from: 'inputs.x' }, k: { value: factor }, pause: { from: 'inputs.pause' } } } },
    outputs: { y: { from: 's.y' } },
  };
}

function definition(env: Env, name: string, version: string, wf: Record<string, unknown>) {
  return { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'WorkflowDefinition', metadata: { name: `${name}.${version}`, namespace: env.ns }, spec: { name, version, workflow: wf } };
}

async function create(env: Env, path: string, body: unknown): Promise<unknown> {
  return env.client.request('POST', path, { body });
}

async function refused(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KubeApiError) return err.serverMessage;
    throw err;
  }
  assert.fail('the API server accepted it');
}

async function validity(env: Env, objectName: string): Promise<{ valid?: boolean; message?: string }> {
  for (let i = 0; i < 300; i++) {
    const def = await env.client.request<{ status?: { valid?: boolean; message?: string } }>('GET', definitionPath(env.ns, objectName));
    if (def.status?.valid !== undefined) return def.status;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`definition ${objectName} never got a status`);
}

describe('workflow definitions and launch plans', { concurrency: true }, () => {
  const env = usePropellerEnv('defs');

  test('a definition is compiled once and immutable: a change is refused by the API server, an identical re-apply is not', { timeout: 60_000 }, async () => {
    await create(env(), definitionsPath(env().ns), definition(env(), 'imm', 'v1', workflow(2)));
    assert.deepEqual(await validity(env(), 'imm.v1'), { valid: true, message: 'valid: 1 node', nodes: 1, observedGeneration: 1 });
    const current = await env().client.request<{ metadata: { resourceVersion: string } }>('GET', definitionPath(env().ns, 'imm.v1'));
    const changed = definition(env(), 'imm', 'v1', workflow(3));
    const message = await refused(env().client.request('PUT', definitionPath(env().ns, 'imm.v1'), { body: { ...changed, metadata: { ...changed.metadata, resourceVersion: current.metadata.resourceVersion } } }));
    assert.match(message, /workflow definition imm version v1 is immutable: apply the change as a new version \(spec.version and metadata.name imm.NEW_VERSION\)/);
    // The same content again (what `kubectl apply` of an unchanged file does) is fine.
    const same = definition(env(), 'imm', 'v1', workflow(2));
    await env().client.request('PUT', definitionPath(env().ns, 'imm.v1'), { body: { ...same, metadata: { ...same.metadata, resourceVersion: current.metadata.resourceVersion } } });
    // The object name must be NAME.VERSION.
    const misnamed = { ...definition(env(), 'imm', 'v2', workflow(2)), metadata: { name: 'imm-v2', namespace: env().ns } };
    assert.match(await refused(create(env(), definitionsPath(env().ns), misnamed)), /metadata.name must be imm.v2/);
  });

  test('an invalid definition says why, naming the node', { timeout: 60_000 }, async () => {
    const bad = { ...workflow(2), nodes: { s: { task: 'nope' } } };
    await create(env(), definitionsPath(env().ns), definition(env(), 'bad', 'v1', bad));
    const status = await validity(env(), 'bad.v1');
    assert.equal(status.valid, false);
    assert.equal(status.message, 'invalid: node "s": task: unknown task "nope"');
  });

  test('an execution by reference runs the version it names, copied into its status, even when the definition is deleted meanwhile', { timeout: 60_000 }, async () => {
    await create(env(), definitionsPath(env().ns), definition(env(), 'ref', 'v1', workflow(2)));
    await create(env(), definitionsPath(env().ns), definition(env(), 'ref', 'v2', workflow(10)));
    await submit(env(), 'by-ref', { definition: { name: 'ref', version: 'v1' }, inputs: { x: 21, pause: 2 } });
    await waitForWorkflow(env(), 'by-ref', 'the definition to be resolved', (wf) => wf.status?.resolved?.definition === 'ref.v1');
    await env().client.request('DELETE', definitionPath(env().ns, 'ref.v1'));
    const done = await expectPhase(env(), 'by-ref', 'Succeeded');
    await explain(env(), 'by-ref', () => {
      assert.deepEqual(done.status?.outputs, { y: 42 });
      assert.equal((done.status?.resolved?.workflow as { nodes?: unknown }).nodes !== undefined, true);
    });
    await submit(env(), 'by-ref-v2', { definition: { name: 'ref', version: 'v2' }, inputs: { x: 21, pause: 0 } });
    assert.deepEqual((await expectPhase(env(), 'by-ref-v2', 'Succeeded')).status?.outputs, { y: 210 });
  });

  test('a missing definition fails the execution on its first round, naming it', { timeout: 60_000 }, async () => {
    await submit(env(), 'missing', { definition: { name: 'ghost', version: 'v9' }, inputs: { x: 1 } });
    const wf: FlyteWorkflow = await expectPhase(env(), 'missing', 'Failed');
    assert.equal(wf.status?.message, 'invalid workflow: workflow: definition: workflow definition "ghost" version "v9" ("ghost.v9") not found in this namespace');
  });

  test('a launch plan: defaults an execution may override, fixed inputs it may not; inputs type-checked against the definition', { timeout: 90_000 }, async () => {
    await create(env(), definitionsPath(env().ns), definition(env(), 'lpdef', 'v1', workflow(3)));
    const lp = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'LaunchPlan', metadata: { name, namespace: env().ns }, spec: { workflow: { name: 'lpdef', version: 'v1' }, ...spec } });
    await create(env(), launchPlansPath(env().ns), lp('triple', { defaultInputs: { x: 5 }, fixedInputs: { pause: 0 } }));
    await submit(env(), 'lp-default', { launchPlan: 'triple' });
    await submit(env(), 'lp-override', { launchPlan: 'triple', inputs: { x: 7 } });
    await submit(env(), 'lp-fixed', { launchPlan: 'triple', inputs: { pause: 5 } });
    assert.deepEqual((await expectPhase(env(), 'lp-default', 'Succeeded')).status?.outputs, { y: 15 });
    const over = await expectPhase(env(), 'lp-override', 'Succeeded');
    assert.deepEqual(over.status?.outputs, { y: 21 });
    assert.equal(over.status?.resolved?.launchPlan, 'triple');
    assert.equal((await expectPhase(env(), 'lp-fixed', 'Failed')).status?.message, 'invalid workflow: workflow: inputs.pause: fixed by launch plan "triple" and cannot be overridden');
    // A wrong default type makes the launch plan itself invalid.
    await create(env(), launchPlansPath(env().ns), lp('wrong', { defaultInputs: { x: 'five' } }));
    for (let i = 0; i < 300; i++) {
      const got = await env().client.request<{ status?: { valid?: boolean; message?: string } }>('GET', launchPlanPath(env().ns, 'wrong'));
      if (got.status?.valid === false) {
        assert.match(got.status.message ?? '', /defaultInputs.x: type mismatch: expected int, got str "five"/);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('the launch plan was never marked invalid');
  });
});

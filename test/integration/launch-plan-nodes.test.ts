// Launch-plan nodes: a node that runs a launch plan as a child execution owned by the parent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { definitionPath, definitionsPath, launchPlanPath, launchPlansPath, workflowPath } from '../../src/k8s/paths.ts';
import { expectPhase, explain, patchWorkflow, pyTask, submit, usePropellerEnv, waitForWorkflow, type Env } from './helpers/e2e.ts';
import { wfList } from './helpers/schedules.ts';

const mul = pyTask('import time\ntime.sleep(inp["pause"])\nif inp["x"] < 0: raise SystemExit("negative input")\nout["y"] = inp["x"] * inp["k"]', { inputs: { x: 'int', k: 'int', pause: 'float' }, outputs: { y: 'int' } });
const add = pyTask('out["z"] = inp["a"] + 1', { inputs: { a: 'int' }, outputs: { z: 'int' } });

async function setUp(env: Env): Promise<void> {
  await env.client.request('POST', definitionsPath(env.ns), {
    body: {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'WorkflowDefinition',
      metadata: { name: 'child.v1', namespace: env.ns },
      spec: {
        name: 'child',
        version: 'v1',
        workflow: {
          interface: { inputs: { x: 'int', k: 'int', pause: 'float' }, outputs: { y: 'int' } },
          maxParallelism: 1,
          tasks: { mul },
          nodes: { m: { task: 'mul', inputs: { x: { from: 'inputs.x' }, k: { from: 'inputs.k' }, pause: { from: 'inputs.pause' } } } },
          outputs: { y: { from: 'm.y' } },
        },
      },
    },
  });
  await env.client.request('POST', launchPlansPath(env.ns), {
    body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'LaunchPlan', metadata: { name: 'times', namespace: env.ns }, spec: { workflow: { name: 'child', version: 'v1' }, defaultInputs: { pause: 0 }, fixedInputs: { k: 10 }, labels: { team: 'ml' } } },
  });
}

function parent(x: number, pause?: number): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'int' }, outputs: { z: 'int' } },
    inputs: { x },
    tasks: { add },
    nodes: {
      run: { launchPlan: 'times', inputs: { x: { from: 'inputs.x' }, ...(pause === undefined ? {} : { pause: { value: pause } }) } },
      after: { task: 'add', inputs: { a: { from: 'run.y' } } },
    },
    outputs: { z: { from: 'after.z' } },
  };
}

describe('launch-plan nodes', { concurrency: false }, () => {
  const env = usePropellerEnv('lpnodes');

  test('a child execution runs the launch plan; the parent takes its outputs; labels are merged', { timeout: 60_000 }, async () => {
    await setUp(env());
    await submit(env(), 'par-ok', parent(4), { project: 'p1' });
    const done = await expectPhase(env(), 'par-ok', 'Succeeded');
    const children = await wfList(env(), 'flyte.propeller.dev/parent=par-ok');
    await explain(env(), 'par-ok', () => {
      assert.deepEqual(done.status?.outputs, { z: 41 });
      assert.equal(children.length, 1);
      const child = children[0]!;
      assert.equal(child.status?.phase, 'Succeeded');
      assert.deepEqual(child.status?.outputs, { y: 40 });
      assert.equal(child.metadata.labels?.['project'], 'p1', "the parent's labels");
      assert.equal(child.metadata.labels?.['team'], 'ml', "and the launch plan's");
      assert.equal(child.metadata.ownerReferences?.[0]?.uid, done.metadata.uid, 'owned by the parent');
      assert.equal(child.status?.resolved?.launchPlan, 'times');
      assert.deepEqual(child.status?.resolved?.inputs, { pause: 0, x: 4, k: 10 });
      assert.equal(done.status?.launchPlans?.['times']?.definition, 'child.v1');
    });
  });

  test("a child that fails fails its node with the child's error", { timeout: 60_000 }, async () => {
    await submit(env(), 'par-bad', parent(-1));
    const failed: FlyteWorkflow = await expectPhase(env(), 'par-bad', 'Failed');
    await explain(env(), 'par-bad', () => {
      assert.equal(failed.status?.nodes?.['run']?.phase, 'Failed');
      assert.match(failed.status?.nodes?.['run']?.error?.message ?? '', /^child execution par-bad-run-0 failed: node "m" failed: attempt 1 failed: NonZeroExit/);
      assert.equal(failed.status?.nodes?.['after']?.phase, 'Skipped');
    });
  });

  test('launch-plan nodes nest: a definition whose node runs a launch plan is valid, and so is a launch plan of it', { timeout: 60_000 }, async () => {
    await env().client.request('POST', definitionsPath(env().ns), {
      body: {
        apiVersion: 'flyte.propeller.dev/v1alpha1',
        kind: 'WorkflowDefinition',
        metadata: { name: 'outer.v1', namespace: env().ns },
        spec: {
          name: 'outer',
          version: 'v1',
          workflow: {
            interface: { inputs: { x: 'int' }, outputs: { y: 'int' } },
            nodes: { inner: { launchPlan: 'times', inputs: { x: { from: 'inputs.x' } } } },
            outputs: { y: { from: 'inner.y' } },
          },
        },
      },
    });
    await env().client.request('POST', launchPlansPath(env().ns), {
      body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'LaunchPlan', metadata: { name: 'outer-lp', namespace: env().ns }, spec: { workflow: { name: 'outer', version: 'v1' } } },
    });
    for (const [path, what] of [[definitionPath(env().ns, 'outer.v1'), 'definition'], [launchPlanPath(env().ns, 'outer-lp'), 'launch plan']] as const) {
      let status: { valid?: boolean; message?: string } | undefined;
      for (let i = 0; i < 100 && status?.valid === undefined; i++) {
        status = (await env().client.request<{ status?: { valid?: boolean; message?: string } }>('GET', path)).status;
        if (status?.valid === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status?.valid, true, `the ${what} is valid: ${status?.message}`);
    }
    await submit(env(), 'par-nested', { interface: { outputs: { y: 'int' } }, nodes: { run: { launchPlan: 'outer-lp', inputs: { x: { value: 2 } } } }, outputs: { y: { from: 'run.y' } } });
    const done = await expectPhase(env(), 'par-nested', 'Succeeded');
    assert.deepEqual(done.status?.outputs, { y: 20 });
    const grandchildren = await wfList(env(), 'flyte.propeller.dev/parent=par-nested-run-0');
    assert.equal(grandchildren.length, 1, 'the child ran its own launch-plan node as a grandchild');
  });

  test('aborting the parent aborts the child', { timeout: 60_000 }, async () => {
    await submit(env(), 'par-abort', parent(3, 30));
    await waitForWorkflow(env(), 'par-abort', 'the child to run', (wf) => wf.status?.nodes?.['run']?.phase === 'Running');
    await patchWorkflow(env(), 'par-abort', { spec: { abort: true } });
    await expectPhase(env(), 'par-abort', 'Aborted');
    const child = await env().client.request<FlyteWorkflow>('GET', workflowPath(env().ns, 'par-abort-run-0'));
    assert.equal((child.spec as { abort?: boolean }).abort, true);
    await expectPhase(env(), 'par-abort-run-0', 'Aborted');
  });
});

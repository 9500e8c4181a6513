import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plan } from '../../../src/core/plan.ts';
import { CONFIG, PLUGINS, T0 } from './sim.ts';

const spec = (serviceAccountName?: string) => ({
  ...(serviceAccountName ? { serviceAccountName } : {}),
  tasks: { t: { container: { image: 'x', command: ['true'] } } },
  nodes: { a: { task: 't' } },
});

const round = (namespace: string, serviceAccountName?: string) =>
  plan({
    workflow: { name: 'wf', namespace, uid: 'u1', spec: spec(serviceAccountName) },
    pods: [],
    now: T0,
    config: { ...CONFIG, ownServiceAccount: { namespace: 'propeller-system', name: 'propeller' } },
    plugins: PLUGINS,
  });

test("a workflow asking for the propeller's own service account fails before any pod", () => {
  const result = round('propeller-system', 'propeller');
  assert.equal(result.status.phase, 'Failed');
  assert.equal(result.actions.length, 0);
  assert.match(result.status.message!, /serviceAccountName: "propeller" is the propeller's own service account; task pods may never run as it/);
});

test("an unset service account that would default to the propeller's own fails too", () => {
  const result = plan({
    workflow: { name: 'wf', namespace: 'team-a', uid: 'u1', spec: spec() },
    pods: [],
    now: T0,
    config: { ...CONFIG, ownServiceAccount: { namespace: 'team-a', name: 'default' } },
    plugins: PLUGINS,
  });
  assert.equal(result.status.phase, 'Failed');
  assert.equal(result.actions.length, 0);
  assert.match(result.status.message!, /unset, so the namespace's "default" would be used, and that is the propeller's own service account/);
});

test('the same name in another namespace, or another name in its namespace, runs', () => {
  for (const [namespace, account] of [['team-a', 'propeller'], ['propeller-system', 'task-runner'], ['propeller-system', undefined]] as const) {
    const result = round(namespace, account);
    assert.equal(result.status.phase, 'Running', `${namespace}/${account}`);
    assert.equal(result.actions.filter((a) => a.type === 'CreatePod').length, 1);
  }
});

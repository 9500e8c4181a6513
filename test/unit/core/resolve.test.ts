// Executions by reference: what resolveExecution copies into status.resolved (definition, merged inputs,
// launch-plan settings), what it refuses and with which message, and the spec effectiveSpec hands to the
// compiler and plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DefinitionSpec } from '../../../src/api/definition.ts';
import type { LaunchPlanSpec } from '../../../src/api/launch-plan.ts';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { plan } from '../../../src/core/plan.ts';
import { effectiveSpec, launchPlanNames, resolveExecution, type References, type Resolved } from '../../../src/core/resolve.ts';
import { CONFIG, PLUGINS, T0 } from './sim.ts';
import { task } from './specs.ts';

/** standard-scale: values → mean → sigma; a Python identifier input, an Optional one, and a pod label. */
const WORKFLOW = {
  interface: { inputs: { values: 'list[float]', scale: 'float', note: 'Optional[str]' }, outputs: { mu: 'float' } },
  maxParallelism: 7,
  pod: { labels: { team: 'definition', app: 'scale' } },
  tasks: { mean: task({ inputs: { values: 'list[float]', scale: 'float' }, outputs: { o0: 'float' } }) },
  nodes: { mu: { task: 'mean', inputs: { values: { from: 'inputs.values' }, scale: { from: 'inputs.scale' } } } },
  outputs: { mu: { from: 'mu.o0' } },
};

const DEFINITIONS: Record<string, DefinitionSpec> = {
  'standard-scale.1': { name: 'standard-scale', version: '1', workflow: WORKFLOW as unknown as DefinitionSpec['workflow'] },
  'standard-scale.2': { name: 'standard-scale', version: '2', workflow: { ...WORKFLOW, description: 'v2' } as unknown as DefinitionSpec['workflow'] },
};

const LAUNCH_PLANS: Record<string, LaunchPlanSpec> = {
  nightly: {
    workflow: { name: 'standard-scale', version: '1' },
    defaultInputs: { values: [1, 2, 3], scale: 1 },
    fixedInputs: { note: 'nightly' },
    labels: { team: 'analytics', tier: 'batch' },
    annotations: { owner: 'ana' },
    maxParallelism: 3,
    serviceAccountName: 'scaler',
    overwriteCache: true,
  },
  bare: { workflow: { name: 'standard-scale', version: '2' } },
  dangling: { workflow: { name: 'standard-scale', version: '9' } },
};

const REFS: References = {
  definition: (name, version) => DEFINITIONS[`${name}.${version}`],
  launchPlan: (name) => LAUNCH_PLANS[name],
};

function resolved(spec: unknown): Resolved | undefined {
  const r = resolveExecution(spec, REFS);
  assert.ok(r.ok, `resolution failed: ${JSON.stringify(r)}`);
  return r.resolved;
}

function errors(spec: unknown): string[] {
  const r = resolveExecution(spec, REFS);
  assert.ok(!r.ok, `resolution succeeded: ${JSON.stringify(r)}`);
  return r.errors;
}

// ---------------------------------------------------------------------------------------------------------
// resolveExecution

test('an inline workflow resolves to nothing: it runs as it is', () => {
  assert.equal(resolved({ tasks: WORKFLOW.tasks, nodes: WORKFLOW.nodes, inputs: { values: [1] } }), undefined);
  assert.equal(resolved({ tasks: {}, nodes: {} }), undefined);
  // Not even an object: nothing to resolve (the compiler says what is wrong with it).
  assert.equal(resolved(undefined), undefined);
  assert.equal(resolved('nodes'), undefined);
  assert.equal(resolved([]), undefined);
});

test('by definition: the named version, copied, with the execution inputs as they are', () => {
  assert.deepEqual(resolved({ definition: { name: 'standard-scale', version: '1' }, inputs: { values: [4], scale: 2 } }), {
    definition: 'standard-scale.1',
    workflow: WORKFLOW,
    inputs: { values: [4], scale: 2 },
  });
  // Another version is another workflow.
  assert.equal((resolved({ definition: { name: 'standard-scale', version: '2' } })?.workflow as { description?: string }).description, 'v2');
  // No inputs: an empty map (the compiler then says which required input is missing).
  assert.deepEqual(resolved({ definition: { name: 'standard-scale', version: '1' } })?.inputs, {});
  assert.deepEqual(resolved({ definition: { name: 'standard-scale', version: '1' }, inputs: 'not a map' })?.inputs, {});
});

test('by launch plan: its definition, inputs merged as defaults, then the execution, then fixed; its settings', () => {
  assert.deepEqual(resolved({ launchPlan: 'nightly' }), {
    definition: 'standard-scale.1',
    launchPlan: 'nightly',
    workflow: WORKFLOW,
    inputs: { values: [1, 2, 3], scale: 1, note: 'nightly' },
    settings: { maxParallelism: 3, serviceAccountName: 'scaler', overwriteCache: true, labels: { team: 'analytics', tier: 'batch' }, annotations: { owner: 'ana' } },
  });
  // The execution's inputs win over the defaults, and add inputs that have none.
  assert.deepEqual(resolved({ launchPlan: 'nightly', inputs: { scale: 10 } })?.inputs, { values: [1, 2, 3], scale: 10, note: 'nightly' });
  assert.deepEqual(resolved({ launchPlan: 'bare', inputs: { values: [5] } }), {
    definition: 'standard-scale.2',
    launchPlan: 'bare',
    workflow: DEFINITIONS['standard-scale.2']!.workflow,
    inputs: { values: [5] },
  });
});

test('the merge copies: the resolved inputs do not alias the launch plan or the execution spec', () => {
  const spec = { launchPlan: 'nightly', inputs: { scale: 10 } };
  const r = resolved(spec)!;
  (r.inputs as Record<string, unknown>)['scale'] = 11;
  assert.deepEqual(spec.inputs, { scale: 10 });
  assert.deepEqual(LAUNCH_PLANS['nightly']!.defaultInputs, { values: [1, 2, 3], scale: 1 });
});

test('an execution may not set a fixed input: every one it sets is named', () => {
  assert.deepEqual(errors({ launchPlan: 'nightly', inputs: { note: 'mine', scale: 2 } }), ['workflow: inputs.note: fixed by launch plan "nightly" and cannot be overridden']);
  // Even to the same value, as Flyte refuses it.
  assert.deepEqual(errors({ launchPlan: 'nightly', inputs: { note: 'nightly' } }), ['workflow: inputs.note: fixed by launch plan "nightly" and cannot be overridden']);
  const two: Record<string, LaunchPlanSpec> = { two: { workflow: { name: 'standard-scale', version: '1' }, fixedInputs: { note: 'x', scale: 1 } } };
  const r = resolveExecution({ launchPlan: 'two', inputs: { note: 'y', scale: 2, values: [] } }, { ...REFS, launchPlan: (n) => two[n] });
  assert.deepEqual(r, {
    ok: false,
    errors: ['workflow: inputs.note: fixed by launch plan "two" and cannot be overridden', 'workflow: inputs.scale: fixed by launch plan "two" and cannot be overridden'],
  });
});

test('a missing definition or launch plan fails the execution, naming it', () => {
  assert.deepEqual(errors({ definition: { name: 'standard-scale', version: '9' }, inputs: { values: [1] } }), [
    'workflow: definition: workflow definition "standard-scale" version "9" ("standard-scale.9") not found in this namespace',
  ]);
  assert.deepEqual(errors({ launchPlan: 'weekly' }), ['workflow: launchPlan: launch plan "weekly" not found in this namespace']);
  // A launch plan whose definition is gone.
  assert.deepEqual(errors({ launchPlan: 'dangling' }), [
    'launch plan "dangling": workflow: workflow definition "standard-scale" version "9" ("standard-scale.9") not found in this namespace',
  ]);
  // A fixed input set by the execution is reported before a missing definition (the execution's own mistake first).
  const fixedMissing: Record<string, LaunchPlanSpec> = { lp: { workflow: { name: 'gone', version: '1' }, fixedInputs: { a: 1 } } };
  assert.deepEqual(resolveExecution({ launchPlan: 'lp', inputs: { a: 2 } }, { ...REFS, launchPlan: (n) => fixedMissing[n] }), {
    ok: false,
    errors: ['workflow: inputs.a: fixed by launch plan "lp" and cannot be overridden'],
  });
  // Long names are cut short in the message.
  const long = 'x'.repeat(200);
  assert.deepEqual(errors({ launchPlan: long }), [`workflow: launchPlan: launch plan "${'x'.repeat(64)}…" not found in this namespace`]);
});

test('a definition reference needs a name and a version', () => {
  for (const definition of [{ name: 'standard-scale' }, { version: '1' }, 'standard-scale.1', null, { name: 1, version: 1 }]) {
    assert.deepEqual(errors({ definition }), ['workflow: definition: needs name and version'], JSON.stringify(definition));
  }
});

test('inline and by reference, or both references, are refused, listing what is set', () => {
  const MIXED = 'workflow: (spec): set nodes and tasks, or definition, or launchPlan, not';
  const def = { name: 'standard-scale', version: '1' };
  assert.deepEqual(errors({ definition: def, launchPlan: 'nightly' }), [`${MIXED} definition and launchPlan`]);
  assert.deepEqual(errors({ launchPlan: 'nightly', nodes: {} }), [`${MIXED} launchPlan and nodes`]);
  assert.deepEqual(errors({ launchPlan: 'nightly', tasks: {} }), [`${MIXED} launchPlan and tasks`]);
  assert.deepEqual(errors({ definition: def, nodes: WORKFLOW.nodes, tasks: WORKFLOW.tasks }), [`${MIXED} definition and nodes and tasks`]);
  assert.deepEqual(errors({ definition: def, launchPlan: 'nightly', nodes: {}, tasks: {} }), [`${MIXED} definition and launchPlan and nodes and tasks`]);
  // Checked before the references are looked up: a missing launch plan is not the first thing to fix.
  assert.deepEqual(errors({ launchPlan: 'weekly', nodes: {} }), [`${MIXED} launchPlan and nodes`]);
});

// ---------------------------------------------------------------------------------------------------------
// effectiveSpec

test('effectiveSpec: an inline spec, or one without a resolution, is used as it is', () => {
  const spec = { tasks: {}, nodes: {} };
  assert.equal(effectiveSpec(spec, undefined), spec);
  const r = resolved({ definition: { name: 'standard-scale', version: '1' } });
  assert.equal(effectiveSpec('junk', r), 'junk');
});

test('effectiveSpec: the definition with the resolved inputs; the references are gone', () => {
  const spec = { definition: { name: 'standard-scale', version: '1' }, inputs: { values: [9], scale: 3 } };
  const eff = effectiveSpec(spec, resolved(spec)) as Record<string, unknown>;
  assert.deepEqual(eff, { ...WORKFLOW, inputs: { values: [9], scale: 3 } });
  assert.equal('definition' in eff, false);
  const compiled = compileWorkflow(eff, { maxNodes: 10 });
  assert.ok(compiled.ok, JSON.stringify(compiled));
});

test("effectiveSpec: launch-plan settings over the definition's, the execution's own over both", () => {
  const byLp = effectiveSpec({ launchPlan: 'nightly' }, resolved({ launchPlan: 'nightly' })) as Record<string, unknown>;
  assert.equal(byLp['maxParallelism'], 3, "the launch plan's over the definition's 7");
  assert.equal(byLp['serviceAccountName'], 'scaler');
  assert.equal(byLp['overwriteCache'], true);
  assert.deepEqual(byLp['inputs'], { values: [1, 2, 3], scale: 1, note: 'nightly' });
  assert.equal('launchPlan' in byLp, false);

  const own = { launchPlan: 'nightly', maxParallelism: 0, serviceAccountName: 'mine', overwriteCache: false, timeout: '1h', signals: { g: { approved: true } }, abort: true };
  const eff = effectiveSpec(own, resolved(own)) as Record<string, unknown>;
  assert.equal(eff['maxParallelism'], 0, "the execution's own, even 0 (no limit)");
  assert.equal(eff['serviceAccountName'], 'mine');
  assert.equal(eff['overwriteCache'], false);
  assert.equal(eff['timeout'], '1h');
  assert.deepEqual(eff['signals'], { g: { approved: true } });
  assert.equal(eff['abort'], true);
});

test("effectiveSpec: the launch plan's labels and annotations go to the pods, under the definition's own pod labels", () => {
  const eff = effectiveSpec({ launchPlan: 'nightly' }, resolved({ launchPlan: 'nightly' })) as { pod: Record<string, unknown> };
  // team is set by both: the definition's pod.labels win over the launch plan's.
  assert.deepEqual(eff.pod['labels'], { team: 'definition', tier: 'batch', app: 'scale' });
  assert.deepEqual(eff.pod['annotations'], { owner: 'ana' });
  // A definition without pod options gets the launch plan's labels alone.
  const plain: Record<string, LaunchPlanSpec> = { plain: { workflow: { name: 'standard-scale', version: '2' }, labels: { team: 'analytics' } } };
  const noPod: Record<string, DefinitionSpec> = { 'standard-scale.2': { ...DEFINITIONS['standard-scale.2']!, workflow: { ...WORKFLOW, pod: undefined } as unknown as DefinitionSpec['workflow'] } };
  const refs: References = { definition: (n, v) => noPod[`${n}.${v}`], launchPlan: (n) => plain[n] };
  const r = resolveExecution({ launchPlan: 'plain' }, refs);
  assert.ok(r.ok);
  assert.deepEqual((effectiveSpec({ launchPlan: 'plain' }, r.resolved) as { pod: unknown }).pod, { labels: { team: 'analytics' }, annotations: {} });
  // Without launch-plan labels or annotations the definition's pod options stay untouched.
  const bare = effectiveSpec({ launchPlan: 'bare' }, resolved({ launchPlan: 'bare' })) as { pod: unknown };
  assert.deepEqual(bare.pod, WORKFLOW.pod);
});

test("effectiveSpec: the execution's own pod options are merged over them, the execution winning", () => {
  const spec = { launchPlan: 'nightly', pod: { labels: { tier: 'urgent', run: 'r1' }, annotations: { owner: 'bo' }, priorityClassName: 'high' } };
  const eff = effectiveSpec(spec, resolved(spec)) as { pod: Record<string, unknown> };
  assert.deepEqual(eff.pod, {
    labels: { team: 'definition', tier: 'urgent', app: 'scale', run: 'r1' },
    annotations: { owner: 'bo' },
    priorityClassName: 'high',
  });
  // By definition alone: the definition's pod options stay, the execution's are added over them.
  const byDef = { definition: { name: 'standard-scale', version: '1' }, pod: { labels: { run: 'r2' } } };
  assert.deepEqual((effectiveSpec(byDef, resolved(byDef)) as { pod: unknown }).pod, { labels: { team: 'definition', app: 'scale', run: 'r2' }, annotations: {} });
});

test('effectiveSpec: the launch-plan labels reach the task pods through plan', () => {
  const spec = { launchPlan: 'nightly' };
  const r = resolved(spec);
  const result = plan({ workflow: { name: 'run', namespace: 'ns', uid: 'u', spec: effectiveSpec(spec, r), status: { resolved: r! } }, pods: [], now: T0, config: CONFIG, plugins: PLUGINS });
  const pods = result.actions.filter((a) => a.type === 'CreatePod');
  assert.equal(pods.length, 1);
  const pod = pods[0]!.type === 'CreatePod' ? pods[0]!.pod : undefined;
  assert.equal(pod?.metadata.labels?.['tier'], 'batch');
  assert.equal(pod?.metadata.labels?.['team'], 'definition');
  assert.equal(pod?.metadata.annotations?.['owner'], 'ana');
  assert.equal(pod?.spec.serviceAccountName, 'scaler');
  const env = Object.fromEntries((pod?.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  assert.deepEqual(JSON.parse(env['FLYTE_INPUTS'] ?? '{}'), { values: [1, 2, 3], scale: 1 });
});

// ---------------------------------------------------------------------------------------------------------
// launchPlanNames

test('launchPlanNames: every launch plan a node runs, at any depth, each once', () => {
  const lp = (name: string) => ({ launchPlan: name });
  const spec = {
    nodes: {
      a: lp('top'),
      b: { task: 't' },
      c: { branch: { cases: [{ when: 'x < 1', then: lp('case') }, { when: 'x < 2', then: { branch: { cases: [{ when: 'x < 3', then: lp('nested-case') }], else: lp('nested-else') } } }], else: lp('else') } },
      d: lp('top'),
    },
    onFailure: lp('on-failure'),
    subworkflows: {
      s: { nodes: { x: lp('sub'), y: { branch: { cases: [{ when: 'x < 1', then: lp('sub-case') }], fail: 'no' } } }, onFailure: lp('sub-on-failure') },
      t: { nodes: { z: { task: 't' } } },
    },
  };
  assert.deepEqual(launchPlanNames(spec).sort(), ['case', 'else', 'nested-case', 'nested-else', 'on-failure', 'sub', 'sub-case', 'sub-on-failure', 'top']);
});

test('launchPlanNames: none in a spec without launch-plan nodes, or in junk', () => {
  assert.deepEqual(launchPlanNames(WORKFLOW), []);
  for (const junk of [undefined, null, 'x', 3, [], { nodes: 'x' }, { nodes: { a: null, b: 'x', c: { launchPlan: 5 } } }, { subworkflows: { s: null, t: 'x' } }, { nodes: { a: { branch: { cases: 'x', else: null } } } }]) {
    assert.deepEqual(launchPlanNames(junk), [], JSON.stringify(junk));
  }
});

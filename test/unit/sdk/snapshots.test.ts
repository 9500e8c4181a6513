// What the SDK makes of each TypeScript example, pinned as YAML: an execution (FlyteWorkflow) of every
// workflow and the resources `propeller register` would apply (WorkflowDefinitions and LaunchPlans), all
// with PLACEHOLDER_CODE so that editing a task's body does not change them. A change to the compiled shape
// shows up as a diff of test/snapshots/sdk/<example>.yaml; when it is intended, rewrite the files with
//   UPDATE_SNAPSHOTS=1 node --test test/unit/sdk/snapshots.test.ts
// Every resource is also checked by the operator's own schemas and compiler, as the API server and the
// operator would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { DefinitionSpec } from '../../../src/api/definition.ts';
import { API_VERSION, KIND, WorkflowSpec } from '../../../src/api/flyteworkflow.ts';
import { LaunchPlanSpec } from '../../../src/api/launch-plan.ts';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { checkLaunchPlan } from '../../../src/core/launch-plan.ts';
import { loadModule } from '../../../sdk/src/bundle/bundle.ts';
import { execution, PLACEHOLDER_CODE, registration, type Resource } from '../../../sdk/src/compile/index.ts';
import type { LaunchPlanDefinition } from '../../../sdk/src/launch-plan.ts';
import type { WorkflowDefinition } from '../../../sdk/src/workflow.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SNAPSHOTS = join(ROOT, 'test', 'snapshots', 'sdk');
const UPDATE = process.env['UPDATE_SNAPSHOTS'] === '1';
const LIMITS = { maxNodes: 10_000, maxDepth: 10 };

/** The inputs of each workflow's execution in the snapshot, by example; every exported workflow needs an entry. */
const EXAMPLES: Record<string, Record<string, Record<string, unknown>>> = {
  workflow: {
    data_pipeline: { raw_data: '1.5,2,3.25' },
    documented_wf: {},
    simple_wf: { x: [-3, 0, 3], y: [7, 4, -2] },
    simple_wf_with_partial: { x: [-3, 0, 3] },
  },
  'standard-scale': {
    standard_scale_workflow: { values: [1, 2, 3, 4, 5] },
  },
};

interface Compiled {
  executions: Resource[];
  registered: Resource[];
}

async function compileExample(example: string): Promise<Compiled> {
  const { definitions } = await loadModule(join(ROOT, 'examples', `${example}.ts`));
  const byKind = (kind: string) =>
    [...definitions.values()].filter((d) => d.kind === kind).sort((a, b) => a.resolvedName().localeCompare(b.resolvedName()));
  const workflows = byKind('workflow') as WorkflowDefinition[];
  const launchPlans = byKind('launchPlan') as LaunchPlanDefinition[];
  const inputs = EXAMPLES[example]!;
  assert.deepEqual(
    workflows.map((w) => w.resolvedName()),
    Object.keys(inputs).sort(),
    `examples/${example}.ts exports these workflows: give each inputs in EXAMPLES of ${relative(ROOT, fileURLToPath(import.meta.url))}`,
  );
  return {
    executions: workflows.map((wf) => execution(wf, PLACEHOLDER_CODE, { name: 'snapshot', namespace: 'ns', inputs: inputs[wf.resolvedName()]! })),
    registered: registration(workflows, launchPlans, 'v1', PLACEHOLDER_CODE, 'ns'),
  };
}

function yamlOf({ executions, registered }: Compiled, example: string): string {
  const header = `# The resources the SDK compiles examples/${example}.ts to (test/unit/sdk/snapshots.test.ts).\n# Rewrite with UPDATE_SNAPSHOTS=1 node --test test/unit/sdk/snapshots.test.ts\n`;
  return header + [...executions, ...registered].map((r) => stringify(r, { lineWidth: 0 })).join('---\n');
}

/** Compares with the committed snapshot, or writes it under UPDATE_SNAPSHOTS=1. */
function matchSnapshot(actual: string, file: string): void {
  const path = join(SNAPSHOTS, file);
  const shown = relative(ROOT, path);
  const command = 'UPDATE_SNAPSHOTS=1 node --test test/unit/sdk/snapshots.test.ts';
  const how = `if the change is intended, rewrite the snapshots with ${command} and commit them`;
  if (UPDATE) {
    mkdirSync(SNAPSHOTS, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) assert.fail(`${shown} does not exist; write it with ${command} and commit it`);
  const expected = readFileSync(path, 'utf8');
  if (actual === expected) return;
  // The assertion's own message is a line diff (+ actual, - expected); put the way out above it.
  try {
    assert.deepEqual(actual.split('\n'), expected.split('\n'));
  } catch (err) {
    if (!(err instanceof assert.AssertionError)) throw err;
    throw new assert.AssertionError({ message: `${shown} differs from what the SDK compiles now (+ now, - snapshot); ${how}\n${err.message}` });
  }
}

/** Each FlyteWorkflow passes the CRD's schema and the operator's compiler, with its inputs. */
function checkExecution(r: Resource): void {
  assert.equal(r.apiVersion, API_VERSION);
  assert.equal(r.kind, KIND);
  const parsed = WorkflowSpec.safeParse(r['spec']);
  assert.ok(parsed.success, `the schema rejects ${r.metadata.name}: ${parsed.error?.message}`);
  const compiled = compileWorkflow(r['spec'], LIMITS);
  assert.ok(compiled.ok, `the operator rejects the execution: ${compiled.ok ? '' : compiled.errors.join('; ')}`);
}

/** Definitions pass their schema and compile; launch plans pass theirs and can launch the definition they name. */
function checkRegistration(resources: Resource[]): void {
  const definitions = new Map<string, DefinitionSpec>();
  for (const r of resources.filter((r) => r.kind === 'WorkflowDefinition')) {
    const parsed = DefinitionSpec.safeParse(r['spec']);
    assert.ok(parsed.success, `the schema rejects WorkflowDefinition ${r.metadata.name}: ${parsed.error?.message}`);
    assert.equal(r.metadata.name, `${parsed.data.name}.${parsed.data.version}`);
    const compiled = compileWorkflow(parsed.data.workflow, { ...LIMITS, inputs: 'none' });
    assert.ok(compiled.ok, `the operator rejects WorkflowDefinition ${r.metadata.name}: ${compiled.ok ? '' : compiled.errors.join('; ')}`);
    definitions.set(parsed.data.name, parsed.data);
  }
  const launchPlans = resources.filter((r) => r.kind === 'LaunchPlan');
  assert.equal(launchPlans.length, resources.length - definitions.size, 'registration makes WorkflowDefinitions and LaunchPlans only');
  for (const r of launchPlans) {
    const parsed = LaunchPlanSpec.safeParse(r['spec']);
    assert.ok(parsed.success, `the schema rejects LaunchPlan ${r.metadata.name}: ${parsed.error?.message}`);
    const def = definitions.get(parsed.data.workflow.name);
    assert.ok(def, `LaunchPlan ${r.metadata.name} names workflow ${parsed.data.workflow.name}, which registration did not define`);
    assert.deepEqual(checkLaunchPlan(parsed.data, def, LIMITS), { valid: true }, `LaunchPlan ${r.metadata.name} cannot launch`);
  }
  // Every workflow has a launch plan: its own default one, or one of the same name standing in for it.
  for (const name of definitions.keys()) assert.ok(launchPlans.some((lp) => (lp['spec'] as LaunchPlanSpec).workflow.name === name), `no LaunchPlan runs ${name}`);
}

for (const example of Object.keys(EXAMPLES)) {
  test(`examples/${example}.ts compiles to the resources in test/snapshots/sdk/${example}.yaml`, async () => {
    const compiled = await compileExample(example);
    for (const r of compiled.executions) checkExecution(r);
    checkRegistration(compiled.registered);
    matchSnapshot(yamlOf(compiled, example), `${example}.yaml`);
  });
}

test('compiling does not depend on the code: another bundle hash changes only versions and the ConfigMap name', async () => {
  const { definitions } = await loadModule(join(ROOT, 'examples', 'workflow.ts'));
  const wf = definitions.get('workflow:simple_wf') as WorkflowDefinition;
  const code = { configMap: 'propeller-code-abcdefabcdef', hash: 'abcdef'.repeat(10) + 'abcd' };
  const placeholder = JSON.stringify(execution(wf, PLACEHOLDER_CODE, { name: 'snapshot' }));
  const real = JSON.stringify(execution(wf, code, { name: 'snapshot' }));
  assert.equal(real.replaceAll(code.configMap, PLACEHOLDER_CODE.configMap).replaceAll(code.hash.slice(0, 12), PLACEHOLDER_CODE.hash.slice(0, 12)), placeholder);
});

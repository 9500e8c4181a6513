// The propeller CLI as a user runs it (node sdk/bin/propeller.ts …, as npx propeller does), without a
// cluster: local runs of the examples, generated input flags and their errors, gates decided by flags,
// exit codes, help, compile, bundle, and register's refusal of a dirty work tree.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'sdk', 'bin', 'propeller.ts');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from the repository root, no TTY, no kubeconfig. */
function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, KUBECONFIG: '/nonexistent', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A module in a scratch directory that resolves @propeller/sdk from this repository. */
function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'propeller-cli-'));
  dirs.push(dir);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const FAILING = `import { t, task, workflow } from '@propeller/sdk';
export const boom = task({ inputs: { x: t.int }, output: t.int }, ({ x }) => { if (x > 1) throw new Error('x is too big: ' + x); return x; });
export const fails = workflow({ inputs: { x: t.int }, output: t.int }, ({ x }) => boom({ x }));
`;

describe('propeller run, locally', { concurrency: true }, () => {
  test('simple_wf of examples/workflow.ts prints 3 (its single output, bare)', async () => {
    const r = await cli(['run', 'examples/workflow.ts', 'simple_wf', '--x', '[-3,0,3]', '--y', '[7,4,-2]']);
    assert.deepEqual(r, { code: 0, stdout: '3\n', stderr: '' });
  });

  test('named outputs print as name: value lines, or as JSON with -o json; gates are decided by flags', async () => {
    const lines = await cli(['run', 'examples/control-flow.ts', 'pipeline', '--n', '5', '--approve', 'review']);
    assert.equal(lines.code, 0, lines.stderr);
    assert.equal(lines.stdout, 'plan: "one worker for 50 rows"\nscore: 0.99\n');
    const json = await cli(['run', 'examples/control-flow.ts', 'pipeline', '--approve', 'review', '-o', 'json']);
    assert.deepEqual(JSON.parse(json.stdout), { plan: 'one worker for 50 rows', score: 0.99 });
  });

  test('a gate nobody decides ends the run (exit 1) saying which flag decides it; a rejection fails it', async () => {
    const waiting = await cli(['run', 'examples/control-flow.ts', 'pipeline']);
    assert.equal(waiting.code, 1);
    assert.match(waiting.stderr, /^ {2}review: waiting for approval \(check the better score before it is published\)/m);
    assert.match(waiting.stderr, /--approve /);
    const rejected = await cli(['run', 'examples/control-flow.ts', 'pipeline', '--reject', 'review=not good enough']);
    assert.equal(rejected.code, 1);
    assert.match(rejected.stderr, /^pipeline Failed: GateRejected: .*not good enough/m);
    const wrong = await cli(['run', 'examples/control-flow.ts', 'pipeline', '--approve', 'size']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /node "size" of workflow pipeline is not an approve gate \(its approve gates: review\)/);
  });

  test('a launch plan runs with its default inputs', async () => {
    const r = await cli(['run', 'examples/standard-scale.ts', 'nightly_scale_lp']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [-0.6324555320336759, -0.31622776601683794, 0, 0.31622776601683794, 0.6324555320336759]);
  });

  test('str inputs are taken as typed', async () => {
    const r = await cli(['run', 'examples/workflow.ts', 'data_pipeline', '--raw-data', '1,2,3.5']);
    assert.deepEqual(r, { code: 0, stdout: '6.5\n', stderr: '' });
  });

  test('a failing task fails the run: exit 1 and the error', async () => {
    const dir = scratch({ 'fails.ts': FAILING });
    const ok = await cli(['run', join(dir, 'fails.ts'), 'fails', '--x', '1']);
    assert.deepEqual(ok, { code: 0, stdout: '1\n', stderr: '' });
    const r = await cli(['run', join(dir, 'fails.ts'), 'fails', '--x', '5']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^fails Failed: .*x is too big: 5/m);
  });
});

describe('usage errors exit 2 and name the flag', { concurrency: true }, () => {
  test('bad JSON for an input', async () => {
    const r = await cli(['run', 'examples/workflow.ts', 'simple_wf', '--x', '[-3,0,3', '--y', '[7,4,-2]']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: --x: "\[-3,0,3" is not JSON .*; a list\[int\] is written as JSON, e\.g\. --x '\[3,3\]'\nRun 'propeller run examples\/workflow\.ts simple_wf --help' for usage\.\n$/);
  });

  test('a value of the wrong type, a missing input, an unknown flag, an unknown workflow', async () => {
    const typed = await cli(['run', 'examples/workflow.ts', 'simple_wf', '--x', '[1,2.5]', '--y', '[1,2]']);
    assert.equal(typed.code, 2);
    assert.match(typed.stderr, /^error: --x: at \[1\]: expected int, got float 2\.5$/m);
    const missing = await cli(['run', 'examples/workflow.ts', 'simple_wf', '--x', '[1]']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: missing --y \(list\[int\]\): this input has no default$/m);
    const unknown = await cli(['run', 'examples/workflow.ts', 'simple_wf', '--x', '[1]', '--y', '[1]', '--z', '1']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown flag --z$/m);
    const nope = await cli(['run', 'examples/workflow.ts', 'slope']);
    assert.equal(nope.code, 2);
    assert.match(nope.stderr, /has no workflow or launch plan "slope" \("slope" is a task: call it from a workflow\); it has data_pipeline, documented_wf, simple_wf, simple_wf_with_partial/);
  });

  test('cluster flags without --remote, an unknown command, no command', async () => {
    const r = await cli(['run', 'examples/workflow.ts', 'documented_wf', '--no-wait']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--no-wait applies to remote runs: add --remote/);
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.equal((await cli([])).code, 2);
  });

  test('a workflow file that does not compile: exit 2 with the compiler\'s message', async () => {
    const dir = scratch({ 'bad.ts': `import { t, task, workflow } from '@propeller/sdk';\nexport const f = task({ inputs: { x: t.int }, output: t.int }, ({ x }) => x);\nexport const w = workflow({ inputs: { s: t.str }, output: t.int }, ({ s }) => f({ x: s }));\n` });
    const r = await cli(['run', join(dir, 'bad.ts'), 'w', '--s', 'a']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /input "x": expected int, got str from inputs\.s/);
  });
});

describe('help', { concurrency: true }, () => {
  test('after the workflow: its description, inputs with types and defaults, outputs', async () => {
    const r = await cli(['run', 'examples/workflow.ts', 'documented_wf', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: propeller run examples\/workflow\.ts documented_wf \[flags\]$/m);
    assert.match(r.stdout, /^ {2}Slope and intercept of a regression line\.$/m);
    assert.match(r.stdout, /^Inputs:\n {2}--x {2}list\[int\] {2}default: \[-3,0,3\]\n {2}--y {2}list\[int\] {2}default: \[7,4,-2\]$/m);
    assert.match(r.stdout, /^Outputs:\n {2}o0 {2}float$/m);
    const lp = await cli(['run', 'examples/standard-scale.ts', 'nightly_scale_lp', '-h']);
    assert.match(lp.stdout, /launch plan nightly_scale_lp \(workflow standard_scale_workflow\)/);
    assert.match(lp.stdout, /--values {2}list\[float\] {2}default: \[1,2,3,4,5\]/);
  });

  test('propeller --help lists every command with an example; each command has its own', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['run', 'compile', 'register', 'launch', 'get', 'list', 'watch', 'abort', 'approve', 'reject', 'signal', 'logs', 'bundle']) {
      assert.match(r.stdout, new RegExp(`^ {2}${c} +\\S`, 'm'), `${c} is listed`);
      const own = await cli([c, '--help']);
      assert.equal(own.code, 0, `${c} --help`);
      assert.match(own.stdout, new RegExp(`^Usage: propeller ${c}`), `${c} --help has a usage line`);
      assert.match(own.stdout, /^Examples:\n {2}propeller /m, `${c} --help has examples`);
    }
  });
});

describe('compile, bundle, register', { concurrency: true }, () => {
  test('compile: definitions and launch plans as multi-document YAML; --execution a FlyteWorkflow with the inputs; --with-code the ConfigMap', async () => {
    const r = await cli(['compile', 'examples/standard-scale.ts', '--version', 'v1']);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { workflow?: { version?: string } } });
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['WorkflowDefinition/standard-scale-workflow.v1', 'LaunchPlan/standard-scale-workflow', 'LaunchPlan/nightly-scale-lp']);
    const ex = await cli(['compile', 'examples/workflow.ts', 'simple_wf', '--execution', '--x', '[1,2]', '--y', '[3,4]', '--with-code', '-n', 'team']);
    assert.equal(ex.code, 0, ex.stderr);
    const [cm, fwf] = parseAllDocuments(ex.stdout).map((d) => d.toJS() as { kind: string; metadata: Record<string, unknown>; spec: { inputs: unknown; tasks: Record<string, { code?: { configMap: string } }> }; data?: Record<string, string> });
    assert.equal(cm!.kind, 'ConfigMap');
    assert.equal(fwf!.kind, 'FlyteWorkflow');
    assert.equal(fwf!.metadata['namespace'], 'team');
    assert.equal(fwf!.metadata['generateName'], 'simple-wf-');
    assert.deepEqual(fwf!.spec.inputs, { x: [1, 2], y: [3, 4] });
    assert.equal(fwf!.spec.tasks['slope']!.code!.configMap, cm!.metadata['name']);
    assert.ok(cm!.data!['bundle.mjs']!.length > 1000);
  });

  test('bundle -o writes the module a task pod runs', async () => {
    const dir = scratch({});
    const out = join(dir, 'dist', 'bundle.mjs');
    const r = await cli(['bundle', 'examples/workflow.ts', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(out));
    const outputs = join(dir, 'outputs.json');
    execFileSync(process.execPath, [out, '--task', 'slope'], { env: { ...process.env, FLYTE_INPUTS: JSON.stringify({ x: [-3, 0, 3], y: [7, 4, -2] }), FLYTE_OUTPUTS_FILE: outputs } });
    assert.deepEqual(JSON.parse(readFileSync(outputs, 'utf8')), { o0: -1.5 });
  });

  test('register refuses a dirty work tree without --version, before it needs a cluster', async () => {
    const dir = scratch({ 'flow.ts': FAILING, '.gitignore': 'node_modules\n' });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
    git('init', '-q');
    const none = await cli(['register', join(dir, 'flow.ts')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no version: the git repository at .* has no commit yet\. Commit \(the version is then the git SHA\) or give --version/);
    git('add', '.');
    git('commit', '-qm', 'flow');
    writeFileSync(join(dir, 'flow.ts'), `${FAILING}// changed\n`);
    const dirty = await cli(['register', join(dir, 'flow.ts')]);
    assert.equal(dirty.code, 2);
    assert.match(dirty.stderr, /no version: the git work tree at .* has uncommitted changes \(1 path, e\.g\. flow\.ts\): its SHA [0-9a-f]{12} does not hold this code\. Commit \(the version is then the git SHA\) or give --version/);
    const bad = await cli(['register', join(dir, 'flow.ts'), '--version', 'V_1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--version "V_1" is not a version/);
    // With a version it goes on, to the cluster, which is not there: exit 3.
    const noCluster = await cli(['register', join(dir, 'flow.ts'), '--version', 'v1']);
    assert.equal(noCluster.code, 3, noCluster.stderr);
    assert.match(noCluster.stderr, /^error: cannot load the kubeconfig/m);
  });
});

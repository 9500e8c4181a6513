// The propeller CLI against the real control plane, as a user runs it (node sdk/bin/propeller.ts, what
// npx propeller runs): run --remote ships the bundle as a ConfigMap and watches the execution the propeller
// runs as pods of the process node; get, list, watch, abort, approve, reject, signal and logs act on
// executions; register is idempotent and refuses a dirty tree; launch starts a registered launch plan. One
// test runs the live watch in a real terminal (tmux) and reads the screen.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { definitionPath, launchPlanPath, workflowPath } from '../../src/k8s/paths.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { usePropellerEnv, type Env } from './helpers/e2e.ts';
import { kubeconfigWithToken, serviceAccountToken } from './helpers/restricted.ts';

const CLI = join(repoRoot, 'sdk', 'bin', 'propeller.ts');
const CLI_TIMEOUT_MS = 120_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI (no TTY) against the test cluster. */
function cli(env: Env, args: string[], options: { cwd?: string; kubeconfig?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, KUBECONFIG: options.kubeconfig ?? env.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), CLI_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const explain = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A directory with modules that import @propeller/sdk from this repository. */
function scratch(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'propeller-cli-it-'));
  dirs.push(dir);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const MODULE = `import { sleep, t, task, waitForInput, workflow } from '@propeller/sdk';
export const boom = task({ inputs: { x: t.int }, output: t.int }, ({ x }) => { if (x > 1) throw new Error('x is too big: ' + x); return x; });
export const fails = workflow({ inputs: { x: t.int }, output: t.int }, ({ x }) => boom({ x }));
export const double = task({ inputs: { n: t.int }, output: t.int }, ({ n }) => n * 2);
export const echo = task({ inputs: { s: t.optional(t.str) }, output: t.str }, ({ s }) => s ?? 'none');
export const gated = workflow({ outputs: { doubled: t.int, note: t.str } }, () => {
  const level = waitForInput('level', t.int);
  const note = waitForInput('note', t.optional(t.str));
  return { doubled: double({ n: level }), note: echo({ s: note }) };
});
export const slow = workflow({ output: t.int }, () => double({ n: 1 }, { after: [sleep('1h')] }));
`;

/** A workflow whose nodes start a launch plan of the same module: run --remote registers it first. */
const NESTED = `import { launchPlan, t, task, workflow } from '@propeller/sdk';
export const square = task({ inputs: { n: t.int }, output: t.int }, ({ n }) => n * n);
export const inner = workflow({ inputs: { n: t.int }, output: t.int }, ({ n }) => square({ n }));
export const inner_lp = launchPlan({ workflow: inner, defaultInputs: { n: 3 } });
export const outer = workflow({ inputs: { m: t.int }, outputs: { a: t.int, b: t.int } }, ({ m }) => ({ a: inner_lp({ n: m }), b: inner_lp({}, { name: 'by_default' }) }));
`;

async function getWf(env: Env, name: string): Promise<FlyteWorkflow> {
  return env.client.request<FlyteWorkflow>('GET', workflowPath(env.ns, name));
}

async function until(env: Env, name: string, what: string, check: (wf: FlyteWorkflow) => boolean, timeoutMs = 60_000): Promise<FlyteWorkflow> {
  const deadline = Date.now() + timeoutMs;
  let wf = await getWf(env, name);
  while (!check(wf)) {
    if (Date.now() > deadline) assert.fail(`${name}: no ${what} within ${timeoutMs}ms; status: ${JSON.stringify(wf.status)}`);
    await sleep(200);
    wf = await getWf(env, name);
  }
  return wf;
}

const SIMPLE = ['examples/workflow.ts', 'simple_wf', '--x', '[-3,0,3]', '--y', '[7,4,-2]'];

describe('the propeller CLI on the cluster', { concurrency: true }, () => {
  const env = usePropellerEnv('sdk-cli');
  const ns = () => ['-n', env().ns];
  let dir = '';
  const module = () => (dir ||= scratch({ 'flows.ts': MODULE }));

  test('run --remote ships the code, watches the execution (one line per node change) and prints 3', { timeout: 150_000 }, async () => {
    const r = await cli(env(), ['run', '--remote', ...ns(), ...SIMPLE]);
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout, '3\n');
    const name = /^execution (simple-wf-[a-z0-9]+) in namespace /m.exec(r.stderr)?.[1];
    assert.ok(name, explain(r));
    // One line per change seen (a watch may merge quick changes): at least each node's end, in order, then the execution's.
    const lines = r.stderr.split('\n');
    const index = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const ends = [/^slope +Succeeded +attempt 1 +\S+$/, /^intercept +Succeeded +attempt 1 +\S+$/, new RegExp(`^${name} +Succeeded +2/2 +\\S+ +all 2 nodes succeeded$`)].map(index);
    assert.ok(ends.every((i, k) => i > 0 && (k === 0 || i > ends[k - 1]!)), explain(r));
    assert.equal(lines.filter((l) => /^slope +Succeeded/.test(l)).length, 1, 'a change is printed once');
    const wf = await getWf(env(), name);
    assert.equal(wf.metadata.labels?.['propeller.dev/workflow'], 'simple_wf');
    const tasks = (wf.spec as { tasks: Record<string, { code?: { configMap: string } }> }).tasks;
    const cm = await env().client.request<{ immutable?: boolean }>('GET', `/api/v1/namespaces/${env().ns}/configmaps/${tasks['slope']!.code!.configMap}`);
    assert.equal(cm.immutable, true);

    // get: phase, progress, times, outputs and the node table
    const got = await cli(env(), ['get', ...ns(), name]);
    assert.equal(got.code, 0, explain(got));
    assert.match(got.stdout, /^Phase: +Succeeded$/m);
    assert.match(got.stdout, /^Progress: +2\/2$/m);
    assert.match(got.stdout, /^Outputs:\n {2}o0: 3$/m);
    assert.match(got.stdout, /^NODE +PHASE +ATTEMPTS +DURATION +MESSAGE\nslope +Succeeded +1 +\S+\nintercept +Succeeded +1 +\S+/m);
    assert.equal(JSON.parse((await cli(env(), ['get', ...ns(), name, '-o', 'json'])).stdout).status.outputs.o0, 3);

    // logs: the process node serves none; the message says so and where the output is
    const logs = await cli(env(), ['logs', ...ns(), name, 'slope']);
    assert.equal(logs.code, 3, explain(logs));
    assert.match(logs.stderr, /^error: pod simple-wf-[a-z0-9]+-slope-0 ran on \S+, the dev cluster's process node, which has no kubelet log API: its output is in container\.log/m);
    const noNode = await cli(env(), ['logs', ...ns(), name, 'nope']);
    assert.equal(noNode.code, 2);
    assert.match(noNode.stderr, /has no node "nope" that started \(its nodes: slope, intercept\)/);
    const attempt = await cli(env(), ['logs', ...ns(), name, 'slope', '--attempt', '2']);
    assert.equal(attempt.code, 2);
    assert.match(attempt.stderr, /--attempt 2: node slope has had 1 attempt/);
  });

  test('a failing workflow exits 1 with the error', { timeout: 150_000 }, async () => {
    const r = await cli(env(), ['run', '--remote', ...ns(), join(module(), 'flows.ts'), 'fails', '--x', '5']);
    assert.equal(r.code, 1, explain(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^fails-[a-z0-9]+ Failed: .*x is too big: 5/m, explain(r));
    assert.match(r.stderr, /^boom +Failed +attempt 1/m);
  });

  test('run --remote registers the launch plans its launch-plan nodes start, at the code\'s version', { timeout: 150_000 }, async () => {
    const dir = scratch({ 'nested.ts': NESTED });
    const r = await cli(env(), ['run', '--remote', ...ns(), join(dir, 'nested.ts'), 'outer', '--m', '4', '-o', 'json']);
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual(JSON.parse(r.stdout), { a: 16, b: 9 });
    const lp = await env().client.request<{ spec: { workflow: { name: string; version: string }; defaultInputs?: unknown } }>('GET', launchPlanPath(env().ns, 'inner-lp'));
    assert.match(lp.spec.workflow.version, /^[0-9a-f]{12}$/);
    assert.deepEqual(lp.spec.defaultInputs, { n: 3 });
    await env().client.request('GET', definitionPath(env().ns, `inner.${lp.spec.workflow.version}`));
    // Only what the nodes start: no default launch plan for inner or outer.
    for (const name of ['inner', 'outer']) {
      await assert.rejects(env().client.request('GET', launchPlanPath(env().ns, name)), /404/);
    }
  });

  test('--no-wait prints the name; watch follows it to the end; list shows it newest first', { timeout: 150_000 }, async () => {
    const started = await cli(env(), ['run', '--remote', '--no-wait', ...ns(), 'examples/workflow.ts', 'documented_wf']);
    assert.equal(started.code, 0, explain(started));
    const name = started.stdout.trim();
    assert.match(name, /^documented-wf-[a-z0-9]+$/);
    const watched = await cli(env(), ['watch', ...ns(), name]);
    assert.equal(watched.code, 0, explain(watched));
    assert.equal(watched.stdout, '3\n');
    const second = (await cli(env(), ['run', '--remote', '--no-wait', ...ns(), 'examples/workflow.ts', 'documented_wf'])).stdout.trim();
    const listed = await cli(env(), ['list', ...ns()]);
    assert.equal(listed.code, 0, explain(listed));
    const rows = listed.stdout.trim().split('\n');
    assert.match(rows[0]!, /^NAME +WORKFLOW +PHASE +PROGRESS +AGE$/);
    const names = rows.slice(1).map((l) => l.split(/ +/)[0]);
    assert.ok(names.indexOf(second) >= 0 && names.indexOf(second) < names.indexOf(name), `newest first: ${names.join(', ')}`);
    assert.match(rows.find((l) => l.startsWith(`${name} `))!, new RegExp(`^${name} +documented_wf +Succeeded +2/2 +\\d+s$`));
    const succeeded = (await cli(env(), ['list', ...ns(), '--phase', 'Succeeded', '-o', 'name'])).stdout.split('\n');
    assert.ok(succeeded.includes(name));
    const selected = await cli(env(), ['list', ...ns(), '-l', 'propeller.dev/workflow=nothing-like-this']);
    assert.equal(selected.stdout, '');
    assert.match(selected.stderr, /^No executions found in namespace /);
  });

  test('abort: the execution ends Aborted, and watch exits 1', { timeout: 150_000 }, async () => {
    const name = (await cli(env(), ['run', '--remote', '--no-wait', ...ns(), join(module(), 'flows.ts'), 'slow'])).stdout.trim();
    await until(env(), name, 'running sleep', (wf) => wf.status?.nodes?.['sleep']?.phase === 'Running');
    const impatient = await cli(env(), ['watch', ...ns(), name, '--timeout', '1s']);
    assert.equal(impatient.code, 3, explain(impatient));
    assert.match(impatient.stderr, new RegExp(`^error: timed out after 1s waiting for ${name} to finish \\(it is Running\\); it keeps running: propeller watch ${name}$`, 'm'));
    const aborted = await cli(env(), ['abort', ...ns(), name, '--wait']);
    assert.equal(aborted.code, 0, explain(aborted));
    assert.equal((await getWf(env(), name)).status?.phase, 'Aborted');
    const watched = await cli(env(), ['watch', ...ns(), name]);
    assert.equal(watched.code, 1, explain(watched));
    assert.match(watched.stderr, new RegExp(`^${name} Aborted`, 'm'));
  });

  test('approve a gate of a running execution (and reject another)', { timeout: 150_000 }, async () => {
    const [a, b] = await Promise.all(
      [0, 1].map(async () => (await cli(env(), ['run', '--remote', '--no-wait', ...ns(), 'examples/control-flow.ts', 'pipeline', '--n', '5'])).stdout.trim()),
    );
    await until(env(), a!, 'waiting review gate', (wf) => wf.status?.nodes?.['review']?.phase === 'Running', 90_000);
    const watching = cli(env(), ['watch', ...ns(), a!]);
    const wrong = await cli(env(), ['approve', ...ns(), a!, 'size']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /node "size" of pipeline-[a-z0-9]+ is not an approve gate \(its approve gates: review\)/);
    const approved = await cli(env(), ['approve', ...ns(), a!, 'review', '--reason', 'metrics ok']);
    assert.equal(approved.code, 0, explain(approved));
    const watched = await watching;
    assert.equal(watched.code, 0, explain(watched));
    assert.equal(watched.stdout, 'plan: "one worker for 50 rows"\nscore: 0.99\n');
    assert.match(watched.stderr, new RegExp(`^review +Running +waiting for approval \\(check the better score before it is published\\): propeller -n ${env().ns} approve ${a} review`, 'm'));
    const again = await cli(env(), ['approve', ...ns(), a!, 'review']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already finished \(Succeeded\): no gate waits for a decision/);

    assert.equal((await cli(env(), ['reject', ...ns(), b!, 'review'])).code, 2, '--reason is required');
    const rejected = await cli(env(), ['reject', ...ns(), b!, 'review', '--reason', 'accuracy dropped']);
    assert.equal(rejected.code, 0, explain(rejected));
    const end = await cli(env(), ['watch', ...ns(), b!]);
    assert.equal(end.code, 1, explain(end));
    assert.match(end.stderr, /GateRejected: .*accuracy dropped/);
  });

  test('signal a value, and a null (by JSON patch), to signal gates', { timeout: 150_000 }, async () => {
    const name = (await cli(env(), ['run', '--remote', '--no-wait', ...ns(), join(module(), 'flows.ts'), 'gated'])).stdout.trim();
    const bad = await cli(env(), ['signal', ...ns(), name, 'level', 'three']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: VALUE: "three" is not JSON/m);
    const typed = await cli(env(), ['signal', ...ns(), name, 'level', '2.5']);
    assert.equal(typed.code, 2);
    assert.match(typed.stderr, /^error: VALUE: expected int, got float 2\.5/m);
    assert.equal((await cli(env(), ['signal', ...ns(), name, 'level', '21'])).code, 0);
    const none = await cli(env(), ['signal', ...ns(), name, 'note', 'null']);
    assert.equal(none.code, 0, explain(none));
    const watched = await cli(env(), ['watch', ...ns(), name, '-o', 'json']);
    assert.equal(watched.code, 0, explain(watched));
    assert.deepEqual(JSON.parse(watched.stdout), { doubled: 42, note: 'none' });
    assert.deepEqual(((await getWf(env(), name)).spec as { signals?: unknown }).signals, { level: { value: 21 }, note: { value: null } });
  });

  test('--project and --domain: namespace P-D and labels; the context\'s namespace is the default; --context picks one', { timeout: 60_000 }, async () => {
    const project = `p${randomBytes(3).toString('hex')}`;
    const nsName = `${project}-dev`;
    await env().client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsName, labels: { 'propeller.dev/test-owner': String(process.pid) } } } });
    try {
      const r = await cli(env(), ['run', '--remote', '--no-wait', '--project', project, '--domain', 'dev', 'examples/workflow.ts', 'documented_wf']);
      assert.equal(r.code, 0, explain(r));
      const wf = await env().client.request<FlyteWorkflow>('GET', workflowPath(nsName, r.stdout.trim()));
      assert.equal(wf.metadata.labels?.['project'], project);
      assert.equal(wf.metadata.labels?.['domain'], 'dev');
    } finally {
      await env().client.request('DELETE', `/api/v1/namespaces/${nsName}`).catch(() => {});
    }
    // A kubeconfig whose context names the namespace: no -n needed.
    const config = parse(readFileSync(env().kubeconfig, 'utf8')) as { contexts: { name: string; context: Record<string, unknown> }[] };
    config.contexts[0]!.context['namespace'] = env().ns;
    config.contexts.push({ name: 'elsewhere', context: { ...config.contexts[0]!.context, namespace: 'kube-system' } });
    const path = join(scratch({}), 'kubeconfig');
    writeFileSync(path, stringify(config));
    const here = await cli(env(), ['run', '--remote', '--no-wait', 'examples/workflow.ts', 'documented_wf'], { kubeconfig: path });
    assert.equal(here.code, 0, explain(here));
    await getWf(env(), here.stdout.trim());
    const listed = await cli(env(), ['list', '-o', 'name'], { kubeconfig: path });
    assert.equal(listed.code, 0, explain(listed));
    assert.ok(listed.stdout.split('\n').includes(here.stdout.trim()), explain(listed));
    const other = await cli(env(), ['list', '--context', 'elsewhere'], { kubeconfig: path });
    assert.match(other.stderr, /^No executions found in namespace kube-system\.$/m);
    const missing = await cli(env(), ['list', '--context', 'nope'], { kubeconfig: path });
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no context "nope" in the kubeconfig \(it has .*elsewhere\)/);
  });

  test('register twice is idempotent; a dirty tree is refused; a changed workflow needs a new version', { timeout: 150_000 }, async () => {
    const repo = scratch({ 'flows.ts': MODULE, '.gitignore': 'node_modules\n' });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'flows');
    const sha = git('rev-parse', 'HEAD').toString().trim();
    const first = await cli(env(), ['register', ...ns(), join(repo, 'flows.ts')]);
    assert.equal(first.code, 0, explain(first));
    const code = /^configmap\/(propeller-code-[0-9a-f]{12}) created$/m.exec(first.stdout)?.[1];
    assert.ok(code, explain(first));
    assert.deepEqual(first.stdout.trim().split('\n').slice(1).sort(), [
      'launchplan/fails created',
      'launchplan/gated created',
      'launchplan/slow created',
      `workflowdefinition/fails.${sha} created`,
      `workflowdefinition/gated.${sha} created`,
      `workflowdefinition/slow.${sha} created`,
    ]);
    assert.match(first.stderr, new RegExp(`registered version ${sha} in namespace ${env().ns}`));
    const second = await cli(env(), ['register', ...ns(), join(repo, 'flows.ts')]);
    assert.equal(second.code, 0, explain(second));
    assert.equal(second.stdout, first.stdout.replace(/ created$/gm, ' unchanged'));
    const lp = await env().client.request<{ spec: { workflow: { version: string } } }>('GET', launchPlanPath(env().ns, 'gated'));
    assert.equal(lp.spec.workflow.version, sha);

    // A change that is not committed: refused, as pyflyte register refuses it.
    writeFileSync(join(repo, 'flows.ts'), MODULE.replace('n * 2', 'n * 3'));
    const dirty = await cli(env(), ['register', ...ns(), join(repo, 'flows.ts')]);
    assert.equal(dirty.code, 2, explain(dirty));
    assert.match(dirty.stderr, /uncommitted changes .*Commit \(the version is then the git SHA\) or give --version/);
    // The changed code under the old version: the definitions are immutable.
    const reused = await cli(env(), ['register', ...ns(), join(repo, 'flows.ts'), '--version', sha]);
    assert.equal(reused.code, 3, explain(reused));
    assert.match(reused.stderr, new RegExp(`workflowdefinition (fails|gated|slow)\\.${sha} exists with a different workflow: a definition version never changes\\. Register the change as a new version`));
    // A new version: new definitions, the launch plans move to it.
    const bumped = await cli(env(), ['register', ...ns(), join(repo, 'flows.ts'), '--version', 'v2']);
    assert.equal(bumped.code, 0, explain(bumped));
    assert.match(bumped.stdout, /^workflowdefinition\/gated\.v2 created$/m);
    assert.match(bumped.stdout, /^launchplan\/gated configured$/m);
    assert.equal((await env().client.request<{ spec: { workflow: { version: string } } }>('GET', launchPlanPath(env().ns, 'gated'))).spec.workflow.version, 'v2');
    await env().client.request('GET', definitionPath(env().ns, `gated.${sha}`));
  });

  test('launch the nightly launch plan of examples/standard-scale.ts: its defaults, or inputs as flags', { timeout: 150_000 }, async () => {
    const reg = await cli(env(), ['register', ...ns(), 'examples/standard-scale.ts', '--version', 'nightly-1']);
    assert.equal(reg.code, 0, explain(reg));
    assert.match(reg.stdout, /^launchplan\/nightly-scale-lp (created|configured|unchanged)$/m);
    const help = await cli(env(), ['launch', ...ns(), 'nightly_scale_lp', '--help']);
    assert.equal(help.code, 0, explain(help));
    assert.match(help.stdout, /^launch plan nightly-scale-lp: workflow standard-scale-workflow version nightly-1$/m);
    assert.match(help.stdout, /^ {2}--values {2}list\[float\] {2}default: \[1,2,3,4,5\]$/m);
    const byDefault = await cli(env(), ['launch', ...ns(), 'nightly-scale-lp']);
    assert.equal(byDefault.code, 0, explain(byDefault));
    assert.deepEqual(JSON.parse(byDefault.stdout), [1, 2, 3, 4, 5].map((x) => (x - 3) / Math.sqrt(10)));
    const given = await cli(env(), ['launch', ...ns(), 'nightly-scale-lp', '--values', '[2,4]', '-o', 'json']);
    assert.equal(given.code, 0, explain(given));
    assert.deepEqual(JSON.parse(given.stdout), { o0: [-1, 1].map((x) => x / Math.sqrt(2)) });
    const bad = await cli(env(), ['launch', ...ns(), 'nightly-scale-lp', '--values', '["a"]']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--values: at \[0\]: expected float, got str "a"/);
    const none = await cli(env(), ['launch', ...ns(), 'no-such-plan']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /launch plan no-such-plan not found in namespace /);
  });

  test('as a project submitter and a project admin, with the chart\'s roles and nothing more', { timeout: 150_000 }, async () => {
    const docs = parseAllDocuments(readFileSync(join(repoRoot, 'manifests', '20-rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: unknown[] } | null);
    const kubeconfigs: Record<string, string> = {};
    for (const role of ['submitter', 'admin']) {
      const rules = docs.find((d) => d?.kind === 'ClusterRole' && d.metadata?.name === `propeller-${role}`)?.rules;
      assert.ok(rules, `manifests/20-rbac.yaml has the ClusterRole propeller-${role}`);
      const name = `cli-${role}`;
      const base = `/api/v1/namespaces/${env().ns}`;
      const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${env().ns}`;
      await env().client.request('POST', `${base}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } });
      await env().client.request('POST', `${rbac}/roles`, { body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules } });
      await env().client.request('POST', `${rbac}/rolebindings`, {
        body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: env().ns }] },
      });
      const path = join(scratch({}), 'kubeconfig');
      writeFileSync(path, await kubeconfigWithToken(env().kubeconfig, env().client.server, await serviceAccountToken(env().client, env().ns, name)));
      kubeconfigs[role] = path;
    }
    // A submitter runs workflows (the code ConfigMap may exist already: create alone suffices) and decides gates…
    const run = await cli(env(), ['run', '--remote', ...ns(), ...SIMPLE], { kubeconfig: kubeconfigs['submitter']! });
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.stdout, '3\n');
    const name = /^execution (\S+)/m.exec(run.stderr)![1]!;
    assert.match((await cli(env(), ['get', ...ns(), name], { kubeconfig: kubeconfigs['submitter']! })).stdout, /^Phase: +Succeeded$/m);
    // …but registers nothing.
    const denied = await cli(env(), ['register', ...ns(), 'examples/standard-scale.ts', '--version', 'rbac-1'], { kubeconfig: kubeconfigs['submitter']! });
    assert.equal(denied.code, 3, explain(denied));
    assert.match(denied.stderr, /forbidden/i);
    // An admin registers, again (unchanged), a changed workflow under the same version (refused as immutable,
    // not as forbidden), and a new version (the launch plans are patched, as the role allows).
    const dir = scratch({ 'flows.ts': MODULE });
    const register = (version: string) => cli(env(), ['register', ...ns(), join(dir, 'flows.ts'), '--version', version], { kubeconfig: kubeconfigs['admin']! });
    const first = await register('rbac-1');
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, /^workflowdefinition\/gated\.rbac-1 created$/m);
    const again = await register('rbac-1');
    assert.equal(again.code, 0, explain(again));
    assert.match(again.stdout, /^workflowdefinition\/gated\.rbac-1 unchanged$/m);
    writeFileSync(join(dir, 'flows.ts'), MODULE.replace('n * 2', 'n * 4'));
    const changed = await register('rbac-1');
    assert.equal(changed.code, 3, explain(changed));
    assert.match(changed.stderr, /exists with a different workflow: a definition version never changes/);
    const bumped = await register('rbac-2');
    assert.equal(bumped.code, 0, explain(bumped));
    assert.match(bumped.stdout, /^launchplan\/gated configured$/m);
  });

  test('the live watch in a terminal: one table, redrawn in place, every node Succeeded at the end', { timeout: 150_000 }, async (t) => {
    if (spawnSync('tmux', ['-V']).status !== 0) {
      t.skip('tmux is not installed');
      return;
    }
    const work = scratch({});
    const socket = `propeller-cli-${process.pid}-${randomBytes(2).toString('hex')}`;
    const session = 'watch';
    const go = join(work, 'go');
    const raw = join(work, 'raw.log');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, CLI, 'run', '--remote', '-n', env().ns, ...SIMPLE].map(quote).join(' ');
    const script = `cd ${quote(repoRoot)}; while [ ! -e ${quote(go)} ]; do sleep 0.1; done; KUBECONFIG=${quote(env().kubeconfig)} ${command}; echo "exit=$?"; sleep 600`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', 'sh', '-c', script);
    try {
      tmux('pipe-pane', '-t', session, '-o', `cat >> ${quote(raw)}`);
      writeFileSync(go, '');
      let screen = '';
      const deadline = Date.now() + 120_000;
      while (!/^exit=\d+$/m.test(screen)) {
        assert.ok(Date.now() < deadline, `the run did not finish in the terminal:\n${screen}`);
        await sleep(250);
        screen = tmux('capture-pane', '-p', '-t', session);
      }
      const lines = screen.split('\n').map((l) => l.trimEnd());
      assert.ok(lines.includes('exit=0'), screen);
      const summary = lines.filter((l) => /^simple-wf-[a-z0-9]+ {2}/.test(l));
      assert.equal(summary.length, 1, `one frame on the screen, not several:\n${screen}`);
      assert.match(summary[0]!, /^simple-wf-[a-z0-9]+ {2}Succeeded {2}2\/2 {2}\S+$/);
      assert.equal(lines.filter((l) => l.startsWith('NODE ')).length, 1, screen);
      const at = lines.indexOf(summary[0]!);
      assert.match(lines[at + 1]!, /^NODE +PHASE +ATTEMPTS +DURATION +MESSAGE$/);
      assert.match(lines[at + 2]!, /^slope +Succeeded +1 +\S+$/);
      assert.match(lines[at + 3]!, /^intercept +Succeeded +1 +\S+$/);
      assert.equal(lines[at + 4], '3', 'the outputs follow the final frame');
      assert.match(lines[at - 1]!, /^execution simple-wf-[a-z0-9]+ in namespace /);
      // It was drawn more than once, each time over the previous frame (cursor up), never by clearing the screen.
      const bytes = existsSync(raw) ? readFileSync(raw, 'latin1') : '';
      const ups = bytes.match(/\x1b\[\d+A/g) ?? [];
      assert.ok(ups.length >= 2, `redrawn in place (${ups.length} cursor-up moves)`);
      assert.ok(!bytes.includes('\x1b[2J'), 'the screen is never cleared');
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  });
});

// The image's start-up command, without a container runtime: the Dockerfile's stages rebuilt in temp
// directories (npm run build; npm ci --omit=dev; dist/ + node_modules + package.json), then
// `node dist/main.js` run from there with the project's Node 24, unable to write to its own files
// (as uid 65532 when the test runs as root, like the image; else from a read-only copy).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { kwokTask } from './helpers/e2e.ts';
import { createNamespace } from './helpers/namespace.ts';
import { createWorkflow, waitFor, waitForPhase, workflowManifest } from './helpers/workflows.ts';

/** The image's user (Dockerfile USER, chart runAsUser). */
const IMAGE_UID = 65532;

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${output.slice(-4000)}`))));
  });
}

/** Every file under `dir` with its size and mtime, to prove nothing was written there. */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const out: string[] = [];
  for (const e of entries.sort()) {
    const s = await stat(join(dir, e));
    out.push(`${e} ${s.size} ${s.mtimeMs}`);
  }
  return out;
}

/** The test kubeconfig with its CA inlined, so a process that cannot read the cluster's directory can use it. */
async function selfContainedKubeconfig(path: string): Promise<string> {
  const kc = parse(await readFile(path, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
  for (const { cluster } of kc.clusters) {
    if (!cluster['certificate-authority']) continue;
    cluster['certificate-authority-data'] = (await readFile(cluster['certificate-authority'])).toString('base64');
    delete cluster['certificate-authority'];
  }
  return JSON.stringify(kc);
}

describe('the image start-up command', () => {
  const cluster = useTestCluster();
  let work: string;
  let app: string;

  before(
    async () => {
      work = await mkdtemp(join(tmpdir(), 'propeller-image-'));
      await chmod(work, 0o755);
      // Stage 1 (build): the sources and tsconfigs, the repository's node_modules for tsc, `npm run build`.
      const build = join(work, 'build');
      await mkdir(build);
      for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) await cp(join(repoRoot, f), join(build, f), { recursive: true });
      await symlink(join(repoRoot, 'node_modules'), join(build, 'node_modules'));
      await run('npm', ['run', 'build'], build);
      // Stage 2 (deps): production dependencies only, from the lockfile.
      app = join(work, 'app');
      await mkdir(app);
      for (const f of ['package.json', 'package-lock.json']) await cp(join(repoRoot, f), join(app, f));
      await run('npm', ['ci', '--omit=dev', '--ignore-scripts'], app);
      // Stage 3 (runtime): package.json, node_modules and dist/, nothing else.
      await rm(join(app, 'package-lock.json'));
      await cp(join(build, 'dist'), join(app, 'dist'), { recursive: true });
    },
    { timeout: 300_000 },
  );
  after(async () => {
    if (!work) return;
    await run('chmod', ['-R', 'u+w', work], tmpdir()).catch(() => {});
    await rm(work, { recursive: true, force: true });
  });

  test('holds the production dependencies and none of the dev ones', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies)) await stat(join(app, 'node_modules', dep, 'package.json'));
    for (const dev of ['typescript', 'node', 'fast-check']) {
      assert.ok(dev in pkg.devDependencies);
      await assert.rejects(stat(join(app, 'node_modules', dev)), `dev dependency ${dev} is not installed`);
    }
    assert.deepEqual((await readdir(app)).sort(), ['dist', 'node_modules', 'package.json']);
    await stat(join(app, 'dist', 'main.js'));
  });

  test('node dist/main.js becomes healthy and ready, runs a workflow, writes nothing of its own, and exits 0 on SIGTERM within 10 s', { timeout: 120_000 }, async () => {
    const { client, kubeconfigPath } = cluster();
    const ns = await createNamespace(client, 'image');
    const kubeconfig = join(work, 'kubeconfig');
    await writeFile(kubeconfig, await selfContainedKubeconfig(kubeconfigPath), { mode: 0o644 });
    // Read-only for the process: root-owned files it cannot write as uid 65532, or, when the test is not
    // root and cannot switch users, files without write permission.
    const asImageUser = process.getuid?.() === 0;
    if (!asImageUser) await run('chmod', ['-R', 'a-w', app], work);
    const before = await snapshot(app);

    let child: ChildProcess | undefined;
    let output = '';
    try {
      child = spawn(process.execPath, ['dist/main.js', '--kubeconfig', kubeconfig, '--namespaces', ns.name, '--server-port', '0'], {
        cwd: app,
        // The image's environment: no PROPELLER_* from the test's, no writable HOME.
        env: { PATH: process.env['PATH'], NODE_ENV: 'production', NODE_OPTIONS: '--enable-source-maps', HOME: '/nonexistent' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(asImageUser ? { uid: IMAGE_UID, gid: IMAGE_UID } : {}),
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.on('exit', (code, signal) => resolve({ code, signal })));
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const context = () => `\n--- output:\n${output.slice(-4000)}`;

      const port = await waitFor('the server port in the log', async () => {
        if (child!.exitCode !== null) assert.fail(`it exited ${child!.exitCode}${context()}`);
        return Number(/"port":(\d+),"msg":"serving/.exec(output)?.[1]) || undefined;
      });
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, body: await res.text() };
      };
      assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
      await waitFor('/readyz to be OK', async () => (await get('/readyz')).status === 200, 30_000).catch((err: Error) => assert.fail(err.message + context()));
      assert.match((await get('/metrics')).body, /^propeller_leader 1$/m);

      // A KWOK task: its output is the rendered message.
      const spec = { tasks: { greet: kwokTask('{"o0": "hello"}', { outputs: { o0: 'str' } }) }, nodes: { n: { task: 'greet' } }, interface: { outputs: { greeting: 'str' } }, outputs: { greeting: { from: 'n.o0' } } };
      await createWorkflow(client, ns.name, workflowManifest('hello', spec));
      const wf = await waitForPhase(client, ns.name, 'hello', ['Succeeded', 'Failed', 'Aborted'], 60_000).catch((err: Error) => assert.fail(err.message + context()));
      assert.equal(wf.status?.phase, 'Succeeded', `${JSON.stringify(wf.status)}${context()}`);
      assert.deepEqual(wf.status?.outputs, { greeting: 'hello' });

      const stopping = Date.now();
      child.kill('SIGTERM');
      const result = await Promise.race([exited, sleep(10_000).then(() => undefined)]);
      assert.ok(result, `still running 10 s after SIGTERM${context()}`);
      assert.deepEqual(result, { code: 0, signal: null }, `exit after SIGTERM${context()}`);
      assert.ok(Date.now() - stopping < 10_000);
      assert.match(output, /"msg":"stopped"/);
      assert.doesNotMatch(output, /"level":(50|60)/, `no error logged${context()}`);
      assert.deepEqual(await snapshot(app), before, `nothing under ${relative(tmpdir(), app)} changed`);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ns.remove();
    }
  });
});

// The bundle as a task pod runs it: `node bundle.mjs --task NAME` with FLYTE_INPUTS, writing the outputs
// (or, on failure, the message) to FLYTE_OUTPUTS_FILE and exiting 1 on failure. Also run from a ConfigMap
// volume's layout, where the file is a symlink into a ..data directory, as the kubelet mounts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, type Bundle } from '../../../sdk/src/bundle/bundle.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'propeller-pod-entry-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const bundles = new Map<string, Promise<Bundle>>();
/**
 * The bundle of a module, its `file` a private copy, as a pod has its own: bundle() rewrites the shared
 * file under tmpdir() each time any process bundles the same module, and other test files do.
 */
const bundleOf = (file: string) => {
  if (!bundles.has(file)) {
    bundles.set(
      file,
      bundle(join(ROOT, file)).then((b) => {
        const copy = join(work, `${b.hash}.mjs`);
        writeFileSync(copy, b.code);
        return { ...b, file: copy };
      }),
    );
  }
  return bundles.get(file)!;
};

interface PodRun {
  code: number | null;
  /** What the program wrote to FLYTE_OUTPUTS_FILE, or undefined when it wrote nothing. */
  written: string | undefined;
  stdout: string;
  stderr: string;
}

/** The outputs a run that succeeded wrote, as JSON. */
function outputsOf(run: PodRun): unknown {
  assert.equal(run.code, 0, `the task failed: ${run.stderr}`);
  assert.ok(run.written !== undefined, `the task wrote no outputs file (stdout: ${JSON.stringify(run.stdout)}, stderr: ${JSON.stringify(run.stderr)})`);
  return JSON.parse(run.written);
}

let runs = 0;
/** Runs `node [--enable-source-maps] FILE ARGS…` as the pod's command, with the pod contract's env only. */
function runPod(file: string, args: string[], inputs: unknown, env: Record<string, string> = {}): Promise<PodRun> {
  const outputsFile = join(work, `termination-log-${++runs}`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--enable-source-maps', file, ...args],
      { cwd: work, env: { PATH: process.env['PATH'] ?? '', FLYTE_INPUTS: JSON.stringify(inputs), FLYTE_OUTPUTS_FILE: outputsFile, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        let written: string | undefined;
        try {
          written = readFileSync(outputsFile, 'utf8');
        } catch {}
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, written, stdout, stderr });
      },
    );
  });
}

test('--task slope computes the slope of examples/workflow.ts and writes {"o0":-1.5}', async () => {
  const b = await bundleOf('examples/workflow.ts');
  const run = await runPod(b.file, ['--task', 'slope'], { x: [-3, 0, 3], y: [7, 4, -2] });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.written, '{"o0":-1.5}');
});

test('tasks get their inputs as JSON and may have several outputs and async functions', async () => {
  const b = await bundleOf('test/fixtures/sdk/named-by-export.ts');
  assert.deepEqual(outputsOf(await runPod(b.file, ['--task', 'stats'], { values: [1, 2.5] })), { total: 3.5, count: 2 });
  assert.deepEqual(outputsOf(await runPod(b.file, ['--task', 'divide'], { a: 3.5, b: 2 })), { o0: 1.75 });
  // An optional input left out is null.
  assert.deepEqual(outputsOf(await runPod(b.file, ['--task', 'label'], { value: 1.75 })), { o0: '1.75' });
});

test('an input of the wrong type exits 1 and leaves the message in the outputs file', async () => {
  const b = await bundleOf('examples/workflow.ts');
  const run = await runPod(b.file, ['--task', 'slope'], { x: 'a', y: [7, 4, -2] });
  assert.equal(run.code, 1);
  assert.equal(run.written, 'TypeCheckError: task "slope": input "x": expected list[int], got str "a"');
  assert.match(run.stderr, /TypeCheckError: task "slope": input "x": expected list\[int\], got str "a"/);
  const extra = await runPod(b.file, ['--task', 'slope'], { x: [1], y: [2], z: 3 });
  assert.equal(extra.code, 1);
  assert.equal(extra.written, 'TypeCheckError: task "slope": unexpected input "z"');
});

test('an unknown task exits 1 naming the tasks the bundle has', async () => {
  const b = await bundleOf('examples/workflow.ts');
  const run = await runPod(b.file, ['--task', 'nope'], {});
  assert.equal(run.code, 1);
  assert.equal(run.written, 'no task "nope" in this bundle (it has compute_sum, intercept, preprocess, slope)');
  const usage = await runPod(b.file, [], {});
  assert.equal(usage.code, 1);
  assert.equal(usage.written, 'usage: bundle.mjs --task NAME');
});

test('without FLYTE_OUTPUTS_FILE the outputs go to stdout', async () => {
  const b = await bundleOf('examples/workflow.ts');
  const run = await runPod(b.file, ['--task', 'compute_sum'], { values: [1, 2.5] }, { FLYTE_OUTPUTS_FILE: '' });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '{"o0":3.5}\n');
});

test('a bundle run from a ConfigMap volume (bundle.mjs a symlink into ..data) still runs its task', async () => {
  // The kubelet mounts a ConfigMap as KEY -> ..data/KEY, ..data -> ..TIMESTAMP/, which holds the files.
  const b = await bundleOf('examples/workflow.ts');
  const mount = join(work, 'code');
  mkdirSync(join(mount, '..2026_12_06_00_00_00.000000001'), { recursive: true });
  writeFileSync(join(mount, '..2026_12_06_00_00_00.000000001', 'bundle.mjs'), b.code);
  symlinkSync('..2026_12_06_00_00_00.000000001', join(mount, '..data'));
  symlinkSync('..data/bundle.mjs', join(mount, 'bundle.mjs'));
  const run = await runPod(join(mount, 'bundle.mjs'), ['--task', 'slope'], { x: [-3, 0, 3], y: [7, 4, -2] });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.written, '{"o0":-1.5}');
});

test('importing the bundle does not run a task: only running it as the program does', async () => {
  const b = await bundleOf('examples/workflow.ts');
  const importer = join(work, 'importer.mjs');
  writeFileSync(importer, `const m = await import(${JSON.stringify(b.file)}); console.log(Object.keys(m).sort().join(','));`);
  const run = await runPod(importer, ['--task', 'slope'], { x: [-3, 0, 3], y: [7, 4, -2] });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.written, undefined);
  assert.equal(run.stdout, 'compute_sum,data_pipeline,documented_wf,intercept,preprocess,simple_wf,simple_wf_with_partial,slope\n');
});

test('the bundle is small and carries no zod: the operator\'s schemas stay out of task pods', async () => {
  const b = await bundle(join(ROOT, 'examples/workflow.ts'));
  const size = Buffer.byteLength(b.code);
  assert.ok(size < 200 * 1024, `the bundle is ${size} bytes`);
  const map = /\/\/# sourceMappingURL=data:application\/json;base64,(.+)$/m.exec(b.code);
  assert.ok(map, 'the bundle has an inline source map');
  const sources = (JSON.parse(Buffer.from(map[1]!, 'base64').toString('utf8')) as { sources: string[] }).sources;
  assert.ok(sources.some((s) => s.endsWith('sdk/src/runtime/run-task.ts')), `sources: ${sources.join(', ')}`);
  assert.deepEqual(sources.filter((s) => /zod|node_modules/.test(s)), []);
  assert.doesNotMatch(b.code.slice(0, map.index), /\bzod\b/);
  assert.equal(b.file, join(tmpdir(), 'propeller-bundles', `${b.hash}.mjs`));
  assert.equal(readFileSync(b.file, 'utf8'), b.code);
});

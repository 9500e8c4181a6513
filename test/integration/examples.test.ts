// Every file in examples/, run as a user runs it: `npm run demo -- FILE` (here `node tools/demo/demo.ts FILE
// --kubeconfig ...` against the suite's cluster, with the demo's own propeller). Each must exit 0 and print
// outputs that this file computes on its own from the example's inputs. Gate examples get their decisions
// from a table here; one runs without them, and the test plays the user who copies the printed kubectl
// command into a second terminal. test/fixtures/demo/failure-handler.yaml, which fails by design, checks
// that the demo reports a failed workflow (and its failure handler) and exits non-zero. A file may also hold
// the WorkflowDefinitions and LaunchPlans its workflow runs by reference (nightly.yaml); the demo applies
// them first. Files in examples/ that hold no workflow to run are listed in NOT_RUN with where they are checked.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import type { Pod } from '../../src/api/pod.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { listPods } from './helpers/workflows.ts';

const DEMO = join(repoRoot, 'tools', 'demo', 'demo.ts');
const EXAMPLES = join(repoRoot, 'examples');
const DEMO_TIMEOUT_MS = 120_000;

// ─── Running the demo ────────────────────────────────────────────────────────

interface DemoRun {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the first output line matching `pattern`, or rejects if the demo exits first. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
after(async () => {
  // A test that failed half-way leaves its demo waiting: stop it (it cleans up its namespace and propeller on SIGTERM).
  for (const child of running) child.kill('SIGTERM');
  await Promise.all([...running].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
});

function startDemo(args: string[]): DemoRun {
  // No INIT_CWD: the test passes absolute paths, and the demo must not resolve them against wherever npm test ran.
  const env = { ...process.env };
  delete env['INIT_CWD'];
  delete env['npm_lifecycle_event'];
  const child = spawn(process.execPath, [DEMO, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let text = '';
  const waiters: (() => void)[] = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      running.delete(child);
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  const timer = setTimeout(() => child.kill('SIGTERM'), DEMO_TIMEOUT_MS);
  void exited.then(() => clearTimeout(timer));
  return {
    child,
    output: () => text,
    exited,
    line: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`the demo printed no line matching ${pattern} within ${timeoutMs}ms; output:\n${text}`)), timeoutMs);
        const check = () => {
          const found = text.split('\n').find((l) => pattern.test(l));
          if (found !== undefined) {
            clearTimeout(deadline);
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(deadline);
            reject(new Error(`the demo exited (${child.exitCode ?? child.signalCode}) without printing a line matching ${pattern}; output:\n${text}`));
          }
        };
        waiters.push(check);
        check();
      }),
  };
}

async function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  const run = startDemo(args);
  const code = await run.exited;
  return { code, output: run.output() };
}

/** The `name = JSON` lines the demo prints after "Workflow Succeeded: ...". */
function printedOutputs(output: string): Record<string, unknown> {
  const lines = output.split('\n');
  const start = lines.findIndex((l) => /^Workflow Succeeded: /.test(l));
  assert.ok(start >= 0, `the demo printed no "Workflow Succeeded" line:\n${output}`);
  const outputs: Record<string, unknown> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('{"level":')) continue; // a propeller log line (the demo shows its warnings)
    const m = /^([A-Za-z_][\w]*) = (.*)$/.exec(line);
    if (!m) break;
    outputs[m[1]!] = JSON.parse(m[2]!);
  }
  return outputs;
}

/** The progress lines printed for a node path ("  1.2s  decide/case-1/else   Succeeded ..."), in order. */
function nodeLines(output: string, path: string): string[] {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return output.split('\n').filter((l) => new RegExp(`^\\s*\\d+\\.\\ds\\s+${escaped}\\s`).test(l));
}

/** Splits a command line printed for a POSIX shell into argv: plain words, '...' and "..." quoting, backslash escapes. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      assert.ok(end > i, `unterminated ' in ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < line.length && line[j] !== '"'; j++) s += line[j] === '\\' && /["\\$`]/.test(line[j + 1] ?? '') ? line[++j] : line[j];
      assert.ok(j < line.length, `unterminated " in ${line}`);
      word = (word ?? '') + s;
      i = j;
    } else if (c === '\\') {
      word = (word ?? '') + (line[++i] ?? '');
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

// ─── Expected outputs, computed here from each example's own inputs ──────────

type Spec = { inputs: Record<string, unknown> };
type Doc = { kind: string; metadata: { name: string }; spec: Spec & Record<string, unknown> };
/** Every document of a file: the FlyteWorkflow and what it runs by reference. */
const documentsOf = (file: string) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc);
const manifestOf = (file: string) => documentsOf(file).find((d) => d.kind === 'FlyteWorkflow')!;
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;
const sampleSd = (xs: number[]) => Math.sqrt(sum(xs.map((x) => (x - mean(xs)) ** 2)) / (xs.length - 1));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function assertClose(actual: unknown, expected: number, what: string, tolerance = 1e-9): void {
  assert.equal(typeof actual, 'number', `${what}: expected a number, got ${JSON.stringify(actual)}`);
  assert.ok(Math.abs((actual as number) - expected) <= tolerance, `${what}: expected ${expected} (±${tolerance}), got ${actual}`);
}

/** The number of primes below n, by a sieve of Eratosthenes. */
function primesBelow(n: number): number {
  const composite = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) composite[j] = 1;
  }
  return count;
}

interface Example {
  /** Extra demo flags: the gates' decisions. */
  args: string[];
  /** Lines the demo prints because of those flags. */
  printed?: RegExp[];
  /** Checks the printed outputs (and progress lines) against values computed here; `docs` are all of the file's documents. */
  check(outputs: Record<string, unknown>, output: string, spec: Spec & Record<string, unknown>, docs: Doc[]): void;
}

/** Files of examples/ that are not workflows to run with the demo, and where each is checked instead. */
const NOT_RUN: Record<string, string> = {
  'project.yaml': 'a cluster-scoped Project (it creates namespaces): applied by test/integration/projects.test.ts',
};

const EXPECTED: Record<string, Example> = {
  'regression.yaml': {
    args: [],
    check(out, _output, spec) {
      const x = spec.inputs['x'] as number[];
      const y = spec.inputs['y'] as number[];
      const n = x.length;
      const slope = (n * sum(x.map((xi, i) => xi * y[i]!)) - sum(x) * sum(y)) / (n * sum(x.map((xi) => xi * xi)) - sum(x) ** 2);
      assertClose(out['slope'], slope, 'slope');
      assertClose(out['intercept'], mean(y) - slope * mean(x), 'intercept');
    },
  },

  'branch.yaml': {
    args: [],
    check(out, output, spec) {
      const t = spec.inputs['temperatures'] as number[];
      const m = mean(t);
      const spread = Math.max(...t) - Math.min(...t);
      // The example's decision, re-made here: which arm runs and what it says.
      let taken: string;
      let verdict: string;
      if (m < 10) [taken, verdict] = ['decide/case-0', 'cold'];
      else if (m < 25) [taken, verdict] = spread > 20 ? ['decide/case-1/case-0', 'changeable'] : ['decide/case-1/else', 'mild'];
      else [taken, verdict] = ['decide/else', 'hot'];
      assertClose(out['mean'], m, 'mean');
      assert.equal(out['spread'], spread);
      assert.equal(out['advice'], `${verdict}: mean ${m.toFixed(1)} C, spread ${spread} C`);
      const arms = ['decide/case-0', 'decide/case-1', 'decide/case-1/case-0', 'decide/case-1/else', 'decide/else'];
      for (const arm of arms) {
        const ran = taken === arm || taken.startsWith(`${arm}/`);
        const last = nodeLines(output, arm).at(-1) ?? '';
        assert.match(last, ran ? /\sSucceeded\s/ : /\sSkipped \(not taken: /, `arm ${arm} (taken: ${taken}):\n${output}`);
      }
    },
  },

  'subworkflow.yaml': {
    args: [],
    check(out, output, spec) {
      const a = spec.inputs['control'] as number[];
      const b = spec.inputs['treatment'] as number[];
      const uplift = mean(b) - mean(a);
      const d = uplift / Math.sqrt((sampleSd(a) ** 2 + sampleSd(b) ** 2) / 2);
      // The tasks round to 4 decimals.
      assertClose(out['control_mean'], mean(a), 'control_mean', 1e-4);
      assertClose(out['treatment_mean'], mean(b), 'treatment_mean', 1e-4);
      assertClose(out['uplift'], uplift, 'uplift', 1e-4);
      assertClose(out['effect_size'], d, 'effect_size', 1e-3);
      const size = Math.abs(d) >= 0.8 ? 'large' : Math.abs(d) >= 0.5 ? 'medium' : 'small';
      assert.equal(out['verdict'], `${uplift > 0 ? 'treatment' : 'control'} wins by ${Math.abs(uplift).toFixed(2)} (${size} effect, d = ${Math.abs(d).toFixed(2)})`);
      // The subworkflow ran twice inside the nested one; its failure handler, which is only declared, did not run.
      for (const path of ['ab', 'ab/control', 'ab/control/moments', 'ab/control/finish', 'ab/treatment', 'ab/treatment/moments', 'ab/treatment/finish', 'ab/effect', 'verdict']) {
        assert.match(nodeLines(output, path).at(-1) ?? '', /\sSucceeded\s/, `node ${path}:\n${output}`);
      }
      assert.deepEqual([...nodeLines(output, 'ab/control/onFailure'), ...nodeLines(output, 'ab/treatment/onFailure')], []);
    },
  },

  'gate-sleep.yaml': {
    args: [],
    check(out, output, spec) {
      assert.equal(out['total'], sum(spec.inputs['numbers'] as number[]));
      const waited = out['waited_seconds'] as number;
      assert.ok(waited >= 3 && waited < 30, `waited_seconds ${waited}: the gate sleeps 3s`);
      assert.match(nodeLines(output, 'cool_down').join('\n'), /Running \(sleeping until /);
    },
  },

  'gate-approve.yaml': {
    args: ['--approve', 'review'],
    printed: [/^▸ Gate review reached; sending its decision, as: \S*kubectl --kubeconfig \S+ -n demo-\w+ patch fwf gate-approve-1 --type merge -p '\{"spec":\{"signals":\{"review":\{"approved":true\}\}\}\}'$/m],
    check(out, output, spec) {
      const { cost, margin_pct: margin, current_price: current } = spec.inputs as { cost: number; margin_pct: number; current_price: number };
      const price = round((cost * (100 + margin)) / 100, 2);
      const change = round(((price - current) / current) * 100, 1);
      assertClose(out['price'], price, 'price');
      assert.equal(out['announcement'], `new price ${price.toFixed(2)} (${change >= 0 ? '+' : '-'}${Math.abs(change).toFixed(1)}%)`);
      assert.match(nodeLines(output, 'review').at(-1) ?? '', /Succeeded \[Approved\]/);
    },
  },

  'gate-signal.yaml': {
    args: ['--signal', 'threshold=0.75'],
    printed: [/^▸ Gate threshold reached; sending its decision, as: .* patch fwf gate-signal-1 --type merge -p '\{"spec":\{"signals":\{"threshold":\{"value":0\.75\}\}\}\}'$/m],
    check(out, output, spec) {
      const labels = spec.inputs['labels'] as number[];
      const predictions = spec.inputs['predictions'] as Record<string, number[]>;
      const accuracy = Object.fromEntries(Object.entries(predictions).map(([m, ps]) => [m, ps.filter((p, i) => p === labels[i]).length / labels.length]));
      assert.deepEqual(out['accuracy'], accuracy);
      const kept = Object.keys(accuracy)
        .filter((m) => accuracy[m]! >= 0.75)
        .sort((x, y) => accuracy[y]! - accuracy[x]! || (x < y ? -1 : 1));
      assert.ok(kept.length > 0 && kept.length < Object.keys(accuracy).length, 'the threshold keeps some models, not all');
      assert.deepEqual(out['kept'], kept);
      assert.match(nodeLines(output, 'threshold').at(-1) ?? '', /Succeeded \[Received\] \{"value":0\.75\}/);
    },
  },

  'cache.yaml': {
    args: [],
    check(out, output) {
      assert.equal(out['first'], primesBelow(100_000));
      assert.equal(out['second'], primesBelow(100_000));
      assert.equal(out['third'], primesBelow(50_000));
      // One of first and second ran; the other took its outputs from the cache.
      assert.ok(['first', 'second'].includes(out['first_computed_by'] as string), `first_computed_by ${JSON.stringify(out['first_computed_by'])}`);
      assert.equal(out['second_computed_by'], out['first_computed_by']);
      const ran = out['first_computed_by'] as string;
      const hit = ran === 'first' ? 'second' : 'first';
      assert.match(nodeLines(output, ran).at(-1) ?? '', /Succeeded \[cache Populated\]/, output);
      assert.match(nodeLines(output, hit).at(-1) ?? '', /Succeeded \[cache Hit\]/, output);
      assert.match(nodeLines(output, 'third').at(-1) ?? '', /Succeeded \[cache Populated\] \{"computed_by":"third"/, output);
    },
  },

  'nightly.yaml': {
    args: [],
    // The definition and the launch plan go in first; the schedule is valid and says when it runs next.
    printed: [
      /^▸ Applying .*nightly\.yaml in namespace demo-\w+\n {2}WorkflowDefinition standard-scale\.1 created\n {2}LaunchPlan nightly created\n/m,
      /^ {2}LaunchPlan nightly: valid; scheduled; next scheduled run \d{4}-\d\d-\d\dT0[23]:00:00\.000Z$/m,
      /^ {2}FlyteWorkflow nightly-manual created$/m,
    ],
    check(out, output, spec, docs) {
      // The manual launch runs the launch plan's definition with its default inputs (spec.inputs over them).
      assert.equal(spec['launchPlan'], 'nightly');
      const lp = docs.find((d) => d.kind === 'LaunchPlan' && d.metadata.name === 'nightly')!;
      const values = { ...(lp.spec['defaultInputs'] as Record<string, unknown>), ...spec.inputs }['values'] as number[];
      const mu = mean(values);
      const sigma = Math.sqrt(sum(values.map((x) => (x - mu) ** 2)) / values.length);
      assertClose(out['mu'], mu, 'mu');
      assertClose(out['sigma'], sigma, 'sigma');
      const scaled = out['scaled'] as number[];
      assert.equal(scaled.length, values.length);
      values.forEach((x, i) => assertClose(scaled[i], (x - mu) / sigma, `scaled[${i}]`, 1e-12));
      // The node paths come from the definition, which the file holds.
      for (const node of ['mu', 'sigma', 'scaled']) assert.match(nodeLines(output, node).at(-1) ?? '', /\sSucceeded\s/, `node ${node}:\n${output}`);
    },
  },
};

/** TypeScript examples (@propeller/sdk): the demo compiles them, ships the bundle and runs one workflow or launch plan. */
interface TypeScriptExample {
  args: string[];
  printed?: RegExp[];
  check(outputs: Record<string, unknown>, output: string): void;
}

const REGRESSION = { x: [-3, 0, 3], y: [7, 4, -2] };
const regressionIntercept = () => {
  const { x, y } = REGRESSION;
  const n = x.length;
  const slope = (n * sum(x.map((xi, i) => xi * y[i]!)) - sum(x) * sum(y)) / (n * sum(x.map((xi) => xi * xi)) - sum(x) ** 2);
  return mean(y) - slope * mean(x);
};

const TS_EXPECTED: Record<string, TypeScriptExample> = {
  // With no --workflow the demo picks the first workflow whose inputs all have defaults: documented_wf.
  'workflow.ts': {
    args: [],
    printed: [/^▸ Compiled .*workflow\.ts: running workflow documented_wf$/m, /^ {2}ConfigMap propeller-code-[0-9a-f]{12} created \(the module's code\)$/m],
    check(out) {
      assertClose(out['o0'], regressionIntercept(), 'intercept');
    },
  },
  // Every control-flow kind from TypeScript: the cached task misses then populates, the conditional takes
  // its first case, the subworkflow runs twice under two paths, and the approval gate passes the score.
  'control-flow.ts': {
    args: ['--approve', 'review'],
    printed: [/^▸ Compiled .*control-flow\.ts: running workflow pipeline$/m],
    check(out, output) {
      const rows = 5 * 10;
      assert.equal(out['plan'], `one worker for ${rows} rows`);
      assertClose(out['score'], Math.max(1 - 1 / Math.sqrt(rows), 1 - 1 / Math.sqrt(10_000)), 'score');
      assert.match(nodeLines(output, 'count_rows').at(-1) ?? '', /Succeeded \[cache Populated\]/, output);
      assert.match(nodeLines(output, 'size/else').at(-1) ?? '', /Skipped/, output);
      for (const node of ['train_small/fit', 'train_large/fit', 'sleep']) assert.match(nodeLines(output, node).at(-1) ?? '', /\sSucceeded/, `node ${node}:\n${output}`);
      assert.match(nodeLines(output, 'review').at(-1) ?? '', /Succeeded \[Approved\]/, output);
    },
  },
  // The nightly launch plan, with its default inputs, runs the definition registered from the module.
  'standard-scale.ts': {
    args: [],
    printed: [/^▸ Compiled .*standard-scale\.ts: running launch plan nightly_scale_lp$/m, /^ {2}LaunchPlan nightly-scale-lp: valid; scheduled; next scheduled run \d{4}-\d\d-\d\dT00:00:00\.000Z$/m],
    check(out, output) {
      const values = [1, 2, 3, 4, 5];
      const mu = mean(values);
      const sigma = Math.sqrt(sum(values.map((x) => (x - mu) ** 2)));
      const scaled = out['o0'] as number[];
      assert.equal(scaled.length, values.length);
      values.forEach((x, i) => assertClose(scaled[i], (x - mu) / sigma, `scaled[${i}]`, 1e-12));
      for (const node of ['mean', 'standard_deviation', 'standard_scale']) assert.match(nodeLines(output, node).at(-1) ?? '', /\sSucceeded\s/, `node ${node}:\n${output}`);
    },
  },
};

// ─── Tests ───────────────────────────────────────────────────────────────────

describe('examples, run with the demo', () => {
  const cluster = useTestCluster();

  test('every file in examples/ has a row here', () => {
    const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|ts)$/.test(f)).sort();
    assert.deepEqual(files, [...Object.keys(EXPECTED), ...Object.keys(TS_EXPECTED), ...Object.keys(NOT_RUN)].sort(), 'add a row to EXPECTED (or NOT_RUN) for each new example (and remove rows of deleted ones)');
  });

  for (const [file, example] of Object.entries(EXPECTED)) {
    test(`${file} succeeds with the expected outputs`, { timeout: DEMO_TIMEOUT_MS + 10_000 }, async () => {
      const path = join(EXAMPLES, file);
      const { code, output } = await runDemo([path, '--kubeconfig', cluster().kubeconfigPath, ...example.args]);
      assert.equal(code, 0, `npm run demo -- examples/${file} ${example.args.join(' ')} exited ${code}:\n${output}`);
      assert.doesNotMatch(output, /kubectl \(YAML 1\.1\) reads/, 'the example reads the same in YAML 1.1 (kubectl) and 1.2');
      const outputs = printedOutputs(output);
      try {
        for (const pattern of example.printed ?? []) assert.match(output, pattern);
        example.check(outputs, output, manifestOf(path).spec, documentsOf(path));
      } catch (err) {
        (err as Error).message += `\n--- demo output:\n${output}`;
        throw err;
      }
    });
  }

  for (const [file, example] of Object.entries(TS_EXPECTED)) {
    test(`${file} (TypeScript) succeeds with the expected outputs`, { timeout: DEMO_TIMEOUT_MS + 10_000 }, async () => {
      const { code, output } = await runDemo([join(EXAMPLES, file), '--kubeconfig', cluster().kubeconfigPath, ...example.args]);
      assert.equal(code, 0, `npm run demo -- examples/${file} exited ${code}:\n${output}`);
      try {
        for (const pattern of example.printed ?? []) assert.match(output, pattern);
        example.check(printedOutputs(output), output);
      } catch (err) {
        (err as Error).message += `\n--- demo output:\n${output}`;
        throw err;
      }
    });
  }

  test('cache.yaml runs one pod for the two identical calls and one for the third', { timeout: DEMO_TIMEOUT_MS + 10_000 }, async () => {
    const { code, output } = await runDemo([join(EXAMPLES, 'cache.yaml'), '--kubeconfig', cluster().kubeconfigPath, '--keep']);
    const ns = /in namespace (demo-[0-9a-f]+)/.exec(output)?.[1];
    try {
      assert.equal(code, 0, output);
      assert.ok(ns, `no namespace in:\n${output}`);
      const pods: Pod[] = await listPods(cluster().client, ns, 'flyte.propeller.dev/workflow=cache-1');
      const nodes = pods.map((p) => p.metadata.annotations?.['flyte.propeller.dev/node'] ?? p.metadata.labels?.['flyte.propeller.dev/node']).sort();
      const ran = printedOutputs(output)['first_computed_by'] as string;
      assert.deepEqual(nodes, [ran, 'third'].sort(), `pods: ${pods.map((p) => p.metadata.name).join(', ')}`);
    } finally {
      if (ns) await cluster().client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
    }
  });

  test('a gate without a decision flag: the demo prints the kubectl command, waits, and finishes once it is run', { timeout: DEMO_TIMEOUT_MS + 10_000 }, async () => {
    const kubectl = cluster().kubectl;
    assert.ok(kubectl, 'the suite provides kubectl in PROPELLER_TEST_KUBECTL');
    const demo = startDemo([join(EXAMPLES, 'gate-approve.yaml'), '--kubeconfig', cluster().kubeconfigPath]);
    const line = await demo.line(/patch fwf .*"approved":true/);
    // The demo keeps waiting: the workflow cannot go on without the approval.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(demo.child.exitCode, null, `the demo exited while the gate waited:\n${demo.output()}`);
    assert.match(nodeLines(demo.output(), 'review').at(-1) ?? '', /Running \(waiting for approval/);
    assert.equal(demo.output().split('\n').filter((l) => /"approved":true/.test(l)).length, 1, `the approval command is printed once:\n${demo.output()}`);

    const argv = shellWords(line.trim());
    assert.equal(basename(argv[0]!), 'kubectl');
    const ns = /in namespace (demo-[0-9a-f]+)/.exec(demo.output())?.[1];
    assert.deepEqual(argv.slice(1), [
      '--kubeconfig', cluster().kubeconfigPath, '-n', ns, 'patch', 'fwf', 'gate-approve-1', '--type', 'merge', '-p', '{"spec":{"signals":{"review":{"approved":true}}}}',
    ]);
    const { stdout } = await promisify(execFile)(kubectl, argv.slice(1), { timeout: 30_000 });
    assert.match(stdout, /gate-approve-1 patched/);

    const code = await demo.exited;
    assert.equal(code, 0, demo.output());
    assert.match(nodeLines(demo.output(), 'review').at(-1) ?? '', /Succeeded \[Approved\]/);
    const spec = manifestOf(join(EXAMPLES, 'gate-approve.yaml')).spec;
    EXPECTED['gate-approve.yaml']!.check(printedOutputs(demo.output()), demo.output(), spec, documentsOf(join(EXAMPLES, 'gate-approve.yaml')));
  });

  test('--reject fails the gate, and the demo exits 1 with the error', { timeout: DEMO_TIMEOUT_MS + 10_000 }, async () => {
    const reason = "too steep; ask finance (it's Friday)";
    const { code, output } = await runDemo([join(EXAMPLES, 'gate-approve.yaml'), '--kubeconfig', cluster().kubeconfigPath, '--reject', `review=${reason}`]);
    assert.equal(code, 1, output);
    assert.match(output, /^Workflow Failed: /m);
    assert.ok(output.includes(`error: GateRejected at node review: node "review" failed: rejected: ${reason}`), output);
    assert.match(nodeLines(output, 'publish').at(-1) ?? '', /Skipped/);
  });

  test('the failure-handler fixture ends Failed: its handler runs and sees the error; the demo exits 1', { timeout: DEMO_TIMEOUT_MS + 10_000 }, async () => {
    const path = join(repoRoot, 'test', 'fixtures', 'demo', 'failure-handler.yaml');
    const { code, output } = await runDemo([path, '--kubeconfig', cluster().kubeconfigPath]);
    assert.equal(code, 1, output);
    const prices = manifestOf(path).spec.inputs['prices'] as Record<string, number>;
    const [item, price] = Object.entries(prices).sort(([x], [y]) => (x < y ? -1 : 1)).find(([, p]) => p < 0)!;
    const reason = `negative price for ${item}: ${price}`;
    assert.match(output, /workflow\s+Failing/);
    assert.match(nodeLines(output, 'validate').at(-1) ?? '', /Failed/);
    const handler = nodeLines(output, 'onFailure').at(-1) ?? '';
    assert.match(handler, /Succeeded/, output);
    const alert = JSON.parse(/(\{.*\})/.exec(handler)![1]!) as { alert: string };
    assert.ok(alert.alert.startsWith('ALERT NonZeroExit at validate: '), alert.alert);
    assert.ok(alert.alert.includes(reason), `the handler saw error.message: ${alert.alert}`);
    assert.match(output, /^Workflow Failed: /m);
    assert.ok(output.includes(`error: NonZeroExit at node validate: `) && output.includes(reason), output);
  });

  test('a file without a workflow to run, or with documents the demo does not apply, is refused before anything runs', async () => {
    const project = await runDemo([join(EXAMPLES, 'project.yaml'), '--kubeconfig', cluster().kubeconfigPath]);
    assert.equal(project.code, 2, project.output);
    assert.match(project.output, /project\.yaml: expected one FlyteWorkflow document, found 1 document\(s\) of which 0 FlyteWorkflow\(s\); the other documents may only be WorkflowDefinitions and LaunchPlans \(what it runs by reference\), not "Project"/);
    assert.doesNotMatch(project.output, /Starting the propeller/);
  });

  test('a decision for a gate the workflow does not have is refused before anything runs', async () => {
    const { code, output } = await runDemo([join(EXAMPLES, 'gate-signal.yaml'), '--kubeconfig', cluster().kubeconfigPath, '--approve', 'review']);
    assert.equal(code, 2, output);
    assert.match(output, /--approve review: the workflow has no approve or signal gate at review; its approve and signal gates: threshold \(signal\)/);
    assert.doesNotMatch(output, /Starting the propeller/);
  });
});

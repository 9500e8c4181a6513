// npm test: typecheck, unit tests, then integration tests against one shared real control plane.
//   npm test -- --unit-only | --integration-only | [test files…]
// npm run test:reliability [-- --smoke]: the fault-injection suite (test/reliability/) on its own control
//   plane; each file appends what it injected to a results file, rendered into docs/reliability.md
//   after a full run (a smoke run only prints it).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from '../controlplane/control-plane.ts';
import { repoRoot } from '../controlplane/components.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'unit-only': { type: 'boolean', default: false },
    'integration-only': { type: 'boolean', default: false },
    reliability: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '2' },
  },
});

const node = process.execPath;
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
const log = (line: string) => process.stderr.write(`[test ${elapsed()}] ${line}\n`);

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env, cwd: repoRoot });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(repoRoot, dir))) {
    const path = join(dir, entry);
    if (statSync(join(repoRoot, path)).isDirectory()) out.push(...testFiles(path));
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

async function main(): Promise<number> {
  if (values.reliability) return reliability();
  const selected = positionals.map((p) => relative(repoRoot, join(process.cwd(), p)));
  const unit = selected.length ? selected.filter((f) => f.startsWith('test/unit')) : testFiles('test/unit');
  const integration = selected.length ? selected.filter((f) => !f.startsWith('test/unit')) : testFiles('test/integration');

  if (!values['integration-only']) {
    log('typecheck');
    if ((await run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'])) !== 0) return 1;
    if (unit.length) {
      log(`unit tests (${unit.length} files)`);
      if ((await run(node, ['--test', '--test-reporter=spec', ...unit])) !== 0) return 1;
    }
  }
  if (values['unit-only'] || !integration.length) return 0;

  log('starting the local control plane (building it first if needed)');
  const cp = await startControlPlane({ kwokNodes: 2, kwokPodDurationMs: 500, processNode: true });
  const stop = async () => {
    await cp.stop();
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(143)));
  try {
    log(`control plane ready (/readyz after ${(cp.readyAfterMs / 1000).toFixed(1)}s); integration tests (${integration.length} files)`);
    const env = { ...process.env, KUBECONFIG: cp.kubeconfigPath, PROPELLER_TEST_KUBECTL: cp.binaries['kubectl'] };
    return await run(node, ['--test', '--test-reporter=spec', `--test-concurrency=${values.concurrency}`, ...integration], env);
  } finally {
    await stop();
    log('control plane stopped');
  }
}

async function reliability(): Promise<number> {
  const files = positionals.length ? positionals.map((p) => relative(repoRoot, join(process.cwd(), p))) : testFiles('test/reliability');
  const scale = values.smoke ? 'smoke' : 'full';
  log(`reliability suite (${scale}, ${files.length} files): starting the local control plane`);
  const cp = await startControlPlane({ kwokNodes: 4, kwokPodDurationMs: 500, processNode: true });
  const results = join(cp.dir, 'reliability-results.jsonl');
  try {
    const env = { ...process.env, KUBECONFIG: cp.kubeconfigPath, PROPELLER_TEST_KUBECTL: cp.binaries['kubectl'], RELIABILITY_SCALE: scale, RELIABILITY_RESULTS: results, PROPELLER_CONTROL_PLANE_ID: cp.id };
    // One file at a time: the faults (API server restarts, say) affect the whole control plane.
    const code = await run(node, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], env);
    const report = ['test/reliability/report.ts', results, ...(scale === 'full' && !positionals.length ? ['--write', 'docs/reliability.md'] : [])];
    if (statSync(results, { throwIfNoEntry: false })) await run(node, report);
    return code;
  } finally {
    await cp.stop();
    log('control plane stopped');
  }
}

main().then(
  (code) => {
    log(code === 0 ? 'all tests passed' : `tests failed (exit ${code})`);
    process.exit(code);
  },
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);

// npm run bench -- [--scenario NAME[,NAME]] [--json FILE] [--smoke] [--cpu-prof] [--compare REF [--repeat N]]
// Runs each scenario twice on one local control plane with KWOK nodes: a plain client that runs the
// same DAG (the physical limit), then the propeller; prints a table and writes JSON and a markdown report.
// With --compare REF it also runs the propeller of git commit REF (checked out beside this one), N times
// each in alternating order, and reports this tree's figures as ratios of REF's: a regression check that
// compares like with like on one machine in one run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import PQueue from 'p-queue';
import { TokenBucket } from '../src/controller/token-bucket.ts';
import { workflowsPath } from '../src/k8s/paths.ts';
import { KubeClient } from '../src/k8s/rest.ts';
import { createLogger } from '../src/observability/logger.ts';
import { repoRoot } from '../tools/controlplane/components.ts';
import { startControlPlane, type ControlPlane } from '../tools/controlplane/control-plane.ts';
import { runBaseline } from './baseline.ts';
import { checkoutRef, renderComparison, type Comparison } from './compare.ts';
import { Observer } from './observer.ts';
import { PropellerProcess } from './propeller-process.ts';
import { renderMarkdown, renderTable, type RunResult, type ScenarioResult } from './report.ts';
import { depth, scenarios, type Scenario } from './scenarios.ts';
import { percentile } from './stats.ts';
import { BENCH_SEED, dagWorkflow } from './workflow.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    json: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    compare: { type: 'string' },
    repeat: { type: 'string', default: '2' },
    qps: { type: 'string', default: '100' },
    burst: { type: 'string', default: '200' },
    workers: { type: 'string', default: '8' },
  },
});

const QPS = Number(values.qps);
const BURST = Number(values.burst);
const CONCURRENCY = 32;
const log = createLogger('warn');
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const scale = values.smoke ? 'smoke' : 'full';
  const wanted = values.scenario?.split(',');
  const chosen = scenarios(scale).filter((s) => !wanted || wanted.includes(s.name));
  if (!chosen.length) throw new Error(`no scenario named ${values.scenario}; known: ${scenarios(scale).map((s) => s.name).join(', ')}`);

  const ref = values.compare ? await checkoutRef(values.compare, say) : undefined;
  say('starting the local control plane with 4 KWOK nodes');
  const cp = await startControlPlane({ kwokNodes: 4, kwokPodDurationMs: 1000, processNode: false, log: say });
  const results: ScenarioResult[] = [];
  const comparisons: Comparison[] = [];
  try {
    if (ref) {
      for (const scenario of chosen) {
        const runs: Comparison['runs'] = [];
        for (let i = 0; i < Number(values.repeat); i++) {
          // Alternate the order, so neither version always runs on a warmer (or more loaded) plane.
          for (const version of i % 2 ? (['this', 'ref'] as const) : (['ref', 'this'] as const)) {
            say(`${scenario.name}: ${version === 'ref' ? `propeller at ${ref.label}` : 'propeller of this tree'} (run ${i + 1})`);
            runs.push({ version, result: await runScenario(cp, scenario, 'propeller', version === 'ref' ? ref.root : undefined) });
          }
        }
        comparisons.push({ scenario: scenario.name, ref: ref.label, runs });
      }
      process.stdout.write(`\n${renderComparison(comparisons)}\n`);
      if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), comparisons }, null, 2));
      return;
    }
    for (const scenario of chosen) {
      const totalNodes = scenario.workflows * scenario.dag.nodes.length;
      say(`${scenario.name}: ${scenario.workflows} workflow(s) × ${scenario.dag.nodes.length} nodes = ${totalNodes} pods; baseline`);
      const baseline = await runScenario(cp, scenario, 'baseline');
      say(`${scenario.name}: propeller`);
      const propeller = await runScenario(cp, scenario, 'propeller');
      results.push({ scenario: scenario.name, description: scenario.description, workflows: scenario.workflows, nodes: totalNodes, depth: depth(scenario.dag), podDurationMs: scenario.podDurationMs, baseline, propeller });
      say(renderTable(results.slice(-1)));
    }
  } finally {
    await cp.stop();
    await ref?.remove();
  }

  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kubernetes: 'v1.34.10', etcd: 'v3.6.16', kwok: 'v0.8.0' };
  const report = { date: new Date().toISOString(), scale, machine, settings: { qps: QPS, burst: BURST, workers: Number(values.workers), podWriteConcurrency: CONCURRENCY }, results };
  process.stdout.write(`\n${renderTable(results)}\n`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  if (!values.smoke) {
    const dir = join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const stamp = report.date.slice(0, 16).replace(/[:T]/g, '-');
    const name = wanted ? `${stamp}-${wanted.join('-')}` : stamp;
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(report, null, 2));
    writeFileSync(join(dir, `${name}.md`), renderMarkdown(report));
    if (!wanted) writeFileSync(join(dir, 'latest.md'), renderMarkdown(report));
    say(`report written to bench/results/${name}.md`);
  }
}

async function runScenario(cp: ControlPlane, scenario: Scenario, mode: 'baseline' | 'propeller', root?: string): Promise<RunResult> {
  const namespace = `bench-${scenario.name}-${mode}-${Date.now().toString(36)}`;
  await cp.client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: namespace } } });
  await waitForServiceAccount(cp.client, namespace);
  const observer = new Observer(cp.client, namespace, log);
  await observer.start();
  // The same client-side limits for both: the baseline is the best any client could do under them.
  const limited = await KubeClient.load(cp.kubeconfigPath, { limiter: new TokenBucket({ qps: QPS, burst: BURST }) });
  let propeller: PropellerProcess | undefined;
  try {
    const totalNodes = scenario.workflows * scenario.dag.nodes.length;
    let submittedAt: Map<string, number>;
    let started: number;
    let cpu0 = 0;
    let api0: Record<string, number> = {};
    if (mode === 'baseline') {
      started = now();
      ({ submittedAt } = await runBaseline(limited, namespace, scenario, observer, CONCURRENCY));
    } else {
      propeller = new PropellerProcess({
        kubeconfig: cp.kubeconfigPath,
        namespace,
        args: ['--kube-qps', String(QPS), '--kube-burst', String(BURST), '--workers', values.workers!, '--pod-write-concurrency', String(CONCURRENCY)],
        cpuProfileDir: values['cpu-prof'] ? join(repoRoot, 'bench', 'results', 'profiles') : undefined,
        root,
      });
      await propeller.ready();
      cpu0 = propeller.cpuSeconds();
      api0 = await propeller.apiRequestsByVerb();
      submittedAt = new Map();
      started = now();
      const submit = new PQueue({ concurrency: CONCURRENCY });
      for (let w = 0; w < scenario.workflows; w++) {
        const name = `wf-${w}`;
        void submit.add(async () => {
          await limited.request('POST', workflowsPath(namespace), { body: dagWorkflow(name, scenario.dag, scenario.podDurationMs) });
          submittedAt.set(name, now());
        });
      }
      await submit.onIdle();
      await observer.until(() => observer.workflowDone.size >= scenario.workflows, 1_800_000, `${scenario.workflows} workflows`);
    }
    const finished = mode === 'baseline' ? Math.max(...[...observer.pods.values()].map((p) => p.succeededAt ?? 0)) : Math.max(...[...observer.workflowDone.values()].map((d) => d.at));

    const acceptance: number[] = [];
    const transition: number[] = [];
    for (const [workflow, at] of submittedAt) {
      const first = Math.min(...scenario.dag.nodes.filter((n) => !n.deps.length).map((n) => observer.podOf(workflow, n.id)?.addedAt ?? Infinity));
      if (Number.isFinite(first)) acceptance.push(Math.max(0, first - at));
      for (const n of scenario.dag.nodes) {
        if (!n.deps.length) continue;
        const pod = observer.podOf(workflow, n.id);
        const ready = Math.max(...n.deps.map((d) => observer.podOf(workflow, d)?.succeededAt ?? NaN));
        if (pod && Number.isFinite(ready)) transition.push(Math.max(0, pod.addedAt - ready));
      }
    }
    const wallMs = finished - started;
    const result: RunResult = {
      wallMs,
      idealMs: depth(scenario.dag) * scenario.podDurationMs,
      nodesPerSecond: totalNodes / (wallMs / 1000),
      acceptanceP50Ms: percentile(acceptance, 50),
      acceptanceP99Ms: percentile(acceptance, 99),
      transitionP50Ms: percentile(transition, 50),
      transitionP99Ms: percentile(transition, 99),
    };
    if (propeller) {
      const failed = [...observer.workflowDone.entries()].filter(([, d]) => d.phase !== 'Succeeded');
      if (failed.length) throw new Error(`${failed.length} workflow(s) did not succeed, e.g. ${failed[0]![0]}: ${failed[0]![1].phase}\n${propeller.logs().slice(-3000)}`);
      const wrong = [...observer.workflowDone.values()].filter((d) => !outputsCorrect(d.outputs, scenario));
      if (wrong.length) throw new Error(`${wrong.length} workflow(s) produced wrong outputs, e.g. ${JSON.stringify(wrong[0]!.outputs)}`);
      const api1 = await propeller.apiRequestsByVerb();
      const perNode: Record<string, number> = {};
      for (const verb of Object.keys(api1)) {
        const delta = (api1[verb] ?? 0) - (api0[verb] ?? 0);
        if (delta > 0) perNode[verb] = delta / totalNodes;
      }
      const cpuSeconds = propeller.cpuSeconds() - cpu0;
      Object.assign(result, {
        cpuSeconds,
        cpuMsPerNode: (cpuSeconds * 1000) / totalNodes,
        peakRssMiB: propeller.peakRssBytes() / 2 ** 20,
        apiCallsPerNode: perNode,
        writesPerNode: ['create', 'patch', 'update', 'delete'].reduce((sum, v) => sum + (perNode[v] ?? 0), 0),
        peakStatusBytes: observer.peakStatusBytes,
        peakObjectBytes: observer.peakObjectBytes,
      });
    }
    return result;
  } finally {
    await propeller?.stop();
    await observer.stop();
    await limited.close();
    await deleteNamespace(cp.client, namespace);
  }
}

function outputsCorrect(outputs: unknown, scenario: Scenario): boolean {
  const last = scenario.dag.nodes[scenario.dag.nodes.length - 1]!;
  const result = (outputs as { result?: unknown } | undefined)?.result;
  if (!last.deps.length) return result === BENCH_SEED;
  return Array.isArray(result) && result.length === last.deps.length && result.every((v) => v === BENCH_SEED);
}

async function waitForServiceAccount(client: KubeClient, namespace: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await client.request('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Deletes a namespace and waits until it is gone, so its pods' deletion does not load the next run. */
async function deleteNamespace(client: KubeClient, namespace: string): Promise<void> {
  await client.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});
  for (let i = 0; i < 1800; i++) {
    if (await client.request('GET', `/api/v1/namespaces/${namespace}`).then(() => false, () => true)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});

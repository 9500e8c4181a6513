export interface RunResult {
  wallMs: number;
  idealMs: number;
  nodesPerSecond: number;
  acceptanceP50Ms: number;
  acceptanceP99Ms: number;
  transitionP50Ms: number;
  transitionP99Ms: number;
  cpuSeconds?: number;
  cpuMsPerNode?: number;
  peakRssMiB?: number;
  apiCallsPerNode?: Record<string, number>;
  writesPerNode?: number;
  peakStatusBytes?: number;
  peakObjectBytes?: number;
}

export interface ScenarioResult {
  scenario: string;
  description: string;
  workflows: number;
  nodes: number;
  depth: number;
  podDurationMs: number;
  baseline: RunResult;
  propeller: RunResult;
}

export interface Report {
  date: string;
  scale: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  results: ScenarioResult[];
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '–');
const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
const x = (v: number) => `${v.toFixed(2)}×`;
const pct = (v: number) => `${Math.round(v * 100)}%`;

export function renderTable(results: ScenarioResult[]): string {
  const rows = [['scenario', 'run', 'wall', '/ideal', 'nodes/s', 'vs base', 'accept p50/p99', 'transition p50/p99', 'cpu ms/node', 'writes/node', 'status']];
  for (const r of results) {
    for (const [name, run] of [['baseline', r.baseline], ['propeller', r.propeller]] as const) {
      rows.push([
        name === 'baseline' ? r.scenario : '',
        name,
        s(run.wallMs),
        x(run.wallMs / run.idealMs),
        run.nodesPerSecond.toFixed(1),
        name === 'propeller' ? pct(run.nodesPerSecond / r.baseline.nodesPerSecond) : '',
        `${ms(run.acceptanceP50Ms)} / ${ms(run.acceptanceP99Ms)}`,
        `${ms(run.transitionP50Ms)} / ${ms(run.transitionP99Ms)}`,
        run.cpuMsPerNode !== undefined ? run.cpuMsPerNode.toFixed(2) : '',
        run.writesPerNode !== undefined ? run.writesPerNode.toFixed(2) : '',
        run.peakStatusBytes !== undefined ? `${Math.round(run.peakStatusBytes / 1024)} KiB` : '',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

interface Goal {
  figure: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
}

function goals(results: ScenarioResult[]): Goal[] {
  const by = (name: string) => results.find((r) => r.scenario === name);
  const out: Goal[] = [];
  const fanout = by('fanout');
  if (fanout) {
    const ratio = fanout.propeller.nodesPerSecond / fanout.baseline.nodesPerSecond;
    out.push({ figure: 'fanout throughput', goal: '≥ 70% of baseline', measured: pct(ratio), met: ratio >= 0.7 });
  }
  const chain = by('chain');
  if (chain) out.push({ figure: 'chain transition latency', goal: 'p99 < 200 ms', measured: `p99 ${ms(chain.propeller.transitionP99Ms)} (baseline ${ms(chain.baseline.transitionP99Ms)})`, met: chain.propeller.transitionP99Ms < 200 });
  const burst = by('burst');
  if (burst) out.push({ figure: 'burst acceptance latency', goal: 'p99 < 2 s', measured: `p99 ${ms(burst.propeller.acceptanceP99Ms)} (baseline ${ms(burst.baseline.acceptanceP99Ms)})`, met: burst.propeller.acceptanceP99Ms < 2000 });
  const writes = Math.max(...results.map((r) => r.propeller.writesPerNode ?? 0));
  out.push({ figure: 'propeller API writes per task node', goal: '≤ 3', measured: `${writes.toFixed(2)} (worst scenario)`, met: writes <= 3 });
  const big = by('big');
  if (big) out.push({ figure: 'big', goal: 'completes, status < 1 MiB', measured: `completed; peak status ${Math.round((big.propeller.peakStatusBytes ?? 0) / 1024)} KiB`, met: (big.propeller.peakStatusBytes ?? Infinity) < 2 ** 20 });
  const cpu = Math.max(...results.map((r) => r.propeller.cpuMsPerNode ?? 0));
  out.push({ figure: 'propeller CPU', goal: '< 5 ms per task node', measured: `${cpu.toFixed(2)} ms (worst scenario)`, met: cpu < 5 });
  return out;
}

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const lines: string[] = [
    `# Benchmark report (${report.date.slice(0, 10)})`,
    '',
    `Machine: ${m['cores']} cores (${m['cpu']}), ${m['memoryGiB']} GiB. Node ${m['node']}, Kubernetes ${m['kubernetes']}, etcd ${m['etcd']}, KWOK ${m['kwok']}; everything (etcd, kube-apiserver, scheduler, controller manager, KWOK, the propeller and this harness) shares those cores.`,
    `Client limits for both runs: ${report.settings['qps']} QPS, burst ${report.settings['burst']}; propeller workers ${report.settings['workers']}.`,
    '',
    'Each scenario runs twice in the same control plane: **baseline**, a plain client that runs the same DAG by creating each pod the moment its dependencies succeed (no custom resource, no status), then **propeller**. Pods are KWOK pods that run for a fixed time, so the ideal critical path is depth × pod duration. Latencies are measured on one clock by a watch in the harness: acceptance is workflow submitted → first pod seen; transition is last dependency seen Succeeded → dependent pod seen.',
    '',
    'What limits each figure, and why the goals missed are missed, is explained in [docs/benchmarks.md](../../docs/benchmarks.md).',
    '',
    '## Goals',
    '',
    '| Figure | Goal | Measured | Met |',
    '|---|---|---|---|',
    ...goals(report.results).map((g) => `| ${g.figure} | ${g.goal} | ${g.measured} | ${g.met === undefined ? '–' : g.met ? 'yes' : '**no**'} |`),
    '',
    '## Results',
    '',
  ];
  for (const r of report.results) {
    const b = r.baseline;
    const p = r.propeller;
    lines.push(
      `### ${r.scenario}: ${r.description}`,
      '',
      `${r.workflows} workflow(s) × ${r.nodes / r.workflows} nodes = ${r.nodes} pods; depth ${r.depth}; pods run ${r.podDurationMs} ms; ideal critical path ${s(p.idealMs)}.`,
      '',
      '| Figure | Baseline | Propeller | Propeller / baseline |',
      '|---|---|---|---|',
      `| Wall time | ${s(b.wallMs)} | ${s(p.wallMs)} | ${x(p.wallMs / b.wallMs)} |`,
      `| Wall time / ideal critical path | ${x(b.wallMs / b.idealMs)} | ${x(p.wallMs / p.idealMs)} | |`,
      `| Task nodes per second | ${b.nodesPerSecond.toFixed(1)} | ${p.nodesPerSecond.toFixed(1)} | ${pct(p.nodesPerSecond / b.nodesPerSecond)} |`,
      `| Acceptance p50 / p99 | ${ms(b.acceptanceP50Ms)} / ${ms(b.acceptanceP99Ms)} | ${ms(p.acceptanceP50Ms)} / ${ms(p.acceptanceP99Ms)} | |`,
      `| Transition p50 / p99 | ${ms(b.transitionP50Ms)} / ${ms(b.transitionP99Ms)} | ${ms(p.transitionP50Ms)} / ${ms(p.transitionP99Ms)} | |`,
      `| Propeller CPU | | ${p.cpuSeconds?.toFixed(1)} s (${p.cpuMsPerNode?.toFixed(2)} ms per node) | |`,
      `| Propeller peak RSS | | ${p.peakRssMiB?.toFixed(0)} MiB | |`,
      `| API calls per task node | | ${Object.entries(p.apiCallsPerNode ?? {}).map(([v, n]) => `${v} ${n.toFixed(2)}`).join(', ')} (writes ${p.writesPerNode?.toFixed(2)}) | |`,
      `| Peak status / object size | | ${Math.round((p.peakStatusBytes ?? 0) / 1024)} KiB / ${Math.round((p.peakObjectBytes ?? 0) / 1024)} KiB | |`,
      '',
    );
  }
  return lines.join('\n');
}

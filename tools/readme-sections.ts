import { configOptions } from '../src/config/load.ts';
import { Metrics } from '../src/observability/metrics.ts';

/** Tables in README.md derived from code, between `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
export async function readmeSections(): Promise<Record<string, string>> {
  return { 'config-table': configTable(), 'metrics-table': await metricsTable() };
}

export function withSections(text: string, sections: Record<string, string>): string {
  let out = text;
  for (const [name, body] of Object.entries(sections)) {
    const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README.md has no ${name} markers`);
    out = out.replace(re, (_m, start: string, end: string) => `${start}${body}\n${end}`);
  }
  return out;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

function configTable(): string {
  const rows = configOptions().map((o) => {
    const def = Array.isArray(o.defaultValue) ? (o.defaultValue.length ? o.defaultValue.join(',') : '(all)') : o.defaultValue === '' ? '""' : String(o.defaultValue);
    return `| \`${o.path.join('.')}\` | \`--${o.flag}\` / \`${o.env}\` | \`${def}\` | ${cell(o.description)} |`;
  });
  return ['| Option (config file) | Flag / env var | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

async function metricsTable(): Promise<string> {
  const registry = new Metrics().registry;
  const ours = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('propeller_'));
  const labels = (name: string) => ((registry.getSingleMetric(name) as unknown as { labelNames?: string[] }).labelNames ?? []).join(', ');
  const rows = ours.map((m) => `| \`${m.name}\` | ${m.type} | ${labels(m.name)} | ${cell(m.help)} |`);
  return ['| Metric | Type | Labels | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

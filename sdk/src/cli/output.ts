// What commands print on stdout: outputs (a single o0 as its bare JSON value, named ones as name: value
// lines), objects as JSON or YAML, names. Progress and messages go to stderr, so stdout stays parseable.
import { stringify } from 'yaml';

export type Format = 'json' | 'yaml' | 'name';

export const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
export const err = (text: string): void => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

/** Outputs as a run prints them: o0 alone as its JSON value; otherwise `name: value` lines; or JSON/YAML. */
export function formatOutputs(outputs: Readonly<Record<string, unknown>> | undefined, format?: 'json' | 'yaml'): string {
  const o = outputs ?? {};
  if (format === 'json') return JSON.stringify(o, null, 2);
  if (format === 'yaml') return stringify(o).trimEnd();
  const names = Object.keys(o);
  if (names.length === 1 && names[0] === 'o0') return JSON.stringify(o['o0']);
  return names.map((n) => `${n}: ${JSON.stringify(o[n])}`).join('\n');
}

/** An object (or a list of them) as JSON or YAML; multi-document YAML for a list when `documents`. */
export function formatObject(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  return stringify(value, { lineWidth: 0 }).trimEnd();
}

/** Several resources as one multi-document YAML stream. */
export function yamlDocuments(resources: readonly unknown[]): string {
  return resources.map((r) => `---\n${stringify(r, { lineWidth: 0 })}`).join('');
}

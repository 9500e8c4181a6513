// Hostile input: a corpus of invalid FlyteWorkflows sent through the real API server to a propeller that
// runs with the chart's RBAC. test/fixtures/invalid/ (the integration suite's corpus), test/fixtures/hostile/
// and cases built here: cycles and self-loops, missing and unknown references, type mismatches, bad
// templates, a 10,000-node graph with a cycle, a graph over --workflow-max-nodes, 100 KB strings, unicode
// and over-long names (code-bundle ConfigMap names among them), numbers out of range, and a valid
// 253-character workflow name.
//   - Schema violations: the API server rejects them (422, naming the field).
//   - Semantic errors: the workflow ends Failed on its first round, naming the node, field and reason,
//     with a bounded message, and no pod is ever created.
//   - The loop survives: the propeller stays up, runs a few rounds per invalid workflow and then none.
// Smoke runs a seeded subset (one case per category, plus the valid long name).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { KubeApiError } from '../../src/k8s/errors.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { FINALIZER_NAME, KWOK_POD, L, logsOf, podRecorder, Recorder, wfPath, wfsPath, workflowRecorder } from '../integration/helpers/e2e.ts';
import { forbiddenLines, propellerAlive, roundsRun, useChartEnv, type ChartEnv } from './chart-env.ts';
import { rng } from './dag-workload.ts';
import { Rows, runSeed, type Checks } from './fault-row.ts';
import { SCALE } from './results.ts';

const MAX_NODES = 10_000;
const MESSAGE_LIMIT = 1024;
/** status.error.message lists up to 20 errors: with each error bounded, it stays far below this. */
const ERROR_MESSAGE_LIMIT = 32 * 1024;
/** Reconcile rounds an invalid workflow may take: the first (which fails it), and the watch events of its own finalizer changes. */
const ROUNDS_PER_WORKFLOW = 5;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SEED = runSeed('hostile-input');

const CATEGORIES = {
  schema: 'hostile input: schema violations rejected by the API server',
  cycles: 'hostile input: cycles and self-loops',
  references: 'hostile input: missing and unknown references',
  types: 'hostile input: type mismatches, bad types and bad values',
  templates: 'hostile input: bad templates',
  huge: `hostile input: huge graphs (10,000 nodes with a cycle; ${MAX_NODES + 1} nodes over --workflow-max-nodes)`,
  strings: 'hostile input: 100 KB strings (values, description, names)',
  names: 'hostile input: unicode and over-long names',
  numbers: 'hostile input: numbers out of range',
  valid: 'hostile input: valid 253-character workflow name',
} as const;
type Category = keyof typeof CATEGORIES;

interface Entry {
  name: string;
  category: Category;
  source: string;
  /** api: the API server must refuse it; invalid: the propeller fails it as InvalidWorkflow; cannotStart: it fails as its first pod is built; valid: it must succeed. */
  kind: 'api' | 'invalid' | 'cannotStart' | 'valid';
  body: FlyteWorkflow | string;
  expect: string[];
  /** For api: the HTTP status (422 unless the body cannot even be decoded). */
  status?: number;
  query?: Record<string, string>;
  code?: string;
  fullOnly?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// The corpus

function categoryOf(file: string, api: boolean): Category {
  const name = basename(file, '.yaml');
  if (api) return 'schema';
  if (/^(int-|float-for-int)/.test(name)) return 'numbers';
  if (/name/.test(name)) return 'names';
  if (/cycle|self-loop/.test(name)) return 'cycles';
  if (/template/.test(name)) return 'templates';
  if (/type|constant|dict|nested|optional|null|duration|datetime|binding|timeout/.test(name)) return 'types';
  if (/unknown|missing|undeclared|unbound|reference|no-nodes|output/.test(name)) return 'references';
  return 'types';
}

function fixtures(dir: string, prefix: string): Entry[] {
  const path = join(repoRoot, 'test', 'fixtures', dir);
  return readdirSync(path)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(path, file), 'utf8');
      const expect = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!.trim());
      const api = /^# rejected-by: api-server$/m.test(text);
      const manifest = parse(text) as FlyteWorkflow;
      const name = `${prefix}-${basename(file, '.yaml')}`;
      manifest.metadata = { ...manifest.metadata, name };
      return { name, category: categoryOf(file, api), source: `test/fixtures/${dir}/${file}`, kind: api ? 'api' : 'invalid', body: manifest, expect } satisfies Entry;
    });
}

const manifest = (name: string, spec: unknown): FlyteWorkflow => ({ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { name } as FlyteWorkflow['metadata'], spec });
const T = { interface: { inputs: { x: 'int' }, outputs: { o0: 'int' } }, container: { image: 'python:3.12-slim', command: ['python3', '-c', 'pass'] } };
const S = { interface: { outputs: { o0: 'int' } }, container: { image: 'python:3.12-slim', command: ['python3', '-c', 'pass'] } };
const K100 = 'x'.repeat(100_000);
/** A raw JSON body, for numbers JavaScript cannot even hold. */
const raw = (name: string, spec: string) => `{"apiVersion":"flyte.propeller.dev/v1alpha1","kind":"FlyteWorkflow","metadata":{"name":"${name}"},"spec":${spec}}`;
const RAW_TASKS = `"tasks":{"t":{"interface":{"inputs":{"x":"int"},"outputs":{"o0":"int"}},"container":{"image":"x","command":["true"]}}}`;

/** A 253-character DNS subdomain: valid as a FlyteWorkflow name, far too long for a pod name. */
const LONG_NAME = (() => {
  const base = `long-${'a'.repeat(58)}.${'b'.repeat(63)}.${'c'.repeat(63)}.`;
  return `${base}${'d'.repeat(253 - base.length - 1)}z`;
})();

function generated(): Entry[] {
  const chain = (n: number, cycle: boolean) => {
    const nodes: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) nodes[`n${i}`] = i === 0 ? (cycle ? { task: 's', after: [`n${n - 1}`] } : { task: 's' }) : { task: 's', after: [`n${i - 1}`] };
    return nodes;
  };
  const flat = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`n${i}`, { task: 's' }]));
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = [deep];
  const entries: Entry[] = [
    // Huge graphs.
    { name: 'gen-cycle-10000-nodes', category: 'huge', source: 'generated', kind: 'invalid', fullOnly: true, body: manifest('gen-cycle-10000-nodes', { tasks: { s: S }, nodes: chain(10_000, true) }), expect: ['workflow: nodes: dependency cycle: "n0" → "n1" → "n2"'] },
    { name: 'gen-over-node-limit', category: 'huge', source: 'generated', kind: 'invalid', fullOnly: true, body: manifest('gen-over-node-limit', { tasks: { s: S }, nodes: flat(MAX_NODES + 1) }), expect: [`workflow: nodes: ${MAX_NODES + 1} nodes exceed the limit of ${MAX_NODES} per workflow`] },
    // 100 KB strings.
    { name: 'gen-100kb-value-for-int', category: 'strings', source: 'generated', kind: 'invalid', body: manifest('gen-100kb-value-for-int', { tasks: { t: T }, nodes: { a: { task: 't', inputs: { x: { value: K100 } } } } }), expect: ['node "a": input "x": type mismatch: expected int, got str "xxxxxxxx'] },
    {
      name: 'gen-100kib-inputs-too-large',
      category: 'strings',
      source: 'generated',
      kind: 'cannotStart',
      code: 'InputsTooLarge',
      body: manifest('gen-100kib-inputs-too-large', { tasks: { c: { interface: { inputs: { s: 'str' } }, container: { image: 'x', command: ['true'] } } }, nodes: { a: { task: 'c', inputs: { s: { value: 'x'.repeat(100 * 1024) } } } } }),
      expect: ['node "a" failed', 'InputsTooLarge', 'FLYTE_INPUTS'],
    },
    { name: 'gen-100kb-description', category: 'strings', source: 'generated', kind: 'api', body: manifest('gen-100kb-description', { description: K100, tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['spec.description', 'Too long'] },
    { name: 'gen-100kb-metadata-name', category: 'strings', source: 'generated', kind: 'api', body: manifest(K100, { tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['metadata.name'] },
    { name: 'gen-100kb-node-name', category: 'strings', source: 'generated', kind: 'invalid', body: manifest('gen-100kb-node-name', { tasks: { s: S }, nodes: { [K100]: { task: 's' } } }), expect: ['node "xxxxxxxx', 'invalid node name'] },
    { name: 'gen-100kb-task-name', category: 'strings', source: 'generated', kind: 'invalid', body: manifest('gen-100kb-task-name', { tasks: { [K100]: S }, nodes: { a: { task: K100 } } }), expect: ['task "xxxxxxxx', 'invalid task name'] },
    { name: 'gen-100kb-input-name', category: 'strings', source: 'generated', kind: 'invalid', body: manifest('gen-100kb-input-name', { interface: { inputs: { [K100]: 'int' } }, tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['workflow: interface.inputs: invalid name "xxxxxxxx'] },
    { name: 'gen-100kb-output-name', category: 'strings', source: 'generated', kind: 'invalid', body: manifest('gen-100kb-output-name', { tasks: { s: S }, nodes: { a: { task: 's' } }, outputs: { [K100]: { from: 'a.o0' } } }), expect: ['workflow: outputs.xxxxxxxx', 'not declared in interface.outputs'] },
    {
      name: 'gen-100kb-template-input-name',
      category: 'strings',
      source: 'generated',
      kind: 'invalid',
      body: manifest('gen-100kb-template-input-name', { tasks: { c: { container: { image: 'x', command: [`{{.inputs.${K100}}}`] } } }, nodes: { a: { task: 'c' } } }),
      expect: ['task "c": container.command[0]: template "{{.inputs.xxxxxxxx', 'names unknown input'],
    },
    {
      name: 'gen-700kb-output-name',
      category: 'strings',
      source: 'generated',
      kind: 'invalid',
      body: manifest('gen-700kb-output-name', { tasks: { s: S }, nodes: { a: { task: 's' } }, outputs: { ['y'.repeat(700_000)]: { from: 'a.o0' } } }),
      expect: ['workflow: outputs.yyyyyyyy', 'not declared in interface.outputs'],
    },
    // Names.
    { name: 'gen-254-char-name', category: 'names', source: 'generated', kind: 'api', body: manifest(`${LONG_NAME}x`, { tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['metadata.name', 'must be no more than 253 characters'] },
    { name: 'gen-uppercase-name', category: 'names', source: 'generated', kind: 'api', body: manifest('Bad_Name', { tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['metadata.name', 'RFC 1123'] },
    { name: 'gen-combining-mark-node-name', category: 'names', source: 'generated', kind: 'invalid', body: manifest('gen-combining-mark-node-name', { tasks: { s: S }, nodes: { 'cafe\u0301': { task: 's' } } }), expect: ['node "cafe\u0301": invalid node name'] },
    { name: 'gen-long-task-name-64', category: 'names', source: 'generated', kind: 'invalid', body: manifest('gen-long-task-name-64', { tasks: { ['t'.repeat(64)]: S }, nodes: { a: { task: 't'.repeat(64) } } }), expect: [`task "${'t'.repeat(64)}": invalid task name`] },
    { name: 'gen-version-too-long', category: 'names', source: 'generated', kind: 'api', body: manifest('gen-version-too-long', { tasks: { s: { ...S, version: 'v'.repeat(129) } }, nodes: { a: { task: 's' } } }), expect: ['spec.tasks.s.version'] },
    // Code bundles: a ConfigMap name too long for the schema, and one of the right length that no object can have.
    { name: 'gen-code-configmap-254', category: 'names', source: 'generated', kind: 'api', body: manifest('gen-code-configmap-254', { tasks: { s: { ...S, code: { configMap: 'c'.repeat(254) } } }, nodes: { a: { task: 's' } } }), expect: ['spec.tasks.s.code.configMap', 'Too long'] },
    {
      name: 'gen-code-configmap-253-uppercase',
      category: 'names',
      source: 'generated',
      kind: 'invalid',
      body: manifest('gen-code-configmap-253-uppercase', { tasks: { s: { ...S, code: { configMap: 'C'.repeat(253) } } }, nodes: { a: { task: 's' } } }),
      expect: ['task "s": code.configMap: "CCCCCCCC', 'is not a ConfigMap name'],
    },
    { name: 'gen-service-account-too-long', category: 'names', source: 'generated', kind: 'api', body: manifest('gen-service-account-too-long', { serviceAccountName: 's'.repeat(254), tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['spec.serviceAccountName'] },
    { name: 'gen-type-text-too-long', category: 'types', source: 'generated', kind: 'api', body: manifest('gen-type-text-too-long', { interface: { inputs: { x: `${'list['.repeat(60)}int${']'.repeat(60)}` } }, tasks: { s: S }, nodes: { a: { task: 's' } } }), expect: ['spec.interface.inputs.x', 'Too long'] },
    { name: 'gen-nested-300-deep', category: 'types', source: 'generated', kind: 'invalid', body: manifest('gen-nested-300-deep', { tasks: { c: { interface: { inputs: { x: 'dict' } }, container: { image: 'x', command: ['true'] } } }, nodes: { a: { task: 'c', inputs: { x: { value: deep } } } } }), expect: ['workflow: (spec): nested more than 200 levels deep'] },
    {
      name: 'gen-typo-field-strict',
      category: 'schema',
      source: 'generated (kubectl-style strict field validation)',
      kind: 'api',
      status: 400,
      query: { fieldValidation: 'Strict' },
      body: manifest('gen-typo-field-strict', { tasks: { s: S }, nodes: { a: { task: 's', retires: 3 } } }),
      expect: ['unknown field "spec.nodes.a.retires"'],
    },
    // Numbers, as raw JSON so that JavaScript cannot round them before the API server sees them.
    { name: 'gen-raw-int-2-53-plus-1', category: 'numbers', source: 'generated (raw JSON)', kind: 'invalid', body: raw('gen-raw-int-2-53-plus-1', `{"interface":{"inputs":{"x":"int"}},"inputs":{"x":9007199254740993},${RAW_TASKS},"nodes":{"a":{"task":"t","inputs":{"x":{"from":"inputs.x"}}}}}`), expect: ['workflow: inputs.x: type mismatch: expected int, got int 9007199254740992, beyond ±(2^53−1)'] },
    { name: 'gen-raw-int-minus-2-63', category: 'numbers', source: 'generated (raw JSON)', kind: 'invalid', body: raw('gen-raw-int-minus-2-63', `{${RAW_TASKS},"nodes":{"a":{"task":"t","inputs":{"x":{"value":-9223372036854775808}}}}}`), expect: ['node "a": input "x": type mismatch: expected int', 'beyond ±(2^53−1)'] },
    { name: 'gen-raw-int-2-64', category: 'numbers', source: 'generated (raw JSON)', kind: 'invalid', body: raw('gen-raw-int-2-64', `{${RAW_TASKS},"nodes":{"a":{"task":"t","inputs":{"x":{"value":18446744073709551616}}}}}`), expect: ['node "a": input "x": type mismatch: expected int', 'beyond ±(2^53−1)'] },
    { name: 'gen-raw-retries-2-64', category: 'numbers', source: 'generated (raw JSON)', kind: 'api', body: raw('gen-raw-retries-2-64', `{${RAW_TASKS},"nodes":{"a":{"task":"t","retries":18446744073709551616,"inputs":{"x":{"value":1}}}}}`), expect: ['spec.nodes.a.retries'] },
    { name: 'gen-raw-max-parallelism-1e6', category: 'numbers', source: 'generated (raw JSON)', kind: 'api', body: raw('gen-raw-max-parallelism-1e6', `{"maxParallelism":1000000,${RAW_TASKS},"nodes":{"a":{"task":"t","inputs":{"x":{"value":1}}}}}`), expect: ['spec.maxParallelism', 'less than or equal to 100000'] },
    { name: 'gen-raw-task-retries-101', category: 'numbers', source: 'generated (raw JSON)', kind: 'api', body: raw('gen-raw-task-retries-101', `{"tasks":{"t":{"retries":101,"container":{"image":"x"}}},"nodes":{"a":{"task":"t"}}}`), expect: ['spec.tasks.t.retries', 'less than or equal to 100'] },
    { name: 'gen-raw-number-1e400', category: 'numbers', source: 'generated (raw JSON)', kind: 'api', status: 400, body: raw('gen-raw-number-1e400', `{"inputs":{"x":1e400},${RAW_TASKS},"nodes":{"a":{"task":"t"}}}`), expect: ['1e400'] },
    // The one valid case: a 253-character name. Its pods still get valid, distinct names.
    {
      name: LONG_NAME,
      category: 'valid',
      source: 'generated',
      kind: 'valid',
      body: manifest(LONG_NAME, {
        pod: KWOK_POD,
        tasks: { k: { interface: { outputs: { o0: 'int' } }, container: { image: 'x', command: ['true'], env: [{ name: 'KWOK_DURATION', value: '200ms' }, { name: 'KWOK_MESSAGE', value: '{"o0": 1}' }] } } },
        nodes: { first: { task: 'k' }, 'second-node': { task: 'k' }, Second_Node: { task: 'k' }, 'SECOND-NODE': { task: 'k' }, [`n${'x'.repeat(62)}`]: { task: 'k' } },
      }),
      expect: [],
    },
  ];
  return entries;
}

function corpus(): Entry[] {
  const all = [...fixtures('invalid', 'inv'), ...fixtures('hostile', 'hos'), ...generated()];
  if (SCALE === 'full') return all;
  // Smoke: one seeded pick per category (never the 10,000-node graphs), plus the valid long name.
  const random = rng(SEED);
  const picked: Entry[] = [];
  for (const category of Object.keys(CATEGORIES) as Category[]) {
    const options = all.filter((e) => e.category === category && !e.fullOnly);
    if (options.length) picked.push(options[Math.floor(random() * options.length)]!);
  }
  const rest = all.filter((e) => !e.fullOnly && !picked.includes(e));
  picked.push(rest[Math.floor(random() * rest.length)]!);
  return picked;
}

// ---------------------------------------------------------------------------------------------------------
// The test

interface Outcome {
  entry: Entry;
  /** What happened, checked per kind. */
  problems: string[];
  accepted: boolean;
  final?: FlyteWorkflow;
}

describe('hostile input', () => {
  let pods: Recorder<Pod>;
  let workflows: Recorder<FlyteWorkflow>;
  after(async () => {
    await pods?.stop();
    await workflows?.stop();
  });
  // Resync off for the run: every round counted comes from the workflows themselves.
  const env = useChartEnv('hostile', ['--workflow-max-nodes', String(MAX_NODES), '--resync-period-ms', '600000']);
  before(async () => {
    pods = await podRecorder(env());
    workflows = await workflowRecorder(env());
  });

  test('every hostile input is refused clearly, starts no pod, and the loop stays calm', { timeout: 420_000 }, async () => {
    const entries = corpus();
    process.stderr.write(`[hostile-input] ${entries.length} cases (${SCALE})\n`);
    const outcomes: Outcome[] = [];
    // The valid workflow first, on its own: its pods make rounds too, which must not count against the invalid ones.
    for (const e of entries.filter((x) => x.kind === 'valid')) {
      const o = await submitOne(env(), e);
      if (o.accepted) o.final = await settle(env(), e);
      outcomes.push(o);
    }
    await sleep(1000);
    const roundsBefore = await roundsRun(env().port);
    // Then the rest, a few at a time: the 10,000-node specs are large.
    const queue = entries.filter((x) => x.kind !== 'valid');
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let e = queue.shift(); e; e = queue.shift()) outcomes.push(await submitOne(env(), e));
      }),
    );
    const accepted = outcomes.filter((o) => o.accepted);
    const invalidAccepted = accepted.filter((o) => o.entry.kind !== 'valid');
    // Wait for each accepted workflow to end and to lose its finalizer.
    await Promise.all(invalidAccepted.map(async (o) => (o.final = await settle(env(), o.entry))));
    await sleep(1500);
    const roundsSettled = await roundsRun(env().port);
    await sleep(3000);
    const roundsQuiet = await roundsRun(env().port);
    const alive = await propellerAlive(env());
    const forbidden = forbiddenLines(env());
    const errorLines = logsOf(env().propeller).split('\n').filter((l) => /round failed|"level":(50|60)/.test(l));
    const rounds = roundsSettled - roundsBefore;

    for (const o of accepted) judge(o, pods, workflows);
    // Errors the propeller logged about one workflow count against that case; the rest against all of them.
    const roundErrors: string[] = [];
    for (const line of errorLines) {
      const about = /"workflow":"[^"/]*\/([^"]*)"/.exec(line)?.[1];
      const o = about === undefined ? undefined : outcomes.find((x) => nameOf(x.entry) === about);
      if (o) o.problems.push(`the propeller logged an error about it: ${line.slice(0, 300)}`);
      else roundErrors.push(line);
    }

    for (const o of outcomes) for (const p of o.problems) process.stderr.write(`[hostile-input] ${o.entry.source} ${nameOf(o.entry).slice(0, 60)}: ${p.slice(0, 600)}\n`);
    const health = `propeller up: ${alive}; ${rounds} rounds for ${invalidAccepted.length} invalid workflows the API server accepted (≤ ${ROUNDS_PER_WORKFLOW} each allowed), ${roundsQuiet - roundsSettled} in the 3 s after`;
    process.stderr.write(`[hostile-input] ${health}\n`);
    const rows = new Rows();
    for (const [category, fault] of Object.entries(CATEGORIES) as [Category, string][]) {
      const mine = outcomes.filter((o) => o.entry.category === category);
      if (!mine.length) continue;
      await rows.run(fault, async (row, checks) => {
        row.injected = mine.length;
        row.workflows = mine.filter((o) => o.accepted).length;
        const good = mine.filter((o) => o.problems.length === 0).length;
        for (const o of mine) for (const p of o.problems) checks.ok(false, `${o.entry.source}${o.entry.source === 'generated' ? ` ${o.entry.name.slice(0, 40)}` : ''}: ${p}`);
        loopChecks(checks, { alive, forbidden, roundErrors, rounds, accepted: invalidAccepted.length, quietGrowth: roundsQuiet - roundsSettled });
        const api = mine.filter((o) => o.entry.kind === 'api').length;
        const failed = mine.filter((o) => o.entry.kind === 'invalid' || o.entry.kind === 'cannotStart').length;
        const valid = mine.filter((o) => o.entry.kind === 'valid').length;
        const parts = [];
        if (api) parts.push(`${api} refused by the API server (422, or 400 for undecodable or unknown fields) naming the field or value`);
        if (failed) parts.push(`${failed} Failed on the first round naming node, field and reason, no pod`);
        if (valid) parts.push(`${valid} valid: Succeeded with valid, distinct pod names`);
        row.outcome = `${good}/${mine.length} as expected: ${parts.join('; ')}`;
        if (category === 'huge' || category === 'types') row.notes = health;
      });
    }
    rows.finish();
  });
});

/** POSTs one entry and checks what the API server says. */
async function submitOne(env: ChartEnv, entry: Entry): Promise<Outcome> {
  const outcome: Outcome = { entry, problems: [], accepted: false };
  const err = await env.client.request('POST', wfsPath(env.ns), { body: entry.body, ...(entry.query ? { query: entry.query } : {}) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (entry.kind !== 'api') {
    if (err) outcome.problems.push(`the API server refused it: ${err instanceof KubeApiError ? `${err.status} ${err.serverMessage.slice(0, 300)}` : String(err)}`);
    else outcome.accepted = true;
    return outcome;
  }
  if (!err) {
    outcome.accepted = true;
    outcome.problems.push('the API server accepted it');
    return outcome;
  }
  if (!(err instanceof KubeApiError)) {
    outcome.problems.push(`failed without an API error: ${String(err)}`);
    return outcome;
  }
  const status = entry.status ?? 422;
  if (err.status !== status) outcome.problems.push(`HTTP ${err.status}, expected ${status}: ${err.serverMessage.slice(0, 300)}`);
  for (const e of entry.expect) if (!err.serverMessage.includes(e)) outcome.problems.push(`the rejection does not name ${JSON.stringify(e)}: ${err.serverMessage.slice(0, 300)}`);
  return outcome;
}

const nameOf = (e: Entry) => (typeof e.body === 'string' ? e.name : e.body.metadata.name);

/** Waits until the workflow is finished and its finalizer is gone (or a deadline passes). */
async function settle(env: ChartEnv, entry: Entry): Promise<FlyteWorkflow | undefined> {
  const deadline = Date.now() + (entry.fullOnly ? 120_000 : 60_000);
  let last: FlyteWorkflow | undefined;
  while (Date.now() < deadline) {
    last = await env.client.request<FlyteWorkflow>('GET', wfPath(env.ns, nameOf(entry))).catch(() => last);
    const phase = last?.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed' || phase === 'Aborted') && !last?.metadata.finalizers?.includes(FINALIZER_NAME)) return last;
    await sleep(250);
  }
  return last;
}

function judge(o: Outcome, pods: Recorder<Pod>, workflows: Recorder<FlyteWorkflow>): void {
  const { entry } = o;
  const name = nameOf(entry);
  const st = o.final?.status;
  const p = o.problems;
  const mine = [...pods.uids().values()].filter((pod) => pod.metadata.annotations?.[L.workflow] === name);
  if (!o.final) {
    p.push('the workflow vanished');
    return;
  }
  if (o.final.metadata.finalizers?.includes(FINALIZER_NAME)) p.push('the finalizer is still on the finished workflow');
  if (entry.kind === 'valid') {
    if (st?.phase !== 'Succeeded') p.push(`ended ${st?.phase}: ${st?.message}`);
    const nodes = Object.keys((o.final.spec as { nodes: object }).nodes);
    const names = mine.map((pod) => pod.metadata.name);
    if (names.length !== nodes.length) p.push(`${names.length} pods for ${nodes.length} nodes: ${names.join(', ')}`);
    if (new Set(names).size !== names.length) p.push(`pod names repeat: ${names.join(', ')}`);
    for (const n of names) if (!DNS_LABEL.test(n)) p.push(`pod name ${n} is not a DNS-1123 label`);
    const byNode = new Set(mine.map((pod) => pod.metadata.annotations?.[L.node]));
    for (const n of nodes) if (!byNode.has(n)) p.push(`no pod carries node ${n} in its annotation`);
    return;
  }
  if (mine.length) p.push(`${mine.length} pod(s) created: ${mine.map((pod) => pod.metadata.name).join(', ')}`);
  if (st?.phase !== 'Failed') {
    p.push(`ended ${st?.phase ?? '(no phase)'}, not Failed: ${st?.message?.slice(0, 200)}`);
    return;
  }
  const phases = workflows.events.filter((e) => e.object.metadata.name === name).map((e) => e.object.status?.phase ?? '(none)');
  if (!phases.every((ph) => ph === '(none)' || ph === 'Failed')) p.push(`phases before Failed: ${phases.join(' → ')}`);
  const message = st.message ?? '';
  const code = entry.code ?? 'InvalidWorkflow';
  if (st.error?.code !== code) p.push(`error code ${st.error?.code}, expected ${code}: ${message.slice(0, 300)}`);
  if (st.error?.kind !== 'Permanent') p.push(`error kind ${st.error?.kind}, expected Permanent`);
  if (entry.kind === 'invalid' && !message.startsWith('invalid workflow: ')) p.push(`message does not start with "invalid workflow: ": ${message.slice(0, 300)}`);
  for (const e of entry.expect) if (!message.includes(e)) p.push(`status.message does not contain ${JSON.stringify(e.slice(0, 120))}: ${JSON.stringify(message.slice(0, 400))}`);
  if (message.length > MESSAGE_LIMIT) p.push(`status.message is ${message.length} characters`);
  const errorMessage = st.error?.message ?? '';
  if (errorMessage.length > ERROR_MESSAGE_LIMIT) p.push(`status.error.message is ${errorMessage.length} characters (a name copied in full?)`);
  if (!st.finishedAt) p.push('finishedAt is not set');
}

function loopChecks(checks: Checks, s: { alive: boolean; forbidden: string[]; roundErrors: string[]; rounds: number; accepted: number; quietGrowth: number }): void {
  checks.ok(s.alive, 'the propeller is up and healthy');
  checks.equal(s.forbidden.length, 0, `requests forbidden under the chart's RBAC (${s.forbidden.slice(0, 1).join('').slice(0, 200)})`);
  checks.equal(s.roundErrors.length, 0, `failed rounds or errors in the log (${s.roundErrors.slice(0, 1).join('').slice(0, 300)})`);
  checks.ok(s.rounds <= ROUNDS_PER_WORKFLOW * Math.max(1, s.accepted), `${s.rounds} rounds for ${s.accepted} workflows: more than ${ROUNDS_PER_WORKFLOW} each`);
  checks.equal(s.quietGrowth, 0, 'rounds once every workflow had settled (a hot loop)');
}

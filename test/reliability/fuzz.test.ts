// Property-based fuzzing of specs through compileWorkflow and plan (pure, no cluster). Valid specs are
// generated, then mutated: fields dropped, keys renamed, values retyped, bindings swapped, cycles added,
// random JSON put anywhere, huge and odd strings, deep nesting, numbers out of range. Arbitrary JSON is
// thrown at them too. Properties:
//   - compileWorkflow and plan never throw;
//   - an invalid spec never yields a CreatePod action, and fails with InvalidWorkflow and a bounded message;
//   - a valid spec's first round creates pods only for root nodes (computed here from the raw spec),
//     within the parallelism limit, with distinct valid DNS-1123 pod names.
// Full: 20,000 cases; smoke: 1,000. RELIABILITY_SEED replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Binding } from '../../src/api/flyteworkflow.ts';
import { compileWorkflow } from '../../src/core/compile.ts';
import { plan, type PlanConfig, type PlanResult } from '../../src/core/plan.ts';
import type { TaskPlugin } from '../../src/core/task-plugin.ts';
import { containerPlugin } from '../../src/plugins/container/plugin.ts';
import { randomDag, specOf } from '../unit/core/random-dag.ts';
import { regressionSpec, task } from '../unit/core/specs.ts';
import { runSeed, withRow } from './fault-row.ts';
import { SCALE } from './results.ts';

const TOTAL = SCALE === 'full' ? 20_000 : 1_000;
const SEED = runSeed('fuzz');
const PLUGINS: ReadonlyMap<string, TaskPlugin> = new Map([['container', containerPlugin]]);
const NOW = Date.parse('2025-01-01T00:00:00Z');
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MESSAGE_LIMIT = 1024;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

// ---------------------------------------------------------------------------------------------------------
// Valid specs

/** A spec exercising every type and binding form, all valid. */
function typedSpec(): Json {
  return {
    description: 'every type',
    interface: {
      inputs: { n: 'int', f: 'float', s: 'str', b: 'bool', when: 'datetime', d: 'duration', xs: 'list[int]', m: 'dict[str, float]', any: 'dict', opt: 'Optional[str]' },
      outputs: { total: 'float', label: 'Optional[str]', grid: 'list[list[int]]' },
    },
    inputs: { n: 3, f: 2.5, s: 'hello', b: true, when: '2024-05-01T10:00:00Z', d: '1h30m', xs: [1, 2, 3], m: { a: 1.5 }, any: { k: [1, 'x'] } },
    tasks: {
      mix: task({ inputs: { n: 'int', f: 'float', xs: 'List[int]', m: 'Dict[str, float]', opt: 'Optional[str]' }, outputs: { o: 'float', l: 'Optional[str]' }, command: ['run', '{{.inputs.n}}', '{{ .inputs.opt }}'] }) as Json,
      grid: task({ inputs: { rows: 'list[list[int]]', tag: 'str' }, outputs: { g: 'list[list[int]]' }, retries: 2, timeout: '5m' }) as Json,
      sink: task({ inputs: { a: 'float', b: 'list[list[int]]', extra: 'dict' } }) as Json,
    },
    nodes: {
      first: { task: 'mix', inputs: { n: { from: 'inputs.n' }, f: { from: 'inputs.n' }, xs: { list: [{ value: 1 }, { from: 'inputs.n' }] }, m: { dict: { k: { from: 'inputs.f' } } }, opt: { from: 'inputs.opt' } } },
      second: { task: 'grid', inputs: { rows: { list: [{ from: 'inputs.xs' }, { value: [4, 5] }] }, tag: { value: 'a' } }, retries: 1, timeout: '90s' },
      last: { task: 'sink', inputs: { a: { from: 'first.o' }, b: { from: 'second.g' }, extra: { from: 'inputs.any' } }, after: ['first'] },
    },
    outputs: { total: { from: 'first.o' }, label: { from: 'first.l' }, grid: { from: 'second.g' } },
    maxParallelism: 2,
    failurePolicy: 'FailAfterExecutableNodesComplete',
    timeout: '1h',
    serviceAccountName: 'runner',
    pod: { nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'k', operator: 'Exists' }], labels: { team: 'a' } },
  };
}

const validSpec: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: randomDag(12).map((d) => specOf(d) as Json) },
  { weight: 1, arbitrary: fc.constant(null).map(() => regressionSpec() as Json) },
  { weight: 2, arbitrary: fc.constant(null).map(() => typedSpec()) },
);

// ---------------------------------------------------------------------------------------------------------
// Hostile values

const HUGE = 'x'.repeat(100_000);
const HUGE_UNICODE = '界💥'.repeat(25_000);
const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', ' ', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'inputs', 'inputs.', '.o', 'a.b.c', 'inputs.__proto__', '__proto__.o',
    '{{.inputs.x}}', '{{ .inputs.nope }}', '{{.env.HOME}}', '{{.inputs}}', '{{', '}}', '$(rm -rf /)', '$$', "'; DROP TABLE x; --",
    'Optional[', 'list[', 'list[list[list[list[list[list[list[list[list[list[list[list[list[list[list[list[list[int]]]]]]]]]]]]]]]]]', 'dict[str, Optional[list[float]]]', 'Dict[int, str]',
    'a'.repeat(63), 'a'.repeat(64), 'A-'.repeat(40), '\u0000', '\ud800', '\udfff', 'e\u0301', 'nöde', '节点', '🚀', 'ﷺ'.repeat(20), '\u202e\u202d',
    '9007199254740993', '-1', '1e309', 'NaN', '0x10', '1h', '-5s', '99999999999h', '1.5.5', 'P1D',
    HUGE, HUGE_UNICODE,
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, -0, 0.5, -1, 101, 100_001, 2 ** 31, 2 ** 63, 1e21),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
/** Only objects built in memory carry these; JSON cannot. */
const nonJsonNumber = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);

function nested(depth: number, kind: number): Json {
  let v: Json = kind === 0 ? 1 : { value: 1 };
  for (let i = 0; i < depth; i++) v = kind === 0 ? [v] : kind === 1 ? { list: [v] } : { dict: { k: v } };
  return v;
}

const payload: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: oddString },
  { weight: 2, arbitrary: oddNumber },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 50, max: 400 }), fc.integer({ min: 0, max: 2 })).map(([d, k]) => nested(d, k)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ from: 'inputs.n' }, { value: null }, { list: [] }, { dict: {} }, { from: 'x.y', value: 1 }, {}, [], [[]], { task: 't' }, JSON.parse('{"__proto__": {"polluted": true}}')) },
  { weight: 1, arbitrary: nonJsonNumber },
  { weight: 1, arbitrary: fc.anything({ withNullPrototype: true, withObjectString: true, withBoxedValues: true, withSparseArray: true, maxDepth: 3 }) },
);

// ---------------------------------------------------------------------------------------------------------
// Mutations

const KINDS = ['drop', 'rename', 'retype', 'swap', 'swapBindings', 'cycle', 'selfLoop', 'json', 'string', 'key', 'number', 'deep', 'dangling', 'dupNode'] as const;
type Kind = (typeof KINDS)[number];
interface Mutation {
  kind: Kind;
  a: number;
  b: number;
  payload: unknown;
  text: string;
  number: number;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom(...KINDS),
  a: fc.nat(1_000_000),
  b: fc.nat(1_000_000),
  payload,
  text: oddString,
  number: oddNumber,
});

type Path = (string | number)[];
function paths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, Array.isArray(value) ? Number(k) : k]))];
}
function getAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) v = (v as Record<string | number, unknown>)?.[p];
  return v;
}
function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (!path.length) return value;
  const parent = getAt(root, path.slice(0, -1));
  if (typeof parent === 'object' && parent !== null) Object.defineProperty(parent, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}
/** Binding-shaped objects and where they are. */
function bindingPaths(spec: unknown): Path[] {
  return paths(spec).filter((p) => {
    const v = getAt(spec, p);
    return typeof v === 'object' && v !== null && !Array.isArray(v) && ('from' in v || 'value' in v || 'list' in v || 'dict' in v);
  });
}
const nodeNames = (spec: unknown): string[] => {
  const nodes = (spec as { nodes?: unknown })?.nodes;
  return typeof nodes === 'object' && nodes !== null ? Object.keys(nodes) : [];
};

function applyMutation(spec: unknown, m: Mutation): unknown {
  const all = paths(spec);
  const pick = (list: Path[], r: number) => list[r % list.length]!;
  const inner = all.filter((p) => p.length > 0);
  const nodes = nodeNames(spec);
  const nodeAt = (r: number) => nodes[r % nodes.length]!;
  const nodeObj = (name: string) => (spec as { nodes: Record<string, Record<string, unknown>> }).nodes[name]!;
  switch (m.kind) {
    case 'drop': {
      if (!inner.length) return spec;
      const p = pick(inner, m.a);
      const parent = getAt(spec, p.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(p.at(-1) as number, 1);
      else if (typeof parent === 'object' && parent !== null) delete (parent as Record<string, unknown>)[p.at(-1)!];
      return spec;
    }
    case 'rename':
    case 'key': {
      const keyed = inner.filter((p) => typeof p.at(-1) === 'string');
      if (!keyed.length) return spec;
      const p = pick(keyed, m.a);
      const parent = getAt(spec, p.slice(0, -1)) as Record<string, unknown>;
      const old = p.at(-1) as string;
      const siblings = Object.keys(parent);
      // Rename to a sibling (collides), another node's name (confuses references) or an odd string.
      const to = m.kind === 'key' ? m.text : [siblings[m.b % siblings.length]!, nodes.length ? nodeAt(m.b) : 'n0', `${old}_2`, old.toUpperCase()][m.b % 4]!;
      const value = parent[old];
      delete parent[old];
      Object.defineProperty(parent, to, { value, enumerable: true, writable: true, configurable: true });
      return spec;
    }
    case 'retype': {
      const p = pick(all, m.a);
      const v = getAt(spec, p);
      const replacement = typeof m.payload === typeof v && Array.isArray(m.payload) === Array.isArray(v) ? [m.payload] : m.payload;
      return setAt(spec, p, replacement);
    }
    case 'swap': {
      if (inner.length < 2) return spec;
      const p = pick(inner, m.a);
      const q = pick(inner, m.b);
      // Not one inside the other.
      if (p.length <= q.length ? q.slice(0, p.length).join('\0') === p.join('\0') : p.slice(0, q.length).join('\0') === q.join('\0')) return spec;
      const vp = getAt(spec, p);
      const vq = getAt(spec, q);
      setAt(spec, p, vq);
      setAt(spec, q, vp);
      return spec;
    }
    case 'swapBindings': {
      const bs = bindingPaths(spec).filter((p) => p.length > 0);
      if (bs.length < 2) return spec;
      const p = pick(bs, m.a);
      const q = pick(bs, m.b);
      if (p.join('\0') === q.join('\0') || q.join('\0').startsWith(p.join('\0')) || p.join('\0').startsWith(q.join('\0'))) return spec;
      const vp = clone(getAt(spec, p));
      setAt(spec, p, clone(getAt(spec, q)));
      setAt(spec, q, vp);
      return spec;
    }
    case 'cycle': {
      if (nodes.length < 2) return spec;
      // A cycle through data (a from binding) or through after, over two nodes that may already be linked.
      const x = nodeAt(m.a);
      const y = nodeAt(m.b === m.a ? m.b + 1 : m.b);
      const nx = nodeObj(x);
      const ny = nodeObj(y);
      if (typeof nx !== 'object' || nx === null || typeof ny !== 'object' || ny === null) return spec;
      ny.after = [...(Array.isArray(ny.after) ? ny.after : []), x];
      if (m.b % 2 === 0) nx.after = [...(Array.isArray(nx.after) ? nx.after : []), y];
      else if (typeof nx.inputs === 'object' && nx.inputs !== null) {
        const inputs = nx.inputs as Record<string, unknown>;
        const first = Object.keys(inputs)[0];
        if (first !== undefined) inputs[first] = { list: [{ from: `${y}.o` }] };
        else nx.after = [y];
      } else nx.after = [y];
      return spec;
    }
    case 'selfLoop': {
      if (!nodes.length) return spec;
      const x = nodeAt(m.a);
      const nx = nodeObj(x);
      if (typeof nx !== 'object' || nx === null) return spec;
      if (m.b % 2) nx.after = [x];
      else nx.inputs = { ...(typeof nx.inputs === 'object' && nx.inputs !== null ? nx.inputs : {}), xs: { list: [{ from: `${x}.o` }] } };
      return spec;
    }
    case 'json':
      return setAt(spec, pick(all, m.a), m.payload);
    case 'string':
      return setAt(spec, pick(all, m.a), m.text);
    case 'number':
      return setAt(spec, pick(all, m.a), m.number);
    case 'deep':
      return setAt(spec, pick(all, m.a), nested(150 + (m.b % 300), m.b % 3));
    case 'dangling': {
      const bs = bindingPaths(spec);
      if (!bs.length) return spec;
      const refs = [`ghost.o`, `inputs.ghost`, `${nodes[0] ?? 'a'}.nope`, 'inputs', '.', `${m.text}.o`, `inputs.${m.text}`];
      return setAt(spec, pick(bs, m.a), { from: refs[m.b % refs.length] });
    }
    case 'dupNode': {
      if (!nodes.length) return spec;
      // Many copies of a node: over small node limits, and names that differ only in case or punctuation.
      const x = nodeAt(m.a);
      const all = (spec as { nodes: Record<string, unknown> }).nodes;
      const count = 1 + (m.b % 40);
      for (let i = 0; i < count; i++) all[[`${x}_${i}`, `${x.toUpperCase()}${i}`, `${x}-${i}`][i % 3]!] = clone(all[x]);
      return spec;
    }
  }
}

interface Case {
  source: 'mutated' | 'valid' | 'arbitrary';
  spec: unknown;
  config: PlanConfig;
  /** Pass the spec through a JSON round trip first (as the API server would hand it over). */
  viaJson: boolean;
}

const config: fc.Arbitrary<PlanConfig> = fc.record({
  maxSystemRetries: fc.nat(3),
  backoffBaseMs: fc.constant(1000),
  backoffMaxMs: fc.constant(60_000),
  defaultMaxParallelism: fc.nat(30),
  imagePullGraceMs: fc.constant(60_000),
  maxNodes: fc.oneof(fc.constant(10_000), fc.integer({ min: 1, max: 40 })),
});

const mutatedCase: fc.Arbitrary<Case> = fc.record({ base: validSpec, mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }), config, viaJson: fc.boolean() }).map(({ base, mutations, config, viaJson }) => {
  // The generated specs share objects (the sum task): mutate a copy.
  let spec: unknown = clone(base);
  for (const m of mutations) {
    try {
      spec = applyMutation(spec, m);
    } catch {
      // A payload that cannot be changed in place (a frozen object, a typed array): keep the spec as it is.
    }
  }
  return { source: 'mutated' as const, spec, config, viaJson };
});
const validCase: fc.Arbitrary<Case> = fc.record({ spec: validSpec, config, viaJson: fc.constant(true) }).map((c) => ({ ...c, spec: clone(c.spec), source: 'valid' as const }));
const arbitraryCase: fc.Arbitrary<Case> = fc
  .record({
    spec: fc.oneof(
      fc.anything({ withNullPrototype: true, withObjectString: true, withBoxedValues: true, withSparseArray: true, withMap: true, withSet: true, withBigInt: true, withDate: true, withTypedArray: true }),
      fc.jsonValue(),
      // Spec-shaped objects of random contents.
      fc.record({ tasks: fc.jsonValue(), nodes: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ tasks: fc.dictionary(oddString, fc.jsonValue(), { maxKeys: 3 }), nodes: fc.dictionary(oddString, fc.record({ task: oddString, inputs: fc.jsonValue(), after: fc.array(oddString, { maxLength: 3 }) }), { maxKeys: 4 }) }),
    ),
    config,
    viaJson: fc.boolean(),
  })
  .map((c) => ({ ...c, source: 'arbitrary' as const }));

// ---------------------------------------------------------------------------------------------------------
// The properties

/** Nodes each node depends on, read from the raw spec independently of compile (from heads and after). */
function rawDependencies(spec: Record<string, unknown>): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>();
  const nodes = spec['nodes'] as Record<string, { inputs?: Record<string, Binding>; after?: string[] }>;
  for (const [id, node] of Object.entries(nodes)) {
    const set = new Set<string>(node.after ?? []);
    const stack: unknown[] = Object.values(node.inputs ?? {});
    while (stack.length) {
      const b = stack.pop() as Record<string, unknown>;
      if (typeof b.from === 'string') {
        const head = b.from.slice(0, b.from.indexOf('.'));
        if (head !== 'inputs') set.add(head);
      } else if (Array.isArray(b.list)) stack.push(...b.list);
      else if (b.dict && typeof b.dict === 'object') stack.push(...Object.values(b.dict));
    }
    deps.set(id, set);
  }
  return deps;
}

const stats = { cases: 0, valid: 0, invalid: 0, podsAsked: 0, bySource: { mutated: 0, valid: 0, arbitrary: 0 } as Record<string, number> };

function check(c: Case): void {
  let spec = c.spec;
  if (c.viaJson) {
    try {
      spec = JSON.parse(JSON.stringify(spec) ?? 'null');
    } catch {
      // BigInts and cycles cannot become JSON: use the value as it is.
    }
  }
  stats.cases++;
  stats.bySource[c.source]!++;
  const compiled = compileWorkflow(spec, { maxNodes: c.config.maxNodes });
  const result: PlanResult = plan({ workflow: { name: 'fuzz', namespace: 'ns', uid: 'uid', generation: 1, spec }, pods: [], now: NOW, config: c.config, plugins: PLUGINS });
  const creates = result.actions.filter((a) => a.type === 'CreatePod');
  assert.deepEqual(result.actions.filter((a) => a.type === 'DeletePod'), [], 'a first round with no pods deletes nothing');
  assert.doesNotThrow(() => JSON.stringify(result.status), 'the status is JSON');
  assert.ok((result.status.message ?? '').length <= MESSAGE_LIMIT, `status.message is at most ${MESSAGE_LIMIT} characters (got ${result.status.message?.length})`);
  if (!compiled.ok) {
    stats.invalid++;
    assert.deepEqual(creates, [], 'an invalid spec yields no CreatePod');
    assert.equal(result.status.phase, 'Failed');
    assert.equal(result.status.error?.code, 'InvalidWorkflow');
    assert.ok(result.status.message?.startsWith('invalid workflow: '), result.status.message);
    assert.ok(compiled.errors.length >= 1 && compiled.errors.length <= 21, `1 to 20 errors (+1 summary line), got ${compiled.errors.length}`);
    for (const e of compiled.errors) assert.match(e, /^(workflow|node "|task "|… and \d+ more errors)/, `each error says where: ${e.slice(0, 200)}`);
    // A 100 KB name or a 10,000-node cycle must not flood the status: each error is bounded.
    for (const e of compiled.errors) assert.ok(e.length <= MESSAGE_LIMIT, `an error of ${e.length} characters: ${e.slice(0, 200)}…`);
    return;
  }
  stats.valid++;
  stats.podsAsked += creates.length;
  assert.notEqual(result.status.error?.code, 'InvalidWorkflow', 'plan agrees with compileWorkflow that the spec is valid');
  const deps = rawDependencies(spec as Record<string, unknown>);
  const names = new Set<string>();
  for (const a of creates) {
    if (a.type !== 'CreatePod') continue;
    assert.ok(deps.has(a.node), `a pod for an unknown node ${a.node}`);
    assert.deepEqual([...deps.get(a.node)!], [], `the first round created a pod for ${a.node}, which depends on ${[...deps.get(a.node)!].join(', ')}`);
    assert.equal(a.attempt, 0);
    assert.match(a.pod.metadata.name, DNS_LABEL, 'the pod name is a DNS-1123 label');
    assert.ok(!names.has(a.pod.metadata.name), `pod name ${a.pod.metadata.name} used twice`);
    names.add(a.pod.metadata.name);
  }
  const wanted = (spec as { maxParallelism?: number }).maxParallelism ?? c.config.defaultMaxParallelism;
  if (wanted > 0) assert.ok(creates.length <= wanted, `${creates.length} pods asked for at once, over the limit of ${wanted}`);
  const roots = [...deps.values()].filter((d) => d.size === 0).length;
  assert.ok(creates.length <= roots, `more pods (${creates.length}) than root nodes (${roots})`);
}

test('fuzzed specs through compileWorkflow and plan: never throw, never start an invalid workflow, start only roots of a valid one', { timeout: 600_000 }, async () => {
  const share = { mutated: Math.round(TOTAL * 0.7), valid: Math.round(TOTAL * 0.1), arbitrary: 0 };
  share.arbitrary = TOTAL - share.mutated - share.valid;
  const started = Date.now();
  await withRow('fuzzed specs through compileWorkflow and plan (fast-check)', async (row, checks) => {
    const failures: string[] = [];
    for (const [source, arb] of [['mutated', mutatedCase], ['valid', validCase], ['arbitrary', arbitraryCase]] as const) {
      const details = fc.check(
        fc.property(arb, (c) => check(c)),
        { numRuns: share[source], seed: SEED + source.length, endOnFailure: false },
      );
      if (details.failed) failures.push(`${source}: ${fc.defaultReportMessage(details)?.slice(0, 2000)}`);
    }
    row.injected = stats.cases;
    row.workflows = stats.cases;
    const valid = stats.valid;
    row.outcome = `${stats.cases} specs (${stats.bySource['mutated']} mutated, ${stats.bySource['valid']} valid, ${stats.bySource['arbitrary']} arbitrary JSON): ${stats.invalid} invalid, none started; ${valid} valid, ${stats.podsAsked} pods asked for, all for root nodes; no throw`;
    row.notes = `seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)}s`;
    checks.ok(stats.cases >= TOTAL, `ran ${stats.cases} of ${TOTAL} cases`);
    checks.ok(stats.valid > TOTAL * 0.05, `enough valid specs to test the root property (${stats.valid})`);
    checks.ok(stats.invalid > TOTAL * 0.3, `enough invalid specs (${stats.invalid})`);
    for (const f of failures) checks.ok(false, f);
  });
});

// Property-based fuzzing of specs through compileWorkflow and plan (pure, no cluster). Valid specs are
// generated (task DAGs, and specs with branches, subworkflows, gates, failure handlers, cached tasks,
// signals and overwriteCache: fuzz-control-flow.ts), then mutated: fields dropped, keys renamed, values
// retyped, bindings swapped, cycles added, conditions garbled, subworkflows made recursive, signals
// scrambled, code bundles set or garbled, random JSON put anywhere, huge and odd strings, deep nesting,
// numbers out of range.
// Arbitrary JSON is thrown at them too. Properties:
//   - compileWorkflow and plan never throw, and take well under a second on any of these specs;
//   - an invalid spec never yields a CreatePod action, and fails with InvalidWorkflow and a bounded message
//     whose every error says where (workflow, node, task or subworkflow);
//   - a valid spec's first round creates pods only for task nodes whose dependencies (computed here from
//     the raw spec, through subworkflows, branch arms and failure handlers) have succeeded, within the
//     parallelism limit, with distinct valid DNS-1123 pod names, each mounting its task's code ConfigMap
//     (a valid name) exactly when the task has code.
// Then valid control-flow specs run many rounds of plan with random signals (approvals, rejections, values
// that fit or not, junk) and random pod outcomes (success, failure, OOM, eviction, deletion, bad outputs,
// time passing): plan never throws, never starts a node before its dependencies, never asks for a pod
// that exists, and stops asking for pods once the workflow is finished.
// Full: 20,000 specs and 2,000 runs; smoke: 1,000 and 150. RELIABILITY_SEED replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CODE_MOUNT_PATH } from '../../src/api/code.ts';
import { ANNOTATIONS } from '../../src/api/labels.ts';
import type { Pod } from '../../src/api/pod.ts';
import { compileWorkflow } from '../../src/core/compile.ts';
import { plan, type PlanConfig, type PlanResult } from '../../src/core/plan.ts';
import type { TaskPlugin } from '../../src/core/task-plugin.ts';
import { containerPlugin } from '../../src/plugins/container/plugin.ts';
import { randomDag, specOf } from '../unit/core/random-dag.ts';
import { Sim } from '../unit/core/sim.ts';
import { regressionSpec, task } from '../unit/core/specs.ts';
import { runSeed, withRow } from './fault-row.ts';
import { controlFlowArbitrary, Dice, gatePaths, randomSignal, randomSignals, TASK_FUNCTIONS, unmetDependencies } from './fuzz-control-flow.ts';
import { SCALE } from './results.ts';

const TOTAL = SCALE === 'full' ? 20_000 : 1_000;
const RUNS = SCALE === 'full' ? 2_000 : 150;
const MAX_ROUNDS = 60;
/** compileWorkflow and plan on one spec: far above what any case takes, far below a stuck loop. */
const CASE_TIME_LIMIT_MS = 2_000;
const SEED = runSeed('fuzz');
const PLUGINS: ReadonlyMap<string, TaskPlugin> = new Map([['container', containerPlugin]]);
const NOW = Date.parse('2025-01-01T00:00:00Z');
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Written out here, independent of the code under test. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
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
      mix: { ...task({ inputs: { n: 'int', f: 'float', xs: 'List[int]', m: 'Dict[str, float]', opt: 'Optional[str]' }, outputs: { o: 'float', l: 'Optional[str]' }, command: ['run', '{{.inputs.n}}', '{{ .inputs.opt }}'] }), code: { configMap: 'propeller-code-3f2a9c1b7d4e' } } as Json,
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
/** Specs of every kind: task DAGs, every type, and the control-flow kinds (mostly valid, some with deliberate mistakes). */
const validSpec: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: randomDag(12).map((d) => specOf(d) as Json) },
  { weight: 1, arbitrary: fc.constant(null).map(() => regressionSpec() as Json) },
  { weight: 2, arbitrary: fc.constant(null).map(() => typedSpec()) },
  { weight: 6, arbitrary: controlFlowArbitrary(oddString, 0) as fc.Arbitrary<Json> },
  { weight: 3, arbitrary: controlFlowArbitrary(oddString, 0.04) as fc.Arbitrary<Json> },
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

const KINDS = ['drop', 'rename', 'retype', 'swap', 'swapBindings', 'cycle', 'selfLoop', 'json', 'string', 'key', 'number', 'deep', 'dangling', 'dupNode', 'condition', 'recurse', 'signals', 'code'] as const;
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
    case 'condition': {
      // A branch condition replaced by garbage: odd text, random JSON, or a condition turned inside out.
      const whens = all.filter((p) => p.at(-1) === 'when');
      if (!whens.length) return spec;
      const p = pick(whens, m.a);
      const old = getAt(spec, p);
      const garbled = typeof old === 'string' ? [old.split('').reverse().join(''), old.replace(/==/g, '='), `${old} and`, `(${old}`, old.toUpperCase(), old.replace(/ /g, '')][m.b % 6]! : m.text;
      return setAt(spec, p, [m.text, garbled, m.payload][m.b % 3]);
    }
    case 'recurse': {
      // A subworkflow node (anywhere: in a subworkflow, an arm, a handler) made to run another one, or its own.
      const names = Object.keys(((spec as Record<string, unknown>)['subworkflows'] as Record<string, unknown> | undefined) ?? {});
      const refs = all.filter((p) => p.at(-1) === 'subworkflow' && typeof getAt(spec, p) === 'string');
      if (!refs.length) return spec;
      const p = pick(refs, m.a);
      const own = p[0] === 'subworkflows' ? String(p[1]) : undefined;
      return setAt(spec, p, own !== undefined && m.b % 2 === 0 ? own : names.length ? names[m.b % names.length] : m.text);
    }
    case 'signals': {
      // Signals for every gate and more: shapes of every kind, junk paths, or random JSON in their place.
      const dice = new Dice(m.a + 1, [m.text]);
      const signals: Record<string, unknown> = randomSignals(dice, gatePaths(spec as Record<string, unknown>, 3), 0.7);
      if (m.b % 3 === 0) signals[m.text] = m.payload;
      if (m.b % 5 === 0) return setAt(spec, ['signals'], m.payload);
      return setAt(spec, ['signals'], signals);
    }
    case 'code': {
      // A task's code bundle set, changed or garbled: odd names, names of the wrong type, no name, random JSON.
      const tasks = (spec as { tasks?: unknown })?.tasks;
      if (typeof tasks !== 'object' || tasks === null) return spec;
      const names = Object.keys(tasks);
      if (!names.length) return spec;
      const t = (tasks as Record<string, unknown>)[names[m.a % names.length]!];
      if (typeof t !== 'object' || t === null || Array.isArray(t)) return spec;
      const own = t as Record<string, unknown>;
      const choices: (() => void)[] = [
        () => (own['code'] = { configMap: m.text }),
        () => (own['code'] = { configMap: 'propeller-code-3f2a9c1b7d4e' }),
        () => (own['code'] = { configMap: `Propeller-Code-${m.b}` }),
        () => (own['code'] = { configMap: m.number }),
        () => (own['code'] = { configMap: m.payload }),
        () => (own['code'] = m.payload),
        () => (own['code'] = {}),
        () => delete own['code'],
      ];
      choices[m.b % choices.length]!();
      return spec;
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

const config: fc.Arbitrary<PlanConfig> = fc
  .record({
    maxSystemRetries: fc.nat(3),
    backoffBaseMs: fc.constant(1000),
    backoffMaxMs: fc.constant(60_000),
    defaultMaxParallelism: fc.nat(30),
    imagePullGraceMs: fc.constant(60_000),
    maxNodes: fc.oneof(fc.constant(10_000), fc.integer({ min: 1, max: 40 })),
    maxDepth: fc.oneof(fc.constant(10), fc.integer({ min: 1, max: 4 })),
    cache: fc.option(fc.record({ enabled: fc.boolean(), ttlMs: fc.constantFrom(0, 60_000), reservationMs: fc.constant(30_000) }), { nil: undefined }),
  })
  .map(({ cache, ...rest }) => (cache ? { ...rest, cache } : rest));

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

const stats = { cases: 0, valid: 0, controlFlow: 0, invalid: 0, podsAsked: 0, slowestMs: 0, bySource: { mutated: 0, valid: 0, arbitrary: 0 } as Record<string, number> };
/** Errors start with where they are: the workflow, a node, a task or a subworkflow (its nodes, its handler). */
const SAYS_WHERE = /^(workflow|node "|task "|subworkflow "|… and \d+ more errors)/;

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
  const started = performance.now();
  const compiled = compileWorkflow(spec, { maxNodes: c.config.maxNodes, maxDepth: c.config.maxDepth });
  const result: PlanResult = plan({ workflow: { name: 'fuzz', namespace: 'ns', uid: 'uid', generation: 1, spec }, pods: [], now: NOW, config: c.config, plugins: PLUGINS });
  const elapsed = performance.now() - started;
  stats.slowestMs = Math.max(stats.slowestMs, elapsed);
  assert.ok(elapsed < CASE_TIME_LIMIT_MS, `compileWorkflow and plan took ${elapsed.toFixed(0)} ms on one spec`);
  const creates = result.actions.filter((a) => a.type === 'CreatePod');
  assert.deepEqual(result.actions.filter((a) => a.type === 'DeletePod'), [], 'a first round with no pods deletes nothing');
  assert.doesNotThrow(() => JSON.stringify(result.status), 'the status is JSON');
  assert.ok((result.status.message ?? '').length <= MESSAGE_LIMIT, `status.message is at most ${MESSAGE_LIMIT} characters (got ${result.status.message?.length})`);
  if (!compiled.ok) {
    stats.invalid++;
    assert.deepEqual(creates, [], 'an invalid spec yields no CreatePod');
    assert.deepEqual(result.actions, [], 'an invalid spec yields no action at all');
    assert.equal(result.status.phase, 'Failed');
    assert.equal(result.status.error?.code, 'InvalidWorkflow');
    assert.ok(result.status.message?.startsWith('invalid workflow: '), result.status.message);
    assert.ok(compiled.errors.length >= 1 && compiled.errors.length <= 21, `1 to 20 errors (+1 summary line), got ${compiled.errors.length}`);
    for (const e of compiled.errors) assert.match(e, SAYS_WHERE, `each error says where: ${e.slice(0, 200)}`);
    // A 100 KB name or a 10,000-node cycle must not flood the status: each error is bounded.
    for (const e of compiled.errors) assert.ok(e.length <= MESSAGE_LIMIT, `an error of ${e.length} characters: ${e.slice(0, 200)}…`);
    return;
  }
  stats.valid++;
  if (compiled.workflow.onFailure || compiled.workflow.nodes.some((n) => n.kind !== 'task')) stats.controlFlow++;
  stats.podsAsked += creates.length;
  assert.notEqual(result.status.error?.code, 'InvalidWorkflow', 'plan agrees with compileWorkflow that the spec is valid');
  const names = new Set<string>();
  for (const a of creates) {
    if (a.type !== 'CreatePod') continue;
    const unmet = unmetDependencies(spec as Record<string, unknown>, a.node, result.status);
    assert.deepEqual(unmet, [], `the first round created a pod for ${a.node} before its dependencies were met`);
    assert.equal(a.attempt, 0);
    assert.match(a.pod.metadata.name, DNS_LABEL, 'the pod name is a DNS-1123 label');
    assert.ok(!names.has(a.pod.metadata.name), `pod name ${a.pod.metadata.name} used twice`);
    names.add(a.pod.metadata.name);
    assertCodeMount(spec, a.pod);
  }
  // A failure handler runs whatever the limit says (it must be able to finish the workflow).
  const budgeted = creates.filter((a) => !a.node.split('/').includes('onFailure'));
  const wanted = (spec as { maxParallelism?: number }).maxParallelism ?? c.config.defaultMaxParallelism;
  if (wanted > 0) assert.ok(budgeted.length <= wanted, `${budgeted.length} pods asked for at once, over the limit of ${wanted}`);
}

/** A pod mounts its task's code ConfigMap, read-only, when the task has code, and nothing otherwise; the name is one an object can have. */
function assertCodeMount(spec: unknown, pod: Pod): void {
  const container = pod.spec.containers[0]!;
  const taskName = container.env?.find((e) => e.name === 'FLYTE_INTERNAL_TASK_NAME')?.value ?? '';
  const tasks = (spec as { tasks?: Record<string, { code?: { configMap: string } }> }).tasks ?? {};
  const configMap = Object.hasOwn(tasks, taskName) ? tasks[taskName]!.code?.configMap : undefined;
  if (configMap === undefined) {
    assert.equal(pod.spec.volumes, undefined, `task ${taskName} has no code, so its pod has no volume`);
    assert.equal(container.volumeMounts, undefined, `task ${taskName} has no code, so its container mounts nothing`);
    return;
  }
  assert.ok(configMap.length <= 253 && DNS_SUBDOMAIN.test(configMap), `a pod was built for an invalid ConfigMap name ${JSON.stringify(configMap.slice(0, 80))}`);
  assert.deepEqual(pod.spec.volumes, [{ name: 'propeller-code', configMap: { name: configMap, defaultMode: 0o444 } }]);
  assert.deepEqual(container.volumeMounts, [{ name: 'propeller-code', mountPath: CODE_MOUNT_PATH, readOnly: true }]);
}

test('fuzzed specs through compileWorkflow and plan: never throw, never start an invalid workflow, start only ready nodes of a valid one', { timeout: 600_000 }, async () => {
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
    row.outcome = `${stats.cases} specs (${stats.bySource['mutated']} mutated, ${stats.bySource['valid']} valid, ${stats.bySource['arbitrary']} arbitrary JSON): ${stats.invalid} invalid, none started, every error saying where; ${valid} valid (${stats.controlFlow} with branches, subworkflows, gates or failure handlers), ${stats.podsAsked} pods asked for, all for nodes whose dependencies were met; no throw`;
    row.notes = `seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)}s, slowest spec ${stats.slowestMs.toFixed(0)} ms`;
    checks.ok(stats.cases >= TOTAL, `ran ${stats.cases} of ${TOTAL} cases`);
    checks.ok(stats.valid > TOTAL * 0.05, `enough valid specs to test the readiness property (${stats.valid})`);
    checks.ok(stats.controlFlow > TOTAL * 0.01, `enough valid specs with the control-flow kinds (${stats.controlFlow})`);
    checks.ok(stats.invalid > TOTAL * 0.3, `enough invalid specs (${stats.invalid})`);
    for (const f of failures) checks.ok(false, f);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Many rounds: valid control-flow specs, random signals, random pod outcomes

const runStats = { runs: 0, skipped: 0, rounds: 0, pods: 0, signals: 0, slowestRoundMs: 0, phases: {} as Record<string, number>, events: {} as Record<string, number> };
/** Events that show the control-flow paths were taken, counted for the report. */
const COUNTED_EVENTS = new Set(['GateApproved', 'GateRejected', 'SignalReceived', 'SignalRefused', 'NodeRetrying', 'NodeFailed']);

type PodOutcome = 'succeed' | 'run' | 'fail' | 'oom' | 'evict' | 'delete' | 'badOutputs' | 'wait';
const POD_OUTCOMES: readonly PodOutcome[] = ['succeed', 'succeed', 'succeed', 'succeed', 'succeed', 'run', 'run', 'fail', 'oom', 'evict', 'delete', 'badOutputs', 'wait'];

/** One run: rounds of plan until the workflow is finished and quiet, with signals and pod outcomes drawn from the seed. */
function runMany(spec: Record<string, unknown>, seed: number): void {
  const sim = new Sim(spec, { tasks: TASK_FUNCTIONS, config: { maxNodes: 10_000, defaultMaxParallelism: 0 } });
  const compiled = compileWorkflow(spec, { maxNodes: sim.config.maxNodes, maxDepth: sim.config.maxDepth });
  if (!compiled.ok) {
    runStats.skipped++;
    return;
  }
  runStats.runs++;
  const dice = new Dice(seed, []);
  const gates = [...gatePaths(spec, 4), 'ghost'];
  let finishedAt: number | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    sim.reap();
    const started = performance.now();
    const result = sim.step();
    runStats.slowestRoundMs = Math.max(runStats.slowestRoundMs, performance.now() - started);
    runStats.rounds++;
    for (const e of result.events) if (COUNTED_EVENTS.has(e.reason)) runStats.events[e.reason] = (runStats.events[e.reason] ?? 0) + 1;
    const status = result.status;
    assert.doesNotThrow(() => JSON.stringify(status), 'the status is JSON');
    assert.ok((status.message ?? '').length <= MESSAGE_LIMIT, `status.message is at most ${MESSAGE_LIMIT} characters`);
    assert.notEqual(status.error?.code, 'InvalidWorkflow', `a valid spec turned invalid in round ${round}: ${status.message}`);
    for (const a of result.actions) {
      if (a.type !== 'CreatePod') continue;
      runStats.pods++;
      assert.equal(finishedAt, undefined, `round ${round} asked for pod ${a.pod.metadata.name} after the workflow finished (${status.phase})`);
      assert.deepEqual(unmetDependencies(spec, a.node, status), [], `round ${round} created a pod for ${a.node} before its dependencies were met`);
      assert.match(a.pod.metadata.name, DNS_LABEL, 'the pod name is a DNS-1123 label');
      assertCodeMount(spec, a.pod);
    }
    assert.deepEqual(sim.conflicts, [], 'plan never asks for a pod that exists');
    if (status.phase === 'Succeeded' || status.phase === 'Failed' || status.phase === 'Aborted') {
      finishedAt ??= round;
      if (result.actions.length === 0) break;
    }
    // The world moves: signals come and go, pods end every way, time passes.
    if (dice.chance(0.4)) {
      runStats.signals++;
      sim.signal(dice.pick(gates), dice.chance(0.15) ? undefined : randomSignal(dice));
    }
    if (dice.chance(0.005)) (sim.workflow.spec as Record<string, unknown>)['abort'] = true;
    for (const pod of [...sim.pods.values()]) {
      if (pod.metadata.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const node = pod.metadata.annotations?.[ANNOTATIONS.node];
      if (node === undefined) continue;
      switch (dice.pick(POD_OUTCOMES)) {
        case 'succeed':
          sim.succeed(node);
          break;
        case 'run':
          sim.start(node);
          break;
        case 'fail':
          sim.fail(node);
          break;
        case 'oom':
          sim.oom(node);
          break;
        case 'evict':
          sim.evict(node);
          break;
        case 'delete':
          sim.deleteExternally(node);
          break;
        case 'badOutputs':
          sim.succeed(node, dice.pick(['{"o": "not a number"}', 'not json', '[]', '{"ghost": 1}']));
          break;
        case 'wait':
          break;
      }
    }
    sim.advance(result.requeueAfterMs !== undefined && dice.chance(0.7) ? result.requeueAfterMs : dice.pick([0, 1_000, 30_000, 3_600_000]));
  }
  runStats.phases[sim.phase ?? '(none)'] = (runStats.phases[sim.phase ?? '(none)'] ?? 0) + 1;
}

test('valid control-flow specs through many rounds of plan with random signals and pod outcomes: never throw, start only ready nodes', { timeout: 600_000 }, async () => {
  const started = Date.now();
  await withRow('control-flow specs through many rounds of plan with random signals and pod outcomes (fast-check)', async (row, checks) => {
    const details = fc.check(
      fc.property(fc.record({ spec: controlFlowArbitrary(oddString, 0), seed: fc.integer() }), ({ spec, seed }) => runMany(clone(spec), seed)),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    row.injected = runStats.signals;
    row.workflows = runStats.runs;
    const phases = Object.entries(runStats.phases).map(([p, n]) => `${n} ${p}`).join(', ');
    const events = Object.entries(runStats.events).map(([r, n]) => `${n} ${r}`).join(', ');
    row.outcome = `${runStats.runs} runs of valid specs (${runStats.skipped} generated specs were invalid and skipped), ${runStats.rounds} rounds, ${runStats.pods} pods, ${runStats.signals} signals sent (events: ${events}); ended ${phases}; no throw, no pod before its dependencies, none asked for twice`;
    row.notes = `seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)}s, slowest round ${runStats.slowestRoundMs.toFixed(0)} ms`;
    checks.ok(runStats.runs >= RUNS * 0.9, `enough valid runs (${runStats.runs} of ${RUNS})`);
    if (details.failed) checks.ok(false, fc.defaultReportMessage(details)?.slice(0, 3000) ?? 'failed');
  });
});

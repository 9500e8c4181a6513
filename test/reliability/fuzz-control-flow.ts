// Random specs with the control-flow kinds for the fuzzer: branches (valid and garbage conditions, nested
// arms), subworkflows (some recursive), gates (sleep, approve, signal; signals set in spec.signals),
// failure handlers, cached tasks, tasks with code bundles and overwriteCache. Mostly valid, with a few
// deliberate mistakes mixed in, so that mutations and multi-round runs have both to work on. Also,
// independent of the code under test: which node statuses a status path depends on, and where the gates are.
import fc from 'fast-check';
import type { Binding, NodeSpec, SignalSpec, WorkflowStatus } from '../../src/api/flyteworkflow.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Spec = Record<string, unknown>;

const IMAGE = { image: 'python:3.12' };

/** The tasks every generated spec shares; their outputs are what the simulated pods compute (TASK_FUNCTIONS). */
function tasks(cache: { version: string; ignoreInputs?: string[]; serialize?: boolean }): Record<string, Json> {
  return {
    num: { interface: { inputs: { x: 'int' }, outputs: { o: 'int' } }, container: { ...IMAGE, command: ['run', '{{.inputs.x}}'] }, retries: 1 },
    pair: { interface: { inputs: { x: 'int', y: 'Optional[int]' }, outputs: { o: 'int', s: 'str' } }, container: IMAGE, timeout: '10m' },
    src: { interface: { outputs: { o: 'int', f: 'float', s: 'str', flag: 'bool', maybe: 'Optional[int]' } }, container: IMAGE },
    cached: { interface: { inputs: { x: 'int', run: 'str' }, outputs: { o: 'int' } }, container: IMAGE, cache: cache as Json },
    wide: { interface: { inputs: { x: 'int' }, outputs: { o: 'float' } }, container: IMAGE },
    words: { interface: { inputs: { x: 'int' }, outputs: { o: 'str' } }, container: IMAGE },
    notify: { interface: { inputs: { message: 'str', code: 'str', node: 'Optional[str]' } }, container: IMAGE },
  };
}

/** What each task's simulated pod writes: outputs that fit the task's interface. */
export const TASK_FUNCTIONS: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> = {
  num: ({ x }) => ({ o: Number(x) + 1 }),
  pair: ({ x }) => ({ o: Number(x) * 2, s: `s${String(x)}` }),
  src: () => ({ o: 2, f: 0.5, s: 'abc', flag: true, maybe: null }),
  cached: ({ x }) => ({ o: Number(x) + 100 }),
  wide: () => ({ o: 1.5 }),
  words: ({ x }) => ({ o: `w${String(x)}` }),
  notify: () => ({}),
};

const WORKFLOW_INPUTS = { n: 'int', f: 'float', s: 'str', flag: 'bool', maybe: 'Optional[int]', when: 'datetime', d: 'duration', xs: 'list[int]' };

/** Conditions that never compile: syntax errors, type errors, hostile text. */
const GARBAGE_CONDITIONS = [
  ' ', 'x ==', '((n > 1)', 'n > 1 or', 'not', 'n === 1', 'n = 1', "s == 'open", 'flag < true', 'xs > 1', '1 == 1', 'N > 1', 'n > 1e999',
  'n is null', 'n is not', 'n > 1 and and n < 2', 'n < 1 < 2', 'n', 'n and flag', 'null == n', '!flag', "s == 'a\\q'", 'AND', 'n >= -',
  `${'('.repeat(100)}n > 1${')'.repeat(100)}`, `${'not '.repeat(80)}flag == true`, `n > ${'9'.repeat(400)}`, 'n > 1 '.repeat(800), '💥 > 1', 'n\u0000 > 1',
  'when > 5', "d > 'soon'", "when > '2024-13-45T99:99:99Z'", 'f == s', 'constructor > 1', '__proto__ is null',
];

/** A small seeded PRNG: the structure of a spec comes from one fast-check integer, so cases replay from the run seed. */
export class Dice {
  private state: number;
  readonly odd: string[];
  constructor(seed: number, odd: string[]) {
    this.state = seed >>> 0 || 1;
    this.odd = odd;
  }
  next(): number {
    // mulberry32
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!;
  }
}

/** References of each type visible in a scope: `inputs.X` and outputs of earlier nodes. */
type Sources = Record<'int' | 'float' | 'str' | 'bool' | 'optint', string[]>;

interface Generation {
  dice: Dice;
  /** How often to make a deliberate mistake (0 for the multi-round runs, which want valid specs). */
  mistakes: number;
  subworkflows: Record<string, Spec>;
  subworkflowCount: number;
  /** Branches may nest in arms at most this deep. */
  armDepth: number;
  /** Nodes each subworkflow expands to, and the running count of the scope being generated. */
  weights: Record<string, number>;
  scopeWeight: number;
}

/**
 * Most nodes one scope may expand to (subworkflows counted in full, every arm counted). It keeps the
 * specs small: the compiler walks the expanded tree, so a few nested subworkflows run many times over
 * would make every case slow. (Past a point it never finishes: compileWorkflow walks every expanded path,
 * so 10 nested subworkflows of 20 nodes each, 200 nodes in all, hang it. Kept out of the fuzzer until fixed.)
 */
const EXPANDED_BUDGET = 2000;

/** A random spec with the control-flow kinds. `mistakes` is the chance of each deliberate error. */
export function controlFlowSpec(seed: number, odd: string[], mistakes: number): Spec {
  const dice = new Dice(seed, odd);
  const g: Generation = { dice, mistakes, subworkflows: {}, subworkflowCount: dice.int(0, 4), armDepth: dice.int(0, 2), weights: {}, scopeWeight: 0 };
  // Subworkflow i runs only subworkflows j > i, so none recurses... unless a mistake says otherwise.
  for (let i = g.subworkflowCount - 1; i >= 0; i--) g.subworkflows[`sub${i}`] = subworkflow(g, i);
  const top: Sources = { int: ['inputs.n'], float: ['inputs.f'], str: ['inputs.s'], bool: ['inputs.flag'], optint: ['inputs.maybe'] };
  const { nodes } = scopeNodes(g, top, -1);
  const inputs: Record<string, Json> = { n: dice.int(-2, 5), f: dice.pick([0.5, -1.25, 3]), s: dice.pick(['abc', '', 'ünï']), flag: dice.chance(0.5), when: '2024-05-01T10:00:00Z', d: '90s', xs: [1, 2] };
  if (dice.chance(0.5)) inputs['maybe'] = dice.chance(0.5) ? null : dice.int(0, 9);
  const cache = { version: dice.pick(['1', 'v2', '2024-05-01']), ...(dice.chance(0.5) ? { ignoreInputs: [mistake(g) ? 'runid' : 'run'] } : {}), ...(dice.chance(0.5) ? { serialize: dice.chance(0.5) } : {}) };
  const spec: Spec = {
    interface: { inputs: WORKFLOW_INPUTS },
    inputs,
    tasks: tasks(cache),
    nodes,
    ...(Object.keys(g.subworkflows).length ? { subworkflows: g.subworkflows } : {}),
    ...(dice.chance(0.4) ? { onFailure: handler(g, 'top') } : {}),
    ...(dice.chance(0.3) ? { overwriteCache: dice.chance(0.5) } : {}),
    maxParallelism: dice.int(0, 4),
    failurePolicy: dice.pick(['FailImmediately', 'FailAfterExecutableNodesComplete']),
  };
  const outputs = intOutputOf(nodes);
  if (outputs && dice.chance(0.5)) {
    spec['interface'] = { inputs: WORKFLOW_INPUTS, outputs: { result: 'int' } };
    spec['outputs'] = { result: { from: outputs } };
  }
  const signals = randomSignals(dice, gatePaths(spec, 3), 0.5);
  if (Object.keys(signals).length) spec['signals'] = signals;
  // Some tasks run a code bundle from a ConfigMap (drawn last, so the rest of a seed's spec stays as it was).
  for (const name of ['num', 'cached', 'notify']) {
    if (!dice.chance(0.3)) continue;
    const configMap = mistake(g) ? dice.pick(BAD_CONFIGMAPS) : dice.pick(GOOD_CONFIGMAPS);
    (spec['tasks'] as Record<string, Record<string, Json>>)[name]!['code'] = { configMap };
  }
  return spec;
}

/** ConfigMap names an SDK would write, and the longest and oddest valid ones. */
const GOOD_CONFIGMAPS = ['propeller-code-3f2a9c1b7d4e', 'propeller-code-0', 'code.v1.bundle', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`];
/** ConfigMap names no object can have: each fails the workflow at compile time, naming the task and code.configMap. */
const BAD_CONFIGMAPS = ['Propeller-Code', 'code_1', '-code', 'code-', 'a..b', '../kube-system/x', 'côde', 'code 1', 'x'.repeat(254)];

function mistake(g: Generation): boolean {
  return g.mistakes > 0 && g.dice.chance(g.mistakes);
}

function subworkflow(g: Generation, index: number): Spec {
  const sources: Sources = { int: ['inputs.x'], float: [], str: [], bool: [], optint: [] };
  const outer = g.scopeWeight;
  g.scopeWeight = 0;
  const { nodes } = scopeNodes(g, sources, index);
  const from = intOutputOf(nodes) ?? 'inputs.x';
  const onFailure = g.dice.chance(0.3) ? handler(g, index) : undefined;
  g.weights[`sub${index}`] = g.scopeWeight;
  g.scopeWeight = outer;
  return {
    description: `subworkflow ${index}`,
    interface: { inputs: { x: 'int' }, outputs: { o: 'int' } },
    nodes,
    outputs: { o: { from: mistake(g) ? 'ghost.o' : from } },
    ...(onFailure ? { onFailure } : {}),
  };
}

/** The `from` of an int output of some node of a scope, if any. */
function intOutputOf(nodes: Record<string, Json>): string | undefined {
  for (const [id, node] of Object.entries(nodes)) {
    const n = node as NodeSpec;
    if (n.task === 'num' || n.task === 'pair' || n.task === 'src' || n.task === 'cached' || n.subworkflow !== undefined) return `${id}.o`;
  }
  return undefined;
}

function scopeNodes(g: Generation, outer: Sources, subIndex: number): { nodes: Record<string, Json> } {
  const { dice } = g;
  const sources: Sources = { int: [...outer.int], float: [...outer.float], str: [...outer.str], bool: [...outer.bool], optint: [...outer.optint] };
  const nodes: Record<string, Json> = {};
  const count = dice.int(1, 5);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = dice.pick(['task', 'task', 'task', 'branch', 'branch', 'gate', 'gate', 'subworkflow', 'subworkflow']);
    const id = `${kind[0]}${i}`;
    const node = nodeOf(g, kind, sources, subIndex, g.armDepth) as Record<string, Json>;
    if (ids.length && dice.chance(0.2)) node['after'] = [dice.pick(ids)];
    if (mistake(g)) node['after'] = [...((node['after'] as string[] | undefined) ?? []), dice.pick(['ghost', id])];
    nodes[id] = node;
    ids.push(id);
    // What later nodes may read.
    const n = node as NodeSpec;
    if (n.task === 'src') {
      sources.int.push(`${id}.o`);
      sources.float.push(`${id}.f`);
      sources.str.push(`${id}.s`);
      sources.bool.push(`${id}.flag`);
      sources.optint.push(`${id}.maybe`);
    } else if (n.task === 'pair') {
      sources.int.push(`${id}.o`);
      sources.str.push(`${id}.s`);
    } else if (n.task === 'num' || n.task === 'cached' || n.subworkflow !== undefined) {
      sources.int.push(`${id}.o`);
    } else if (n.gate?.signal?.type === 'int') {
      sources.int.push(`${id}.value`);
    } else if (n.gate?.approve && n.inputs?.['o']) {
      sources.int.push(`${id}.o`);
    } else if (n.branch && armsAllInt(n.branch)) {
      sources.int.push(`${id}.o`);
    }
  }
  return { nodes };
}

function armsAllInt(branch: NonNullable<NodeSpec['branch']>): boolean {
  if (branch.else === undefined && branch.fail === undefined) return false;
  const arms = [...branch.cases.map((c) => c.then), ...(branch.else ? [branch.else] : [])];
  return arms.every((a) => a.task === 'num' || a.task === 'cached' || a.subworkflow !== undefined);
}

function intBinding(g: Generation, sources: Sources): Json {
  const { dice } = g;
  if (mistake(g)) return dice.pick<Json>([{ from: sources.str[0] ?? 'inputs.s' }, { value: 'seven' }, { from: 'ghost.o' }, { from: 'inputs.nope' }, { value: 1.5 }]);
  if (!sources.int.length || dice.chance(0.2)) return { value: dice.int(-3, 9) };
  return { from: dice.pick(sources.int) };
}

/** Whether running subworkflow `name` once more keeps the scope within its budget; if so it is counted. */
function afford(g: Generation, name: string): boolean {
  const weight = g.weights[name] ?? 1;
  if (g.scopeWeight + weight > EXPANDED_BUDGET) return false;
  g.scopeWeight += weight;
  return true;
}

function nodeOf(g: Generation, kind: string, sources: Sources, subIndex: number, armDepth: number): Json {
  const { dice } = g;
  g.scopeWeight++;
  switch (kind) {
    case 'task': {
      // words (o: str) next to num (o: int) in the arms of a branch makes its outputs incompatible: a mistake.
      const task = mistake(g) ? 'words' : dice.pick(['num', 'num', 'pair', 'src', 'cached', 'wide']);
      const node: Record<string, Json> = { task };
      if (task === 'num' || task === 'wide' || task === 'words') node['inputs'] = { x: intBinding(g, sources) };
      if (task === 'pair') node['inputs'] = { x: intBinding(g, sources), ...(sources.optint.length && dice.chance(0.5) ? { y: { from: dice.pick(sources.optint) } } : {}) };
      if (task === 'cached') node['inputs'] = { x: intBinding(g, sources), run: sources.str.length && dice.chance(0.5) ? { from: dice.pick(sources.str) } : { value: `r${dice.int(0, 3)}` } };
      if (dice.chance(0.2)) node['retries'] = dice.int(0, 2);
      if (dice.chance(0.1)) node['timeout'] = dice.pick(['30s', '5m']);
      if (mistake(g)) Object.assign(node, dice.pick<Record<string, Json>>([{ task: 'ghost' }, { gate: { sleep: '1s' } }, { timeout: 'soon' }]));
      return node;
    }
    case 'subworkflow': {
      const later = Array.from({ length: g.subworkflowCount }, (_, i) => i).filter((i) => i > subIndex);
      // Recursion (any subworkflow, itself included) or an unknown name, as a mistake.
      if (mistake(g)) {
        const name = dice.pick([`sub${Math.max(0, subIndex)}`, 'ghost', `sub${dice.int(0, 4)}`]);
        g.scopeWeight += g.weights[name] ?? 0;
        return { subworkflow: name, inputs: { x: intBinding(g, sources) } };
      }
      const name = later.length ? `sub${dice.pick(later)}` : undefined;
      if (name === undefined || !afford(g, name)) {
        g.scopeWeight--;
        return nodeOf(g, 'task', sources, subIndex, armDepth);
      }
      const node: Record<string, Json> = { subworkflow: name, inputs: { x: intBinding(g, sources) } };
      if (mistake(g)) node['retries'] = 1;
      return node;
    }
    case 'gate': {
      const which = dice.pick(['sleep', 'approve', 'approve', 'signal', 'signal']);
      const node: Record<string, Json> = {};
      if (which === 'sleep') node['gate'] = { sleep: mistake(g) ? dice.pick(['soon', '-5s', '1.5.5', dice.pick(dice.odd)]) : dice.pick(['0s', '1s', '90s', '1h']) };
      else if (which === 'approve') {
        node['gate'] = { approve: dice.chance(0.5) ? { description: 'check it' } : {} };
        if (sources.int.length && dice.chance(0.6)) node['inputs'] = { o: mistake(g) ? { value: 1 } : { from: dice.pick(sources.int) } };
      } else {
        const type = mistake(g) ? dice.pick(['integer', 'list[', 'Optional[', dice.pick(dice.odd)]) : dice.pick(['int', 'int', 'str', 'Optional[float]', 'list[int]', 'bool', 'dict[str, int]']);
        node['gate'] = { signal: { type, ...(dice.chance(0.3) ? { description: 'a number' } : {}) } };
        if (mistake(g)) node['inputs'] = { x: intBinding(g, sources) };
      }
      if (dice.chance(0.3)) node['timeout'] = mistake(g) ? 'forever' : dice.pick(['10s', '1m', '1h']);
      if (mistake(g)) Object.assign(node['gate'] as object, { sleep: '5s' });
      if (mistake(g)) node['retries'] = 2;
      return node;
    }
    default: {
      // A branch: operands bound from the scope; arms bind against the scope, never the branch's inputs.
      const inputs: Record<string, Json> = {};
      const types: Record<string, keyof Sources> = {};
      for (const [name, type] of [['n', 'int'], ['f', 'float'], ['s', 'str'], ['flag', 'bool'], ['maybe', 'optint']] as const) {
        if (sources[type].length && dice.chance(0.6)) {
          inputs[name] = { from: dice.pick(sources[type]) };
          types[name] = type;
        }
      }
      if (!Object.keys(types).length && sources.int.length) {
        inputs['n'] = { from: sources.int[0]! };
        types['n'] = 'int';
      }
      if (mistake(g)) inputs['k'] = { value: 1 };
      const cases = Array.from({ length: dice.int(1, 3) }, () => ({ when: condition(g, types), then: arm(g, sources, subIndex, armDepth) }));
      const branch: Record<string, Json> = { cases: cases as Json };
      const end = dice.pick(['else', 'else', 'fail', 'none']);
      if (end === 'else' || mistake(g)) branch['else'] = arm(g, sources, subIndex, armDepth);
      if (end === 'fail' || (end === 'else' && mistake(g))) branch['fail'] = dice.pick(['no case holds', 'nothing to do']);
      const node: Record<string, Json> = { inputs, branch };
      if (mistake(g)) node['timeout'] = '5m';
      return node;
    }
  }
}

function arm(g: Generation, sources: Sources, subIndex: number, armDepth: number): Json {
  const { dice } = g;
  const kind = armDepth > 0 && dice.chance(0.2) ? 'branch' : dice.pick(['task', 'task', 'task', 'subworkflow', 'gate']);
  const node = nodeOf(g, kind, sources, subIndex, armDepth - 1) as Record<string, Json>;
  if (node['task'] !== undefined && dice.chance(0.6)) {
    // Arms mostly run num, so the branch has an output "o".
    node['task'] = 'num';
    node['inputs'] = { x: intBinding(g, sources) };
  }
  delete node['after'];
  if (mistake(g)) node['after'] = ['ghost'];
  if (mistake(g)) node['inputs'] = { x: { from: 'inputs.k' } };
  return node;
}

/** A condition over the branch's inputs: valid in most cases, garbage in some. */
function condition(g: Generation, types: Record<string, keyof Sources>): string {
  const { dice } = g;
  if (g.mistakes > 0 && dice.chance(g.mistakes * 3)) return dice.chance(0.5) ? dice.pick(GARBAGE_CONDITIONS) : dice.pick(dice.odd) || 'x';
  const names = Object.keys(types);
  if (!names.length) return 'n > 1';
  const comparison = (): string => {
    const name = dice.pick(names);
    const op = dice.pick(['==', '!=', '<', '<=', '>', '>=']);
    switch (types[name]) {
      case 'int':
        return `${name} ${op} ${dice.int(-2, 6)}`;
      case 'float':
        return `${name} ${op} ${dice.pick(['0.5', '1', '-1.25e0'])}`;
      case 'str':
        return `${name} ${op} ${dice.pick(["'abc'", '"x"', "''", "'it\\'s'"])}`;
      case 'bool':
        return `${name} ${dice.pick(['==', '!='])} ${dice.pick(['true', 'false'])}`;
      default:
        return dice.pick([`${name} is null`, `${name} is not null`, `${name} is not null and ${name} > 2`, `${name} > 2`]);
    }
  };
  let text = comparison();
  for (let i = dice.int(0, 2); i > 0; i--) {
    const joined = `${dice.pick(['and', 'or'])} ${dice.chance(0.3) ? `not (${comparison()})` : comparison()}`;
    text = dice.chance(0.3) ? `(${text}) ${joined}` : `${text} ${joined}`;
  }
  return text;
}

function handler(g: Generation, owner: number | 'top'): Json {
  const { dice } = g;
  if (mistake(g)) {
    return dice.pick<Json>([
      { gate: { approve: {} } },
      { task: 'notify', inputs: { message: { from: 'x0.o' }, code: { from: 'error.code' } } },
      { task: 'notify', inputs: { message: { from: 'error.reason' }, code: { from: 'error.code' } } },
      { task: 'notify', inputs: { message: { from: 'error.message' }, code: { from: 'error.code' } }, after: ['t0'] },
      { subworkflow: typeof owner === 'number' ? `sub${owner}` : 'ghost', inputs: { x: { value: 1 } } },
    ]);
  }
  const later = typeof owner === 'number' ? Array.from({ length: g.subworkflowCount }, (_, i) => i).filter((i) => i > owner) : Array.from({ length: g.subworkflowCount }, (_, i) => i);
  const name = later.length ? `sub${dice.pick(later)}` : undefined;
  if (name !== undefined && dice.chance(0.3) && afford(g, name)) return { subworkflow: name, inputs: { x: { value: 1 } } };
  return { task: 'notify', inputs: { message: { from: 'error.message' }, code: { from: 'error.code' }, ...(dice.chance(0.5) ? { node: { from: 'error.node' } } : {}) } };
}

// ---------------------------------------------------------------------------------------------------------
// Reading specs independently of the compiler

type RawNode = NodeSpec & Record<string, unknown>;

function nodesOf(spec: Spec): Record<string, RawNode> {
  return (spec['nodes'] ?? {}) as Record<string, RawNode>;
}

function subworkflowDef(spec: Spec, name: string): { nodes: Record<string, RawNode>; onFailure?: RawNode } | undefined {
  const defs = (spec['subworkflows'] ?? {}) as Record<string, { nodes: Record<string, RawNode>; onFailure?: RawNode }>;
  return Object.hasOwn(defs, name) ? defs[name] : undefined;
}

/** The arm of a branch node at a path segment: case-N or else. */
function armOf(node: RawNode, segment: string): RawNode | undefined {
  if (!node.branch) return undefined;
  if (segment === 'else') return node.branch.else as RawNode | undefined;
  const m = /^case-(\d+)$/.exec(segment);
  return m ? (node.branch.cases[Number(m[1])]?.then as RawNode | undefined) : undefined;
}

/** Nodes of the same scope a node reads (from heads) or waits for (after); a branch's arms read its scope too. */
export function rawDependencies(node: RawNode): Set<string> {
  const deps = new Set<string>(Array.isArray(node.after) ? node.after : []);
  const stack: unknown[] = Object.values(node.inputs ?? {});
  while (stack.length) {
    const b = stack.pop() as Binding & Record<string, unknown>;
    if (typeof b !== 'object' || b === null) continue;
    if (typeof b.from === 'string') {
      const head = b.from.slice(0, b.from.indexOf('.'));
      if (head !== 'inputs' && head !== 'error') deps.add(head);
    } else if (Array.isArray(b.list)) stack.push(...b.list);
    else if (b.dict && typeof b.dict === 'object') stack.push(...Object.values(b.dict));
  }
  if (node.branch) {
    for (const armNode of [...node.branch.cases.map((c) => c.then), ...(node.branch.else ? [node.branch.else] : [])]) {
      for (const d of rawDependencies(armNode as RawNode)) deps.add(d);
    }
  }
  return deps;
}

/**
 * Why the node at a status path may not start yet according to the raw spec and a status: every node its
 * scope (and each enclosing scope) says it depends on must have succeeded; a branch arm must be the one
 * taken; a failure handler runs only while its (sub)workflow is Failing. Empty when it may run.
 */
export function unmetDependencies(spec: Spec, path: string, status: WorkflowStatus): string[] {
  const nodes = status.nodes ?? {};
  const unmet: string[] = [];
  const segments = path.split('/');
  let scopeNodes: Record<string, RawNode> = nodesOf(spec);
  let scopeHandler = spec['onFailure'] as RawNode | undefined;
  let prefix = '';
  let i = 0;
  let node: RawNode | undefined;
  while (i < segments.length) {
    const segment = segments[i]!;
    if (segment === 'onFailure') {
      node = scopeHandler;
      const owner = prefix === '' ? status.phase : nodes[prefix.slice(0, -1)]?.phase;
      if (owner !== 'Failing') unmet.push(`${prefix}onFailure runs while its scope is ${owner ?? 'unstarted'}, not Failing`);
    } else {
      node = Object.hasOwn(scopeNodes, segment) ? scopeNodes[segment] : undefined;
      if (node) for (const d of rawDependencies(node)) if (nodes[prefix + d]?.phase !== 'Succeeded') unmet.push(`${prefix}${d} is ${nodes[prefix + d]?.phase ?? 'unstarted'}`);
    }
    if (!node) return [...unmet, `no node at ${prefix}${segment} in the spec`];
    let here = prefix + segment;
    i++;
    // Arms: their dependencies are the branch's, already checked; the arm must be the one taken.
    while (node.branch && i < segments.length) {
      const armNode: RawNode | undefined = armOf(node, segments[i]!);
      here = `${here}/${segments[i]!}`;
      if (!armNode) return [...unmet, `no arm at ${here} in the spec`];
      const phase = nodes[here]?.phase;
      if (phase === undefined || phase === 'Skipped') unmet.push(`${here} is ${phase ?? 'unstarted'}, not the arm taken`);
      node = armNode;
      i++;
    }
    if (i < segments.length) {
      if (node.subworkflow === undefined) return [...unmet, `${here} has no children in the spec`];
      const def = subworkflowDef(spec, node.subworkflow);
      if (!def) return [...unmet, `unknown subworkflow ${node.subworkflow} at ${here}`];
      scopeNodes = def.nodes;
      scopeHandler = def.onFailure;
      prefix = `${here}/`;
    }
  }
  if (node && node.task === undefined) unmet.push(`${path} is no task node, yet got a pod`);
  return unmet;
}

/** Status paths of every gate the spec may reach, subworkflows expanded up to `depth` levels. */
export function gatePaths(spec: Spec, depth: number): string[] {
  const out: string[] = [];
  const visit = (nodes: Record<string, RawNode>, handler: RawNode | undefined, prefix: string, level: number): void => {
    const one = (id: string, node: RawNode): void => {
      if (typeof node !== 'object' || node === null) return;
      const path = prefix + id;
      if (node.gate) out.push(path);
      if (node.branch && Array.isArray(node.branch.cases)) {
        node.branch.cases.forEach((c, i) => one(`${id}/case-${i}`, c?.then as RawNode));
        if (node.branch.else) one(`${id}/else`, node.branch.else as RawNode);
      }
      if (typeof node.subworkflow === 'string' && level < depth) {
        const def = subworkflowDef(spec, node.subworkflow);
        if (def && typeof def.nodes === 'object' && def.nodes !== null) visit(def.nodes, def.onFailure, `${path}/`, level + 1);
      }
    };
    for (const [id, node] of Object.entries(nodes)) one(id, node);
    if (handler) one('onFailure', handler);
  };
  visit(nodesOf(spec), spec['onFailure'] as RawNode | undefined, '', 0);
  return out;
}

/** Signals for some of the paths, of every shape: approvals, rejections, values that fit or not, junk, unknown paths. */
export function randomSignals(dice: { chance(p: number): boolean; pick<T>(l: readonly T[]): T; int(lo: number, hi: number): number }, paths: string[], p: number): Record<string, SignalSpec> {
  const signals: Record<string, SignalSpec> = {};
  for (const path of [...paths, 'ghost', 'a/b/c', 'onFailure']) {
    if (!dice.chance(p)) continue;
    signals[path] = randomSignal(dice);
  }
  return signals;
}

export function randomSignal(dice: { chance(p: number): boolean; pick<T>(l: readonly T[]): T; int(lo: number, hi: number): number }): SignalSpec {
  return dice.pick<SignalSpec>([
    { approved: true },
    { approved: true, reason: 'looks good' },
    { approved: false, reason: 'no' },
    { approved: false },
    { value: dice.int(-5, 5) },
    { value: 2.5 },
    { value: 'text' },
    { value: null },
    { value: [1, 2] },
    { value: { k: 1 } },
    { value: true },
    {},
    { approved: true, value: 1 },
    { reason: 'just a reason' },
  ]);
}

/** A spec with the control-flow kinds, from fast-check's seed and some odd strings; `mistakes` as in controlFlowSpec. */
export function controlFlowArbitrary(odd: fc.Arbitrary<string>, mistakes: number): fc.Arbitrary<Spec> {
  return fc.record({ seed: fc.integer(), odd: fc.array(odd, { minLength: 1, maxLength: 4 }) }).map(({ seed, odd: strings }) => controlFlowSpec(seed, strings, mistakes));
}


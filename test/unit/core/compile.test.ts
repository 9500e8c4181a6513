import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileWorkflow, type CompiledWorkflow } from '../../../src/core/compile.ts';
import { formatType } from '../../../src/core/types/index.ts';
import { DIAMOND, regressionSpec, sumSpec, task } from './specs.ts';

const LIMITS = { maxNodes: 10 };
/** A task with one float input and one float output: most invalid specs below bind it. */
const t = task({ inputs: { a: 'float' }, outputs: { o: 'float' } });
const one = { a: { value: 1 } };

function errorsOf(spec: unknown): string[] {
  const result = compileWorkflow(spec, LIMITS);
  assert.equal(result.ok, false, 'expected the spec to be rejected');
  return result.ok ? [] : result.errors;
}

function compiled(spec: unknown): CompiledWorkflow {
  const result = compileWorkflow(spec, LIMITS);
  if (!result.ok) assert.fail(`expected a valid spec, got: ${result.errors.join('; ')}`);
  return result.workflow;
}

const INVALID: [string, unknown, string][] = [
  [
    'dependency cycle',
    { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'c.o' } } }, b: { task: 't', inputs: { a: { from: 'a.o' } } }, c: { task: 't', inputs: { a: { from: 'b.o' } } } } },
    'workflow: nodes: dependency cycle: "a" → "b" → "c" → "a"',
  ],
  [
    'cycle through after, with a dependent tail left out of the path',
    { tasks: { t: task() }, nodes: { a: { task: 't', after: ['d'] }, b: { task: 't', after: ['a'] }, c: { task: 't', after: ['b'] }, d: { task: 't', after: ['c'] }, e: { task: 't', after: ['a'] } } },
    'workflow: nodes: dependency cycle: "a" → "b" → "c" → "d" → "a"',
  ],
  ['self-loop through an input', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'a.o' } } } } }, 'node "a": depends on itself'],
  ['self-loop through after', { tasks: { t }, nodes: { a: { task: 't', inputs: one, after: ['a'] } } }, 'node "a": depends on itself'],
  ['unknown task', { tasks: { t }, nodes: { a: { task: 'nope', inputs: one } } }, 'node "a": task: unknown task "nope"'],
  ['unknown node in from', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'ghost.o' } } } } }, 'node "a": input "a": unknown node "ghost" in "ghost.o"'],
  ['unknown node in after', { tasks: { t }, nodes: { a: { task: 't', inputs: one, after: ['ghost'] } } }, 'node "a": after[0]: unknown node "ghost"'],
  ['unknown workflow input in from', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'inputs.zz' } } } } }, 'node "a": input "a": unknown workflow input "zz" in "inputs.zz"'],
  [
    'unknown output of an upstream node',
    { tasks: { t }, nodes: { a: { task: 't', inputs: one }, b: { task: 't', inputs: { a: { from: 'a.nope' } } } } },
    'node "b": input "a": node "a" has no output "nope"',
  ],
  ['malformed reference', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'nodot' } } } } }, 'node "a": input "a": bad reference "nodot": use inputs.NAME or NODE.OUTPUT'],
  [
    'type mismatch across a binding',
    { interface: { inputs: { s: 'str' } }, inputs: { s: 'x' }, tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'inputs.s' } } } } },
    'node "a": input "a": type mismatch: expected float, got str from inputs.s',
  ],
  [
    'Optional output into a required input',
    { tasks: { t, u: task({ outputs: { o: 'Optional[float]' } }) }, nodes: { u: { task: 'u' }, a: { task: 't', inputs: { a: { from: 'u.o' } } } } },
    'node "a": input "a": type mismatch: expected float, got Optional[float] from u.o',
  ],
  ['constant of the wrong type', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { value: 'x' } } } } }, 'node "a": input "a": type mismatch: expected float, got str "x"'],
  [
    'wrong element in a list binding',
    { tasks: { t: task({ inputs: { a: 'list[int]' } }) }, nodes: { a: { task: 't', inputs: { a: { list: [{ value: 1 }, { value: 'two' }] } } } } },
    'node "a": input "a": [1]: type mismatch: expected int, got str "two"',
  ],
  [
    'dict binding for a scalar',
    { tasks: { t: task({ inputs: { a: 'int' } }) }, nodes: { a: { task: 't', inputs: { a: { dict: { k: { value: 1 } } } } } } },
    'node "a": input "a": type mismatch: expected int, got a dict binding',
  ],
  ['missing required input', { tasks: { t }, nodes: { a: { task: 't' } } }, 'node "a": input "a": missing binding for required input of task "t"'],
  ['extra input not in the task interface', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { value: 1 }, b: { value: 2 } } } } }, 'node "a": input "b": task "t" has no input named "b"'],
  [
    'template naming an unknown input',
    { tasks: { t: task({ inputs: { a: 'float' }, command: ['echo', '{{.inputs.b}}'] }) }, nodes: { a: { task: 't', inputs: one } } },
    'task "t": container.command[1]: template "{{.inputs.b}}" names unknown input "b"',
  ],
  [
    'unsupported template expression',
    { tasks: { t: task({ inputs: { a: 'float' }, command: ['{{.outputs.o}}'] }) }, nodes: { a: { task: 't', inputs: one } } },
    'task "t": container.command[0]: unsupported template "{{.outputs.o}}": only {{.inputs.NAME}} is supported',
  ],
  ['bad type spelling', { tasks: { t: task({ inputs: { a: 'list[integer]' } }) }, nodes: { a: { task: 't', inputs: one } } }, 'task "t": interface.inputs.a: unknown type "integer" (did you mean "int"?)'],
  ['bad variable name', { tasks: { t: task({ inputs: { 'a-b': 'int' } }) }, nodes: { a: { task: 't' } } }, 'task "t": interface.inputs: invalid name "a-b": use a Python identifier of at most 63 characters'],
  ['bad node timeout', { tasks: { t }, nodes: { a: { task: 't', inputs: one, timeout: '5 minutes' } } }, 'node "a": timeout: "5 minutes" is not a duration such as 90s or 1h30m'],
  ['bad task timeout', { tasks: { t: { ...t, timeout: '10' } }, nodes: { a: { task: 't', inputs: one } } }, 'task "t": timeout: "10" is not a duration such as 90s or 1h30m'],
  ['bad workflow timeout', { timeout: '1d', tasks: { t }, nodes: { a: { task: 't', inputs: one } } }, 'workflow: timeout: "1d" is not a duration such as 90s or 1h30m'],
  [
    'workflow input value of the wrong type',
    { interface: { inputs: { n: 'int' } }, inputs: { n: 1.5 }, tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'inputs.n' } } } } },
    'workflow: inputs.n: type mismatch: expected int, got float 1.5',
  ],
  [
    'missing workflow input',
    { interface: { inputs: { n: 'int' } }, tasks: { t }, nodes: { a: { task: 't', inputs: { a: { from: 'inputs.n' } } } } },
    'workflow: inputs.n: missing value for required input',
  ],
  ['workflow input not in the interface', { inputs: { q: 1 }, tasks: { t }, nodes: { a: { task: 't', inputs: one } } }, 'workflow: inputs: unknown input "q" (not in interface.inputs)'],
  ['unbound workflow output', { interface: { outputs: { r: 'float' } }, tasks: { t }, nodes: { a: { task: 't', inputs: one } } }, 'workflow: outputs.r: declared in interface.outputs but not bound'],
  ['undeclared workflow output', { tasks: { t }, nodes: { a: { task: 't', inputs: one } }, outputs: { r: { from: 'a.o' } } }, 'workflow: outputs.r: not declared in interface.outputs'],
  [
    'workflow output of the wrong type',
    { interface: { outputs: { r: 'int' } }, tasks: { t }, nodes: { a: { task: 't', inputs: one } }, outputs: { r: { from: 'a.o' } } },
    'workflow: outputs.r: type mismatch: expected int, got float from a.o',
  ],
  ['bad node name', { tasks: { t }, nodes: { '1a': { task: 't', inputs: one } } }, 'node "1a": invalid node name: use 1-63 letters, digits, "_" or "-", starting with a letter'],
  ['reserved node name', { tasks: { t }, nodes: { inputs: { task: 't', inputs: one } } }, 'node "inputs": invalid node name: use 1-63 letters, digits, "_" or "-", starting with a letter ("inputs" is reserved)'],
  ['unknown task type', { tasks: { t: { ...t, type: 'spark' } }, nodes: { a: { task: 't', inputs: one } } }, 'task "t": type: unknown task type "spark" (supported: container)'],
  [
    'more nodes than maxNodes',
    { tasks: { t }, nodes: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`n${i}`, { task: 't', inputs: one }])) },
    'workflow: nodes: 11 nodes exceed the limit of 10 per workflow',
  ],
  ['no nodes', { tasks: { t }, nodes: {} }, 'workflow: nodes: a workflow needs at least one node (or run one by reference: spec.definition or spec.launchPlan)'],
  ['binding with two sources', { tasks: { t }, nodes: { a: { task: 't', inputs: { a: { value: 1, from: 'x.y' } } } } }, 'node "a": inputs.a: a binding takes exactly one of from, value, list or dict, not from and value'],
  ['task without an image', { tasks: { t: { container: {} } }, nodes: { a: { task: 't' } } }, 'task "t": container.image: Invalid input: expected string, received undefined'],
  [
    'code ConfigMap name that is not a DNS-1123 subdomain',
    { tasks: { t: { ...t, code: { configMap: 'Propeller_Code' } } }, nodes: { a: { task: 't', inputs: one } } },
    'task "t": code.configMap: "Propeller_Code" is not a ConfigMap name: use a DNS-1123 subdomain of at most 253 characters (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)',
  ],
  ['code ConfigMap name over 253 characters', { tasks: { t: { ...t, code: { configMap: 'a'.repeat(254) } } }, nodes: { a: { task: 't', inputs: one } } }, 'task "t": code.configMap: Too big: expected string to have <=253 characters'],
  ['code without a ConfigMap', { tasks: { t: { ...t, code: {} } }, nodes: { a: { task: 't', inputs: one } } }, 'task "t": code.configMap: Invalid input: expected string, received undefined'],
  ['code ConfigMap name that is not a string', { tasks: { t: { ...t, code: { configMap: 7 } } }, nodes: { a: { task: 't', inputs: one } } }, 'task "t": code.configMap: Invalid input: expected string, received number'],
];

for (const [name, spec, expected] of INVALID) {
  test(`compile rejects: ${name}`, () => {
    assert.deepEqual(errorsOf(spec), [expected]);
  });
}

test('compile rejects a spec nested too deep to check, instead of overflowing the stack', () => {
  let binding: unknown = { value: 1 };
  for (let i = 0; i < 5000; i++) binding = { list: [binding] };
  const spec = { tasks: { t: task({ inputs: { a: 'list[int]' } }) }, nodes: { a: { task: 't', inputs: { a: binding } } } };
  assert.deepEqual(errorsOf(spec), ['workflow: (spec): nested more than 200 levels deep']);
});

test('compile rejects things that are not a spec at all', () => {
  assert.deepEqual(errorsOf(null), ['workflow: (spec): Invalid input: expected object, received null']);
  // tasks and nodes are optional in the schema since an execution may run a definition by reference.
  assert.deepEqual(errorsOf({}), ['workflow: nodes: a workflow needs at least one node (or run one by reference: spec.definition or spec.launchPlan)']);
  assert.deepEqual(errorsOf({ nodes: { a: { task: 't' } } }), ['node "a": task: unknown task "t"']);
  assert.deepEqual(errorsOf({ definition: { name: 'd', version: '1' }, nodes: { a: { task: 't' } } }), ['workflow: (spec): set nodes and tasks, or definition, or launchPlan, not definition and nodes']);
});

test('compile reports every independent error, not just the first', () => {
  const spec = { tasks: { t }, nodes: { a: { task: 'nope' }, b: { task: 't', inputs: { a: { value: 'x' } }, after: ['ghost'] } } };
  assert.deepEqual(errorsOf(spec), [
    'node "a": task: unknown task "nope"',
    'node "b": input "a": type mismatch: expected float, got str "x"',
    'node "b": after[0]: unknown node "ghost"',
  ]);
});

test('compile caps a flood of errors at 20 plus a count', () => {
  const nodes = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`n${i}`, { task: 'nope' }]));
  const result = compileWorkflow({ tasks: { t }, nodes }, { maxNodes: 100 });
  const errors = result.ok ? [] : result.errors;
  assert.equal(errors.length, 21);
  assert.equal(errors[0], 'node "n0": task: unknown task "nope"');
  assert.equal(errors[20], '… and 10 more errors');
});

test('compile accepts the regression example and orders slope before intercept', () => {
  const cw = compiled(regressionSpec());
  assert.deepEqual(cw.nodes.map((n) => n.id), ['slope_val', 'intercept_val']);
  const intercept = cw.nodeById.get('intercept_val')!;
  assert.equal(intercept.kind, 'task');
  if (intercept.kind !== 'task') return;
  assert.deepEqual(intercept.upstream, ['slope_val']);
  assert.deepEqual(cw.nodeById.get('slope_val')!.downstream, ['intercept_val']);
  assert.deepEqual(cw.inputs, { x: [-3, 0, 3], y: [7, 4, -2] });
  assert.equal(formatType(intercept.task.inputs.get('slope')!), 'float');
  assert.equal(cw.failurePolicy, 'FailImmediately');
  assert.equal(cw.timeoutMs, undefined);
});

test('compile accepts a diamond: topological order, ties in declaration order, upstream and downstream', () => {
  const cw = compiled(sumSpec({ d: ['b', 'c'], c: ['a'], b: ['a'], a: [] }));
  assert.deepEqual(cw.nodes.map((n) => n.id), ['a', 'c', 'b', 'd']);
  assert.deepEqual(cw.nodeById.get('d')!.upstream.toSorted(), ['b', 'c']);
  assert.deepEqual([...cw.nodeById.get('a')!.downstream].sort(), ['b', 'c']);
  assert.deepEqual(compiled(sumSpec(DIAMOND)).nodes.map((n) => n.id), ['a', 'b', 'c', 'd']);
});

test('compile takes after as a dependency without a data flow', () => {
  const cw = compiled({ tasks: { t: task() }, nodes: { late: { task: 't', after: ['early'] }, early: { task: 't' } } });
  assert.deepEqual(cw.nodes.map((n) => n.id), ['early', 'late']);
  assert.deepEqual(cw.nodeById.get('late')!.upstream, ['early']);
});

test('compile accepts nested list and dict bindings, collecting every node they read', () => {
  const spec = {
    tasks: {
      p: task({ outputs: { n: 'int', s: 'str' } }),
      c: task({ inputs: { xs: 'list[float]', m: 'dict[str, list[int]]', any: 'dict' } }),
    },
    nodes: {
      p1: { task: 'p' },
      p2: { task: 'p' },
      c: {
        task: 'c',
        inputs: {
          xs: { list: [{ from: 'p1.n' }, { value: 2.5 }] },
          m: { dict: { a: { list: [{ from: 'p2.n' }] }, b: { value: [1, 2] } } },
          any: { dict: { s: { from: 'p1.s' }, nested: { value: { deep: [true] } } } },
        },
      },
    },
  };
  assert.deepEqual(compiled(spec).nodeById.get('c')!.upstream.toSorted(), ['p1', 'p2']);
});

test('compile accepts Optional inputs left unbound and fills unset Optional workflow inputs with null', () => {
  const spec = {
    interface: { inputs: { maybe: 'Optional[int]', n: 'int' } },
    inputs: { n: 3 },
    tasks: { t: task({ inputs: { n: 'int', label: 'Optional[str]', k: 'Optional[float]' } }) },
    nodes: { a: { task: 't', inputs: { n: { from: 'inputs.n' }, k: { from: 'inputs.maybe' } } } },
  };
  const cw = compiled(spec);
  assert.deepEqual(cw.inputs, { maybe: null, n: 3 });
});

test('compile widens int to float and T to Optional[T] across bindings', () => {
  const spec = {
    tasks: { p: task({ outputs: { n: 'int' } }), c: task({ inputs: { f: 'float', o: 'Optional[float]', l: 'list[float]' } }) },
    nodes: { p: { task: 'p' }, c: { task: 'c', inputs: { f: { from: 'p.n' }, o: { from: 'p.n' }, l: { list: [{ from: 'p.n' }, { value: 2 }] } } } },
  };
  compiled(spec);
});

test('compile resolves retries and timeouts: node overrides task', () => {
  const spec = {
    timeout: '1h',
    failurePolicy: 'FailAfterExecutableNodesComplete',
    tasks: { t: task({ retries: 2, timeout: '90s' }) },
    nodes: { a: { task: 't' }, b: { task: 't', retries: 5, timeout: '1m30s' }, c: { task: 't', retries: 0 } },
  };
  const cw = compiled(spec);
  const byId = (id: string) => cw.nodeById.get(id)!;
  assert.deepEqual([byId('a').retries, byId('b').retries, byId('c').retries], [2, 5, 0]);
  assert.deepEqual([byId('a').timeoutMs, byId('b').timeoutMs], [90_000, 90_000]);
  assert.equal(cw.timeoutMs, 3_600_000);
  assert.equal(cw.failurePolicy, 'FailAfterExecutableNodesComplete');
});

test('compile accepts exactly maxNodes nodes', () => {
  const nodes = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`n${i}`, { task: 't', inputs: one }]));
  assert.equal(compiled({ tasks: { t }, nodes }).nodes.length, 10);
});

test('compile checks a code ConfigMap name by the rules of object names: DNS-1123 subdomains of at most 253 characters', () => {
  const withCode = (configMap: string) => ({ tasks: { t: { ...t, code: { configMap } } }, nodes: { a: { task: 't', inputs: one } } });
  const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  assert.equal(longest.length, 253);
  for (const name of ['propeller-code-3f2a9c1b7d4e', 'a', '0', 'code.v1', 'a-b.c-d', longest]) {
    assert.deepEqual(compiled(withCode(name)).nodeById.get('a')!.kind, 'task', name);
  }
  for (const name of ['', 'A', 'code_1', '-code', 'code-', 'code.', '.code', 'a..b', 'a.-b', 'code/1', 'côde', 'a b', `${longest}e`]) {
    const errors = errorsOf(withCode(name));
    assert.equal(errors.length, 1, `${JSON.stringify(name)}: ${errors.join('; ')}`);
    assert.match(errors[0]!, /^task "t": code\.configMap: /, name);
  }
});

test('compile checks the code of a task no node runs, like its other fields', () => {
  const spec = { tasks: { t, unused: { ...t, code: { configMap: 'Bad' } } }, nodes: { a: { task: 't', inputs: one } } };
  assert.deepEqual(errorsOf(spec), ['task "unused": code.configMap: "Bad" is not a ConfigMap name: use a DNS-1123 subdomain of at most 253 characters (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit)']);
});

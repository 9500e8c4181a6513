import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileWorkflow, type CompiledWorkflow, type CompileLimits } from '../../../src/core/compile.ts';
import type { CompiledNode } from '../../../src/core/compiled.ts';
import { formatType, type FlyteType } from '../../../src/core/types/index.ts';
import { task } from './specs.ts';

const LIMITS: CompileLimits = { maxNodes: 50 };

/** Tasks most specs below run: no inputs and a float (u), int (ti), str (ts) or Optional[int] (to) output; one float in and out (t). */
const TASKS = {
  u: task({ outputs: { o: 'float' } }),
  ti: task({ outputs: { o: 'int' } }),
  ts: task({ outputs: { o: 'str' } }),
  to: task({ outputs: { o: 'Optional[int]' } }),
  t: task({ inputs: { a: 'float' }, outputs: { o: 'float' } }),
};

/** A subworkflow of one task node: int in, float out. */
const SUB = {
  interface: { inputs: { n: 'int' }, outputs: { r: 'float' } },
  nodes: { x: { task: 't', inputs: { a: { from: 'inputs.n' } } } },
  outputs: { r: { from: 'x.o' } },
};

/** Workflow inputs of every kind a branch condition may read. */
const BRANCH_INPUTS = { x: 'float', n: 'int', s: 'str', f: 'bool', m: 'Optional[int]', l: 'list[int]' };
const BRANCH_BINDINGS = Object.fromEntries(Object.keys(BRANCH_INPUTS).map((k) => [k, { from: `inputs.${k}` }]));

/** A workflow whose node `b` is the given branch over all of BRANCH_INPUTS (with more node `fields`), plus `extra` nodes. */
function branchSpec(branch: unknown, extra: Record<string, unknown> = {}, bindings: Record<string, unknown> = BRANCH_BINDINGS, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: { inputs: BRANCH_INPUTS },
    inputs: { x: 1.5, n: 2, s: 'a', f: true, l: [] },
    tasks: TASKS,
    nodes: { b: { inputs: bindings, branch, ...fields }, ...extra },
  };
}

/** A workflow with node `g` as given, a float input x, and `extra` nodes and top-level fields. */
function gateSpec(g: unknown, extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { interface: { inputs: { x: 'float' } }, inputs: { x: 1.5 }, tasks: TASKS, nodes: { g, ...extra }, ...top };
}

/** s1 → s2 → … → sN, the last running a task: N levels of nesting below the workflow. */
function chain(levels: number): Record<string, unknown> {
  const subworkflows: Record<string, unknown> = {};
  for (let i = 1; i <= levels; i++) subworkflows[`s${i}`] = { nodes: { x: i < levels ? { subworkflow: `s${i + 1}` } : { task: 'u' } } };
  return { tasks: TASKS, subworkflows, nodes: { a: { subworkflow: 's1' } } };
}

function errorsOf(spec: unknown, limits: CompileLimits = LIMITS): string[] {
  const result = compileWorkflow(spec, limits);
  assert.equal(result.ok, false, 'expected the spec to be rejected');
  return result.ok ? [] : result.errors;
}

function compiled(spec: unknown, limits: CompileLimits = LIMITS): CompiledWorkflow {
  const result = compileWorkflow(spec, limits);
  if (!result.ok) assert.fail(`expected a valid spec, got: ${result.errors.join('; ')}`);
  return result.workflow;
}

const types = (map: ReadonlyMap<string, FlyteType>) => Object.fromEntries([...map].map(([k, v]) => [k, formatType(v)]));

function nodeOf(cw: CompiledWorkflow, id: string): CompiledNode {
  const node = cw.nodeById.get(id);
  if (!node) assert.fail(`no node ${id}`);
  return node;
}

const INVALID: [string, unknown, string[], CompileLimits?][] = [
  // Subworkflows
  ['unknown subworkflow, none defined', { tasks: TASKS, nodes: { a: { subworkflow: 'nope' } } }, ['node "a": subworkflow: unknown subworkflow "nope" (spec.subworkflows is empty)']],
  [
    'unknown subworkflow, others defined',
    { tasks: TASKS, subworkflows: { s: SUB, r: SUB }, nodes: { a: { subworkflow: 'nope' } } },
    ['node "a": subworkflow: unknown subworkflow "nope" (spec.subworkflows has "s", "r")'],
  ],
  [
    'direct recursion',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { subworkflow: 's' } } } }, nodes: { a: { subworkflow: 's' } } },
    ['subworkflow "s": node "x": subworkflow: recursion: subworkflow "s" → "s" runs itself', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  [
    'recursion through two subworkflows',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { subworkflow: 'r' } } }, r: { nodes: { y: { subworkflow: 's' } } } }, nodes: { a: { subworkflow: 's' } } },
    [
      'subworkflow "r": node "y": subworkflow: recursion: subworkflow "s" → "r" → "s" runs itself',
      'subworkflow "s": node "x": subworkflow: subworkflow "r" is invalid (see its errors)',
      'node "a": subworkflow: subworkflow "s" is invalid (see its errors)',
    ],
  ],
  [
    'recursion through a branch arm',
    {
      interface: { inputs: { n: 'int' } },
      inputs: { n: 1 },
      tasks: TASKS,
      subworkflows: {
        s: {
          interface: { inputs: { n: 'int' } },
          nodes: { b: { inputs: { n: { from: 'inputs.n' } }, branch: { cases: [{ when: 'n > 0', then: { subworkflow: 's', inputs: { n: { from: 'inputs.n' } } } }], else: { task: 'u' } } } },
        },
      },
      nodes: { a: { subworkflow: 's', inputs: { n: { from: 'inputs.n' } } } },
    },
    ['subworkflow "s": node "b": branch.cases[0].then: subworkflow: recursion: subworkflow "s" → "s" runs itself', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  [
    'recursion in subworkflows no node runs is still an error',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { subworkflow: 's' } } } }, nodes: { a: { task: 'u' } } },
    ['subworkflow "s": node "x": subworkflow: recursion: subworkflow "s" → "s" runs itself'],
  ],
  ['nesting one level over a configured limit', chain(4), ['node "a": subworkflow: subworkflows and branches nest 4 levels deep below it (down to "a/x/x/x/x"), over the limit of 3 (workflow.maxDepth)'], { maxNodes: 50, maxDepth: 3 }],
  ['nesting one level over the default limit of 10', chain(11), ['node "a": subworkflow: subworkflows and branches nest 11 levels deep below it (down to "a/x/x/x/x/x/x/x/x/x/x/x"), over the limit of 10 (workflow.maxDepth)']],
  [
    'branches count towards the nesting depth',
    {
      interface: { inputs: { n: 'int' } },
      inputs: { n: 1 },
      tasks: TASKS,
      subworkflows: { s: { nodes: { x: { task: 'u' } } } },
      nodes: { b: { inputs: { n: { from: 'inputs.n' } }, branch: { cases: [{ when: 'n > 0', then: { subworkflow: 's' } }], else: { task: 'u' } } } },
    },
    ['node "b": branch: subworkflows and branches nest 2 levels deep below it (down to "b/case-0/x"), over the limit of 1 (workflow.maxDepth)'],
    { maxNodes: 50, maxDepth: 1 },
  ],
  ['subworkflow input not bound', { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's' } } }, ['node "a": input "n": missing binding for required input of subworkflow "s"']],
  [
    'subworkflow input it does not declare',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 }, m: { value: 2 } } } } },
    ['node "a": input "m": subworkflow "s" has no input named "m"'],
  ],
  [
    'subworkflow input of the wrong type',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 'x' } } } } },
    ['node "a": input "n": type mismatch: expected int, got str "x"'],
  ],
  [
    'subworkflow input from an output of the wrong type',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { p: { task: 'u' }, a: { subworkflow: 's', inputs: { n: { from: 'p.o' } } } } },
    ['node "a": input "n": type mismatch: expected int, got float from p.o'],
  ],
  [
    'reading an output the subworkflow does not have',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 } } }, b: { task: 't', inputs: { a: { from: 'a.zz' } } } } },
    ['node "b": input "a": node "a" has no output "zz"'],
  ],
  [
    'a subworkflow output into an input of another type',
    { tasks: { ...TASKS, takesStr: task({ inputs: { a: 'str' } }) }, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 } } }, b: { task: 'takesStr', inputs: { a: { from: 'a.r' } } } } },
    ['node "b": input "a": type mismatch: expected str, got float from a.r'],
  ],
  [
    'a subworkflow output bound to a node output of another type',
    { tasks: TASKS, subworkflows: { s: { ...SUB, interface: { inputs: { n: 'int' }, outputs: { r: 'int' } } } }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 } } } } },
    ['subworkflow "s": outputs.r: type mismatch: expected int, got float from x.o', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  [
    'a subworkflow output declared but not bound',
    { tasks: TASKS, subworkflows: { s: { ...SUB, outputs: {} } }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 } } } } },
    ['subworkflow "s": outputs.r: declared in interface.outputs but not bound', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  [
    'a subworkflow output bound but not declared',
    { tasks: TASKS, subworkflows: { s: { ...SUB, outputs: { r: { from: 'x.o' }, z: { from: 'x.o' } } } }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 } } } } },
    ['subworkflow "s": outputs.z: not declared in interface.outputs', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  [
    'a subworkflow node reading an input its subworkflow does not have',
    { tasks: TASKS, subworkflows: { s: { ...SUB, nodes: { x: { task: 't', inputs: { a: { from: 'inputs.q' } } } } } }, nodes: { a: { subworkflow: 's', inputs: { n: { value: 1 } } } } },
    ['subworkflow "s": node "x": input "a": unknown workflow input "q" in "inputs.q"', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  [
    'a subworkflow node reading a node of the enclosing workflow',
    { tasks: TASKS, subworkflows: { s: { ...SUB, nodes: { x: { task: 't', inputs: { a: { from: 'p.o' } } } } } }, nodes: { p: { task: 'u' }, a: { subworkflow: 's', inputs: { n: { value: 1 } } } } },
    ['subworkflow "s": node "x": input "a": unknown node "p" in "p.o"', 'node "a": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],
  ['a subworkflow without nodes', { tasks: TASKS, subworkflows: { s: { nodes: {} } }, nodes: { a: { task: 'u' } } }, ['subworkflow "s": nodes: a subworkflow needs at least one node']],
  [
    'an invalid subworkflow no node runs',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'nope' } } } }, nodes: { a: { task: 'u' } } },
    ['subworkflow "s": node "x": task: unknown task "nope"'],
  ],
  [
    'an error elsewhere does not make a valid subworkflow look invalid',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { task: 't', inputs: { a: { value: 'x' } } }, b: { subworkflow: 's', inputs: { n: { value: 1 } } } } },
    ['node "a": input "a": type mismatch: expected float, got str "x"'],
  ],
  [
    'retries on a subworkflow node',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's', retries: 2, inputs: { n: { value: 1 } } } } },
    ['node "a": retries: only task nodes retry, not a subworkflow node (set retries on the task nodes inside it)'],
  ],
  [
    'timeout on a subworkflow node',
    { tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { subworkflow: 's', timeout: '1m', inputs: { n: { value: 1 } } } } },
    ['node "a": timeout: only task and gate nodes take a timeout'],
  ],

  // Branches
  [
    'comparing operands of different types',
    branchSpec({ cases: [{ when: 's < n', then: { task: 'u' } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].when: at 1: "s" is str and "n" is int, which cannot be compared'],
  ],
  [
    'comparing a str input with a number',
    branchSpec({ cases: [{ when: 's == 1', then: { task: 'u' } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].when: at 1: "s" is str, which cannot be compared with the number 1'],
  ],
  [
    'an unknown operand',
    branchSpec({ cases: [{ when: 'x > 0', then: { task: 'u' } }, { when: 'y > 1', then: { task: 'u' } }], else: { task: 'u' } }),
    ['node "b": branch.cases[1].when: at 1: unknown input "y" (the branch\'s inputs are: f, l, m, n, s, x)'],
  ],
  [
    'is null on an input that is not Optional',
    branchSpec({ cases: [{ when: 'n is null', then: { task: 'u' } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].when: at 1: "n" is int, never null; is null needs an Optional[...] input'],
  ],
  ['ordering bools', branchSpec({ cases: [{ when: 'f < true', then: { task: 'u' } }], else: { task: 'u' } }), ['node "b": branch.cases[0].when: at 1: bools cannot be ordered with "<"; use == or !=']],
  [
    'comparing a list',
    branchSpec({ cases: [{ when: 'l == 1', then: { task: 'u' } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].when: at 1: "l" is list[int], which cannot be compared; only int, float, str, bool, datetime and duration can'],
  ],
  ['a syntax error', branchSpec({ cases: [{ when: 'x = 1', then: { task: 'u' } }], else: { task: 'u' } }), ['node "b": branch.cases[0].when: at 3: "=" is not an operator; use "==" to compare']],
  [
    'comparing two constants',
    branchSpec({ cases: [{ when: '1 == 1', then: { task: 'u' } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].when: at 1: 1 == 1 compares two constants; one side must be an input'],
  ],
  ['arms with incompatible outputs', branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }], else: { task: 'ts' } }), ['node "b": branch: output "o" is float in case 0 but str in else']],
  [
    'incompatible outputs between two cases',
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 'ti' } }, { when: 'x < 2', then: { task: 'ts' } }], else: { task: 'ti' } }),
    ['node "b": branch: output "o" is int in case 0 but str in case 1'],
  ],
  ['else and fail together', branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }], else: { task: 'u' }, fail: 'no' }), ['node "b": branch: set else or fail, not both']],
  [
    'after on an arm',
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u', after: ['p'] } }], else: { task: 'u' } }, { p: { task: 'u' } }),
    ['node "b": branch.cases[0].then: after: a branch arm starts when its branch takes it; put after on the branch node'],
  ],
  [
    'a value binding as a branch input',
    branchSpec({ cases: [{ when: 'k < 1', then: { task: 'u' } }], else: { task: 'u' } }, {}, { k: { value: 1 } }),
    ['node "b": input "k": a value binding has no type to give it: bind it with from: inputs.NAME or NODE.OUTPUT (its type comes from there)'],
  ],
  [
    'an arm reading a branch input by its bare name',
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 't', inputs: { a: { from: 'x' } } } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].then: input "a": bad reference "x": use inputs.NAME or NODE.OUTPUT'],
  ],
  ['an arm reading its own branch', branchSpec({ cases: [{ when: 'x < 1', then: { task: 't', inputs: { a: { from: 'b.o' } } } }], else: { task: 'u' } }), ['node "b": depends on itself']],
  ['an arm running an unknown task', branchSpec({ cases: [{ when: 'x < 1', then: { task: 'zz' } }], else: { task: 'u' } }), ['node "b": branch.cases[0].then: task: unknown task "zz"']],
  [
    'a nested branch reading an input only the outer branch has',
    branchSpec({ cases: [{ when: 'x < 1', then: { inputs: { n: { from: 'inputs.n' } }, branch: { cases: [{ when: 'x > 1', then: { task: 'u' } }], else: { task: 'ti' } } } }], else: { task: 'u' } }),
    ['node "b": branch.cases[0].then: branch.cases[0].when: at 1: unknown input "x" (the branch\'s inputs are: n)'],
  ],
  [
    'timeout on a branch',
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }], else: { task: 'u' } }, {}, BRANCH_BINDINGS, { timeout: '1m' }),
    ['node "b": timeout: only task and gate nodes take a timeout'],
  ],
  [
    'retries on a branch',
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }], else: { task: 'u' } }, {}, BRANCH_BINDINGS, { retries: 1 }),
    ['node "b": retries: only task nodes retry, not a branch node (set retries on the task nodes of its arms)'],
  ],

  // Gates
  ['a sleep with a bad duration', gateSpec({ gate: { sleep: '90 s' } }), ['node "g": gate.sleep: "90 s" is not a duration such as 90s or 1h30m']],
  ['a sleep gate with inputs', gateSpec({ gate: { sleep: '1s' }, inputs: { x: { from: 'inputs.x' } } }), ['node "g": inputs: a sleep gate takes no inputs (an approve gate passes its inputs through)']],
  ['a signal gate with inputs', gateSpec({ gate: { signal: { type: 'int' } }, inputs: { x: { from: 'inputs.x' } } }), ['node "g": inputs: a signal gate takes no inputs (an approve gate passes its inputs through)']],
  ['a signal gate with a misspelt type', gateSpec({ gate: { signal: { type: 'list[integer]' } } }), ['node "g": gate.signal.type: unknown type "integer" (did you mean "int"?)']],
  ['a signal gate with an unknown type', gateSpec({ gate: { signal: { type: 'foo' } } }), ['node "g": gate.signal.type: unknown type "foo"']],
  ['an approve gate with a value binding', gateSpec({ gate: { approve: {} }, inputs: { x: { value: 1 } } }), ['node "g": input "x": a value binding has no type to give it: bind it with from: inputs.NAME or NODE.OUTPUT (its type comes from there)']],
  ['an approve gate reading an unknown node', gateSpec({ gate: { approve: {} }, inputs: { x: { from: 'q.o' } } }), ['node "g": input "x": unknown node "q" in "q.o"']],
  ['a gate of two kinds', gateSpec({ gate: { approve: {}, sleep: '1s' } }), ['node "g": gate: a gate takes exactly one of sleep, approve, signal, not sleep and approve']],
  ['a gate of no kind', gateSpec({ gate: {} }), ['node "g": gate: a gate needs one of sleep, approve, signal']],
  ['retries on a gate', gateSpec({ gate: { sleep: '1s' }, retries: 1 }), ['node "g": retries: only task nodes retry, not a gate node']],
  ['a gate timeout that is not a duration', gateSpec({ gate: { approve: {} }, timeout: 'forever' }), ['node "g": timeout: "forever" is not a duration such as 90s or 1h30m']],
  ['a node of two kinds', gateSpec({ gate: { sleep: '1s' }, task: 'u' }), ['node "g": (spec): a node takes exactly one of task, subworkflow, branch, gate, launchPlan, not task and gate']],
  ['a node of no kind', gateSpec({}), ['node "g": (spec): a node needs one of task, subworkflow, branch, gate, launchPlan']],

  // Failure handlers
  [
    'a failure handler reading a node output',
    gateSpec({ task: 'u' }, {}, { onFailure: { task: 't', inputs: { a: { from: 'g.o' } } } }),
    ['workflow: onFailure: input "a": a failure handler reads only inputs.NAME and error.message|code|kind|node, not "g.o"', 'workflow: onFailure: input "a": unknown node "g" in "g.o"'],
  ],
  [
    'a failure handler reading a node output inside a list',
    gateSpec({ task: 'u' }, {}, { tasks: { ...TASKS, h: task({ inputs: { a: 'list[float]' } }) }, onFailure: { task: 'h', inputs: { a: { list: [{ from: 'inputs.x' }, { from: 'g.o' }] } } } }),
    ['workflow: onFailure: input "a": a failure handler reads only inputs.NAME and error.message|code|kind|node, not "g.o"', 'workflow: onFailure: input "a": [1]: unknown node "g" in "g.o"'],
  ],
  ['a failure handler that is a gate', gateSpec({ task: 'u' }, {}, { onFailure: { gate: { approve: {} } } }), ['workflow: onFailure: a failure handler is a task or subworkflow node, not a gate']],
  [
    'a failure handler that is a branch',
    gateSpec({ task: 'u' }, {}, { onFailure: { inputs: { x: { from: 'inputs.x' } }, branch: { cases: [{ when: 'x > 1', then: { task: 'u' } }], else: { task: 'u' } } } }),
    ['workflow: onFailure: a failure handler is a task or subworkflow node, not a branch'],
  ],
  [
    'a failure handler binding the Optional error.node to a str',
    gateSpec({ task: 'u' }, {}, { tasks: { ...TASKS, h: task({ inputs: { a: 'str' } }) }, onFailure: { task: 'h', inputs: { a: { from: 'error.node' } } } }),
    ['workflow: onFailure: input "a": type mismatch: expected str, got Optional[str] from error.node'],
  ],
  [
    'a failure handler reading an error field that does not exist',
    gateSpec({ task: 'u' }, {}, { tasks: { ...TASKS, h: task({ inputs: { a: 'str' } }) }, onFailure: { task: 'h', inputs: { a: { from: 'error.stack' } } } }),
    ['workflow: onFailure: input "a": error has no field "stack" (a failure handler reads error.message, error.code, error.kind, error.node)'],
  ],
  ['a failure handler with after', gateSpec({ task: 'u' }, {}, { onFailure: { task: 'u', after: ['g'] } }), ['workflow: onFailure: after: a failure handler runs when the workflow fails; it has no place in the DAG']],
  [
    "a subworkflow's failure handler reading one of its nodes",
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'u' } }, onFailure: { task: 't', inputs: { a: { from: 'x.o' } } } } }, nodes: { g: { subworkflow: 's' } } },
    [
      'subworkflow "s": onFailure: input "a": a failure handler reads only inputs.NAME and error.message|code|kind|node, not "x.o"',
      'subworkflow "s": onFailure: input "a": unknown node "x" in "x.o"',
      'node "g": subworkflow: subworkflow "s" is invalid (see its errors)',
    ],
  ],
  [
    "a subworkflow's failure handler that is a gate",
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'u' } }, onFailure: { gate: { sleep: '1s' } } } }, nodes: { g: { subworkflow: 's' } } },
    ['subworkflow "s": onFailure: a failure handler is a task or subworkflow node, not a gate', 'node "g": subworkflow: subworkflow "s" is invalid (see its errors)'],
  ],

  // Caching
  [
    'cache.ignoreInputs naming an unknown input',
    { tasks: { c: { ...task({ inputs: { a: 'int' } }), cache: { version: '1', ignoreInputs: ['a', 'run'] } } }, nodes: { g: { task: 'c', inputs: { a: { value: 1 } } } } },
    ['task "c": cache.ignoreInputs[1]: "run" is not an input of the task'],
  ],
  ['a cache without a version', { tasks: { c: { ...task(), cache: {} } }, nodes: { g: { task: 'c' } } }, ['task "c": cache.version: Invalid input: expected string, received undefined']],

  // maxNodes over every scope
  [
    'maxNodes counts each run of a subworkflow',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'u' }, y: { task: 'u' }, z: { task: 'u' } } } }, nodes: { g: { subworkflow: 's' }, h: { subworkflow: 's' }, i: { task: 'u' } } },
    ['workflow: nodes: with its subworkflows and branch arms the workflow has 9 nodes, over the limit of 8 per workflow'],
    { maxNodes: 8 },
  ],
  [
    'maxNodes counts nested subworkflows',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'u' }, y: { task: 'u' }, z: { task: 'u' } } }, r: { nodes: { a: { subworkflow: 's' }, b: { subworkflow: 's' } } } }, nodes: { g: { subworkflow: 'r' } } },
    ['workflow: nodes: with its subworkflows and branch arms the workflow has 9 nodes, over the limit of 8 per workflow'],
    { maxNodes: 8 },
  ],
  [
    'maxNodes counts the failure handler and what it runs',
    { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'u' }, y: { task: 'u' }, z: { task: 'u' } } } }, nodes: { g: { task: 'u' } }, onFailure: { subworkflow: 's' } },
    ['workflow: nodes: with its subworkflows and branch arms the workflow has 5 nodes, over the limit of 4 per workflow'],
    { maxNodes: 4 },
  ],
  [
    'maxNodes counts every branch arm',
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }, { when: 'x < 2', then: { task: 'u' } }], else: { task: 'u' } }),
    ['workflow: nodes: with its subworkflows and branch arms the workflow has 4 nodes, over the limit of 3 per workflow'],
    { maxNodes: 3 },
  ],
];

for (const [name, spec, expected, limits] of INVALID) {
  test(`compile rejects: ${name}`, () => {
    assert.ok(expected.length > 0);
    assert.deepEqual(errorsOf(spec, limits), expected);
  });
}

test('compile accepts a subworkflow: its interface becomes the node\'s, its nodes compile once per definition', () => {
  const cw = compiled({
    tasks: TASKS,
    subworkflows: { s: SUB },
    nodes: { p: { task: 'ti' }, a: { subworkflow: 's', inputs: { n: { from: 'p.o' } } }, b: { subworkflow: 's', inputs: { n: { value: 2 } } }, c: { task: 't', inputs: { a: { from: 'a.r' } } } },
  });
  const a = nodeOf(cw, 'a');
  assert.equal(a.kind, 'subworkflow');
  if (a.kind !== 'subworkflow') return;
  assert.deepEqual(types(a.inputTypes), { n: 'int' });
  assert.deepEqual(types(a.outputTypes), { r: 'float' });
  assert.deepEqual(a.upstream, ['p']);
  assert.deepEqual(a.scope.nodes.map((n) => n.id), ['x']);
  assert.deepEqual(nodeOf(cw, 'c').upstream, ['a']);
  const b = nodeOf(cw, 'b');
  assert.ok(b.kind === 'subworkflow' && b.scope === a.scope, 'both nodes run the one compiled template');
  assert.equal(cw.expandedNodes, 6);
});

test('compile accepts nesting exactly at the depth limit', () => {
  assert.equal(compiled(chain(3), { maxNodes: 50, maxDepth: 3 }).expandedNodes, 4);
  assert.equal(compiled(chain(10)).expandedNodes, 11);
});

test('compile accepts exactly maxNodes nodes once subworkflows are expanded', () => {
  const spec = { tasks: TASKS, subworkflows: { s: { nodes: { x: { task: 'u' }, y: { task: 'u' }, z: { task: 'u' } } } }, nodes: { g: { subworkflow: 's' }, h: { subworkflow: 's' }, i: { task: 'u' } } };
  assert.equal(compiled(spec, { maxNodes: 9 }).expandedNodes, 9);
});

test('compile accepts a branch: arms in order, else last, outputs shared by every arm', () => {
  const cw = compiled(branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }, { when: 'n == 2 and m is not null', then: { task: 'ti' } }], else: { task: 'u' } }));
  const b = nodeOf(cw, 'b');
  assert.equal(b.kind, 'branch');
  if (b.kind !== 'branch') return;
  assert.deepEqual(b.arms.map((a) => [a.id, a.condition === undefined]), [['case-0', false], ['case-1', false], ['else', true]]);
  assert.deepEqual(types(b.outputTypes), { o: 'float' }, 'int and float widen to float');
  assert.deepEqual(types(b.inputTypes), BRANCH_INPUTS);
  assert.deepEqual(b.upstream, []);
  assert.equal(b.noMatch, 'no case holds and the branch has no else');
  assert.equal(cw.expandedNodes, 4);
});

test('compile widens T and Optional[T] to Optional[T] whichever arm comes first', () => {
  for (const [first, second] of [['ti', 'to'], ['to', 'ti']]) {
    const b = nodeOf(compiled(branchSpec({ cases: [{ when: 'x < 1', then: { task: first } }], else: { task: second } })), 'b');
    assert.deepEqual(types(b.outputTypes), { o: 'Optional[int]' }, `${first} then ${second}`);
  }
});

test('compile gives a branch only the outputs every arm has', () => {
  const b = nodeOf(compiled(branchSpec({ cases: [{ when: 'x < 1', then: { task: 'u' } }], else: { gate: { sleep: '1s' } } })), 'b');
  assert.deepEqual(types(b.outputTypes), {});
});

test('compile makes what an arm reads a dependency of its branch', () => {
  const cw = compiled(
    branchSpec({ cases: [{ when: 'x < 1', then: { task: 't', inputs: { a: { from: 'p.o' } } } }], fail: 'x too big' }, { p: { task: 'u' }, q: { task: 'u' }, d: { task: 't', inputs: { a: { from: 'b.o' } } } }, {
      ...BRANCH_BINDINGS,
      v: { from: 'q.o' },
    }),
  );
  const b = nodeOf(cw, 'b');
  assert.deepEqual([...b.upstream].sort(), ['p', 'q']);
  const order = cw.nodes.map((n) => n.id);
  assert.ok(order.indexOf('b') > order.indexOf('p') && order.indexOf('b') > order.indexOf('q'));
  assert.deepEqual(nodeOf(cw, 'd').upstream, ['b']);
  assert.equal(b.kind === 'branch' && b.noMatch, 'x too big');
});

test('compile accepts branches nested in arms, and an arm that runs a subworkflow or a gate', () => {
  const cw = compiled({
    ...branchSpec({
      cases: [
        { when: 'x < 1', then: { inputs: { n: { from: 'inputs.n' } }, branch: { cases: [{ when: 'n > 1', then: { task: 'ti' } }], else: { subworkflow: 's', inputs: { n: { from: 'inputs.n' } } } } } },
        { when: 'x < 2', then: { gate: { signal: { type: 'float' } } } },
      ],
      else: { task: 'u' },
    }),
    subworkflows: { s: { ...SUB, interface: { inputs: { n: 'int' }, outputs: { o: 'float' } }, outputs: { o: { from: 'x.o' } } } },
  });
  const b = nodeOf(cw, 'b');
  assert.deepEqual(types(b.outputTypes), {}, 'a signal gate\'s output is "value", not "o"');
  if (b.kind !== 'branch') return assert.fail('not a branch');
  const inner = b.arms[0]!.scope.nodes[0]!;
  assert.equal(inner.kind, 'branch');
  assert.deepEqual(types(inner.outputTypes), { o: 'float' });
  // b, its three arms, the inner branch's two arms and the subworkflow's node.
  assert.equal(cw.expandedNodes, 7);
});

test('compile accepts gates: sleep, approve passing its inputs through, signal of a type, each with a timeout', () => {
  const sleep = nodeOf(compiled(gateSpec({ gate: { sleep: '90s' }, timeout: '1h' })), 'g');
  assert.ok(sleep.kind === 'gate' && sleep.gate.kind === 'sleep' && sleep.gate.ms === 90_000);
  assert.equal(sleep.timeoutMs, 3_600_000);
  assert.deepEqual(types(sleep.outputTypes), {});

  const approve = nodeOf(compiled(gateSpec({ gate: { approve: { description: 'check' } }, inputs: { x: { from: 'inputs.x' }, y: { from: 'p.o' } } }, { p: { task: 'ti' } })), 'g');
  assert.ok(approve.kind === 'gate' && approve.gate.kind === 'approve');
  assert.deepEqual(types(approve.outputTypes), { x: 'float', y: 'int' });
  assert.deepEqual(approve.upstream, ['p']);
  assert.equal(approve.timeoutMs, undefined, 'no default timeout');

  const signal = nodeOf(compiled(gateSpec({ gate: { signal: { type: 'list[int]' } } })), 'g');
  assert.deepEqual(types(signal.outputTypes), { value: 'list[int]' });
});

test('compile accepts failure handlers that read the workflow inputs and every error field', () => {
  const h = task({ inputs: { message: 'str', code: 'str', kind: 'str', node: 'Optional[str]', x: 'float' } });
  const errorBindings = { message: { from: 'error.message' }, code: { from: 'error.code' }, kind: { from: 'error.kind' }, node: { from: 'error.node' }, x: { from: 'inputs.x' } };
  const cw = compiled(
    gateSpec({ subworkflow: 's' }, {}, {
      tasks: { ...TASKS, h },
      subworkflows: { s: { interface: {}, nodes: { x: { task: 'u' } }, onFailure: { task: 'h', inputs: { ...errorBindings, x: { value: 0.5 } } } } },
      onFailure: { task: 'h', inputs: errorBindings },
    }),
  );
  assert.deepEqual(cw.onFailure?.nodes.map((n) => [n.id, n.kind, n.upstream]), [['onFailure', 'task', []]]);
  const g = nodeOf(cw, 'g');
  assert.ok(g.kind === 'subworkflow');
  if (g.kind !== 'subworkflow') return;
  assert.deepEqual(g.scope.onFailure?.nodes.map((n) => n.id), ['onFailure']);
  // g, s's node x and its handler, the workflow's handler.
  assert.equal(cw.expandedNodes, 4);
});

test('compile accepts a subworkflow as the failure handler', () => {
  const cw = compiled({ tasks: TASKS, subworkflows: { s: SUB }, nodes: { a: { task: 'u' } }, onFailure: { subworkflow: 's', inputs: { n: { value: 1 } } } });
  assert.equal(cw.onFailure?.nodes[0]?.kind, 'subworkflow');
});

test('compile accepts cache settings and keeps them on the task', () => {
  const cw = compiled({ tasks: { c: { ...task({ inputs: { a: 'int', run: 'str' } }), cache: { version: '1', ignoreInputs: ['run'], serialize: true } } }, nodes: { g: { task: 'c', inputs: { a: { value: 1 }, run: { value: 'r' } } } } });
  const g = nodeOf(cw, 'g');
  assert.ok(g.kind === 'task');
  if (g.kind !== 'task') return;
  assert.deepEqual(g.task.spec.cache, { version: '1', ignoreInputs: ['run'], serialize: true });
  assert.equal(cw.overwriteCache, false);
  assert.equal(compiled({ overwriteCache: true, tasks: TASKS, nodes: { a: { task: 'u' } } }).overwriteCache, true);
});

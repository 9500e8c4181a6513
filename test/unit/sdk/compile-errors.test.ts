// What the SDK says when a workflow cannot compile: each error with its exact message, which names where
// (workflow, node, input) and, where the SDK promises it, what to do instead. The first group are mistakes
// the SDK catches while the body runs; the last are those only the operator's compiler sees, which
// validate(...) reports in the operator's own words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditional, launchPlan, partial, t, task, waitForInput, workflow, WorkflowCompileError } from '../../../sdk/src/index.ts';
import { validate } from '../../../sdk/src/compile/index.ts';

const add = task({ name: 'add', inputs: { x: t.int, y: t.int }, output: t.int }, ({ x, y }) => x + y);
const split = task({ name: 'split', inputs: { x: t.int }, outputs: { a: t.int, b: t.str } }, ({ x }) => ({ a: x, b: String(x) }));
const word = task({ name: 'word', output: t.str }, () => 'a');
const half = task({ name: 'half', inputs: { v: t.float }, output: t.float }, ({ v }) => v / 2);
const items = task({ name: 'items', output: t.list(t.int) }, () => [1, 2]);
const nothing = task({ name: 'nothing' }, () => {});

/** Compiles a workflow "w" with one int input x and one int output, whose body is `body`. */
function compile(body: (inputs: { x: any }) => any): void {
  workflow({ name: 'w', inputs: { x: t.int }, output: t.int }, body as never).definition.compile();
}

function throwsCompileError(fn: () => unknown, message: string): void {
  assert.throws(fn, { name: 'WorkflowCompileError', message });
  assert.throws(fn, WorkflowCompileError);
}

const MISUSE_ADVICE = 'Pass it to a task or workflow as an input (compute with it there), or branch on it with conditional(...).';
const misuse = (from: string, what: string) => `${from} is a promise: its value exists only when the workflow runs, so the workflow body cannot ${what}. ${MISUSE_ADVICE}`;
const AS_PRIMITIVE = 'turn it into a number or a string (it was compared, added or printed with a template)';

// ─── Promises used as values ─────────────────────────────────────────────────

test('a promise in a template string is an error that says to pass it to a task', () => {
  throwsCompileError(() => compile(({ x }) => add({ x: `${x}` as never, y: 1 })), misuse('inputs.x', AS_PRIMITIVE));
});

test('arithmetic and comparison operators on a promise are errors', () => {
  throwsCompileError(() => compile(({ x }) => add({ x: x + 1, y: 1 })), misuse('inputs.x', AS_PRIMITIVE));
  throwsCompileError(() => compile(({ x }) => add({ x: (x > 3) as never, y: 1 })), misuse('inputs.x', AS_PRIMITIVE));
  // An upstream output names its node and output.
  throwsCompileError(() => compile(({ x }) => add({ x: add({ x, y: 1 }) as any * 2, y: 1 })), misuse('add.o0', AS_PRIMITIVE));
});

test('reading a property of a promise (p.length) is an error naming the property', () => {
  throwsCompileError(() => compile(() => add({ x: (items({}) as any).length, y: 1 })), misuse('items.o0', 'read its property "length"'));
});

test('JSON.stringify of a promise is an error', () => {
  throwsCompileError(() => compile(({ x }) => add({ x: JSON.stringify(x) as never, y: 1 })), misuse('inputs.x', 'serialize it'));
});

test('spreading or iterating over a promise is an error that mentions map tasks', () => {
  const iterate = misuse('items.o0', 'iterate over it or spread it (a map task will)');
  throwsCompileError(() => compile(() => add({ x: [...(items({}) as any)] as never, y: 1 })), iterate);
  throwsCompileError(
    () =>
      compile(({ x }) => {
        for (const _ of items({}) as any) void _;
        return x;
      }),
    iterate,
  );
});

test('setting a property of a promise is an error', () => {
  throwsCompileError(
    () =>
      compile(({ x }) => {
        x.extra = 1;
        return x;
      }),
    misuse('inputs.x', 'set its property "extra"'),
  );
});

test('an async body is an error: the body must not await', () => {
  throwsCompileError(
    () => compile(async ({ x }) => add({ x, y: 1 })),
    'workflow "w": the body is async (it returned a Promise). A workflow body runs once, when it is compiled, to build the DAG: it must not await anything',
  );
});

test('a node without outputs can only order other nodes', () => {
  throwsCompileError(
    () => compile(() => (nothing({}) as any).o0),
    'node "nothing" has no outputs; it can only order other nodes (after: [...] or chain(...)), so "o0" does not exist',
  );
  throwsCompileError(
    () => compile(() => add({ x: nothing({}) as never, y: 1 })),
    'workflow "w", node "add": input "x": got all the outputs of a node (or a node without outputs); pass one of them, e.g. node.NAME',
  );
});

// ─── Calls ───────────────────────────────────────────────────────────────────

test('calling a task outside a workflow body says how to run it now', () => {
  throwsCompileError(
    () => add({ x: 1, y: 2 }),
    'task "add" was called outside a workflow body. Inside workflow(...) a call adds a node; to run it now, use runLocal from "@propeller/sdk/local" or `propeller run`',
  );
  const sub = workflow({ name: 'sub', output: t.int }, () => add({ x: 1, y: 2 }));
  throwsCompileError(
    () => sub({}),
    'workflow "sub" was called outside a workflow body. Inside workflow(...) a call adds a node; to run it now, use runLocal from "@propeller/sdk/local" or `propeller run`',
  );
});

test('an unknown input names the node and lists the inputs there are', () => {
  throwsCompileError(() => compile(({ x }) => add({ x, y: 1, z: 2 } as never)), 'workflow "w", node "add": no input "z"; the inputs are x, y');
  throwsCompileError(() => compile(() => word({ z: 1 } as never)), 'workflow "w", node "word": no input "z"; the inputs are none');
});

test('a required input left out is an error naming it and its type', () => {
  throwsCompileError(() => compile(({ x }) => add({ x } as never)), 'workflow "w", node "add": input "y" (int) is not bound');
  // undefined counts as left out.
  throwsCompileError(() => compile(({ x }) => add({ x, y: undefined as never })), 'workflow "w", node "add": input "y" (int) is not bound');
});

test('a constant of the wrong type names the node, the input, the type and the value', () => {
  throwsCompileError(() => compile(({ x }) => add({ x: 'a' as never, y: x })), 'workflow "w", node "add": input "x": expected int, got str "a"');
  throwsCompileError(() => compile(({ x }) => add({ x: 1.5, y: x })), 'workflow "w", node "add": input "x": expected int, got float 1.5');
  throwsCompileError(() => compile(({ x }) => add({ x: Number.NaN, y: x })), 'workflow "w", node "add": input "x": NaN is not a JSON number');
});

test('a value that is not JSON says what to pass instead', () => {
  throwsCompileError(
    () => compile(({ x }) => add({ x: new Map() as never, y: x })),
    'workflow "w", node "add": input "x": a Map instance is not a value a workflow can pass; use plain JSON (objects, arrays, numbers, strings, booleans, null)',
  );
  throwsCompileError(
    () => compile(({ x }) => add({ x: add as never, y: x })),
    'workflow "w", node "add": input "x": a function is not a value; call the task or workflow and pass its output',
  );
});

test('a promise of the wrong type names both types and where it comes from', () => {
  throwsCompileError(() => compile(() => half({ v: word({}) as never })), 'workflow "w", node "half": input "v": expected float, got str from word.o0');
  // An int goes where a float is expected.
  assert.doesNotThrow(() => workflow({ name: 'ok', inputs: { x: t.int }, output: t.float }, ({ x }) => half({ v: x })).definition.compile());
});

test('an unknown output of a node with named outputs lists the outputs it has', () => {
  throwsCompileError(() => compile(({ x }) => (split({ x }) as any).c), 'task "split" (node "split") has no output "c"; its outputs are a, b');
  throwsCompileError(() => compile(({ x }) => (split({ x }) as any).o0), 'task "split" (node "split") has no output "o0"; its outputs are a, b');
});

test('two nodes given the same name is an error; default names get a suffix instead', () => {
  throwsCompileError(
    () =>
      compile(({ x }) => {
        add({ x, y: 1 }, { name: 'n' });
        return add({ x, y: 2 }, { name: 'n' });
      }),
    'workflow "w": two nodes are named "n"',
  );
  throwsCompileError(() => compile(({ x }) => add({ x, y: 1 }, { name: '1st' })), 'workflow "w": node name "1st" must be 1–63 letters, digits, _ or -, starting with a letter');
  const wf = workflow({ name: 'thrice', inputs: { x: t.int }, output: t.int }, ({ x }) => add({ x: add({ x: add({ x, y: 1 }), y: 1 }), y: 1 }));
  assert.deepEqual(Object.keys(wf.definition.compile().nodes), ['add', 'add_2', 'add_3']);
});

test('a task named inputs or error gets a node name the operator accepts; asking for a reserved name is an error', () => {
  // inputs.NAME and error.NAME are binding roots and onFailure is the failure handler's path: no node may take them.
  const inputs = task({ name: 'inputs', output: t.int }, () => 1);
  const error = task({ name: 'error', inputs: { x: t.int }, output: t.int }, ({ x }) => x);
  const spec = validate(workflow({ name: 'roots', output: t.int }, () => error({ x: inputs({}) })).definition);
  assert.deepEqual(Object.keys(spec.nodes), ['inputs_2', 'error_2']);
  assert.deepEqual(spec.outputs, { o0: { from: 'error_2.o0' } });
  throwsCompileError(
    () => compile(({ x }) => add({ x, y: 1 }, { name: 'onFailure' })),
    'workflow "w": node name "onFailure" is reserved (inputs, error, onFailure); pick another',
  );
});

test('partial(...) fixes inputs; passing one again, or fixing one the callee lacks, is an error', () => {
  const plusOne = partial(add, { y: 1 });
  const nodes = workflow({ name: 'p', inputs: { x: t.int }, output: t.int }, ({ x }) => plusOne({ x }, { name: 'plus_one' })).definition.compile().nodes;
  assert.deepEqual(nodes, { plus_one: { task: 'add', inputs: { y: { value: 1 }, x: { from: 'inputs.x' } } } });
  throwsCompileError(() => compile(({ x }) => plusOne({ x, y: 2 } as never)), 'workflow "w": input "y" is fixed by partial(...) and cannot be passed again');
  throwsCompileError(() => compile(({ x }) => partial(add, { z: 1 } as never)({ x } as never)), 'workflow "w", node "add": no input "z"; the inputs are x, y');
  throwsCompileError(() => compile(({ x }) => partial(add, { y: 'a' } as never)({ x } as never)), 'workflow "w", node "add": input "y": expected int, got str "a"');
  throwsCompileError(() => partial(1 as never, {} as never), 'partial(...) takes a task, workflow or launch plan and the inputs to fix');
});

// ─── Conditionals ────────────────────────────────────────────────────────────

test('a conditional never finished says how to finish it', () => {
  throwsCompileError(
    () =>
      compile(({ x }) => {
        conditional('sign').if(x.lt(0), () => add({ x, y: 1 }));
        return x;
      }),
    'workflow "w": conditional "sign" was never finished; end it with .else(...), .fail(...) or .end()',
  );
});

test('an arm calling two nodes says to put them in a workflow', () => {
  throwsCompileError(
    () =>
      compile(({ x }) =>
        conditional('sign')
          .if(x.lt(0), () => {
            add({ x, y: 1 });
            return add({ x, y: 2 });
          })
          .else(() => add({ x, y: 3 })),
      ),
    'workflow "w": an arm of a conditional runs exactly one node (a task, workflow, gate or conditional); to run several, put them in a workflow and call that',
  );
  throwsCompileError(
    () => compile(({ x }) => conditional('sign').if(x.lt(0), () => undefined as any).else(() => add({ x, y: 3 }))),
    'workflow "w", conditional "sign", case 0: the arm must call one task, workflow, gate or conditional',
  );
});

test('an output of a node inside an arm cannot be read outside it', () => {
  throwsCompileError(
    () =>
      compile(({ x }) => {
        let inside: unknown;
        conditional('sign')
          .if(x.lt(0), () => (inside = add({ x, y: 1 })))
          .else(() => add({ x, y: 2 }));
        return add({ x: inside as never, y: 1 });
      }),
    'workflow "w", node "add_3": input "x": add.o0 is an output of a node of another workflow or conditional arm; pass values between workflows as inputs and outputs',
  );
});

// ─── Names, recursion, defaults ──────────────────────────────────────────────

test('two different tasks with the same name in one workflow is an error saying to rename one', () => {
  const other = task({ name: 'add', inputs: { x: t.int, y: t.int }, output: t.int }, ({ x, y }) => x - y);
  throwsCompileError(() => compile(({ x }) => other({ x: add({ x, y: 1 }), y: 1 })), 'workflow "w" uses two different tasks named "add"; give one another name');
});

test('a workflow that calls itself, directly or through another, cannot recurse', () => {
  const direct: any = workflow({ name: 'direct', inputs: { x: t.int }, output: t.int }, ({ x }) => direct({ x }));
  throwsCompileError(() => validate(direct.definition), 'workflow "direct" calls itself; a workflow cannot recurse');
  const ping: any = workflow({ name: 'ping', inputs: { x: t.int }, output: t.int }, ({ x }) => pong({ x }));
  const pong: any = workflow({ name: 'pong', inputs: { x: t.int }, output: t.int }, ({ x }) => ping({ x }));
  throwsCompileError(() => validate(ping.definition), 'workflow "ping" calls itself; a workflow cannot recurse');
  // A cycle below the workflow is the operator's to report.
  const top = workflow({ name: 'top', inputs: { x: t.int }, output: t.int }, ({ x }) => ping({ x }));
  throwsCompileError(
    () => validate(top.definition),
    [
      'workflow "top" is invalid:',
      '  - subworkflow "pong": node "ping": subworkflow: recursion: subworkflow "ping" → "pong" → "ping" runs itself',
      '  - subworkflow "ping": node "pong": subworkflow: subworkflow "pong" is invalid (see its errors)',
      '  - node "ping": subworkflow: subworkflow "ping" is invalid (see its errors)',
    ].join('\n'),
  );
});

test('defaults must be inputs and match their types', () => {
  throwsCompileError(
    () => workflow({ name: 'd', inputs: { x: t.int }, defaults: { x: 'a' } as never, output: t.int }, ({ x }) => x),
    'workflow "d": the default of input "x": expected int, got str "a"',
  );
  throwsCompileError(() => task({ name: 'd', inputs: { x: t.int }, defaults: { x: 1.5 } as never, output: t.int }, ({ x }) => x), 'task "d": the default of input "x": expected int, got float 1.5');
  throwsCompileError(() => task({ name: 'd', inputs: { x: t.int }, defaults: { y: 1 } as never, output: t.int }, ({ x }) => x), 'task "d": a default for "y", which is not an input');
  throwsCompileError(
    () => task({ name: 'd', inputs: { l: t.list(t.str) }, defaults: { l: ['a', 2] } as never, output: t.int }, () => 1),
    'task "d": the default of input "l": at [1]: expected str, got int 2',
  );
});

test('a launch plan default or fixed input must be an input of the workflow, of its type', () => {
  const wf = workflow({ name: 'lpw', inputs: { x: t.int, y: t.int }, output: t.int }, ({ x, y }) => add({ x, y }));
  throwsCompileError(() => launchPlan({ name: 'lp', workflow: wf, defaultInputs: { z: 1 } as never }), 'launch plan "lp": defaultInputs: "z" is not an input of the workflow (x, y)');
  throwsCompileError(() => launchPlan({ name: 'lp', workflow: wf, fixedInputs: { x: 'a' } as never }), 'launch plan "lp": fixedInputs: input "x": expected int, got str "a"');
  // A fixed input is not an input of a call.
  const lp = launchPlan({ name: 'lp', workflow: wf, fixedInputs: { y: 1 } });
  throwsCompileError(() => compile(({ x }) => lp({ x, y: 2 } as never)), 'workflow "w", node "lp": no input "y"; the inputs are x');
});

test('interfaces are declared with identifiers and types', () => {
  throwsCompileError(() => task({ name: 'q', inputs: { 'a-b': t.int } }, () => {}), 'task "q": input name "a-b" must be an identifier (letters, digits and _, not starting with a digit)');
  throwsCompileError(() => task({ name: 'q', inputs: { a: 'int' as never } }, () => {}), 'task "q": input "a" needs a type such as t.int or t.list(t.str)');
  throwsCompileError(
    () => task({ name: 'q', output: t.int, outputs: { a: t.int } } as never, () => 1 as never),
    'task "q": declare either output (one value) or outputs (named values), not both',
  );
});

test('what the body returns must be the declared outputs', () => {
  throwsCompileError(() => compile(() => undefined), 'workflow "w": the body must return its output (a promise from a call, or a value)');
  throwsCompileError(
    () => workflow({ name: 'two', outputs: { a: t.int } }, () => ({ a: 1, b: 2 }) as never).definition.compile(),
    'workflow "two": the body returned "b", which is not one of its outputs (a)',
  );
  throwsCompileError(() => workflow({ name: 'two', outputs: { a: t.int, b: t.int } }, () => ({ a: 1 }) as never).definition.compile(), 'workflow "two": output "b" is not returned by the body');
});

test('a task or workflow without a name and not exported says how to name it', () => {
  throwsCompileError(
    () => workflow({ output: t.int }, () => add({ x: 1, y: 1 })).definition.compile(),
    'a workflow has no name: give it one (name: "...") or export it from the module, whose export name it then takes',
  );
});

test('waitForInput takes a type made with t', () => {
  throwsCompileError(
    () => workflow({ name: 'wfi', output: t.int }, () => waitForInput('threshold', 'int' as never)).definition.compile(),
    'workflow "wfi", node "threshold": waitForInput(...) takes a type such as t.int or t.list(t.str)',
  );
});

// ─── What only the operator's compiler sees, through validate(...) ──────────

/** validate(...) of a workflow "v" running task `task` once, with `options` on its node. */
function validateOne(callee: (inputs: {}, options?: object) => unknown, options?: object): void {
  validate(workflow({ name: 'v', output: t.int }, () => callee({}, options) as never).definition);
}

test('validate reports bad retries, timeouts and resource quantities with the operator\'s messages, naming the task or node and the field', () => {
  const job = task({ name: 'job', output: t.int }, () => 1);
  throwsCompileError(() => validateOne(job, { retries: -1 }), 'workflow "v" is invalid:\n  - node "job": retries: Too small: expected number to be >=0');
  throwsCompileError(() => validateOne(job, { retries: 1.5 }), 'workflow "v" is invalid:\n  - node "job": retries: Invalid input: expected int, received number');
  throwsCompileError(() => validateOne(job, { timeout: 'soon' }), 'workflow "v" is invalid:\n  - node "job": timeout: "soon" is not a duration such as 90s or 1h30m');

  const tooMany = task({ name: 'too_many', output: t.int, retries: 101 }, () => 1);
  throwsCompileError(() => validateOne(tooMany), 'workflow "v" is invalid:\n  - task "too_many": retries: Too big: expected number to be <=100');
  const slow = task({ name: 'slow', output: t.int, timeout: 'forever' }, () => 1);
  throwsCompileError(() => validateOne(slow), 'workflow "v" is invalid:\n  - task "slow": timeout: "forever" is not a duration such as 90s or 1h30m');
  const hungry = task({ name: 'hungry', output: t.int, resources: { requests: { cpu: 'lots' } } }, () => 1);
  throwsCompileError(
    () => validateOne(hungry),
    'workflow "v" is invalid:\n  - task "hungry": container.resources.requests.cpu: "lots" is not a Kubernetes quantity such as 500m, 2 or 1Gi',
  );
  throwsCompileError(
    () => validate(workflow({ name: 'v', output: t.int, timeout: '1 day' }, () => job({})).definition),
    'workflow "v" is invalid:\n  - workflow: timeout: "1 day" is not a duration such as 90s or 1h30m',
  );
});

test('a type mismatch inside a list is caught where the list is bound, before validate', () => {
  throwsCompileError(
    () => validate(workflow({ name: 'v', output: t.list(t.int) }, () => [1, word({})] as never).definition),
    'workflow "v": output "o0"[1]: expected int, got str from word.o0',
  );
});

test('a valid workflow passes validate and gives its spec', () => {
  const wf = workflow({ name: 'fine', inputs: { x: t.int }, output: t.int }, ({ x }) => add({ x, y: 1 }, { retries: 2, timeout: '5m' }));
  const spec = validate(wf.definition);
  assert.deepEqual(spec.nodes, { add: { task: 'add', inputs: { x: { from: 'inputs.x' }, y: { value: 1 } }, retries: 2, timeout: '5m' } });
});

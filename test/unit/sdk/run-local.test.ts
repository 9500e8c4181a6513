// runLocal: a workflow run in this process by the operator's own plan(), with task functions called here
// and container tasks run as child processes. The examples give Flyte's documented results; small
// workflows below pin retries, failures, gates, ordering, failure handlers and the pod contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeStatus } from '../../../src/api/flyteworkflow.ts';
import { approve, chain, conditional, containerTask, sleep, t, task, waitForInput, workflow } from '../../../sdk/src/index.ts';
import { loadModule, type LoadedModule } from '../../../sdk/src/bundle/bundle.ts';
import type { LaunchPlanDefinition } from '../../../sdk/src/launch-plan.ts';
import { LocalRunStuck, runLocal, type LocalRunResult } from '../../../sdk/src/local/run-local.ts';
import type { WorkflowDefinition } from '../../../sdk/src/workflow.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const modules = new Map<string, Promise<LoadedModule>>();
/** A workflow or launch plan of a module, loaded (bundled and imported) once per file. */
async function definition(file: string, key: string): Promise<WorkflowDefinition | LaunchPlanDefinition> {
  if (!modules.has(file)) modules.set(file, loadModule(join(ROOT, file)));
  const def = (await modules.get(file)!).definitions.get(key);
  assert.ok(def, `${file} has no ${key}`);
  return def as WorkflowDefinition | LaunchPlanDefinition;
}

function succeeded(r: LocalRunResult): Record<string, unknown> {
  assert.equal(r.phase, 'Succeeded', `the run ended ${r.phase}: ${r.message}`);
  return r.outputs!;
}

function node(r: LocalRunResult, path: string): NodeStatus {
  const status = r.status.nodes?.[path];
  assert.ok(status, `no status for node ${path}; there are ${Object.keys(r.status.nodes ?? {}).join(', ')}`);
  return status;
}

const ms = (time: string | undefined) => {
  assert.ok(time, 'expected a time');
  return Date.parse(time);
};

const close = (actual: unknown, expected: number[]) => {
  assert.ok(Array.isArray(actual) && actual.length === expected.length, `expected ${expected.length} values, got ${JSON.stringify(actual)}`);
  actual.forEach((v, i) => assert.ok(Math.abs((v as number) - expected[i]!) < 1e-12, `[${i}]: ${v} is not ${expected[i]}`));
};

// ─── The examples ────────────────────────────────────────────────────────────

test('examples/workflow.ts gives Flyte\'s results', async () => {
  const file = 'examples/workflow.ts';
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:simple_wf'), { x: [-3, 0, 3], y: [7, 4, -2] })), { o0: 3 });
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:data_pipeline'), { raw_data: '1.5,2,3.25' })), { o0: 6.75 });
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:simple_wf_with_partial'), { x: [-3, 0, 3] })), { o0: -1.5 });
  // documented_wf runs on its defaults, which inputs override.
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:documented_wf'), {})), { o0: 3 });
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:documented_wf'), { y: [1, 2, 3] })), { o0: 2 });
});

test('the nodes of simple_wf run in dependency order, one attempt each', async () => {
  const r = await runLocal(await definition('examples/workflow.ts', 'workflow:simple_wf'), { x: [-3, 0, 3], y: [7, 4, -2] });
  assert.deepEqual(Object.keys(r.status.nodes ?? {}), ['slope', 'intercept']);
  assert.deepEqual(node(r, 'slope').outputs, { o0: -1.5 });
  assert.equal(node(r, 'intercept').attempts, 1);
  assert.ok(ms(node(r, 'intercept').startedAt) >= ms(node(r, 'slope').finishedAt));
});

test('examples/standard-scale.ts: the workflow and the nightly launch plan on its default inputs', async () => {
  const file = 'examples/standard-scale.ts';
  const values = [1, 2, 3, 4, 5];
  const sigma = Math.sqrt(values.reduce((s, v) => s + (v - 3) ** 2, 0));
  const expected = values.map((v) => (v - 3) / sigma);
  close(succeeded(await runLocal(await definition(file, 'workflow:standard_scale_workflow'), { values }))['o0'], expected);
  const lp = await definition(file, 'launchPlan:nightly_scale_lp');
  close(succeeded(await runLocal(lp, {}))['o0'], expected);
  close(succeeded(await runLocal(lp, { values: [2, 4] }))['o0'], [-1 / Math.sqrt(2), 1 / Math.sqrt(2)]);
});

test('a module\'s definitions are named after their exports; named outputs, optional inputs, conditionals and launch-plan nodes run', async () => {
  const file = 'test/fixtures/sdk/named-by-export.ts';
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:average'), { values: [1, 2, 6] })), { o0: '3' });
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:average_of_three'), { values: [1, 2, 6] })), { o0: '3' });
  const short = await runLocal(await definition(file, 'workflow:average_of_three'), { values: [1, 2] });
  assert.equal(short.phase, 'Failed');
  assert.deepEqual(short.status.error, { kind: 'User', code: 'BranchFailed', message: 'node "enough" failed: fewer than three values', node: 'enough' });
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'launchPlan:average_of_defaults'), {})), { o0: '3' });
  // Each launch-plan node is a child execution with the launch plan's defaults under what the node binds.
  assert.deepEqual(succeeded(await runLocal(await definition(file, 'workflow:twice'), {})), { first: '3', second: '15' });
});

// ─── Conditionals ────────────────────────────────────────────────────────────

const add = task({ name: 'add', inputs: { x: t.int, y: t.int }, output: t.int }, ({ x, y }) => x + y);
const negate = task({ name: 'negate', inputs: { x: t.int }, output: t.int }, ({ x }) => -x);

const sign = workflow({ name: 'sign', inputs: { x: t.int }, output: t.int }, ({ x }) =>
  conditional('which')
    .if(x.lt(0), () => negate({ x }))
    .elif(x.eq(0), () => add({ x, y: 100 }))
    .fail('x is positive'),
);

test('a conditional takes the first case that holds and skips the others', async () => {
  const negative = await runLocal(sign.definition, { x: -5 });
  assert.deepEqual(succeeded(negative), { o0: 5 });
  assert.equal(node(negative, 'which/case-0').phase, 'Succeeded');
  assert.equal(node(negative, 'which/case-1').phase, 'Skipped');
  const zero = await runLocal(sign.definition, { x: 0 });
  assert.deepEqual(succeeded(zero), { o0: 100 });
  assert.equal(node(zero, 'which/case-0').phase, 'Skipped');
  assert.equal(node(zero, 'which/case-1').phase, 'Succeeded');
});

test('.fail(message) fails the conditional with that message when no case holds (BranchFailed)', async () => {
  const r = await runLocal(sign.definition, { x: 5 });
  assert.equal(r.phase, 'Failed');
  assert.deepEqual(r.status.error, { kind: 'User', code: 'BranchFailed', message: 'node "which" failed: x is positive', node: 'which' });
  assert.equal(node(r, 'which/case-0').phase, 'Skipped');
  assert.equal(node(r, 'which/case-1').phase, 'Skipped');
});

test('.else runs when no case holds; a string constant with quotes compares as written', async () => {
  const echo = task({ name: 'echo', inputs: { s: t.str }, output: t.str }, ({ s }) => s);
  const quote = `it's a "quote" \\ and\na newline`;
  const wf = workflow({ name: 'quoted', inputs: { s: t.str }, output: t.str }, ({ s }) =>
    conditional('same')
      .if(s.eq(quote), () => echo({ s: 'same' }))
      .else(() => echo({ s })),
  );
  assert.deepEqual(succeeded(await runLocal(wf.definition, { s: quote })), { o0: 'same' });
  assert.deepEqual(succeeded(await runLocal(wf.definition, { s: 'other' })), { o0: 'other' });
});

// ─── Retries and failures ────────────────────────────────────────────────────

test('a task that fails its first attempt and succeeds its second ends Succeeded after 2 attempts', async () => {
  let calls = 0;
  const flaky = task({ name: 'flaky', output: t.int, retries: 1 }, () => {
    calls++;
    if (calls === 1) throw new Error('first attempt fails');
    return 7;
  });
  const r = await runLocal(workflow({ name: 'flaky_wf', output: t.int }, () => flaky({})).definition, {});
  assert.deepEqual(succeeded(r), { o0: 7 });
  assert.equal(calls, 2);
  assert.equal(node(r, 'flaky').attempts, 2);
});

test('retries on the call override the task\'s', async () => {
  let calls = 0;
  const flaky = task({ name: 'flaky', output: t.int }, () => {
    if (++calls < 3) throw new Error(`attempt ${calls} fails`);
    return calls;
  });
  const r = await runLocal(workflow({ name: 'flaky_wf', output: t.int }, () => flaky({}, { retries: 2 })).definition, {});
  assert.deepEqual(succeeded(r), { o0: 3 });
  assert.equal(node(r, 'flaky').attempts, 3);
});

test('a task that throws with retries 0 fails the workflow with the thrown message', async () => {
  let calls = 0;
  const boom = task({ name: 'boom', output: t.int }, () => {
    calls++;
    throw new Error('kaboom');
  });
  const r = await runLocal(workflow({ name: 'boom_wf', output: t.int }, () => boom({})).definition, {});
  assert.equal(r.phase, 'Failed');
  assert.equal(calls, 1);
  assert.deepEqual(r.status.error, { kind: 'User', code: 'NonZeroExit', message: 'node "boom" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: kaboom', node: 'boom' });
  assert.equal(node(r, 'boom').attempts, 1);
  // A thrown error of another class keeps its name.
  const typed = task({ name: 'typed', output: t.int }, () => {
    throw new RangeError('out of range');
  });
  const r2 = await runLocal(workflow({ name: 'typed_wf', output: t.int }, () => typed({})).definition, {});
  assert.equal(r2.status.error?.message, 'node "typed" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: RangeError: out of range');
});

test('outputs of the wrong type fail the node, naming the task and the output', async () => {
  const wrong = task({ name: 'wrong', output: t.int }, () => 'nope' as never);
  const r = await runLocal(workflow({ name: 'wrong_wf', output: t.int }, () => wrong({})).definition, {});
  assert.equal(r.phase, 'Failed');
  assert.equal(r.status.error?.message, 'node "wrong" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: TypeCheckError: task "wrong": output "o0": expected int, got str "nope"');

  const named = task({ name: 'named', outputs: { a: t.int, b: t.str } }, () => ({ a: 1, b: 2 }) as never);
  const r2 = await runLocal(workflow({ name: 'named_wf', output: t.str }, () => named({}).b).definition, {});
  assert.equal(r2.status.error?.message, 'node "named" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: TypeCheckError: task "named": output "b": expected str, got int 2');

  const extra = task({ name: 'extra', outputs: { a: t.int } }, () => ({ a: 1, c: 2 }) as never);
  const r3 = await runLocal(workflow({ name: 'extra_wf', output: t.int }, () => extra({}).a).definition, {});
  assert.equal(r3.status.error?.message, 'node "extra" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: TypeCheckError: task "extra" returned "c", which is not one of its outputs (a)');
});

test('inputs the run is given are checked: an unknown one throws, a mistyped or missing one fails the run', async () => {
  const inc = workflow({ name: 'inc', inputs: { x: t.int }, output: t.int }, ({ x }) => add({ x, y: 1 }));
  await assert.rejects(runLocal(inc.definition, { z: 1 }), { name: 'TypeCheckError', message: 'workflow "inc" has no input "z" (its inputs: x)' });
  const mistyped = await runLocal(inc.definition, { x: 'a' });
  assert.equal(mistyped.phase, 'Failed');
  assert.equal(mistyped.message, 'invalid workflow: workflow: inputs.x: type mismatch: expected int, got str "a"');
  const missing = await runLocal(inc.definition, {});
  assert.equal(missing.message, 'invalid workflow: workflow: inputs.x: missing value for required input');
});

test('a failure handler runs with the workflow\'s inputs and the error message', async () => {
  const boom = task({ name: 'boom', inputs: { x: t.int }, output: t.int }, () => {
    throw new Error('kaboom');
  });
  let seen: unknown;
  const report = task({ name: 'report', inputs: { message: t.str, node: t.optional(t.str), x: t.int } }, (inputs) => {
    seen = inputs;
  });
  const wf = workflow({ name: 'handled', inputs: { x: t.int }, output: t.int, onFailure: ({ x }, error) => report({ message: error.message, node: error.node, x }) }, ({ x }) => boom({ x }));
  const r = await runLocal(wf.definition, { x: 3 });
  assert.equal(r.phase, 'Failed');
  assert.deepEqual(seen, { message: 'node "boom" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: kaboom', node: 'boom', x: 3 });
  assert.equal(node(r, 'onFailure').phase, 'Succeeded');
  // It runs only when the workflow fails.
  seen = undefined;
  const fine = workflow({ name: 'fine', inputs: { x: t.int }, output: t.int, onFailure: ({ x }, error) => report({ message: error.message, x }) }, ({ x }) => add({ x, y: 1 }));
  assert.deepEqual(succeeded(await runLocal(fine.definition, { x: 3 })), { o0: 4 });
  assert.equal(seen, undefined);
});

// ─── Subworkflows ────────────────────────────────────────────────────────────

test('a subworkflow called twice runs as two nodes, each with its own nodes', async () => {
  const inc = workflow({ name: 'inc', inputs: { x: t.int }, output: t.int }, ({ x }) => add({ x, y: 1 }));
  const twice = workflow({ name: 'inc_twice', inputs: { x: t.int }, output: t.int }, ({ x }) => inc({ x: inc({ x }) }));
  const r = await runLocal(twice.definition, { x: 1 });
  assert.deepEqual(succeeded(r), { o0: 3 });
  assert.deepEqual(Object.keys(r.status.nodes ?? {}).sort(), ['inc', 'inc/add', 'inc_2', 'inc_2/add']);
  assert.deepEqual(node(r, 'inc/add').outputs, { o0: 2 });
  assert.deepEqual(node(r, 'inc_2/add').outputs, { o0: 3 });
});

// ─── Gates ───────────────────────────────────────────────────────────────────

const gated = workflow({ name: 'gated', inputs: { x: t.int }, output: t.int }, ({ x }) => add({ x: approve(add({ x, y: 1 }), { name: 'review' }), y: 10 }));

test('an approve gate decided up front passes its value through', async () => {
  const r = await runLocal(gated.definition, { x: 1 }, { signals: { review: { approved: true } } });
  assert.deepEqual(succeeded(r), { o0: 12 });
  assert.equal(node(r, 'review').gate?.decision, 'Approved');
});

test('an approve gate rejected up front fails the workflow', async () => {
  const r = await runLocal(gated.definition, { x: 1 }, { signals: { review: { approved: false, reason: 'not today' } } });
  assert.equal(r.phase, 'Failed');
  assert.equal(node(r, 'review').gate?.decision, 'Rejected');
  assert.match(r.message ?? '', /^node "review" failed: .*not today/);
});

test('an undecided gate stops the run with LocalRunStuck naming the gate and how to decide it', async () => {
  await assert.rejects(runLocal(gated.definition, { x: 1 }), (err: unknown) => {
    assert.ok(err instanceof LocalRunStuck);
    assert.equal(err.name, 'LocalRunStuck');
    assert.match(err.message, /^the run waits for something only a person can give:\n {2}review: waiting for approval/);
    assert.doesNotMatch(err.message, /kubectl/, 'no kubectl command: nothing runs on a cluster');
    assert.match(err.message, /\ndecide gates up front: propeller run … --approve NODE, --reject NODE, --signal NODE=JSON \(runLocal: options\.signals\)$/);
    return true;
  });
});

test('waitForInput takes the signal\'s value', async () => {
  const wf = workflow({ name: 'threshold_wf', output: t.int }, () => add({ x: waitForInput('threshold', t.int), y: 1 }));
  const r = await runLocal(wf.definition, {}, { signals: { threshold: { value: 41 } } });
  assert.deepEqual(succeeded(r), { o0: 42 });
  assert.equal(node(r, 'threshold').gate?.decision, 'Received');
  await assert.rejects(runLocal(wf.definition, {}), { name: 'LocalRunStuck', message: /\n {2}threshold: / });
});

test('sleep waits its duration before the nodes after it start', async () => {
  const wf = workflow({ name: 'sleepy', output: t.int }, () => add({ x: 1, y: 1 }, { after: [sleep('1s')] }));
  const started = Date.now();
  const r = await runLocal(wf.definition, {});
  const elapsed = Date.now() - started;
  assert.deepEqual(succeeded(r), { o0: 2 });
  const slept = ms(node(r, 'sleep').finishedAt) - ms(node(r, 'sleep').startedAt);
  assert.ok(slept >= 990 && slept < 3000, `the sleep node took ${slept} ms`);
  assert.ok(elapsed >= 990 && elapsed < 5000, `the run took ${elapsed} ms`);
  assert.ok(ms(node(r, 'add').startedAt) >= ms(node(r, 'sleep').finishedAt));
});

test('aborting a run through its AbortSignal ends it Aborted', { timeout: 10_000 }, async () => {
  const wf = workflow({ name: 'long_sleep', output: t.int }, () => add({ x: 1, y: 1 }, { after: [sleep('30s')] }));
  const abort = new AbortController();
  const started = Date.now();
  setTimeout(() => abort.abort(), 100);
  const r = await runLocal(wf.definition, {}, { signal: abort.signal });
  assert.equal(r.phase, 'Aborted');
  assert.equal(r.message, 'aborted: spec.abort is true');
  assert.equal(node(r, 'sleep').phase, 'Aborted');
  assert.ok(Date.now() - started < 5000);
});

test('a run given a signal that was already aborted runs nothing', { timeout: 10_000 }, async () => {
  let calls = 0;
  const count = task({ name: 'count', output: t.int }, () => ++calls);
  const r = await runLocal(workflow({ name: 'never', output: t.int }, () => count({})).definition, {}, { signal: AbortSignal.abort() });
  assert.equal(r.phase, 'Aborted');
  assert.equal(calls, 0);
});

// ─── Ordering ────────────────────────────────────────────────────────────────

test('chain(a, b) starts b after a finished, though no data flows between them', async () => {
  const log: string[] = [];
  const first = task({ name: 'first' }, async () => {
    log.push('first started');
    await new Promise((resolve) => setTimeout(resolve, 50));
    log.push('first finished');
  });
  const second = task({ name: 'second' }, () => {
    log.push('second ran');
  });
  // Called in the other order: only chain orders them.
  const wf = workflow({ name: 'chained' }, () => {
    const b = second({});
    const a = first({});
    chain(a, b);
  });
  assert.deepEqual(wf.definition.compile().nodes['second'], { task: 'second', after: ['first'] });
  const r = await runLocal(wf.definition, {});
  succeeded(r);
  assert.deepEqual(log, ['first started', 'first finished', 'second ran']);
  assert.ok(ms(node(r, 'second').startedAt) >= ms(node(r, 'first').finishedAt));
  assert.ok(ms(node(r, 'first').finishedAt) - ms(node(r, 'first').startedAt) >= 40);
});

test('without ordering, independent nodes run at the same time', async () => {
  let running = 0;
  let most = 0;
  const work = task({ name: 'work', inputs: { i: t.int }, output: t.int }, async ({ i }) => {
    most = Math.max(most, ++running);
    await new Promise((resolve) => setTimeout(resolve, 50));
    running--;
    return i;
  });
  const wf = workflow({ name: 'fan', outputs: { a: t.int, b: t.int, c: t.int } }, () => ({ a: work({ i: 1 }), b: work({ i: 2 }), c: work({ i: 3 }) }));
  assert.deepEqual(succeeded(await runLocal(wf.definition, {})), { a: 1, b: 2, c: 3 });
  assert.equal(most, 3);
});

// ─── Container tasks, named outputs, optional inputs ─────────────────────────

test('a container task runs its command with FLYTE_INPUTS and reads FLYTE_OUTPUTS_FILE', async () => {
  const script = [
    "const fs = require('node:fs');",
    'const { x, word } = JSON.parse(process.env.FLYTE_INPUTS);',
    'if (x < 0) { fs.writeFileSync(process.env.FLYTE_OUTPUTS_FILE, "x must not be negative"); process.exit(1); }',
    'fs.writeFileSync(process.env.FLYTE_OUTPUTS_FILE, JSON.stringify({ doubled: x * 2, shout: word.toUpperCase() }));',
  ].join('\n');
  const double = containerTask({ name: 'double', image: 'node:24-slim', command: [process.execPath, '-e', script], inputs: { x: t.int, word: t.str }, outputs: { doubled: t.int, shout: t.str } });
  const wf = workflow({ name: 'container_wf', inputs: { x: t.int }, outputs: { doubled: t.int, shout: t.str } }, ({ x }) => double({ x, word: 'hi' }));
  assert.deepEqual(succeeded(await runLocal(wf.definition, { x: 21 })), { doubled: 42, shout: 'HI' });
  const r = await runLocal(wf.definition, { x: -1 });
  assert.equal(r.phase, 'Failed');
  assert.equal(r.status.error?.message, 'node "double" failed: attempt 1 failed: NonZeroExit: the container exited with code 1: x must not be negative');
});

test('named outputs are destructured and passed on separately', async () => {
  const divmod = task({ name: 'divmod', inputs: { a: t.int, b: t.int }, outputs: { q: t.int, r: t.int } }, ({ a, b }) => ({ q: Math.floor(a / b), r: a % b }));
  const wf = workflow({ name: 'divmod_wf', inputs: { a: t.int, b: t.int }, outputs: { sum: t.int, r: t.int } }, ({ a, b }) => {
    const { q, r } = divmod({ a, b });
    return { sum: add({ x: q, y: r }), r };
  });
  assert.deepEqual(succeeded(await runLocal(wf.definition, { a: 17, b: 5 })), { sum: 5, r: 2 });
});

test('optional inputs may be left out, of the task call and of the run: they are null', async () => {
  const greet = task({ name: 'greet', inputs: { name: t.str, title: t.optional(t.str) }, output: t.str }, ({ name, title }) => (title === null ? `hello ${name}` : `hello ${title} ${name}`));
  const wf = workflow({ name: 'greet_wf', inputs: { name: t.str, title: t.optional(t.str) }, outputs: { plain: t.str, titled: t.str } }, ({ name, title }) => ({
    plain: greet({ name }),
    titled: greet({ name, title }),
  }));
  assert.deepEqual(succeeded(await runLocal(wf.definition, { name: 'Ada' })), { plain: 'hello Ada', titled: 'hello Ada' });
  assert.deepEqual(succeeded(await runLocal(wf.definition, { name: 'Ada', title: 'Dr' })), { plain: 'hello Ada', titled: 'hello Dr Ada' });
});

test('task defaults fill inputs a call leaves out', async () => {
  const scale = task({ name: 'scale', inputs: { x: t.float, by: t.float }, defaults: { by: 10 }, output: t.float }, ({ x, by }) => x * by);
  const wf = workflow({ name: 'scale_wf', inputs: { x: t.float }, outputs: { tenfold: t.float, half: t.float } }, ({ x }) => ({ tenfold: scale({ x }), half: scale({ x, by: 0.5 }) }));
  assert.deepEqual(succeeded(await runLocal(wf.definition, { x: 3 })), { tenfold: 30, half: 1.5 });
  assert.deepEqual(wf.definition.compile().nodes['scale']?.inputs, { x: { from: 'inputs.x' }, by: { value: 10 } });
});

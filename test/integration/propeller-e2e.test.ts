// End to end: real workflows on a real API server, tasks run as local processes by the process node.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { assertClose, expectPhase, explain, L, nodeStatus, nodeTask, podsOf, pyTask, submit, usePropellerEnv } from './helpers/e2e.ts';
import { createWorkflow } from './helpers/workflows.ts';

const ms = (t: string | undefined) => Date.parse(t ?? '');

describe('propeller end to end', { concurrency: true }, () => {
  const env = usePropellerEnv('e2e');

  test('the regression example succeeds with the slope and intercept of its inputs', { timeout: 120_000 }, async () => {
    const manifest = parse(readFileSync(join(repoRoot, 'examples', 'regression.yaml'), 'utf8')) as FlyteWorkflow & { spec: { inputs: { x: number[]; y: number[] } } };
    const name = manifest.metadata.name;
    await createWorkflow(env().client, env().ns, manifest);
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);

    // Least squares, computed here from the workflow's own inputs.
    const { x, y } = manifest.spec.inputs;
    const n = x.length;
    const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
    const sxy = sum(x.map((xi, i) => xi * y[i]!));
    const sx = sum(x);
    const sy = sum(y);
    const sxx = sum(x.map((xi) => xi * xi));
    const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const intercept = sy / n - slope * (sx / n);

    await explain(env(), name, () => {
      const ctx = `\nstatus: ${JSON.stringify(wf.status)}`;
      assertClose(wf.status?.outputs?.['slope'], slope, 'outputs.slope', ctx);
      assertClose(wf.status?.outputs?.['intercept'], intercept, 'outputs.intercept', ctx);
      assert.equal(wf.status?.progress, '2/2');
      const s = nodeStatus(wf.status, 'slope_val');
      const i = nodeStatus(wf.status, 'intercept_val');
      assert.equal(s.phase, 'Succeeded');
      assert.equal(i.phase, 'Succeeded');
      assert.equal(s.attempts, 1);
      assert.equal(i.attempts, 1);
      // The intercept reads the slope's output, so it can only start once the slope finished.
      assert.ok(ms(i.startedAt) >= ms(s.finishedAt), `intercept_val started ${i.startedAt} before slope_val finished ${s.finishedAt}`);
    });
  });

  test('a diamond a → (b, c) → d computes the right values', { timeout: 120_000 }, async () => {
    const name = 'diamond';
    const inputs = { x: 7, scale: 0.5 };
    await submit(env(), name, {
      interface: { inputs: { x: 'int', scale: 'float' }, outputs: { result: 'float', left: 'int', right: 'float' } },
      inputs,
      tasks: {
        affine: pyTask('out["o0"] = inp["x"] * 3 + 1', { inputs: { x: 'int' }, outputs: { o0: 'int' } }),
        square: pyTask('out["o0"] = inp["v"] * inp["v"]', { inputs: { v: 'int' }, outputs: { o0: 'int' } }),
        scaled: nodeTask('out.o0 = inp.v * inp.scale + 0.25;', { inputs: { v: 'int', scale: 'float' }, outputs: { o0: 'float' } }),
        diff: pyTask('out["o0"] = inp["l"] - inp["r"]', { inputs: { l: 'int', r: 'float' }, outputs: { o0: 'float' } }),
      },
      nodes: {
        a: { task: 'affine', inputs: { x: { from: 'inputs.x' } } },
        b: { task: 'square', inputs: { v: { from: 'a.o0' } } },
        c: { task: 'scaled', inputs: { v: { from: 'a.o0' }, scale: { from: 'inputs.scale' } } },
        d: { task: 'diff', inputs: { l: { from: 'b.o0' }, r: { from: 'c.o0' } } },
      },
      outputs: { result: { from: 'd.o0' }, left: { from: 'b.o0' }, right: { from: 'c.o0' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    const a = inputs.x * 3 + 1;
    const b = a * a;
    const c = a * inputs.scale + 0.25;
    const d = b - c;
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { result: d, left: b, right: c });
      const st = (n: string) => nodeStatus(wf.status, n);
      assert.deepEqual(st('a').outputs, { o0: a });
      for (const n of ['a', 'b', 'c', 'd']) assert.equal(st(n).attempts, 1, `node ${n} ran once`);
      for (const n of ['b', 'c']) assert.ok(ms(st(n).startedAt) >= ms(st('a').finishedAt), `${n} started before a finished`);
      for (const n of ['b', 'c']) assert.ok(ms(st('d').startedAt) >= ms(st(n).finishedAt), `d started before ${n} finished`);
      assert.equal(wf.status?.progress, '4/4');
    });
  });

  test('a 1 → 4 → 2 → 1 fan-out/fan-in with list and dict bindings and after ordering', { timeout: 120_000 }, async () => {
    const name = 'fan';
    const inputs = { seed: 5, words: ['alpha', 'be', 'gamma', 'delta-epsilon'] };
    await submit(env(), name, {
      interface: { inputs: { seed: 'int', words: 'list[str]' }, outputs: { total: 'int', summary: 'str', partials: 'list[int]', keys: 'list[str]' } },
      inputs,
      tasks: {
        root: pyTask(
          'for i in range(4):\n    out["o%d" % i] = inp["seed"] * (i + 1) + len(inp["words"][i])\nout["tag"] = "-".join(inp["words"])',
          { inputs: { seed: 'int', words: 'list[str]' }, outputs: { o0: 'int', o1: 'int', o2: 'int', o3: 'int', tag: 'str' } },
        ),
        // k == 0 is slow, so the after-ordering below is not satisfied by accident.
        square: pyTask('if inp["k"] == 0:\n    time.sleep(2)\nout["sq"] = inp["v"] * inp["v"] + inp["k"]', { inputs: { v: 'int', k: 'int' }, outputs: { sq: 'int' } }),
        sumlist: pyTask('out["s"] = sum(inp["xs"])', { inputs: { xs: 'list[int]' }, outputs: { s: 'int' } }),
        sumdict: nodeTask('out.s = Object.values(inp.d).reduce((a, b) => a + b, 0) + inp.tag.length; out.keys = Object.keys(inp.d).sort();', {
          inputs: { d: 'dict[str, int]', tag: 'str' },
          outputs: { s: 'int', keys: 'list[str]' },
        }),
        final: pyTask(
          'total = sum(sum(v) for v in inp["parts"].values())\nout["total"] = total\nout["summary"] = inp["tag"] + ":" + str(total) + ":" + ",".join(sorted(inp["parts"]))',
          { inputs: { parts: 'dict[str, list[int]]', tag: 'str' }, outputs: { total: 'int', summary: 'str' } },
        ),
      },
      nodes: {
        root: { task: 'root', inputs: { seed: { from: 'inputs.seed' }, words: { from: 'inputs.words' } } },
        m0: { task: 'square', inputs: { v: { from: 'root.o0' }, k: { value: 0 } } },
        m1: { task: 'square', inputs: { v: { from: 'root.o1' }, k: { value: 1 } } },
        m2: { task: 'square', inputs: { v: { from: 'root.o2' }, k: { value: 2 } } },
        m3: { task: 'square', inputs: { v: { from: 'root.o3' }, k: { value: 3 } } },
        j0: { task: 'sumlist', inputs: { xs: { list: [{ from: 'm0.sq' }, { from: 'm1.sq' }, { value: 100 }] } } },
        j1: { task: 'sumdict', inputs: { d: { dict: { p: { from: 'm2.sq' }, q: { from: 'm3.sq' }, r: { value: -4 } } }, tag: { from: 'root.tag' } }, after: ['m0'] },
        f: {
          task: 'final',
          inputs: { parts: { dict: { left: { list: [{ from: 'j0.s' }] }, right: { list: [{ from: 'j1.s' }, { value: 7 }] } } }, tag: { from: 'root.tag' } },
        },
      },
      outputs: { total: { from: 'f.total' }, summary: { from: 'f.summary' }, partials: { list: [{ from: 'j0.s' }, { from: 'j1.s' }] }, keys: { from: 'j1.keys' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);

    const o = [0, 1, 2, 3].map((i) => inputs.seed * (i + 1) + inputs.words[i]!.length);
    const tag = inputs.words.join('-');
    const sq = o.map((v, k) => v * v + k);
    const j0 = sq[0]! + sq[1]! + 100;
    const j1 = sq[2]! + sq[3]! - 4 + tag.length;
    const total = j0 + j1 + 7;
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { total, summary: `${tag}:${total}:left,right`, partials: [j0, j1], keys: ['p', 'q', 'r'] });
      const st = (n: string) => nodeStatus(wf.status, n);
      assert.deepEqual(st('m3').outputs, { sq: sq[3] });
      // j1 reads only m2, m3 and root; `after: [m0]` must still hold it back until the slow m0 is done.
      assert.ok(ms(st('j1').startedAt) >= ms(st('m0').finishedAt), `j1 started ${st('j1').startedAt} before m0 finished ${st('m0').finishedAt}`);
      assert.ok(ms(st('m2').finishedAt) < ms(st('m0').finishedAt), 'm2 finished before the slow m0 (the after-ordering was exercised)');
      assert.equal(wf.status?.progress, '8/8');
    });
  });

  test('task pods carry the labels, owner, restart policy and service account', { timeout: 120_000 }, async () => {
    const name = 'podmeta';
    const sa = 'propeller-e2e-runner';
    await env().client.request('POST', `/api/v1/namespaces/${env().ns}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } } });
    const created = await submit(
      env(),
      name,
      {
        serviceAccountName: sa,
        pod: { labels: { team: 'e2e' }, annotations: { 'example.com/note': 'hello' } },
        interface: { outputs: { ctx: 'dict[str, str]' } },
        tasks: {
          whoami: pyTask(
            'keys = ["FLYTE_INTERNAL_EXECUTION_ID", "FLYTE_INTERNAL_EXECUTION_PROJECT", "FLYTE_INTERNAL_EXECUTION_DOMAIN", "FLYTE_INTERNAL_NAMESPACE", "FLYTE_INTERNAL_NODE_ID", "FLYTE_ATTEMPT_NUMBER", "FLYTE_INTERNAL_TASK_NAME", "FLYTE_INTERNAL_TASK_VERSION"]\nout["ctx"] = {k: os.environ.get(k, "<unset>") for k in keys}',
            { outputs: { ctx: 'dict[str, str]' }, version: 'v42' },
          ),
        },
        nodes: { probe: { task: 'whoami' } },
        outputs: { ctx: { from: 'probe.ctx' } },
      },
      { project: 'flytesnacks', domain: 'staging' },
    );
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    const pods = await podsOf(env(), name);
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs?.['ctx'], {
        FLYTE_INTERNAL_EXECUTION_ID: name,
        FLYTE_INTERNAL_EXECUTION_PROJECT: 'flytesnacks',
        FLYTE_INTERNAL_EXECUTION_DOMAIN: 'staging',
        FLYTE_INTERNAL_NAMESPACE: env().ns,
        FLYTE_INTERNAL_NODE_ID: 'probe',
        FLYTE_ATTEMPT_NUMBER: '0',
        FLYTE_INTERNAL_TASK_NAME: 'whoami',
        FLYTE_INTERNAL_TASK_VERSION: 'v42',
      });
      assert.equal(pods.length, 1, `one pod: ${pods.map((p) => p.metadata.name).join(', ')}`);
      const pod = pods[0]!;
      assert.equal(pod.metadata.name, nodeStatus(wf.status, 'probe').podName);
      const labels = pod.metadata.labels ?? {};
      assert.equal(labels[L.managedBy], 'propeller');
      assert.equal(labels[L.workflow], name);
      assert.equal(labels[L.node], 'probe');
      assert.equal(labels[L.attempt], '0');
      assert.equal(labels[L.task], 'whoami');
      assert.equal(labels[L.project], 'flytesnacks');
      assert.equal(labels[L.domain], 'staging');
      assert.equal(labels['team'], 'e2e');
      assert.equal(pod.metadata.annotations?.['flyte.propeller.dev/workflow'], name);
      assert.equal(pod.metadata.annotations?.['flyte.propeller.dev/node'], 'probe');
      assert.equal(pod.metadata.annotations?.['example.com/note'], 'hello');
      assert.deepEqual(pod.metadata.ownerReferences, [
        { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', name, uid: created.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      assert.equal(pod.spec?.restartPolicy, 'Never');
      assert.equal(pod.spec?.serviceAccountName, sa);
    });
  });

  test('long workflow names and node names that are not DNS labels still run, with exact annotations', { timeout: 120_000 }, async () => {
    // A valid object name (DNS subdomain) far longer than a label value or a pod name segment may be.
    const name = `long.${'x'.repeat(90)}.name-with.dots`;
    const nodeNames = ['Step_One', 'step-two', 'UPPER', 'a'];
    await submit(env(), name, {
      interface: { outputs: { r: 'int' } },
      tasks: { plus: pyTask('out["o0"] = inp["v"] + 1', { inputs: { v: 'int' }, outputs: { o0: 'int' } }) },
      nodes: {
        Step_One: { task: 'plus', inputs: { v: { value: 0 } } },
        'step-two': { task: 'plus', inputs: { v: { from: 'Step_One.o0' } } },
        UPPER: { task: 'plus', inputs: { v: { from: 'step-two.o0' } } },
        a: { task: 'plus', inputs: { v: { from: 'UPPER.o0' } } },
      },
      outputs: { r: { from: 'a.o0' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    const pods = (await env().client.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${env().ns}/pods`)).items.filter(
      (p) => p.metadata.annotations?.['flyte.propeller.dev/workflow'] === name,
    );
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { r: 4 });
      assert.equal(pods.length, 4);
      assert.deepEqual(pods.map((p) => p.metadata.annotations?.['flyte.propeller.dev/node']).sort(), [...nodeNames].sort());
      for (const p of pods) {
        const node = p.metadata.annotations!['flyte.propeller.dev/node']!;
        assert.equal(p.metadata.name, nodeStatus(wf.status, node).podName);
        assert.ok(p.metadata.name.length <= 63, `pod name ${p.metadata.name} fits a DNS label`);
        const wfLabel = p.metadata.labels?.[L.workflow] ?? '';
        assert.ok(wfLabel.length > 0 && wfLabel.length <= 63, `workflow label ${wfLabel} is a valid label value`);
      }
      assert.equal(new Set(pods.map((p) => p.metadata.name)).size, 4, 'distinct pod names');
    });
  });

  test('unbound Optional inputs arrive as null and an int output widens into a float input', { timeout: 120_000 }, async () => {
    const name = 'optionals';
    await submit(env(), name, {
      interface: { inputs: { maybe: 'Optional[str]', n: 'int' }, outputs: { seen: 'dict', args: 'list[str]' } },
      inputs: { n: 3 },
      tasks: {
        count: pyTask('out["o0"] = inp["n"] * 2', { inputs: { n: 'int' }, outputs: { o0: 'int' } }),
        look: pyTask('out["seen"] = inp\nout["args"] = sys.argv[1:]', {
          inputs: { maybe: 'Optional[str]', other: 'Optional[int]', f: 'float' },
          outputs: { seen: 'dict', args: 'list[str]' },
          args: ['{{.inputs.maybe}}', '{{.inputs.other}}', '{{.inputs.f}}'],
        }),
      },
      nodes: {
        count: { task: 'count', inputs: { n: { from: 'inputs.n' } } },
        look: { task: 'look', inputs: { maybe: { from: 'inputs.maybe' }, f: { from: 'count.o0' } } },
      },
      outputs: { seen: { from: 'look.seen' }, args: { from: 'look.args' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { seen: { maybe: null, other: null, f: 6 }, args: ['null', 'null', '6'] });
    });
  });

  // Each value goes through {{.inputs.NAME}} into argv (alone and embedded) and through FLYTE_INPUTS.
  const roundTrip = (name: string, values: string[]) => async () => {
    const names = values.map((_, i) => `s${i}`);
    await submit(env(), name, {
      interface: { inputs: Object.fromEntries(names.map((n) => [n, 'str'])), outputs: { argv: 'list[str]', env: 'dict[str, str]' } },
      inputs: Object.fromEntries(names.map((n, i) => [n, values[i]])),
      tasks: {
        echo: pyTask('out["argv"] = sys.argv[1:]\nout["env"] = inp', {
          inputs: Object.fromEntries(names.map((n) => [n, 'str'])),
          outputs: { argv: 'list[str]', env: 'dict[str, str]' },
          args: [...names.map((n) => `{{.inputs.${n}}}`), `<{{ .inputs.${names[0]} }}|{{.inputs.${names.at(-1)}}}>`],
        }),
      },
      nodes: { echo: { task: 'echo', inputs: Object.fromEntries(names.map((n) => [n, { from: `inputs.${n}` }])) } },
      outputs: { argv: { from: 'echo.argv' }, env: { from: 'echo.env' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 90_000);
    await explain(env(), name, () => {
      const out = wf.status?.outputs as { argv: string[]; env: Record<string, string> };
      assert.deepEqual(
        { FLYTE_INPUTS: out.env, argv: out.argv },
        { FLYTE_INPUTS: Object.fromEntries(names.map((n, i) => [n, values[i]])), argv: [...values, `<${values[0]}|${values.at(-1)}>`] },
        'FLYTE_INPUTS and each {{.inputs.NAME}} argument carry the values unchanged',
      );
    });
  };

  test(
    'input values with shell metacharacters reach the task unchanged',
    { timeout: 120_000 },
    roundTrip('shellish', [
      '$(rm -rf /)',
      '; echo pwned',
      `it's "quoted" \`id\` 'single'`,
      'line1\nline2\n\nline4',
      '&& cat /etc/passwd | tee x > y < z &',
      '{{.inputs.s0}}',
      '  leading and trailing spaces\t',
      '--help',
      '*.py ~ ?',
      'ünïcødé ✓ 🚀 \\ back\\nslash',
      '',
    ]),
  );

  // The kubelet expands $(VAR) (for variables of the container's env) and turns $$ into $ in command, args
  // and env values; rendered input values must be escaped so they still arrive unchanged.
  test(
    'input values containing kubelet $(VAR) and $$ syntax reach the task unchanged',
    { timeout: 120_000 },
    roundTrip('kubeletish', ['$$', 'price: $$5', '$(FLYTE_INTERNAL_NODE_ID)', 'a $(FLYTE_ATTEMPT_NUMBER) b', '$(HOME)', '$']),
  );
});

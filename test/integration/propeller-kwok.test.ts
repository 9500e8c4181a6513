// A 50-node layered workflow on KWOK nodes. KWOK cannot compute, so each task's outputs are its
// KWOK_MESSAGE env value after the propeller rendered {{.inputs.NAME}} into it: values flow from node to
// node only through the propeller's bindings and template rendering.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectPhase, explain, KWOK_POD, kwokTask, L, nodeStatus, podsOf, submit, usePropellerEnv } from './helpers/e2e.ts';

describe('propeller on KWOK nodes', () => {
  const env = usePropellerEnv('kwok');

  test('a 50-node layered workflow passes values through every layer', { timeout: 150_000 }, async () => {
    const name = 'layers';
    const prefix = 'grp';
    const duration = '300ms';
    const kw = { duration, taskPod: false };
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const nodes: Record<string, unknown> = {};
    // Layer 0: 17 seeds, each a constant.
    for (const i of range(17)) nodes[`l0_${i}`] = { task: 'seed', inputs: { n: { value: i * i + 1 } } };
    // Layer 1: 16 pairs of neighbouring seeds.
    for (const i of range(16)) nodes[`l1_${i}`] = { task: 'pair', inputs: { a: { from: `l0_${i}.o0` }, b: { from: `l0_${i + 1}.o0` } } };
    // Layer 2: 8 groups: a list binding of two pairs, a label from a workflow input and a constant.
    for (const j of range(8)) {
      nodes[`l2_${j}`] = { task: 'group', inputs: { xs: { list: [{ from: `l1_${2 * j}.o0` }, { from: `l1_${2 * j + 1}.o0` }] }, prefix: { from: 'inputs.prefix' }, j: { value: j } } };
    }
    // Layer 3: 4 dict bindings of two groups.
    for (const k of range(4)) nodes[`l3_${k}`] = { task: 'collect', inputs: { d: { dict: { left: { from: `l2_${2 * k}.o0` }, right: { from: `l2_${2 * k + 1}.o0` } } } } };
    // Layer 4: 2 list bindings of two collections.
    for (const m of range(2)) nodes[`l4_${m}`] = { task: 'listify', inputs: { ds: { list: [{ from: `l3_${2 * m}.o0` }, { from: `l3_${2 * m + 1}.o0` }] } } };
    // Layer 5: the top, and layer 6: two tails, the second ordered after the first with `after`.
    nodes['top'] = { task: 'wrap', inputs: { parts: { list: [{ from: 'l4_0.o0' }, { from: 'l4_1.o0' }] }, count: { from: 'inputs.count' } } };
    nodes['tail_a'] = { task: 'ident', inputs: { x: { from: 'top.o0' } } };
    nodes['tail_b'] = { task: 'ident', inputs: { x: { from: 'top.o0' } }, after: ['tail_a'] };
    assert.equal(Object.keys(nodes).length, 50);

    await submit(env(), name, {
      // Placed on KWOK by the workflow-wide pod options only.
      pod: KWOK_POD,
      interface: { inputs: { prefix: 'str', count: 'int' }, outputs: { result: 'dict', firsts: 'list[int]', pair7: 'list[int]' } },
      inputs: { prefix, count: 50 },
      tasks: {
        seed: kwokTask('{"o0": {{.inputs.n}}}', { inputs: { n: 'int' }, outputs: { o0: 'int' }, ...kw }),
        pair: kwokTask('{"o0": [{{.inputs.a}}, {{.inputs.b}}]}', { inputs: { a: 'int', b: 'int' }, outputs: { o0: 'list[int]' }, ...kw }),
        group: kwokTask('{"o0": {"label": "{{.inputs.prefix}}-{{.inputs.j}}", "xs": {{.inputs.xs}}}}', {
          inputs: { xs: 'list[list[int]]', prefix: 'str', j: 'int' },
          outputs: { o0: 'dict' },
          ...kw,
        }),
        collect: kwokTask('{"o0": {{.inputs.d}}}', { inputs: { d: 'dict[str, dict]' }, outputs: { o0: 'dict[str, dict]' }, ...kw }),
        listify: kwokTask('{"o0": {{.inputs.ds}}}', { inputs: { ds: 'list[dict[str, dict]]' }, outputs: { o0: 'list[dict[str, dict]]' }, ...kw }),
        wrap: kwokTask('{"o0": {"count": {{.inputs.count}}, "parts": {{.inputs.parts}}}}', {
          inputs: { parts: 'list[list[dict[str, dict]]]', count: 'int' },
          outputs: { o0: 'dict' },
          ...kw,
        }),
        ident: kwokTask('{"o0": {{.inputs.x}}}', { inputs: { x: 'dict' }, outputs: { o0: 'dict' }, ...kw }),
      },
      nodes,
      outputs: { result: { from: 'tail_b.o0' }, firsts: { list: [{ from: 'l0_0.o0' }, { from: 'l0_16.o0' }] }, pair7: { from: 'l1_7.o0' } },
    });
    const wf = await expectPhase(env(), name, 'Succeeded', 120_000);

    // The same structure, built here directly.
    const seed = (i: number) => i * i + 1;
    const pair = (i: number) => [seed(i), seed(i + 1)];
    const group = (j: number) => ({ label: `${prefix}-${j}`, xs: [pair(2 * j), pair(2 * j + 1)] });
    const collect = (k: number) => ({ left: group(2 * k), right: group(2 * k + 1) });
    const listify = (m: number) => [collect(2 * m), collect(2 * m + 1)];
    const top = { count: 50, parts: [listify(0), listify(1)] };

    const pods = await podsOf(env(), name);
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { result: top, firsts: [seed(0), seed(16)], pair7: pair(7) });
      assert.equal(wf.status?.progress, '50/50');
      assert.deepEqual(nodeStatus(wf.status, 'l3_2').outputs, { o0: collect(2) });
      const ms = (t: string | undefined) => Date.parse(t ?? '');
      assert.ok(ms(nodeStatus(wf.status, 'tail_b').startedAt) >= ms(nodeStatus(wf.status, 'tail_a').finishedAt), 'tail_b ran after tail_a');
      assert.equal(pods.length, 50, 'one pod per node');
      for (const p of pods) {
        assert.equal(p.metadata.labels?.[L.attempt], '0', `${p.metadata.name} is a first attempt`);
        assert.match(p.spec?.nodeName ?? '', /^kwok-node-/, `${p.metadata.name} ran on a KWOK node, not ${p.spec?.nodeName}`);
        assert.deepEqual(p.spec?.nodeSelector, { 'propeller.dev/dev-node': 'kwok' });
        assert.ok(p.spec?.tolerations?.some((t) => t.key === 'propeller.dev/dev-node' && t.operator === 'Exists'), `${p.metadata.name} tolerates the KWOK taint`);
        assert.equal(p.status?.phase, 'Succeeded');
      }
    });
  });
});

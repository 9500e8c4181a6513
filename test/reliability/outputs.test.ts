// Bad task outputs: real Python and Node.js tasks on the process node write outputs that are too large
// (over the 4 KiB termination message), not JSON, or of the wrong type. Each fails the node as a user
// error whose message names the node, the output and the reason; nothing downstream runs on it. A control
// case writes exactly 4,096 bytes of valid JSON, which must be accepted whole.
import { after, before, describe, test } from 'node:test';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { L, nodeTask, podRecorder, submit, waitForEnd, type Recorder } from '../integration/helpers/e2e.ts';
import { forbiddenLines, propellerAlive, useChartEnv, type ChartEnv } from './chart-env.ts';
import { Rows } from './fault-row.ts';
import { SCALE } from './results.ts';

const LIMIT = 4096;

/** A Python task that writes `expr` (a Python string expression) to FLYTE_OUTPUTS_FILE as it is. */
function rawPy(expr: string, outputs: Record<string, string>): Record<string, unknown> {
  const code = `import json, os\ntext = ${expr}\nwith open(os.environ["FLYTE_OUTPUTS_FILE"], "w") as f:\n    f.write(text)\n`;
  if (code.includes('$')) throw new Error('no "$" in task code');
  return { interface: { outputs }, container: { image: 'python:3.12-slim', command: ['python3', '-c', code] }, retries: 0 };
}

type Row = 'large' | 'json' | 'type';
const ROWS: Record<Row, string> = {
  large: `task outputs over ${LIMIT} bytes (OutputsTooLarge)`,
  json: 'task outputs that are not JSON or not one JSON object',
  type: 'task outputs of the wrong type, missing or undeclared',
};

interface Case {
  name: string;
  row: Row;
  task: Record<string, unknown>;
  /** Expected error code; undefined for the control case, which must succeed. */
  code?: string;
  /** Substrings the failure message must contain (besides the node's name). */
  expect: string[];
  /** For the control case: the value of output o0. */
  value?: unknown;
  smoke?: boolean;
}

const exactly = (n: number) => `'{"o0": "' + 'x' * ${n - 10} + '"}'`;
const CASES: Case[] = [
  // Too large.
  { name: 'too-large-5000', row: 'large', task: rawPy(exactly(5000), { o0: 'str' }), code: 'OutputsTooLarge', expect: [`exceed the ${LIMIT}-byte limit of FLYTE_OUTPUTS_FILE`], smoke: true },
  { name: 'too-large-4097', row: 'large', task: rawPy(exactly(LIMIT + 1), { o0: 'str' }), code: 'OutputsTooLarge', expect: [`exceed the ${LIMIT}-byte limit`] },
  { name: 'too-large-64k-node', row: 'large', task: nodeTask("out.o0 = 'y'.repeat(65536)", { outputs: { o0: 'str' } }), code: 'OutputsTooLarge', expect: [`exceed the ${LIMIT}-byte limit`] },
  { name: 'exactly-4096', row: 'large', task: rawPy(exactly(LIMIT), { o0: 'str' }), expect: [], value: 'x'.repeat(LIMIT - 10), smoke: true },
  // Not JSON.
  { name: 'not-json-text', row: 'json', task: rawPy("'all done, result is 42'", { o0: 'int' }), code: 'OutputsNotJson', expect: ['FLYTE_OUTPUTS_FILE is not valid JSON', '"all done, result is 42"'], smoke: true },
  { name: 'not-json-nan', row: 'json', task: rawPy('json.dumps({"o0": float("nan")})', { o0: 'float' }), code: 'OutputsNotJson', expect: ['FLYTE_OUTPUTS_FILE is not valid JSON', 'NaN'] },
  { name: 'not-json-truncated', row: 'json', task: rawPy("'{\"o0\": [1, 2'", { o0: 'list[int]' }), code: 'OutputsNotJson', expect: ['FLYTE_OUTPUTS_FILE is not valid JSON'] },
  { name: 'not-an-object', row: 'json', task: nodeTask('', { outputs: { o0: 'int' } }), code: 'OutputsNotObject', expect: ['must hold one JSON object of outputs, got an array'] },
  { name: 'nothing-written', row: 'json', task: rawPy("''", { o0: 'int' }), code: 'OutputsMissing', expect: ['wrote no outputs to FLYTE_OUTPUTS_FILE', '"o0"'] },
  // Wrong type.
  { name: 'str-for-int', row: 'type', task: rawPy('json.dumps({"o0": "forty-two"})', { o0: 'int' }), code: 'OutputsInvalid', expect: ['output "o0": expected int, got str "forty-two"'], smoke: true },
  { name: 'nested-element', row: 'type', task: nodeTask("out.o0 = [1, '2', 3]", { outputs: { o0: 'list[int]' } }), code: 'OutputsInvalid', expect: ['output "o0": at [1]: expected int, got str "2"'] },
  { name: 'int-beyond-2-53', row: 'type', task: rawPy("'{\"o0\": 9007199254740993}'", { o0: 'int' }), code: 'OutputsInvalid', expect: ['output "o0": expected int, got int 9007199254740992, beyond'] },
  { name: 'float-for-int', row: 'type', task: rawPy('json.dumps({"o0": 2.5})', { o0: 'int' }), code: 'OutputsInvalid', expect: ['output "o0": expected int, got float 2.5'] },
  { name: 'missing-output', row: 'type', task: rawPy('json.dumps({"o1": 1})', { o0: 'int', o1: 'int' }), code: 'OutputsInvalid', expect: ['output "o0" is missing'] },
  { name: 'undeclared-output', row: 'type', task: rawPy('json.dumps({"o0": 1, "secret": "x"})', { o0: 'int' }), code: 'OutputsInvalid', expect: ['output "secret" is not declared by the task'] },
  { name: 'bad-datetime', row: 'type', task: rawPy('json.dumps({"o0": "next tuesday"})', { o0: 'datetime' }), code: 'OutputsInvalid', expect: ['output "o0": expected datetime, got str "next tuesday"'] },
];
// The Node.js array case: write an array instead of the `out` object.
(CASES.find((c) => c.name === 'not-an-object')!.task as { container: { command: string[] } }).container.command[2] =
  "require('fs').writeFileSync(process.env.FLYTE_OUTPUTS_FILE, JSON.stringify([1, 2, 3]))";

describe('bad task outputs', () => {
  let pods: Recorder<Pod>;
  after(async () => {
    await pods?.stop();
  });
  const env = useChartEnv('outputs');
  before(async () => {
    pods = await podRecorder(env());
  });

  test('outputs that are too large, not JSON or mistyped fail the node as a user error naming the output and reason', { timeout: 180_000 }, async () => {
    const cases = SCALE === 'full' ? CASES : CASES.filter((c) => c.smoke);
    await Promise.all(cases.map((c) => submitCase(env(), c)));
    const finals = new Map<string, FlyteWorkflow | undefined>();
    await Promise.all(cases.map(async (c) => finals.set(c.name, await waitForEnd(env(), c.name, 120_000))));
    const alive = await propellerAlive(env());
    const forbidden = forbiddenLines(env());

    const rows = new Rows();
    for (const [row, fault] of Object.entries(ROWS) as [Row, string][]) {
      const mine = cases.filter((c) => c.row === row);
      if (!mine.length) continue;
      await rows.run(fault, async (r, checks) => {
        r.injected = mine.filter((c) => c.code).length;
        r.workflows = mine.length;
        let good = 0;
        for (const c of mine) {
          const st = finals.get(c.name)?.status;
          const where = `${c.name}: `;
          const before = checks.failures.length;
          const consumerPods = [...pods.uids().values()].filter((p) => p.metadata.annotations?.[L.workflow] === c.name && p.metadata.annotations?.[L.node] === 'consumer');
          const producerPods = [...pods.uids().values()].filter((p) => p.metadata.annotations?.[L.workflow] === c.name && p.metadata.annotations?.[L.node] === 'producer');
          r.duplicates += producerPods.length > 1 ? producerPods.length - 1 : 0;
          if (!c.code) {
            checks.equal(st?.phase, 'Succeeded', `${where}phase (${st?.message})`);
            if (JSON.stringify(st?.outputs?.['r']) !== JSON.stringify(c.value)) r.lost++;
            checks.ok(JSON.stringify(st?.outputs?.['r']) === JSON.stringify(c.value), `${where}the ${LIMIT}-byte output arrived whole (got ${String(st?.outputs?.['r']).length} characters)`);
          } else {
            const message = st?.message ?? '';
            checks.equal(st?.phase, 'Failed', `${where}phase (${message})`);
            checks.equal(st?.error?.code, c.code, `${where}error code`);
            checks.equal(st?.error?.kind, 'User', `${where}error kind (a user error, spending the node's retries)`);
            checks.equal(st?.error?.node, 'producer', `${where}error node`);
            checks.ok(message.startsWith('node "producer" failed: '), `${where}the message names the node: ${message}`);
            for (const e of c.expect) checks.ok(message.includes(e), `${where}the message names ${JSON.stringify(e)}: ${message}`);
            checks.ok(message.length <= 1024, `${where}message of ${message.length} characters`);
            checks.equal(st?.nodes?.['producer']?.attempts, 1, `${where}producer attempts (retries: 0)`);
            checks.equal(st?.nodes?.['producer']?.outputs, undefined, `${where}no outputs recorded for the producer`);
            checks.equal(st?.nodes?.['consumer']?.phase, 'Skipped', `${where}the consumer never ran`);
            checks.equal(consumerPods.length, 0, `${where}no pod for the consumer`);
          }
          if (checks.failures.length === before) good++;
        }
        checks.ok(alive, 'the propeller is up');
        checks.equal(forbidden.length, 0, `requests forbidden under the chart's RBAC: ${forbidden.slice(0, 1).join('')}`);
        const failing = mine.filter((c) => c.code).length;
        const named = row === 'large' ? `the node, FLYTE_OUTPUTS_FILE and the ${LIMIT}-byte limit` : 'the node, the output and the reason';
        r.outcome = `${good}/${mine.length} as expected: ${failing} failed as User errors naming ${named}; nothing downstream ran${mine.some((c) => !c.code) ? `; a ${LIMIT}-byte output was accepted whole` : ''}`;
        r.notes = `${mine.map((c) => c.name).join(', ')}`;
      });
    }
    rows.finish();
  });
});

/** The bad producer, and a consumer that must never see its outputs. */
async function submitCase(env: ChartEnv, c: Case): Promise<void> {
  const outputs = (c.task as { interface: { outputs: Record<string, string> } }).interface.outputs;
  const o0 = outputs['o0'] ?? 'int';
  await submit(env, c.name, {
    interface: { outputs: { r: o0 } },
    tasks: {
      producer: c.task,
      consumer: nodeTask('out.o0 = inp.x', { inputs: { x: o0 }, outputs: { o0 } }),
    },
    nodes: {
      producer: { task: 'producer' },
      consumer: { task: 'consumer', inputs: { x: { from: 'producer.o0' } } },
    },
    outputs: { r: { from: 'consumer.o0' } },
  });
}

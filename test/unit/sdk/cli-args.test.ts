// The propeller CLI's argument handling: the flags generated from a workflow's interface (types, defaults,
// raw str values, JSON for the rest, type checks naming the flag), the two-pass parse of run, and the small
// parsers (durations, KEY=VALUE, namespaces from --project/--domain, outputs as printed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EXIT, UsageError, durationMs, keyValues, knownValues, leadingPositionals, parse, positionals } from '../../../sdk/src/cli/args.ts';
import { checkGate, findNode, gatePaths } from '../../../sdk/src/cli/gates.ts';
import { describeInputs, exampleOf, inputFlags, inputOptions, readInputs } from '../../../sdk/src/cli/inputs.ts';
import { namespaceOf } from '../../../sdk/src/cli/kube.ts';
import { formatOutputs, yamlDocuments } from '../../../sdk/src/cli/output.ts';
import { RUN_OPTIONS } from '../../../sdk/src/cli/commands/run.ts';

const usage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('no usage error');
};

const RESERVED = new Set(Object.keys(RUN_OPTIONS));

describe('input flags from an interface', () => {
  const iface = { x: 'list[int]', title: 'str', when: 'datetime', every: 'duration', note: 'Optional[str]', raw_data: 'dict[str, float]', ok: 'bool', limit: 'Optional[int]', remote: 'int' };
  const flags = inputFlags(iface, { ok: true }, RESERVED);
  const byName = Object.fromEntries(flags.map((f) => [f.name, f]));

  test('every input is a flag with its type; defaults and Optional make it optional', () => {
    assert.deepEqual(
      flags.map((f) => [f.flag, f.type, f.required, f.raw]),
      [
        ['x', 'list[int]', true, false],
        ['title', 'str', true, true],
        ['when', 'datetime', true, true],
        ['every', 'duration', true, true],
        ['note', 'Optional[str]', false, true],
        ['raw_data', 'dict[str, float]', true, false],
        ['ok', 'bool', false, false],
        ['limit', 'Optional[int]', false, false],
        ['input-remote', 'int', true, false],
      ],
    );
    assert.deepEqual(byName['ok']!.default, { value: true });
    assert.equal(byName['raw_data']!.alias, 'raw-data', 'snake_case inputs take --kebab-case too');
    assert.equal(byName['remote']!.flag, 'input-remote', 'an input named like a flag of run gets --input-NAME');
  });

  test('str, datetime and duration values are taken raw; the rest is JSON, type-checked', () => {
    const options = { ...RUN_OPTIONS, ...inputOptions(flags) };
    const args = ['--x', '[-3,0,3]', '--title', 'hello world', '--when', '2026-12-06T00:00:00Z', '--every', '90s', '--raw-data', '{"a":1.5}', '--input-remote', '7', '--limit', 'null', '--note', 'null'];
    const { values } = parse('run', args, options);
    assert.deepEqual(readInputs('run', flags, values as Record<string, unknown>), {
      x: [-3, 0, 3],
      title: 'hello world',
      when: '2026-12-06T00:00:00Z',
      every: '90s',
      raw_data: { a: 1.5 },
      remote: 7,
      limit: null,
      note: null,
    });
    assert.equal(readInputs('run', flags.filter((f) => f.name === 'note'), { note: 'null?' })['note'], 'null?');
  });

  test('bad JSON, a wrong type or a missing input is a usage error naming the flag', () => {
    const read = (values: Record<string, string>) => readInputs('run', flags, { x: '[1]', title: 'n', when: '2026-12-06T00:00:00Z', every: '1s', raw_data: '{}', 'input-remote': '1', ...values });
    assert.match(usage(() => read({ x: '[1,2' })), /^--x: "\[1,2" is not JSON \(.*\); a list\[int\] is written as JSON, e\.g\. --x '\[3,3\]'$/);
    assert.equal(usage(() => read({ x: '[1, 2.5]' })), '--x: at [1]: expected int, got float 2.5');
    assert.equal(usage(() => read({ ok: 'yes' })).split(' (')[0], '--ok: "yes" is not JSON');
    assert.match(usage(() => read({ when: 'tomorrow' })), /^--when: expected datetime, got str "tomorrow"/);
    assert.equal(usage(() => read({ 'input-remote': '"7"' })), '--input-remote: expected int, got str "7"');
    assert.equal(usage(() => readInputs('run', flags, {})), 'missing --x (list[int]), --title (str), --when (datetime), --every (duration), --raw_data (dict[str, float]), --input-remote (int): these inputs have no default');
  });

  test('--help lists flags, types, defaults and fixed inputs', () => {
    const lines = describeInputs(inputFlags({ values: 'list[float]', n: 'int', tag: 'Optional[str]' }, { values: [1, 2] }, RESERVED), { mode: 'fast' });
    assert.deepEqual(lines, [
      '  --values  list[float]    default: [1,2]',
      '  --n       int            required',
      '  --tag     Optional[str]  optional (null when left out)',
      '  (mode)                   fixed by the launch plan: "fast"',
    ]);
  });

  test('examples of JSON values for messages', () => {
    assert.equal(exampleOf('list[int]'), '[3,3]');
    assert.equal(exampleOf('dict[str, list[float]]'), '{"a":[2.5,2.5]}');
    assert.equal(exampleOf('Optional[bool]'), 'true');
  });
});

describe('the two passes of run', () => {
  test('FILE and WORKFLOW are the positionals before the first flag run does not know', () => {
    assert.deepEqual(leadingPositionals('run', ['--remote', 'f.ts', 'wf', '--x', '[1]', 'stray'], RUN_OPTIONS), { positionals: ['f.ts', 'wf'], help: false, unknownBefore: '--x' });
    assert.deepEqual(leadingPositionals('run', ['-n', 'ns', 'f.ts', 'wf', '--help'], RUN_OPTIONS), { positionals: ['f.ts', 'wf'], help: true });
    assert.deepEqual(leadingPositionals('run', ['f.ts', '--x', '1', 'wf'], RUN_OPTIONS).positionals, ['f.ts']);
  });

  test('the second pass is strict: an unknown flag is a usage error that names it', () => {
    assert.equal(usage(() => parse('run', ['f.ts', 'wf', '--nope', '1'], RUN_OPTIONS)), 'unknown flag --nope');
    assert.equal(usage(() => parse('run', ['f.ts', 'wf', '--name'], RUN_OPTIONS)), '--name needs a value');
    assert.match(usage(() => parse('run', ['f.ts', 'wf', '--x', '-3'], { ...RUN_OPTIONS, x: { type: 'string' } })), /^--x: a value starting with "-" is written --x=VALUE/);
  });

  test('the cluster flags can be read before the generated flags are known', () => {
    assert.deepEqual(knownValues(['lp', '--values', '[1]', '-n', 'ns', '--context', 'kind'], RUN_OPTIONS), { namespace: 'ns', context: 'kind' });
  });

  test('positionals, durations, KEY=VALUE', () => {
    assert.equal(usage(() => positionals('get', [], ['EXECUTION'])), 'missing EXECUTION');
    assert.equal(usage(() => positionals('get', ['a', 'b'], ['EXECUTION'])), 'unexpected argument "b"');
    assert.equal(durationMs('run', '--timeout', '1h30m'), 5_400_000);
    assert.equal(durationMs('run', '--timeout', '90'), 90_000);
    assert.equal(durationMs('run', '--timeout', '250ms'), 250);
    assert.equal(usage(() => durationMs('run', '--timeout', 'soon')), '--timeout: "soon" is not a duration such as 90s, 10m or 1h30m');
    assert.deepEqual(keyValues('run', '--label', ['team=ml', 'x=a=b']), { team: 'ml', x: 'a=b' });
    assert.equal(usage(() => keyValues('run', '--label', ['team'])), '--label takes KEY=VALUE; got "team"');
  });

  test('the namespace: -n, else --project/--domain (P-D, labelled), else the context\'s, else default', () => {
    assert.deepEqual(namespaceOf('run', { namespace: 'a' }, 'ctx'), { namespace: 'a', labels: {} });
    assert.deepEqual(namespaceOf('run', {}, 'ctx'), { namespace: 'ctx', labels: {} });
    assert.deepEqual(namespaceOf('run', {}, undefined), { namespace: 'default', labels: {} });
    assert.deepEqual(namespaceOf('run', { project: 'ml', domain: 'development' }, 'ctx'), { namespace: 'ml-development', labels: { project: 'ml', domain: 'development' } });
    assert.equal(usage(() => namespaceOf('run', { project: 'ml' }, undefined)), '--project and --domain go together (the namespace is PROJECT-DOMAIN)');
    assert.match(usage(() => namespaceOf('run', { project: 'ml', domain: 'dev', namespace: 'other' }, undefined)), /disagree/);
  });

  test('exit codes', () => {
    assert.deepEqual(EXIT, { ok: 0, failed: 1, usage: 2, api: 3 });
  });
});

describe('what run prints', () => {
  test('a single output o0 as its bare JSON value; named outputs as name: value lines; or an object', () => {
    assert.equal(formatOutputs({ o0: 3 }), '3');
    assert.equal(formatOutputs({ o0: [1.5, 'a'] }), '[1.5,"a"]');
    assert.equal(formatOutputs({ plan: 'one worker', score: 0.99 }), 'plan: "one worker"\nscore: 0.99');
    assert.equal(formatOutputs({}), '');
    assert.equal(formatOutputs({ o0: 3 }, 'json'), '{\n  "o0": 3\n}');
    assert.equal(formatOutputs({ a: [1] }, 'yaml'), 'a:\n  - 1');
    assert.equal(yamlDocuments([{ a: 1 }, { b: 2 }]), '---\na: 1\n---\nb: 2\n');
  });
});

describe('gates by node path', () => {
  const spec = {
    nodes: {
      review: { gate: { approve: {} } },
      nap: { gate: { sleep: '1s' } },
      train: { subworkflow: 'sub' },
      check: { branch: { cases: [{ then: { gate: { signal: { type: 'int' } } } }], else: { subworkflow: 'sub' } } },
    },
    subworkflows: { sub: { nodes: { level: { gate: { signal: { type: 'Optional[str]' } } } } } },
  };

  test('paths go through subworkflow nodes and branch arms', () => {
    assert.deepEqual(findNode(spec, 'train/level'), { gate: { signal: { type: 'Optional[str]' } } });
    assert.deepEqual(findNode(spec, 'check/case-0'), { gate: { signal: { type: 'int' } } });
    assert.deepEqual(findNode(spec, 'check/else/level'), { gate: { signal: { type: 'Optional[str]' } } });
    assert.equal(findNode(spec, 'review/x'), undefined);
    assert.deepEqual(gatePaths(spec), ['review', 'train/level', 'check/case-0', 'check/else/level']);
  });

  test('a decision for a node that is not such a gate says which gates there are', () => {
    assert.deepEqual(checkGate('signal', spec, 'wf-1', 'train/level', 'signal'), { type: 'Optional[str]' });
    assert.equal(usage(() => checkGate('approve', spec, 'wf-1', 'nope', 'approve')), 'wf-1 has no node "nope" (its approve gates: review)');
    assert.equal(usage(() => checkGate('approve', spec, 'wf-1', 'train/level', 'approve')), 'node "train/level" of wf-1 is not an approve gate: it is a signal gate (propeller signal) (its approve gates: review)');
    assert.equal(usage(() => checkGate('signal', spec, 'wf-1', 'review', 'signal')), 'node "review" of wf-1 is not a signal gate: it is an approve gate (propeller approve or reject) (its signal gates: train/level, check/case-0, check/else/level)');
    assert.deepEqual(checkGate('approve', undefined, 'wf-1', 'anything', 'approve'), {}, 'an execution not yet resolved is not checked');
  });
});

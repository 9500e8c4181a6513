import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configOptions, loadConfig } from '../../../src/config/load.ts';
import { ConfigSchema } from '../../../src/config/schema.ts';

const noFile = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};
const files = (contents: Record<string, string>) => (path: string) => {
  const text = contents[path];
  if (text === undefined) throw new Error(`ENOENT: no such file ${path}`);
  return text;
};
const load = (argv: string[], env: Record<string, string> = {}, read: (p: string) => string = noFile) => loadConfig(argv, env, read);

function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ConfigInvalid');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe('config defaults', () => {
  test('no flags, env or file gives the schema defaults', () => {
    const config = load([]);
    assert.deepEqual(config, ConfigSchema.parse({}));
    assert.equal(config.kubeconfig, '');
    assert.deepEqual(config.namespaces, []);
    assert.equal(config.workers, 8);
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.kube, { qps: 100, burst: 200, timeoutMs: 30_000 });
    assert.deepEqual(config.queue, { baseDelayMs: 50, maxDelayMs: 60_000, qps: 100, burst: 1000 });
    assert.equal(config.resyncPeriodMs, 30_000);
    assert.deepEqual(config.server, { host: '0.0.0.0', port: 10254 });
    assert.deepEqual(config.leaderElection, {
      enabled: false,
      namespace: '',
      name: 'propeller-leader',
      identity: '',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    assert.equal(config.workflow.maxNodes, 10_000);
  });

  test('the default env is not consulted for unrelated variables', () => {
    assert.deepEqual(load([], { HOME: '/root', PROPELLER: 'x', PROPELLER_UNKNOWN_THING: '5' }), ConfigSchema.parse({}));
  });

  test('each call gets its own default arrays', () => {
    const a = load([]);
    a.namespaces.push('mutated');
    assert.deepEqual(load([]).namespaces, []);
  });
});

describe('config sources and precedence', () => {
  const file = files({
    '/etc/propeller.yaml': 'workers: 3\nlogLevel: debug\nkube:\n  qps: 5\n  burst: 7\nnamespaces: [x, y]\n',
  });

  test('a file given by --config sets values; unset ones keep their defaults', () => {
    const config = load(['--config', '/etc/propeller.yaml'], {}, file);
    assert.equal(config.workers, 3);
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.kube, { qps: 5, burst: 7, timeoutMs: 30_000 });
    assert.deepEqual(config.namespaces, ['x', 'y']);
    assert.equal(config.resyncPeriodMs, 30_000);
  });

  test('PROPELLER_CONFIG names the file; --config wins over it', () => {
    const read = files({ '/a.yaml': 'workers: 11\n', '/b.yaml': 'workers: 12\n' });
    assert.equal(load([], { PROPELLER_CONFIG: '/a.yaml' }, read).workers, 11);
    assert.equal(load(['--config=/b.yaml'], { PROPELLER_CONFIG: '/a.yaml' }, read).workers, 12);
  });

  test('env wins over the file, and nested env keys merge with the file object', () => {
    const config = load(['--config', '/etc/propeller.yaml'], { PROPELLER_WORKERS: '4', PROPELLER_KUBE_QPS: '9' }, file);
    assert.equal(config.workers, 4);
    assert.deepEqual(config.kube, { qps: 9, burst: 7, timeoutMs: 30_000 });
    assert.equal(config.logLevel, 'debug');
  });

  test('flags win over env, which wins over the file', () => {
    const config = load(
      ['--config', '/etc/propeller.yaml', '--workers', '6', '--kube-burst=99'],
      { PROPELLER_WORKERS: '4', PROPELLER_KUBE_BURST: '50', PROPELLER_LOG_LEVEL: 'warn' },
      file,
    );
    assert.equal(config.workers, 6);
    assert.equal(config.kube.burst, 99);
    assert.equal(config.kube.qps, 5);
    assert.equal(config.logLevel, 'warn');
  });

  test('an empty env var is ignored', () => {
    assert.equal(load([], { PROPELLER_WORKERS: '' }).workers, 8);
  });

  test('the last of a repeated flag wins', () => {
    assert.equal(load(['--workers', '2', '--workers=5']).workers, 5);
  });

  test('an empty file means defaults', () => {
    assert.deepEqual(load(['--config', '/empty'], {}, files({ '/empty': '' })), ConfigSchema.parse({}));
  });
});

describe('config flag and env syntax', () => {
  test('--flag=value and --flag value are equivalent', () => {
    assert.deepEqual(load(['--workers=7', '--log-level=error']), load(['--workers', '7', '--log-level', 'error']));
    assert.equal(load(['--workers=7']).workers, 7);
  });

  test('a value may contain = after the first one', () => {
    assert.equal(load(['--kubeconfig=/a=b/config']).kubeconfig, '/a=b/config');
  });

  test('kebab-case flags reach nested keys', () => {
    const config = load([
      '--kube-qps', '12.5',
      '--kube-timeout-ms', '1000',
      '--leader-election-enabled', 'true',
      '--leader-election-lease-duration-ms', '4000',
      '--workflow-max-nodes', '20',
      '--server-port', '-1',
      '--queue-base-delay-ms=5',
    ]);
    assert.equal(config.kube.qps, 12.5);
    assert.equal(config.kube.timeoutMs, 1000);
    assert.equal(config.leaderElection.enabled, true);
    assert.equal(config.leaderElection.leaseDurationMs, 4000);
    assert.equal(config.workflow.maxNodes, 20);
    assert.equal(config.server.port, -1);
    assert.equal(config.queue.baseDelayMs, 5);
  });

  test('PROPELLER_* env names in upper snake case reach nested keys', () => {
    const config = load([], {
      PROPELLER_WORKFLOW_MAX_NODES: '42',
      PROPELLER_LEADER_ELECTION_ENABLED: '1',
      PROPELLER_LEADER_ELECTION_RENEW_DEADLINE_MS: '3000',
      PROPELLER_SERVER_HOST: '127.0.0.1',
      PROPELLER_RESYNC_PERIOD_MS: '0',
    });
    assert.equal(config.workflow.maxNodes, 42);
    assert.equal(config.leaderElection.enabled, true);
    assert.equal(config.leaderElection.renewDeadlineMs, 3000);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.resyncPeriodMs, 0);
  });

  test('booleans accept true/false/1/0', () => {
    assert.equal(load(['--leader-election-enabled', 'false']).leaderElection.enabled, false);
    assert.equal(load(['--leader-election-enabled=0']).leaderElection.enabled, false);
    assert.equal(load(['--leader-election-enabled=1']).leaderElection.enabled, true);
    assert.equal(load([], { PROPELLER_LEADER_ELECTION_ENABLED: 'true' }).leaderElection.enabled, true);
  });

  test('lists are comma-separated, trimmed, and drop empty items', () => {
    assert.deepEqual(load(['--namespaces', 'a,b']).namespaces, ['a', 'b']);
    assert.deepEqual(load(['--namespaces= a , b,,c ']).namespaces, ['a', 'b', 'c']);
    assert.deepEqual(load(['--namespaces=']).namespaces, []);
    assert.deepEqual(load([], { PROPELLER_NAMESPACES: 'team-a,team-b' }).namespaces, ['team-a', 'team-b']);
  });
});

describe('config errors', () => {
  test('an unknown flag names the flag', () => {
    assertConfigError(() => load(['--wrokers', '3']), /unknown flag --wrokers/);
  });

  test('a positional argument is rejected', () => {
    assertConfigError(() => load(['workers']), /unexpected argument "workers"/);
  });

  test('a flag without a value is rejected', () => {
    assertConfigError(() => load(['--workers']), /--workers needs a value/);
    // The next flag is not taken as the value.
    assertConfigError(() => load(['--leader-election-enabled', '--workers', '3']), /--leader-election-enabled needs a value/);
  });

  test('an unknown key in the file names the key and the file', () => {
    const read = files({ '/c.yaml': 'kube:\n  qps: 1\n  qpz: 2\n' });
    assertConfigError(() => load(['--config', '/c.yaml'], {}, read), /\/c\.yaml/, /unknown option kube\.qpz/);
    assertConfigError(() => load(['--config', '/d.yaml'], {}, files({ '/d.yaml': 'log-level: debug\n' })), /unknown option log-level/);
    assertConfigError(() => load(['--config', '/e.yaml'], {}, files({ '/e.yaml': 'nope:\n  deeper: 1\n' })), /unknown option nope/);
  });

  test('a missing or unparsable file is a ConfigError', () => {
    assertConfigError(() => load(['--config', '/missing.yaml'], {}, files({})), /cannot read config file \/missing\.yaml/);
    assertConfigError(() => load(['--config', '/bad.yaml'], {}, files({ '/bad.yaml': 'workers: [1\n' })), /cannot read config file \/bad\.yaml/);
  });

  test('a file that is not a mapping is rejected rather than ignored', () => {
    assertConfigError(() => load(['--config', '/list.yaml'], {}, files({ '/list.yaml': '- workers\n- 3\n' })), /\/list\.yaml/);
    assertConfigError(() => load(['--config', '/scalar.yaml'], {}, files({ '/scalar.yaml': 'workers\n' })), /\/scalar\.yaml/);
  });

  test('bad values name the option', () => {
    assertConfigError(() => load(['--workers', 'zero']), /workers/);
    assertConfigError(() => load(['--log-level', 'loud']), /logLevel|log-level/);
    assertConfigError(() => load(['--workers', '0']), /workers/);
    assertConfigError(() => load(['--workers', '2.5']), /workers/);
    assertConfigError(() => load(['--workers=']), /workers/);
    assertConfigError(() => load(['--kube-qps', '-1']), /kube\.qps|kube-qps/);
    assertConfigError(() => load(['--leader-election-enabled', 'yes']), /leaderElection\.enabled|leader-election-enabled/);
    assertConfigError(() => load([], { PROPELLER_WORKFLOW_MAX_NODES: 'many' }), /workflow\.maxNodes|PROPELLER_WORKFLOW_MAX_NODES/);
    assertConfigError(() => load(['--config', '/f.yaml'], {}, files({ '/f.yaml': 'server:\n  port: 70000\n' })), /server\.port/);
  });

  test('several bad values are all reported', () => {
    assertConfigError(() => load(['--workers', 'zero', '--log-level', 'loud']), /workers/, /logLevel|log-level/);
  });
});

describe('configOptions', () => {
  const options = configOptions();

  test('lists every leaf once, with flag and env names derived from its path', () => {
    const paths = options.map((o) => o.path.join('.'));
    assert.equal(new Set(paths).size, paths.length);
    for (const p of ['kubeconfig', 'namespaces', 'workers', 'logLevel', 'kube.qps', 'kube.burst', 'kube.timeoutMs', 'queue.baseDelayMs', 'leaderElection.enabled', 'leaderElection.retryPeriodMs', 'workflow.maxNodes', 'server.port']) {
      assert.ok(paths.includes(p), `missing ${p}`);
    }
    // No intermediate objects are listed as options.
    for (const p of ['kube', 'queue', 'server', 'leaderElection', 'workflow']) assert.ok(!paths.includes(p), `${p} is not a leaf`);
    const byPath = new Map(options.map((o) => [o.path.join('.'), o]));
    assert.equal(byPath.get('kube.qps')!.flag, 'kube-qps');
    assert.equal(byPath.get('workflow.maxNodes')!.env, 'PROPELLER_WORKFLOW_MAX_NODES');
    assert.equal(byPath.get('leaderElection.enabled')!.flag, 'leader-election-enabled');
    assert.equal(byPath.get('leaderElection.enabled')!.env, 'PROPELLER_LEADER_ELECTION_ENABLED');
    const flags = options.map((o) => o.flag);
    const envs = options.map((o) => o.env);
    assert.equal(new Set(flags).size, flags.length, 'flags are unique');
    assert.equal(new Set(envs).size, envs.length, 'env names are unique');
  });

  test('kinds follow the schema types', () => {
    const kind = (p: string) => options.find((o) => o.path.join('.') === p)!.kind;
    assert.equal(kind('namespaces'), 'list');
    assert.equal(kind('logLevel'), 'enum');
    assert.equal(kind('workers'), 'number');
    assert.equal(kind('leaderElection.enabled'), 'boolean');
    assert.equal(kind('kubeconfig'), 'string');
  });

  test('every leaf has a description and a default equal to what loadConfig gives', () => {
    const defaults = load([]) as unknown as Record<string, unknown>;
    for (const option of options) {
      assert.ok(option.description.trim().length > 0, `${option.path.join('.')} has no description`);
      assert.notEqual(option.defaultValue, undefined, `${option.path.join('.')} has no default`);
      const actual = option.path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], defaults);
      assert.deepEqual(option.defaultValue, actual, `default of ${option.path.join('.')}`);
    }
  });

  test('every listed option can be set by its flag and by its env var', () => {
    const sample = (kind: string, def: unknown): [string, unknown] => {
      switch (kind) {
        case 'number':
          // One above the default stays within the option's bounds.
          return [String((def as number) + 1), (def as number) + 1];
        case 'boolean':
          return [String(!def), !def];
        case 'list':
          return ['p,q', ['p', 'q']];
        case 'enum':
          return ['debug', 'debug'];
        default:
          return ['some-value', 'some-value'];
      }
    };
    for (const option of options) {
      const [text, expected] = sample(option.kind, option.defaultValue);
      const get = (c: unknown) => option.path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], c);
      assert.deepEqual(get(load([`--${option.flag}`, text])), expected, `--${option.flag}`);
      assert.deepEqual(get(load([], { [option.env]: text })), expected, option.env);
    }
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkResources, compareQuantities, parseQuantity } from '../../../src/core/quantity.ts';
import { quote } from '../../../src/core/quote.ts';

const Ki = 2 ** 10;
const Mi = 2 ** 20;
const Gi = 2 ** 30;
const INT64_MAX = 2 ** 63; // 2^63-1 as a double

function value(text: string | number): number {
  const parsed = parseQuantity(text);
  assert.ok(parsed.ok, `${JSON.stringify(text)} should parse: ${parsed.ok ? '' : parsed.error}`);
  return parsed.value;
}

/** Equal up to double rounding. */
function near(actual: number, expected: number, what: string): void {
  const tolerance = Math.abs(expected) * 1e-12;
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not ${expected}`);
}

// Both tables were checked against resource.ParseQuantity of k8s.io/apimachinery v0.34.10 (the control plane
// the integration tests run), fed the JSON the propeller sends: it accepts every VALID entry with this
// amount, and refuses every INVALID entry except those marked, which it lets through as a silent mistake.
const VALID: [string | number, number][] = [
  ['2', 2],
  [2, 2],
  [0, 0],
  ['0', 0],
  ['500m', 0.5],
  ['1.5', 1.5],
  [1.5, 1.5],
  ['1.5Gi', 1.5 * Gi],
  ['1Ki', Ki],
  ['1Mi', Mi],
  ['1Ei', 2 ** 60],
  ['1k', 1e3],
  ['1M', 1e6],
  ['1G', 1e9],
  ['1T', 1e12],
  ['1P', 1e15],
  ['1E', 1e18], // E alone is exa, not an exponent
  ['100n', 1e-7],
  ['10u', 1e-5],
  ['1e3', 1e3],
  ['1E3', 1e3],
  ['1e+3', 1e3],
  ['1e-3', 1e-3],
  ['1.5e2', 150],
  ['+1', 1],
  ['-1', -1], // a quantity, but not a resource amount: see checkResources
  ['-0', 0],
  ['.5', 0.5],
  ['5.', 5],
  ['1.G', 1e9], // "TODO: we currently allow 1.G" (quantity.go)
  ['007', 7],
  ['0.1n', 1e-9], // rounded up to the API server's resolution, 1n
  ['16Ei', INT64_MAX], // binary amounts are capped at 2^63-1
  ['123456789012345678901234567890', 1.2345678901234568e29],
  [1e21, 1e21], // JSON.stringify gives 1e+21, itself a quantity
];

const INVALID: (string | number)[] = [
  '',
  'lots',
  '1.5.5',
  '1 Gi',
  ' 1', // accepted: the API server trims these spaces, but means to stop doing so
  '1 ', // accepted, likewise
  '1\n',
  '1gi',
  '1GB',
  '1K',
  '1Kii',
  '1i',
  '1mi',
  'Mi', // accepted: the API server reads a number with no digit as 0, and so the next six
  'k',
  '-',
  '+',
  '.',
  '.Gi',
  'e3',
  '1e',
  '1e+',
  '1e1.5',
  '1Mi3',
  '1e3Mi',
  '--1',
  '+-1',
  '0x10',
  '1_000',
  '1,5',
  '１', // a full-width digit
  '1e4294967296', // accepted: the API server truncates the exponent to 32 bits and reads 1
  '.5e-2147483648', // accepted: its 32-bit scale arithmetic wraps around to 5e2147483647
  Number.NaN, // accepted: JSON.stringify sends null, which the API server reads as 0
  Number.POSITIVE_INFINITY, // likewise
];

test('parseQuantity accepts what the API server accepts, with the amount in base units', () => {
  for (const [text, expected] of VALID) near(value(text), expected, JSON.stringify(text));
});

test('parseQuantity refuses what the API server refuses, and a few silent mistakes it lets through', () => {
  for (const text of INVALID) {
    const parsed = parseQuantity(text);
    assert.equal(parsed.ok, false, `${JSON.stringify(text)} should be refused`);
  }
});

test('parseQuantity names the text and shows the form a quantity takes', () => {
  assert.deepEqual(parseQuantity('lots'), { ok: false, error: '"lots" is not a Kubernetes quantity such as 500m, 2 or 1Gi' });
  assert.deepEqual(parseQuantity(''), { ok: false, error: '"" is not a Kubernetes quantity such as 500m, 2 or 1Gi' });
  assert.deepEqual(parseQuantity(Number.NaN), { ok: false, error: 'NaN is not a Kubernetes quantity such as 500m, 2 or 1Gi' });
});

test('parseQuantity suggests the quantity a near miss meant', () => {
  const error = (text: string) => {
    const parsed = parseQuantity(text);
    assert.ok(!parsed.ok);
    return parsed.error;
  };
  assert.equal(error('1gi'), '"1gi" is not a Kubernetes quantity such as 500m, 2 or 1Gi (did you mean 1Gi?)');
  assert.equal(error('1 Gi'), '"1 Gi" is not a Kubernetes quantity such as 500m, 2 or 1Gi (did you mean 1Gi?)');
  assert.equal(error('512MB'), '"512MB" is not a Kubernetes quantity such as 500m, 2 or 1Gi (did you mean 512M or 512Mi?)');
  assert.equal(error('2GiB'), '"2GiB" is not a Kubernetes quantity such as 500m, 2 or 1Gi (did you mean 2Gi?)');
  assert.equal(error('1K'), '"1K" is not a Kubernetes quantity such as 500m, 2 or 1Gi (did you mean 1k or 1Ki?)');
  assert.equal(error('1e'), '"1e" is not a Kubernetes quantity such as 500m, 2 or 1Gi');
});

test('parseQuantity cuts a long text short in its message', () => {
  const parsed = parseQuantity('x'.repeat(100_000));
  assert.ok(!parsed.ok);
  assert.ok(parsed.error.length < 200, parsed.error);
});

test('values compare as the API server compares them', () => {
  assert.ok(value('1Gi') > value('1G'));
  assert.equal(value('1000m'), value('1'));
  assert.equal(value('1e3'), value('1k'));
  assert.equal(value('1Mi'), value('1024Ki'));
  assert.equal(value('1Mi'), value(1048576));
  assert.equal(value('1.5Gi'), value('1536Mi'));
  assert.ok(value('999m') < value('1'));
  assert.equal(compareQuantities('1Gi', '1G'), 1);
  assert.equal(compareQuantities('1000m', '1'), 0);
  assert.equal(compareQuantities('1e3', '1k'), 0);
  assert.equal(compareQuantities('-2', '1'), -1);
  // Finer than 1n is rounded up to 1n, as the API server does.
  assert.equal(value('1.0000000000000001'), 1.000000001);
  assert.equal(compareQuantities('1.0000000000000001', '1000000001n'), 0);
  // Exact where doubles are not: 1G and 1n more.
  assert.equal(value('1.000000000000000001G'), value('1G'));
  assert.equal(compareQuantities('1.000000000000000001G', '1G'), 1);
  assert.equal(compareQuantities('1000000000000000001n', '1G'), 1);
  // Both capped at 2^63-1.
  assert.equal(compareQuantities('16Ei', '8Ei'), 0);
  assert.equal(compareQuantities('lots', '1'), undefined);
});

test('checkResources accepts ordinary resources', () => {
  assert.deepEqual(checkResources(undefined, 'task "train"'), []);
  assert.deepEqual(checkResources({}, 'task "train"'), []);
  assert.deepEqual(
    checkResources(
      {
        requests: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi', 'nvidia.com/gpu': 1, 'hugepages-2Mi': '4Mi' },
        limits: { cpu: 2, memory: '1Gi', 'nvidia.com/gpu': '1', 'hugepages-2Mi': '4Mi' },
      },
      'task "train"',
    ),
    [],
  );
  // Equal requests and limits, however written; limits alone (the API server copies them to requests).
  assert.deepEqual(checkResources({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1000m', memory: '1073741824' } }, 'task "t"'), []);
  assert.deepEqual(checkResources({ limits: { cpu: '1', 'example.com/dongle': 2, 'example.kubernetes.io/thing': '1.5' } }, 'task "t"'), []);
});

test('checkResources refuses a value that is not a quantity, naming task, field and reason', () => {
  assert.deepEqual(checkResources({ requests: { cpu: 'lots' } }, 'task "train"'), [
    'task "train": container.resources.requests.cpu: "lots" is not a Kubernetes quantity such as 500m, 2 or 1Gi',
  ]);
  assert.deepEqual(checkResources({ limits: { memory: '1gi' } }, 'task "train"'), [
    'task "train": container.resources.limits.memory: "1gi" is not a Kubernetes quantity such as 500m, 2 or 1Gi (did you mean 1Gi?)',
  ]);
});

test('checkResources refuses negative amounts', () => {
  assert.deepEqual(checkResources({ requests: { cpu: '-1' }, limits: { memory: -5 } }, 'task "train"'), [
    'task "train": container.resources.requests.cpu: -1 is negative: a resource quantity must be 0 or more',
    'task "train": container.resources.limits.memory: -5 is negative: a resource quantity must be 0 or more',
  ]);
  assert.deepEqual(checkResources({ requests: { cpu: '-0' } }, 'task "t"'), []);
});

test('checkResources refuses requests above their limits', () => {
  assert.deepEqual(checkResources({ requests: { memory: '2Gi' }, limits: { memory: '1Gi' } }, 'task "train"'), [
    'task "train": container.resources.requests.memory: 2Gi is more than its limit 1Gi',
  ]);
  assert.deepEqual(checkResources({ requests: { cpu: '1001m', memory: '1Gi' }, limits: { cpu: 1, memory: '1G' } }, 'task "train"'), [
    'task "train": container.resources.requests.cpu: 1001m is more than its limit 1',
    'task "train": container.resources.requests.memory: 1Gi is more than its limit 1G',
  ]);
  assert.deepEqual(checkResources({ requests: { cpu: '999m' }, limits: { cpu: 1 } }, 'task "t"'), []);
});

test('checkResources refuses resource names the API server refuses for containers', () => {
  const problems = (name: string) => checkResources({ requests: { [name]: '1' }, limits: { [name]: '1' } }, 'task "train"');
  for (const name of ['gpu', 'CPU', 'storage', 'pods', 'requests.cpu', 'nvidia.com/', '/gpu', 'Nvidia.com/gpu', 'a/b/c', 'my res', '', 'x'.repeat(64), `example.com/${'a'.repeat(64)}`, 'requests.example.com/x', `${'x'.repeat(241)}.com/gpu`, 'hugepages-lots', 'hugepages-0', 'hugepages-1.5']) {
    const errors = problems(name);
    assert.ok(errors.length >= 1, `${JSON.stringify(name)} should be refused`);
    assert.ok(
      errors[0]!.startsWith(`task "train": container.resources.requests: invalid resource name ${quote(name)}: `),
      `${JSON.stringify(name)}: ${errors[0]}`,
    );
  }
  assert.deepEqual(checkResources({ requests: { gpu: 1 } }, 'task "train"'), [
    'task "train": container.resources.requests: invalid resource name "gpu": a container can use cpu, memory, ephemeral-storage and hugepages-<size>; other resources need a domain prefix, such as nvidia.com/gpu',
  ]);
  assert.match(checkResources({ limits: { CPU: 1 } }, 'task "t"')[0]!, /\(did you mean "cpu"\?\)$/);
  for (const name of ['cpu', 'memory', 'ephemeral-storage', 'nvidia.com/gpu', 'example.com/My_Thing.2', 'kubernetes.io/anything', 'hugepages-1Gi', 'hugepages-2Mi', `${'x'.repeat(240)}.com/gpu`, `example.com/${'a'.repeat(63)}`]) {
    const resources = { requests: { memory: '1Gi', [name]: '1Gi' }, limits: { memory: '1Gi', [name]: '1Gi' } };
    assert.deepEqual(checkResources(resources, 'task "t"'), [], name);
  }
});

test('checkResources applies the API server rules for extended resources and hugepages', () => {
  assert.deepEqual(checkResources({ requests: { 'nvidia.com/gpu': 1 } }, 'task "t"'), [
    'task "t": container.resources.requests.nvidia.com/gpu: 1 has no limit: nvidia.com/gpu cannot be overcommitted, so set limits.nvidia.com/gpu to the same amount',
  ]);
  assert.deepEqual(checkResources({ requests: { 'nvidia.com/gpu': 1 }, limits: { 'nvidia.com/gpu': 2 } }, 'task "t"'), [
    'task "t": container.resources.requests.nvidia.com/gpu: 1 differs from its limit 2: nvidia.com/gpu cannot be overcommitted, so its request must equal its limit',
  ]);
  assert.deepEqual(checkResources({ limits: { 'nvidia.com/gpu': '500m' } }, 'task "t"'), [
    'task "t": container.resources.limits.nvidia.com/gpu: 500m is not a whole number: extended resources such as nvidia.com/gpu are counted in whole units',
  ]);
  assert.deepEqual(checkResources({ limits: { memory: '1Gi', 'hugepages-2Mi': '3Mi' } }, 'task "t"'), [
    'task "t": container.resources.limits.hugepages-2Mi: 3Mi is not a whole number of 2Mi pages',
  ]);
  assert.deepEqual(checkResources({ limits: { 'hugepages-2Mi': '4Mi' } }, 'task "t"'), [
    'task "t": container.resources: hugepages need a cpu or memory request or limit as well',
  ]);
  assert.deepEqual(checkResources({ requests: { 'hugepages-2Mi': '4Mi', memory: '1Gi' }, limits: { 'hugepages-2Mi': '8Mi' } }, 'task "t"'), [
    'task "t": container.resources.requests.hugepages-2Mi: 4Mi differs from its limit 8Mi: hugepages-2Mi cannot be overcommitted, so its request must equal its limit',
  ]);
});

test('checkResources reports every problem, in the order written', () => {
  assert.deepEqual(checkResources({ requests: { cpu: 'lots', memory: '2Gi', gpu: 1 }, limits: { memory: '1Gi' } }, 'task "train"'), [
    'task "train": container.resources.requests.cpu: "lots" is not a Kubernetes quantity such as 500m, 2 or 1Gi',
    'task "train": container.resources.requests: invalid resource name "gpu": a container can use cpu, memory, ephemeral-storage and hugepages-<size>; other resources need a domain prefix, such as nvidia.com/gpu',
    'task "train": container.resources.requests.memory: 2Gi is more than its limit 1Gi',
  ]);
});

test('parseQuantity and checkResources never throw (property)', () => {
  const text = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.stringMatching(/^[+-]?[0-9]{0,20}\.?[0-9]{0,20}([eE][+-]?[0-9]{1,12}|[numkMGTPE]|[KMGTPE]i)?$/),
    fc.double(),
    fc.integer(),
  );
  fc.assert(
    fc.property(text, (t) => {
      const parsed = parseQuantity(t);
      if (parsed.ok) assert.equal(typeof parsed.value, 'number');
      else assert.match(parsed.error, /is not a Kubernetes quantity such as 500m, 2 or 1Gi/);
    }),
    { numRuns: 2000 },
  );
  const list = fc.dictionary(fc.oneof(fc.constantFrom('cpu', 'memory', 'nvidia.com/gpu', 'hugepages-2Mi'), fc.string({ maxLength: 12 })), text, { maxKeys: 4 });
  fc.assert(
    fc.property(fc.record({ requests: list, limits: list }, { requiredKeys: [] }), (resources) => {
      for (const line of checkResources(resources as never, 'task "t"')) assert.ok(line.startsWith('task "t": container.resources'), line);
    }),
    { numRuns: 1000 },
  );
});

const DECIMAL = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 } as const;
const BINARY = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 } as const;

test('a formatted quantity parses back to the amount it was formatted from (property)', () => {
  // Fractions fine enough to stay at or above the API server's resolution (1n), so nothing is rounded.
  const decimal = fc
    .record({
      sign: fc.constantFrom('', '+', '-'),
      whole: fc.nat({ max: 999_999 }),
      fraction: fc.stringMatching(/^[0-9]{0,3}$/),
      suffix: fc.constantFrom(...(Object.keys(DECIMAL) as (keyof typeof DECIMAL)[])),
    })
    .filter(({ fraction, suffix }) => DECIMAL[suffix] * 10 ** -fraction.length >= 1e-9);
  fc.assert(
    fc.property(decimal, ({ sign, whole, fraction, suffix }) => {
      const number = fraction ? `${whole}.${fraction}` : `${whole}`;
      const expected = (sign === '-' ? -1 : 1) * Number(number) * DECIMAL[suffix];
      near(value(`${sign}${number}${suffix}`), expected, `${sign}${number}${suffix}`);
    }),
  );
  const binary = fc.record({
    whole: fc.nat({ max: 999_999 }),
    fraction: fc.stringMatching(/^[0-9]{0,3}$/),
    suffix: fc.constantFrom(...(Object.keys(BINARY) as (keyof typeof BINARY)[])),
  });
  fc.assert(
    fc.property(binary, ({ whole, fraction, suffix }) => {
      const number = fraction ? `${whole}.${fraction}` : `${whole}`;
      const expected = Math.min(Number(number) * BINARY[suffix], INT64_MAX); // capped at 2^63-1
      near(value(`${number}${suffix}`), expected, `${number}${suffix}`);
    }),
  );
  const exponent = fc.record({ mantissa: fc.integer({ min: -999_999, max: 999_999 }), e: fc.integer({ min: -9, max: 30 }), letter: fc.constantFrom('e', 'E') });
  fc.assert(
    fc.property(exponent, ({ mantissa, e, letter }) => {
      near(value(`${mantissa}${letter}${e}`), mantissa * 10 ** e, `${mantissa}${letter}${e}`);
    }),
  );
  // Numbers from YAML go out as JSON numbers; anything finer than 1n is rounded up (away from zero) to it.
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
      const parsed = value(v);
      assert.ok(Math.abs(parsed - v) <= Math.max(1e-9, Math.abs(v) * 1e-12), `${v} parsed as ${parsed}`);
      if (v !== 0) assert.equal(Math.sign(parsed), Math.sign(v));
    }),
  );
});

test('compareQuantities agrees with the values where doubles can tell them apart (property)', () => {
  const quantity = fc.tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constantFrom('m', '', 'k', 'Ki', 'M', 'Mi', 'G', 'Gi')).map(([n, s]) => `${n}${s}`);
  fc.assert(
    fc.property(quantity, quantity, (a, b) => {
      const [va, vb] = [value(a), value(b)];
      assert.equal(compareQuantities(a, b), va < vb ? -1 : va > vb ? 1 : 0, `${a} vs ${b}`);
    }),
  );
});

test('equal negative quantities compare as 0, not -0', () => {
  for (const [a, b] of [['-3m', '-3m'], ['-1', '-1000m'], ['-2Ki', '-2048']]) assert.ok(Object.is(compareQuantities(a!, b!), 0), `${a} vs ${b}`);
});

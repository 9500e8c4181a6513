import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDuration, parseDuration } from '../../../src/core/types/index.ts';

test('parseDuration reads Go-style durations into milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['0s', 0],
    ['0ms', 0],
    ['90s', 90_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['250ms', 250],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['1.1h', 3_960_000],
    ['0.1s', 100],
    ['1.5s', 1_500],
    ['1.5ms', 1.5],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['1m1ms', 60_001],
    ['30m1h', 5_400_000],
    ['1s1s', 2_000],
    ['007s', 7_000],
    ['2562047h', 2_562_047 * 3_600_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration rejects anything that is not a duration', () => {
  const rejected = [
    '',
    '5',
    '0',
    'h',
    'ms',
    '-5s',
    '+5s',
    '5 s',
    ' 5s',
    '5s ',
    '1h 30m',
    '5sec',
    '5min',
    '5d',
    '5us',
    '5ns',
    '5S',
    '5H',
    '1.h',
    '.5h',
    '1..5h',
    '1.5.5h',
    '1e3s',
    'Infinity',
    'NaN',
    '5mss',
    '١s', // a non-ASCII digit
    '9'.repeat(20) + 'h', // beyond Number.MAX_SAFE_INTEGER milliseconds
    '1s'.repeat(40), // longer than any real duration
  ];
  for (const text of rejected) assert.equal(parseDuration(text), undefined, JSON.stringify(text));
});

test('formatDuration writes the shortest readable form', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1, '1ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1.5, '1.5ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [1_001, '1.001s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [3_600_250, '1h0.25s'],
    [3_723_004, '1h2m3.004s'],
    [86_400_000, '24h'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
});

test('formatDuration rejects negative and non-finite input', () => {
  for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => formatDuration(ms), RangeError);
  }
});

test('formatDuration output parses back to the same milliseconds', () => {
  fc.assert(
    fc.property(fc.nat({ max: 1_000_000_000_000 }), (ms) => {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isRfc3339DateTime } from '../../../src/core/types/index.ts';
import { dateTimeTextArb } from './arbitraries.ts';

test('isRfc3339DateTime accepts RFC 3339 date-times with a zone', () => {
  const accepted = [
    '2024-05-01T10:00:00Z',
    '2024-05-01T10:00:00z',
    '2024-05-01t10:00:00Z',
    '2024-05-01 10:00:00Z',
    '2024-05-01T10:00:00+02:00',
    '2024-05-01T10:00:00-07:30',
    '2024-05-01T10:00:00.5Z',
    '2024-05-01T10:00:00.123456789+00:00',
    '2024-02-29T23:59:59Z',
    '2000-02-29T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59+23:59',
  ];
  for (const text of accepted) assert.equal(isRfc3339DateTime(text), true, text);
});

test('isRfc3339DateTime rejects missing zones, bad syntax and impossible dates', () => {
  const rejected = [
    '',
    '2024-05-01',
    '10:00:00Z',
    '2024-05-01T10:00:00',
    '2024-05-01T10:00Z',
    '2024-05-01T10:00:00+0200',
    '2024-05-01T10:00:00+02',
    '2024-05-01T10:00:00 Z',
    '2024-05-01T10:00:00.Z',
    '2024-5-1T10:00:00Z',
    '24-05-01T10:00:00Z',
    '+002024-05-01T10:00:00Z',
    '2024-05-01_10:00:00Z',
    ' 2024-05-01T10:00:00Z',
    '2024-05-01T10:00:00Z ',
    '2024-13-01T00:00:00Z',
    '2024-00-01T00:00:00Z',
    '2024-01-00T00:00:00Z',
    '2024-01-32T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T10:60:00Z',
    '2024-05-01T10:00:60Z',
    '2024-05-01T10:00:00+24:00',
    '2024-05-01T10:00:00+02:60',
    `2024-05-01T10:00:00.${'1'.repeat(100)}Z`,
    '1714557600',
  ];
  for (const text of rejected) assert.equal(isRfc3339DateTime(text), false, text);
});

test('isRfc3339DateTime agrees with Date on the instants it accepts', () => {
  fc.assert(
    fc.property(dateTimeTextArb, (text) => {
      assert.equal(isRfc3339DateTime(text), true);
      // Date.parse needs the upper-case "T" and "Z" ISO form, and no year 0 quirks.
      const iso = text.replace(/^(.{10})[Tt ]/, '$1T').replace(/z$/, 'Z');
      assert.equal(Number.isNaN(Date.parse(iso)), false, iso);
    }),
  );
});

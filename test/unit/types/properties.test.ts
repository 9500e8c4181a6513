import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkValue, describeValue, formatMismatch, formatType, isAssignable, parseType } from '../../../src/core/types/index.ts';
import { flyteTypeArb, optionalOf, valueArb, widenedArb } from './arbitraries.ts';

const typeWithValueArb = flyteTypeArb.chain((type) => valueArb(type).map((value) => ({ type, value })));

test('parseType(formatType(t)) gives back t', () => {
  fc.assert(
    fc.property(flyteTypeArb, (type) => {
      assert.deepEqual(parseType(formatType(type)), { ok: true, type });
    }),
  );
});

test('every type is assignable to itself and to its Optional', () => {
  fc.assert(
    fc.property(flyteTypeArb, (type) => {
      assert.equal(isAssignable(type, type), true);
      assert.equal(isAssignable(type, optionalOf(type)), true);
      if (type.kind !== 'optional') assert.equal(isAssignable(optionalOf(type), type), false);
    }),
  );
});

test('values generated for a type pass checkValue', () => {
  fc.assert(
    fc.property(typeWithValueArb, ({ type, value }) => {
      const mismatch = checkValue(type, value);
      assert.equal(mismatch, undefined, mismatch && `${formatType(type)}: ${formatMismatch(mismatch)}`);
    }),
  );
});

test('values of a type also pass every type it is assignable to', () => {
  const pairArb = typeWithValueArb.chain(({ type, value }) => widenedArb(type).map((target) => ({ type, value, target })));
  fc.assert(
    fc.property(pairArb, ({ type, value, target }) => {
      assert.equal(isAssignable(type, target), true, `${formatType(type)} → ${formatType(target)}`);
      assert.equal(checkValue(target, value), undefined);
    }),
  );
});

test('a value that is not a list fails a list type at the root', () => {
  fc.assert(
    fc.property(typeWithValueArb, ({ type, value }) => {
      fc.pre(type.kind !== 'list' && type.kind !== 'dict' && type.kind !== 'optional');
      assert.deepEqual(checkValue({ kind: 'list', of: type }, value), {
        path: '',
        expected: `list[${formatType(type)}]`,
        actual: describeValue(value),
      });
    }),
  );
});

test('a bad element after good ones is reported at its index', () => {
  fc.assert(
    fc.property(typeWithValueArb, ({ type, value }) => {
      const mismatch = checkValue({ kind: 'list', of: type }, [value, value, Symbol('bad')]);
      assert.equal(mismatch?.path, '[2]');
      assert.equal(mismatch?.actual, 'symbol');
    }),
  );
});

const typeAlphabetArb = fc
  .array(
    fc.constantFrom('list', 'List', 'dict', 'Dict', 'Optional', 'int', 'str', 'float', 'x', '[', ']', ',', ' ', '.'),
    { maxLength: 80 },
  )
  .map((pieces) => pieces.join(''));

test('parseType never throws and always explains itself', () => {
  const textArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), typeAlphabetArb);
  fc.assert(
    fc.property(textArb, (text) => {
      const result = parseType(text);
      if (result.ok) {
        // Accepted text has a canonical spelling that parses to the same type.
        assert.deepEqual(parseType(formatType(result.type)), result);
      } else {
        assert.equal(typeof result.error, 'string');
        assert.notEqual(result.error, '');
      }
    }),
    { numRuns: 2000 },
  );
});

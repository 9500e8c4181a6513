import fc from 'fast-check';
import type { FlyteType } from '../../../src/core/types/index.ts';

const LEAVES: FlyteType[] = [
  { kind: 'int' },
  { kind: 'float' },
  { kind: 'str' },
  { kind: 'bool' },
  { kind: 'datetime' },
  { kind: 'duration' },
  { kind: 'dict' },
];

/** Optional[...] that never nests directly inside another Optional, matching what parseType produces. */
export function optionalOf(t: FlyteType): FlyteType {
  return t.kind === 'optional' ? t : { kind: 'optional', of: t };
}

/** Any normalised type: up to 10 wrappers around a leaf, which stays within the parser's limits. */
export const flyteTypeArb: fc.Arbitrary<FlyteType> = fc
  .record({
    wrappers: fc.array(fc.constantFrom('list', 'map', 'optional'), { maxLength: 10 }),
    leaf: fc.constantFrom(...LEAVES),
  })
  .map(({ wrappers, leaf }) =>
    wrappers.reduceRight<FlyteType>((inner, wrapper) => {
      if (wrapper === 'optional') return optionalOf(inner);
      return { kind: wrapper, of: inner };
    }, leaf),
  );

const twoDigits = (n: number): string => String(n).padStart(2, '0');

const zoneArb = fc.oneof(
  fc.constantFrom('Z', 'z'),
  fc
    .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([sign, hours, minutes]) => `${sign}${twoDigits(hours)}:${twoDigits(minutes)}`),
);

export const dateTimeTextArb: fc.Arbitrary<string> = fc
  .record({
    date: fc.date({
      min: new Date('0000-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    }),
    separator: fc.constantFrom('T', 't', ' '),
    withFraction: fc.boolean(),
    zone: zoneArb,
  })
  .map(({ date, separator, withFraction, zone }) => {
    const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ within the chosen range
    const fraction = withFraction ? iso.slice(19, 23) : '';
    return `${iso.slice(0, 10)}${separator}${iso.slice(11, 19)}${fraction}${zone}`;
  });

export const durationTextArb: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(fc.nat(1000), fc.option(fc.nat(999), { nil: undefined }), fc.constantFrom('h', 'm', 's', 'ms')),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) =>
    parts.map(([whole, fraction, unit]) => `${whole}${fraction === undefined ? '' : `.${fraction}`}${unit}`).join(''),
  );

/** Values that match the type. Collections shrink with depth to keep nested lists small. */
export function valueArb(t: FlyteType, depth = 0): fc.Arbitrary<unknown> {
  const maxLength = depth < 3 ? 3 : 1;
  switch (t.kind) {
    case 'int':
      return fc.maxSafeInteger();
    case 'float':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'str':
      return fc.string({ unit: 'binary' });
    case 'bool':
      return fc.boolean();
    case 'datetime':
      return dateTimeTextArb;
    case 'duration':
      return durationTextArb;
    case 'dict':
      return fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
    case 'list':
      return fc.array(valueArb(t.of, depth + 1), { maxLength });
    case 'map':
      return fc.dictionary(fc.string(), valueArb(t.of, depth + 1), { maxKeys: maxLength });
    case 'optional':
      return fc.oneof(fc.constant(null), fc.constant(undefined), valueArb(t.of, depth + 1));
  }
}

/** Types that a value of `t` may be assigned to: int → float, dict[str, T] → dict, T → Optional[T], element-wise. */
export function widenedArb(t: FlyteType): fc.Arbitrary<FlyteType> {
  let widened: fc.Arbitrary<FlyteType>;
  switch (t.kind) {
    case 'int':
      widened = fc.constantFrom<FlyteType>({ kind: 'int' }, { kind: 'float' });
      break;
    case 'list':
      widened = widenedArb(t.of).map((of): FlyteType => ({ kind: 'list', of }));
      break;
    case 'map':
      widened = fc.oneof(
        fc.constant<FlyteType>({ kind: 'dict' }),
        widenedArb(t.of).map((of): FlyteType => ({ kind: 'map', of })),
      );
      break;
    case 'optional':
      widened = widenedArb(t.of).map(optionalOf);
      break;
    default:
      widened = fc.constant(t);
  }
  return fc.tuple(widened, fc.boolean()).map(([type, wrap]) => (wrap ? optionalOf(type) : type));
}

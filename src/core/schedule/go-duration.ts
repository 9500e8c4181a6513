// Go's time.ParseDuration, exactly: the syntax `@every` (robfig/cron) and Kubernetes-style durations use.

const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // µs, MICRO SIGN
  ['\u03bcs', 1_000n], // μs, GREEK SMALL LETTER MU
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const TWO_TO_63 = 1n << 63n;

export type GoDurationResult = { ok: true; nanos: bigint } | { ok: false; error: string };

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Parses a Go duration: an optional sign, then one or more decimal numbers each with a unit
 * ("300ms", "-1.5h", "2h45m"); units are ns, us (or µs), ms, s, m, h; "0" alone is zero. Accepts and
 * refuses exactly what Go's time.ParseDuration does, including its int64-nanosecond overflow limit
 * (about 292 years) and its float64 rounding of fractions. Returns nanoseconds.
 */
export function parseGoDuration(text: string): GoDurationResult {
  const invalid = (why: string): GoDurationResult => ({ ok: false, error: `"${text}" is not a duration: ${why}` });
  let s = text;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, nanos: 0n };
  if (s === '') return invalid('expected a number and a unit such as 90s, 10m or 1h30m');
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) return invalid(`expected a number at "${s}"`);
    let i = 0;
    let whole = 0n;
    while (isDigit(s[i])) {
      whole = whole * 10n + BigInt(s.charCodeAt(i) - 48);
      if (whole > TWO_TO_63) return invalid('too large');
      i++;
    }
    const hasWhole = i > 0;
    let fraction = 0n;
    let scale = 1;
    let hasFraction = false;
    if (s[i] === '.') {
      i++;
      const start = i;
      let overflow = false;
      while (isDigit(s[i])) {
        if (!overflow) {
          const next = fraction * 10n + BigInt(s.charCodeAt(i) - 48);
          // Go stops accumulating precision once the fraction no longer fits in int64.
          if (fraction > (TWO_TO_63 - 1n) / 10n || next > TWO_TO_63) overflow = true;
          else {
            fraction = next;
            scale *= 10;
          }
        }
        i++;
      }
      hasFraction = i > start;
    }
    if (!hasWhole && !hasFraction) return invalid(`expected digits at "${s}"`);
    s = s.slice(i);
    let unitLength = 0;
    while (unitLength < s.length && !(s[unitLength] === '.' || isDigit(s[unitLength]))) unitLength++;
    if (unitLength === 0) return invalid('missing unit (use ns, us, ms, s, m or h)');
    const unitText = s.slice(0, unitLength);
    s = s.slice(unitLength);
    const unit = UNIT_NANOS.get(unitText);
    if (unit === undefined) return invalid(`unknown unit "${unitText}" (use ns, us, ms, s, m or h)`);
    if (whole > TWO_TO_63 / unit) return invalid('too large');
    let value = whole * unit;
    if (fraction > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)), in float64 arithmetic.
      value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (value > TWO_TO_63) return invalid('too large');
    }
    total += value;
    if (total > TWO_TO_63) return invalid('too large');
  }
  if (negative) return { ok: true, nanos: -total };
  if (total > TWO_TO_63 - 1n) return invalid('too large');
  return { ok: true, nanos: total };
}

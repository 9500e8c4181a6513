const MS_PER_UNIT = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

type DurationUnit = keyof typeof MS_PER_UNIT;

// Real durations are short ("1h30m"); the cap keeps digit strings small enough to stay finite.
const MAX_DURATION_TEXT_LENGTH = 64;

/**
 * Parses a Go-style duration ("90s", "1h30m", "1.5h", "250ms") into milliseconds.
 * Units are h, m, s and ms; every number needs a unit; signs and whitespace are rejected.
 * Like Go, units may appear in any order. Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > MAX_DURATION_TEXT_LENGTH) return undefined;
  let total = 0;
  let position = 0;
  while (position < text.length) {
    const integerDigits = readDigits(text, position);
    position += integerDigits.length;
    let fractionDigits = '';
    if (text[position] === '.') {
      fractionDigits = readDigits(text, position + 1);
      if (fractionDigits === '') return undefined;
      position += 1 + fractionDigits.length;
    }
    if (integerDigits === '') return undefined;
    const unit = readUnit(text, position);
    if (unit === undefined) return undefined;
    position += unit.length;
    // Scaling the digits as an integer keeps "1.1h" exact, unlike 1.1 * 3_600_000.
    total += (Number(integerDigits + fractionDigits) * MS_PER_UNIT[unit]) / 10 ** fractionDigits.length;
  }
  return total <= Number.MAX_SAFE_INTEGER ? total : undefined;
}

function readDigits(text: string, start: number): string {
  let end = start;
  while (end < text.length && text.charCodeAt(end) >= 0x30 && text.charCodeAt(end) <= 0x39) end += 1;
  return text.slice(start, end);
}

function readUnit(text: string, position: number): DurationUnit | undefined {
  if (text.startsWith('ms', position)) return 'ms';
  const letter = text[position];
  return letter === 'h' || letter === 'm' || letter === 's' ? letter : undefined;
}

/**
 * Formats milliseconds the way parseDuration reads them: 5400000 → "1h30m", 1500 → "1.5s",
 * 250 → "250ms", 0 → "0s". Precision is one nanosecond, as in Go.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`a duration must be a finite, non-negative number of milliseconds, got ${ms}`);
  }
  if (ms === 0) return '0s';
  if (ms < MS_PER_UNIT.s) return `${decimal(ms, 6)}ms`;
  const hours = Math.floor(ms / MS_PER_UNIT.h);
  const minutes = Math.floor((ms % MS_PER_UNIT.h) / MS_PER_UNIT.m);
  const seconds = (ms % MS_PER_UNIT.m) / MS_PER_UNIT.s;
  let text = '';
  if (hours > 0) text += `${hours}h`;
  if (minutes > 0) text += `${minutes}m`;
  if (seconds > 0) text += `${decimal(seconds, 9)}s`;
  return text;
}

/** Fixed-point text without trailing zeros, so it never uses exponent notation. */
function decimal(value: number, fractionDigits: number): string {
  const fixed = value.toFixed(fractionDigits);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

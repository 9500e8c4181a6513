// Wall-clock arithmetic in IANA time zones, done the way Go's `time` package does it, so that the cron
// search in cron.ts can mirror robfig/cron v3 step for step. Pure: time-zone data comes from
// Intl.DateTimeFormat, and every instant is an argument. Instants are whole seconds since the Unix epoch.

const SECONDS_PER_DAY = 86_400;

/** A local date and time, as Go's Time accessors (Year, Month, Day, Hour, …) report it in a Location. */
export interface WallClock {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
  /** The zone's offset from UTC at that instant, in seconds (east positive). */
  offset: number;
}

const UTC_NAMES = new Set(['UTC']);

/** IANA names are letters, digits, "_", "-", "+" in "/"-separated parts; this refuses Intl's "+05:00" offsets. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_][A-Za-z0-9_+-]*)*$/;

const formatters = new Map<string, Intl.DateTimeFormat>();
const checked = new Map<string, string | undefined>();
let canonicalZones: ReadonlyMap<string, string> | undefined;

/**
 * Why `name` is not a usable IANA time zone, or undefined when it is. Names are case-sensitive as in Go's
 * time.LoadLocation ("america/new_york" is refused with a hint); offsets such as "+05:00", which Intl
 * accepts but Go does not, are refused. Link names ("US/Eastern", "Asia/Calcutta") are accepted.
 */
export function checkTimeZone(name: string): string | undefined {
  if (UTC_NAMES.has(name)) return undefined;
  if (checked.has(name)) return checked.get(name);
  const problem = zoneProblem(name);
  if (checked.size < 1000) checked.set(name, problem); // a memo of names seen, bounded against odd input
  return problem;
}

function zoneProblem(name: string): string | undefined {
  if (!ZONE_NAME.test(name)) return `"${name}" is not an IANA time zone name such as "Europe/Berlin"`;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return `"${name}" is not a known IANA time zone`;
  }
  const canonical = knownZones().get(name.toLowerCase()) ?? (resolved.toLowerCase() === name.toLowerCase() ? resolved : undefined);
  if (canonical !== undefined && canonical !== name) {
    return `"${name}" is not a known IANA time zone (names are case-sensitive: did you mean "${canonical}"?)`;
  }
  return undefined;
}

function knownZones(): ReadonlyMap<string, string> {
  if (!canonicalZones) {
    const zones = new Map<string, string>();
    for (const zone of Intl.supportedValuesOf('timeZone')) zones.set(zone.toLowerCase(), zone);
    canonicalZones = zones;
  }
  return canonicalZones;
}

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US-u-ca-gregory-nu-latn', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/**
 * The zone's offset from UTC at instant `t`, in seconds (east positive). Throws a RangeError for an
 * unknown zone: callers validate names with checkTimeZone first.
 */
export function offsetAt(zone: string, t: number): number {
  if (UTC_NAMES.has(zone)) return 0;
  const parts = formatterFor(zone).formatToParts(new Date(t * 1000));
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const part of parts) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
      case 'era':
        bc = part.value.startsWith('B');
        break;
    }
  }
  if (bc) year = 1 - year;
  const local = daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
  return local - t;
}

/** Go's t.In(zone).Year(), Month(), Day(), Hour(), Minute(), Second() and Weekday(). */
export function wallClock(zone: string, t: number): WallClock {
  const offset = offsetAt(zone, t);
  const local = t + offset;
  const days = Math.floor(local / SECONDS_PER_DAY);
  const secondOfDay = local - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(secondOfDay / 3600),
    minute: Math.floor((secondOfDay % 3600) / 60),
    second: secondOfDay % 60,
    weekday: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
    offset,
  };
}

/**
 * Go's time.Date(year, month, day, hour, minute, second, 0, zone), as an instant in seconds. Fields out
 * of range overflow into the next larger one (month 13 is January of the next year, day 0 the last day
 * of the previous month). A local time that does not exist or exists twice resolves by Go's rule: take
 * the offset in force at the local time read as a UTC instant; if the instant that offset gives lies in
 * another zone period, use the offset of that period instead. Go documents the result as unspecified;
 * concretely, west of UTC a skipped 02:30 becomes 01:30 standard time and a repeated 01:30 the first
 * instant (New York), east of UTC a skipped 02:30 becomes 03:30 summer time and a repeated 02:30 the
 * second instant (Berlin).
 */
export function zonedDate(zone: string, year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const monthIndex = month - 1;
  const normalizedYear = year + Math.floor(monthIndex / 12);
  const normalizedMonth = (((monthIndex % 12) + 12) % 12) + 1;
  const local = (daysFromCivil(normalizedYear, normalizedMonth, 1) + day - 1) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
  // Go looks up the offset of `local` read as a UTC instant, then checks the guess. When the guessed
  // instant lies in a different zone period, the offset of that period is the one Go uses; when it lies
  // in the same period, the two lookups agree. So the offset is always the one in force at the guess.
  const guess = offsetAt(zone, local);
  if (guess === 0) return local;
  return local - offsetAt(zone, local - guess);
}

/** Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's civil_from_days). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

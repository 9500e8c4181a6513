// Cron schedules with the grammar and the semantics of robfig/cron v3's cron.ParseStandard, which the
// Kubernetes CronJob controller, Argo's CronWorkflow controller and Flyte's native scheduler all use.
// parseCron accepts and refuses what ParseStandard accepts and refuses; nextAfter returns what
// SpecSchedule.Next / ConstantDelaySchedule.Next return, daylight-saving quirks included. Pure: the zone
// data comes from Intl, and every instant is an argument.
//
// Daylight saving, as robfig v3 behaves (Next walks local fields with absolute one-hour and one-minute
// steps, so it fires at local times that exist, as many times as they exist):
//   - A local time skipped by spring forward does not fire that day. `30 2 * * *` in America/New_York
//     fires 2024-03-09 02:30 EST and then 2024-03-11 02:30 EDT; nothing on 2024-03-10. Hourly schedules
//     simply have one hour fewer that day (01:00 EST is followed by 03:00 EDT, one real hour later).
//   - A local time repeated by fall back fires at both instants. `30 1 * * *` in America/New_York fires
//     2024-11-03 at 01:30 EDT (05:30Z) and again at 01:30 EST (06:30Z); `0 * * * *` fires every real hour,
//     01:00 twice.
// The unit tests pin these for America/New_York and Europe/Berlin, and the differential test against
// robfig itself covers more zones (including zones whose midnight is skipped).

import { parseGoDuration } from './go-duration.ts';
import { checkTimeZone, wallClock, zonedDate, type WallClock } from './time-zone.ts';

/** One of the five fields of a cron expression. */
export interface CronField {
  /** The values it allows, ascending. */
  readonly values: readonly number[];
  /**
   * Whether the field was written with "*" or "?" without a step above 1 (robfig's star bit). Only
   * day-of-month and day-of-week use it: when either has it, a day must match both; otherwise either.
   */
  readonly star: boolean;
}

/** A cron expression: five fields, or a @descriptor expanded to them. Fires at second 0. */
export interface CronSpec {
  readonly kind: 'spec';
  /** The text it was parsed from. */
  readonly expression: string;
  /** The zone of a `CRON_TZ=` or `TZ=` prefix. It wins over the zone passed to nextAfter. */
  readonly timeZone: string | undefined;
  readonly minute: CronField;
  readonly hour: CronField;
  readonly dayOfMonth: CronField;
  readonly month: CronField;
  readonly dayOfWeek: CronField;
}

/** `@every <duration>`: robfig's ConstantDelaySchedule, one fire every `everyMs` after the previous time. */
export interface CronEvery {
  readonly kind: 'every';
  readonly expression: string;
  /** A prefix zone is accepted but changes nothing: a constant delay has no wall clock. */
  readonly timeZone: string | undefined;
  /** The delay: at least 1 s, in whole seconds (robfig rounds a shorter delay up to 1 s and drops fractions). */
  readonly everyMs: number;
}

export type Cron = CronSpec | CronEvery;

export type CronParseResult = { ok: true; cron: Cron } | { ok: false; error: string };

interface Bounds {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
  readonly namesText?: string;
  /** Said after "out of range" for one value that people often try. */
  readonly hint?: { value: number; text: string };
}

const MINUTE: Bounds = { name: 'minute', min: 0, max: 59 };
const HOUR: Bounds = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: Bounds = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: Bounds = {
  name: 'month',
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
  namesText: 'a month name (jan-dec)',
};
const DAY_OF_WEEK: Bounds = {
  name: 'day-of-week',
  min: 0,
  max: 6,
  names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 },
  namesText: 'a day name (sun-sat)',
  hint: { value: 7, text: ' (use 0 for Sunday)' },
};
const FIELDS = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK] as const;
const FIELD_LIST = 'minute hour day-of-month month day-of-week';

/** Go's unicode.IsSpace, which strings.Fields and strings.TrimSpace split and trim on (not U+FEFF, unlike \s). */
const GO_SPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const GO_FIELDS = new RegExp(`[^${GO_SPACE}]+`, 'g');
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

const DESCRIPTORS = '@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>';

/**
 * Parses a cron expression as robfig/cron v3's cron.ParseStandard does:
 *   - five fields, `minute hour day-of-month month day-of-week`, each a comma-separated list of `*`, `?`,
 *     `N`, `N-M`, with an optional `/step` (`N/step` means N to the maximum); month and weekday names
 *     (jan-dec, sun-sat) in any case; day-of-week 0-6 with 0 = Sunday;
 *   - the descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, and
 *     `@every <Go duration>` (a constant delay from the previous time);
 *   - an optional `CRON_TZ=<IANA zone> ` or `TZ=<IANA zone> ` prefix.
 * robfig's quirks are kept, so that whatever a CronJob or a Flyte schedule accepts, this accepts:
 * `*-5` reads as `*` (the range after a star is ignored), empty list items are ignored (`1,,2`), and
 * `+5` is 5. Refused, with a message naming the field and the reason: @reboot, 6-field expressions
 * (seconds), values out of range (`minute: 61 is out of range 0-59`), backwards ranges, zero steps,
 * unknown zones.
 */
export function parseCron(text: string): CronParseResult {
  const fail = (error: string): CronParseResult => ({ ok: false, error });
  if (text.length === 0) return fail('the schedule is empty');
  let spec = text;
  let timeZone: string | undefined;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const space = spec.indexOf(' ');
    const equals = spec.indexOf('=');
    if (space < 0) return fail(`time zone: "${spec}" must be followed by a space and the schedule`);
    const zone = spec.slice(equals + 1, space);
    // Go's time.LoadLocation: "" is UTC, and "Local" is the zone of the time given to Next.
    if (zone === '' || zone === 'UTC') timeZone = 'UTC';
    else if (zone !== 'Local') {
      const problem = checkTimeZone(zone);
      if (problem) return fail(`time zone: ${problem}`);
      timeZone = zone;
    }
    spec = spec.slice(space).replace(GO_TRIM, '');
  }
  if (spec.startsWith('@')) return parseDescriptor(text, spec, timeZone);

  const fields = spec.match(GO_FIELDS) ?? [];
  if (fields.length !== 5) {
    if (fields.length === 6) {
      return fail(`expected 5 fields (${FIELD_LIST}), found 6: a seconds field is not supported`);
    }
    return fail(`expected 5 fields (${FIELD_LIST}), found ${fields.length}`);
  }
  const parsed: CronField[] = [];
  for (const [index, bounds] of FIELDS.entries()) {
    const field = parseField(fields[index]!, bounds);
    if (typeof field === 'string') return fail(`${bounds.name}: ${field}`);
    parsed.push(field);
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parsed as [CronField, CronField, CronField, CronField, CronField];
  return { ok: true, cron: { kind: 'spec', expression: text, timeZone, minute, hour, dayOfMonth, month, dayOfWeek } };
}

function parseDescriptor(text: string, descriptor: string, timeZone: string | undefined): CronParseResult {
  const one = (value: number): CronField => ({ values: [value], star: false });
  const all = (bounds: Bounds): CronField => ({ values: range(bounds.min, bounds.max, 1), star: true });
  const spec = (minute: CronField, hour: CronField, dayOfMonth: CronField, month: CronField, dayOfWeek: CronField): CronParseResult => ({
    ok: true,
    cron: { kind: 'spec', expression: text, timeZone, minute, hour, dayOfMonth, month, dayOfWeek },
  });
  switch (descriptor) {
    case '@yearly':
    case '@annually':
      return spec(one(0), one(0), one(1), one(1), all(DAY_OF_WEEK));
    case '@monthly':
      return spec(one(0), one(0), one(1), all(MONTH), all(DAY_OF_WEEK));
    case '@weekly':
      return spec(one(0), one(0), all(DAY_OF_MONTH), all(MONTH), one(0));
    case '@daily':
    case '@midnight':
      return spec(one(0), one(0), all(DAY_OF_MONTH), all(MONTH), all(DAY_OF_WEEK));
    case '@hourly':
      return spec(one(0), all(HOUR), all(DAY_OF_MONTH), all(MONTH), all(DAY_OF_WEEK));
  }
  if (descriptor.startsWith('@every ')) {
    const duration = parseGoDuration(descriptor.slice('@every '.length));
    if (!duration.ok) return { ok: false, error: `@every: ${duration.error}` };
    // robfig's Every: below one second becomes one second (negative and zero included); fractions of a
    // second are dropped.
    const seconds = duration.nanos < 1_000_000_000n ? 1n : duration.nanos / 1_000_000_000n;
    return { ok: true, cron: { kind: 'every', expression: text, timeZone, everyMs: Number(seconds) * 1000 } };
  }
  if (descriptor === '@reboot') return { ok: false, error: '@reboot is not supported: a schedule needs times to fire at' };
  if (descriptor === '@every') return { ok: false, error: '@every needs a duration, such as "@every 1h30m"' };
  return { ok: false, error: `unknown descriptor "${descriptor}": use ${DESCRIPTORS}` };
}

/** A comma-separated list of ranges (robfig's getField); empty items are skipped, as strings.FieldsFunc does. */
function parseField(text: string, bounds: Bounds): CronField | string {
  const allowed = new Set<number>();
  let star = false;
  for (const item of text.split(',')) {
    if (item === '') continue;
    const parsed = parseRange(item, bounds);
    if (typeof parsed === 'string') return parsed;
    for (const value of parsed.values) allowed.add(value);
    star ||= parsed.star;
  }
  return { values: [...allowed].sort((a, b) => a - b), star };
}

/** `*`, `?`, `N`, `N-M`, each with an optional `/step` (robfig's getRange, same checks in the same order). */
function parseRange(expr: string, bounds: Bounds): CronField | string {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0]!.split('-');
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    // robfig ignores anything after "*-": "*-5" is "*".
    start = bounds.min;
    end = bounds.max;
    star = true;
  } else {
    const low = parseValue(lowAndHigh[0]!, expr, bounds);
    if (typeof low === 'string') return low;
    start = low;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const high = parseValue(lowAndHigh[1]!, expr, bounds);
      if (typeof high === 'string') return high;
      end = high;
    } else return `"${expr}" has too many "-"`;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    const stepText = rangeAndStep[1]!;
    const parsed = parseInteger(stepText);
    if (parsed === undefined) return `step "${stepText}" in "${expr}" is not a number`;
    if (parsed <= 0) return `step ${stepText} in "${expr}" must be a positive number`;
    step = parsed;
    if (single) end = bounds.max; // "N/step" means N to the maximum
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) return `"${expr}" has too many "/"`;

  const outOfRange = (value: number) =>
    `${Number.isSafeInteger(value) ? value : 'a very large number'} is out of range ${bounds.min}-${bounds.max}${bounds.hint?.value === value ? bounds.hint.text : ''}`;
  if (start < bounds.min) return outOfRange(start);
  if (end > bounds.max) return outOfRange(end);
  if (start > end) return `range ${start}-${end}${expr === `${start}-${end}` ? '' : ` in "${expr}"`} starts after it ends`;
  return { values: range(start, end, step), star };
}

function range(start: number, end: number, step: number): number[] {
  const values: number[] = [];
  for (let v = start; v <= end; v += step) values.push(v);
  return values;
}

function parseValue(text: string, expr: string, bounds: Bounds): number | string {
  const named = bounds.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  const value = parseInteger(text);
  if (value !== undefined) return value;
  if (text === '') return `"${expr}" is missing a number`;
  return `"${text}" is not a number${bounds.namesText ? ` or ${bounds.namesText}` : ''}`;
}

/**
 * Go's strconv.Atoi for the texts cron fields can hold: an optional sign and decimal digits. Values
 * beyond int64 are refused by Go; here they come back as a huge number, which every range check refuses.
 */
function parseInteger(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  return Number(text);
}

// -------------------------------------------------------------------------------------------------
// Next

/**
 * The most loop steps one search takes. A search that robfig finishes takes well under this (five years
 * of days, each with at most 24 hour steps, is about 46,000); more means robfig would loop forever, and
 * here the schedule never fires again.
 */
const MAX_STEPS = 100_000;

/**
 * The first time the schedule fires strictly after `after` (epoch milliseconds), or undefined when it
 * never does. Exactly robfig/cron v3's Next(after.In(timeZone)):
 *   - a five-field schedule fires at second 0 of matching minutes in its zone (the prefix zone if the
 *     expression has one, else `timeZone`); day-of-month and day-of-week combine with OR when both are
 *     restricted and with AND when either was written with "*" or "?"; daylight saving as described at
 *     the top of this file; no fire within five years of `after` means never (robfig's zero time);
 *   - `@every d` fires at `after` rounded down to the second, plus d.
 * Where robfig never returns (a day missing from the zone, as 2011-12-30 in Pacific/Apia, makes its day
 * loop spin), this returns undefined. Throws a RangeError for an invalid `timeZone` (check it with checkTimeZone first).
 */
export function nextAfter(cron: Cron, after: number, timeZone: string = 'UTC'): number | undefined {
  if (!Number.isFinite(after)) throw new RangeError(`nextAfter needs a finite time, got ${after}`);
  const seconds = Math.floor(after / 1000);
  if (cron.kind === 'every') return (seconds * 1000) + cron.everyMs;
  const zone = cron.timeZone ?? timeZone;
  const problem = checkTimeZone(zone);
  if (problem) throw new RangeError(`invalid time zone: ${problem}`);
  const next = nextSpec(cron, seconds + 1, zone);
  return next === undefined ? undefined : next * 1000;
}

interface Matcher {
  minute: boolean[];
  hour: boolean[];
  dayOfMonth: boolean[];
  month: boolean[];
  dayOfWeek: boolean[];
  /** robfig's dayMatches: AND when either day field has the star bit, else OR. */
  dayAnd: boolean;
  /** Whether some day can ever match (else robfig searches five years and gives up). */
  possible: boolean;
}

const matchers = new WeakMap<CronSpec, Matcher>();

function matcherFor(cron: CronSpec): Matcher {
  let matcher = matchers.get(cron);
  if (!matcher) {
    const lookup = (field: CronField, size: number) => {
      const table = new Array<boolean>(size).fill(false);
      for (const value of field.values) table[value] = true;
      return table;
    };
    const dayAnd = cron.dayOfMonth.star || cron.dayOfWeek.star;
    const hasDom = cron.dayOfMonth.values.length > 0;
    const hasDow = cron.dayOfWeek.values.length > 0;
    matcher = {
      minute: lookup(cron.minute, 60),
      hour: lookup(cron.hour, 24),
      dayOfMonth: lookup(cron.dayOfMonth, 32),
      month: lookup(cron.month, 13),
      dayOfWeek: lookup(cron.dayOfWeek, 7),
      dayAnd,
      possible: cron.minute.values.length > 0 && cron.hour.values.length > 0 && cron.month.values.length > 0 && (dayAnd ? hasDom && hasDow : hasDom || hasDow),
    };
    matchers.set(cron, matcher);
  }
  return matcher;
}

function dayMatches(m: Matcher, w: WallClock): boolean {
  const dom = m.dayOfMonth[w.day]!;
  const dow = m.dayOfWeek[w.weekday]!;
  return m.dayAnd ? dom && dow : dom || dow;
}

/**
 * robfig's SpecSchedule.Next, transcribed: `t` is the first candidate (whole seconds, already one second
 * after the given time), and the loops below are robfig's loops with Go's time arithmetic. Comments mark
 * the two places that take a shortcut and why it gives the same answer.
 */
function nextSpec(cron: CronSpec, start: number, zone: string): number | undefined {
  const m = matcherFor(cron);
  // A field that matches nothing makes robfig search its five years and return the zero time.
  if (!m.possible) return undefined;
  let t = start;
  let w = wallClock(zone, t);
  const set = (next: number) => {
    t = next;
    w = wallClock(zone, t);
  };
  let added = false;
  const yearLimit = w.year + 5;
  let steps = 0;

  wrap: while (true) {
    if (w.year > yearLimit) return undefined;
    if (++steps > MAX_STEPS) return undefined;

    // The first matching month; moving to another month starts at its first midnight.
    while (!m.month[w.month]) {
      if (!added) {
        added = true;
        set(zonedDate(zone, w.year, w.month, 1, 0, 0, 0));
      }
      const before = t;
      set(zonedDate(zone, w.year, w.month + 1, w.day, w.hour, w.minute, w.second)); // t.AddDate(0, 1, 0)
      if (w.month === 1) continue wrap;
      if (t === before || ++steps > MAX_STEPS) return undefined; // robfig would loop forever
    }

    // The first matching day, keeping to midnight where daylight saving moves it (robfig's adjustment).
    while (!dayMatches(m, w)) {
      if (!added) {
        added = true;
        set(zonedDate(zone, w.year, w.month, w.day, 0, 0, 0));
      }
      const before = t;
      set(zonedDate(zone, w.year, w.month, w.day + 1, w.hour, w.minute, w.second)); // t.AddDate(0, 0, 1)
      if (w.hour !== 0) set(w.hour > 12 ? t + (24 - w.hour) * 3600 : t - w.hour * 3600);
      if (w.day === 1) continue wrap;
      // A day that does not exist (Pacific/Apia skipped 2011-12-30) makes AddDate return the same
      // midnight again, and robfig spins forever; this says "never" instead.
      if (t === before || ++steps > MAX_STEPS) return undefined;
    }

    // The first matching hour, in steps of one real hour.
    while (!m.hour[w.hour]) {
      if (!added) {
        added = true;
        set(zonedDate(zone, w.year, w.month, w.day, w.hour, 0, 0));
      }
      set(t + 3600);
      if (w.hour === 0) continue wrap;
      if (++steps > MAX_STEPS) return undefined;
    }

    // The first matching minute, in steps of one real minute.
    if (!m.minute[w.minute]) {
      if (!added) {
        added = true;
        set(t - mod(t, 60)); // t.Truncate(time.Minute): absolute, not local
      }
      // Shortcut: step straight to the first minute robfig's one-minute loop would stop at (a matching
      // minute, or minute 0, where it wraps). Exact when the offset changes by whole hours in between,
      // which keeps local minutes in step with real ones; otherwise walk minute by minute as robfig does.
      let target = w.minute + 1;
      while (target < 60 && !m.minute[target]) target++;
      const jumped = t + (target - w.minute) * 60;
      const jumpedWall = wallClock(zone, jumped);
      if (jumpedWall.minute === target % 60 && (jumpedWall.offset - w.offset) % 3600 === 0) {
        t = jumped;
        w = jumpedWall;
      } else {
        while (true) {
          set(t + 60);
          if (m.minute[w.minute] || w.minute === 0) break;
          if (++steps > MAX_STEPS) return undefined;
        }
      }
      if (!m.minute[w.minute]) continue wrap; // minute 0, not matching: robfig's wrap
      if (w.minute === 0) continue wrap; // robfig wraps on reaching minute 0 even when it matches
    }

    // Second 0 (the standard parser's seconds field), in steps of one real second; same shortcut.
    if (w.second !== 0) {
      added = true; // t.Truncate(time.Second) is a no-op on whole seconds
      const jumped = t + (60 - w.second);
      const jumpedWall = wallClock(zone, jumped);
      if (jumpedWall.second === 0 && (jumpedWall.offset - w.offset) % 60 === 0) {
        t = jumped;
        w = jumpedWall;
      } else {
        while (w.second !== 0) {
          set(t + 1);
          if (++steps > MAX_STEPS) return undefined;
        }
      }
      continue wrap; // robfig wraps on reaching second 0
    }
    return t;
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

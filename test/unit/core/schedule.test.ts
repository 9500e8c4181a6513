// The pure schedule core: cron parsing and next fire times with robfig/cron v3's semantics (the expected
// fire times below were produced by robfig/cron v3.0.1 itself, Go 1.26, tzdata 2025c), fixed rates, and
// the decision of one scheduler round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nextAfter, parseCron, type Cron, type CronSpec } from '../../../src/core/schedule/cron.ts';
import { lastFixedRateAtOrBefore, nextFixedRate, parseFixedRate } from '../../../src/core/schedule/fixed-rate.ts';
import { parseGoDuration } from '../../../src/core/schedule/go-duration.ts';
import {
  decideSchedule,
  executionName,
  MAX_LISTED_SKIPS,
  NONE_ON_TIME_MS,
  type CatchUpPolicy,
  type ConcurrencyPolicy,
  type ParsedSchedule,
  type ScheduleDecision,
  type ScheduleInput,
} from '../../../src/core/schedule/plan-schedule.ts';
import { checkTimeZone, zonedDate } from '../../../src/core/schedule/time-zone.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;

function cron(text: string): Cron {
  const parsed = parseCron(text);
  if (!parsed.ok) assert.fail(`${text}: ${parsed.error}`);
  return parsed.cron;
}

function spec(text: string): CronSpec {
  const parsed = cron(text);
  assert.equal(parsed.kind, 'spec');
  return parsed as CronSpec;
}

function fires(c: Cron, zone: string, after: number, count: number): string[] {
  const out: string[] = [];
  let t: number | undefined = after;
  for (let i = 0; i < count; i++) {
    t = nextAfter(c, t, zone);
    if (t === undefined) break;
    out.push(iso(t));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

test('parseCron reads the five fields, lists, ranges, steps, names and robfig quirks', () => {
  const weekdays = spec('*/15 9-17 * * 1-5');
  assert.deepEqual(weekdays.minute.values, [0, 15, 30, 45]);
  assert.equal(weekdays.minute.star, false);
  assert.deepEqual(weekdays.hour.values, [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.equal(weekdays.dayOfMonth.values.length, 31);
  assert.equal(weekdays.dayOfMonth.star, true);
  assert.deepEqual(weekdays.dayOfWeek, { values: [1, 2, 3, 4, 5], star: false });
  assert.equal(weekdays.timeZone, undefined);

  const named = spec('0 0 * jan-mar,DEC sun,Sat');
  assert.deepEqual(named.month.values, [1, 2, 3, 12]);
  assert.deepEqual(named.dayOfWeek.values, [0, 6]);
  assert.deepEqual(spec('0 0 * Jan/4 MON-fri').month.values, [1, 5, 9]);
  assert.deepEqual(spec('5/20 * * * *').minute.values, [5, 25, 45]); // N/step runs to the maximum
  assert.deepEqual(spec('10-40/15 * * * *').minute.values, [10, 25, 40]);
  assert.deepEqual(spec('1,,3 * * * *').minute.values, [1, 3]); // empty list items are ignored
  assert.deepEqual(spec('+5 * * * *').minute.values, [5]); // strconv.Atoi takes a sign
  assert.deepEqual(spec('00 07 * * *').hour.values, [7]);
  const starRange = spec('*-5 * * * *').minute; // robfig ignores what follows "*-"
  assert.equal(starRange.values.length, 60);
  assert.equal(starRange.star, true);
  const questions = spec('? ? ? ? ?');
  assert.equal(questions.dayOfMonth.star && questions.dayOfWeek.star, true);
  assert.equal(spec('0 0 */1 * *').dayOfMonth.star, true); // a step of 1 keeps the star
  assert.equal(spec('0 0 */2 * *').dayOfMonth.star, false); // a larger step drops it
  assert.deepEqual(spec('0\t0  *\n* *').hour.values, [0]); // any Go whitespace separates fields
});

test('parseCron expands the descriptors as robfig does', () => {
  const shape = (c: CronSpec) => [c.minute.values, c.hour.values, c.dayOfMonth.values, c.month.values, c.dayOfWeek.values].map((v) => (v.length > 12 ? `all ${v.length}` : v.join(',')));
  assert.deepEqual(shape(spec('@yearly')), ['0', '0', '1', '1', '0,1,2,3,4,5,6']);
  assert.deepEqual(shape(spec('@annually')), ['0', '0', '1', '1', '0,1,2,3,4,5,6']);
  assert.deepEqual(shape(spec('@monthly')), ['0', '0', '1', '1,2,3,4,5,6,7,8,9,10,11,12', '0,1,2,3,4,5,6']);
  assert.deepEqual(shape(spec('@weekly')), ['0', '0', 'all 31', '1,2,3,4,5,6,7,8,9,10,11,12', '0']);
  assert.deepEqual(shape(spec('@daily')), ['0', '0', 'all 31', '1,2,3,4,5,6,7,8,9,10,11,12', '0,1,2,3,4,5,6']);
  assert.deepEqual(shape(spec('@midnight')), shape(spec('@daily')));
  assert.deepEqual(shape(spec('@hourly')), ['0', 'all 24', 'all 31', '1,2,3,4,5,6,7,8,9,10,11,12', '0,1,2,3,4,5,6']);
});

test('parseCron reads @every with Go duration syntax and robfig rounding', () => {
  const every = (text: string) => {
    const c = cron(text);
    assert.equal(c.kind, 'every');
    return c.kind === 'every' ? c.everyMs : undefined;
  };
  assert.equal(every('@every 1h30m'), 90 * MINUTE);
  assert.equal(every('@every 90s'), 90_000);
  assert.equal(every('@every 1.5h'), 90 * MINUTE);
  assert.equal(every('@every 2h45m30.9s'), (2 * 3600 + 45 * 60 + 30) * 1000); // fractions of a second are dropped
  assert.equal(every('@every 500ms'), 1000); // below one second becomes one second
  assert.equal(every('@every 0'), 1000);
  assert.equal(every('@every -5m'), 1000); // Go accepts a negative duration; robfig's Every makes it 1s
});

test('parseCron reads CRON_TZ= and TZ= prefixes', () => {
  assert.equal(cron('CRON_TZ=Europe/Berlin 0 3 * * *').timeZone, 'Europe/Berlin');
  assert.equal(cron('TZ=America/New_York   @daily  ').timeZone, 'America/New_York');
  assert.equal(cron('CRON_TZ=UTC @every 5m').timeZone, 'UTC');
  assert.equal(cron('TZ= 0 0 * * *').timeZone, 'UTC'); // Go's LoadLocation("") is UTC
  assert.equal(cron('CRON_TZ=Local 0 0 * * *').timeZone, undefined); // "Local": the zone given to nextAfter
  assert.equal(cron('CRON_TZ=US/Eastern 0 0 * * *').timeZone, 'US/Eastern'); // links are zones too
  assert.equal(cron('0 3 * * *').timeZone, undefined);
});

test('parseCron refuses what robfig refuses, naming the field and the reason', () => {
  const cases: [string, string][] = [
    ['', 'the schedule is empty'],
    [' ', 'expected 5 fields (minute hour day-of-month month day-of-week), found 0'],
    ['* * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), found 4'],
    ['0 * * * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), found 6: a seconds field is not supported'],
    ['0 0 0 * * * 2024', 'expected 5 fields (minute hour day-of-month month day-of-week), found 7'],
    [' @daily', 'expected 5 fields (minute hour day-of-month month day-of-week), found 1'],
    ['@reboot', '@reboot is not supported: a schedule needs times to fire at'],
    ['@every', '@every needs a duration, such as "@every 1h30m"'],
    ['@every ', '@every: "" is not a duration: expected a number and a unit such as 90s, 10m or 1h30m'],
    ['@every 5', '@every: "5" is not a duration: missing unit (use ns, us, ms, s, m or h)'],
    ['@every 1d', '@every: "1d" is not a duration: unknown unit "d" (use ns, us, ms, s, m or h)'],
    ['@every 2562048h', '@every: "2562048h" is not a duration: too large'],
    ['@DAILY', 'unknown descriptor "@DAILY": use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>'],
    ['@daily ', 'unknown descriptor "@daily ": use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>'],
    ['61 * * * *', 'minute: 61 is out of range 0-59'],
    ['0-60 * * * *', 'minute: 60 is out of range 0-59'],
    ['* 24 * * *', 'hour: 24 is out of range 0-23'],
    ['0 0 0 * *', 'day-of-month: 0 is out of range 1-31'],
    ['0 0 32 * *', 'day-of-month: 32 is out of range 1-31'],
    ['0 0 * 0 *', 'month: 0 is out of range 1-12'],
    ['0 0 * 13 *', 'month: 13 is out of range 1-12'],
    ['0 0 * * 7', 'day-of-week: 7 is out of range 0-6 (use 0 for Sunday)'],
    ['0 0 * * 8', 'day-of-week: 8 is out of range 0-6'],
    ['99999999999999999999 * * * *', 'minute: a very large number is out of range 0-59'],
    ['5-3 * * * *', 'minute: range 5-3 starts after it ends'],
    ['0 0 * nov-feb *', 'month: range 11-2 in "nov-feb" starts after it ends'],
    ['*/0 * * * *', 'minute: step 0 in "*/0" must be a positive number'],
    ['*/-2 * * * *', 'minute: step -2 in "*/-2" must be a positive number'],
    ['*/x * * * *', 'minute: step "x" in "*/x" is not a number'],
    ['1-2-3 * * * *', 'minute: "1-2-3" has too many "-"'],
    ['1/2/3 * * * *', 'minute: "1/2/3" has too many "/"'],
    ['-5 * * * *', 'minute: "-5" is missing a number'],
    ['x * * * *', 'minute: "x" is not a number'],
    ['0 0 * foo *', 'month: "foo" is not a number or a month name (jan-dec)'],
    ['0 0 * * monday', 'day-of-week: "monday" is not a number or a day name (sun-sat)'],
    ['0 0 L * *', 'day-of-month: "L" is not a number'],
    ['0 0 * * 1#2', 'day-of-week: "1#2" is not a number or a day name (sun-sat)'],
    ['CRON_TZ=UTC', 'time zone: "CRON_TZ=UTC" must be followed by a space and the schedule'],
    ['CRON_TZ=Mars/Olympus 0 0 * * *', 'time zone: "Mars/Olympus" is not a known IANA time zone'],
    ['TZ=+05:00 0 0 * * *', 'time zone: "+05:00" is not an IANA time zone name such as "Europe/Berlin"'],
    ['CRON_TZ=europe/berlin 0 0 * * *', 'time zone: "europe/berlin" is not a known IANA time zone (names are case-sensitive: did you mean "Europe/Berlin"?)'],
  ];
  for (const [text, error] of cases) assert.deepEqual(parseCron(text), { ok: false, error }, JSON.stringify(text));
});

test('checkTimeZone accepts IANA zones and links, and refuses the rest', () => {
  for (const zone of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+3', 'US/Eastern', 'Asia/Calcutta']) assert.equal(checkTimeZone(zone), undefined, zone);
  assert.equal(checkTimeZone('Mars/Olympus'), '"Mars/Olympus" is not a known IANA time zone');
  assert.equal(checkTimeZone(''), '"" is not an IANA time zone name such as "Europe/Berlin"');
  assert.equal(checkTimeZone('Local'), '"Local" is not a known IANA time zone');
  assert.match(checkTimeZone('utc') ?? '', /case-sensitive: did you mean "UTC"/);
});

// ---------------------------------------------------------------------------------------------------------
// Next fire times

/** [expression, zone, after, the next fire times robfig/cron v3.0.1 gives] */
const NEXT_TABLE: [string, string, string, string[]][] = [
  // Month ends, leap years, 29 February
  ['0 0 31 * *', 'UTC', '2024-01-31T00:00:00Z', ['2024-03-31T00:00:00Z', '2024-05-31T00:00:00Z', '2024-07-31T00:00:00Z']],
  ['0 0 30 * *', 'UTC', '2024-01-30T12:00:00Z', ['2024-03-30T00:00:00Z', '2024-04-30T00:00:00Z', '2024-05-30T00:00:00Z']],
  ['0 0 29 2 *', 'UTC', '2024-03-01T00:00:00Z', ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']],
  ['0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z', []], // 2104 is beyond robfig's five-year search (2100 is no leap year)
  ['0 0 30 2 *', 'UTC', '2024-01-01T00:00:00Z', []],
  ['0 0 28-31 2 *', 'UTC', '2023-02-27T00:00:00Z', ['2023-02-28T00:00:00Z', '2024-02-28T00:00:00Z', '2024-02-29T00:00:00Z']],
  ['0 0 28-31 2 *', 'UTC', '2024-02-27T00:00:00Z', ['2024-02-28T00:00:00Z', '2024-02-29T00:00:00Z', '2025-02-28T00:00:00Z']],
  ['59 23 31 12 *', 'UTC', '2024-12-31T23:59:00Z', ['2025-12-31T23:59:00Z']], // strictly after
  ['0 0 1 1 *', 'UTC', '2024-12-31T23:59:59.999Z', ['2025-01-01T00:00:00Z']],
  // Day-of-month OR day-of-week when both are restricted; AND when either is * or ?
  ['0 12 1 * 1', 'UTC', '2024-04-01T12:00:00Z', ['2024-04-08T12:00:00Z', '2024-04-15T12:00:00Z', '2024-04-22T12:00:00Z', '2024-04-29T12:00:00Z']],
  ['0 12 ? * 1', 'UTC', '2024-04-01T12:00:00Z', ['2024-04-08T12:00:00Z', '2024-04-15T12:00:00Z']],
  ['0 12 */2 * 1', 'UTC', '2024-04-01T12:00:00Z', ['2024-04-03T12:00:00Z', '2024-04-05T12:00:00Z', '2024-04-07T12:00:00Z', '2024-04-08T12:00:00Z']],
  ['0 12 13 * fri', 'UTC', '2024-01-01T00:00:00Z', ['2024-01-05T12:00:00Z', '2024-01-12T12:00:00Z', '2024-01-13T12:00:00Z', '2024-01-19T12:00:00Z']],
  ['*/20 9-10 * * MON-fri', 'UTC', '2024-06-07T10:30:00Z', ['2024-06-07T10:40:00Z', '2024-06-10T09:00:00Z', '2024-06-10T09:20:00Z']],
  ['0 0 * jan/3 *', 'UTC', '2024-02-01T00:00:00Z', ['2024-04-01T00:00:00Z', '2024-04-02T00:00:00Z']],
  // Descriptors
  ['@yearly', 'UTC', '2024-06-01T00:00:00Z', ['2025-01-01T00:00:00Z']],
  ['@monthly', 'UTC', '2024-01-31T00:00:00Z', ['2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z']],
  ['@weekly', 'UTC', '2024-06-05T00:00:00Z', ['2024-06-09T00:00:00Z', '2024-06-16T00:00:00Z']],
  ['@daily', 'Asia/Kolkata', '2024-06-05T00:00:00Z', ['2024-06-05T18:30:00Z', '2024-06-06T18:30:00Z']],
  ['@hourly', 'Asia/Kolkata', '2024-06-05T00:10:00Z', ['2024-06-05T00:30:00Z', '2024-06-05T01:30:00Z']],
  // @every: a constant delay from the given time, rounded down to the second
  ['@every 1h30m', 'UTC', '2024-06-05T12:34:56.789Z', ['2024-06-05T14:04:56Z', '2024-06-05T15:34:56Z']],
  ['@every 500ms', 'UTC', '2024-06-05T12:34:56.789Z', ['2024-06-05T12:34:57Z', '2024-06-05T12:34:58Z']],
  // Zones; a prefix zone wins over the zone given
  ['0 9 * * *', 'Asia/Kolkata', '2024-06-05T00:00:00Z', ['2024-06-05T03:30:00Z']],
  ['CRON_TZ=Asia/Tokyo 0 9 * * *', 'America/New_York', '2024-06-05T00:00:00Z', ['2024-06-06T00:00:00Z']],
  ['TZ=Europe/Berlin 0 9 * * *', 'UTC', '2024-06-05T00:00:00Z', ['2024-06-05T07:00:00Z']],
  // New York, 2024-03-10: 02:00 EST becomes 03:00 EDT. 02:30 does not exist: no fire that day.
  ['30 2 * * *', 'America/New_York', '2024-03-09T00:00:00Z', ['2024-03-09T07:30:00Z', '2024-03-11T06:30:00Z', '2024-03-12T06:30:00Z']],
  ['0 2 10 3 *', 'America/New_York', '2024-01-01T00:00:00Z', ['2025-03-10T06:00:00Z', '2026-03-10T06:00:00Z']],
  ['0 * * * *', 'America/New_York', '2024-03-10T05:30:00Z', ['2024-03-10T06:00:00Z', '2024-03-10T07:00:00Z', '2024-03-10T08:00:00Z', '2024-03-10T09:00:00Z']],
  ['0 0 * * *', 'America/New_York', '2024-03-09T06:00:00Z', ['2024-03-10T05:00:00Z', '2024-03-11T04:00:00Z', '2024-03-12T04:00:00Z']],
  // New York, 2024-11-03: 02:00 EDT becomes 01:00 EST. 01:30 happens twice: it fires twice.
  ['30 1 * * *', 'America/New_York', '2024-11-02T12:00:00Z', ['2024-11-03T05:30:00Z', '2024-11-03T06:30:00Z', '2024-11-04T06:30:00Z', '2024-11-05T06:30:00Z']],
  ['0 * * * *', 'America/New_York', '2024-11-03T03:30:00Z', ['2024-11-03T04:00:00Z', '2024-11-03T05:00:00Z', '2024-11-03T06:00:00Z', '2024-11-03T07:00:00Z', '2024-11-03T08:00:00Z']],
  ['30 * * * *', 'America/New_York', '2024-11-03T04:45:00Z', ['2024-11-03T05:30:00Z', '2024-11-03T06:30:00Z', '2024-11-03T07:30:00Z', '2024-11-03T08:30:00Z']],
  // Berlin, 2024-03-31: 02:00 CET becomes 03:00 CEST. 02:30 does not exist: no fire that day.
  ['30 2 * * *', 'Europe/Berlin', '2024-03-30T00:00:00Z', ['2024-03-30T01:30:00Z', '2024-04-01T00:30:00Z', '2024-04-02T00:30:00Z']],
  ['0 * * * *', 'Europe/Berlin', '2024-03-30T23:30:00Z', ['2024-03-31T00:00:00Z', '2024-03-31T01:00:00Z', '2024-03-31T02:00:00Z', '2024-03-31T03:00:00Z']],
  // Berlin, 2024-10-27: 03:00 CEST becomes 02:00 CET. 02:30 happens twice: it fires twice.
  ['30 2 * * *', 'Europe/Berlin', '2024-10-26T12:00:00Z', ['2024-10-27T00:30:00Z', '2024-10-27T01:30:00Z', '2024-10-28T01:30:00Z', '2024-10-29T01:30:00Z']],
  ['0 * * * *', 'Europe/Berlin', '2024-10-26T23:30:00Z', ['2024-10-27T00:00:00Z', '2024-10-27T01:00:00Z', '2024-10-27T02:00:00Z', '2024-10-27T03:00:00Z', '2024-10-27T04:00:00Z']],
  ['*/30 2 * * *', 'Europe/Berlin', '2024-10-26T23:00:00Z', ['2024-10-27T00:00:00Z', '2024-10-27T00:30:00Z', '2024-10-27T01:00:00Z', '2024-10-27T01:30:00Z', '2024-10-28T01:00:00Z']],
  // São Paulo, 2018-11-04: midnight does not exist (00:00 becomes 01:00): a daily midnight job skips it.
  ['0 0 * * *', 'America/Sao_Paulo', '2018-11-02T12:00:00Z', ['2018-11-03T03:00:00Z', '2018-11-05T02:00:00Z', '2018-11-06T02:00:00Z']],
  ['0 1 4 11 *', 'America/Sao_Paulo', '2018-11-01T12:00:00Z', ['2018-11-04T03:00:00Z']],
  // Lord Howe, 2024-10-06: a 30-minute shift, 02:00 becomes 02:30.
  ['15 2 * * *', 'Australia/Lord_Howe', '2024-10-04T12:00:00Z', ['2024-10-04T15:45:00Z', '2024-10-06T15:15:00Z', '2024-10-07T15:15:00Z']],
];

test('nextAfter matches robfig/cron v3: month ends, leap years, OR days, descriptors, @every, zones, DST', () => {
  for (const [text, zone, after, expected] of NEXT_TABLE) {
    assert.deepEqual(fires(cron(text), zone, at(after), expected.length + 1).slice(0, expected.length || 1), expected, `${text} in ${zone} after ${after}`);
  }
});

test('nextAfter is strictly after, at second 0, and defaults to UTC', () => {
  const c = cron('17 * * * *');
  const fire = at('2024-06-05T10:17:00Z');
  assert.equal(nextAfter(c, fire - 1), fire);
  assert.equal(nextAfter(c, fire - 60_000), fire);
  assert.equal(nextAfter(c, fire), fire + HOUR);
  assert.equal(nextAfter(c, fire + 999), fire + HOUR);
  assert.equal(nextAfter(cron(', * * * *'), fire), undefined); // an empty list parses, and never fires
});

test('nextAfter says never where robfig would loop forever: a day missing from the zone', () => {
  // Pacific/Apia skipped 2011-12-30; robfig's day loop keeps landing on 2011-12-29 and never returns.
  assert.equal(nextAfter(cron('35 2 * * */3'), at('2011-12-28T12:35:00Z'), 'Pacific/Apia'), undefined);
  assert.equal(nextAfter(cron('35 2 * * */3'), at('2011-12-27T12:35:00Z'), 'Pacific/Apia'), at('2011-12-28T12:35:00Z'));
});

test('nextAfter refuses an invalid time zone', () => {
  assert.throws(() => nextAfter(cron('0 * * * *'), 0, 'Mars/Olympus'), { name: 'RangeError', message: 'invalid time zone: "Mars/Olympus" is not a known IANA time zone' });
  assert.throws(() => nextAfter(cron('0 * * * *'), Number.NaN), RangeError);
});

test('zonedDate resolves skipped and repeated local times as Go time.Date does', () => {
  const date = (zone: string, ...f: [number, number, number, number, number, number]) => iso(zonedDate(zone, ...f) * 1000);
  assert.equal(date('America/New_York', 2024, 3, 10, 2, 30, 0), '2024-03-10T06:30:00Z'); // 01:30 EST
  assert.equal(date('America/New_York', 2024, 11, 3, 1, 30, 0), '2024-11-03T05:30:00Z'); // the first 01:30 (EDT)
  assert.equal(date('Europe/Berlin', 2024, 3, 31, 2, 30, 0), '2024-03-31T01:30:00Z'); // 03:30 CEST
  assert.equal(date('Europe/Berlin', 2024, 10, 27, 2, 30, 0), '2024-10-27T01:30:00Z'); // the second 02:30 (CET)
  assert.equal(date('Europe/Berlin', 2024, 13, 32, 25, 61, 61), '2025-02-02T01:02:01Z'); // fields overflow
  assert.equal(date('Europe/Berlin', 2024, 0, 0, 0, 0, 0), '2023-11-29T23:00:00Z');
});

// ---------------------------------------------------------------------------------------------------------
// Durations and fixed rates

test('parseGoDuration accepts and refuses what time.ParseDuration does', () => {
  const ok: [string, bigint][] = [
    ['0', 0n],
    ['-0', 0n],
    ['1h30m', 5_400_000_000_000n],
    ['1.5h', 5_400_000_000_000n],
    ['-1.5h', -5_400_000_000_000n],
    ['+5s', 5_000_000_000n],
    ['.5s', 500_000_000n],
    ['1.s', 1_000_000_000n],
    ['300ms', 300_000_000n],
    ['1µs', 1_000n],
    ['1μs', 1_000n],
    ['3us2ns', 3_002n],
    ['1m1h', 3_660_000_000_000n],
    ['9223372036854775807ns', 9_223_372_036_854_775_807n],
    ['-9223372036854775808ns', -9_223_372_036_854_775_808n],
  ];
  for (const [text, nanos] of ok) assert.deepEqual(parseGoDuration(text), { ok: true, nanos }, text);
  for (const text of ['', '-', '1', '0s0', 'h', '.s', '1x', '1e3s', '1 s', ' 1s', '1S', '9223372036854775808ns', '2562048h']) {
    assert.equal(parseGoDuration(text).ok, false, text);
  }
});

test('parseFixedRate takes a duration of at least 1s in whole seconds', () => {
  assert.deepEqual(parseFixedRate('10m'), { ok: true, rateMs: 600_000 });
  assert.deepEqual(parseFixedRate('1h30m'), { ok: true, rateMs: 5_400_000 });
  assert.deepEqual(parseFixedRate('1s'), { ok: true, rateMs: 1000 });
  assert.deepEqual(parseFixedRate('36h'), { ok: true, rateMs: 36 * HOUR });
  assert.deepEqual(parseFixedRate('0'), { ok: false, error: 'rate: "0" is zero; a rate must be at least 1s' });
  assert.deepEqual(parseFixedRate('0s'), { ok: false, error: 'rate: "0s" is zero; a rate must be at least 1s' });
  assert.deepEqual(parseFixedRate('-5m'), { ok: false, error: 'rate: "-5m" is negative; a rate must be at least 1s' });
  assert.deepEqual(parseFixedRate('500ms'), { ok: false, error: 'rate: "500ms" is shorter than the minimum of 1s' });
  assert.deepEqual(parseFixedRate('1.5s'), { ok: false, error: 'rate: "1.5s" is not a whole number of seconds' });
  assert.deepEqual(parseFixedRate('1d'), { ok: false, error: 'rate: "1d" is not a duration: unknown unit "d" (use ns, us, ms, s, m or h)' });
});

test('nextFixedRate is anchor + k × rate, strictly after', () => {
  const anchor = at('2024-06-01T00:00:30Z');
  const rate = 10 * MINUTE;
  assert.equal(nextFixedRate(anchor, rate, anchor - 5 * HOUR), anchor); // k = 0 is the anchor itself
  assert.equal(nextFixedRate(anchor, rate, anchor - 1), anchor);
  assert.equal(nextFixedRate(anchor, rate, anchor), anchor + rate);
  assert.equal(nextFixedRate(anchor, rate, anchor + rate - 1), anchor + rate);
  assert.equal(nextFixedRate(anchor, rate, anchor + 7 * rate), anchor + 8 * rate);
  assert.equal(nextFixedRate(anchor, rate, anchor + 7 * rate + 1), anchor + 8 * rate);
  assert.equal(lastFixedRateAtOrBefore(anchor, rate, anchor + 7 * rate + 1), anchor + 7 * rate);
  assert.equal(lastFixedRateAtOrBefore(anchor, rate, anchor - 1), undefined);
  assert.throws(() => nextFixedRate(anchor, 0, anchor), RangeError);
  assert.throws(() => nextFixedRate(anchor, 999, anchor), RangeError);
});

// ---------------------------------------------------------------------------------------------------------
// One scheduler round

const CREATED = at('2024-06-01T00:00:00Z');

function decide(overrides: Partial<ScheduleInput> & { cron?: string } = {}): ScheduleDecision {
  const { cron: text = '0 * * * *', ...rest } = overrides;
  return decideSchedule({
    schedule: { kind: 'cron', cron: cron(text) },
    createdAt: CREATED,
    state: {},
    now: CREATED,
    catchUp: 'Latest',
    maxCatchUp: 100,
    concurrency: 'Allow',
    activeRuns: 0,
    ...rest,
  });
}

/** The decision with times as ISO strings, for readable assertions. */
function readable(d: ScheduleDecision) {
  return {
    runs: d.runs.map(iso),
    skipped: d.skipped.map((s) => `${iso(s.time)} ${s.reason}`),
    skippedRanges: d.skippedRanges.map((r) => `${iso(r.first)}..${iso(r.last)} ${r.reason}`),
    abortActive: d.abortActive,
    nextTime: d.nextTime === undefined ? undefined : iso(d.nextTime),
    lastScheduledTime: d.lastScheduledTime === undefined ? undefined : iso(d.lastScheduledTime),
  };
}

const SUPERSEDED = 'superseded: catch-up policy Latest starts only the most recent missed time';
const NONE_MISSED = 'missed: catch-up policy None starts only a time that is due now';
const CAP_3 = 'the catch-up cap of 3 runs was reached (catch-up policy All)';

test('a round with nothing due runs nothing and says when to look again', () => {
  assert.deepEqual(readable(decide({ now: at('2024-06-01T00:59:59Z') })), {
    runs: [],
    skipped: [],
    skippedRanges: [],
    abortActive: false,
    nextTime: '2024-06-01T01:00:00Z',
    lastScheduledTime: undefined,
  });
  // The creation time itself never fires, and a future creation time waits for its first time.
  assert.deepEqual(readable(decide({ now: CREATED })).runs, []);
  assert.equal(readable(decide({ createdAt: at('2024-06-02T00:30:00Z'), now: CREATED })).nextTime, '2024-06-02T01:00:00Z');
  // A schedule that never fires.
  assert.deepEqual(readable(decide({ cron: '0 0 30 2 *', now: at('2025-01-01T00:00:00Z') })).nextTime, undefined);
});

test('an on-time round runs the due time, and repeating the round does not run it again', () => {
  const first = decide({ now: at('2024-06-01T01:00:02Z') });
  assert.deepEqual(readable(first), { runs: ['2024-06-01T01:00:00Z'], skipped: [], skippedRanges: [], abortActive: false, nextTime: '2024-06-01T02:00:00Z', lastScheduledTime: '2024-06-01T01:00:00Z' });
  const again = decide({ now: at('2024-06-01T01:00:03Z'), state: { lastScheduledTime: first.lastScheduledTime } });
  assert.deepEqual(readable(again), { runs: [], skipped: [], skippedRanges: [], abortActive: false, nextTime: '2024-06-01T02:00:00Z', lastScheduledTime: '2024-06-01T01:00:00Z' });
});

test('missed times count from the later of the last scheduled time and the creation time', () => {
  const d = decide({ catchUp: 'All', state: { lastScheduledTime: at('2024-05-01T00:00:00Z') }, now: at('2024-06-01T02:30:00Z') });
  assert.deepEqual(readable(d).runs, ['2024-06-01T01:00:00Z', '2024-06-01T02:00:00Z']);
  const later = decide({ catchUp: 'All', state: { lastScheduledTime: at('2024-06-01T01:00:00Z') }, now: at('2024-06-01T02:30:00Z') });
  assert.deepEqual(readable(later).runs, ['2024-06-01T02:00:00Z']);
});

test('catch-up Latest runs the most recent missed time and records the others as superseded', () => {
  assert.deepEqual(readable(decide({ now: at('2024-06-01T04:30:00Z') })), {
    runs: ['2024-06-01T04:00:00Z'],
    skipped: [`2024-06-01T01:00:00Z ${SUPERSEDED}`, `2024-06-01T02:00:00Z ${SUPERSEDED}`, `2024-06-01T03:00:00Z ${SUPERSEDED}`],
    skippedRanges: [],
    abortActive: false,
    nextTime: '2024-06-01T05:00:00Z',
    lastScheduledTime: '2024-06-01T04:00:00Z',
  });
  // ... only within the starting deadline.
  const late = readable(decide({ now: at('2024-06-01T04:30:00Z'), startingDeadlineMs: 20 * MINUTE }));
  assert.deepEqual(late.runs, []);
  assert.deepEqual(late.skipped.at(-1), '2024-06-01T04:00:00Z older than the starting deadline of 20m');
  assert.equal(late.lastScheduledTime, '2024-06-01T04:00:00Z');
  assert.deepEqual(readable(decide({ now: at('2024-06-01T04:20:00Z'), startingDeadlineMs: 20 * MINUTE })).runs, ['2024-06-01T04:00:00Z']); // the deadline is inclusive
});

test('catch-up None runs only a time that is due now: within the starting deadline, else within a minute', () => {
  assert.equal(NONE_ON_TIME_MS, MINUTE);
  const onTime = readable(decide({ catchUp: 'None', now: at('2024-06-01T03:01:00Z') }));
  assert.deepEqual(onTime.runs, ['2024-06-01T03:00:00Z']);
  assert.deepEqual(onTime.skipped, [`2024-06-01T01:00:00Z ${NONE_MISSED}`, `2024-06-01T02:00:00Z ${NONE_MISSED}`]);
  const late = readable(decide({ catchUp: 'None', now: at('2024-06-01T03:01:01Z') }));
  assert.deepEqual(late.runs, []);
  assert.deepEqual(late.skipped.at(-1), '2024-06-01T03:00:00Z more than 1m late: catch-up policy None starts only a time that is due now');
  assert.equal(late.lastScheduledTime, '2024-06-01T03:00:00Z');
  const deadline = readable(decide({ catchUp: 'None', now: at('2024-06-01T03:04:00Z'), startingDeadlineMs: 5 * MINUTE }));
  assert.deepEqual(deadline.runs, ['2024-06-01T03:00:00Z']);
  const pastDeadline = readable(decide({ catchUp: 'None', now: at('2024-06-01T03:06:00Z'), startingDeadlineMs: 5 * MINUTE }));
  assert.deepEqual(pastDeadline.skipped.at(-1), '2024-06-01T03:00:00Z older than the starting deadline of 5m');
});

test('catch-up All runs every missed time oldest first, up to the cap, after the deadline', () => {
  assert.deepEqual(readable(decide({ catchUp: 'All', now: at('2024-06-01T05:30:00Z') })).runs, [
    '2024-06-01T01:00:00Z',
    '2024-06-01T02:00:00Z',
    '2024-06-01T03:00:00Z',
    '2024-06-01T04:00:00Z',
    '2024-06-01T05:00:00Z',
  ]);
  assert.deepEqual(readable(decide({ catchUp: 'All', maxCatchUp: 3, now: at('2024-06-01T05:30:00Z') })), {
    runs: ['2024-06-01T01:00:00Z', '2024-06-01T02:00:00Z', '2024-06-01T03:00:00Z'],
    skipped: [`2024-06-01T04:00:00Z ${CAP_3}`, `2024-06-01T05:00:00Z ${CAP_3}`],
    skippedRanges: [],
    abortActive: false,
    nextTime: '2024-06-01T06:00:00Z',
    lastScheduledTime: '2024-06-01T05:00:00Z',
  });
  // Times older than the deadline are skipped first and do not count toward the cap.
  assert.deepEqual(readable(decide({ catchUp: 'All', maxCatchUp: 2, startingDeadlineMs: 150 * MINUTE, now: at('2024-06-01T05:30:00Z') })), {
    runs: ['2024-06-01T03:00:00Z', '2024-06-01T04:00:00Z'],
    skipped: [
      '2024-06-01T01:00:00Z older than the starting deadline of 2h30m',
      '2024-06-01T02:00:00Z older than the starting deadline of 2h30m',
      '2024-06-01T05:00:00Z the catch-up cap of 2 runs was reached (catch-up policy All)',
    ],
    skippedRanges: [],
    abortActive: false,
    nextTime: '2024-06-01T06:00:00Z',
    lastScheduledTime: '2024-06-01T05:00:00Z',
  });
});

test('long outages record skipped stretches as ranges, without walking every time', () => {
  const now = at('2025-06-01T00:00:30Z'); // a year of a per-minute schedule: 527,041 missed times
  const latest = readable(decide({ cron: '* * * * *', now }));
  assert.deepEqual(latest.runs, ['2025-06-01T00:00:00Z']);
  assert.deepEqual(latest.skipped, []);
  assert.deepEqual(latest.skippedRanges, [`2024-06-01T00:01:00Z..2025-05-31T23:59:00Z ${SUPERSEDED}`]);
  const all = readable(decide({ cron: '* * * * *', now, catchUp: 'All', maxCatchUp: 3, startingDeadlineMs: 10 * MINUTE }));
  assert.deepEqual(all.runs, ['2025-05-31T23:51:00Z', '2025-05-31T23:52:00Z', '2025-05-31T23:53:00Z']);
  assert.deepEqual(all.skipped, ['2025-05-31T23:54:00Z', '2025-05-31T23:55:00Z', '2025-05-31T23:56:00Z', '2025-05-31T23:57:00Z', '2025-05-31T23:58:00Z', '2025-05-31T23:59:00Z', '2025-06-01T00:00:00Z'].map((t) => `${t} ${CAP_3}`));
  assert.deepEqual(all.skippedRanges, ['2024-06-01T00:01:00Z..2025-05-31T23:50:00Z older than the starting deadline of 10m']);
  // The range ends where walking every time ends, across a year of DST transitions.
  for (const timeZone of ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) {
    const c = cron('30 */3 * * *');
    const end = at('2025-06-01T00:00:00Z');
    const walked: number[] = [];
    for (let t = nextAfter(c, CREATED, timeZone); t !== undefined && t <= end; t = nextAfter(c, t, timeZone)) walked.push(t);
    const d = decideSchedule({ schedule: { kind: 'cron', cron: c }, timeZone, createdAt: CREATED, state: {}, now: end, catchUp: 'Latest', maxCatchUp: 1, concurrency: 'Allow', activeRuns: 0 });
    assert.deepEqual(d.runs, [walked.at(-1)], timeZone);
    assert.deepEqual(d.skippedRanges.map((r) => [r.first, r.last]), [[walked[0], walked.at(-2)]], timeZone);
  }
  // Exactly MAX_LISTED_SKIPS are still listed one by one; one more makes a range.
  const listed = decide({ cron: '* * * * *', now: CREATED + (MAX_LISTED_SKIPS + 1) * MINUTE });
  assert.equal(listed.skipped.length, MAX_LISTED_SKIPS);
  const ranged = decide({ cron: '* * * * *', now: CREATED + (MAX_LISTED_SKIPS + 2) * MINUTE });
  assert.deepEqual([ranged.skipped.length, ranged.skippedRanges.length], [0, 1]);
});

test('concurrency Forbid skips due runs while a run is active, and starts one at a time', () => {
  const busy = readable(decide({ concurrency: 'Forbid', activeRuns: 1, now: at('2024-06-01T01:00:05Z') }));
  assert.deepEqual(busy.runs, []);
  assert.deepEqual(busy.skipped, ['2024-06-01T01:00:00Z the previous run is still active (concurrency policy Forbid)']);
  assert.equal(busy.lastScheduledTime, '2024-06-01T01:00:00Z');
  const idle = readable(decide({ concurrency: 'Forbid', catchUp: 'All', now: at('2024-06-01T03:00:05Z') }));
  assert.deepEqual(idle.runs, ['2024-06-01T01:00:00Z']);
  assert.deepEqual(idle.skipped, [
    '2024-06-01T02:00:00Z the run for 2024-06-01T01:00:00.000Z starts in this round (concurrency policy Forbid)',
    '2024-06-01T03:00:00Z the run for 2024-06-01T01:00:00.000Z starts in this round (concurrency policy Forbid)',
  ]);
  assert.equal(idle.abortActive, false);
});

test('concurrency Replace starts the newest due run and asks to abort the active ones', () => {
  const replace = readable(decide({ concurrency: 'Replace', activeRuns: 2, now: at('2024-06-01T01:00:05Z') }));
  assert.deepEqual([replace.runs, replace.abortActive], [['2024-06-01T01:00:00Z'], true]);
  assert.equal(readable(decide({ concurrency: 'Replace', activeRuns: 0, now: at('2024-06-01T01:00:05Z') })).abortActive, false);
  assert.equal(readable(decide({ concurrency: 'Replace', activeRuns: 2, now: at('2024-06-01T00:30:00Z') })).abortActive, false); // nothing due
  const catchUp = readable(decide({ concurrency: 'Replace', catchUp: 'All', now: at('2024-06-01T02:00:05Z') }));
  assert.deepEqual(catchUp.runs, ['2024-06-01T02:00:00Z']);
  assert.deepEqual(catchUp.skipped, ['2024-06-01T01:00:00Z replaced by the run for 2024-06-01T02:00:00.000Z (concurrency policy Replace)']);
});

test('concurrency Allow starts due runs next to active ones', () => {
  const allow = readable(decide({ concurrency: 'Allow', activeRuns: 3, catchUp: 'All', now: at('2024-06-01T02:00:05Z') }));
  assert.deepEqual([allow.runs, allow.abortActive], [['2024-06-01T01:00:00Z', '2024-06-01T02:00:00Z'], false]);
});

test('fixed rates fire at anchor + k × rate from the creation time (rounded down to the second), or an explicit anchor', () => {
  const schedule: ParsedSchedule = { kind: 'fixedRate', rateMs: 25 * MINUTE };
  const created = at('2024-06-01T00:00:30.250Z');
  const d = readable(decide({ schedule, createdAt: created, catchUp: 'All', now: at('2024-06-01T01:00:00Z') }));
  assert.deepEqual(d.runs, ['2024-06-01T00:25:30Z', '2024-06-01T00:50:30Z']);
  assert.equal(d.nextTime, '2024-06-01T01:15:30Z');
  // After an outage the times stay on the grid (flyte#2885).
  const after = readable(decide({ schedule, createdAt: created, state: { lastScheduledTime: at('2024-06-01T00:50:30Z') }, now: at('2024-06-01T05:00:00Z') }));
  assert.deepEqual(after.runs, ['2024-06-01T04:35:30Z']);
  const anchored = readable(decide({ schedule: { kind: 'fixedRate', rateMs: HOUR, anchorMs: at('2024-06-01T00:10:00Z') }, now: at('2024-06-01T00:10:01Z') }));
  assert.deepEqual(anchored.runs, ['2024-06-01T00:10:00Z']); // k = 0: the anchor itself, when after the creation time
});

test('@every counts from the previous scheduled time, as robfig does', () => {
  const d = readable(decide({ cron: '@every 7m', createdAt: at('2024-06-01T00:00:30.900Z'), catchUp: 'All', now: at('2024-06-01T00:30:00Z') }));
  assert.deepEqual(d.runs, ['2024-06-01T00:07:30Z', '2024-06-01T00:14:30Z', '2024-06-01T00:21:30Z', '2024-06-01T00:28:30Z']);
  assert.equal(d.nextTime, '2024-06-01T00:35:30Z');
  const moved = readable(decide({ cron: '@every 7m', state: { lastScheduledTime: at('2024-06-01T00:03:00Z') }, catchUp: 'All', now: at('2024-06-01T00:20:00Z') }));
  assert.deepEqual(moved.runs, ['2024-06-01T00:10:00Z', '2024-06-01T00:17:00Z']);
});

test('cron schedules are read in the given time zone', () => {
  const d = readable(decide({ cron: '30 2 * * *', timeZone: 'Europe/Berlin', createdAt: at('2024-03-29T12:00:00Z'), catchUp: 'All', now: at('2024-04-01T12:00:00Z') }));
  assert.deepEqual(d.runs, ['2024-03-30T01:30:00Z', '2024-04-01T00:30:00Z']); // nothing on 2024-03-31 (02:30 did not exist)
});

test('decideSchedule refuses invalid input', () => {
  assert.throws(() => decide({ maxCatchUp: 0 }), { name: 'RangeError', message: 'decideSchedule: maxCatchUp must be an integer >= 1, got 0' });
  assert.throws(() => decide({ activeRuns: -1 }), RangeError);
  assert.throws(() => decide({ startingDeadlineMs: -5 }), RangeError);
  assert.throws(() => decide({ now: Number.NaN }), RangeError);
  assert.throws(() => decide({ schedule: { kind: 'fixedRate', rateMs: 500 } }), RangeError);
  assert.throws(() => decide({ timeZone: 'Mars/Olympus' }), { name: 'RangeError', message: 'decideSchedule: invalid time zone: "Mars/Olympus" is not a known IANA time zone' });
});

// ---------------------------------------------------------------------------------------------------------
// The exactly-once property

interface Scenario {
  schedule: string | { rateMs: number; anchorOffsetMs?: number };
  zone: string;
  createdAt: number;
  rounds: { gap: number; activeRuns: number }[];
  maxCatchUp: number;
  startingDeadlineMs: number | undefined;
  concurrency: ConcurrencyPolicy;
}

const SCHEDULES = ['*/7 * * * *', '0 * * * *', '30 1,2 * * *', '15,45 */2 * * *', '0 0 * * 1', '*/20 * 1,15 * mon', '@every 13m', '@every 1h', '@daily'];
const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe'];
/** Moments near the 2024 DST transitions of the zones above, and one far from them. */
const BASES = ['2024-03-09T12:00:00Z', '2024-03-30T12:00:00Z', '2024-10-05T00:00:00Z', '2024-10-26T12:00:00Z', '2024-11-02T12:00:00Z', '2024-06-01T00:00:00Z'].map(at);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  schedule: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...SCHEDULES) },
    { weight: 1, arbitrary: fc.record({ rateMs: fc.constantFrom(7 * MINUTE, HOUR, 25 * HOUR, 1000 * 61), anchorOffsetMs: fc.option(fc.integer({ min: -HOUR, max: 3 * HOUR }), { nil: undefined }) }) },
  ),
  zone: fc.constantFrom(...ZONES),
  createdAt: fc.tuple(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 2 * 24 * HOUR })).map(([base, offset]) => base + offset),
  rounds: fc.array(
    fc.record({
      gap: fc.oneof(fc.integer({ min: 0, max: 10 * MINUTE }), fc.integer({ min: 0, max: 3 * HOUR }), fc.integer({ min: 0, max: 2 * 24 * HOUR })),
      activeRuns: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 1, maxLength: 14 },
  ),
  maxCatchUp: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(100)),
  startingDeadlineMs: fc.option(fc.integer({ min: 0, max: 6 * HOUR }), { nil: undefined }),
  concurrency: fc.constantFrom<ConcurrencyPolicy>('Allow', 'Forbid', 'Replace'),
});

function parsedSchedule(s: Scenario): ParsedSchedule {
  if (typeof s.schedule === 'string') return { kind: 'cron', cron: cron(s.schedule) };
  return { kind: 'fixedRate', rateMs: s.schedule.rateMs, ...(s.schedule.anchorOffsetMs === undefined ? {} : { anchorMs: Math.floor(s.createdAt / 1000) * 1000 + s.schedule.anchorOffsetMs }) };
}

/** Every scheduled time in (createdAt, end], computed independently of decideSchedule with the public functions. */
function expectedTimes(schedule: ParsedSchedule, zone: string, createdAt: number, end: number): number[] {
  const next =
    schedule.kind === 'cron'
      ? (t: number) => nextAfter(schedule.cron, t, zone)
      : (t: number) => nextFixedRate(schedule.anchorMs ?? Math.floor(createdAt / 1000) * 1000, schedule.rateMs, t);
  const times: number[] = [];
  for (let t = next(createdAt); t !== undefined && t <= end; t = next(t)) times.push(t);
  return times;
}

/** What the property runs exercised, so that a weakened generator shows up as a failure. */
interface Seen {
  runs: number;
  skipped: number;
  ranges: number;
  aborts: number;
}

function checkExactlyOnce(s: Scenario, catchUp: CatchUpPolicy, seen: Seen): void {
  const schedule = parsedSchedule(s);
  const nextOf = schedule.kind === 'cron' ? (t: number) => nextAfter(schedule.cron, t, s.zone) : (t: number) => nextFixedRate(schedule.anchorMs ?? Math.floor(s.createdAt / 1000) * 1000, schedule.rateMs, t);
  const acted = new Map<number, 'run' | 'skipped'>();
  let state: { lastScheduledTime?: number } = {};
  let now = s.createdAt;
  for (const round of s.rounds) {
    now += round.gap;
    const d = decideSchedule({ schedule, timeZone: s.zone, createdAt: s.createdAt, state, now, catchUp, maxCatchUp: s.maxCatchUp, startingDeadlineMs: s.startingDeadlineMs, concurrency: s.concurrency, activeRuns: round.activeRuns });
    const cursor = Math.max(state.lastScheduledTime ?? -Infinity, s.createdAt);
    const thisRound: [number, 'run' | 'skipped'][] = [...d.runs.map((t) => [t, 'run'] as [number, 'run']), ...d.skipped.map((x) => [x.time, 'skipped'] as [number, 'skipped'])];
    for (const range of d.skippedRanges) {
      assert.ok(range.first < range.last);
      let count = 0;
      for (let t: number | undefined = range.first; t !== undefined && t <= range.last; t = nextOf(t)) {
        thisRound.push([t, 'skipped']);
        count++;
      }
      assert.ok(count > MAX_LISTED_SKIPS, 'a range holds more times than would be listed');
    }
    assert.deepEqual(d.runs, [...d.runs].sort((a, b) => a - b), 'runs oldest first');
    if (s.concurrency !== 'Allow') assert.ok(d.runs.length <= 1);
    if (s.concurrency === 'Forbid' && round.activeRuns > 0) assert.deepEqual(d.runs, []);
    assert.equal(d.abortActive, s.concurrency === 'Replace' && round.activeRuns > 0 && d.runs.length > 0);
    if (catchUp !== 'All') assert.ok(d.runs.length <= 1);
    else assert.ok(d.runs.length <= s.maxCatchUp);
    for (const [t, what] of thisRound) {
      assert.ok(t > cursor && t <= now, `${iso(t)} is in (${iso(cursor)}, ${iso(now)}]`);
      assert.equal(acted.get(t), undefined, `${iso(t)} acted on twice (${acted.get(t)} then ${what})`);
      acted.set(t, what);
    }
    const newest = thisRound.reduce((m, [t]) => Math.max(m, t), -Infinity);
    assert.equal(d.lastScheduledTime, thisRound.length > 0 ? newest : state.lastScheduledTime, 'lastScheduledTime is the newest time acted on');
    assert.ok(d.nextTime === undefined || d.nextTime > now, 'nextTime is in the future');
    if (thisRound.length > 0) state = { lastScheduledTime: newest };
    seen.runs += d.runs.length;
    seen.skipped += d.skipped.length;
    seen.ranges += d.skippedRanges.length;
    seen.aborts += d.abortActive ? 1 : 0;
  }
  const expected = expectedTimes(schedule, s.zone, s.createdAt, now);
  assert.deepEqual([...acted.keys()].sort((a, b) => a - b).map(iso), expected.map(iso), 'every scheduled time is run or skipped exactly once');
}

for (const catchUp of ['All', 'Latest', 'None'] as const) {
  test(`property: with catch-up ${catchUp}, every scheduled time is run or recorded skipped exactly once, whatever the rounds and outages`, () => {
    const seen: Seen = { runs: 0, skipped: 0, ranges: 0, aborts: 0 };
    fc.assert(
      fc.property(scenario, (s) => checkExactlyOnce(s, catchUp, seen)),
      { numRuns: 150 },
    );
    assert.ok(seen.runs > 0 && seen.skipped > 0 && seen.ranges > 0 && seen.aborts > 0, JSON.stringify(seen));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Execution names

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

test('executionName is <launch plan>-<unix seconds>, hashed when too long or not DNS', () => {
  assert.equal(executionName('nightly', at('2024-06-01T02:00:00Z')), 'nightly-1717207200');
  assert.equal(executionName('team.etl', 0), 'team.etl-0');
  const long = executionName('x'.repeat(60), at('2024-06-01T02:00:00Z'));
  assert.match(long, /^x{52}-[a-z2-7]{10}$/);
  const odd = executionName('Nightly_Job', at('2024-06-01T02:00:00Z'));
  assert.match(odd, /^nightly-job-at-1717207200-[a-z2-7]{10}$/);
  assert.match(executionName('a', at('2024-06-01T02:00:00.123Z')), /^a-atms-1717207200123-[a-z2-7]{10}$/); // not a whole second
  assert.throws(() => executionName('a', -1000), RangeError);
  assert.throws(() => executionName('a', 1.5), RangeError);
});

const launchPlanName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/),
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,70}[a-z0-9])?$/),
  fc.string({ maxLength: 80 }),
);
const scheduledTime = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => s * 1000), fc.integer({ min: 0, max: 4_102_444_800_000 }));

test('property: executionName is a deterministic DNS-1123 subdomain of at most 63 characters', () => {
  fc.assert(
    fc.property(launchPlanName, scheduledTime, (name, time) => {
      const result = executionName(name, time);
      assert.ok(result.length <= 63, result);
      assert.match(result, DNS_SUBDOMAIN);
      assert.equal(executionName(name, time), result);
    }),
    { numRuns: 2000 },
  );
});

test('property: executionName gives distinct (launch plan, time) pairs distinct names', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(launchPlanName, scheduledTime), { minLength: 2, maxLength: 200, selector: ([n, t]) => `${n}\u0000${t}` }), (pairs) => {
      const names = new Set(pairs.map(([n, t]) => executionName(n, t)));
      assert.equal(names.size, pairs.length);
    }),
    { numRuns: 300 },
  );
  // Every minute of a month, for a launch plan with a short name and one with a long name.
  for (const name of ['hourly', 'a-launch-plan-whose-name-is-long-enough-to-need-a-hash']) {
    const names = new Set<string>();
    for (let t = at('2024-01-01T00:00:00Z'); t < at('2024-02-01T00:00:00Z'); t += MINUTE) names.add(executionName(name, t));
    assert.equal(names.size, 31 * 24 * 60);
  }
});

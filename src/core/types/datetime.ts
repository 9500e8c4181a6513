// RFC 3339 date-time: full-date, "T" (or "t", or a space as RFC 3339 §5.6 allows),
// full-time with optional fractional seconds, and a mandatory offset ("Z" or ±hh:mm).
const RFC_3339_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

const MAX_DATE_TIME_TEXT_LENGTH = 64;

/** True when the text is an RFC 3339 date-time with a time zone that names a real calendar instant. */
export function isRfc3339DateTime(text: string): boolean {
  if (text.length > MAX_DATE_TIME_TEXT_LENGTH) return false;
  const match = RFC_3339_DATE_TIME.exec(text);
  if (match === null) return false;
  // A "Z" zone leaves the offset groups unmatched; they count as 00:00.
  const fields = match.slice(1).map((group) => (group === undefined ? 0 : Number(group)));
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0] = fields;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  // Leap seconds (:60) are rejected, as Python's datetime and JavaScript's Date do.
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (offsetHour > 23 || offsetMinute > 59) return false;
  return true;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

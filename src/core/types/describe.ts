const MAX_DESCRIBED_STRING_LENGTH = 40;

/**
 * A short, human description of a JSON-ish value for error messages:
 * 'int 3', 'float 1.5', 'str "abc"', 'bool true', 'null', 'list of 3', 'object with 2 keys'.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'no value';
  if (Array.isArray(value)) return `list of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `str ${quoteTruncated(value)}`;
    case 'boolean':
      return `bool ${value}`;
    case 'number':
      return describeNumber(value);
    case 'object': {
      const count = Object.keys(value).length;
      return `object with ${count} ${count === 1 ? 'key' : 'keys'}`;
    }
    default:
      return typeof value;
  }
}

function describeNumber(value: number): string {
  if (!Number.isFinite(value)) return `number ${value}`;
  return Number.isInteger(value) ? `int ${value}` : `float ${value}`;
}

function quoteTruncated(text: string): string {
  if (text.length <= MAX_DESCRIBED_STRING_LENGTH) return JSON.stringify(text);
  // Cut on code points so a surrogate pair is never split.
  let kept = '';
  let count = 0;
  for (const character of text) {
    if (count === MAX_DESCRIBED_STRING_LENGTH) break;
    kept += character;
    count += 1;
  }
  if (kept.length === text.length) return JSON.stringify(text);
  return `${JSON.stringify(kept).slice(0, -1)}…"`;
}

import type { FlyteType } from './type.ts';
import { formatType } from './type.ts';
import { describeValue } from './describe.ts';
import { isRfc3339DateTime } from './datetime.ts';
import { parseDuration } from './duration.ts';

export { describeValue } from './describe.ts';

/** Where a value first disagrees with its type. path is "" for the root, else like "[2]", ".a[0]", '["a b"]'. */
export interface TypeMismatch {
  path: string;
  expected: string;
  actual: string;
}

interface PendingCheck {
  type: FlyteType;
  value: unknown;
  path: string;
}

/**
 * Checks a JSON value against a type and returns the first mismatch in document order.
 * Uses an explicit work stack, so deeply nested types and values cannot overflow the call stack.
 */
export function checkValue(t: FlyteType, value: unknown): TypeMismatch | undefined {
  const pending: PendingCheck[] = [{ type: t, value, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { type, value: current, path } = next;
    const actual = mismatchOf(type, current);
    if (actual !== undefined) return { path, expected: formatType(type), actual };
    // Children are pushed in reverse so the first element or key is checked first.
    if (type.kind === 'optional' && current !== null && current !== undefined) {
      pending.push({ type: type.of, value: current, path });
    } else if (type.kind === 'list' && Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) {
        pending.push({ type: type.of, value: current[index], path: `${path}[${index}]` });
      }
    } else if (type.kind === 'map' && isJsonObject(current)) {
      const keys = Object.keys(current);
      for (let index = keys.length - 1; index >= 0; index -= 1) {
        const key = keys[index] ?? '';
        pending.push({ type: type.of, value: current[key], path: path + keySegment(key) });
      }
    }
  }
  return undefined;
}

/** Describes the value when its own shape does not fit the type; children are not inspected. */
function mismatchOf(type: FlyteType, value: unknown): string | undefined {
  switch (type.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return describeValue(value);
      if (!Number.isSafeInteger(value)) {
        return `${describeValue(value)}, beyond ±(2^53−1) where JSON numbers lose precision in JavaScript`;
      }
      return undefined;
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : describeValue(value);
    case 'str':
      return typeof value === 'string' ? undefined : describeValue(value);
    case 'bool':
      return typeof value === 'boolean' ? undefined : describeValue(value);
    case 'datetime':
      if (typeof value === 'string' && !isRfc3339DateTime(value)) {
        return `${describeValue(value)}, not a valid RFC 3339 date-time with a time zone, such as "2024-05-01T10:00:00Z"`;
      }
      return typeof value === 'string' ? undefined : describeValue(value);
    case 'duration':
      if (typeof value === 'string' && parseDuration(value) === undefined) {
        return `${describeValue(value)}, not a duration such as "90s", "1h30m" or "250ms"`;
      }
      return typeof value === 'string' ? undefined : describeValue(value);
    case 'dict':
    case 'map':
      return isJsonObject(value) ? undefined : describeValue(value);
    case 'list':
      return Array.isArray(value) ? undefined : describeValue(value);
    case 'optional':
      return undefined;
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function keySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** 'at [2]: expected int, got float 1.5', or without the location when the path is empty. */
export function formatMismatch(m: TypeMismatch): string {
  const message = `expected ${m.expected}, got ${m.actual}`;
  return m.path === '' ? message : `at ${m.path}: ${message}`;
}

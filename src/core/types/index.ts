export type { FlyteType } from './type.ts';
export { formatType, typesEqual } from './type.ts';
export type { ParseTypeResult } from './parse.ts';
export { parseType, MAX_TYPE_TEXT_LENGTH, MAX_TYPE_NESTING } from './parse.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { isRfc3339DateTime } from './datetime.ts';
export type { TypeMismatch } from './check.ts';
export { checkValue, describeValue, formatMismatch } from './check.ts';
export { isAssignable } from './assignable.ts';

/**
 * Propeller's types, as values that carry their TypeScript type: `t.list(t.int)` is the type written
 * `list[int]` in a FlyteWorkflow and `number[]` in TypeScript.
 */
export interface Type<T> {
  /** The type as a FlyteWorkflow spells it: int, list[int], dict[str, float], Optional[str], … */
  readonly text: string;
  /** Phantom: only the compiler sees it. */
  readonly __value?: T;
}

export type ValueOf<X> = X extends Type<infer T> ? T : never;

const type = <T>(text: string): Type<T> => Object.freeze({ text });

export const int: Type<number> = type('int');
export const float: Type<number> = type('float');
export const str: Type<string> = type('str');
export const bool: Type<boolean> = type('bool');
/** An RFC 3339 time, e.g. 2026-12-06T00:00:00Z. */
export const datetime: Type<string> = type('datetime');
/** A length of time, e.g. 90s or 1h30m. */
export const duration: Type<string> = type('duration');
/** Any JSON object. */
export const json: Type<Record<string, unknown>> = type('dict');

export const list = <T>(of: Type<T>): Type<T[]> => type(`list[${of.text}]`);
/** dict[str, T]: a JSON object whose values are all of one type. */
export const dict = <T>(of: Type<T>): Type<Record<string, T>> => type(`dict[str, ${of.text}]`);
/** Optional[T]: the value may be null (and an input of this type may be left out). */
export const optional = <T>(of: Type<T>): Type<T | null> => type(`Optional[${of.text}]`);

export const isType = (x: unknown): x is Type<unknown> => typeof x === 'object' && x !== null && typeof (x as { text?: unknown }).text === 'string' && Object.isFrozen(x);

/** The namespace users import: `t.int`, `t.list(t.float)`. */
export const t = { int, float, str, bool, datetime, duration, json, list, dict, optional };

import type { FlyteType } from './type.ts';
import { formatType } from './type.ts';

export type ParseTypeResult = { ok: true; type: FlyteType } | { ok: false; error: string };

export const MAX_TYPE_TEXT_LENGTH = 256;
export const MAX_TYPE_NESTING = 16;

const LEAF_TYPES: ReadonlyMap<string, FlyteType> = new Map<string, FlyteType>([
  ['int', { kind: 'int' }],
  ['float', { kind: 'float' }],
  ['str', { kind: 'str' }],
  ['bool', { kind: 'bool' }],
  ['datetime', { kind: 'datetime' }],
  ['duration', { kind: 'duration' }],
]);

type Constructor = 'list' | 'dict' | 'Optional';

const CONSTRUCTORS: ReadonlyMap<string, Constructor> = new Map<string, Constructor>([
  ['list', 'list'],
  ['List', 'list'],
  ['dict', 'dict'],
  ['Dict', 'dict'],
  ['Optional', 'Optional'],
]);

// Spellings people plausibly write by mistake, keyed in lower case.
const SUGGESTIONS: ReadonlyMap<string, string> = new Map([
  ['int', 'int'],
  ['integer', 'int'],
  ['float', 'float'],
  ['double', 'float'],
  ['number', 'float'],
  ['str', 'str'],
  ['string', 'str'],
  ['bool', 'bool'],
  ['boolean', 'bool'],
  ['datetime', 'datetime'],
  ['duration', 'duration'],
  ['timedelta', 'duration'],
  ['dict', 'dict'],
  ['object', 'dict'],
  ['list', 'list'],
  ['optional', 'Optional'],
]);

/** Thrown inside the parser only; parseType turns it into an error result. */
class TypeSyntaxError extends Error {}

class Cursor {
  readonly text: string;
  position = 0;

  constructor(text: string) {
    this.text = text;
  }

  skipWhitespace(): void {
    while (this.position < this.text.length && isWhitespace(this.text.charCodeAt(this.position))) {
      this.position += 1;
    }
  }

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  /** The character at the cursor, whole even when it is a surrogate pair. */
  current(): string {
    return String.fromCodePoint(this.text.codePointAt(this.position) ?? 0);
  }

  readName(): string {
    const start = this.position;
    while (this.position < this.text.length && isNameChar(this.text.charCodeAt(this.position))) {
      this.position += 1;
    }
    return this.text.slice(start, this.position);
  }

  /** Error located at the cursor; positions are 1-based. */
  fail(what: string): never {
    throw new TypeSyntaxError(`${what} at position ${this.position + 1} in ${JSON.stringify(this.text)}`);
  }

  failUnexpected(): never {
    this.fail(`unexpected ${JSON.stringify(this.current())}`);
  }
}

export function parseType(text: string): ParseTypeResult {
  if (text.length > MAX_TYPE_TEXT_LENGTH) {
    return { ok: false, error: `type is too long (${text.length} characters, at most ${MAX_TYPE_TEXT_LENGTH})` };
  }
  const cursor = new Cursor(text);
  cursor.skipWhitespace();
  if (cursor.atEnd()) return { ok: false, error: 'type is empty' };
  try {
    const type = parseTypeAt(cursor, 0);
    cursor.skipWhitespace();
    if (!cursor.atEnd()) cursor.failUnexpected();
    return { ok: true, type };
  } catch (error) {
    if (error instanceof TypeSyntaxError) return { ok: false, error: error.message };
    throw error;
  }
}

function parseTypeAt(cursor: Cursor, depth: number): FlyteType {
  cursor.skipWhitespace();
  const name = cursor.readName();
  if (name === '') cursor.fail('expected a type');

  cursor.skipWhitespace();
  const hasArguments = !cursor.atEnd() && cursor.current() === '[';
  const leaf = LEAF_TYPES.get(name);
  if (leaf !== undefined) {
    if (hasArguments) throw new TypeSyntaxError(`${name} does not take type arguments`);
    return leaf;
  }
  const constructor = CONSTRUCTORS.get(name);
  if (constructor === undefined) throw new TypeSyntaxError(unknownTypeMessage(name));
  if (!hasArguments) return bareConstructor(name, constructor);

  if (depth >= MAX_TYPE_NESTING) {
    throw new TypeSyntaxError(`type is nested too deeply (at most ${MAX_TYPE_NESTING} levels of brackets)`);
  }
  cursor.position += 1;
  const expectedCount = constructor === 'dict' ? 2 : 1;
  const args = parseArguments(cursor, depth + 1, expectedCount);
  return applyConstructor(name, constructor, args);
}

/** Parses `T, U, ...]` after an opening bracket, consuming the closing bracket. */
function parseArguments(cursor: Cursor, depth: number, expectedCount: number): FlyteType[] {
  const args: FlyteType[] = [];
  for (;;) {
    args.push(parseTypeAt(cursor, depth));
    cursor.skipWhitespace();
    const expected = args.length < expectedCount ? '","' : '"]"';
    const next = cursor.atEnd() ? '' : cursor.current();
    if (next !== ',' && next !== ']') cursor.fail(`expected ${expected}`);
    cursor.position += 1;
    if (next === ']') return args;
  }
}

function bareConstructor(name: string, constructor: Constructor): FlyteType {
  switch (constructor) {
    case 'dict':
      return { kind: 'dict' };
    case 'list':
      throw new TypeSyntaxError(`${name} needs an element type, e.g. list[int]`);
    case 'Optional':
      throw new TypeSyntaxError(`${name} needs a type argument, e.g. Optional[int]`);
  }
}

function applyConstructor(name: string, constructor: Constructor, args: FlyteType[]): FlyteType {
  const [first, second] = args;
  if (constructor === 'dict') {
    if (first === undefined || second === undefined || args.length !== 2) {
      throw new TypeSyntaxError(`${name} takes a key and a value type, e.g. dict[str, int]; got ${argumentCount(args)}`);
    }
    if (first.kind !== 'str') throw new TypeSyntaxError(`dict keys must be str, got ${formatType(first)}`);
    return { kind: 'map', of: second };
  }
  if (first === undefined || args.length !== 1) {
    throw new TypeSyntaxError(`${name} takes one type argument, got ${argumentCount(args)}`);
  }
  if (constructor === 'list') return { kind: 'list', of: first };
  // Optional[Optional[T]] means the same as Optional[T].
  return first.kind === 'optional' ? first : { kind: 'optional', of: first };
}

function argumentCount(args: FlyteType[]): string {
  return args.length === 1 ? '1 argument' : `${args.length} arguments`;
}

function unknownTypeMessage(name: string): string {
  const unqualified = name.startsWith('typing.') ? name.slice('typing.'.length) : name;
  if (unqualified !== name && (LEAF_TYPES.has(unqualified) || CONSTRUCTORS.has(unqualified))) {
    return `unknown type ${JSON.stringify(name)} (write ${JSON.stringify(unqualified)} without "typing.")`;
  }
  const suggestion = SUGGESTIONS.get(name.toLowerCase());
  if (suggestion === undefined) return `unknown type ${JSON.stringify(name)}`;
  return `unknown type ${JSON.stringify(name)} (did you mean ${JSON.stringify(suggestion)}?)`;
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function isNameChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x5f || // _
    code === 0x2e // . so that "typing.List" is read as one name
  );
}

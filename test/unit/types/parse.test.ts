import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatType, parseType } from '../../../src/core/types/index.ts';

function parsedAs(text: string): string {
  const result = parseType(text);
  if (!result.ok) assert.fail(`parseType(${JSON.stringify(text)}) failed: ${result.error}`);
  return formatType(result.type);
}

function errorOf(text: string): string {
  const result = parseType(text);
  if (result.ok) assert.fail(`parseType(${JSON.stringify(text)}) unexpectedly gave ${formatType(result.type)}`);
  return result.error;
}

test('parseType accepts every supported spelling', () => {
  const cases: Array<[string, string]> = [
    ['int', 'int'],
    ['float', 'float'],
    ['str', 'str'],
    ['bool', 'bool'],
    ['datetime', 'datetime'],
    ['duration', 'duration'],
    ['dict', 'dict'],
    ['Dict', 'dict'],
    ['list[int]', 'list[int]'],
    ['List[int]', 'list[int]'],
    ['dict[str, float]', 'dict[str, float]'],
    ['Dict[str, float]', 'dict[str, float]'],
    ['dict[str,float]', 'dict[str, float]'],
    ['Optional[int]', 'Optional[int]'],
    ['Optional[list[str]]', 'Optional[list[str]]'],
    ['list[Optional[int]]', 'list[Optional[int]]'],
    ['dict[str, list[dict[str, bool]]]', 'dict[str, list[dict[str, bool]]]'],
    ['List[Dict[str, Optional[datetime]]]', 'list[dict[str, Optional[datetime]]]'],
    ['list[dict]', 'list[dict]'],
    ['Optional[dict]', 'Optional[dict]'],
    ['Optional[Dict]', 'Optional[dict]'],
    ['dict[str, duration]', 'dict[str, duration]'],
  ];
  for (const [text, canonical] of cases) assert.equal(parsedAs(text), canonical, text);
});

test('parseType tolerates whitespace around names and punctuation', () => {
  const cases: Array<[string, string]> = [
    ['  int  ', 'int'],
    ['list[ int ]', 'list[int]'],
    ['list [int]', 'list[int]'],
    ['dict[ str ,  int ]', 'dict[str, int]'],
    ['Optional[\n  list[\tint\t]\n]', 'Optional[list[int]]'],
    ['Dict[str,\r\n List[ float ] ]', 'dict[str, list[float]]'],
  ];
  for (const [text, canonical] of cases) assert.equal(parsedAs(text), canonical, JSON.stringify(text));
});

test('Optional[Optional[T]] collapses to Optional[T]', () => {
  assert.equal(parsedAs('Optional[Optional[int]]'), 'Optional[int]');
  assert.equal(parsedAs('Optional[Optional[Optional[list[int]]]]'), 'Optional[list[int]]');
  assert.equal(parsedAs('list[Optional[Optional[str]]]'), 'list[Optional[str]]');
  const result = parseType('Optional[Optional[int]]');
  assert.deepEqual(result, { ok: true, type: { kind: 'optional', of: { kind: 'int' } } });
});

test('parseType builds the documented model', () => {
  assert.deepEqual(parseType('dict[str, list[float]]'), {
    ok: true,
    type: { kind: 'map', of: { kind: 'list', of: { kind: 'float' } } },
  });
  assert.deepEqual(parseType('Dict'), { ok: true, type: { kind: 'dict' } });
});

test('parseType explains syntax errors with a 1-based position and the text', () => {
  const cases: Array<[string, string]> = [
    ['list[int', 'expected "]" at position 9 in "list[int"'],
    ['dict[str', 'expected "," at position 9 in "dict[str"'],
    ['dict[str, int', 'expected "]" at position 14 in "dict[str, int"'],
    ['list[int str]', 'expected "]" at position 10 in "list[int str]"'],
    ['dict[str int]', 'expected "," at position 10 in "dict[str int]"'],
    ['list[]', 'expected a type at position 6 in "list[]"'],
    ['list[', 'expected a type at position 6 in "list["'],
    ['[int]', 'expected a type at position 1 in "[int]"'],
    ['dict[, int]', 'expected a type at position 6 in "dict[, int]"'],
    ['int]', 'unexpected "]" at position 4 in "int]"'],
    ['list[int]]', 'unexpected "]" at position 10 in "list[int]]"'],
    ['int, str', 'unexpected "," at position 4 in "int, str"'],
    ['int str', 'unexpected "s" at position 5 in "int str"'],
    ['int!', 'unexpected "!" at position 4 in "int!"'],
    ['int 😀', 'unexpected "😀" at position 5 in "int 😀"'],
    ['list[int]\u0000', 'unexpected "\\u0000" at position 10 in "list[int]\\u0000"'],
  ];
  for (const [text, error] of cases) assert.equal(errorOf(text), error, JSON.stringify(text));
});

test('parseType rejects unknown names, with a hint for common near-misses', () => {
  const cases: Array<[string, string]> = [
    ['foo', 'unknown type "foo"'],
    ['lst', 'unknown type "lst"'],
    ['list[lst]', 'unknown type "lst"'],
    ['None', 'unknown type "None"'],
    ['Union[int, str]', 'unknown type "Union"'],
    ['string', 'unknown type "string" (did you mean "str"?)'],
    ['integer', 'unknown type "integer" (did you mean "int"?)'],
    ['boolean', 'unknown type "boolean" (did you mean "bool"?)'],
    ['number', 'unknown type "number" (did you mean "float"?)'],
    ['timedelta', 'unknown type "timedelta" (did you mean "duration"?)'],
    ['Int', 'unknown type "Int" (did you mean "int"?)'],
    ['Str', 'unknown type "Str" (did you mean "str"?)'],
    ['optional[int]', 'unknown type "optional" (did you mean "Optional"?)'],
    ['typing.List[int]', 'unknown type "typing.List" (write "List" without "typing.")'],
    ['typing.Optional[int]', 'unknown type "typing.Optional" (write "Optional" without "typing.")'],
    ['__proto__', 'unknown type "__proto__"'],
    ['constructor', 'unknown type "constructor"'],
  ];
  for (const [text, error] of cases) assert.equal(errorOf(text), error, text);
});

test('parseType rejects misuse of type arguments', () => {
  const cases: Array<[string, string]> = [
    ['list', 'list needs an element type, e.g. list[int]'],
    ['List', 'List needs an element type, e.g. list[int]'],
    ['dict[str, list]', 'list needs an element type, e.g. list[int]'],
    ['Optional', 'Optional needs a type argument, e.g. Optional[int]'],
    ['dict[int, str]', 'dict keys must be str, got int'],
    ['Dict[float, str]', 'dict keys must be str, got float'],
    ['dict[Optional[str], int]', 'dict keys must be str, got Optional[str]'],
    ['dict[list[str], int]', 'dict keys must be str, got list[str]'],
    ['dict[str]', 'dict takes a key and a value type, e.g. dict[str, int]; got 1 argument'],
    ['dict[str, int, float]', 'dict takes a key and a value type, e.g. dict[str, int]; got 3 arguments'],
    ['list[int, str]', 'list takes one type argument, got 2 arguments'],
    ['Optional[int, str]', 'Optional takes one type argument, got 2 arguments'],
    ['int[str]', 'int does not take type arguments'],
    ['str [int]', 'str does not take type arguments'],
  ];
  for (const [text, error] of cases) assert.equal(errorOf(text), error, text);
});

test('parseType rejects empty text', () => {
  assert.equal(errorOf(''), 'type is empty');
  assert.equal(errorOf(' \t\n '), 'type is empty');
});

test('parseType caps the text length at 256 characters', () => {
  const padded = `${' '.repeat(253)}int`;
  assert.equal(padded.length, 256);
  assert.equal(parsedAs(padded), 'int');
  assert.equal(errorOf(`${padded} `), 'type is too long (257 characters, at most 256)');
  assert.equal(errorOf('['.repeat(1_000_000)), 'type is too long (1000000 characters, at most 256)');
});

test('parseType caps nesting at 16 levels of brackets', () => {
  const nested = (levels: number, wrapper: string): string => `${wrapper}[`.repeat(levels) + 'int' + ']'.repeat(levels);
  assert.equal(parsedAs(nested(16, 'list')), nested(16, 'list'));
  assert.equal(parsedAs(nested(16, 'Optional')), 'Optional[int]');
  const tooDeep = 'type is nested too deeply (at most 16 levels of brackets)';
  assert.equal(errorOf(nested(17, 'list')), tooDeep);
  assert.equal(errorOf(nested(17, 'Optional')), tooDeep);
  // Unbalanced hostile input hits the depth limit before anything else.
  assert.equal(errorOf('list['.repeat(50)), tooDeep);
});

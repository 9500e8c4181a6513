import type { FlyteType } from './types/index.ts';
import { describeValue, formatType, isRfc3339DateTime, parseDuration } from './types/index.ts';
import { quote } from './quote.ts';

/**
 * The condition language of branch nodes, e.g. `x < 0.5 and not (kind == 'test')`.
 * Operands are the branch's inputs and constants; compileCondition parses and type-checks
 * a condition once, evaluateCondition decides it on the inputs' values.
 */

export const MAX_CONDITION_LENGTH = 4096;
/** Each "(" and each "not" is one level; the limit keeps the recursive parser and evaluator far from the stack's end. */
export const MAX_CONDITION_NESTING = 64;

export type ComparisonOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Operand = { kind: 'input'; name: string } | { kind: 'constant'; value: number | string | boolean };

/** How a comparison reads its operands: numbers (int and float mix), strings, bools, instants or lengths of time. */
export type ComparedAs = 'number' | 'str' | 'bool' | 'datetime' | 'duration';

/** A compiled condition: plain, JSON-serialisable data. `at` is the 1-based position of the comparison in the text. */
export type Condition =
  | { kind: 'or'; of: Condition[] }
  | { kind: 'and'; of: Condition[] }
  | { kind: 'not'; of: Condition }
  | { kind: 'isNull'; input: string }
  | { kind: 'compare'; op: ComparisonOperator; left: Operand; right: Operand; as: ComparedAs; at: number };

export type ConditionCheck = { ok: true; condition: Condition } | { ok: false; errors: string[] };

export type Evaluation = { ok: true; value: boolean } | { ok: false; error: string };

// ─── Tokens ──────────────────────────────────────────────────────────────────

const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'true', 'false']);
const OPERATORS: readonly ComparisonOperator[] = ['==', '!=', '<=', '>=', '<', '>'];
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t' };

/** `text` is the token as written; `at` is its 0-based offset. */
type Token =
  | { kind: 'name' | 'keyword' | 'operator' | '(' | ')' | 'end'; text: string; at: number }
  | { kind: 'number'; text: string; at: number; value: number }
  | { kind: 'string'; text: string; at: number; value: string };

/** A syntax error: it ends the parse, so it travels as an exception inside this module only. */
class SyntaxFailure {
  readonly message: string;
  constructor(at: number, message: string) {
    this.message = `at ${at + 1}: ${message}`;
  }
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NUMBER_LIKE = /[-+.\w]*/y;
const WHITESPACE = /\s*/y;

function sticky(pattern: RegExp, text: string, at: number): string {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0] ?? '';
}

/** Reads the token at or after offset `from`, skipping whitespace. */
function lex(text: string, from: number): Token {
  const at = from + sticky(WHITESPACE, text, from).length;
  const first = text[at];
  if (first === undefined) return { kind: 'end', text: '', at };
  if (first === '(' || first === ')') return { kind: first, text: first, at };
  if (first === "'" || first === '"') return lexString(text, at);
  if (first === '-' || (first >= '0' && first <= '9')) return lexNumber(text, at);
  const name = sticky(NAME, text, at);
  if (name !== '') return { kind: KEYWORDS.has(name) ? 'keyword' : 'name', text: name, at };
  const operator = OPERATORS.find((candidate) => text.startsWith(candidate, at));
  if (operator !== undefined) return { kind: 'operator', text: operator, at };
  if (first === '=') throw new SyntaxFailure(at, '"=" is not an operator; use "==" to compare');
  if (first === '!') throw new SyntaxFailure(at, '"!" is not an operator; use "!=" or "not"');
  throw new SyntaxFailure(at, `unexpected character ${quote(String.fromCodePoint(text.codePointAt(at) ?? 0))}`);
}

function lexNumber(text: string, at: number): Token {
  const number = sticky(NUMBER, text, at);
  const written = sticky(NUMBER_LIKE, text, at);
  if (number === '' || written.length > number.length) {
    throw new SyntaxFailure(at, `malformed number ${quote(written, 32)}`);
  }
  return { kind: 'number', text: number, at, value: Number(number) };
}

function lexString(text: string, at: number): Token {
  const delimiter = text[at];
  let value = '';
  for (let position = at + 1; position < text.length; position += 1) {
    const character = text[position];
    if (character === delimiter) return { kind: 'string', text: text.slice(at, position + 1), at, value };
    if (character !== '\\') {
      value += character;
      continue;
    }
    if (position + 1 === text.length) break;
    const escaped = ESCAPES[text[position + 1] ?? ''];
    if (escaped === undefined) {
      const written = `\\${String.fromCodePoint(text.codePointAt(position + 1) ?? 0)}`;
      throw new SyntaxFailure(position, `unknown escape ${written} in a string; use \\\\, \\', \\", \\n or \\t`);
    }
    value += escaped;
    position += 1;
  }
  throw new SyntaxFailure(at, 'the string starting here is never closed');
}

// ─── Parser and type checker ─────────────────────────────────────────────────

/** An operand as parsed: its AST form, its source text and its 0-based offset. */
interface ParsedOperand {
  operand: Operand;
  text: string;
  at: number;
}

/** Parses and type-checks a condition against the types of the branch's inputs. */
export function compileCondition(text: string, inputs: ReadonlyMap<string, FlyteType>): ConditionCheck {
  if (text.trim() === '') return { ok: false, errors: ['the condition is empty'] };
  if (text.length > MAX_CONDITION_LENGTH) {
    return { ok: false, errors: [`the condition is ${text.length} characters long; the limit is ${MAX_CONDITION_LENGTH}`] };
  }
  try {
    const parser = new Parser(text, inputs);
    const condition = parser.parse();
    return parser.typeErrors.length > 0 ? { ok: false, errors: parser.typeErrors } : { ok: true, condition };
  } catch (error) {
    if (error instanceof SyntaxFailure) return { ok: false, errors: [error.message] };
    throw error;
  }
}

class Parser {
  readonly typeErrors: string[] = [];
  readonly #text: string;
  readonly #inputs: ReadonlyMap<string, FlyteType>;
  #token: Token;
  #depth = 0;

  constructor(text: string, inputs: ReadonlyMap<string, FlyteType>) {
    this.#text = text;
    this.#inputs = inputs;
    this.#token = lex(text, 0);
  }

  parse(): Condition {
    const condition = this.#or();
    if (this.#token.kind !== 'end') throw this.#unexpected('"and", "or" or the end of the text');
    return condition;
  }

  #or(): Condition {
    const of = [this.#and()];
    while (this.#atKeyword('or')) {
      this.#advance();
      of.push(this.#and());
    }
    return of.length === 1 ? of[0]! : { kind: 'or', of };
  }

  #and(): Condition {
    const of = [this.#not()];
    while (this.#atKeyword('and')) {
      this.#advance();
      of.push(this.#not());
    }
    return of.length === 1 ? of[0]! : { kind: 'and', of };
  }

  #not(): Condition {
    if (!this.#atKeyword('not')) return this.#atom();
    const not = this.#advance();
    return this.#nested(not.at, () => ({ kind: 'not', of: this.#not() }));
  }

  #atom(): Condition {
    if (this.#token.kind === '(') {
      const open = this.#advance();
      const inner = this.#nested(open.at, () => this.#or());
      if (!this.#atKind(')')) throw this.#unexpected(`")" to close the "(" at ${open.at + 1}`);
      this.#advance();
      return inner;
    }
    const left = this.#operand();
    if (this.#atKeyword('is')) return this.#nullTest(left);
    if (this.#token.kind !== 'operator') throw this.#notAComparison(left);
    const operator = this.#advance();
    const right = this.#operand();
    if (this.#token.kind === 'operator') {
      throw new SyntaxFailure(this.#token.at, 'comparisons cannot be chained; join them with "and", as in "a < b and b < c"');
    }
    return this.#comparison(left, operator.text as ComparisonOperator, right);
  }

  #operand(): ParsedOperand {
    const token = this.#token;
    const parsed = (operand: Operand): ParsedOperand => {
      this.#advance();
      return { operand, text: token.text, at: token.at };
    };
    if (token.kind === 'name') return parsed({ kind: 'input', name: token.text });
    if (token.kind === 'number' || token.kind === 'string') return parsed({ kind: 'constant', value: token.value });
    if (token.kind === 'keyword' && (token.text === 'true' || token.text === 'false')) {
      return parsed({ kind: 'constant', value: token.text === 'true' });
    }
    if (token.kind === 'keyword' && token.text === 'null') {
      throw new SyntaxFailure(token.at, 'null cannot be compared; use "is null" or "is not null"');
    }
    throw this.#unexpected('an input name or a constant');
  }

  #nullTest(subject: ParsedOperand): Condition {
    this.#advance();
    const negated = this.#atKeyword('not');
    if (negated) this.#advance();
    if (!this.#atKeyword('null')) throw this.#unexpected(negated ? '"null"' : '"null" or "not null"');
    this.#advance();
    this.#checkNullable(subject);
    const name = subject.operand.kind === 'input' ? subject.operand.name : '';
    const isNull: Condition = { kind: 'isNull', input: name };
    return negated ? { kind: 'not', of: isNull } : isNull;
  }

  #comparison(left: ParsedOperand, op: ComparisonOperator, right: ParsedOperand): Condition {
    const as = this.#comparedAs(left, op, right);
    return { kind: 'compare', op, left: left.operand, right: right.operand, as: as ?? 'number', at: left.at + 1 };
  }

  // ── Type rules; each failure is recorded and parsing goes on, so every type error is reported at once.

  #checkNullable(subject: ParsedOperand): void {
    const type = this.#typeOf(subject);
    if (type === undefined) return;
    if (type === 'constant') {
      this.#typeError(subject.at, `${subject.text} is a constant, never null; is null needs an Optional[...] input`);
    } else if (type.kind !== 'optional') {
      this.#typeError(subject.at, `${quote(subject.text)} is ${formatType(type)}, never null; is null needs an Optional[...] input`);
    }
  }

  /** The domain the comparison is made in, or undefined after recording why it cannot be made. */
  #comparedAs(left: ParsedOperand, op: ComparisonOperator, right: ParsedOperand): ComparedAs | undefined {
    const leftType = this.#typeOf(left);
    const rightType = this.#typeOf(right);
    if (leftType === undefined || rightType === undefined) return undefined;
    let as: ComparedAs | undefined;
    if (leftType === 'constant') {
      if (rightType === 'constant') {
        this.#typeError(left.at, `${excerpt(`${left.text} ${op} ${right.text}`)} compares two constants; one side must be an input`);
      } else {
        as = this.#inputAgainstConstant(right, rightType, left);
      }
    } else if (rightType === 'constant') {
      as = this.#inputAgainstConstant(left, leftType, right);
    } else {
      as = this.#inputAgainstInput(left, leftType, right, rightType);
    }
    if (as === 'bool' && op !== '==' && op !== '!=') {
      this.#typeError(left.at, `bools cannot be ordered with "${op}"; use == or !=`);
      return undefined;
    }
    return as;
  }

  #inputAgainstInput(left: ParsedOperand, leftType: FlyteType, right: ParsedOperand, rightType: FlyteType): ComparedAs | undefined {
    const leftAs = this.#comparableAs(left, leftType);
    const rightAs = this.#comparableAs(right, rightType);
    if (leftAs === undefined || rightAs === undefined) return undefined;
    if (leftAs === rightAs) return leftAs;
    this.#typeError(
      left.at,
      `${quote(left.text)} is ${formatType(leftType)} and ${quote(right.text)} is ${formatType(rightType)}, which cannot be compared`,
    );
    return undefined;
  }

  #inputAgainstConstant(input: ParsedOperand, type: FlyteType, constant: ParsedOperand): ComparedAs | undefined {
    const as = this.#comparableAs(input, type);
    if (as === undefined || constant.operand.kind !== 'constant') return undefined;
    const value = constant.operand.value;
    if (constantFits(as, value)) return as;
    this.#typeError(
      input.at,
      `${quote(input.text)} is ${formatType(type)}, which cannot be compared with ${describeConstant(constant.text, value)}${constantHint(as, value)}`,
    );
    return undefined;
  }

  #comparableAs(input: ParsedOperand, type: FlyteType): ComparedAs | undefined {
    const as = comparedAs(unwrapOptional(type));
    if (as === undefined) {
      this.#typeError(
        input.at,
        `${quote(input.text)} is ${formatType(type)}, which cannot be compared; only int, float, str, bool, datetime and duration can`,
      );
    }
    return as;
  }

  /** The declared type of an input, 'constant' for a usable constant, or undefined after recording an error. */
  #typeOf(parsed: ParsedOperand): FlyteType | 'constant' | undefined {
    const { operand } = parsed;
    if (operand.kind === 'constant') {
      if (typeof operand.value !== 'number' || Number.isFinite(operand.value)) return 'constant';
      this.#typeError(parsed.at, `the number ${parsed.text} is out of range`);
      return undefined;
    }
    const type = this.#inputs.get(operand.name);
    if (type === undefined) this.#typeError(parsed.at, `unknown input ${quote(operand.name)} ${this.#inputList()}${keywordHint(operand.name)}`);
    return type;
  }

  #inputList(): string {
    const names = [...this.#inputs.keys()].sort();
    return names.length === 0 ? '(the branch has no inputs)' : `(the branch's inputs are: ${names.join(', ')})`;
  }

  #typeError(at: number, message: string): void {
    this.typeErrors.push(`at ${at + 1}: ${message}`);
  }

  // ── Token handling

  #advance(): Token {
    const token = this.#token;
    if (token.kind !== 'end') this.#token = lex(this.#text, token.at + token.text.length);
    return token;
  }

  /** A method rather than a field read: TypeScript would otherwise keep a narrowing across #advance(). */
  #atKind(kind: Token['kind']): boolean {
    return this.#token.kind === kind;
  }

  #atKeyword(keyword: string): boolean {
    return this.#token.kind === 'keyword' && this.#token.text === keyword;
  }

  #nested<T>(at: number, parse: () => T): T {
    this.#depth += 1;
    if (this.#depth > MAX_CONDITION_NESTING) {
      throw new SyntaxFailure(at, `nesting deeper than ${MAX_CONDITION_NESTING} levels of "(" and "not"`);
    }
    const result = parse();
    this.#depth -= 1;
    return result;
  }

  #unexpected(expected: string, hint = ''): SyntaxFailure {
    const token = this.#token;
    if (hint === '' && token.kind === 'name') hint = keywordHint(token.text);
    return new SyntaxFailure(token.at, `expected ${expected}, got ${describeToken(token)}${hint}`);
  }

  /** An operand not followed by a comparison: `x` or `x and y` is not a condition, `x == true` is. */
  #notAComparison(operand: ParsedOperand): SyntaxFailure {
    const next = this.#token;
    const endsCondition = next.kind === 'end' || next.kind === ')' || (next.kind === 'keyword' && (next.text === 'and' || next.text === 'or'));
    if (!endsCondition) {
      return this.#unexpected(`a comparison operator or "is" after ${quote(operand.text, 40)}`, keywordHint(operand.text));
    }
    return new SyntaxFailure(
      operand.at,
      `${quote(operand.text, 40)} alone is not a condition; compare it, as in ${quote(`${operand.text} == true`, 48)}`,
    );
  }
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the text';
    case 'number':
      return `the number ${excerpt(token.text)}`;
    case 'string':
      return `the string ${excerpt(token.text)}`;
    default:
      return quote(token.text, 40);
  }
}

function keywordHint(name: string): string {
  const lower = name.toLowerCase();
  return lower !== name && KEYWORDS.has(lower) ? `; keywords are lowercase, as in "${lower}"` : '';
}

function excerpt(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describeConstant(text: string, value: number | string | boolean): string {
  if (typeof value === 'boolean') return `the bool ${text}`;
  return typeof value === 'number' ? `the number ${excerpt(text)}` : `the string ${excerpt(text)}`;
}

function constantHint(as: ComparedAs, value: number | string | boolean): string {
  if (typeof value !== 'string') return '';
  if (as === 'datetime') return " (not an RFC 3339 date-time such as '2024-05-01T10:00:00Z')";
  if (as === 'duration') return " (not a duration such as '90s', '1h30m' or '250ms')";
  return '';
}

function unwrapOptional(type: FlyteType): FlyteType {
  let inner = type;
  while (inner.kind === 'optional') inner = inner.of;
  return inner;
}

function comparedAs(type: FlyteType): ComparedAs | undefined {
  switch (type.kind) {
    case 'int':
    case 'float':
      return 'number';
    case 'str':
    case 'bool':
    case 'datetime':
    case 'duration':
      return type.kind;
    default:
      return undefined;
  }
}

function constantFits(as: ComparedAs, value: number | string | boolean): boolean {
  switch (as) {
    case 'number':
      return typeof value === 'number';
    case 'str':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'datetime':
      return typeof value === 'string' && isRfc3339DateTime(value);
    case 'duration':
      return typeof value === 'string' && parseDuration(value) !== undefined;
  }
}

// ─── Evaluation ──────────────────────────────────────────────────────────────

/**
 * Evaluates a compiled condition on the branch's input values (JSON values that passed checkValue
 * for their types; Optional values may be null or missing). `and` and `or` stop at the first
 * operand that decides them, so `x is not null and x < 1` never orders a null.
 * Strings compare by UTF-16 code units, as JavaScript's `<` does (not by code point or locale);
 * datetimes by instant, to the millisecond; durations by length.
 * Recursion is safe: compileCondition bounds the depth of the conditions it produces.
 */
export function evaluateCondition(condition: Condition, values: Readonly<Record<string, unknown>>): Evaluation {
  switch (condition.kind) {
    case 'or':
    case 'and': {
      const decisive = condition.kind === 'or';
      for (const operand of condition.of) {
        const result = evaluateCondition(operand, values);
        if (!result.ok || result.value === decisive) return result;
      }
      return { ok: true, value: !decisive };
    }
    case 'not': {
      const result = evaluateCondition(condition.of, values);
      return result.ok ? { ok: true, value: !result.value } : result;
    }
    case 'isNull':
      return { ok: true, value: inputValue(values, condition.input) == null };
    case 'compare':
      return evaluateComparison(condition, values);
  }
}

type Comparison = Extract<Condition, { kind: 'compare' }>;

function evaluateComparison(comparison: Comparison, values: Readonly<Record<string, unknown>>): Evaluation {
  const { op, left, right, as, at } = comparison;
  const leftValue = operandValue(left, values);
  const rightValue = operandValue(right, values);
  if (leftValue == null || rightValue == null) {
    if (op === '==' || op === '!=') return { ok: true, value: (leftValue == null && rightValue == null) === (op === '==') };
    const nullSide = leftValue == null ? left : right;
    const name = nullSide.kind === 'input' ? nullSide.name : 'x';
    return { ok: false, error: `at ${at}: ${quote(name)} is null, and "${op}" needs a value; test "${name} is not null and ..." first` };
  }
  const leftKey = orderingKey(as, leftValue);
  const rightKey = orderingKey(as, rightValue);
  if (leftKey === undefined) return { ok: false, error: notComparable(at, left, leftValue, as) };
  if (rightKey === undefined) return { ok: false, error: notComparable(at, right, rightValue, as) };
  return { ok: true, value: applyOperator(op, leftKey, rightKey) };
}

function inputValue(values: Readonly<Record<string, unknown>>, name: string): unknown {
  // hasOwn keeps an input named "constructor" from reading Object.prototype.
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

function operandValue(operand: Operand, values: Readonly<Record<string, unknown>>): unknown {
  return operand.kind === 'input' ? inputValue(values, operand.name) : operand.value;
}

function operandName(operand: Operand): string {
  return operand.kind === 'input' ? quote(operand.name) : 'a constant';
}

function notComparable(at: number, operand: Operand, value: unknown, as: ComparedAs): string {
  return `at ${at}: ${operandName(operand)} is ${describeValue(value)}, which cannot be compared as ${as}`;
}

/** A number or string that orders and equals values the way the domain does, or undefined for a value outside it. */
function orderingKey(as: ComparedAs, value: unknown): number | string | undefined {
  switch (as) {
    case 'number':
      return typeof value === 'number' && !Number.isNaN(value) ? value : undefined;
    case 'str':
      return typeof value === 'string' ? value : undefined;
    case 'bool':
      return typeof value === 'boolean' ? Number(value) : undefined;
    case 'datetime':
      return typeof value === 'string' ? instantOf(value) : undefined;
    case 'duration':
      return typeof value === 'string' ? parseDuration(value) : undefined;
  }
}

function applyOperator(op: ComparisonOperator, left: number | string, right: number | string): boolean {
  switch (op) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
  }
}

const DATE_TIME_PARTS = /^(.{10})[Tt ](.{8})(?:\.(\d+))?(.*)$/;

/**
 * Milliseconds since the epoch. Date.parse is only specified for ECMAScript's own format, so the
 * RFC 3339 text is first rewritten to it: "T", upper-case "Z", and exactly three fraction digits
 * (further digits are cut, keeping full millisecond precision).
 */
function instantOf(text: string): number | undefined {
  if (!isRfc3339DateTime(text)) return undefined;
  const [, date = '', time = '', fraction = '', zone = ''] = DATE_TIME_PARTS.exec(text) ?? [];
  const instant = Date.parse(`${date}T${time}.${fraction.padEnd(3, '0').slice(0, 3)}${zone.toUpperCase()}`);
  return Number.isNaN(instant) ? undefined : instant;
}

/** The input names a condition reads, each once, in order of first appearance. */
export function conditionInputs(condition: Condition): string[] {
  const names = new Set<string>();
  const visit = (node: Condition): void => {
    switch (node.kind) {
      case 'or':
      case 'and':
        node.of.forEach(visit);
        return;
      case 'not':
        visit(node.of);
        return;
      case 'isNull':
        names.add(node.input);
        return;
      case 'compare':
        for (const operand of [node.left, node.right]) if (operand.kind === 'input') names.add(operand.name);
    }
  };
  visit(condition);
  return [...names];
}

/** A workflow/task interface type, as declared in Python annotation spelling. */
export type FlyteType =
  | { kind: 'int' }
  | { kind: 'float' }
  | { kind: 'str' }
  | { kind: 'bool' }
  | { kind: 'datetime' }
  | { kind: 'duration' }
  | { kind: 'dict' }
  | { kind: 'list'; of: FlyteType }
  | { kind: 'map'; of: FlyteType }
  | { kind: 'optional'; of: FlyteType };

type WrapperType = Extract<FlyteType, { of: FlyteType }>;

function isWrapper(t: FlyteType): t is WrapperType {
  return t.kind === 'list' || t.kind === 'map' || t.kind === 'optional';
}

const OPENING: Record<WrapperType['kind'], string> = {
  list: 'list[',
  map: 'dict[str, ',
  optional: 'Optional[',
};

/**
 * Canonical spelling: int, list[int], dict[str, float], Optional[list[str]], dict.
 * Every type is a chain of wrappers around one scalar, so a loop suffices and
 * arbitrarily deep programmatic types cannot overflow the stack.
 */
export function formatType(t: FlyteType): string {
  let prefix = '';
  let closing = 0;
  let current = t;
  while (isWrapper(current)) {
    prefix += OPENING[current.kind];
    closing += 1;
    current = current.of;
  }
  return prefix + current.kind + ']'.repeat(closing);
}

export function typesEqual(a: FlyteType, b: FlyteType): boolean {
  let left = a;
  let right = b;
  for (;;) {
    if (left.kind !== right.kind) return false;
    if (!isWrapper(left) || !isWrapper(right)) return true;
    left = left.of;
    right = right.of;
  }
}

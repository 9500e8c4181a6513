import type { FlyteType } from './type.ts';

/**
 * Whether a value of type `from` (an upstream output) may feed an input of type `to`.
 * Widening is allowed (int → float, T → Optional[T], dict[str, T] → dict, element-wise for
 * list and dict[str, T]); narrowing is not (Optional[T] → T, dict → dict[str, T]).
 * datetime and duration are distinct from str in both directions.
 */
export function isAssignable(from: FlyteType, to: FlyteType): boolean {
  // Every type is a chain of wrappers around one leaf, so one loop walks both chains.
  let source = from;
  let target = to;
  for (;;) {
    if (target.kind === 'optional') {
      // Optional is idempotent: strip every layer on both sides, so Optional[Optional[T]] acts as Optional[T].
      while (target.kind === 'optional') target = target.of;
      while (source.kind === 'optional') source = source.of;
      continue;
    }
    switch (source.kind) {
      case 'optional':
        return false;
      case 'int':
        return target.kind === 'int' || target.kind === 'float';
      case 'map':
        if (target.kind === 'dict') return true;
        if (target.kind !== 'map') return false;
        break;
      case 'list':
        if (target.kind !== 'list') return false;
        break;
      default:
        return source.kind === target.kind;
    }
    source = source.of;
    target = target.of;
  }
}

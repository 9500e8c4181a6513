/**
 * Whether a JSON-ish value nests arrays and objects deeper than `max` levels. Iterative, so it is safe on
 * input that would overflow the stack of a recursive checker (the API server accepts JSON 10,000 deep).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

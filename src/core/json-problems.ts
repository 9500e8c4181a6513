export type JsonProblem = { kind: 'tooDeep' } | { kind: 'protoKey'; path: string };

/**
 * The first structural problem of a JSON-ish value that the schema check cannot see: nesting deeper than
 * `max` levels (the API server accepts JSON 10,000 deep, which would overflow a recursive checker), or a
 * key named "__proto__" (JavaScript object building silently drops it). Iterative, so safe on any input.
 */
export function findJsonProblem(value: unknown, max: number): JsonProblem | undefined {
  const stack: [unknown, number, string][] = [[value, 0, '']];
  while (stack.length) {
    const [current, depth, path] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return { kind: 'tooDeep' };
    for (const [key, child] of Object.entries(current)) {
      const at = Array.isArray(current) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (key === '__proto__') return { kind: 'protoKey', path: at };
      stack.push([child, depth + 1, at]);
    }
  }
  return undefined;
}

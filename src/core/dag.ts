/** Dependencies of each node: the nodes that must succeed before it may start. All names are known nodes. */
export type Dependencies = ReadonlyMap<string, readonly string[]>;

export type TopoResult = { ok: true; order: string[] } | { ok: false; cycle: string[] };

/**
 * Kahn's algorithm, iterative so a 10,000-node chain cannot overflow the stack. Ties are broken by
 * declaration order, so the order (and so which ready node starts first) is deterministic.
 */
export function topologicalOrder(deps: Dependencies): TopoResult {
  const names = [...deps.keys()];
  const position = new Map(names.map((n, i) => [n, i]));
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [node, upstream] of deps) {
    remaining.set(node, new Set(upstream).size);
    for (const up of new Set(upstream)) {
      const list = dependents.get(up);
      if (list) list.push(node);
      else dependents.set(up, [node]);
    }
  }
  const ready = new MinHeap();
  for (const n of names) if (remaining.get(n) === 0) ready.push(position.get(n)!);
  const order: string[] = [];
  while (ready.size) {
    const node = names[ready.pop()]!;
    order.push(node);
    for (const down of dependents.get(node) ?? []) {
      const left = remaining.get(down)! - 1;
      remaining.set(down, left);
      if (left === 0) ready.push(position.get(down)!);
    }
  }
  if (order.length === names.length) return { ok: true, order };
  return { ok: false, cycle: findCycle(deps, new Set(names.filter((n) => remaining.get(n)! > 0))) };
}

/** Declaration positions of ready nodes, smallest first. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= value) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = value;
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1]! < a[l]! ? l + 1 : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** Walks dependencies among the unsorted nodes until one repeats; returns the cycle in dependency order. */
function findCycle(deps: Dependencies, stuck: Set<string>): string[] {
  const start = [...stuck][0]!;
  const seenAt = new Map<string, number>();
  const path: string[] = [];
  let node = start;
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    // Every stuck node has at least one stuck dependency, otherwise it would have been sorted.
    node = deps.get(node)!.find((d) => stuck.has(d))!;
  }
  // The path follows "depends on" edges; reversed, it reads in execution order (a → b: b needs a).
  const cycle = path.slice(seenAt.get(node)!).reverse();
  // Start at the node declared first, so the message does not depend on where the walk began.
  const positions = new Map([...deps.keys()].map((n, i) => [n, i]));
  let first = 0;
  for (let i = 1; i < cycle.length; i++) if (positions.get(cycle[i]!)! < positions.get(cycle[first]!)!) first = i;
  const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
  return [...rotated, rotated[0]!];
}

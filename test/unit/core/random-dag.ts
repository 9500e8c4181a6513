/** Random DAG workflows of the sum task for property tests, with the dependencies computed independently of the code under test. */
import fc from 'fast-check';
import { sumSpec } from './specs.ts';

export interface RandomNode {
  id: string;
  /** Nodes whose output it reads. */
  from: string[];
  /** Nodes it must wait for without reading them. */
  after: string[];
  retries: number;
}

export interface RandomDag {
  nodes: RandomNode[];
  maxParallelism: number;
  failurePolicy: 'FailImmediately' | 'FailAfterExecutableNodesComplete';
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Up to `maxNodes` nodes; edges only go from earlier to later nodes, declared in a shuffled order. */
export function randomDag(maxNodes = 30): fc.Arbitrary<RandomDag> {
  return fc.integer({ min: 1, max: maxNodes }).chain((n) =>
    fc.record({
      edges: fc.tuple(...range(n).map((i) => fc.record({ from: fc.subarray(range(i), { maxLength: Math.min(4, i) }), after: fc.subarray(range(i), { maxLength: Math.min(2, i) }), retries: fc.nat(2) }))),
      order: fc.shuffledSubarray(range(n), { minLength: n, maxLength: n }),
      maxParallelism: fc.nat(4),
      failurePolicy: fc.constantFrom('FailImmediately' as const, 'FailAfterExecutableNodesComplete' as const),
    }).map(({ edges, order, maxParallelism, failurePolicy }) => ({
      nodes: order.map((i) => ({ id: `n${i}`, from: edges[i]!.from.map((j) => `n${j}`), after: edges[i]!.after.map((j) => `n${j}`), retries: edges[i]!.retries })),
      maxParallelism,
      failurePolicy,
    })),
  );
}

export function specOf(dag: RandomDag): Record<string, unknown> {
  const spec = sumSpec(Object.fromEntries(dag.nodes.map((n) => [n.id, n.from])), { maxParallelism: dag.maxParallelism, failurePolicy: dag.failurePolicy });
  const nodes = spec.nodes as Record<string, Record<string, unknown>>;
  for (const n of dag.nodes) {
    if (n.after.length) nodes[n.id]!.after = n.after;
    nodes[n.id]!.retries = n.retries;
  }
  return spec;
}

export function dependenciesOf(dag: RandomDag): Map<string, Set<string>> {
  return new Map(dag.nodes.map((n) => [n.id, new Set([...n.from, ...n.after])]));
}

/** The output each node computes when everything succeeds: 1 + the sum of what it reads. */
export function expectedOutputs(dag: RandomDag): Map<string, number> {
  const byId = new Map(dag.nodes.map((n) => [n.id, n]));
  const memo = new Map<string, number>();
  // Node i only reads nodes j < i, so ascending index order is a valid evaluation order.
  const ids = [...byId.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  for (const id of ids) memo.set(id, byId.get(id)!.from.reduce((s, u) => s + memo.get(u)!, 0) + 1);
  return memo;
}

export type Outcome = 'succeed' | 'run' | 'fail' | 'oom' | 'evict' | 'delete' | 'badOutputs' | 'imagePull';

export const outcomes = fc.array(fc.constantFrom<Outcome>('succeed', 'succeed', 'succeed', 'run', 'fail', 'oom', 'evict', 'delete', 'badOutputs', 'imagePull'), { minLength: 1, maxLength: 40 });

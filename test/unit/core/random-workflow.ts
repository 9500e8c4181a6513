/**
 * Random workflows that mix every kind of node (tasks, cached tasks, subworkflows, branches, gates) for
 * property tests. Dependencies are recorded here, independently of the compiler, so the checks do not
 * trust the code under test.
 */
import fc from 'fast-check';
import { SUM_TASK } from './specs.ts';

export type Kind = 'task' | 'cached' | 'sub' | 'nested' | 'branch' | 'sleep' | 'approve' | 'signal';

export interface MixedNode {
  id: string;
  kind: Kind;
  /** Nodes whose output `o` it reads. */
  from: string[];
  after: string[];
  retries: number;
  /** For branches: the threshold of `v < threshold`. */
  threshold: number;
}

export interface MixedWorkflow {
  nodes: MixedNode[];
  maxParallelism: number;
  failurePolicy: 'FailImmediately' | 'FailAfterExecutableNodesComplete';
  withHandler: boolean;
  serialize: boolean;
}

const KINDS: Kind[] = ['task', 'task', 'task', 'cached', 'sub', 'nested', 'branch', 'sleep', 'approve', 'signal'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Whether a node has an output `o` others can read. */
const readable = (kind: Kind) => kind !== 'sleep' && kind !== 'signal';

export function randomWorkflow(maxNodes = 12): fc.Arbitrary<MixedWorkflow> {
  return fc.integer({ min: 1, max: maxNodes }).chain((n) =>
    fc
      .record({
        kinds: fc.tuple(...range(n).map(() => fc.constantFrom(...KINDS))),
        edges: fc.tuple(...range(n).map((i) => fc.record({ from: fc.subarray(range(i), { maxLength: Math.min(3, i) }), after: fc.subarray(range(i), { maxLength: Math.min(2, i) }), retries: fc.nat(2), threshold: fc.integer({ min: 0, max: 12 }) }))),
        maxParallelism: fc.nat(3),
        failurePolicy: fc.constantFrom('FailImmediately' as const, 'FailAfterExecutableNodesComplete' as const),
        withHandler: fc.boolean(),
        serialize: fc.boolean(),
      })
      .map(({ kinds, edges, ...rest }) => ({
        ...rest,
        nodes: range(n).map((i) => {
          const kind = kinds[i]!;
          const from = edges[i]!.from.filter((j) => readable(kinds[j]!));
          const after = edges[i]!.after.filter((j) => !from.includes(j));
          // An approve gate passes its first input through; a signal or sleep gate reads nothing.
          const reads = kind === 'sleep' || kind === 'signal' ? [] : kind === 'approve' || kind === 'branch' ? from.slice(0, 1) : from;
          return { id: `n${i}`, kind, from: reads.map((j) => `n${j}`), after: [...after, ...from.filter((j) => !reads.includes(j))].map((j) => `n${j}`), retries: kind === 'task' || kind === 'cached' ? edges[i]!.retries : 0, threshold: edges[i]!.threshold };
        }),
      })),
  );
}

const listOf = (from: string[]) => ({ list: from.map((u) => ({ from: `${u}.o` })) });

export function specOfMixed(wf: MixedWorkflow): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  const signals: Record<string, unknown> = {};
  for (const n of wf.nodes) {
    const common = { ...(n.after.length ? { after: n.after } : {}) };
    const xs = listOf(n.from);
    const first = n.from[0] ? { from: `${n.from[0]}.o` } : { from: 'inputs.seed' };
    switch (n.kind) {
      case 'task':
        nodes[n.id] = { task: 'sum', inputs: { xs }, retries: n.retries, ...common };
        break;
      case 'cached':
        nodes[n.id] = { task: 'csum', inputs: { xs }, retries: n.retries, ...common };
        break;
      case 'sub':
        nodes[n.id] = { subworkflow: 'pair', inputs: { xs }, ...common };
        break;
      case 'nested':
        nodes[n.id] = { subworkflow: 'outer', inputs: { xs }, ...common };
        break;
      case 'branch':
        nodes[n.id] = {
          inputs: { v: first },
          branch: {
            cases: [
              { when: `v < ${n.threshold}`, then: { task: 'sum', inputs: { xs } } },
              { when: `v < ${n.threshold * 2}`, then: { subworkflow: 'pair', inputs: { xs } } },
            ],
            else: { inputs: { w: first }, branch: { cases: [{ when: 'w >= 0', then: { task: 'csum', inputs: { xs } } }], fail: 'negative' } },
          },
          ...common,
        };
        break;
      case 'sleep':
        nodes[n.id] = { gate: { sleep: '3s' }, ...common };
        break;
      case 'approve':
        nodes[n.id] = { gate: { approve: {} }, inputs: { o: first }, ...common };
        signals[n.id] = { approved: true };
        break;
      case 'signal':
        nodes[n.id] = { gate: { signal: { type: 'int' } }, ...common };
        signals[n.id] = { value: 2 };
        break;
    }
  }
  return {
    interface: { inputs: { seed: 'int' } },
    inputs: { seed: 1 },
    maxParallelism: wf.maxParallelism,
    failurePolicy: wf.failurePolicy,
    tasks: { sum: SUM_TASK, csum: { ...SUM_TASK, cache: { version: '1', serialize: wf.serialize } } },
    subworkflows: {
      pair: {
        interface: { inputs: { xs: 'list[int]' }, outputs: { o: 'int' } },
        nodes: { a: { task: 'sum', inputs: { xs: { from: 'inputs.xs' } } }, b: { task: 'csum', inputs: { xs: { list: [{ from: 'a.o' }] } } } },
        outputs: { o: { from: 'b.o' } },
        ...(wf.withHandler ? { onFailure: { task: 'sum', inputs: { xs: { value: [1] } } } } : {}),
      },
      outer: {
        interface: { inputs: { xs: 'list[int]' }, outputs: { o: 'int' } },
        nodes: { inner: { subworkflow: 'pair', inputs: { xs: { from: 'inputs.xs' } } }, last: { task: 'sum', inputs: { xs: { list: [{ from: 'inner.o' }] } } } },
        outputs: { o: { from: 'last.o' } },
      },
    },
    nodes,
    signals,
    ...(wf.withHandler ? { onFailure: { task: 'sum', inputs: { xs: { value: [0] } } } } : {}),
  };
}

/** What each node waits for, by path: its own upstream in its scope. Branch arms and subworkflow children wait for their container. */
export function dependenciesOfMixed(wf: MixedWorkflow): Map<string, Set<string>> {
  return new Map(wf.nodes.map((n) => [n.id, new Set([...n.from, ...n.after])]));
}

/** The upstream of a node inside a subworkflow template, by its local id. */
export const SUB_DEPENDENCIES: Record<string, Record<string, string[]>> = {
  pair: { a: [], b: ['a'] },
  outer: { inner: [], last: ['inner'] },
};

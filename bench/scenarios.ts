/** A DAG to run: node ids with their dependencies, in topological order. */
export interface Dag {
  nodes: { id: string; deps: string[] }[];
}

export interface Scenario {
  name: string;
  description: string;
  /** Workflows submitted at once, all with the same DAG. */
  workflows: number;
  dag: Dag;
  /** How long each KWOK pod runs. */
  podDurationMs: number;
}

export function fanout(width: number): Dag {
  return { nodes: Array.from({ length: width }, (_, i) => ({ id: `n${i}`, deps: [] })) };
}

export function chain(length: number): Dag {
  return { nodes: Array.from({ length }, (_, i) => ({ id: `n${i}`, deps: i === 0 ? [] : [`n${i - 1}`] })) };
}

/** One root, `width` middle nodes, one sink: 10 nodes for width 8. */
export function diamond(width: number): Dag {
  return {
    nodes: [
      { id: 'root', deps: [] },
      ...Array.from({ length: width }, (_, i) => ({ id: `m${i}`, deps: ['root'] })),
      { id: 'sink', deps: Array.from({ length: width }, (_, i) => `m${i}`) },
    ],
  };
}

/** `layers` layers of `width` nodes; each node depends on two nodes of the layer before. */
export function layered(layers: number, width: number): Dag {
  const nodes: Dag['nodes'] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const deps = l === 0 ? [] : [...new Set([`l${l - 1}n${i}`, `l${l - 1}n${(i + 1) % width}`])];
      nodes.push({ id: `l${l}n${i}`, deps });
    }
  }
  return { nodes };
}

export function depth(dag: Dag): number {
  const level = new Map<string, number>();
  for (const n of dag.nodes) level.set(n.id, 1 + Math.max(0, ...n.deps.map((d) => level.get(d)!)));
  return Math.max(...level.values());
}

export function scenarios(scale: 'full' | 'smoke'): Scenario[] {
  const full = scale === 'full';
  return [
    { name: 'fanout', description: 'one workflow of independent tasks, parallelism unlimited', workflows: 1, dag: fanout(full ? 1000 : 20), podDurationMs: 1000 },
    { name: 'chain', description: 'one workflow of sequential tasks, each passing an output to the next', workflows: 1, dag: chain(full ? 100 : 5), podDurationMs: 1000 },
    { name: 'burst', description: 'workflows of a 10-node diamond submitted at once', workflows: full ? 500 : 5, dag: diamond(8), podDurationMs: 1000 },
    { name: 'big', description: 'one workflow of 5,000 nodes in layers', workflows: 1, dag: full ? layered(50, 100) : layered(3, 10), podDurationMs: 1000 },
  ];
}

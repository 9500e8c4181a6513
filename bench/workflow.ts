import type { FlyteWorkflow } from '../src/api/flyteworkflow.ts';
import { KWOK_ENV, KWOK_NODE_LABEL, KWOK_NODE_VALUE } from '../tools/controlplane/kwok.ts';
import type { Dag } from './scenarios.ts';

export const BENCH_SEED = 7;

/**
 * The DAG as a FlyteWorkflow of KWOK tasks. Roots output the seed; every other node receives its
 * dependencies' outputs as a list[int] and echoes it as `seen` (the propeller renders it into the KWOK
 * termination message and type-checks it on the way back), so data really crosses every edge: the
 * workflow's result is the last node's `seen`, one seed per dependency.
 */
export function dagWorkflow(name: string, dag: Dag, podDurationMs: number): FlyteWorkflow {
  const env = (message: string) => [
    { name: KWOK_ENV.duration, value: `${podDurationMs}ms` },
    { name: KWOK_ENV.message, value: message },
  ];
  const nodes: Record<string, unknown> = {};
  for (const n of dag.nodes) {
    nodes[n.id] = n.deps.length
      ? { task: 'step', inputs: { xs: { list: n.deps.map((d) => ({ from: `${d}.o0` })) } } }
      : { task: 'source', inputs: { x: { value: BENCH_SEED } } };
  }
  const last = dag.nodes[dag.nodes.length - 1]!;
  return {
    apiVersion: 'flyte.propeller.dev/v1alpha1',
    kind: 'FlyteWorkflow',
    metadata: { name } as FlyteWorkflow['metadata'],
    spec: {
      interface: { outputs: { result: last.deps.length ? 'list[int]' : 'int' } },
      tasks: {
        source: { interface: { inputs: { x: 'int' }, outputs: { o0: 'int' } }, container: { image: 'kwok', env: env('{"o0": {{.inputs.x}}}') } },
        step: { interface: { inputs: { xs: 'list[int]' }, outputs: { o0: 'int', seen: 'list[int]' } }, container: { image: 'kwok', env: env(`{"o0": ${BENCH_SEED}, "seen": {{.inputs.xs}}}`) } },
      },
      nodes,
      outputs: { result: { from: last.deps.length ? `${last.id}.seen` : `${last.id}.o0` } },
      maxParallelism: 0,
      pod: { nodeSelector: { [KWOK_NODE_LABEL]: KWOK_NODE_VALUE }, tolerations: [{ key: KWOK_NODE_LABEL, operator: 'Exists' }] },
    },
  };
}

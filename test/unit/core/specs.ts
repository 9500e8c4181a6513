/** Workflow specs shared by the core tests: Flyte's regression example and small DAG shapes. */

export interface TaskOptions {
  inputs?: Record<string, string>;
  outputs?: Record<string, string>;
  command?: string[];
  retries?: number;
  timeout?: string;
}

export function task(options: TaskOptions = {}): Record<string, unknown> {
  const { inputs, outputs, command, ...rest } = options;
  return { container: { image: 'python:3.12', ...(command ? { command } : {}) }, interface: { inputs: inputs ?? {}, outputs: outputs ?? {} }, ...rest };
}

/** Flyte's slope/intercept example: two nodes, the second reads the first's output. */
export function regressionSpec(): Record<string, unknown> {
  return {
    interface: { inputs: { x: 'list[int]', y: 'list[int]' }, outputs: { intercept: 'float', slope: 'float' } },
    inputs: { x: [-3, 0, 3], y: [7, 4, -2] },
    tasks: {
      slope: task({ inputs: { x: 'list[int]', y: 'list[int]' }, outputs: { o0: 'float' }, command: ['python', '-m', 'tasks.slope'] }),
      intercept: task({ inputs: { x: 'list[int]', y: 'list[int]', slope: 'float' }, outputs: { o0: 'float' }, command: ['python', '-m', 'tasks.intercept'] }),
    },
    nodes: {
      slope_val: { task: 'slope', inputs: { x: { from: 'inputs.x' }, y: { from: 'inputs.y' } } },
      intercept_val: { task: 'intercept', inputs: { x: { from: 'inputs.x' }, y: { from: 'inputs.y' }, slope: { from: 'slope_val.o0' } } },
    },
    outputs: { intercept: { from: 'intercept_val.o0' }, slope: { from: 'slope_val.o0' } },
  };
}

/** A task that adds 1 to the sum of its inputs: lets a simulated run compute real values along any DAG. */
export const SUM_TASK = task({ inputs: { xs: 'list[int]' }, outputs: { o: 'int' } });

/** What the sum task computes: the simulator's default task functions. */
export const SUM_TASKS = { sum: ({ xs }: Record<string, unknown>) => ({ o: (xs as number[]).reduce((a, b) => a + b, 0) + 1 }) };

/** Nodes of the sum task, each reading the outputs of the named upstream nodes. */
export function sumSpec(upstream: Record<string, string[]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const nodes = Object.fromEntries(
    Object.entries(upstream).map(([id, ups]) => [id, { task: 'sum', inputs: { xs: { list: ups.map((u) => ({ from: `${u}.o` })) } } }]),
  );
  return { tasks: { sum: SUM_TASK }, nodes, ...extra };
}

/** a → (b, c) → d */
export const DIAMOND = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] };

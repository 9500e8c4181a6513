// Flyte's "Workflows" page, in TypeScript: the same tasks and workflows, the same results.
//   npx propeller run examples/workflow.ts simple_wf --x '[-3,0,3]' --y '[7,4,-2]'           (locally)
//   npx propeller run --remote examples/workflow.ts simple_wf --x '[-3,0,3]' --y '[7,4,-2]'  (on the cluster)
import { partial, t, task, workflow } from '@propeller/sdk';

export const slope = task({ inputs: { x: t.list(t.int), y: t.list(t.int) }, output: t.float }, ({ x, y }) => {
  const n = x.length;
  const sumXY = x.reduce((s, xi, i) => s + xi * y[i]!, 0);
  const sumX = x.reduce((s, xi) => s + xi, 0);
  const sumY = y.reduce((s, yi) => s + yi, 0);
  const sumX2 = x.reduce((s, xi) => s + xi ** 2, 0);
  return (n * sumXY - sumX * sumY) / (n * sumX2 - sumX ** 2);
});

export const intercept = task({ inputs: { x: t.list(t.int), y: t.list(t.int), slope: t.float }, output: t.float }, ({ x, y, slope }) => {
  const meanX = x.reduce((s, xi) => s + xi, 0) / x.length;
  const meanY = y.reduce((s, yi) => s + yi, 0) / y.length;
  return meanY - slope * meanX;
});

export const simple_wf = workflow({ inputs: { x: t.list(t.int), y: t.list(t.int) }, output: t.float }, ({ x, y }) => {
  const slopeVal = slope({ x, y });
  const interceptVal = intercept({ x, y, slope: slopeVal });
  return interceptVal;
});

// Workflow inputs and outputs are typed; the types flow through the DAG.
export const preprocess = task({ inputs: { raw: t.str }, output: t.list(t.float) }, ({ raw }) => raw.split(',').map(Number));

export const compute_sum = task({ inputs: { values: t.list(t.float) }, output: t.float }, ({ values }) => values.reduce((s, v) => s + v, 0));

export const data_pipeline = workflow({ inputs: { raw_data: t.str }, output: t.float }, ({ raw_data }) => {
  const values = preprocess({ raw: raw_data });
  return compute_sum({ values });
});

// Flyte's functools.partial: a task with some inputs fixed (a constant in the call does the same).
export const simple_wf_with_partial = workflow({ inputs: { x: t.list(t.int) }, output: t.float }, ({ x }) => {
  const partialTask = partial(slope, { y: [7, 4, -2] });
  return partialTask({ x });
});

// A documented workflow: the description's first line is the short description (kubectl get, propeller list).
export const documented_wf = workflow(
  {
    description: [
      'Slope and intercept of a regression line.',
      '',
      'This workflow computes the slope and intercept of a regression line using the provided x and y data points.',
      '',
      'x: list of x-values. y: list of y-values. Returns the intercept of the regression line.',
    ].join('\n'),
    inputs: { x: t.list(t.int), y: t.list(t.int) },
    defaults: { x: [-3, 0, 3], y: [7, 4, -2] },
    output: t.float,
  },
  ({ x, y }) => intercept({ x, y, slope: slope({ x, y }) }),
);

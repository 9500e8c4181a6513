// Flyte's concepts page, in TypeScript: tasks, a workflow, and a launch plan with default inputs and a
// nightly schedule.
//   npx propeller run examples/standard-scale.ts standard_scale_workflow --values '[1.0,2.0,3.0,4.0,5.0]'
//   npx propeller register examples/standard-scale.ts      (definitions and the nightly launch plan)
import { launchPlan, t, task, workflow } from '@propeller/sdk';

export const mean = task({ inputs: { values: t.list(t.float) }, output: t.float }, ({ values }) => values.reduce((s, v) => s + v, 0) / values.length);

export const standard_deviation = task({ inputs: { values: t.list(t.float), mu: t.float }, output: t.float }, ({ values, mu }) => {
  const variance = values.reduce((s, x) => s + (x - mu) ** 2, 0);
  return Math.sqrt(variance);
});

export const standard_scale = task({ inputs: { values: t.list(t.float), mu: t.float, sigma: t.float }, output: t.list(t.float) }, ({ values, mu, sigma }) =>
  values.map((x) => (x - mu) / sigma),
);

export const standard_scale_workflow = workflow({ inputs: { values: t.list(t.float) }, output: t.list(t.float) }, ({ values }) => {
  const mu = mean({ values });
  const sigma = standard_deviation({ values, mu });
  return standard_scale({ values, mu, sigma });
});

export const nightly_lp = launchPlan({
  name: 'nightly_scale_lp',
  workflow: standard_scale_workflow,
  defaultInputs: { values: [1.0, 2.0, 3.0, 4.0, 5.0] },
  schedule: { cron: '0 0 * * *' },
});

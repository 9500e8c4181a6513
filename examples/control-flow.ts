// Flyte's control flow in TypeScript: a cached task, a conditional, a subworkflow run twice, a sleep,
// explicit ordering and an approval gate.
//   npx propeller run examples/control-flow.ts pipeline --n 5 --approve review
//   npm run demo -- examples/control-flow.ts --approve review
import { approve, chain, conditional, sleep, t, task, workflow } from '@propeller/sdk';

/** Cached: a second run with the same n takes the stored outputs instead of running a pod. */
export const count_rows = task({ inputs: { n: t.int }, outputs: { rows: t.int }, cache: { version: '1' } }, ({ n }) => ({ rows: n * 10 }));

export const small_plan = task({ inputs: { rows: t.int }, output: t.str }, ({ rows }) => `one worker for ${rows} rows`);
export const large_plan = task({ inputs: { rows: t.int }, output: t.str }, ({ rows }) => `${Math.ceil(rows / 100)} workers for ${rows} rows`);

export const fit = task({ inputs: { rows: t.int }, outputs: { score: t.float } }, ({ rows }) => ({ score: 1 - 1 / Math.sqrt(rows) }));
export const pick = task({ inputs: { a: t.float, b: t.float }, output: t.float, retries: 2, timeout: '1m' }, ({ a, b }) => Math.max(a, b));

/** A subworkflow: its nodes run under the path of the node that calls it (train_small/fit). */
export const train = workflow({ inputs: { rows: t.int }, outputs: { score: t.float } }, ({ rows }) => fit({ rows }));

export const pipeline = workflow(
  {
    description: 'Plans workers by size, trains twice and keeps the better score once a person approves it.',
    inputs: { n: t.int },
    defaults: { n: 5 },
    outputs: { plan: t.str, score: t.float },
  },
  ({ n }) => {
    const { rows } = count_rows({ n });
    const plan = conditional('size')
      .if(rows.lt(100), () => small_plan({ rows }))
      .else(() => large_plan({ rows }));
    const first = train({ rows }, { name: 'train_small' });
    const second = train({ rows: 10_000 }, { name: 'train_large' });
    const best = pick({ a: first.score, b: second.score });
    const settle = sleep('1s');
    const score = approve(best, { name: 'review', description: 'check the better score before it is published' });
    chain(settle, score);
    return { plan, score };
  },
);

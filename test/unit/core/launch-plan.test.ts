// checkLaunchPlan: whether a launch plan can launch, with the exact messages its status shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DefinitionSpec } from '../../../src/api/definition.ts';
import type { LaunchPlanSpec } from '../../../src/api/launch-plan.ts';
import { checkLaunchPlan } from '../../../src/core/launch-plan.ts';
import type { CompileLimits } from '../../../src/core/compiled.ts';
import { task } from './specs.ts';

const LIMITS: CompileLimits = { maxNodes: 100, maxDepth: 10 };

/** A workflow with required inputs of several types, an Optional datetime and an Optional str. */
const DEFINITION: DefinitionSpec = {
  name: 'scale',
  version: '1',
  workflow: {
    interface: { inputs: { values: 'list[float]', at: 'datetime', n: 'int', maybe: 'Optional[datetime]', note: 'Optional[str]' }, outputs: { mu: 'float' } },
    tasks: { mean: task({ inputs: { values: 'list[float]' }, outputs: { o0: 'float' } }) },
    nodes: { mu: { task: 'mean', inputs: { values: { from: 'inputs.values' } } } },
    outputs: { mu: { from: 'mu.o0' } },
  } as unknown as DefinitionSpec['workflow'],
};

/** Values for every required input, so that only the field under test is wrong. */
const BOUND = { values: [1, 2], at: '2024-01-01T00:00:00Z', n: 1 };

function lp(fields: Partial<LaunchPlanSpec> = {}): LaunchPlanSpec {
  return { workflow: { name: 'scale', version: '1' }, ...fields };
}

function check(fields: Partial<LaunchPlanSpec>, def: DefinitionSpec | undefined = DEFINITION): string[] {
  const result = checkLaunchPlan(lp(fields), def, LIMITS);
  return result.valid ? [] : result.errors;
}

test('a launch plan of an existing, valid definition with well-typed inputs is valid', () => {
  assert.deepEqual(checkLaunchPlan(lp(), DEFINITION, LIMITS), { valid: true });
  // Without a schedule, required inputs may stay unbound: each execution gives them.
  assert.deepEqual(check({ defaultInputs: { values: [1] } }), []);
  assert.deepEqual(check({ defaultInputs: { values: [1.5], note: null }, fixedInputs: { n: 3, maybe: '2024-06-01T00:00:00+02:00' } }), []);
});

test('a missing definition is named, with its object name', () => {
  assert.deepEqual(checkLaunchPlan(lp({ defaultInputs: { values: [1] } }), undefined, LIMITS).valid, false);
  assert.deepEqual(checkLaunchPlan(lp(), undefined, LIMITS), { valid: false, errors: ['workflow: workflow definition "scale" version "1" ("scale.1") not found in this namespace'] });
});

test('an invalid definition is reported as the definition\'s error', () => {
  const broken: DefinitionSpec = { ...DEFINITION, workflow: { ...DEFINITION.workflow, nodes: { mu: { task: 'nope' } } } as unknown as DefinitionSpec['workflow'] };
  assert.deepEqual(check({}, broken), ['workflow definition "scale.1": node "mu": task: unknown task "nope"']);
  // An unknown default input is still reported as the launch plan's own mistake, first.
  assert.deepEqual(check({ defaultInputs: { x: 1 } }, broken), ['defaultInputs: unknown input "x" (not in interface.inputs)', 'workflow definition "scale.1": node "mu": task: unknown task "nope"']);
});

test('default and fixed values are type-checked against the workflow interface, each named by its field', () => {
  assert.deepEqual(check({ defaultInputs: { values: 'x', n: 1.5 }, fixedInputs: { at: 'yesterday' } }), [
    'defaultInputs.values: type mismatch: expected list[float], got str "x"',
    'fixedInputs.at: type mismatch: expected datetime, got str "yesterday", not a valid RFC 3339 date-time with a time zone, such as "2024-05-01T10:00:00Z"',
    'defaultInputs.n: type mismatch: expected int, got float 1.5',
  ]);
});

test('default and fixed inputs must be inputs of the workflow', () => {
  assert.deepEqual(check({ defaultInputs: { limit: 3 }, fixedInputs: { size: 1 } }), [
    'defaultInputs: unknown input "limit" (not in interface.inputs)',
    'fixedInputs: unknown input "size" (not in interface.inputs)',
  ]);
});

test('an input is either a default or fixed, not both', () => {
  assert.deepEqual(check({ defaultInputs: { n: 1, values: [1] }, fixedInputs: { n: 2, at: BOUND.at } }), ['fixedInputs.n: also in defaultInputs; an input is either a default or fixed']);
});

test('a cron schedule, its time zone and its starting deadline must parse', () => {
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: '0 25 * * *', timeZone: 'europe/berlin', startingDeadline: 'soon' } }), [
    'schedule.cron: hour: 25 is out of range 0-23',
    'schedule.timeZone: "europe/berlin" is not a known IANA time zone (names are case-sensitive: did you mean "Europe/Berlin"?)',
    'schedule.startingDeadline: "soon" is not a duration such as 90s or 1h',
  ]);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: '0 0 2 * * *', timeZone: 'Mars/Base' } }), [
    'schedule.cron: expected 5 fields (minute hour day-of-month month day-of-week), found 6: a seconds field is not supported',
    'schedule.timeZone: "Mars/Base" is not a known IANA time zone',
  ]);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: '@reboot' } }), ['schedule.cron: @reboot is not supported: a schedule needs times to fire at']);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: 'CRON_TZ=Nowhere/Land 0 9 * * *' } }), ['schedule.cron: time zone: "Nowhere/Land" is not a known IANA time zone']);
  // What robfig accepts is accepted: names, steps, descriptors, a zone prefix, @every; a deadline of 0.
  for (const cron of ['*/15 9-17 * * mon-fri', '0 0 1 jan,jul *', '@daily', '@every 1h30m', 'CRON_TZ=Asia/Tokyo 0 9 * * *']) {
    assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron, startingDeadline: '0s' } }), [], cron);
  }
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: '0 4 * * *', timeZone: 'Europe/Berlin', startingDeadline: '2h' } }), []);
});

test('a fixed rate must be a whole number of seconds, at least 1s', () => {
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: '500ms' } }), ['schedule.fixedRate: rate: "500ms" is shorter than the minimum of 1s']);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: '1.5s' } }), ['schedule.fixedRate: rate: "1.5s" is not a whole number of seconds']);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: '0s' } }), ['schedule.fixedRate: rate: "0s" is zero; a rate must be at least 1s']);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: 'ten minutes' } }), ['schedule.fixedRate: rate: "ten minutes" is not a duration: expected a number at "ten minutes"']);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: '10m' } }), []);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: '1.5h' } }), []);
});

test('the kickoff-time input is a datetime input of the workflow (or Optional[datetime]) with no value of its own', () => {
  const { at: _at, ...rest } = BOUND;
  assert.deepEqual(check({ defaultInputs: rest, schedule: { cron: '@daily', kickoffTimeInput: 'at' } }), []);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { fixedRate: '1h', kickoffTimeInput: 'maybe' } }), []);
  assert.deepEqual(check({ defaultInputs: { values: [1], at: BOUND.at }, schedule: { cron: '@daily', kickoffTimeInput: 'n' } }), ['schedule.kickoffTimeInput: "n" is int, not datetime']);
  assert.deepEqual(check({ defaultInputs: { values: [1] }, fixedInputs: { at: BOUND.at, n: 1 }, schedule: { cron: '@daily', kickoffTimeInput: 'note' } }), [
    'schedule.kickoffTimeInput: "note" is Optional[str], not datetime',
  ]);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: '@daily', kickoffTimeInput: 'when' } }), ['schedule.kickoffTimeInput: "when" is not an input of the workflow']);
  assert.deepEqual(check({ defaultInputs: BOUND, schedule: { cron: '@daily', kickoffTimeInput: 'at' } }), ['schedule.kickoffTimeInput: "at" also has a value in default or fixed inputs']);
  assert.deepEqual(check({ defaultInputs: { values: [1], n: 1 }, fixedInputs: { at: BOUND.at }, schedule: { cron: '@daily', kickoffTimeInput: 'at' } }), [
    'schedule.kickoffTimeInput: "at" also has a value in default or fixed inputs',
  ]);
});

test('a scheduled launch plan binds every required input but the kickoff one; Optional inputs may stay unbound', () => {
  assert.deepEqual(check({ defaultInputs: { values: [1] }, schedule: { cron: '@daily' } }), [
    'schedule: a scheduled run needs a value for every required input; give "at", "n" a default or fixed value',
  ]);
  assert.deepEqual(check({ schedule: { cron: '@daily', kickoffTimeInput: 'at' } }), ['schedule: a scheduled run needs a value for every required input; give "values", "n" a default or fixed value']);
  // Fixed values count as bound, like defaults.
  assert.deepEqual(check({ defaultInputs: { values: [1] }, fixedInputs: { n: 2 }, schedule: { fixedRate: '1h', kickoffTimeInput: 'at' } }), []);
  // Without a schedule none of this applies.
  assert.deepEqual(check({ defaultInputs: { values: [1] } }), []);
});

test('every problem of the schedule is reported at once', () => {
  assert.deepEqual(check({ schedule: { cron: '61 * * * *', timeZone: 'Mars/Base', startingDeadline: 'later', kickoffTimeInput: 'n' } }), [
    'schedule.cron: minute: 61 is out of range 0-59',
    'schedule.timeZone: "Mars/Base" is not a known IANA time zone',
    'schedule.startingDeadline: "later" is not a duration such as 90s or 1h',
    'schedule.kickoffTimeInput: "n" is int, not datetime',
    'schedule: a scheduled run needs a value for every required input; give "values", "at" a default or fixed value',
  ]);
});

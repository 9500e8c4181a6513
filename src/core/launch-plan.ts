import type { DefinitionSpec } from '../api/definition.ts';
import type { LaunchPlanSpec } from '../api/launch-plan.ts';
import { compileWorkflow } from './compile.ts';
import type { CompileLimits } from './compiled.ts';
import { quote } from './quote.ts';
import { parseCron } from './schedule/cron.ts';
import { parseFixedRate } from './schedule/fixed-rate.ts';
import { checkTimeZone } from './schedule/time-zone.ts';
import { formatType, parseDuration } from './types/index.ts';

export type LaunchPlanCheck = { valid: true } | { valid: false; errors: string[] };

/**
 * Whether a launch plan can launch: its definition exists and compiles, its default and fixed inputs
 * are inputs of the workflow with values of the right types (neither both), and a schedule parses,
 * binds every required input (but the kickoff-time one, a datetime input) so scheduled runs can start.
 */
export function checkLaunchPlan(lp: LaunchPlanSpec, def: DefinitionSpec | undefined, limits: CompileLimits): LaunchPlanCheck {
  const ref = `${lp.workflow.name}.${lp.workflow.version}`;
  if (!def) return { valid: false, errors: [`workflow: workflow definition ${quote(lp.workflow.name)} version ${quote(lp.workflow.version)} (${quote(ref)}) not found in this namespace`] };
  const errors: string[] = [];
  const defaults = lp.defaultInputs ?? {};
  const fixed = lp.fixedInputs ?? {};
  for (const name of Object.keys(fixed)) if (Object.hasOwn(defaults, name)) errors.push(`fixedInputs.${name}: also in defaultInputs; an input is either a default or fixed`);
  const compiled = compileWorkflow({ ...def.workflow, inputs: { ...defaults, ...fixed } }, { ...limits, inputs: 'given' });
  if (!compiled.ok) {
    for (const e of compiled.errors) errors.push(e.startsWith('workflow: inputs') ? e.replace('workflow: inputs', Object.hasOwn(fixed, inputName(e)) ? 'fixedInputs' : 'defaultInputs') : `workflow definition ${quote(ref)}: ${e}`);
    return { valid: false, errors };
  }
  const schedule = lp.schedule;
  if (schedule) {
    if (schedule.cron !== undefined) {
      const cron = parseCron(schedule.cron);
      if (!cron.ok) errors.push(`schedule.cron: ${cron.error}`);
    }
    if (schedule.timeZone !== undefined) {
      const bad = checkTimeZone(schedule.timeZone);
      if (bad) errors.push(`schedule.timeZone: ${bad}`);
    }
    if (schedule.fixedRate !== undefined) {
      const rate = parseFixedRate(schedule.fixedRate);
      if (!rate.ok) errors.push(`schedule.fixedRate: ${rate.error}`);
    }
    if (schedule.startingDeadline !== undefined && parseDuration(schedule.startingDeadline) === undefined) {
      errors.push(`schedule.startingDeadline: ${quote(schedule.startingDeadline)} is not a duration such as 90s or 1h`);
    }
    const inputs = compiled.workflow.inputTypes;
    const kickoff = schedule.kickoffTimeInput;
    if (kickoff !== undefined) {
      const type = inputs.get(kickoff);
      if (!type) errors.push(`schedule.kickoffTimeInput: ${quote(kickoff)} is not an input of the workflow`);
      else if (type.kind !== 'datetime' && !(type.kind === 'optional' && type.of.kind === 'datetime')) {
        errors.push(`schedule.kickoffTimeInput: ${quote(kickoff)} is ${formatType(type)}, not datetime`);
      }
      if (Object.hasOwn(defaults, kickoff) || Object.hasOwn(fixed, kickoff)) errors.push(`schedule.kickoffTimeInput: ${quote(kickoff)} also has a value in default or fixed inputs`);
    }
    const unbound = [...inputs].filter(([name, type]) => name !== kickoff && type.kind !== 'optional' && !Object.hasOwn(defaults, name) && !Object.hasOwn(fixed, name)).map(([n]) => n);
    if (unbound.length) errors.push(`schedule: a scheduled run needs a value for every required input; give ${unbound.map((n) => quote(n)).join(', ')} a default or fixed value`);
  }
  return errors.length ? { valid: false, errors } : { valid: true };
}

/** "workflow: inputs.NAME: ..." or "workflow: inputs: unknown input "NAME" ..." → NAME. */
function inputName(error: string): string {
  const dotted = /^workflow: inputs\.([A-Za-z_][A-Za-z0-9_]*)/.exec(error);
  if (dotted) return dotted[1]!;
  const unknown = /unknown input "([^"]*)"/.exec(error);
  return unknown?.[1] ?? '';
}

import { z } from 'zod';

export const LAUNCH_PLAN_KIND = 'LaunchPlan';
export const LAUNCH_PLAN_PLURAL = 'launchplans';
export const LAUNCH_PLAN_SINGULAR = 'launchplan';
export const LAUNCH_PLAN_SHORT_NAMES = ['flp'];

const Time = z.string().describe('RFC 3339 time.');
const anyJson = <T extends z.ZodType>(schema: T) => schema.meta({ 'x-kubernetes-preserve-unknown-fields': true });
const atomic = <T extends z.ZodType>(schema: T) => schema.meta({ 'x-kubernetes-map-type': 'atomic' });
const Values = atomic(z.record(z.string(), anyJson(z.unknown())));

export const CatchUp = z.enum(['All', 'Latest', 'None']);
export const ConcurrencyPolicy = z.enum(['Allow', 'Forbid', 'Replace']);

export const Schedule = z
  .object({
    cron: z.string().min(1).max(256).optional().describe('A cron schedule in the Kubernetes CronJob grammar: 5 fields, names, ranges and steps, @hourly-style macros, @every DURATION.'),
    timeZone: z.string().min(1).max(64).optional().describe('IANA time zone of the cron schedule, e.g. Europe/Berlin; UTC when unset.'),
    fixedRate: z.string().min(1).max(64).optional().describe('Instead of cron: run every DURATION (e.g. 10m), counting from the launch plan\'s creation.'),
    kickoffTimeInput: z.string().min(1).max(63).optional().describe('A datetime input of the workflow that receives the scheduled time of each run (for cron and fixed rate alike).'),
    catchUp: CatchUp.optional().describe('After the propeller was down: All runs every missed time (up to maxCatchUp), Latest (default) only the most recent, None none; the others are recorded as skipped.'),
    maxCatchUp: z.int().min(1).max(1000).optional().describe('Most missed runs that catchUp: All starts at once (default 100).'),
    startingDeadline: z.string().min(1).max(64).optional().describe('A run more than this late is skipped instead of started (e.g. 1h).'),
    concurrencyPolicy: ConcurrencyPolicy.optional().describe('Allow (default) runs may overlap; Forbid skips a run while the previous is active (recorded, with an Event); Replace aborts the active run first.'),
  })
  .describe('When the launch plan runs by itself: cron or fixedRate.');

export const LaunchPlanSpec = z
  .object({
    workflow: z
      .object({
        name: z.string().min(1).max(63).describe('The workflow name of a WorkflowDefinition in this namespace.'),
        version: z.string().min(1).max(189).describe('Its version.'),
      })
      .describe('The definition it launches.'),
    description: z.string().max(4096).optional(),
    defaultInputs: Values.optional().describe('Input values an execution may override.'),
    fixedInputs: Values.optional().describe('Input values no execution may set.'),
    labels: z.record(z.string(), z.string()).optional().describe('Labels of the executions it starts and of their pods (merged with the execution\'s own; the execution wins).'),
    annotations: z.record(z.string(), z.string()).optional().describe('Annotations of the executions it starts and of their pods.'),
    maxParallelism: z.int().min(0).max(100000).optional().describe('Overrides the definition\'s maxParallelism; an execution\'s own setting wins.'),
    serviceAccountName: z.string().max(253).optional().describe('Service account of the task pods; an execution\'s own setting wins.'),
    overwriteCache: z.boolean().optional().describe('Runs overwrite the cache entries of their cached tasks.'),
    active: z.boolean().optional().describe('false stops scheduled runs; manual launches stay allowed (as in Flyte). Default true.'),
    schedule: Schedule.optional(),
    successfulRunsHistoryLimit: z.int().min(0).max(1000).optional().describe('Scheduled runs that succeeded to keep (default 3); older ones are deleted.'),
    failedRunsHistoryLimit: z.int().min(0).max(1000).optional().describe('Scheduled runs that failed or were aborted to keep (default 1).'),
  })
  .describe('A definition with bound inputs, settings and an optional schedule.');

export const LaunchPlanStatus = z
  .object({
    valid: z.boolean().optional(),
    message: z.string().optional(),
    errors: z.array(z.string()).optional().describe('Every reason it is invalid (message shows the first).'),
    observedGeneration: z.int().optional(),
    lastScheduledTime: Time.optional().describe('The newest scheduled time acted on (run or skipped).'),
    nextScheduledTime: Time.optional(),
    active: z.array(z.string()).optional().describe('Scheduled runs still running.'),
    skipped: z
      .array(z.object({ time: Time, reason: z.string() }))
      .optional()
      .describe('The most recent scheduled times that did not run, and why (at most 20).'),
  })
  .describe('Written by the propeller.');

export type LaunchPlanSpec = z.infer<typeof LaunchPlanSpec>;
export type LaunchPlanStatus = z.infer<typeof LaunchPlanStatus>;
export type ScheduleSpec = z.infer<typeof Schedule>;

export interface LaunchPlanObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; generation?: number; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: LaunchPlanSpec;
  status?: LaunchPlanStatus;
}

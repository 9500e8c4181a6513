import { z } from 'zod';
import { ExecutionError, WorkflowSpec } from './flyteworkflow.ts';

export const DEFINITION_KIND = 'WorkflowDefinition';
export const DEFINITION_PLURAL = 'workflowdefinitions';
export const DEFINITION_SINGULAR = 'workflowdefinition';
export const DEFINITION_SHORT_NAMES = ['fwd'];

/** A version: what a git SHA, a semver or a date can be, and what fits an object name after "NAME.". */
export const VERSION_PATTERN = '^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$';
const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** The parts of a workflow spec that belong to one execution, not to its definition. */
const EXECUTION_ONLY = ['inputs', 'abort', 'signals', 'overwriteCache', 'definition', 'launchPlan'] as const;

export const DefinitionWorkflow = WorkflowSpec.omit(Object.fromEntries(EXECUTION_ONLY.map((k) => [k, true])) as { [K in (typeof EXECUTION_ONLY)[number]]: true }).required({ nodes: true }).describe(
  'The workflow: interface, tasks, nodes, subworkflows, outputs, failure handler and defaults, as in a FlyteWorkflow but without the values of one execution.',
);

export const DefinitionSpec = z
  .object({
    name: z.string().regex(new RegExp(NAME_PATTERN)).describe('The workflow name (a DNS label); metadata.name must be NAME.VERSION.'),
    version: z.string().regex(new RegExp(VERSION_PATTERN)).describe('The version: lowercase letters, digits, "-" and "." (a git SHA, 1.4.2, 2026-12-06).'),
    workflow: DefinitionWorkflow,
  })
  .describe('An immutable, versioned workflow definition.');

export const DefinitionStatus = z
  .object({
    valid: z.boolean().optional().describe('Whether the workflow compiles.'),
    message: z.string().optional().describe('What is wrong with it, or a summary.'),
    error: ExecutionError.optional(),
    nodes: z.int().optional().describe('Nodes, counting each subworkflow once per node that runs it.'),
    observedGeneration: z.int().optional(),
  })
  .describe('Written by the propeller: whether the definition is valid.');

export type DefinitionSpec = z.infer<typeof DefinitionSpec>;
export type DefinitionStatus = z.infer<typeof DefinitionStatus>;

export interface DefinitionObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; generation?: number; creationTimestamp?: string; labels?: Record<string, string> };
  spec: DefinitionSpec;
  status?: DefinitionStatus;
}

export const definitionObjectName = (name: string, version: string): string => `${name}.${version}`;

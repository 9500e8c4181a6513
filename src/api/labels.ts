import { GROUP } from './flyteworkflow.ts';

/** Labels and annotations the propeller puts on the pods it creates, and the finalizer on workflows. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  workflow: `${GROUP}/workflow`,
  node: `${GROUP}/node`,
  attempt: `${GROUP}/attempt`,
  task: `${GROUP}/task`,
  project: `${GROUP}/project`,
  domain: `${GROUP}/domain`,
} as const;

/** Exact identities, since label values must be shortened or hashed when names do not fit label rules. */
export const ANNOTATIONS = {
  workflow: `${GROUP}/workflow`,
  node: `${GROUP}/node`,
} as const;

export const MANAGED_BY = 'propeller';
export const FINALIZER = `${GROUP}/finalizer`;

/** The workflow labels that name its tenancy, as Flyte's own CRDs carry them. */
export const WORKFLOW_LABELS = { project: 'project', domain: 'domain' } as const;

import { z } from 'zod';
import { GROUP } from './flyteworkflow.ts';

export const PROJECT_KIND = 'Project';
export const PROJECT_PLURAL = 'projects';
export const PROJECT_SINGULAR = 'project';
export const PROJECT_SHORT_NAMES = ['fproj'];

/** On every Project the propeller manages: deleting one first applies spec.deletionPolicy to its namespaces. */
export const PROJECT_FINALIZER = `${GROUP}/project`;

export const DEFAULT_DOMAINS = ['development', 'staging', 'production'] as const;

/** The objects the propeller keeps in each domain namespace. */
export const PROJECT_OBJECT_NAMES = {
  quota: 'propeller-quota',
  limitRange: 'propeller-limits',
  viewers: 'propeller-viewers',
  submitters: 'propeller-submitters',
  admins: 'propeller-admins',
} as const;

/** A DNS-1123 label: what a namespace name, and so each half of `{project}-{domain}`, must be. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const DomainName = z.string().min(1).max(63).regex(DNS_LABEL).describe('A domain: a DNS label such as development, staging or production.');

const Quantity = z.union([z.string(), z.int()]).describe('A Kubernetes quantity such as 500m, 2 or 1Gi.');
const ResourceList = z.record(z.string(), Quantity);

const Hard = ResourceList.describe('A ResourceQuota spec.hard: resource name (cpu, requests.memory, pods, count/flyteworkflows.flyte.propeller.dev, …) to its limit.');

const LimitRangeItem = z
  .object({
    type: z.enum(['Container', 'Pod', 'PersistentVolumeClaim']).describe('What the limits apply to.'),
    max: ResourceList.optional().describe('Maximum usage per object.'),
    min: ResourceList.optional().describe('Minimum usage per object.'),
    default: ResourceList.optional().describe('Default limits of a container that sets none.'),
    defaultRequest: ResourceList.optional().describe('Default requests of a container that sets none.'),
    maxLimitRequestRatio: ResourceList.optional().describe('Largest limit / request ratio.'),
  })
  .describe('One entry of a LimitRange spec.limits, passed through as it is.');

const Limits = z.array(LimitRangeItem).describe('A LimitRange spec.limits.');

export const ProjectQuota = z
  .object({
    default: Hard.optional().describe('The quota of every domain that has no entry under domains.'),
    domains: z
      .record(z.string(), Hard)
      .meta({ maxProperties: 32 })
      .optional()
      .describe('Per domain: replaces the default for that domain (not merged with it); {} means no quota there.'),
  })
  .describe('A ResourceQuota "propeller-quota" in each domain namespace. Without one for a domain, that namespace has none (one the propeller made before is deleted).');

export const ProjectLimitRange = z
  .object({
    default: Limits.optional().describe('The limits of every domain that has no entry under domains.'),
    domains: z
      .record(z.string(), Limits)
      .meta({ maxProperties: 32 })
      .optional()
      .describe('Per domain: replaces the default for that domain; [] means no LimitRange there.'),
  })
  .describe('A LimitRange "propeller-limits" in each domain namespace, like quota.');

export const Subject = z
  .object({
    kind: z.enum(['Group', 'User', 'ServiceAccount']).describe('Group, User or ServiceAccount.'),
    name: z.string().min(1).describe('Its name.'),
    namespace: z.string().optional().describe("A ServiceAccount's namespace (required for one, refused for the others)."),
  })
  .describe('An RBAC subject.');

const Subjects = (what: string) => z.array(Subject).default([]).describe(what);

export const ProjectAccess = z
  .object({
    viewers: Subjects('Bound to the viewer ClusterRole in every domain namespace: read workflows, definitions, launch plans, cache entries, pods, their logs and events.'),
    submitters: Subjects('Bound to the submitter ClusterRole: a viewer who may also create, patch (approve and signal gates, abort) and delete FlyteWorkflows.'),
    admins: Subjects('Bound to the admin ClusterRole: a submitter who may also create, patch and delete workflow definitions, launch plans and cache entries.'),
  })
  .describe('Who may do what in the project\'s namespaces: RoleBindings "propeller-viewers", "propeller-submitters" and "propeller-admins" to the ClusterRoles the chart installs.');

export const DeletionPolicy = z
  .enum(['Retain', 'DeleteEmpty', 'Delete'])
  .describe(
    'What becomes of the namespace of a domain that is removed from spec.domains, or of every namespace when the Project is deleted. ' +
      'Retain: it is left as it is, and no longer managed. DeleteEmpty: it is deleted once it holds no FlyteWorkflows (when the Project itself is deleted, one that still holds some is retained). ' +
      'Delete: it is deleted with everything in it, workflows included.',
  );

export const ProjectSpec = z
  .object({
    description: z.string().max(300).optional().describe('What the project is for.'),
    domains: z
      .array(DomainName)
      .min(1)
      .max(32)
      .default([...DEFAULT_DOMAINS])
      .describe('The domains; each gets the namespace {project}-{domain}, which must be a DNS label of at most 63 characters.'),
    quota: ProjectQuota.optional(),
    limitRange: ProjectLimitRange.optional(),
    access: ProjectAccess.prefault({}),
    deletionPolicy: DeletionPolicy.default('Retain'),
  })
  .describe('A project: the namespaces of its domains, their quotas and limits, and who may use them.');

export const ProjectPhase = z.enum(['Ready', 'Progressing', 'Degraded', 'Invalid', 'Terminating']);

export const NamespaceState = z
  .enum(['Active', 'Creating', 'Terminating', 'Conflict', 'Waiting', 'Deleting', 'Released'])
  .describe(
    'Active: exists and is kept equal to the spec. Creating: being created or brought in line. Terminating: being deleted by someone else; recreated once gone. ' +
      'Conflict: a namespace of that name exists and belongs to something else; left alone. Waiting: its domain was removed and it still holds FlyteWorkflows (DeleteEmpty). ' +
      'Deleting: being deleted by the deletion policy. Released: its domain was removed and it was retained: no longer managed.',
  );

export const ProjectCondition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.int().optional(),
});

export const ProjectStatus = z
  .object({
    phase: ProjectPhase.optional(),
    message: z.string().optional().describe('What is happening or what is wrong.'),
    namespaces: z
      .array(
        z.object({
          name: z.string(),
          domain: z.string(),
          state: NamespaceState,
          workflows: z.int().optional().describe('FlyteWorkflows in it, where that decides something.'),
          message: z.string().optional(),
        }),
      )
      .optional()
      .describe('The namespaces of the project: its domains, and those of removed domains still around.'),
    conditions: z.array(ProjectCondition).optional().describe('Ready: every domain namespace exists and matches the spec.'),
    observedGeneration: z.int().optional(),
  })
  .describe('Written by the propeller.');

export type ProjectSpec = z.infer<typeof ProjectSpec>;
export type ProjectSpecInput = z.input<typeof ProjectSpec>;
export type ProjectStatus = z.infer<typeof ProjectStatus>;
export type ProjectPhase = z.infer<typeof ProjectPhase>;
export type NamespaceState = z.infer<typeof NamespaceState>;
export type ProjectCondition = z.infer<typeof ProjectCondition>;
export type Subject = z.infer<typeof Subject>;
export type DeletionPolicy = z.infer<typeof DeletionPolicy>;
export type LimitRangeItem = z.infer<typeof LimitRangeItem>;

export interface ProjectObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    finalizers?: string[];
    labels?: Record<string, string>;
    creationTimestamp?: string;
  };
  /** As the API server stores it; parse it with ProjectSpec for the defaults. */
  spec: ProjectSpecInput;
  status?: ProjectStatus;
}

export const PROJECT_API = { group: GROUP, kind: PROJECT_KIND, plural: PROJECT_PLURAL } as const;

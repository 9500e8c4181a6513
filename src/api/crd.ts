import { z } from 'zod';
import { DEFINITION_KIND, DEFINITION_PLURAL, DEFINITION_SHORT_NAMES, DEFINITION_SINGULAR, DefinitionSpec, DefinitionStatus } from './definition.ts';
import { LAUNCH_PLAN_KIND, LAUNCH_PLAN_PLURAL, LAUNCH_PLAN_SHORT_NAMES, LAUNCH_PLAN_SINGULAR, LaunchPlanSpec, LaunchPlanStatus } from './launch-plan.ts';
import { CACHE_KIND, CACHE_PLURAL, CACHE_SHORT_NAMES, CACHE_SINGULAR, CacheEntrySpec } from './cache-entry.ts';
import { GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION, WorkflowSpec, WorkflowStatus } from './flyteworkflow.ts';
import { PROJECT_KIND, PROJECT_PLURAL, PROJECT_SHORT_NAMES, PROJECT_SINGULAR, ProjectSpec, ProjectStatus } from './project.ts';

type Schema = Record<string, unknown>;

const PRESERVE = 'x-kubernetes-preserve-unknown-fields';
const SAFE_INT = Number.MAX_SAFE_INTEGER;
/** Keywords a structural schema may carry; everything else zod emits is dropped. */
const KEPT = ['description', 'type', 'enum', 'default', 'nullable', 'format', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'required', 'x-kubernetes-map-type'];

/**
 * Turns zod's OpenAPI output into a Kubernetes structural schema: a recursive reference is expanded once
 * and cut where it recurses, untyped values become preserve-unknown nodes, string|integer unions become
 * int-or-string, and additionalProperties never sits beside properties. Whatever the API server cannot
 * check, zod checks at run time.
 */
export function toStructural(schema: Schema, definitions: Record<string, Schema> = {}, expanding: string[] = []): Schema {
  const allOf = schema['allOf'] as Schema[] | undefined;
  if (allOf?.length === 1) {
    // zod's way to describe a reused schema where it is used: {description, allOf: [{$ref}]}.
    const { allOf: _allOf, ...rest } = schema;
    return toStructural({ ...allOf[0], ...rest }, definitions, expanding);
  }
  const ref = schema['$ref'] as string | undefined;
  if (ref) {
    const name = ref.split('/').pop()!;
    const target = definitions[name];
    if (target && !expanding.includes(name) && !schema[PRESERVE]) {
      const described = schema['description'] ? { ...target, description: schema['description'] } : target;
      return toStructural(described, definitions, [...expanding, name]);
    }
    return preserved({ ...target, ...schema, type: 'object' });
  }
  if (schema[PRESERVE] || Object.keys(schema).every((k) => k === 'description')) return preserved(schema);
  const anyOf = schema['anyOf'] as Schema[] | undefined;
  if (anyOf) {
    const types = anyOf.map((s) => s['type']).sort();
    if (types.join() === 'integer,string') return { ...pick(schema, ['description']), 'x-kubernetes-int-or-string': true };
    throw new Error(`toStructural: unsupported union of ${types.join(', ')}`);
  }
  const recurse = (s: Schema) => toStructural(s, definitions, expanding);
  const out = pick(schema, KEPT);
  if (out['maximum'] === SAFE_INT) delete out['maximum'];
  if (out['minimum'] === -SAFE_INT) delete out['minimum'];
  const properties = schema['properties'] as Record<string, Schema> | undefined;
  const additional = schema['additionalProperties'];
  if (properties) {
    out['properties'] = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, recurse(v)]));
  } else if (additional && typeof additional === 'object') {
    out['additionalProperties'] = recurse(additional as Schema);
  }
  if (schema['items']) out['items'] = recurse(schema['items'] as Schema);
  if (Array.isArray(out['required']) && out['required'].length === 0) delete out['required'];
  return out;
}

function preserved(schema: Schema): Schema {
  const out: Schema = { [PRESERVE]: true };
  if (schema['description']) out['description'] = schema['description'];
  if (schema['type'] === 'object') out['type'] = 'object';
  // Any JSON value, null included: without this the API server silently drops nulls from user data.
  else out['nullable'] = true;
  return out;
}

function pick(schema: Schema, keys: string[]): Schema {
  return Object.fromEntries(keys.filter((k) => schema[k] !== undefined).map((k) => [k, schema[k]]));
}

export function openApiOf(schema: z.ZodType): Schema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Schema;
  return toStructural(json, (json['definitions'] ?? {}) as Record<string, Schema>);
}

interface CrdDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  /** With a status subresource when set. */
  status?: z.ZodType;
  printerColumns: Record<string, unknown>[];
  /** CEL rules on spec, checked by the API server itself (e.g. immutability). */
  specValidations?: { rule: string; message?: string; messageExpression?: string }[];
  /** CEL rules on the whole object (they may read metadata.name). */
  rootValidations?: { rule: string; message?: string; messageExpression?: string }[];
  scope?: 'Namespaced' | 'Cluster';
}

/** A CustomResourceDefinition generated from the same zod schemas the propeller validates with. */
export function crdOf(def: CrdDefinition): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}`, labels: { 'app.kubernetes.io/name': 'propeller', 'app.kubernetes.io/part-of': 'propeller' } },
    spec: {
      group: def.group,
      scope: def.scope ?? 'Namespaced',
      names: { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, shortNames: def.shortNames, categories: ['flyte'] },
      versions: [
        {
          name: def.version,
          served: true,
          storage: true,
          ...(def.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              ...(def.rootValidations ? { 'x-kubernetes-validations': def.rootValidations } : {}),
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: `${def.group}/${def.version}` },
                kind: { type: 'string', description: def.kind },
                metadata: { type: 'object' },
                spec: def.specValidations ? { ...openApiOf(def.spec), 'x-kubernetes-validations': def.specValidations } : openApiOf(def.spec),
                ...(def.status ? { status: openApiOf(def.status) } : {}),
              },
            },
          },
        },
      ],
    },
  };
}

/** The FlyteWorkflow CustomResourceDefinition. */
export function flyteWorkflowCrd(): Schema {
  return crdOf({
    group: GROUP,
    version: VERSION,
    kind: KIND,
    plural: PLURAL,
    singular: SINGULAR,
    shortNames: SHORT_NAMES,
    description: 'A workflow execution: a DAG of typed tasks, each run as a Pod once the nodes it depends on have succeeded.',
    spec: WorkflowSpec,
    status: WorkflowStatus,
    printerColumns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Workflow phase.' },
      { name: 'Progress', type: 'string', jsonPath: '.status.progress', description: 'Succeeded nodes over the nodes that run, and how many took their outputs from the cache.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'What is happening or what went wrong.' },
    ],
  });
}

/** The CacheEntry CustomResourceDefinition: one object per cached task run, in the workflow's namespace. */
export function cacheEntryCrd(): Schema {
  return crdOf({
    group: GROUP,
    version: VERSION,
    kind: CACHE_KIND,
    plural: CACHE_PLURAL,
    singular: CACHE_SINGULAR,
    shortNames: CACHE_SHORT_NAMES,
    description: 'The cached outputs of one run of a task, keyed by its name, cache version, interface and inputs. Written and read by the propeller; delete one to invalidate it.',
    spec: CacheEntrySpec,
    printerColumns: [
      { name: 'Task', type: 'string', jsonPath: '.spec.task', description: 'The task.' },
      { name: 'Version', type: 'string', jsonPath: '.spec.cacheVersion', description: 'Its cache version.' },
      { name: 'Written-By', type: 'string', jsonPath: '.spec.createdBy.workflow', description: 'The execution that wrote the outputs.' },
      { name: 'Reserved-By', type: 'string', jsonPath: '.spec.reservedBy.workflow', description: 'The execution computing them now (serialized caching).' },
      { name: 'Expires', type: 'string', jsonPath: '.spec.expiresAt', description: 'When the entry stops being used.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
}

/** The WorkflowDefinition CRD: immutable once created, which the API server itself enforces. */
export function definitionCrd(): Schema {
  return crdOf({
    group: GROUP,
    version: VERSION,
    kind: DEFINITION_KIND,
    plural: DEFINITION_PLURAL,
    singular: DEFINITION_SINGULAR,
    shortNames: DEFINITION_SHORT_NAMES,
    description: 'An immutable, versioned workflow definition, named NAME.VERSION. Executions (FlyteWorkflows) and launch plans refer to it by name and version.',
    spec: DefinitionSpec,
    status: DefinitionStatus,
    specValidations: [
      {
        rule: 'self == oldSelf',
        messageExpression: "'workflow definition ' + oldSelf.name + ' version ' + oldSelf.version + ' is immutable: apply the change as a new version (spec.version and metadata.name ' + oldSelf.name + '.NEW_VERSION)'",
      },
    ],
    rootValidations: [
      { rule: "self.metadata.name == self.spec.name + '.' + self.spec.version", messageExpression: "'metadata.name must be ' + self.spec.name + '.' + self.spec.version + ' (spec.name, a dot, spec.version)'" },
    ],
    printerColumns: [
      { name: 'Workflow', type: 'string', jsonPath: '.spec.name', description: 'The workflow name.' },
      { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Its version.' },
      { name: 'Valid', type: 'boolean', jsonPath: '.status.valid', description: 'Whether it compiles.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1, description: 'What is wrong with it.' },
    ],
  });
}

/** The LaunchPlan CRD. */
export function launchPlanCrd(): Schema {
  return crdOf({
    group: GROUP,
    version: VERSION,
    kind: LAUNCH_PLAN_KIND,
    plural: LAUNCH_PLAN_PLURAL,
    singular: LAUNCH_PLAN_SINGULAR,
    shortNames: LAUNCH_PLAN_SHORT_NAMES,
    description: 'A WorkflowDefinition version with default and fixed inputs, settings and an optional schedule. Launch it by creating a FlyteWorkflow with spec.launchPlan.',
    spec: LaunchPlanSpec,
    status: LaunchPlanStatus,
    specValidations: [
      { rule: '!has(self.schedule) || has(self.schedule.cron) != has(self.schedule.fixedRate)', message: 'a schedule takes exactly one of cron and fixedRate' },
      { rule: '!has(self.schedule) || !has(self.schedule.timeZone) || has(self.schedule.cron)', message: 'schedule.timeZone applies to cron schedules only' },
    ],
    printerColumns: [
      { name: 'Workflow', type: 'string', jsonPath: '.spec.workflow.name', description: 'The definition it launches.' },
      { name: 'Version', type: 'string', jsonPath: '.spec.workflow.version' },
      { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule.cron', description: 'Its cron schedule, if any.' },
      { name: 'Rate', type: 'string', jsonPath: '.spec.schedule.fixedRate', description: 'Its fixed rate, if any.' },
      { name: 'Active', type: 'boolean', jsonPath: '.spec.active' },
      { name: 'Valid', type: 'boolean', jsonPath: '.status.valid' },
      { name: 'Last', type: 'date', jsonPath: '.status.lastScheduledTime', description: 'The last scheduled time acted on.' },
      { name: 'Next', type: 'string', jsonPath: '.status.nextScheduledTime' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
}

/** The Project CRD: cluster-scoped, one object per project; the propeller makes a namespace per domain. */
export function projectCrd(): Schema {
  return crdOf({
    group: GROUP,
    version: VERSION,
    kind: PROJECT_KIND,
    plural: PROJECT_PLURAL,
    singular: PROJECT_SINGULAR,
    shortNames: PROJECT_SHORT_NAMES,
    scope: 'Cluster',
    description:
      'A project and its domains. The propeller creates a namespace {project}-{domain} for each domain, labelled with both, keeps a ResourceQuota, a LimitRange and the viewer, submitter and admin RoleBindings in it equal to the spec, and applies spec.deletionPolicy to the namespaces of removed domains.',
    spec: ProjectSpec,
    status: ProjectStatus,
    // The propeller reports the same problems in status (src/core/project.ts); these refuse them at once.
    rootValidations: [
      {
        rule: "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
        messageExpression: "'metadata.name ' + self.metadata.name + ' is not a DNS label (lowercase letters, digits and -): it names the namespaces {project}-{domain}'",
      },
      {
        rule: 'self.spec.domains.all(d, size(self.metadata.name) + 1 + size(d) <= 63)',
        messageExpression: "'the namespace ' + self.metadata.name + '-' + self.spec.domains.filter(d, size(self.metadata.name) + 1 + size(d) > 63)[0] + ' would be longer than 63 characters: shorten the project or the domain name'",
      },
    ],
    specValidations: [
      { rule: 'self.domains.all(d, self.domains.exists_one(e, e == d))', message: 'spec.domains lists a domain twice' },
      { rule: '!has(self.quota) || !has(self.quota.domains) || self.quota.domains.all(d, d in self.domains)', message: 'spec.quota.domains names a domain that is not in spec.domains' },
      { rule: '!has(self.limitRange) || !has(self.limitRange.domains) || self.limitRange.domains.all(d, d in self.domains)', message: 'spec.limitRange.domains names a domain that is not in spec.domains' },
    ],
    printerColumns: [
      { name: 'Domains', type: 'string', jsonPath: '.spec.domains', description: 'The domains.' },
      { name: 'Policy', type: 'string', jsonPath: '.spec.deletionPolicy', description: 'What becomes of the namespace of a removed domain.' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Ready, Progressing, Degraded, Invalid or Terminating.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'What is happening or what is wrong.' },
    ],
  });
}

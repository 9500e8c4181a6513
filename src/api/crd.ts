import { z } from 'zod';
import { GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION, WorkflowSpec, WorkflowStatus } from './flyteworkflow.ts';

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
  const ref = schema['$ref'] as string | undefined;
  if (ref) {
    const name = ref.split('/').pop()!;
    const target = definitions[name];
    if (target && !expanding.includes(name) && !schema[PRESERVE]) return toStructural(target, definitions, [...expanding, name]);
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

/** The FlyteWorkflow CustomResourceDefinition, generated from the same zod schemas the propeller validates with. */
export function flyteWorkflowCrd(): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'propeller', 'app.kubernetes.io/part-of': 'propeller' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES, categories: ['flyte'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Workflow phase.' },
            { name: 'Progress', type: 'string', jsonPath: '.status.progress', description: 'Succeeded task nodes over all task nodes.' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'What is happening or what went wrong.' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A workflow execution: a DAG of typed tasks, each run as a Pod once the nodes it depends on have succeeded.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'flyte.propeller.dev/v1alpha1' },
                kind: { type: 'string', description: 'FlyteWorkflow' },
                metadata: { type: 'object' },
                spec: openApiOf(WorkflowSpec),
                status: openApiOf(WorkflowStatus),
              },
            },
          },
        },
      ],
    },
  };
}

// Projects and domains, decided without IO: from a Project's spec and what exists (its namespaces, the
// workflows in them, the quota, limits and RoleBindings the propeller keeps there), which namespaces to
// create, bring in line, release or delete, and which objects in them to create, patch or delete.
//
// Ownership. A namespace belongs to a Project when it carries flyte.propeller.dev/project=<project> and
// flyte.propeller.dev/domain=<domain> and is named <project>-<domain>; the propeller manages it while it
// also carries app.kubernetes.io/managed-by=propeller. Any other namespace of a wanted name is a Conflict
// and is never written. A namespace carries an owner reference to its Project only when the Project's
// deletionPolicy is Delete, so that the garbage collector, whatever the propagation policy of a delete and
// even with the propeller gone, can never remove a namespace that the policy would keep.
import { API_VERSION } from '../api/flyteworkflow.ts';
import { LABELS, MANAGED_BY, WORKFLOW_LABELS } from '../api/labels.ts';
import type { OwnerReference } from '../api/pod.ts';
import {
  DNS_LABEL,
  PROJECT_KIND,
  PROJECT_OBJECT_NAMES,
  type LimitRangeItem,
  type NamespaceState,
  type ProjectCondition,
  type ProjectPhase,
  type ProjectSpec,
  type ProjectStatus,
  type Subject,
} from '../api/project.ts';
import { compareQuantities, parseQuantity } from './quantity.ts';

// ---------------------------------------------------------------------------------------------------------
// Shapes


type Quantity = string | number;
type ResourceList = Record<string, Quantity>;
type Labels = Record<string, string>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Labels;
  resourceVersion?: string;
}

export interface ResourceQuotaObject {
  apiVersion: 'v1';
  kind: 'ResourceQuota';
  metadata: ObjectMeta;
  spec: { hard: ResourceList; scopes?: string[]; scopeSelector?: unknown };
}

export interface LimitRangeObject {
  apiVersion: 'v1';
  kind: 'LimitRange';
  metadata: ObjectMeta;
  spec: { limits: LimitRangeItem[] };
}

export interface RbacSubject {
  kind: string;
  name: string;
  apiGroup?: string;
  namespace?: string;
}

export interface RoleBindingObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects?: RbacSubject[];
}

export interface NamespaceObject {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: { name: string; labels: Labels; ownerReferences?: OwnerReference[] };
}

export type Access = 'viewers' | 'submitters' | 'admins';
export const ACCESS: readonly Access[] = ['viewers', 'submitters', 'admins'];

/** The objects the propeller keeps in one namespace, as observed (undefined: none). */
export interface ObservedObjects {
  quota?: ResourceQuotaObject;
  limitRange?: LimitRangeObject;
  roleBindings?: Partial<Record<Access, RoleBindingObject>>;
}

/** A namespace as the propeller sees it (metadata only), with what it holds that matters here. */
export interface ObservedNamespace {
  name: string;
  labels: Readonly<Labels>;
  ownerReferences: readonly OwnerReference[];
  resourceVersion?: string;
  /** Its deletionTimestamp is set: it is Terminating. */
  deleting: boolean;
  /** FlyteWorkflows in it. */
  workflows: number;
  objects?: ObservedObjects;
}

/** The ClusterRoles that viewers, submitters and admins are bound to (config projects.*Role). */
export interface ProjectRoles {
  viewer: string;
  submitter: string;
  admin: string;
}

export interface ProjectRef {
  name: string;
  uid: string;
  /** Its deletionTimestamp is set. */
  deleting: boolean;
}

/** What is wrong with a spec: where, and why. */
export interface Problem {
  path: string;
  message: string;
}

/** A merge patch of a namespace's metadata; resourceVersion makes it conditional on what was seen. */
export interface NamespacePatch {
  resourceVersion?: string;
  labels?: Record<string, string | null>;
  /** The whole new list (a merge patch replaces lists). */
  ownerReferences?: OwnerReference[];
}

export type ObjectResource = 'resourcequotas' | 'limitranges' | 'rolebindings';

/** One write to an object inside a domain namespace. A failed create with AlreadyExists falls back to `fallback`. */
export type ObjectWrite =
  | { op: 'create'; resource: ObjectResource; namespace: string; name: string; object: ResourceQuotaObject | LimitRangeObject | RoleBindingObject; fallback: unknown }
  | { op: 'patch'; resource: ObjectResource; namespace: string; name: string; patch: unknown }
  | { op: 'delete'; resource: ObjectResource; namespace: string; name: string };

export type NamespaceAction =
  | { kind: 'create'; namespace: NamespaceObject; writes: ObjectWrite[] }
  | { kind: 'update'; patch?: NamespacePatch; writes: ObjectWrite[] }
  | { kind: 'release'; patch: NamespacePatch }
  | { kind: 'delete'; resourceVersion?: string; requireEmpty: boolean }
  | { kind: 'none' };

export interface NamespacePlan {
  name: string;
  domain: string;
  state: NamespaceState;
  action: NamespaceAction;
  workflows?: number;
  message?: string;
}

export interface ProjectPlan {
  /** Non-empty: the spec is invalid and nothing is written. */
  problems: Problem[];
  /** Sorted by name. */
  namespaces: NamespacePlan[];
}

// ---------------------------------------------------------------------------------------------------------
// Names and labels

const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const PROJECT_LABEL = LABELS.project;
export const DOMAIN_LABEL = LABELS.domain;
const MAX_NAMESPACE = 63;

export const namespaceName = (project: string, domain: string): string => `${project}-${domain}`;

/** The RoleBinding that grants one access level. */
export const roleBindingName = (access: Access): string => PROJECT_OBJECT_NAMES[access];

const roleOf = (roles: ProjectRoles, access: Access): string => (access === 'viewers' ? roles.viewer : access === 'submitters' ? roles.submitter : roles.admin);

/** Whether a namespace belongs to the project: its labels name it and a domain, and its name is theirs. */
export function belongsTo(ns: Pick<ObservedNamespace, 'name' | 'labels'>, project: string): boolean {
  const domain = ns.labels[DOMAIN_LABEL];
  return ns.labels[PROJECT_LABEL] === project && domain !== undefined && ns.name === namespaceName(project, domain);
}

/** Whether the propeller manages it (a namespace of a removed domain that was retained no longer is). */
export const isManaged = (ns: Pick<ObservedNamespace, 'labels'>): boolean => ns.labels[LABELS.managedBy] === MANAGED_BY;

function objectLabels(project: string, domain: string): Labels {
  return { [LABELS.managedBy]: MANAGED_BY, [PROJECT_LABEL]: project, [DOMAIN_LABEL]: domain };
}

const isProjectRef = (ref: OwnerReference, project: string): boolean => ref.kind === PROJECT_KIND && ref.apiVersion.startsWith(`${API_VERSION.split('/')[0]}/`) && ref.name === project;

export function projectOwnerReference(project: ProjectRef): OwnerReference {
  // No blockOwnerDeletion: nothing waits on a namespace, and setting it would need update on projects/finalizers.
  return { apiVersion: API_VERSION, kind: PROJECT_KIND, name: project.name, uid: project.uid };
}

/**
 * The labels a FlyteWorkflow should carry for its tenancy, from its namespace's labels: `project` and
 * `domain`, as Flyte's own CRDs carry them, so `kubectl get fwf -A -l project=P,domain=D` selects them.
 * Empty unless the namespace names both.
 */
export function tenancyLabels(namespaceLabels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const project = namespaceLabels?.[PROJECT_LABEL];
  const domain = namespaceLabels?.[DOMAIN_LABEL];
  if (!project || !domain || !DNS_LABEL.test(project) || !DNS_LABEL.test(domain) || project.length > MAX_NAMESPACE || domain.length > MAX_NAMESPACE) return {};
  return { [WORKFLOW_LABELS.project]: project, [WORKFLOW_LABELS.domain]: domain };
}

// ---------------------------------------------------------------------------------------------------------
// Validation

const q = (s: string) => JSON.stringify(s);

/** Everything wrong with a Project, beyond what the CRD schema already refuses; each problem names its field. */
export function validateProject(name: string, spec: ProjectSpec): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!DNS_LABEL.test(name) || name.length > MAX_NAMESPACE) {
    add('metadata.name', `${q(name)} is not a DNS label (lowercase letters, digits and "-", at most 63): it names the namespaces {project}-{domain}`);
  }
  const seen = new Map<string, number>();
  spec.domains.forEach((domain, i) => {
    const first = seen.get(domain);
    if (first !== undefined) add(`spec.domains[${i}]`, `${q(domain)} is listed twice (also spec.domains[${first}])`);
    else seen.set(domain, i);
    const ns = namespaceName(name, domain);
    if (ns.length > MAX_NAMESPACE) add(`spec.domains[${i}]`, `the namespace ${q(ns)} would be ${ns.length} characters; a namespace name is at most 63 (shorten the project or the domain name)`);
  });
  const known = `one of spec.domains (${spec.domains.join(', ')})`;

  const checkList = (list: ResourceList | undefined, path: string) => {
    for (const [resource, value] of Object.entries(list ?? {})) {
      const parsed = parseQuantity(value);
      if (!parsed.ok) add(`${path}.${resource}`, parsed.error);
    }
  };
  if (spec.quota) {
    checkList(spec.quota.default, 'spec.quota.default');
    for (const [domain, hard] of Object.entries(spec.quota.domains ?? {})) {
      if (!seen.has(domain)) add(`spec.quota.domains.${domain}`, `${q(domain)} is not ${known}`);
      checkList(hard, `spec.quota.domains.${domain}`);
    }
  }
  if (spec.limitRange) {
    const checkLimits = (items: LimitRangeItem[] | undefined, path: string) => (items ?? []).forEach((item, i) => problems.push(...limitItemProblems(item, `${path}[${i}]`)));
    checkLimits(spec.limitRange.default, 'spec.limitRange.default');
    for (const [domain, items] of Object.entries(spec.limitRange.domains ?? {})) {
      if (!seen.has(domain)) add(`spec.limitRange.domains.${domain}`, `${q(domain)} is not ${known}`);
      checkLimits(items, `spec.limitRange.domains.${domain}`);
    }
  }
  for (const access of ACCESS) {
    spec.access[access].forEach((s, i) => {
      const path = `spec.access.${access}[${i}]`;
      if (s.kind === 'ServiceAccount') {
        if (!s.namespace) add(path, `ServiceAccount ${q(s.name)} needs a namespace`);
        else if (!DNS_LABEL.test(s.namespace)) add(`${path}.namespace`, `${q(s.namespace)} is not a namespace name`);
      } else if (s.namespace !== undefined) {
        add(`${path}.namespace`, `a ${s.kind} has no namespace (only a ServiceAccount does)`);
      }
    });
  }
  return problems;
}

const LIMIT_FIELDS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const;

/** What the API server would refuse in one LimitRange entry, said before any namespace is touched. */
function limitItemProblems(item: LimitRangeItem, path: string): Problem[] {
  const problems: Problem[] = [];
  for (const field of LIMIT_FIELDS) {
    for (const [resource, value] of Object.entries(item[field] ?? {})) {
      const parsed = parseQuantity(value);
      if (!parsed.ok) problems.push({ path: `${path}.${field}.${resource}`, message: parsed.error });
    }
  }
  if (problems.length) return problems;
  if (item.type !== 'Container') {
    for (const field of ['default', 'defaultRequest'] as const) {
      if (item[field] && Object.keys(item[field]).length) problems.push({ path: `${path}.${field}`, message: `only a Container limit has ${field}, not a ${item.type} one` });
    }
  }
  // min <= defaultRequest <= default <= max, resource by resource, as the API server checks.
  const order: [lower: (typeof LIMIT_FIELDS)[number], upper: (typeof LIMIT_FIELDS)[number]][] = [
    ['min', 'max'],
    ['min', 'defaultRequest'],
    ['defaultRequest', 'default'],
    ['default', 'max'],
    ['min', 'default'],
    ['defaultRequest', 'max'],
  ];
  for (const [lower, upper] of order) {
    for (const [resource, low] of Object.entries(item[lower] ?? {})) {
      const high = item[upper]?.[resource];
      if (high !== undefined && compareQuantities(low, high) === 1) {
        problems.push({ path: `${path}.${lower}.${resource}`, message: `${lower} ${resource} ${String(low)} is more than ${upper} ${String(high)}` });
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Desired objects

const nonEmpty = <T extends object>(v: T | undefined): v is T => v !== undefined && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);

/** The quota of a domain: its own entry (even {}: none) or else the default. */
export function quotaOf(spec: ProjectSpec, domain: string): ResourceList | undefined {
  const own = spec.quota?.domains?.[domain];
  const hard = own ?? spec.quota?.default;
  return nonEmpty(hard) ? hard : undefined;
}

export function limitsOf(spec: ProjectSpec, domain: string): LimitRangeItem[] | undefined {
  const own = spec.limitRange?.domains?.[domain];
  const limits = own ?? spec.limitRange?.default;
  return nonEmpty(limits) ? limits : undefined;
}

function rbacSubject(s: Subject): RbacSubject {
  return s.kind === 'ServiceAccount' ? { kind: s.kind, name: s.name, namespace: s.namespace } : { kind: s.kind, name: s.name, apiGroup: RBAC_GROUP };
}

export interface DesiredObjects {
  quota?: ResourceQuotaObject;
  limitRange?: LimitRangeObject;
  roleBindings: Partial<Record<Access, RoleBindingObject>>;
}

export function desiredObjects(project: string, domain: string, spec: ProjectSpec, roles: ProjectRoles): DesiredObjects {
  const namespace = namespaceName(project, domain);
  const meta = (name: string): ObjectMeta => ({ name, namespace, labels: objectLabels(project, domain) });
  const hard = quotaOf(spec, domain);
  const limits = limitsOf(spec, domain);
  const roleBindings: Partial<Record<Access, RoleBindingObject>> = {};
  for (const access of ACCESS) {
    const subjects = spec.access[access];
    if (!subjects.length) continue;
    roleBindings[access] = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(roleBindingName(access)),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleOf(roles, access) },
      subjects: subjects.map(rbacSubject),
    };
  }
  return {
    ...(hard ? { quota: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta(PROJECT_OBJECT_NAMES.quota), spec: { hard: { ...hard } } } } : {}),
    ...(limits ? { limitRange: { apiVersion: 'v1', kind: 'LimitRange', metadata: meta(PROJECT_OBJECT_NAMES.limitRange), spec: { limits: limits.map((l) => ({ ...l })) } } } : {}),
    roleBindings,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Comparing with what exists (as the API server stores it: quantities canonicalized, LimitRanges defaulted)

function sameResources(a: ResourceList | undefined, b: ResourceList | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && compareQuantities(a![k]!, b![k]!) === 0);
}

/** The API server's defaulting of a Container limit (SetDefaults_LimitRangeItem): default from max, defaultRequest from default, then min. */
export function defaultedLimitItem(item: LimitRangeItem): LimitRangeItem {
  if (item.type !== 'Container') return item;
  const def: ResourceList = { ...item.max, ...item.default };
  const defaultRequest: ResourceList = { ...item.min, ...def, ...item.defaultRequest };
  return { ...item, default: def, defaultRequest };
}

function sameLimits(observed: LimitRangeItem[] | undefined, desired: LimitRangeItem[]): boolean {
  const o = observed ?? [];
  return (
    o.length === desired.length &&
    desired.every((d, i) => {
      const want = defaultedLimitItem(d);
      const have = defaultedLimitItem(o[i]!);
      return have.type === want.type && LIMIT_FIELDS.every((f) => sameResources(have[f], want[f]));
    })
  );
}

const subjectKey = (s: RbacSubject) => `${s.kind}\u0000${s.name}\u0000${s.namespace ?? ''}\u0000${s.apiGroup ?? (s.kind === 'ServiceAccount' ? '' : RBAC_GROUP)}`;

function sameSubjects(a: RbacSubject[] | undefined, b: RbacSubject[] | undefined): boolean {
  const ka = (a ?? []).map(subjectKey);
  const kb = (b ?? []).map(subjectKey);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

const hasLabels = (have: Labels | undefined, want: Labels): boolean => Object.entries(want).every(([k, v]) => have?.[k] === v);

/** Writes that make what exists in a namespace equal to what is desired; none when it already is. */
export function objectWrites(namespace: string, desired: DesiredObjects, observed: ObservedObjects = {}): ObjectWrite[] {
  const writes: ObjectWrite[] = [];
  // Quota
  const dq = desired.quota;
  const oq = observed.quota;
  const name = (n: string) => ({ namespace, name: n });
  if (dq) {
    const patch = { metadata: { labels: dq.metadata.labels }, spec: { hard: withRemovals(dq.spec.hard, oq?.spec.hard), scopes: null, scopeSelector: null } };
    if (!oq) writes.push({ op: 'create', resource: 'resourcequotas', ...name(dq.metadata.name), object: dq, fallback: patch });
    else if (!hasLabels(oq.metadata.labels, dq.metadata.labels!) || !sameResources(oq.spec.hard, dq.spec.hard) || oq.spec.scopes?.length || oq.spec.scopeSelector) {
      writes.push({ op: 'patch', resource: 'resourcequotas', ...name(dq.metadata.name), patch });
    }
  } else if (oq) {
    writes.push({ op: 'delete', resource: 'resourcequotas', ...name(oq.metadata.name) });
  }
  // LimitRange
  const dl = desired.limitRange;
  const ol = observed.limitRange;
  if (dl) {
    const patch = { metadata: { labels: dl.metadata.labels }, spec: { limits: dl.spec.limits } };
    if (!ol) writes.push({ op: 'create', resource: 'limitranges', ...name(dl.metadata.name), object: dl, fallback: patch });
    else if (!hasLabels(ol.metadata.labels, dl.metadata.labels!) || !sameLimits(ol.spec.limits, dl.spec.limits)) {
      writes.push({ op: 'patch', resource: 'limitranges', ...name(dl.metadata.name), patch });
    }
  } else if (ol) {
    writes.push({ op: 'delete', resource: 'limitranges', ...name(ol.metadata.name) });
  }
  // RoleBindings
  for (const access of ACCESS) {
    const d = desired.roleBindings[access];
    const o = observed.roleBindings?.[access];
    if (d) {
      const patch = { metadata: { labels: d.metadata.labels }, subjects: d.subjects };
      const roleRefChanged = o && (o.roleRef.name !== d.roleRef.name || o.roleRef.kind !== d.roleRef.kind);
      // A roleRef cannot change: a RoleBinding to another role is deleted and created anew.
      if (roleRefChanged) writes.push({ op: 'delete', resource: 'rolebindings', ...name(d.metadata.name) });
      if (!o || roleRefChanged) writes.push({ op: 'create', resource: 'rolebindings', ...name(d.metadata.name), object: d, fallback: patch });
      else if (!hasLabels(o.metadata.labels, d.metadata.labels!) || !sameSubjects(o.subjects, d.subjects)) {
        writes.push({ op: 'patch', resource: 'rolebindings', ...name(d.metadata.name), patch });
      }
    } else if (o) {
      writes.push({ op: 'delete', resource: 'rolebindings', ...name(o.metadata.name) });
    }
  }
  return writes;
}

/** A merge patch value for a map: the wanted entries, and null for every entry to remove. */
function withRemovals(want: ResourceList, have: ResourceList | undefined): Record<string, Quantity | null> {
  const out: Record<string, Quantity | null> = { ...want };
  for (const k of Object.keys(have ?? {})) if (!(k in want)) out[k] = null;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The plan

export interface PlanInput {
  project: ProjectRef;
  spec: ProjectSpec;
  /** The namespaces that belong to the project, and those of the names it wants; other entries are ignored. */
  namespaces: ReadonlyMap<string, ObservedNamespace>;
  roles: ProjectRoles;
}

/**
 * What to do about every namespace of a project. Level-based: the same input always gives the same plan,
 * and a plan applied and observed gives one with nothing left to do.
 */
export function planProject(input: PlanInput): ProjectPlan {
  const { project, spec, namespaces, roles } = input;
  const owned = [...namespaces.values()].filter((ns) => belongsTo(ns, project.name));
  // A Project being deleted only has its deletion policy applied, whatever else its spec says.
  const problems = project.deleting ? [] : validateProject(project.name, spec);
  if (problems.length) {
    // Nothing is written for an invalid spec; not even the namespaces of removed domains are touched.
    return { problems, namespaces: sortByName(owned.map((ns) => ({ name: ns.name, domain: ns.labels[DOMAIN_LABEL]!, state: observedState(ns), action: { kind: 'none' } }))) };
  }
  const plans: NamespacePlan[] = [];
  const wanted = new Set<string>();
  if (!project.deleting) {
    for (const domain of spec.domains) {
      const name = namespaceName(project.name, domain);
      wanted.add(name);
      plans.push(planDomain(project, spec, roles, domain, namespaces.get(name)));
    }
  }
  for (const ns of owned) if (!wanted.has(ns.name)) plans.push(planRemoved(project, spec, ns));
  return { problems: [], namespaces: sortByName(plans) };
}

const sortByName = (plans: NamespacePlan[]) => plans.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

function observedState(ns: ObservedNamespace): NamespaceState {
  if (ns.deleting) return 'Deleting';
  return isManaged(ns) ? 'Active' : 'Released';
}

/** The owner references a namespace of the project should have: ours only under deletionPolicy Delete; others untouched. */
function wantedOwnerReferences(project: ProjectRef, spec: ProjectSpec, current: readonly OwnerReference[]): OwnerReference[] {
  const others = current.filter((r) => !isProjectRef(r, project.name));
  return spec.deletionPolicy === 'Delete' ? [...others, projectOwnerReference(project)] : others;
}

const sameOwnerReferences = (a: readonly OwnerReference[], b: readonly OwnerReference[]): boolean =>
  a.length === b.length && a.every((r, i) => r.uid === b[i]!.uid && r.name === b[i]!.name && r.kind === b[i]!.kind && r.apiVersion === b[i]!.apiVersion && !r.blockOwnerDeletion === !b[i]!.blockOwnerDeletion);

function planDomain(project: ProjectRef, spec: ProjectSpec, roles: ProjectRoles, domain: string, ns: ObservedNamespace | undefined): NamespacePlan {
  const name = namespaceName(project.name, domain);
  const labels = objectLabels(project.name, domain);
  const desired = desiredObjects(project.name, domain, spec, roles);
  if (!ns) {
    const ownerReferences = wantedOwnerReferences(project, spec, []);
    return {
      name,
      domain,
      state: 'Creating',
      action: {
        kind: 'create',
        namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, ...(ownerReferences.length ? { ownerReferences } : {}) } },
        writes: objectWrites(name, desired),
      },
    };
  }
  if (!belongsTo(ns, project.name)) {
    const other = ns.labels[PROJECT_LABEL];
    const message = other
      ? `namespace ${q(name)} belongs to project ${q(other)} (domain ${q(ns.labels[DOMAIN_LABEL] ?? '')}); left alone`
      : `namespace ${q(name)} exists and is not a project's; left alone (to adopt it, label it ${PROJECT_LABEL}=${project.name} and ${DOMAIN_LABEL}=${domain})`;
    return { name, domain, state: 'Conflict', action: { kind: 'none' }, message };
  }
  if (ns.deleting) return { name, domain, state: 'Terminating', action: { kind: 'none' }, message: 'being deleted; created again once it is gone' };
  const patch: NamespacePatch = {};
  const missing = Object.entries(labels).filter(([k, v]) => ns.labels[k] !== v);
  if (missing.length) patch.labels = Object.fromEntries(missing);
  const ownerReferences = wantedOwnerReferences(project, spec, ns.ownerReferences);
  if (!sameOwnerReferences(ownerReferences, ns.ownerReferences)) patch.ownerReferences = ownerReferences;
  const writes = objectWrites(name, desired, ns.objects);
  const patching = patch.labels !== undefined || patch.ownerReferences !== undefined;
  if (patching) patch.resourceVersion = ns.resourceVersion;
  const adopting = !isManaged(ns);
  return {
    name,
    domain,
    state: patching || writes.length ? 'Creating' : 'Active',
    action: { kind: 'update', ...(patching ? { patch } : {}), writes },
    ...(adopting ? { message: 'managed again: its domain is back' } : {}),
  };
}

/** The same in the round that releases a namespace and in every round after, so the status does not flap. */
const RELEASED = 'retained as it is (its domain was removed) and no longer managed';

function planRemoved(project: ProjectRef, spec: ProjectSpec, ns: ObservedNamespace): NamespacePlan {
  const base = { name: ns.name, domain: ns.labels[DOMAIN_LABEL]! };
  const why = project.deleting ? 'the project is being deleted' : 'its domain was removed';
  if (ns.deleting) return { ...base, state: 'Deleting', action: { kind: 'none' }, workflows: ns.workflows };
  if (!isManaged(ns)) {
    // Released before: left alone for good, even if the policy has changed since.
    const strip = ns.ownerReferences.filter((r) => !isProjectRef(r, project.name));
    if (strip.length !== ns.ownerReferences.length) {
      return { ...base, state: 'Released', action: { kind: 'release', patch: { resourceVersion: ns.resourceVersion, ownerReferences: strip } }, message: RELEASED };
    }
    return { ...base, state: 'Released', action: { kind: 'none' }, message: RELEASED };
  }
  const release = (message: string): NamespacePlan => ({
    ...base,
    state: 'Released',
    action: { kind: 'release', patch: releasePatch(project, ns) },
    message,
    ...(ns.workflows ? { workflows: ns.workflows } : {}),
  });
  switch (spec.deletionPolicy) {
    case 'Retain':
      return release(RELEASED);
    case 'Delete':
      return { ...base, state: 'Deleting', action: { kind: 'delete', resourceVersion: ns.resourceVersion, requireEmpty: false }, workflows: ns.workflows, message: `deleted (deletionPolicy Delete): ${why}` };
    case 'DeleteEmpty': {
      if (ns.workflows === 0) return { ...base, state: 'Deleting', action: { kind: 'delete', resourceVersion: ns.resourceVersion, requireEmpty: true }, workflows: 0, message: `deleted (deletionPolicy DeleteEmpty): ${why} and it holds no FlyteWorkflows` };
      const held = `holds ${ns.workflows} FlyteWorkflow${ns.workflows === 1 ? '' : 's'}`;
      if (project.deleting) return release(`retained (deletionPolicy DeleteEmpty): the project is being deleted and it ${held}; no longer managed`);
      // Kept as it is until its workflows are gone; an owner reference left from an earlier Delete policy goes now.
      const ownerReferences = ns.ownerReferences.filter((r) => !isProjectRef(r, project.name));
      const action: NamespaceAction =
        ownerReferences.length !== ns.ownerReferences.length ? { kind: 'update', patch: { resourceVersion: ns.resourceVersion, ownerReferences }, writes: [] } : { kind: 'none' };
      return { ...base, state: 'Waiting', action, workflows: ns.workflows, message: `${why} and it ${held}; deleted once there are none (deletionPolicy DeleteEmpty)` };
    }
  }
}

/** No longer managed: the managed-by label and any owner reference to the project go; its project and domain labels stay. */
function releasePatch(project: ProjectRef, ns: ObservedNamespace): NamespacePatch {
  const patch: NamespacePatch = { resourceVersion: ns.resourceVersion, labels: { [LABELS.managedBy]: null } };
  const ownerReferences = ns.ownerReferences.filter((r) => !isProjectRef(r, project.name));
  if (ownerReferences.length !== ns.ownerReferences.length) patch.ownerReferences = ownerReferences;
  return patch;
}

// ---------------------------------------------------------------------------------------------------------
// Status

export interface StatusInput {
  plan: ProjectPlan;
  /** The namespaces whose actions failed in this round, with why. */
  failures: ReadonlyMap<string, string>;
  /** The namespaces whose actions all succeeded in this round. */
  applied: ReadonlySet<string>;
  generation?: number;
  deleting: boolean;
  previous?: ProjectStatus;
  now: string;
}

/** The status a round leaves: phase, message, the namespaces with their state, and the Ready condition. */
export function projectStatus(input: StatusInput): ProjectStatus {
  const { plan, failures, applied } = input;
  const namespaces = plan.namespaces.map((p) => {
    let state = p.state;
    if (applied.has(p.name) && state === 'Creating') state = 'Active';
    const failure = failures.get(p.name);
    const message = failure ?? (state === 'Active' ? undefined : p.message);
    return { name: p.name, domain: p.domain, state, ...(p.workflows !== undefined ? { workflows: p.workflows } : {}), ...(message ? { message } : {}) };
  });
  let phase: ProjectPhase;
  let message: string;
  const conflicts = namespaces.filter((n) => n.state === 'Conflict');
  const failed = namespaces.filter((n) => failures.has(n.name));
  const busy = namespaces.filter((n) => ['Creating', 'Terminating', 'Deleting'].includes(n.state));
  const active = namespaces.filter((n) => n.state === 'Active').length;
  const waiting = namespaces.filter((n) => n.state === 'Waiting');
  if (plan.problems.length) {
    phase = 'Invalid';
    message = plan.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  } else if (input.deleting) {
    phase = 'Terminating';
    message = failed.length ? failed.map((n) => `${n.name}: ${n.message}`).join('; ') : 'applying the deletion policy to its namespaces';
  } else if (failed.length || conflicts.length) {
    phase = 'Degraded';
    message = [...failed, ...conflicts].map((n) => `${n.name}: ${n.message}`).join('; ');
  } else if (busy.length) {
    phase = 'Progressing';
    message = `${busy.map((n) => `${n.name} ${n.state.toLowerCase()}`).join(', ')}`;
  } else {
    phase = 'Ready';
    message = `${active} namespace${active === 1 ? '' : 's'} active${waiting.length ? `; ${waiting.map((n) => `${n.name} waits: ${n.message}`).join('; ')}` : ''}`;
  }
  const ready: ProjectCondition = {
    type: 'Ready',
    status: phase === 'Ready' ? 'True' : 'False',
    reason: phase,
    message,
    lastTransitionTime: input.now,
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
  };
  const before = input.previous?.conditions?.find((c) => c.type === 'Ready');
  if (before && before.status === ready.status) ready.lastTransitionTime = before.lastTransitionTime;
  return {
    phase,
    message,
    namespaces,
    conditions: [ready],
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
  };
}

/** Whether two statuses say the same thing (so the second need not be written). */
export function sameStatus(a: ProjectStatus | undefined, b: ProjectStatus): boolean {
  return JSON.stringify(canonical(a ?? {})) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

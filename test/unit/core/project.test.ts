// The pure core of Projects: validation, the objects of a domain namespace, the deletion policies, and
// that a plan applied and observed leaves nothing to do.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProjectSpec, type ProjectSpecInput } from '../../../src/api/project.ts';
import {
  defaultedLimitItem,
  desiredObjects,
  objectWrites,
  planProject,
  projectStatus,
  sameStatus,
  tenancyLabels,
  validateProject,
  type NamespaceAction,
  type NamespacePlan,
  type ObservedNamespace,
  type ObservedObjects,
  type ProjectPlan,
} from '../../../src/core/project.ts';

// Spelled out, not imported: the tests check the documented contract.
const PROJECT = 'flyte.propeller.dev/project';
const DOMAIN = 'flyte.propeller.dev/domain';
const MANAGED = 'app.kubernetes.io/managed-by';
const ROLES = { viewer: 'propeller-viewer', submitter: 'propeller-submitter', admin: 'propeller-admin' };
const UID = 'uid-1';

const spec = (s: ProjectSpecInput = {}) => ProjectSpec.parse(s);
const project = (deleting = false) => ({ name: 'ml', uid: UID, deleting });

function owned(domain: string, o: Partial<ObservedNamespace> = {}): ObservedNamespace {
  return {
    name: `ml-${domain}`,
    labels: { [PROJECT]: 'ml', [DOMAIN]: domain, [MANAGED]: 'propeller' },
    ownerReferences: [],
    resourceVersion: '7',
    deleting: false,
    workflows: 0,
    ...o,
  };
}

const byName = (list: ObservedNamespace[]) => new Map(list.map((n) => [n.name, n]));

function plan(s: ProjectSpecInput, namespaces: ObservedNamespace[] = [], deleting = false): ProjectPlan {
  return planProject({ project: project(deleting), spec: spec(s), namespaces: byName(namespaces), roles: ROLES });
}

function only(p: ProjectPlan, name: string): NamespacePlan {
  const found = p.namespaces.find((n) => n.name === name);
  assert.ok(found, `a plan for ${name} among ${p.namespaces.map((n) => n.name).join(', ')}`);
  return found;
}

/** What the API server would hold after the plan's writes to one namespace (creates and patches of whole values). */
function applied(ns: ObservedNamespace | undefined, action: NamespaceAction): ObservedNamespace | undefined {
  const objects: ObservedObjects = structuredClone(ns?.objects ?? {});
  const writes = action.kind === 'create' || action.kind === 'update' ? action.writes : [];
  for (const w of writes) {
    const slot = w.resource === 'resourcequotas' ? 'quota' : w.resource === 'limitranges' ? 'limitRange' : 'roleBindings';
    const access = w.name === 'propeller-viewers' ? 'viewers' : w.name === 'propeller-submitters' ? 'submitters' : 'admins';
    if (w.op === 'delete') {
      if (slot === 'roleBindings') delete objects.roleBindings?.[access];
      else delete objects[slot];
    } else if (w.op === 'create') {
      if (slot === 'roleBindings') objects.roleBindings = { ...objects.roleBindings, [access]: structuredClone(w.object) as never };
      else (objects as Record<string, unknown>)[slot] = structuredClone(w.object);
    } else {
      const patch = w.patch as { metadata: { labels: Record<string, string> }; spec?: Record<string, unknown>; subjects?: unknown };
      const target = (slot === 'roleBindings' ? objects.roleBindings?.[access] : objects[slot]) as Record<string, any>;
      target['metadata'].labels = { ...target['metadata'].labels, ...patch.metadata.labels };
      if (patch.subjects) target['subjects'] = patch.subjects;
      if (patch.spec?.['hard']) target['spec'].hard = Object.fromEntries(Object.entries(patch.spec['hard'] as object).filter(([, v]) => v !== null));
      if (patch.spec?.['limits']) target['spec'].limits = patch.spec['limits'];
    }
  }
  if (action.kind === 'create') return { name: action.namespace.metadata.name, labels: action.namespace.metadata.labels, ownerReferences: action.namespace.metadata.ownerReferences ?? [], deleting: false, workflows: 0, objects };
  if (action.kind === 'update' && ns) {
    const labels = { ...ns.labels };
    for (const [k, v] of Object.entries(action.patch?.labels ?? {})) if (v === null) delete labels[k];
    else labels[k] = v;
    return { ...ns, labels, ownerReferences: action.patch?.ownerReferences ?? ns.ownerReferences, objects };
  }
  return ns;
}

describe('validation', () => {
  test('a valid project has no problems', () => {
    assert.deepEqual(validateProject('ml', spec({ quota: { default: { cpu: '8' }, domains: { production: { cpu: 64 } } } })), []);
  });

  test('each problem names its field and says why', () => {
    const problems = validateProject(
      'ml',
      spec({
        domains: ['development', 'prod', 'prod', 'x'.repeat(61)],
        quota: { default: { cpu: 'lots' }, domains: { staging: { memory: '1Gi' } } },
        limitRange: {
          default: [{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }],
          domains: { prod: [{ type: 'Pod', default: { cpu: '1' } }] },
        },
        access: {
          viewers: [{ kind: 'ServiceAccount', name: 'ci' }],
          submitters: [{ kind: 'Group', name: 'ml-team', namespace: 'ml-development' }],
        },
      }),
    );
    assert.deepEqual(problems, [
      { path: 'spec.domains[2]', message: '"prod" is listed twice (also spec.domains[1])' },
      { path: 'spec.domains[3]', message: `the namespace "ml-${'x'.repeat(61)}" would be 64 characters; a namespace name is at most 63 (shorten the project or the domain name)` },
      { path: 'spec.quota.default.cpu', message: problems[2]!.message },
      { path: 'spec.quota.domains.staging', message: `"staging" is not one of spec.domains (development, prod, prod, ${'x'.repeat(61)})` },
      { path: 'spec.limitRange.default[0].min.cpu', message: 'min cpu 2 is more than max 1' },
      { path: 'spec.limitRange.domains.prod[0].default', message: 'only a Container limit has default, not a Pod one' },
      { path: 'spec.access.viewers[0]', message: 'ServiceAccount "ci" needs a namespace' },
      { path: 'spec.access.submitters[0].namespace', message: 'a Group has no namespace (only a ServiceAccount does)' },
    ]);
    assert.match(problems[2]!.message, /^"lots" is not a Kubernetes quantity/);
  });

  test('the project name must be a DNS label', () => {
    assert.deepEqual(validateProject('ml.team', spec()).map((p) => p.path), ['metadata.name']);
  });

  test('an invalid spec writes nothing, not even for removed domains', () => {
    const p = plan({ domains: ['development', 'development'], deletionPolicy: 'Delete' }, [owned('development'), owned('staging', { workflows: 3 })]);
    assert.equal(p.problems.length, 1);
    assert.ok(p.namespaces.every((n) => n.action.kind === 'none'), JSON.stringify(p.namespaces));
    assert.deepEqual(p.namespaces.map((n) => [n.name, n.state]), [['ml-development', 'Active'], ['ml-staging', 'Active']]);
    const status = projectStatus({ plan: p, failures: new Map(), applied: new Set(), deleting: false, now: 'T' });
    assert.equal(status.phase, 'Invalid');
    assert.equal(status.message, 'spec.domains[1]: "development" is listed twice (also spec.domains[0])');
  });
});

describe('a new project', () => {
  test('creates a labelled namespace per default domain, with no owner reference under Retain', () => {
    const p = plan({});
    assert.deepEqual(p.namespaces.map((n) => [n.name, n.domain, n.state, n.action.kind]), [
      ['ml-development', 'development', 'Creating', 'create'],
      ['ml-production', 'production', 'Creating', 'create'],
      ['ml-staging', 'staging', 'Creating', 'create'],
    ]);
    const create = only(p, 'ml-staging').action;
    assert.equal(create.kind, 'create');
    assert.deepEqual(create.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml-staging', labels: { [MANAGED]: 'propeller', [PROJECT]: 'ml', [DOMAIN]: 'staging' } } });
    assert.deepEqual(create.writes, [], 'no quota, limits or access asked for');
  });

  test('under Delete, the namespace has an owner reference to the Project, without blockOwnerDeletion', () => {
    const create = only(plan({ deletionPolicy: 'Delete' }), 'ml-staging').action;
    assert.equal(create.kind, 'create');
    assert.deepEqual(create.namespace.metadata.ownerReferences, [{ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', name: 'ml', uid: UID }]);
  });

  test('quota and limits per domain win over the default; {} and [] mean none', () => {
    const s = spec({
      quota: { default: { cpu: '8', memory: '16Gi' }, domains: { production: { cpu: '64' }, development: {} } },
      limitRange: { default: [{ type: 'Container', default: { cpu: '1' } }], domains: { staging: [] } },
      access: {
        viewers: [{ kind: 'Group', name: 'everyone' }],
        submitters: [{ kind: 'User', name: 'ana' }, { kind: 'ServiceAccount', name: 'ci', namespace: 'ci' }],
      },
    });
    const dev = desiredObjects('ml', 'development', s, ROLES);
    const staging = desiredObjects('ml', 'staging', s, ROLES);
    const prod = desiredObjects('ml', 'production', s, ROLES);
    assert.equal(dev.quota, undefined);
    assert.deepEqual(staging.quota?.spec.hard, { cpu: '8', memory: '16Gi' });
    assert.deepEqual(prod.quota?.spec.hard, { cpu: '64' }, 'replaced, not merged');
    assert.deepEqual(staging.quota?.metadata, { name: 'propeller-quota', namespace: 'ml-staging', labels: { [MANAGED]: 'propeller', [PROJECT]: 'ml', [DOMAIN]: 'staging' } });
    assert.equal(staging.limitRange, undefined);
    assert.deepEqual(prod.limitRange?.spec.limits, [{ type: 'Container', default: { cpu: '1' } }]);
    assert.equal(prod.limitRange?.metadata.name, 'propeller-limits');
    assert.deepEqual(prod.roleBindings.viewers?.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'propeller-viewer' });
    assert.deepEqual(prod.roleBindings.viewers?.subjects, [{ kind: 'Group', name: 'everyone', apiGroup: 'rbac.authorization.k8s.io' }]);
    assert.deepEqual(prod.roleBindings.submitters?.subjects, [
      { kind: 'User', name: 'ana', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'ci', namespace: 'ci' },
    ]);
    assert.equal(prod.roleBindings.submitters?.roleRef.name, 'propeller-submitter');
    assert.equal(prod.roleBindings.admins, undefined, 'no admins: no RoleBinding');
    assert.equal(prod.roleBindings.viewers?.metadata.name, 'propeller-viewers');
  });

  test('a plan applied and observed leaves nothing to do (level-based)', () => {
    const s: ProjectSpecInput = {
      deletionPolicy: 'Delete',
      quota: { default: { cpu: '8' } },
      limitRange: { default: [{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' } }] },
      access: { admins: [{ kind: 'Group', name: 'leads' }] },
    };
    let world: ObservedNamespace[] = [];
    for (let round = 0; round < 3; round++) {
      const p = plan(s, world);
      const next = new Map(world.map((n) => [n.name, n]));
      for (const n of p.namespaces) {
        const after = applied(next.get(n.name), n.action);
        if (after) next.set(n.name, after);
      }
      world = [...next.values()];
      if (round === 0) assert.ok(p.namespaces.every((n) => n.action.kind === 'create'));
      if (round >= 1) {
        assert.deepEqual(
          p.namespaces.map((n) => [n.name, n.state, n.action.kind === 'update' ? n.action.writes.length + (n.action.patch ? 1 : 0) : n.action.kind]),
          [['ml-development', 'Active', 0], ['ml-production', 'Active', 0], ['ml-staging', 'Active', 0]],
          `round ${round}`,
        );
      }
    }
  });
});

describe('keeping objects equal to the spec', () => {
  const s = spec({ quota: { default: { cpu: '1', memory: '1Gi' } }, limitRange: { default: [{ type: 'Container', max: { cpu: '2' } }] }, access: { viewers: [{ kind: 'Group', name: 'g' }] } });
  const desired = desiredObjects('ml', 'development', s, ROLES);
  const labels = desired.quota!.metadata.labels!;

  test('what the API server stores (canonical quantities, defaulted limits, subject apiGroups) counts as equal', () => {
    const observed: ObservedObjects = {
      quota: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'propeller-quota', namespace: 'ml-development', labels }, spec: { hard: { cpu: '1000m', memory: '1024Mi' } } },
      limitRange: {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'propeller-limits', namespace: 'ml-development', labels },
        spec: { limits: [defaultedLimitItem({ type: 'Container', max: { cpu: '2' } })] },
      },
      roleBindings: { viewers: { ...structuredClone(desired.roleBindings.viewers!), subjects: [{ kind: 'Group', name: 'g', apiGroup: 'rbac.authorization.k8s.io' }] } },
    };
    assert.deepEqual(observed.limitRange!.spec.limits[0], { type: 'Container', max: { cpu: '2' }, default: { cpu: '2' }, defaultRequest: { cpu: '2' } });
    assert.deepEqual(objectWrites('ml-development', desired, observed), []);
  });

  test('drift is patched back: changed and extra quota entries, subjects, lost labels', () => {
    const observed: ObservedObjects = {
      quota: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'propeller-quota', namespace: 'ml-development', labels }, spec: { hard: { cpu: '4', memory: '1Gi', pods: '10' } } },
      limitRange: { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'propeller-limits', namespace: 'ml-development', labels: {} }, spec: { limits: [defaultedLimitItem({ type: 'Container', max: { cpu: '2' } })] } },
      roleBindings: { viewers: { ...structuredClone(desired.roleBindings.viewers!), subjects: [{ kind: 'Group', name: 'g' }, { kind: 'User', name: 'intruder' }] } },
    };
    assert.deepEqual(objectWrites('ml-development', desired, observed), [
      { op: 'patch', resource: 'resourcequotas', namespace: 'ml-development', name: 'propeller-quota', patch: { metadata: { labels }, spec: { hard: { cpu: '1', memory: '1Gi', pods: null }, scopes: null, scopeSelector: null } } },
      { op: 'patch', resource: 'limitranges', namespace: 'ml-development', name: 'propeller-limits', patch: { metadata: { labels }, spec: { limits: [{ type: 'Container', max: { cpu: '2' } }] } } },
      { op: 'patch', resource: 'rolebindings', namespace: 'ml-development', name: 'propeller-viewers', patch: { metadata: { labels }, subjects: [{ kind: 'Group', name: 'g', apiGroup: 'rbac.authorization.k8s.io' }] } },
    ]);
  });

  test('objects the spec no longer asks for are deleted; a RoleBinding to another role is recreated', () => {
    const none = desiredObjects('ml', 'development', spec({ access: { viewers: [{ kind: 'Group', name: 'g' }] } }), { ...ROLES, viewer: 'other-viewer' });
    const observed: ObservedObjects = {
      quota: structuredClone(desired.quota),
      limitRange: structuredClone(desired.limitRange),
      roleBindings: { viewers: structuredClone(desired.roleBindings.viewers), admins: { ...structuredClone(desired.roleBindings.viewers!), metadata: { ...desired.roleBindings.viewers!.metadata, name: 'propeller-admins' } } },
    };
    assert.deepEqual(
      objectWrites('ml-development', none, observed).map((w) => `${w.op} ${w.resource}/${w.name}`),
      ['delete resourcequotas/propeller-quota', 'delete limitranges/propeller-limits', 'delete rolebindings/propeller-viewers', 'create rolebindings/propeller-viewers', 'delete rolebindings/propeller-admins'],
    );
  });

  test('a create that meets an existing object falls back to a patch of the whole desired content', () => {
    const [w] = objectWrites('ml-development', { roleBindings: {}, quota: desired.quota });
    assert.equal(w?.op, 'create');
    assert.deepEqual(w?.op === 'create' && w.fallback, { metadata: { labels }, spec: { hard: { cpu: '1', memory: '1Gi' }, scopes: null, scopeSelector: null } });
  });
});

describe('existing namespaces', () => {
  test('a namespace of a wanted name that is not the project\'s is a Conflict, never written', () => {
    const foreign: ObservedNamespace = { name: 'ml-staging', labels: { team: 'x' }, ownerReferences: [], deleting: false, workflows: 5 };
    const other: ObservedNamespace = { name: 'ml-production', labels: { [PROJECT]: 'ml-production-x', [DOMAIN]: 'y' }, ownerReferences: [], deleting: false, workflows: 0 };
    const p = plan({}, [foreign, other]);
    const staging = only(p, 'ml-staging');
    assert.deepEqual([staging.state, staging.action.kind], ['Conflict', 'none']);
    assert.equal(staging.message, 'namespace "ml-staging" exists and is not a project\'s; left alone (to adopt it, label it flyte.propeller.dev/project=ml and flyte.propeller.dev/domain=staging)');
    assert.equal(only(p, 'ml-production').message, 'namespace "ml-production" belongs to project "ml-production-x" (domain "y"); left alone');
    const status = projectStatus({ plan: p, failures: new Map(), applied: new Set(['ml-development']), deleting: false, now: 'T' });
    assert.equal(status.phase, 'Degraded');
    assert.match(status.message!, /^ml-production: namespace "ml-production" belongs to project/);
  });

  test('project a-b domain dev and project a domain b-dev want the same namespace: the one holding it wins', () => {
    const held = { name: 'a-b-dev', labels: { [PROJECT]: 'a', [DOMAIN]: 'b-dev', [MANAGED]: 'propeller' }, ownerReferences: [], deleting: false, workflows: 0 };
    const p = planProject({ project: { name: 'a-b', uid: 'u2', deleting: false }, spec: spec({ domains: ['dev'] }), namespaces: byName([held]), roles: ROLES });
    assert.equal(only(p, 'a-b-dev').state, 'Conflict');
    const q = planProject({ project: { name: 'a', uid: 'u1', deleting: false }, spec: spec({ domains: ['b-dev'] }), namespaces: byName([held]), roles: ROLES });
    assert.equal(only(q, 'a-b-dev').state, 'Active');
  });

  test('a namespace labelled for the project under another name is not the project\'s', () => {
    const odd = { name: 'elsewhere', labels: { [PROJECT]: 'ml', [DOMAIN]: 'development', [MANAGED]: 'propeller' }, ownerReferences: [], deleting: false, workflows: 0 };
    const p = plan({ domains: ['staging'], deletionPolicy: 'Delete' }, [odd]);
    assert.deepEqual(p.namespaces.map((n) => n.name), ['ml-staging'], 'never deleted nor released: not ours');
  });

  test('missing labels and owner references are patched, conditional on the version seen; other owners stay', () => {
    const foreignRef = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'x1' };
    const stale = { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', name: 'ml', uid: 'old-uid' };
    const ns = owned('development', { labels: { [PROJECT]: 'ml', [DOMAIN]: 'development' }, ownerReferences: [foreignRef, stale] });
    const dev = only(plan({ domains: ['development'], deletionPolicy: 'Delete' }, [ns]), 'ml-development');
    assert.deepEqual(dev.action, {
      kind: 'update',
      patch: { labels: { [MANAGED]: 'propeller' }, ownerReferences: [foreignRef, { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', name: 'ml', uid: UID }], resourceVersion: '7' },
      writes: [],
    });
    assert.equal(dev.message, 'managed again: its domain is back');
    // Under Retain the owner reference goes: the garbage collector must never be able to take the namespace.
    const retain = only(plan({ domains: ['development'] }, [owned('development', { ownerReferences: [foreignRef, stale] })]), 'ml-development');
    assert.deepEqual(retain.action, { kind: 'update', patch: { ownerReferences: [foreignRef], resourceVersion: '7' }, writes: [] });
  });

  test('a wanted namespace being deleted is waited for, then created again', () => {
    const p = plan({ domains: ['development'] }, [owned('development', { deleting: true })]);
    assert.deepEqual([only(p, 'ml-development').state, only(p, 'ml-development').action.kind], ['Terminating', 'none']);
    assert.equal(projectStatus({ plan: p, failures: new Map(), applied: new Set(), deleting: false, now: 'T' }).phase, 'Progressing');
  });
});

describe('a removed domain, under each deletion policy', () => {
  const cases: [policy: 'Retain' | 'DeleteEmpty' | 'Delete', workflows: number, state: string, action: string][] = [
    ['Retain', 0, 'Released', 'release'],
    ['Retain', 2, 'Released', 'release'],
    ['DeleteEmpty', 0, 'Deleting', 'delete'],
    ['DeleteEmpty', 2, 'Waiting', 'none'],
    ['Delete', 0, 'Deleting', 'delete'],
    ['Delete', 2, 'Deleting', 'delete'],
  ];
  for (const [policy, workflows, state, action] of cases) {
    test(`${policy}, ${workflows} workflows: ${state}`, () => {
      const p = plan({ domains: ['development'], deletionPolicy: policy }, [owned('development'), owned('staging', { workflows })]);
      const staging = only(p, 'ml-staging');
      assert.deepEqual([staging.state, staging.action.kind], [state, action], staging.message);
      if (staging.action.kind === 'delete') {
        assert.equal(staging.action.requireEmpty, policy === 'DeleteEmpty', 'DeleteEmpty checks again right before deleting');
        assert.equal(staging.action.resourceVersion, '7', 'and only the namespace as seen');
      }
      if (staging.action.kind === 'release') assert.deepEqual(staging.action.patch, { resourceVersion: '7', labels: { [MANAGED]: null } }, 'only managed-by goes: project and domain stay');
      // The kept domain is untouched, but for the owner reference that Delete wants on it.
      assert.equal(only(p, 'ml-development').state, policy === 'Delete' ? 'Creating' : 'Active');
    });
  }

  test('Waiting says why, counts the workflows and keeps the project Ready', () => {
    const p = plan({ domains: ['development'], deletionPolicy: 'DeleteEmpty' }, [owned('development'), owned('staging', { workflows: 1 })]);
    const staging = only(p, 'ml-staging');
    assert.equal(staging.message, 'its domain was removed and it holds 1 FlyteWorkflow; deleted once there are none (deletionPolicy DeleteEmpty)');
    const status = projectStatus({ plan: p, failures: new Map(), applied: new Set(), deleting: false, now: 'T' });
    assert.equal(status.phase, 'Ready');
    assert.deepEqual(status.namespaces?.find((n) => n.name === 'ml-staging'), { name: 'ml-staging', domain: 'staging', state: 'Waiting', workflows: 1, message: staging.message });
  });

  test('Waiting drops an owner reference left from an earlier Delete policy', () => {
    const ref = { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', name: 'ml', uid: UID };
    const staging = only(plan({ domains: ['development'], deletionPolicy: 'DeleteEmpty' }, [owned('staging', { workflows: 3, ownerReferences: [ref] })]), 'ml-staging');
    assert.deepEqual([staging.state, staging.action], ['Waiting', { kind: 'update', patch: { resourceVersion: '7', ownerReferences: [] }, writes: [] }]);
  });

  test('a released namespace stays released for good, even under Delete', () => {
    const released = owned('staging', { labels: { [PROJECT]: 'ml', [DOMAIN]: 'staging' }, workflows: 0 });
    const staging = only(plan({ domains: ['development'], deletionPolicy: 'Delete' }, [released]), 'ml-staging');
    assert.deepEqual([staging.state, staging.action.kind], ['Released', 'none']);
    // The status says the same as in the round that released it, so it does not change back and forth.
    const releasing = only(plan({ domains: ['development'] }, [owned('staging')]), 'ml-staging');
    assert.equal(staging.message, releasing.message);
    assert.equal(staging.message, 'retained as it is (its domain was removed) and no longer managed');
  });

  test('a released namespace whose domain comes back is managed again', () => {
    const released = owned('staging', { labels: { [PROJECT]: 'ml', [DOMAIN]: 'staging' } });
    const staging = only(plan({ domains: ['staging'] }, [released]), 'ml-staging');
    assert.deepEqual([staging.state, staging.action], ['Creating', { kind: 'update', patch: { labels: { [MANAGED]: 'propeller' }, resourceVersion: '7' }, writes: [] }]);
  });
});

describe('deleting the project', () => {
  const world = [owned('development', { workflows: 0 }), owned('staging', { workflows: 4 }), owned('production', { workflows: 1, deleting: true })];
  const cases: [policy: 'Retain' | 'DeleteEmpty' | 'Delete', expected: [string, string, string][]][] = [
    ['Retain', [['ml-development', 'Released', 'release'], ['ml-production', 'Deleting', 'none'], ['ml-staging', 'Released', 'release']]],
    ['DeleteEmpty', [['ml-development', 'Deleting', 'delete'], ['ml-production', 'Deleting', 'none'], ['ml-staging', 'Released', 'release']]],
    ['Delete', [['ml-development', 'Deleting', 'delete'], ['ml-production', 'Deleting', 'none'], ['ml-staging', 'Deleting', 'delete']]],
  ];
  for (const [policy, expected] of cases) {
    test(`${policy}: every namespace follows the policy; none is waited for`, () => {
      const p = plan({ deletionPolicy: policy }, world, true);
      assert.deepEqual(p.namespaces.map((n) => [n.name, n.state, n.action.kind]), expected);
      const status = projectStatus({ plan: p, failures: new Map(), applied: new Set(), deleting: true, now: 'T' });
      assert.equal(status.phase, 'Terminating');
    });
  }

  test('a spec problem does not stop the deletion policy', () => {
    const p = plan({ domains: ['development', 'development'], deletionPolicy: 'Delete' }, [owned('development')], true);
    assert.deepEqual(p.problems, []);
    assert.equal(only(p, 'ml-development').action.kind, 'delete');
  });
});

describe('status', () => {
  test('Ready keeps its lastTransitionTime while it stays true; a same status is not written again', () => {
    const p = plan({ domains: ['development'] }, [owned('development')]);
    const first = projectStatus({ plan: p, failures: new Map(), applied: new Set(), deleting: false, now: 'T1', generation: 2 });
    assert.deepEqual(first, {
      phase: 'Ready',
      message: '1 namespace active',
      namespaces: [{ name: 'ml-development', domain: 'development', state: 'Active' }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '1 namespace active', lastTransitionTime: 'T1', observedGeneration: 2 }],
      observedGeneration: 2,
    });
    const second = projectStatus({ plan: p, failures: new Map(), applied: new Set(), deleting: false, now: 'T2', generation: 2, previous: first });
    assert.equal(second.conditions?.[0]?.lastTransitionTime, 'T1');
    assert.ok(sameStatus(first, second));
  });

  test('a failed write makes the project Degraded, with the server\'s words', () => {
    const p = plan({ domains: ['development'] });
    const status = projectStatus({ plan: p, failures: new Map([['ml-development', 'create namespaces: Forbidden: no']]), applied: new Set(), deleting: false, now: 'T' });
    assert.equal(status.phase, 'Degraded');
    assert.equal(status.message, 'ml-development: create namespaces: Forbidden: no');
    assert.equal(status.conditions?.[0]?.status, 'False');
  });

  test('namespaces whose writes all succeeded are Active', () => {
    const p = plan({ domains: ['development'] });
    const status = projectStatus({ plan: p, failures: new Map(), applied: new Set(['ml-development']), deleting: false, now: 'T' });
    assert.deepEqual([status.phase, status.namespaces?.[0]?.state], ['Ready', 'Active']);
  });
});

describe('tenancyLabels', () => {
  test('project and domain from the namespace labels, as Flyte labels its workflows', () => {
    assert.deepEqual(tenancyLabels({ [PROJECT]: 'ml', [DOMAIN]: 'staging', other: 'x' }), { project: 'ml', domain: 'staging' });
  });
  test('nothing unless the namespace names both, as valid label values', () => {
    assert.deepEqual(tenancyLabels(undefined), {});
    assert.deepEqual(tenancyLabels({ [PROJECT]: 'ml' }), {});
    assert.deepEqual(tenancyLabels({ [PROJECT]: 'ml', [DOMAIN]: 'Not Valid' }), {});
  });
});

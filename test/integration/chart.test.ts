// The Helm chart and the plain manifests: lint and render them, install them into the local control
// plane, and run a real workflow with nothing but the chart's RBAC (a token of its ServiceAccount).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigSchema, type Config } from '../../src/config/schema.ts';
import { isNotFound } from '../../src/k8s/errors.ts';
import { KubeClient } from '../../src/k8s/rest.ts';
import { ensureBinaries } from '../../tools/controlplane/build.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { kubeconfigWithToken, selfSubjectAccessReview, serviceAccountToken } from './helpers/restricted.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { expectPhase, stopPropeller, waitForLog } from './helpers/e2e.ts';
import { createNamespace } from './helpers/namespace.ts';
import { startPropeller } from './helpers/propeller.ts';
import { createWorkflow, waitFor } from './helpers/workflows.ts';

const CHART = join(repoRoot, 'charts', 'propeller');
const CI_VALUES = join(CHART, 'ci');
const KUBE_VERSION = '1.34.0';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; generation?: number };
  [key: string]: unknown;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Role = K8sObject & { rules: Rule[] };
type Binding = K8sObject & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: unknown;
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  terminationGracePeriodSeconds: number;
  containers: Container[];
  volumes: { name: string; emptyDir?: unknown; configMap?: { name: string } }[];
  [key: string]: unknown;
}
type Deployment = K8sObject & {
  spec: { replicas: number; strategy: { type: string }; selector: { matchLabels: Record<string, string> }; template: { metadata: { annotations: Record<string, string>; labels: Record<string, string> }; spec: PodSpec } };
};

/** What the propeller does in a namespace it watches (src/k8s/): every rule set the chart grants must allow these. */
const WORKFLOW_PERMISSIONS: [group: string, resource: string, verbs: string[]][] = [
  ['flyte.propeller.dev', 'flyteworkflows', ['get', 'list', 'watch', 'patch', 'create', 'delete']],
  ['flyte.propeller.dev', 'workflowdefinitions', ['get', 'list', 'watch']],
  ['flyte.propeller.dev', 'launchplans', ['get', 'list', 'watch']],
  ['flyte.propeller.dev', 'workflowdefinitions/status', ['patch']],
  ['flyte.propeller.dev', 'launchplans/status', ['patch']],
  ['flyte.propeller.dev', 'flyteworkflows/status', ['patch']],
  ['flyte.propeller.dev', 'flyteworkflows/finalizers', ['update']],
  ['', 'pods', ['create', 'delete', 'get', 'list', 'watch']],
  ['', 'events', ['create', 'patch']],
  ['flyte.propeller.dev', 'cacheentries', ['get', 'list', 'watch', 'create', 'patch', 'delete']],
];

/**
 * What the Project controller does (src/k8s/project-gateway.ts), in the cluster-wide mode only, besides
 * reading FlyteWorkflows (which the workflow rules allow). `bind` is limited to the three project roles.
 */
const PROJECT_PERMISSIONS: [group: string, resource: string, verbs: string[]][] = [
  ['flyte.propeller.dev', 'projects', ['list', 'watch', 'patch']],
  ['flyte.propeller.dev', 'projects/status', ['patch']],
  ['', 'namespaces', ['list', 'watch', 'create', 'patch', 'delete']],
  ['', 'resourcequotas', ['list', 'watch', 'create', 'patch', 'delete']],
  ['', 'limitranges', ['list', 'watch', 'create', 'patch', 'delete']],
  ['rbac.authorization.k8s.io', 'rolebindings', ['list', 'watch', 'create', 'patch', 'delete']],
  ['rbac.authorization.k8s.io', 'clusterroles', ['bind']],
];

/** The three roles a Project's subjects are bound to, exactly (docs/projects.md). */
const VIEWER_RULES: Rule[] = [
  { apiGroups: ['flyte.propeller.dev'], resources: ['flyteworkflows', 'workflowdefinitions', 'launchplans', 'cacheentries'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods', 'pods/log', 'events'], verbs: ['get', 'list', 'watch'] },
];
const SUBMITTER_RULES: Rule[] = [
  ...VIEWER_RULES,
  { apiGroups: ['flyte.propeller.dev'], resources: ['flyteworkflows'], verbs: ['create', 'patch', 'delete'] },
  // Code bundles (a task's code.configMap): create only, never read the namespace's other ConfigMaps.
  { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
];
const ADMIN_RULES: Rule[] = [...SUBMITTER_RULES, { apiGroups: ['flyte.propeller.dev'], resources: ['workflowdefinitions', 'launchplans', 'cacheentries'], verbs: ['create', 'patch', 'delete'] }];

// ---------------------------------------------------------------------------------------------------------
// Commands

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const show = (r: RunResult) => `exit ${r.code}\n--- stdout:\n${r.stdout.slice(-4000)}\n--- stderr:\n${r.stderr.slice(-4000)}`;

async function ok(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const r = await run(command, args, env);
  assert.equal(r.code, 0, `${command.split('/').pop()} ${args.join(' ')}\n${show(r)}`);
  return r;
}

let helmBinary: string | undefined;
let helmHome: string | undefined;
before(async () => {
  helmBinary = (await ensureBinaries({ only: ['helm'] }))['helm'];
  // Helm keeps its repository config and cache under HOME; keep this run's out of the developer's.
  helmHome = await mkdtemp(join(tmpdir(), 'propeller-helm-'));
});
after(async () => {
  if (helmHome) await rm(helmHome, { recursive: true, force: true });
});

function helm(args: string[]): Promise<RunResult> {
  return run(helmBinary!, args, { HELM_CACHE_HOME: join(helmHome!, 'cache'), HELM_CONFIG_HOME: join(helmHome!, 'config'), HELM_DATA_HOME: join(helmHome!, 'data') });
}

const valuesFile = (name: string) => join(CI_VALUES, `${name}-values.yaml`);

async function template(opts: { values?: string[]; set?: string[]; release?: string; namespace?: string } = {}): Promise<K8sObject[]> {
  const args = ['template', opts.release ?? 'propeller', CHART, '--namespace', opts.namespace ?? 'propeller-system', '--kube-version', KUBE_VERSION];
  for (const v of opts.values ?? []) args.push('-f', valuesFile(v));
  for (const s of opts.set ?? []) args.push('--set', s);
  const r = await helm(args);
  assert.equal(r.code, 0, `helm ${args.join(' ')}\n${show(r)}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o);
}

function only<T extends K8sObject>(objects: K8sObject[], kind: string, name?: string, namespace?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name) && (namespace === undefined || o.metadata.namespace === namespace));
  assert.equal(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ''}${namespace ? ` in ${namespace}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).join(', ')}`);
  return found[0] as T;
}

const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind);

/** The config file the chart renders, parsed by the propeller's own loader (so it is valid, with no unknown keys). */
function renderedConfig(objects: K8sObject[]): Config {
  const cm = objects.find((o) => o.kind === 'ConfigMap') as (K8sObject & { data: Record<string, string> }) | undefined;
  assert.ok(cm?.data['config.yaml'], 'the ConfigMap holds config.yaml');
  return loadConfig(['--config', '/etc/propeller/config.yaml'], {}, () => cm.data['config.yaml']!);
}

function allows(rules: Rule[], group: string, resource: string, verb: string, name?: string): boolean {
  return rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb) && (!r.resourceNames?.length || (name !== undefined && r.resourceNames.includes(name))));
}

function assertWorkflowRules(role: Role): void {
  for (const [group, resource, verbs] of WORKFLOW_PERMISSIONS) {
    for (const verb of verbs) assert.ok(allows(role.rules, group, resource, verb), `${role.kind} ${role.metadata.name} allows ${verb} ${resource}`);
  }
  const granted = role.rules.flatMap((r) => r.resources.map((res) => `${res}:${[...r.verbs].sort().join(',')}`)).sort();
  const wanted = WORKFLOW_PERMISSIONS.map(([, res, verbs]) => `${res}:${[...verbs].sort().join(',')}`).sort();
  assert.deepEqual(granted, wanted, `${role.kind} ${role.metadata.name} grants exactly what the propeller uses`);
}

/** The Project controller's ClusterRole, its binding, the three project roles and the admission policy, for release `full`. */
function assertProjectRbac(objects: K8sObject[], full: string, serviceAccount: string, namespace: string): void {
  const role = only<Role>(objects, 'ClusterRole', `${full}-projects`);
  const granted = role.rules.flatMap((r) => r.resources.map((res) => `${res}:${[...r.verbs].sort().join(',')}`)).sort();
  const wanted = PROJECT_PERMISSIONS.map(([, res, verbs]) => `${res}:${[...verbs].sort().join(',')}`).sort();
  assert.deepEqual(granted, wanted, 'the projects ClusterRole grants exactly what the Project controller uses');
  const roles = [`${full}-viewer`, `${full}-submitter`, `${full}-admin`];
  const bind = role.rules.find((r) => r.verbs.includes('bind'))!;
  assert.deepEqual(bind.resourceNames, roles, 'bind: only the three project roles');
  for (const r of role.rules) {
    assert.ok(!r.verbs.includes('escalate') && !r.verbs.includes('*') && !r.verbs.includes('update') && !r.verbs.includes('deletecollection'), `no escalate, update, deletecollection or *: ${JSON.stringify(r)}`);
    assert.ok(!r.resources.includes('*') && !r.apiGroups.includes('*'));
  }
  assert.ok(!allows(role.rules, 'rbac.authorization.k8s.io', 'clusterroles', 'bind', 'cluster-admin'));
  const binding = only<Binding>(objects, 'ClusterRoleBinding', `${full}-projects`);
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${full}-projects` });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: serviceAccount, namespace }]);
  for (const [name, rules] of [[roles[0]!, VIEWER_RULES], [roles[1]!, SUBMITTER_RULES], [roles[2]!, ADMIN_RULES]] as const) {
    assert.deepEqual(only<Role>(objects, 'ClusterRole', name).rules, rules, `${name} grants exactly what docs/projects.md says`);
  }
  const policy = only<K8sObject & { spec: { failurePolicy: string; matchConditions: { expression: string }[]; validations: { expression: string }[] } }>(objects, 'ValidatingAdmissionPolicy', `${full}-projects`);
  assert.equal(policy.spec.failurePolicy, 'Fail');
  assert.deepEqual(policy.spec.matchConditions.map((c) => c.expression), [`request.userInfo.username == 'system:serviceaccount:${namespace}:${serviceAccount}'`], 'the policy concerns the propeller alone');
  assert.ok(policy.spec.validations.some((v) => roles.every((r) => v.expression.includes(`"${r}"`))), 'it names the three roles');
  const policyBinding = only<K8sObject & { spec: { policyName: string; validationActions: string[] } }>(objects, 'ValidatingAdmissionPolicyBinding', `${full}-projects`);
  assert.deepEqual(policyBinding.spec, { policyName: `${full}-projects`, validationActions: ['Deny'] });
}

function assertLeaseRole(objects: K8sObject[], namespace: string, leaseName: string): void {
  const leaseRoles = objects.filter((o) => o.kind === 'Role' && (o as Role).rules.some((r) => r.resources.includes('leases'))) as Role[];
  assert.equal(leaseRoles.length, 1, 'one leader-election Role');
  const lease = leaseRoles[0]!;
  assert.equal(lease.metadata.namespace, namespace, 'the leader-election Role is in the Lease namespace');
  assert.ok(allows(lease.rules, 'coordination.k8s.io', 'leases', 'create'));
  assert.ok(allows(lease.rules, 'coordination.k8s.io', 'leases', 'get', leaseName));
  assert.ok(allows(lease.rules, 'coordination.k8s.io', 'leases', 'update', leaseName));
  assert.ok(!allows(lease.rules, 'coordination.k8s.io', 'leases', 'update', 'someone-elses-lease'), 'update is limited to the one Lease');
  assert.ok(!lease.rules.some((r) => r.verbs.includes('list') || r.verbs.includes('delete')));
}

// ---------------------------------------------------------------------------------------------------------
// Static checks: lint, render, values

describe('the chart renders', () => {
  const ciValues = ['default', 'namespaced', 'ha', 'servicemonitor', 'custom'];

  test('helm lint --strict is clean with every ci/ values file', async () => {
    const files = (await readdir(CI_VALUES)).filter((f) => f.endsWith('-values.yaml')).sort();
    assert.deepEqual(files, ciValues.map((v) => `${v}-values.yaml`).sort(), 'the ci/ values files this test knows');
    for (const v of ciValues) {
      const r = await helm(['lint', '--strict', '--kube-version', KUBE_VERSION, CHART, '-f', valuesFile(v)]);
      assert.equal(r.code, 0, `helm lint --strict -f ci/${v}-values.yaml\n${show(r)}`);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, `lint findings with ci/${v}-values.yaml:\n${r.stdout}`);
    }
  });

  test('the chart ships the CRD of every resource the propeller serves', async () => {
    const r = await helm(['template', 'x', CHART, '--kube-version', KUBE_VERSION, '--include-crds']);
    assert.equal(r.code, 0, show(r));
    const crds = parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o?.kind === 'CustomResourceDefinition')
      .map((o) => o.metadata.name)
      .sort();
    assert.deepEqual(crds, ['cacheentries', 'flyteworkflows', 'launchplans', 'projects', 'workflowdefinitions'].map((p) => `${p}.flyte.propeller.dev`));
  });

  test('defaults: cluster-wide RBAC, a hardened single replica, no leader election', async () => {
    const objects = await template({ values: ['default'] });
    assert.deepEqual(
      kinds(objects).sort(),
      [
        ...['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'],
        // Projects: the controller's ClusterRole and binding, the viewer, submitter and admin roles, the admission policy.
        ...['ClusterRole', 'ClusterRoleBinding', 'ClusterRole', 'ClusterRole', 'ClusterRole', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'],
      ].sort(),
    );
    for (const o of objects) if (!o.kind.startsWith('Cluster') && !o.kind.startsWith('ValidatingAdmissionPolicy')) assert.equal(o.metadata.namespace, 'propeller-system', `${o.kind} ${o.metadata.name} names its namespace`);

    const clusterRole = only<Role>(objects, 'ClusterRole', 'propeller');
    assertWorkflowRules(clusterRole);
    const crb = only<Binding>(objects, 'ClusterRoleBinding', 'propeller');
    assert.deepEqual(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'propeller' });
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: 'propeller', namespace: 'propeller-system' }]);
    assertLeaseRole(objects, 'propeller-system', 'propeller-leader');
    assertProjectRbac(objects, 'propeller', 'propeller', 'propeller-system');

    const config = renderedConfig(objects);
    assert.deepEqual(config.namespaces, []);
    assert.deepEqual(config.projects, { enabled: true, viewerRole: 'propeller-viewer', submitterRole: 'propeller-submitter', adminRole: 'propeller-admin' }, 'the roles the chart creates');
    assert.equal(config.leaderElection.enabled, false);
    assert.equal(config.leaderElection.name, 'propeller-leader');
    assert.equal(config.kubeconfig, '', 'in the cluster: the pod service account');

    const deploy = only<Deployment>(objects, 'Deployment', 'propeller');
    assert.equal(deploy.spec.replicas, 1);
    assert.equal(deploy.spec.strategy.type, 'Recreate', 'without leader election the old pod stops before the new one starts');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0]!;
    assert.equal(pod.serviceAccountName, 'propeller');
    assert.equal(c.image, 'propeller:0.1.0', 'the tag defaults to the appVersion');
    assert.deepEqual(c.args, ['--config', '/etc/propeller/config.yaml']);
    assert.deepEqual(
      c.env.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
      [['POD_NAME', 'metadata.name'], ['POD_NAMESPACE', 'metadata.namespace']],
    );
    assert.deepEqual(c.ports, [{ name: 'http-metrics', containerPort: config.server.port, protocol: 'TCP' }]);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http-metrics' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'http-metrics' });
    assert.ok(pod.terminationGracePeriodSeconds >= config.shutdownTimeoutMs / 1000 + 5, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} leaves a margin over shutdownTimeoutMs ${config.shutdownTimeoutMs}`);

    // Hardening: the restricted Pod Security Standard and a read-only root filesystem with /tmp writable.
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(c.securityContext['readOnlyRootFilesystem'], true);
    assert.equal(c.securityContext['runAsNonRoot'], true);
    assert.equal(c.securityContext['runAsUser'], 65532);
    assert.equal(c.securityContext['runAsGroup'], 65532);
    assert.equal(c.securityContext['allowPrivilegeEscalation'], false);
    assert.deepEqual(c.securityContext['capabilities'], { drop: ['ALL'] });
    assert.deepEqual(c.securityContext['seccompProfile'], { type: 'RuntimeDefault' });
    const tmp = c.volumeMounts.find((m) => m.mountPath === '/tmp');
    assert.ok(tmp && pod.volumes.find((v) => v.name === tmp.name)?.emptyDir, '/tmp is an emptyDir');
    const cfgMount = c.volumeMounts.find((m) => m.mountPath === '/etc/propeller');
    assert.equal(cfgMount?.readOnly, true);
    assert.equal(pod.volumes.find((v) => v.name === cfgMount.name)?.configMap?.name, 'propeller-config');
    assert.match(deploy.spec.template.metadata.annotations['checksum/config'] ?? '', /^[0-9a-f]{64}$/);

    const svc = only<K8sObject & { spec: { ports: { name: string; port: number; targetPort: string }[]; selector: Record<string, string> } }>(objects, 'Service');
    assert.deepEqual(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['http-metrics', 10254, 'http-metrics']]);
    assert.deepEqual(svc.spec.selector, deploy.spec.selector.matchLabels);
    for (const [k, v] of Object.entries(deploy.spec.selector.matchLabels)) assert.equal(deploy.spec.template.metadata.labels[k], v, `pod label ${k}`);
  });

  test('watchNamespaces: a Role per watched namespace and nothing cluster-wide', async () => {
    const objects = await template({ values: ['namespaced'] });
    assert.ok(!kinds(objects).some((k) => k.startsWith('Cluster')), `no cluster-scoped RBAC: ${kinds(objects).join(', ')}`);
    for (const ns of ['team-a', 'team-b']) {
      assertWorkflowRules(only<Role>(objects, 'Role', 'propeller', ns));
      const binding = only<Binding>(objects, 'RoleBinding', 'propeller', ns);
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'propeller' });
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'propeller', namespace: 'propeller-system' }]);
    }
    const workflowRoles = objects.filter((o) => o.kind === 'Role' && (o as Role).rules.some((r) => r.resources.includes('pods')));
    assert.deepEqual(workflowRoles.map((r) => r.metadata.namespace).sort(), ['team-a', 'team-b'], 'no pod permissions outside the watched namespaces');
    assertLeaseRole(objects, 'propeller-system', 'propeller-leader');
    assert.deepEqual(renderedConfig(objects).namespaces, ['team-a', 'team-b']);
    // Projects create namespaces: off in this mode, and nothing granted for them.
    assert.equal(renderedConfig(objects).projects.enabled, false);
    assert.ok(!kinds(objects).some((k) => k.startsWith('ValidatingAdmissionPolicy')), 'no admission policy either');
    assert.ok(!objects.some((o) => (o as Role).rules?.some((r) => r.resources.includes('namespaces') || r.resources.includes('rolebindings'))), 'no namespace or RoleBinding permissions');
    const r = await helm(['template', 'x', CHART, '--kube-version', KUBE_VERSION, '-f', valuesFile('namespaced'), '--set', 'config.projects.enabled=true']);
    assert.notEqual(r.code, 0, 'projects with watchNamespaces must not render');
    assert.match(r.stderr, /config\.projects\.enabled is true but watchNamespaces is set/);
  });

  test('projects: off leaves out all of their RBAC; role names follow the release, or the config; the admission policy needs 1.30', async () => {
    const off = await template({ set: ['config.projects.enabled=false'] });
    assert.equal(renderedConfig(off).projects.enabled, false);
    assert.deepEqual(kinds(off).sort(), ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(), 'nothing for projects');
    assert.ok(!off.some((o) => (o as Role).rules?.some((r) => r.resources.includes('namespaces') || r.verbs.includes('bind'))), 'no namespace or bind permissions without projects');

    const flyte = await template({ release: 'flyte' });
    assertProjectRbac(flyte, 'flyte-propeller', 'flyte-propeller', 'propeller-system');
    assert.equal(renderedConfig(flyte).projects.viewerRole, 'flyte-propeller-viewer');

    const named = await template({ set: ['config.projects.viewerRole=team-viewer'] });
    assert.equal(renderedConfig(named).projects.viewerRole, 'team-viewer');
    assert.ok(named.some((o) => o.kind === 'ClusterRole' && o.metadata.name === 'team-viewer'), 'the chart creates the role the config names');
    assert.deepEqual(only<Role>(named, 'ClusterRole', 'propeller-projects').rules.find((r) => r.verbs.includes('bind'))?.resourceNames, ['team-viewer', 'propeller-submitter', 'propeller-admin']);

    const noPolicy = await template({ set: ['rbac.admissionPolicy=false'] });
    assert.ok(!kinds(noPolicy).some((k) => k.startsWith('ValidatingAdmissionPolicy')));
    const old = await helm(['template', 'x', CHART, '--kube-version', '1.29.0']);
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /rbac\.admissionPolicy needs ValidatingAdmissionPolicy .*Kubernetes 1\.30/);
    const oldOff = await helm(['template', 'x', CHART, '--kube-version', '1.29.0', '--set', 'rbac.admissionPolicy=false']);
    assert.equal(oldOff.code, 0, show(oldOff));
  });

  test('replicaCount 2: leader election on, rolling updates; explicitly disabling it fails the render', async () => {
    const objects = await template({ values: ['ha'], release: 'flyte' });
    const config = renderedConfig(objects);
    assert.equal(config.leaderElection.enabled, true);
    assert.equal(config.leaderElection.name, 'flyte-propeller-leader', 'one Lease per release');
    assertLeaseRole(objects, 'propeller-system', 'flyte-propeller-leader');
    const deploy = only<Deployment>(objects, 'Deployment');
    assert.equal(deploy.spec.replicas, 2);
    assert.equal(deploy.spec.strategy.type, 'RollingUpdate');

    const r = await helm(['template', 'x', CHART, '--kube-version', KUBE_VERSION, '-f', valuesFile('ha'), '--set', 'config.leaderElection.enabled=false']);
    assert.notEqual(r.code, 0, 'replicaCount 2 with leader election disabled must not render');
    assert.match(r.stderr, /replicaCount is 2 but config\.leaderElection\.enabled is false/);
    // One replica may opt in.
    const single = renderedConfig(await template({ set: ['config.leaderElection.enabled=true'] }));
    assert.equal(single.leaderElection.enabled, true);
  });

  test('ServiceMonitor: selects the metrics Service by its labels and port name', async () => {
    const objects = await template({ values: ['servicemonitor'] });
    const sm = only<K8sObject & { spec: { namespaceSelector: { matchNames: string[] }; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; interval: string; scrapeTimeout: string }[] } }>(
      objects,
      'ServiceMonitor',
    );
    assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(sm.metadata.namespace, 'monitoring');
    assert.equal(sm.metadata.labels?.['release'], 'kube-prometheus-stack');
    assert.deepEqual(sm.spec.namespaceSelector.matchNames, ['propeller-system']);
    const svc = only<K8sObject & { spec: { ports: { name: string }[] } }>(objects, 'Service');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels?.[k], v, `the Service carries ${k}=${v}`);
    assert.deepEqual(sm.spec.endpoints, [{ port: svc.spec.ports[0]!.name, path: '/metrics', interval: '15s', scrapeTimeout: '5s' }]);
    assert.ok(!kinds(await template()).includes('ServiceMonitor'), 'off by default');
  });

  test('custom values: scheduling, resources, image digest, names and config reach the objects', async () => {
    const objects = await template({ values: ['custom'] });
    const values = parse(await readFile(valuesFile('custom'), 'utf8')) as Record<string, any>;
    const deploy = only<Deployment>(objects, 'Deployment', 'flyte-propeller');
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0]!;
    assert.equal(c.image, `${values['image'].repository}@${values['image'].digest}`, 'a digest wins over the tag');
    assert.deepEqual(c.resources, values['resources']);
    assert.deepEqual(pod['tolerations'], values['tolerations']);
    assert.deepEqual(pod['affinity'], values['affinity']);
    assert.deepEqual(pod['nodeSelector'], values['nodeSelector']);
    assert.deepEqual(pod['topologySpreadConstraints'], values['topologySpreadConstraints']);
    assert.deepEqual(pod['imagePullSecrets'], values['imagePullSecrets']);
    assert.equal(pod['priorityClassName'], 'system-cluster-critical');
    assert.equal(pod.serviceAccountName, 'flyte-propeller-sa');
    assert.equal(deploy.spec.template.metadata.annotations['team'], 'platform');
    assert.ok(deploy.spec.template.metadata.annotations['checksum/config']);
    assert.equal(deploy.spec.template.metadata.labels['cost-center'], 'ml');
    assert.ok(c.env.some((e) => e.name === 'NODE_OPTIONS' && e.value === '--max-old-space-size=1536'));
    assert.equal(pod.terminationGracePeriodSeconds, 47, 'ceil(42000 ms) + 5 s');
    const sa = only(objects, 'ServiceAccount', 'flyte-propeller-sa');
    assert.equal(sa.metadata.annotations?.['iam.gke.io/gcp-service-account'], values['serviceAccount'].annotations['iam.gke.io/gcp-service-account']);
    assert.equal(only<Binding>(objects, 'ClusterRoleBinding', 'flyte-propeller').subjects[0]!.name, 'flyte-propeller-sa');

    const config = renderedConfig(objects);
    assert.equal(config.workers, 32);
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.kube, { qps: 250, burst: 500, timeoutMs: 30_000 });
    assert.equal(config.workflow.defaultMaxParallelism, 50);
    assert.equal(config.workflow.maxNodes, 10_000, 'unset keys keep their defaults');
    const svc = only<K8sObject & { spec: { ports: { port: number; targetPort: string }[] } }>(objects, 'Service', 'flyte-propeller-metrics');
    assert.deepEqual([svc.spec.ports[0]!.port, svc.spec.ports[0]!.targetPort], [8080, 'http-metrics']);
    assert.equal(svc.metadata.annotations?.['prometheus.io/scrape'], 'true');
    assert.equal(c.ports[0]!.containerPort, 10_254);
  });

  test('a config change changes the checksum annotation, so the pods roll', async () => {
    const checksum = async (set: string[]) => only<Deployment>(await template({ set }), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    const base = await checksum([]);
    assert.equal(await checksum([]), base, 'stable across renders');
    assert.notEqual(await checksum(['config.workers=9']), base);
    assert.notEqual(await checksum(['watchNamespaces={team-a}']), base);
  });

  test('values.schema.json rejects typos and bad values', async () => {
    const cases: [string[], RegExp][] = [
      [['config.wrkers=3'], /additional properties 'wrkers' not allowed/],
      [['config.workers=0'], /minimum/],
      [['config.logLevel=loud'], /config\/logLevel/],
      [['config.leaderElection.identity=me'], /additional properties 'identity'/],
      [['config.server.port=0'], /minimum/],
      [['image.pullPolicy=Sometimes'], /image\/pullPolicy/],
      [['image.digest=latest'], /image\/digest/],
      [['replicas=2'], /additional properties 'replicas' not allowed/],
      [['watchNamespaces={Team_A}'], /watchNamespaces/],
      [['metrics.serviceMonitor.enable=true'], /additional properties 'enable' not allowed/],
      [['config.projects.viewerRol=x'], /additional properties 'viewerRol' not allowed/],
      [['rbac.admissionPolicy=maybe'], /rbac\/admissionPolicy/],
    ];
    for (const [set, message] of cases) {
      const r = await helm(['template', 'x', CHART, '--kube-version', KUBE_VERSION, ...set.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.code, 0, `--set ${set.join(' ')} must fail`);
      assert.match(r.stderr, message, `--set ${set.join(' ')}`);
    }
  });

  test("values.yaml lists the propeller's own config defaults", async () => {
    const values = parse(await readFile(join(CHART, 'values.yaml'), 'utf8')) as { config: Record<string, unknown> };
    // Set by the chart rather than by values (see the comments in values.yaml): the rest must match.
    const { kubeconfig: _k, namespaces: _n, leaderElection, ...rest } = ConfigSchema.parse({});
    const { enabled: _e, identity: _i, ...election } = leaderElection;
    const { enabled: _p, ...projectRoles } = rest.projects;
    const expected = { ...rest, leaderElection: { ...election, name: '' }, projects: Object.fromEntries(Object.keys(projectRoles).map((k) => [k, ''])) };
    assert.deepEqual(values.config, expected, 'charts/propeller/values.yaml config: differs from src/config/schema.ts defaults');
  });

  test('docs/install.md documents every value', async () => {
    const doc = await readFile(join(repoRoot, 'docs', 'install.md'), 'utf8');
    const values = parse(await readFile(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const leaves = (v: unknown, path: string): string[] =>
      v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length && !['resources', 'podSecurityContext', 'securityContext'].includes(path)
        ? Object.entries(v).flatMap(([k, child]) => leaves(child, path ? `${path}.${k}` : k))
        : [path];
    const missing = leaves(values, '').filter((p) => !doc.includes(`\`${p}\``));
    assert.deepEqual(missing, [], 'values missing from the table in docs/install.md');
    assert.ok(doc.includes('`config.leaderElection.enabled`'), 'the leader-election switch is documented');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Against the local control plane

describe('the chart and manifests on the local control plane', () => {
  const cluster = useTestCluster();
  let kubectl: string;
  before(async () => {
    kubectl = cluster().kubectl ?? (await ensureBinaries({ only: ['kube'] }))['kubectl']!;
  });
  const get = (path: string) => cluster().client.request<K8sObject>('GET', path);
  const gone = (path: string) => get(path).then(() => false, (err: unknown) => isNotFound(err));

  test('helm install, upgrade and uninstall', { timeout: 120_000 }, async () => {
    const { client, kubeconfigPath } = cluster();
    const ns = await createNamespace(client, 'chart-install');
    const release = `chart-${randomBytes(3).toString('hex')}`;
    const full = `${release}-propeller`;
    const paths = {
      deployment: `/apis/apps/v1/namespaces/${ns.name}/deployments/${full}`,
      configMap: `/api/v1/namespaces/${ns.name}/configmaps/${full}-config`,
      serviceAccount: `/api/v1/namespaces/${ns.name}/serviceaccounts/${full}`,
      service: `/api/v1/namespaces/${ns.name}/services/${full}-metrics`,
      leaseRole: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles/${full}-leader-election`,
      leaseRoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings/${full}-leader-election`,
      clusterRole: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${full}`,
      clusterRoleBinding: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${full}`,
      projectsRole: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${full}-projects`,
      projectsRoleBinding: `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${full}-projects`,
      viewerRole: `/apis/rbac.authorization.k8s.io/v1/clusterroles/${full}-viewer`,
      admissionPolicy: `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${full}-projects`,
      admissionPolicyBinding: `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${full}-projects`,
    };
    try {
      // No --wait: nothing can run the image here. The API server still admits and stores every object.
      const install = await helm(['install', release, CHART, '--namespace', ns.name, '--kubeconfig', kubeconfigPath]);
      assert.equal(install.code, 0, show(install));
      assert.match(install.stdout, new RegExp(`kubectl -n ${ns.name} rollout status deployment/${full}`), 'NOTES say how to check it runs');
      for (const [what, path] of Object.entries(paths)) await get(path).catch((err: unknown) => assert.fail(`${what} after install: ${String(err)}`));
      const before = (await get(paths.deployment)) as Deployment;
      const cmBefore = (await get(paths.configMap)) as K8sObject & { data: Record<string, string> };
      assert.equal(parse(cmBefore.data['config.yaml']!).workers, 8);

      const upgrade = await helm(['upgrade', release, CHART, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--reuse-values', '--set', 'config.workers=16']);
      assert.equal(upgrade.code, 0, show(upgrade));
      const cmAfter = (await get(paths.configMap)) as K8sObject & { data: Record<string, string> };
      assert.equal(parse(cmAfter.data['config.yaml']!).workers, 16, 'the upgrade rewrote the config');
      const afterUpgrade = (await get(paths.deployment)) as Deployment;
      assert.notEqual(afterUpgrade.spec.template.metadata.annotations['checksum/config'], before.spec.template.metadata.annotations['checksum/config'], 'the pod template changed, so the pods roll');
      assert.ok(afterUpgrade.metadata.generation! > before.metadata.generation!, 'the Deployment has a new generation');

      const uninstall = await helm(['uninstall', release, '--namespace', ns.name, '--kubeconfig', kubeconfigPath]);
      assert.equal(uninstall.code, 0, show(uninstall));
      for (const [what, path] of Object.entries(paths)) await waitFor(`${what} to be deleted`, () => gone(path));
      assert.ok(!(await gone('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/flyteworkflows.flyte.propeller.dev')), 'Helm keeps CRDs on uninstall');
    } finally {
      await helm(['uninstall', release, '--namespace', ns.name, '--kubeconfig', kubeconfigPath, '--ignore-not-found']);
      await ns.remove();
    }
  });

  test('the plain manifests pass a server-side dry run with -f and with -k, and the pod meets the restricted standard', { timeout: 60_000 }, async () => {
    const { client, kubeconfigPath } = cluster();
    const manifests = join(repoRoot, 'manifests');
    const files = (await readdir(manifests)).filter((f) => f.endsWith('.yaml'));
    const objects = (await Promise.all(files.map(async (f) => parseAllDocuments(await readFile(join(manifests, f), 'utf8')).map((d) => d.toJS() as K8sObject))))
      .flat()
      .filter(Boolean);
    const namespace = only(objects, 'Namespace');
    // Objects in a namespace that a dry run did not really create would be rejected: create it first.
    const created = await client.request('POST', '/api/v1/namespaces', { body: namespace }).then(
      () => true,
      (err: unknown) => {
        if ((err as { status?: number }).status === 409) return false;
        throw err;
      },
    );
    try {
      for (const flag of ['-f', '-k']) {
        const r = await run(kubectl, ['--kubeconfig', kubeconfigPath, 'apply', '--dry-run=server', flag, manifests]);
        assert.equal(r.code, 0, `kubectl apply --dry-run=server ${flag} manifests/\n${show(r)}`);
        // The namespace warns on Pod Security violations (its pod-security.kubernetes.io/warn label).
        assert.doesNotMatch(r.stderr, /PodSecurity/, `no Pod Security warnings:\n${r.stderr}`);
        const applied = r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
        assert.equal(applied.length, objects.length, `${flag}: every object in manifests/ was applied:\n${r.stdout}`);
      }
      // The namespace enforces the restricted Pod Security Standard: the Deployment's pod must be admitted.
      const deploy = only<Deployment>(objects, 'Deployment');
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'propeller-psa-check', labels: deploy.spec.template.metadata.labels }, spec: { ...deploy.spec.template.spec, serviceAccountName: 'default' } };
      await client.request('POST', `/api/v1/namespaces/${namespace.metadata.name}/pods`, { body: pod, query: { dryRun: 'All' } });
    } finally {
      if (created) await client.request('DELETE', `/api/v1/namespaces/${namespace.metadata.name}`).catch(() => {});
    }
  });

  // -------------------------------------------------------------------------------------------------------
  // RBAC: run the propeller with a token of the chart's ServiceAccount and nothing else.

  for (const mode of ['cluster-wide', 'namespaced'] as const) {
    test(`${mode} RBAC is enough to run a workflow end to end, and no more than that`, { timeout: 180_000 }, async () => {
      const { client, kubeconfigPath } = cluster();
      const releaseNs = await createNamespace(client, `rbac-${mode}`);
      const workNs = await createNamespace(client, `rbac-work`);
      const otherNs = await createNamespace(client, `rbac-other`);
      const release = `rbac-${randomBytes(3).toString('hex')}`;
      const full = `${release}-propeller`;
      const dir = await mkdtemp(join(tmpdir(), 'propeller-rbac-'));
      let propeller: ReturnType<typeof startPropeller> | undefined;
      let saClient: KubeClient | undefined;
      try {
        // Both modes elect a leader, so the Lease permissions are exercised too.
        const values = mode === 'namespaced' ? ['--set', `watchNamespaces={${workNs.name}}`, '--set', 'config.leaderElection.enabled=true'] : ['--set', 'replicaCount=2'];
        const install = await helm(['install', release, CHART, '--namespace', releaseNs.name, '--kubeconfig', kubeconfigPath, ...values]);
        assert.equal(install.code, 0, show(install));

        const token = await serviceAccountToken(client, releaseNs.name, full);
        const saKubeconfig = join(dir, 'kubeconfig');
        await writeFile(saKubeconfig, await kubeconfigWithToken(kubeconfigPath, client.server, token), { mode: 0o600 });
        saClient = await KubeClient.load(saKubeconfig);

        // The config file exactly as the chart renders it; the test only narrows the watch to workNs
        // (a propeller watching every namespace would take over other tests' workflows).
        const cm = (await client.request('GET', `/api/v1/namespaces/${releaseNs.name}/configmaps/${full}-config`)) as { data: Record<string, string> };
        const configPath = join(dir, 'config.yaml');
        await writeFile(configPath, cm.data['config.yaml']!);
        assert.deepEqual(parse(cm.data['config.yaml']!).namespaces, mode === 'namespaced' ? [workNs.name] : []);
        propeller = startPropeller({
          kubeconfig: saKubeconfig,
          namespaces: [workNs.name],
          args: ['--config', configPath],
          env: { POD_NAME: `${full}-test-0`, POD_NAMESPACE: releaseNs.name },
        });
        await waitForLog(propeller, /reconciling as leader/, 60_000);
        const lease = (await client.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${releaseNs.name}/leases/${full}-leader`)) as { spec: { holderIdentity: string } };
        assert.equal(lease.spec.holderIdentity, `${full}-test-0`);

        const manifest = parse(await readFile(join(repoRoot, 'examples', 'regression.yaml'), 'utf8')) as FlyteWorkflow;
        await createWorkflow(client, workNs.name, manifest);
        const env = { client, kubeconfig: kubeconfigPath, ns: workNs.name, propeller };
        const wf = await expectPhase(env, manifest.metadata.name, 'Succeeded', 120_000);
        assert.equal(wf.status?.outputs?.['slope'], -1.5);
        assert.equal(wf.status?.outputs?.['intercept'], 3);
        // Events are sent in the background, so they may land a moment after the status.
        const events = await waitFor('events on the workflow', async () => {
          const list = (await client.request('GET', `/api/v1/namespaces/${workNs.name}/events`, { query: { fieldSelector: `involvedObject.name=${manifest.metadata.name}` } })) as { items: unknown[] };
          return list.items.length > 0 ? list : undefined;
        }, 10_000).catch(() => ({ items: [] }));
        assert.ok(events.items.length > 0, 'the propeller recorded events on the workflow');
        assert.doesNotMatch(propeller.logs(), /forbidden|"status":403/i, 'no request was forbidden');

        // What the token may do, asked of the API server itself.
        const can = (verb: string, resource: string, namespace?: string, extra: { group?: string; subresource?: string; name?: string } = {}) =>
          selfSubjectAccessReview(saClient!, { verb, resource, namespace, ...extra });
        const wf_ = { group: 'flyte.propeller.dev' };
        const yes: [string, string, string | undefined, object?][] = [
          ['watch', 'flyteworkflows', workNs.name, wf_],
          ['patch', 'flyteworkflows', workNs.name, { ...wf_, subresource: 'status' }],
          ['update', 'flyteworkflows', workNs.name, { ...wf_, subresource: 'finalizers' }],
          ['create', 'pods', workNs.name],
          ['delete', 'pods', workNs.name],
          ['create', 'events', workNs.name],
          // Launch plans create their scheduled runs and delete old ones (history limits).
          ['create', 'flyteworkflows', workNs.name, wf_],
          ['delete', 'flyteworkflows', workNs.name, wf_],
          ['update', 'leases', releaseNs.name, { group: 'coordination.k8s.io', name: `${full}-leader` }],
        ];
        const no: [string, string, string | undefined, object?][] = [
          ['list', 'secrets', workNs.name],
          ['list', 'secrets', undefined],
          ['get', 'configmaps', releaseNs.name],
          ['update', 'pods', workNs.name],
          ['create', 'pods', workNs.name, { subresource: 'exec' }],
          ['update', 'leases', releaseNs.name, { group: 'coordination.k8s.io', name: 'some-other-lease' }],
          ['create', 'leases', otherNs.name, { group: 'coordination.k8s.io' }],
          ['create', 'clusterroles', undefined, { group: 'rbac.authorization.k8s.io' }],
        ];
        const rbacGroup = { group: 'rbac.authorization.k8s.io' };
        // Projects: RoleBindings to the three project roles only (bind, never escalate), never the permissions they grant.
        no.push(
          ['bind', 'clusterroles', undefined, { ...rbacGroup, name: 'cluster-admin' }],
          ['escalate', 'clusterroles', undefined, rbacGroup],
          ['create', 'roles', workNs.name, rbacGroup],
          ['update', 'namespaces', undefined],
          ['deletecollection', 'namespaces', undefined],
          ['get', 'pods', workNs.name, { subresource: 'log' }],
        );
        if (mode === 'cluster-wide') {
          yes.push(['list', 'flyteworkflows', undefined, wf_], ['watch', 'pods', undefined], ['create', 'pods', otherNs.name]);
          yes.push(['create', 'namespaces', undefined], ['create', 'rolebindings', otherNs.name, rbacGroup], ['bind', 'clusterroles', undefined, { ...rbacGroup, name: `${full}-submitter` }]);
        } else {
          no.push(['list', 'flyteworkflows', undefined, wf_], ['watch', 'pods', undefined], ['create', 'pods', otherNs.name], ['list', 'flyteworkflows', otherNs.name, wf_]);
          no.push(['create', 'namespaces', undefined], ['create', 'rolebindings', workNs.name, rbacGroup], ['bind', 'clusterroles', undefined, { ...rbacGroup, name: `${full}-submitter` }]);
        }
        for (const [verb, resource, namespace, extra] of yes) assert.equal(await can(verb, resource, namespace, extra), true, `${mode}: may ${verb} ${resource} in ${namespace ?? 'all namespaces'} ${JSON.stringify(extra ?? {})}`);
        for (const [verb, resource, namespace, extra] of no) assert.equal(await can(verb, resource, namespace, extra), false, `${mode}: may not ${verb} ${resource} in ${namespace ?? 'all namespaces'} ${JSON.stringify(extra ?? {})}`);

        // And real requests, as the propeller would make them.
        await assert.rejects(saClient.request('GET', `/api/v1/namespaces/${workNs.name}/secrets`), (err: { status?: number }) => err.status === 403);
        const clusterList = saClient.request('GET', '/apis/flyte.propeller.dev/v1alpha1/flyteworkflows', { query: { limit: 1 } });
        if (mode === 'cluster-wide') await clusterList;
        else await assert.rejects(clusterList, (err: { status?: number }) => err.status === 403);
        const otherPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-mine' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
        const create = saClient.request('POST', `/api/v1/namespaces/${otherNs.name}/pods`, { body: otherPod, query: { dryRun: 'All' } });
        if (mode === 'cluster-wide') await create;
        else await assert.rejects(create, (err: { status?: number }) => err.status === 403);

        assert.equal(await propeller.stop(), 0, 'a clean shutdown');
        propeller = undefined;
      } finally {
        if (propeller) await stopPropeller(propeller);
        await saClient?.close();
        await helm(['uninstall', release, '--namespace', releaseNs.name, '--kubeconfig', kubeconfigPath, '--ignore-not-found']);
        await Promise.all([releaseNs.remove(), workNs.remove(), otherNs.remove()]);
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});


// Projects on the real control plane: the Project controller runs in this process exactly as src/main.ts
// wires it (a Manager over the shared informers), with nothing but a token of the chart's ServiceAccount,
// so every write below is made under the chart's RBAC and its ValidatingAdmissionPolicy. (It runs in-process
// rather than as a child propeller because a propeller running projects watches every namespace, and its
// workflow controller would take over the workflows of the other test files running at the same time.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { Manager } from '../../src/controller/manager.ts';
import { ProjectController } from '../../src/controller/project-controller.ts';
import { KubeApiError } from '../../src/k8s/errors.ts';
import { MERGE_PATCH, KubeClient } from '../../src/k8s/rest.ts';
import { ensureBinaries } from '../../tools/controlplane/build.ts';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { useTestCluster } from './helpers/cluster.ts';
import { createNamespace } from './helpers/namespace.ts';
import { startPropeller } from './helpers/propeller.ts';
import { stopPropeller, waitForLog } from './helpers/e2e.ts';
import { installChartRbac, selfSubjectAccessReview, type ChartRbac } from './helpers/restricted.ts';
import { waitFor } from './helpers/workflows.ts';

const exec = promisify(execFile);

// Spelled out rather than imported from src/: the tests check the documented contract.
const PROJECT = 'flyte.propeller.dev/project';
const DOMAIN = 'flyte.propeller.dev/domain';
const MANAGED = 'app.kubernetes.io/managed-by';
const FINALIZER = 'flyte.propeller.dev/project';
const API = '/apis/flyte.propeller.dev/v1alpha1';
const projectPath = (name = '') => `${API}/projects${name ? `/${name}` : ''}`;
const nsPath = (name = '') => `/api/v1/namespaces${name ? `/${name}` : ''}`;
const wfsPath = (ns: string) => `${API}/namespaces/${ns}/flyteworkflows`;
const inNs = (ns: string, resource: string, name = '') =>
  `${resource === 'rolebindings' ? '/apis/rbac.authorization.k8s.io/v1' : '/api/v1'}/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`;

interface Meta {
  name: string;
  uid: string;
  resourceVersion: string;
  labels?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid: string; blockOwnerDeletion?: boolean }[];
  deletionTimestamp?: string;
  finalizers?: string[];
}
interface Project {
  metadata: Meta;
  spec: Record<string, unknown>;
  status?: { phase?: string; message?: string; namespaces?: { name: string; domain: string; state: string; workflows?: number; message?: string }[] };
}
interface Namespace {
  metadata: Meta;
}

async function get<T>(path: string, client = admin()): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    throw err;
  }
}

async function createProject(prefix: string, spec: Record<string, unknown>): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  projects.add(name);
  await admin().request('POST', projectPath(), { body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', metadata: { name }, spec } });
  return name;
}

async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  await admin().request('PATCH', projectPath(name), { body: { spec }, contentType: MERGE_PATCH });
}

/** Waits until the project's status satisfies `ok`; fails with the last status and the controller's warnings. */
async function waitProject(name: string, what: string, ok: (p: Project) => boolean, timeoutMs = 30_000): Promise<Project> {
  const deadline = Date.now() + timeoutMs;
  let last: Project | undefined;
  while (Date.now() < deadline) {
    last = await get<Project>(projectPath(name));
    if (last && ok(last)) return last;
    await sleep(100);
  }
  const warnings = logs.filter((l) => l.level >= 40).map((l) => `${l.msg} ${l.err ?? ''}`);
  assert.fail(`project ${name}: ${what} within ${timeoutMs}ms; last status ${JSON.stringify(last?.status)}\ncontroller warnings:\n${warnings.slice(-10).join('\n')}`);
}

const ready = (p: Project) => p.status?.phase === 'Ready' && (p.status.namespaces ?? []).every((n) => ['Active', 'Waiting', 'Released'].includes(n.state));
const stateOf = (p: Project, ns: string) => p.status?.namespaces?.find((n) => n.name === ns)?.state;

/** Gone, or on its way (Terminating): the namespace controller removes its content, then it. */
async function deleted(ns: string): Promise<boolean> {
  const n = await get<Namespace>(nsPath(ns));
  return !n || Boolean(n.metadata.deletionTimestamp);
}

async function putWorkflow(ns: string, name = 'wf'): Promise<void> {
  // No propeller runs workflows here: the object alone is what counts.
  await admin().request('POST', wfsPath(ns), {
    body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { name }, spec: { tasks: {}, nodes: {} } },
  });
}

function kubectlAs(user: string | undefined, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(kubectl, ['--kubeconfig', cluster().kubeconfigPath, ...(user ? ['--as', user] : []), ...args], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

async function rejected(promise: Promise<unknown>): Promise<KubeApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  assert.fail('the API server accepted it');
}

let cluster: ReturnType<typeof useTestCluster>;
let rbac: ChartRbac;
let sa: KubeClient;
let config: Config;
let manager: Manager | undefined;
let kubectl: string;
const logs: { level: number; msg: string; err?: string }[] = [];
/** Every project this file creates, to clean up after. */
const projects = new Set<string>();

const admin = () => cluster().client;
const suffix = () => randomBytes(3).toString('hex');

/**
 * The test cluster, the chart's RBAC, and a Project controller running under it, for the describe block.
 * The cleanup is registered first, so it runs before the cluster's own teardown closes the client.
 */
function useProjectController(): void {
  after(async () => {
    // Delete what is left while the controller still runs (so finalizers are released), namespaces included.
    await Promise.all(
      [...projects].map(async (name) => {
        await admin().request('PATCH', projectPath(name), { body: { spec: { deletionPolicy: 'Delete' } }, contentType: MERGE_PATCH }).catch(() => {});
        await admin().request('DELETE', projectPath(name)).catch(() => {});
        await waitFor(`project ${name} to go`, async () => !(await get<Project>(projectPath(name))), 30_000).catch(() => {});
      }),
    );
    await manager?.stop();
    await sa?.close();
    const left = await admin().request<{ items: Namespace[] }>('GET', nsPath(), { query: { labelSelector: PROJECT } });
    await Promise.all(left.items.filter((n) => projects.has(n.metadata.labels![PROJECT]!)).map((n) => admin().request('DELETE', nsPath(n.metadata.name)).catch(() => {})));
    for (const name of projects) {
      // A project stuck with its finalizer (a failed test) is released by hand.
      await admin().request('PATCH', projectPath(name), { body: { metadata: { finalizers: null } }, contentType: MERGE_PATCH }).catch(() => {});
    }
    await rbac?.uninstall();
  });
  cluster = useTestCluster();
  before(async () => {
    kubectl = cluster().kubectl ?? (await ensureBinaries({ only: ['kube'] }))['kubectl']!;
    rbac = await installChartRbac(cluster());
    sa = await KubeClient.load(rbac.kubeconfigPath);
    // RBAC the install just created reaches the API server's authorizer a moment later: wait for it, so that
    // "never refused" below means what it says.
    await waitFor('the chart\'s RBAC to take effect', () => selfSubjectAccessReview(sa, { verb: 'list', resource: 'projects', group: 'flyte.propeller.dev' }));
    // The config file exactly as the chart renders it, as the propeller reads it.
    config = loadConfig(['--config', rbac.configPath], {});
    assert.equal(config.projects.enabled, true);
    assert.deepEqual(config.namespaces, [], 'projects run in the cluster-wide mode');
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) });
    manager = new Manager(sa, log);
    manager.add(new ProjectController({ config, client: sa, informers: manager.informers, log }));
    await manager.startInformers();
    manager.startControllers();
  });
}

describe('projects', { concurrency: true }, () => {
  useProjectController();

  test('a project gets a labelled namespace per domain with its quota, limits and RoleBindings, kept equal to the spec', { timeout: 90_000 }, async () => {
    const s = suffix();
    const name = await createProject('pa', {
      description: 'machine learning',
      domains: ['development', 'production'],
      quota: { default: { cpu: '4', memory: '8Gi' }, domains: { production: { cpu: '32', 'count/flyteworkflows.flyte.propeller.dev': 100 } } },
      limitRange: { default: [{ type: 'Container', defaultRequest: { cpu: '100m' }, default: { cpu: '1' }, max: { cpu: '4' } }] },
      access: { viewers: [{ kind: 'Group', name: `watchers-${s}` }], submitters: [{ kind: 'User', name: `ana-${s}` }], admins: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'ci' }] },
    });
    const p = await waitProject(name, 'Ready', ready);
    assert.deepEqual(p.metadata.finalizers, [FINALIZER], 'deleting it waits for the deletion policy');
    assert.deepEqual(p.status?.namespaces?.map((n) => [n.name, n.state]), [[`${name}-development`, 'Active'], [`${name}-production`, 'Active']]);
    assert.equal(p.spec['deletionPolicy'], 'Retain', 'the CRD defaults the policy');

    for (const domain of ['development', 'production']) {
      const ns = `${name}-${domain}`;
      const n = (await get<Namespace>(nsPath(ns)))!;
      assert.deepEqual(
        [n.metadata.labels?.[PROJECT], n.metadata.labels?.[DOMAIN], n.metadata.labels?.[MANAGED]],
        [name, domain, 'propeller'],
      );
      assert.equal(n.metadata.ownerReferences, undefined, 'no owner reference under Retain: the garbage collector can never take it');
      const quota = (await get<{ spec: { hard: Record<string, string> } }>(inNs(ns, 'resourcequotas', 'propeller-quota')))!;
      assert.deepEqual(quota.spec.hard, domain === 'production' ? { cpu: '32', 'count/flyteworkflows.flyte.propeller.dev': '100' } : { cpu: '4', memory: '8Gi' }, 'per domain wins, not merged');
      const limits = (await get<{ spec: { limits: Record<string, unknown>[] } }>(inNs(ns, 'limitranges', 'propeller-limits')))!;
      assert.deepEqual(limits.spec.limits, [{ type: 'Container', defaultRequest: { cpu: '100m' }, default: { cpu: '1' }, max: { cpu: '4' } }]);
      for (const [rb, role, subjects] of [
        ['propeller-viewers', 'viewer', [{ kind: 'Group', name: `watchers-${s}`, apiGroup: 'rbac.authorization.k8s.io' }]],
        ['propeller-submitters', 'submitter', [{ kind: 'User', name: `ana-${s}`, apiGroup: 'rbac.authorization.k8s.io' }]],
        ['propeller-admins', 'admin', [{ kind: 'ServiceAccount', name: 'ci', namespace: 'ci' }]],
      ] as const) {
        const binding = (await get<{ roleRef: unknown; subjects: unknown; metadata: Meta }>(inNs(ns, 'rolebindings', rb)))!;
        assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${rbac.serviceAccount}-${role}` });
        assert.deepEqual(binding.subjects, subjects);
        assert.equal(binding.metadata.labels?.[PROJECT], name);
      }
    }

    // Drift: a changed quota and a deleted RoleBinding come back; a spec change reaches every namespace.
    const dev = `${name}-development`;
    await admin().request('PATCH', inNs(dev, 'resourcequotas', 'propeller-quota'), { body: { spec: { hard: { cpu: '400', pods: '3' } } }, contentType: MERGE_PATCH });
    await admin().request('DELETE', inNs(dev, 'rolebindings', 'propeller-viewers'));
    await waitFor('the quota to be restored', async () => {
      const q = await get<{ spec: { hard: Record<string, string> } }>(inNs(dev, 'resourcequotas', 'propeller-quota'));
      return q && JSON.stringify(q.spec.hard) === JSON.stringify({ cpu: '4', memory: '8Gi' });
    });
    await waitFor('the RoleBinding to be recreated', () => get(inNs(dev, 'rolebindings', 'propeller-viewers')));
    await patchSpec(name, { quota: null, access: { viewers: [] } });
    await waitFor('the quota and viewers binding to go', async () => !(await get(inNs(dev, 'resourcequotas', 'propeller-quota'))) && !(await get(inNs(dev, 'rolebindings', 'propeller-viewers'))));
    assert.ok(await get(inNs(dev, 'limitranges', 'propeller-limits')), 'what the spec still asks for stays');
    await waitProject(name, 'Ready again', (p) => ready(p) && p.status?.message === '2 namespaces active');

    // kubectl: the printer columns.
    const r = await kubectlAs(undefined, ['get', 'fproj', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NAME\s+DOMAINS\s+POLICY\s+PHASE\s+AGE\s+MESSAGE/);
    assert.match(r.stdout, new RegExp(`${name}\\s+\\["development","production"\\]\\s+Retain\\s+Ready`));
  });

  test('a submitter may create a FlyteWorkflow (and a code bundle\'s ConfigMap) in the project\'s namespaces, a viewer may only read', { timeout: 60_000 }, async () => {
    const s = suffix();
    const viewer = `vera-${s}`;
    const submitter = `sam-${s}`;
    const name = await createProject('pb', { domains: ['development'], access: { viewers: [{ kind: 'User', name: viewer }], submitters: [{ kind: 'User', name: submitter }] } });
    await waitProject(name, 'Ready', ready);
    const ns = `${name}-development`;
    const wf = JSON.stringify({ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { name: 'mine' }, spec: { tasks: {}, nodes: {} } });
    // Real requests, as those users (kubectl impersonates them with the admin's credentials).
    const denied = await kubectlAs(viewer, ['-n', ns, 'create', '-f', '-'], wf);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden: User "vera-[0-9a-f]+" cannot create resource "flyteworkflows"/);
    const created = await kubectlAs(submitter, ['-n', ns, 'create', '-f', '-'], wf);
    assert.equal(created.code, 0, created.stderr);
    const listed = await kubectlAs(viewer, ['-n', ns, 'get', 'fwf', 'mine', '-o', 'name']);
    assert.equal(listed.stdout.trim(), 'flyteworkflow.flyte.propeller.dev/mine', listed.stderr);
    const approve = await kubectlAs(submitter, ['-n', ns, 'patch', 'fwf', 'mine', '--type=merge', '-p', '{"metadata":{"labels":{"x":"y"}}}']);
    assert.equal(approve.code, 0, `a submitter may patch (approve gates, abort): ${approve.stderr}`);
    const bundle = await kubectlAs(submitter, ['-n', ns, 'create', 'configmap', 'propeller-code-3f2a9c1b7d4e', '--from-literal=bundle.mjs=export {};']);
    assert.equal(bundle.code, 0, `a submitter may create the ConfigMap of a task's code bundle: ${bundle.stderr}`);
    for (const [who, args] of [
      [viewer, ['-n', ns, 'delete', 'fwf', 'mine']],
      [viewer, ['-n', ns, 'create', 'configmap', 'x', '--from-literal=a=b']],
      // Create only: a submitter reads no ConfigMap of the namespace, its own bundles included, and changes none.
      [submitter, ['-n', ns, 'get', 'configmaps']],
      [submitter, ['-n', ns, 'get', 'configmap', 'propeller-code-3f2a9c1b7d4e']],
      [submitter, ['-n', ns, 'delete', 'configmap', 'propeller-code-3f2a9c1b7d4e']],
      [submitter, ['-n', ns, 'create', 'secret', 'generic', 'x']],
      [submitter, ['-n', ns, 'create', 'rolebinding', 'x', '--clusterrole=admin', `--user=${submitter}`]],
      [submitter, ['-n', 'default', 'get', 'fwf']],
    ] as const) {
      const r = await kubectlAs(who, [...args]);
      assert.notEqual(r.code, 0, `${who} ${args.join(' ')} must be refused`);
      assert.match(r.stderr, /forbidden/i);
    }
    const removed = await kubectlAs(submitter, ['-n', ns, 'delete', 'fwf', 'mine']);
    assert.equal(removed.code, 0, removed.stderr);
  });

  // -------------------------------------------------------------------------------------------------------
  // Removing a domain, under each deletion policy

  test('Retain: a removed domain\'s namespace is left as it is, workflows and all, and no longer managed', { timeout: 60_000 }, async () => {
    const name = await createProject('pr', { domains: ['development', 'staging', 'production'] });
    await waitProject(name, 'Ready', ready);
    await putWorkflow(`${name}-staging`);
    await patchSpec(name, { domains: ['development'] });
    const p = await waitProject(name, 'staging and production released', (p) => stateOf(p, `${name}-staging`) === 'Released' && stateOf(p, `${name}-production`) === 'Released' && p.status?.phase === 'Ready');
    for (const domain of ['staging', 'production']) {
      const n = (await get<Namespace>(nsPath(`${name}-${domain}`)))!;
      assert.ok(!n.metadata.deletionTimestamp, `${domain} is kept`);
      assert.equal(n.metadata.labels?.[MANAGED], undefined, 'no longer managed');
      assert.deepEqual([n.metadata.labels?.[PROJECT], n.metadata.labels?.[DOMAIN]], [name, domain], 'still says whose it was (kubectl get fwf -A -l ... keeps working)');
    }
    assert.ok(await get(`${wfsPath(`${name}-staging`)}/wf`), 'its workflow is untouched');
    assert.match(p.status!.namespaces!.find((n) => n.domain === 'staging')!.message!, /^retained as it is \(its domain was removed\) and no longer managed$/);
    // Released stays released even under a policy that would delete it.
    await patchSpec(name, { deletionPolicy: 'Delete' });
    await sleep(1500);
    assert.ok(!(await deleted(`${name}-production`)), 'a released namespace is never deleted later');
  });

  test('DeleteEmpty: an empty namespace goes at once; one with a workflow waits until it has none', { timeout: 90_000 }, async () => {
    const name = await createProject('pe', { domains: ['development', 'staging', 'production'], deletionPolicy: 'DeleteEmpty' });
    await waitProject(name, 'Ready', ready);
    const staging = `${name}-staging`;
    await putWorkflow(staging);
    await patchSpec(name, { domains: ['development'] });
    const p = await waitProject(name, 'staging waiting', (p) => stateOf(p, staging) === 'Waiting');
    assert.deepEqual(p.status?.namespaces?.find((n) => n.name === staging), {
      name: staging,
      domain: 'staging',
      state: 'Waiting',
      workflows: 1,
      message: 'its domain was removed and it holds 1 FlyteWorkflow; deleted once there are none (deletionPolicy DeleteEmpty)',
    });
    await waitFor('production to be deleted', () => deleted(`${name}-production`));
    await sleep(1000);
    assert.ok(!(await deleted(staging)), 'a namespace holding a workflow is not deleted');
    await admin().request('DELETE', `${wfsPath(staging)}/wf`);
    await waitFor('staging to be deleted once empty', () => deleted(staging));
    assert.ok(!(await deleted(`${name}-development`)));
  });

  test('Delete: a removed domain\'s namespace is deleted, workflows and all (the explicit ask)', { timeout: 60_000 }, async () => {
    const name = await createProject('pd', { domains: ['development', 'staging'], deletionPolicy: 'Delete' });
    await waitProject(name, 'Ready', ready);
    const project = (await get<Project>(projectPath(name)))!;
    const n = (await get<Namespace>(nsPath(`${name}-staging`)))!;
    assert.deepEqual(n.metadata.ownerReferences, [{ apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', name, uid: project.metadata.uid }], 'under Delete: owned by the Project, without blockOwnerDeletion');
    await putWorkflow(`${name}-staging`);
    await patchSpec(name, { domains: ['development'] });
    await waitFor('staging to be deleted', () => deleted(`${name}-staging`));
    assert.ok(!(await deleted(`${name}-development`)));
    // Back to Retain: the owner reference goes, so nothing can cascade any more.
    await patchSpec(name, { deletionPolicy: 'Retain' });
    await waitFor('the owner reference to go', async () => (await get<Namespace>(nsPath(`${name}-development`)))?.metadata.ownerReferences === undefined);
  });

  // -------------------------------------------------------------------------------------------------------
  // Deleting a project

  test('deleting a project follows its deletion policy, whatever the propagation policy of the delete', { timeout: 90_000 }, async () => {
    const retain = await createProject('px', { domains: ['development', 'staging'] });
    const empty = await createProject('py', { domains: ['development', 'staging'], deletionPolicy: 'DeleteEmpty' });
    const remove = await createProject('pz', { domains: ['development'], deletionPolicy: 'Delete' });
    await Promise.all([retain, empty, remove].map((p) => waitProject(p, 'Ready', ready)));
    await putWorkflow(`${retain}-staging`);
    await putWorkflow(`${empty}-staging`);
    // Foreground: the garbage collector deletes every dependent at once. Retain's namespaces are none.
    await admin().request('DELETE', projectPath(retain), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } });
    await admin().request('DELETE', projectPath(empty));
    await admin().request('DELETE', projectPath(remove), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } });
    for (const p of [retain, empty, remove]) await waitFor(`project ${p} to be gone`, async () => !(await get(projectPath(p))), 30_000);
    await sleep(1000);
    for (const domain of ['development', 'staging']) {
      const n = await get<Namespace>(nsPath(`${retain}-${domain}`));
      assert.ok(n && !n.metadata.deletionTimestamp, `Retain keeps ${retain}-${domain}`);
      assert.equal(n.metadata.labels?.[MANAGED], undefined);
    }
    assert.ok(await deleted(`${empty}-development`), 'DeleteEmpty deletes an empty namespace');
    const kept = await get<Namespace>(nsPath(`${empty}-staging`));
    assert.ok(kept && !kept.metadata.deletionTimestamp, 'and retains one that holds a workflow');
    assert.ok(await deleted(`${remove}-development`), 'Delete deletes');
  });

  test('a namespace of the wanted name that belongs to something else is a Conflict, never touched; once gone, the project takes the name', { timeout: 60_000 }, async () => {
    const name = `pc-${suffix()}`;
    const foreign = `${name}-staging`;
    await admin().request('POST', nsPath(), { body: { metadata: { name: foreign, labels: { team: 'other', 'propeller.dev/test-owner': String(process.pid) } } } });
    projects.add(name);
    await admin().request('POST', projectPath(), { body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { domains: ['development', 'staging'], deletionPolicy: 'Delete' } } });
    const p = await waitProject(name, 'Degraded', (p) => p.status?.phase === 'Degraded' && stateOf(p, `${name}-development`) === 'Active');
    assert.equal(stateOf(p, foreign), 'Conflict');
    assert.match(p.status!.message!, new RegExp(`namespace "${foreign}" exists and is not a project's; left alone`));
    const n = (await get<Namespace>(nsPath(foreign)))!;
    assert.deepEqual(n.metadata.labels, { team: 'other', 'propeller.dev/test-owner': String(process.pid), 'kubernetes.io/metadata.name': foreign }, 'not adopted');
    assert.equal(n.metadata.ownerReferences, undefined);
    await admin().request('DELETE', nsPath(foreign));
    await waitProject(name, 'Ready once the name is free', (p) => ready(p) && stateOf(p, foreign) === 'Active', 60_000);
  });

  test('the API server refuses an invalid project with a precise message', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ domains: ['a'.repeat(60)] }, 'pv-long', /the namespace pv-long-a+ would be longer than 63 characters/],
      [{ domains: ['dev', 'dev'] }, 'pv-twice', /spec.domains lists a domain twice/],
      [{ domains: ['dev'], quota: { domains: { prod: { cpu: '1' } } } }, 'pv-quota', /spec.quota.domains names a domain that is not in spec.domains/],
      [{ domains: ['Dev'] }, 'pv-case', /spec.domains\[0\]: Invalid value: "Dev"/],
      [{ deletionPolicy: 'Sometimes' }, 'pv-policy', /Unsupported value: "Sometimes"/],
    ];
    for (const [spec, name, message] of cases) {
      const err = await rejected(admin().request('POST', projectPath(), { body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', metadata: { name }, spec } }));
      assert.equal(err.status, 422, `${name}: ${err.message}`);
      assert.match(err.serverMessage, message);
    }
    // examples/project.yaml is valid as it is.
    const example = parse(await readFile(join(repoRoot, 'examples', 'project.yaml'), 'utf8')) as { kind: string };
    assert.equal(example.kind, 'Project');
    await admin().request('POST', projectPath(), { body: example, query: { dryRun: 'All' } });
    const dotted = await rejected(admin().request('POST', projectPath(), { body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'Project', metadata: { name: 'ml.team' }, spec: {} } }));
    assert.match(dotted.serverMessage, /metadata.name ml.team is not a DNS label/);
  });

  test('promoting a definition version from one domain to another is one kubectl command (docs/projects.md)', { timeout: 60_000 }, async () => {
    const name = await createProject('pp', { domains: ['development', 'staging'] });
    await waitProject(name, 'Ready', ready);
    const definition = {
      apiVersion: 'flyte.propeller.dev/v1alpha1',
      kind: 'WorkflowDefinition',
      metadata: { name: 'train.v3', labels: { team: 'ml' } },
      spec: { name: 'train', version: 'v3', workflow: { tasks: { t: { version: '1', interface: { inputs: {}, outputs: {} }, container: { image: 'python:3.12-slim', command: ['python', '-c', 'print(1)'] } } }, nodes: { a: { task: 't' } } } },
    };
    await admin().request('POST', `${API}/namespaces/${name}-development/workflowdefinitions`, { body: definition });
    const doc = await readFile(join(repoRoot, 'docs', 'projects.md'), 'utf8');
    const command = /^kubectl get fwd NAME\.VERSION -n P-development -o jsonpath=.*$/m.exec(doc)?.[0];
    assert.ok(command, 'docs/projects.md shows the promotion command');
    const line = command.replaceAll('NAME.VERSION', 'train.v3').replaceAll('P-', `${name}-`).replaceAll('kubectl ', `${kubectl} --kubeconfig ${cluster().kubeconfigPath} `);
    for (let i = 0; i < 2; i++) {
      // Twice: promoting the same version again changes nothing (definitions are immutable).
      const r = await exec('sh', ['-c', line]).catch((err: { stderr?: string }) => assert.fail(`${line}\n${err.stderr}`));
      assert.match(r.stdout, i === 0 ? /workflowdefinition.flyte.propeller.dev\/train.v3 created/ : /unchanged/);
    }
    const copy = (await get<{ spec: unknown; metadata: Meta }>(`${API}/namespaces/${name}-staging/workflowdefinitions/train.v3`))!;
    assert.deepEqual(copy.spec, definition.spec);
    assert.equal(copy.metadata.labels?.['team'], 'ml');
  });

  // -------------------------------------------------------------------------------------------------------
  // The chart's RBAC: enough for all of the above, and nothing more

  test('under the chart\'s RBAC the propeller does all of it and nothing more', { timeout: 60_000 }, async () => {
    const name = await createProject('pq', { domains: ['development'], access: { viewers: [{ kind: 'Group', name: 'g' }] } });
    await waitProject(name, 'Ready', ready);
    const ns = `${name}-development`;
    const viewerRole = config.projects.viewerRole;
    const can = (verb: string, resource: string, namespace?: string, extra: { group?: string; subresource?: string; name?: string } = {}) => selfSubjectAccessReview(sa, { verb, resource, namespace, ...extra });
    const rbacGroup = { group: 'rbac.authorization.k8s.io' };
    for (const [verb, resource, namespace, extra] of [
      ['create', 'namespaces', undefined, {}],
      ['delete', 'namespaces', undefined, {}],
      ['watch', 'namespaces', undefined, {}],
      ['create', 'rolebindings', ns, rbacGroup],
      ['bind', 'clusterroles', undefined, { ...rbacGroup, name: viewerRole }],
      ['bind', 'clusterroles', undefined, { ...rbacGroup, name: config.projects.adminRole }],
      ['patch', 'projects', undefined, { group: 'flyte.propeller.dev', subresource: 'status' }],
    ] as const) {
      assert.equal(await can(verb, resource, namespace, extra), true, `may ${verb} ${resource} ${JSON.stringify(extra)}`);
    }
    for (const [verb, resource, namespace, extra] of [
      ['bind', 'clusterroles', undefined, { ...rbacGroup, name: 'cluster-admin' }],
      ['bind', 'clusterroles', undefined, { ...rbacGroup, name: 'admin' }],
      ['escalate', 'clusterroles', undefined, rbacGroup],
      ['escalate', 'roles', ns, rbacGroup],
      ['create', 'roles', ns, rbacGroup],
      ['create', 'clusterrolebindings', undefined, rbacGroup],
      ['update', 'clusterroles', undefined, { ...rbacGroup, name: viewerRole }],
      ['deletecollection', 'namespaces', undefined, {}],
      ['update', 'namespaces', undefined, {}],
      ['get', 'secrets', ns, {}],
      ['create', 'projects', undefined, { group: 'flyte.propeller.dev' }],
      ['delete', 'projects', undefined, { group: 'flyte.propeller.dev' }],
      ['get', 'pods', ns, { subresource: 'log' }],
      ['create', 'workflowdefinitions', ns, { group: 'flyte.propeller.dev' }],
    ] as const) {
      assert.equal(await can(verb, resource, namespace, extra), false, `may not ${verb} ${resource} ${JSON.stringify(extra)}`);
    }

    // Real requests with the propeller's token. RBAC: binding a role it may not bind.
    const binding = (bname: string, role: string) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: bname }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }] });
    const toAdmin = await rejected(sa.request('POST', inNs(ns, 'rolebindings'), { body: binding('propeller-admins', 'cluster-admin') }));
    assert.equal(toAdmin.status, 403);
    assert.match(toAdmin.serverMessage, /attempting to grant RBAC permissions not currently held|is attempting to grant/);
    // The admission policy: what RBAC cannot narrow (names, labels, which namespaces).
    const other = await createNamespace(admin(), 'pq-foreign');
    try {
      const outside = await rejected(sa.request('POST', inNs(other.name, 'rolebindings'), { body: binding('propeller-viewers', viewerRole) }));
      assert.equal(outside.status, 403);
      assert.match(outside.serverMessage, /only in the namespaces of Projects that it manages/);
      const odd = await rejected(sa.request('POST', inNs(ns, 'rolebindings'), { body: binding('backdoor', viewerRole) }));
      assert.match(odd.serverMessage, /writes only propeller-quota, propeller-limits and the RoleBindings/);
      const del = await rejected(sa.request('DELETE', nsPath(other.name)));
      assert.equal(del.status, 403);
      assert.match(del.serverMessage, /writes only the namespaces of Projects/);
      // Labels that would make it look like a project's namespace do not let the propeller take it over.
      const [, p1, d1] = /^(.*)-([0-9a-f]+)$/.exec(other.name)!;
      const relabel = await rejected(sa.request('PATCH', nsPath(other.name), { body: { metadata: { labels: { [PROJECT]: p1, [DOMAIN]: d1 } } }, contentType: MERGE_PATCH }));
      assert.equal(relabel.status, 403);
      assert.match(relabel.serverMessage, /never takes over a namespace that is not already a Project's/);
      const plain = await rejected(sa.request('POST', nsPath(), { body: { metadata: { name: `plain-${suffix()}` } } }));
      assert.match(plain.serverMessage, /writes only the namespaces of Projects/);
      const move = await rejected(sa.request('PATCH', nsPath(ns), { body: { metadata: { labels: { [PROJECT]: 'elsewhere' } } }, contentType: MERGE_PATCH }));
      assert.equal(move.status, 403);
      // A quota of the right name, outside a project: RBAC allows deleting it, the policy does not.
      await admin().request('POST', inNs(other.name, 'resourcequotas'), { body: { metadata: { name: 'propeller-quota' }, spec: { hard: { pods: '1' } } } });
      const quotaElsewhere = await rejected(sa.request('DELETE', inNs(other.name, 'resourcequotas', 'propeller-quota')));
      assert.equal(quotaElsewhere.status, 403);
      assert.ok(await get(nsPath(other.name)), 'the foreign namespace is still there');
    } finally {
      await other.remove();
    }
    const forbidden = logs.filter((l) => /forbidden|403/i.test(`${l.msg} ${l.err ?? ''}`));
    assert.deepEqual(forbidden, [], 'the controller itself was never refused');
  });

  test('a propeller that watches only some namespaces runs no Project controller, and says why', { timeout: 60_000 }, async () => {
    const ns = await createNamespace(admin(), 'pn-mode');
    const propeller = startPropeller({ kubeconfig: cluster().kubeconfigPath, namespaces: [ns.name] });
    try {
      await waitForLog(propeller, /the Project controller is off: it needs the cluster-wide mode/);
    } finally {
      await stopPropeller(propeller);
      await ns.remove();
    }
  });
});

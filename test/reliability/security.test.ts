// Security properties, all with the propeller running under the Helm chart's namespaced RBAC (a token of
// the chart's ServiceAccount and nothing else):
//   - pod identity: task pods run as the workflow's serviceAccountName, or the namespace's default when
//     unset, never as the propeller's own ServiceAccount (also when the chart is installed into the very
//     namespace whose workflows it runs);
//   - tenancy: with RBAC for namespace A, a workflow in A runs; the propeller's token cannot create, get,
//     list or delete pods in namespace B (real requests get 403, and SelfSubjectAccessReview agrees); a
//     workflow in B is never touched;
//   - input safety: values full of shell metacharacters reach the container unchanged, as argv elements
//     and env values, and nothing they spell out runs;
//   - pod names: over-long and odd workflow and node names give valid, distinct DNS-1123 pod names;
//   - least privilege: the token is all the propeller has, and it may do nothing beyond its job.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { KubeClient } from '../../src/k8s/rest.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { kwokTask, L, nodeTask, podRecorder, submit, waitForEnd, waitForReady, wfPath, wfsPath, type Env, type Recorder } from '../integration/helpers/e2e.ts';
import { createNamespace } from '../integration/helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from '../integration/helpers/propeller.ts';
import { selfSubjectAccessReview, type ChartRbac } from '../integration/helpers/restricted.ts';
import { listPods } from '../integration/helpers/workflows.ts';
import { forbiddenLines, installChartInto, propellerAlive, startChartEnv, stopPropellerPromptly, type ChartEnv } from './chart-env.ts';
import { Rows } from './fault-row.ts';
import { SCALE } from './results.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const LONG_NAME = (() => {
  const base = `sec-${'a'.repeat(59)}.${'b'.repeat(63)}.${'c'.repeat(63)}.`;
  return `${base}${'d'.repeat(253 - base.length)}`;
})();
const WORKFLOW_NAMES = SCALE === 'full' ? [LONG_NAME, 'a.b.c', '0-starts-with-a-digit', 'x', 'w'.repeat(63), 'double--dash', 'ends-in-9'] : [LONG_NAME, 'a.b.c'];
const NODE_NAMES = SCALE === 'full' ? ['Upper', 'upper', 'under_score', 'under-score', 'UNDER_SCORE', `n${'x'.repeat(62)}`, 'a-b', 'a_b', 'n1'] : ['Upper', 'upper', 'under_score', 'under-score', `n${'x'.repeat(62)}`];

const TOKEN = randomBytes(4).toString('hex');
const SENTINELS = [1, 2, 3, 4, 5, 6].map((i) => `/tmp/propeller-pwned-${TOKEN}-${i}`);
const NASTY = [
  `$(touch ${SENTINELS[0]})`,
  `; touch ${SENTINELS[1]} #`,
  `\`touch ${SENTINELS[2]}\``,
  `x && touch ${SENTINELS[3]} || true`,
  `| tee ${SENTINELS[4]}`,
  `> ${SENTINELS[5]}`,
  '$(HOME) $(FLYTE_INPUTS) ${PATH} $HOME $$ $$(HOME) $(',
  `"double" 'single' \\backslash\\ \\"`,
  'line1\nline2\r\n\ttabbed\u000b\f',
  '*.* ? [a-z] ~root !! %s %n {a,b}',
  '--flag=1',
  '-rf',
  '',
  ' ',
  "' OR '1'='1",
  '{{.inputs.s0}} {{ .Values.x }}',
  'ünïcødé 🚀 \u202e \u200b',
  'x'.repeat(10_000),
];

describe('security', () => {
  let a: ChartEnv | undefined;
  let nsB: { name: string; remove(): Promise<void> } | undefined;
  let nsC: { name: string; remove(): Promise<void> } | undefined;
  let rbacC: ChartRbac | undefined;
  let propellerC: RunningPropeller | undefined;
  let tokenClient: KubeClient | undefined;
  let pods: Recorder<Pod> | undefined;
  after(async () => {
    await pods?.stop();
    await tokenClient?.close();
    if (propellerC) await stopPropellerPromptly(propellerC);
    await rbacC?.uninstall();
    await a?.cleanup();
    await nsB?.remove();
    await nsC?.remove();
  });
  const cluster = useTestCluster();
  before(async () => {
    a = await startChartEnv(cluster(), 'sec-a');
    nsB = await createNamespace(cluster().client, 'sec-b');
    nsC = await createNamespace(cluster().client, 'sec-c');
    rbacC = await installChartInto(cluster(), nsC.name);
    propellerC = startPropeller({ kubeconfig: rbacC.kubeconfigPath, namespaces: [nsC.name], args: ['--config', rbacC.configPath], env: rbacC.env });
    tokenClient = await KubeClient.load(a.rbac.kubeconfigPath);
    pods = await podRecorder(a);
    await waitForReady(propellerC);
  });

  test('pod identity, tenancy, input safety, pod names and least privilege under the chart RBAC', { timeout: 300_000 }, async () => {
    const A = a!;
    const { client } = A;
    const B = nsB!.name;
    const envC: Env = { client, kubeconfig: A.kubeconfig, ns: nsC!.name, propeller: propellerC! };

    // --- Setup: a ServiceAccount for tasks in A; in B, a bystander pod and a workflow nobody may touch.
    await client.request('POST', `/api/v1/namespaces/${A.ns}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'task-runner' } } });
    await client.request('POST', `/api/v1/namespaces/${B}/pods`, {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bystander' }, spec: { restartPolicy: 'Never', nodeSelector: { 'propeller.dev/dev-node': 'kwok' }, tolerations: [{ key: 'propeller.dev/dev-node', operator: 'Exists' }], containers: [{ name: 'c', image: 'x', env: [{ name: 'KWOK_DURATION', value: '1h' }] }] } },
    });
    const quick = { tasks: { k: kwokTask('', { duration: '200ms' }) }, nodes: { only: { task: 'k' } } };
    await client.request('POST', wfsPath(B), { body: { apiVersion: 'flyte.propeller.dev/v1alpha1', kind: 'FlyteWorkflow', metadata: { name: 'untouched' }, spec: quick } });

    // --- Workflows in A (and one in C, where the chart itself is installed).
    await submit(A, 'id-sa', { ...quick, serviceAccountName: 'task-runner' });
    await submit(A, 'id-default', quick);
    await submit(envC, 'own-sa', { ...quick, serviceAccountName: rbacC!.serviceAccount });
    const inputs = Object.fromEntries(NASTY.map((v, i) => [`s${i}`, v]));
    await submit(A, 'safety', {
      interface: { inputs: Object.fromEntries(NASTY.map((_, i) => [`s${i}`, 'str'])), outputs: { argv: 'list[str]', env: 'str', inputs: 'list[str]' } },
      inputs,
      tasks: {
        echo: nodeTask(
          `const h = (s) => require('crypto').createHash('sha256').update(s, 'utf8').digest('hex');
out.argv = process.argv.slice(1).map(h);
out.env = h(process.env.NASTY ?? '<unset>');
out.inputs = Object.keys(inp).sort().map((k) => h(inp[k]));`,
          {
            inputs: Object.fromEntries(NASTY.map((_, i) => [`s${i}`, 'str'])),
            outputs: { argv: 'list[str]', env: 'str', inputs: 'list[str]' },
            args: ['--', ...NASTY.map((_, i) => `{{.inputs.s${i}}}`), 'pre-{{.inputs.s6}}-post'],
            env: [{ name: 'NASTY', value: '{{ .inputs.s1 }}|{{.inputs.s6}}|{{.inputs.s8}}' }],
          },
        ),
      },
      nodes: { echo: { task: 'echo', inputs: Object.fromEntries(NASTY.map((_, i) => [`s${i}`, { from: `inputs.s${i}` }])) } },
      outputs: { argv: { from: 'echo.argv' }, env: { from: 'echo.env' }, inputs: { from: 'echo.inputs' } },
    });
    const nameTask = kwokTask('', { duration: '100ms' });
    for (const wf of WORKFLOW_NAMES) await submit(A, wf, { maxParallelism: 0, tasks: { k: nameTask }, nodes: Object.fromEntries(NODE_NAMES.map((n) => [n, { task: 'k' }])) });
    // Attempts get distinct names too: a node that fails twice and is retried.
    await submit(A, 'retry-names', { tasks: { k: kwokTask('', { duration: '100ms', exitCode: 3, retries: 2 }) }, nodes: { 'Flaky_Node': { task: 'k' } } });

    const inA = ['id-sa', 'id-default', 'safety', ...WORKFLOW_NAMES, 'retry-names'];
    const finals = new Map<string, FlyteWorkflow | undefined>();
    await Promise.all(inA.map(async (n) => finals.set(n, await waitForEnd(A, n, 120_000))));
    // own-sa either ends or waits; give it the same time the others took, then look.
    const ownSa = await waitForEnd(envC, 'own-sa', 15_000);
    await sleep(2000);
    const allPods = [...pods!.uids().values()];
    const podsC = await listPods(client, nsC!.name, `${L.workflow}=own-sa`);
    const rows = new Rows();

    // --- Pod identity.
    await rows.run('security: pod identity (serviceAccountName, never the propeller’s own)', async (row, checks) => {
      row.injected = 3;
      row.workflows = 3;
      const sa = (wf: string) => allPods.filter((p) => p.metadata.annotations?.[L.workflow] === wf).map((p) => p.spec?.serviceAccountName);
      checks.equal(finals.get('id-sa')?.status?.phase, 'Succeeded', 'id-sa phase');
      checks.equal(finals.get('id-default')?.status?.phase, 'Succeeded', 'id-default phase');
      checks.equal(JSON.stringify(sa('id-sa')), JSON.stringify(['task-runner']), 'the pod of a workflow with serviceAccountName runs as it');
      checks.equal(JSON.stringify(sa('id-default')), JSON.stringify(['default']), "the pod of a workflow without one runs as the namespace's default");
      const asPropeller = allPods.filter((p) => p.spec?.serviceAccountName === A.rbac.serviceAccount);
      checks.equal(asPropeller.length, 0, `pods in ${A.ns} running as the propeller's ServiceAccount`);
      const own = podsC.filter((p) => p.spec?.serviceAccountName === rbacC!.serviceAccount);
      checks.equal(
        own.length,
        0,
        `a workflow in the propeller's own namespace naming the propeller's ServiceAccount (${rbacC!.serviceAccount}) got pods running as it: ${own.map((p) => p.metadata.name).join(', ')} (workflow ${ownSa?.status?.phase}: ${ownSa?.status?.message})`,
      );
      row.outcome = `named SA used: ${sa('id-sa').join(',')}; unset → ${sa('id-default').join(',')}; propeller's own SA requested in its own namespace → ${own.length ? `${own.length} pod(s) ran as the propeller` : `refused (${ownSa?.status?.phase ?? 'no phase'})`}`;
    });

    // --- Tenancy.
    await rows.run('security: tenancy (namespaced RBAC: namespace B is off limits)', async (row, checks) => {
      const t = tokenClient!;
      const attempts: [string, () => Promise<unknown>][] = [
        ['create pod in B', () => t.request('POST', `/api/v1/namespaces/${B}/pods`, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'intruder' }, spec: { containers: [{ name: 'c', image: 'x' }] } }, query: { dryRun: 'All' } })],
        ['get pod in B', () => t.request('GET', `/api/v1/namespaces/${B}/pods/bystander`)],
        ['list pods in B', () => t.request('GET', `/api/v1/namespaces/${B}/pods`)],
        ['delete pod in B', () => t.request('DELETE', `/api/v1/namespaces/${B}/pods/bystander`)],
        ['get workflow in B', () => t.request('GET', wfPath(B, 'untouched'))],
        ['list workflows in B', () => t.request('GET', wfsPath(B))],
        ['patch workflow status in B', () => t.request('PATCH', `${wfPath(B, 'untouched')}/status`, { body: { status: { phase: 'Failed' } }, contentType: 'application/merge-patch+json' })],
      ];
      row.injected = attempts.length + 1;
      row.workflows = inA.length + 1;
      let denied = 0;
      for (const [what, attempt] of attempts) {
        const status = await attempt().then(
          () => 200,
          (e: { status?: number }) => e.status ?? 0,
        );
        if (status === 403) denied++;
        checks.equal(status, 403, `${what} with the propeller's token`);
      }
      const can = (verb: string, resource: string, namespace: string, extra: { group?: string; subresource?: string } = {}) => selfSubjectAccessReview(t, { verb, resource, namespace, ...extra });
      for (const verb of ['create', 'get', 'list', 'watch', 'delete']) checks.equal(await can(verb, 'pods', B), false, `SelfSubjectAccessReview: ${verb} pods in B`);
      for (const verb of ['get', 'list', 'patch']) checks.equal(await can(verb, 'flyteworkflows', B, { group: 'flyte.propeller.dev' }), false, `SelfSubjectAccessReview: ${verb} flyteworkflows in B`);
      for (const verb of ['create', 'get', 'delete']) checks.equal(await can(verb, 'pods', A.ns), true, `SelfSubjectAccessReview: ${verb} pods in A (its job)`);
      const untouched = await client.request<FlyteWorkflow>('GET', wfPath(B, 'untouched'));
      checks.equal(untouched.status, undefined, 'the workflow in B has no status');
      checks.equal((untouched.metadata.finalizers ?? []).length, 0, 'the workflow in B has no finalizer');
      const podsB = await listPods(client, B);
      checks.equal(JSON.stringify(podsB.map((p) => p.metadata.name)), JSON.stringify(['bystander']), 'the only pod in B is the bystander');
      checks.equal(podsB[0]?.metadata.deletionTimestamp, undefined, 'the bystander is not being deleted');
      const ranInA = ['id-sa', 'id-default'].filter((n) => finals.get(n)?.status?.phase === 'Succeeded').length;
      checks.equal(ranInA, 2, 'workflows in A ran');
      row.outcome = `workflows in A Succeeded; ${denied}/${attempts.length} requests into B denied (403), SelfSubjectAccessReview agrees; the workflow in B untouched (no status, no finalizer, no pod)`;
    });

    // --- Input safety.
    await rows.run('security: input safety (shell metacharacters reach argv and env unchanged)', async (row, checks) => {
      row.injected = NASTY.length;
      row.workflows = 1;
      const st = finals.get('safety')?.status;
      checks.equal(st?.phase, 'Succeeded', `phase (${st?.message})`);
      const h = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
      const argv = [...NASTY, `pre-${NASTY[6]}-post`].map(h);
      const got = (st?.outputs?.['argv'] ?? []) as string[];
      let exact = 0;
      argv.forEach((want, i) => {
        if (got[i] === want) exact++;
        else checks.ok(false, `argv[${i}] differs from the input ${JSON.stringify((i < NASTY.length ? NASTY[i]! : `pre-${NASTY[6]}-post`).slice(0, 80))}`);
      });
      checks.equal(got.length, argv.length, 'argv elements (one per template, nothing split or merged)');
      checks.equal(st?.outputs?.['env'], h(`${NASTY[1]}|${NASTY[6]}|${NASTY[8]}`), 'the env value');
      checks.equal(JSON.stringify(st?.outputs?.['inputs']), JSON.stringify(Object.keys(inputs).sort().map((k) => h(inputs[k]!))), 'FLYTE_INPUTS');
      const ran = SENTINELS.filter((s) => existsSync(s));
      checks.equal(ran.length, 0, `files the inputs spelled out were created: ${ran.join(', ')}`);
      if (st?.outputs?.['argv'] === undefined) row.lost++;
      row.outcome = `${exact}/${argv.length} argv elements byte-identical, env value and FLYTE_INPUTS identical; ${ran.length} of ${SENTINELS.length} injected commands ran`;
    });

    // --- Pod names.
    await rows.run('security: pod names (odd and over-long workflow/node names)', async (row, checks) => {
      const mine = allPods.filter((p) => [...WORKFLOW_NAMES, 'retry-names'].includes(p.metadata.annotations?.[L.workflow] ?? ''));
      row.injected = WORKFLOW_NAMES.length * NODE_NAMES.length + 3;
      row.workflows = WORKFLOW_NAMES.length + 1;
      for (const wf of WORKFLOW_NAMES) checks.equal(finals.get(wf)?.status?.phase, 'Succeeded', `${wf.slice(0, 40)} phase (${finals.get(wf)?.status?.message})`);
      const retry = finals.get('retry-names')?.status;
      checks.equal(retry?.phase, 'Failed', 'retry-names ends Failed after its retries');
      checks.equal(retry?.nodes?.['Flaky_Node']?.attempts, 3, 'retry-names attempts');
      const names = mine.map((p) => p.metadata.name);
      const bad = names.filter((n) => !DNS_LABEL.test(n));
      checks.equal(bad.length, 0, `pod names that are not DNS-1123 labels: ${bad.join(', ')}`);
      checks.equal(new Set(names).size, names.length, 'pod names are distinct');
      const triples = new Set(mine.map((p) => `${p.metadata.annotations?.[L.workflow]}\u0000${p.metadata.annotations?.[L.node]}\u0000${p.metadata.labels?.[L.attempt]}`));
      checks.equal(triples.size, names.length, 'one pod per (workflow, node, attempt)');
      checks.equal(names.length, WORKFLOW_NAMES.length * NODE_NAMES.length + 3, 'a pod for every node of every workflow, and one per attempt');
      for (const wf of WORKFLOW_NAMES) {
        const nodes = new Set(mine.filter((p) => p.metadata.annotations?.[L.workflow] === wf).map((p) => p.metadata.annotations?.[L.node]));
        for (const n of NODE_NAMES) checks.ok(nodes.has(n), `${wf.slice(0, 30)}: the exact node name ${n} is in a pod's annotation`);
      }
      const badLabels = mine.flatMap((p) => Object.entries(p.metadata.labels ?? {}).filter(([, v]) => !LABEL_VALUE.test(v)).map(([k, v]) => `${k}=${v}`));
      checks.equal(badLabels.length, 0, `invalid label values: ${badLabels.slice(0, 3).join(', ')}`);
      row.duplicates = names.length - new Set(names).size;
      row.outcome = `${names.length} pods: all valid DNS-1123 labels (longest ${Math.max(...names.map((n) => n.length))}), all distinct; exact names kept in annotations`;
    });

    // --- Least privilege.
    await rows.run('security: least privilege (chart RBAC only)', async (row, checks) => {
      const t = tokenClient!;
      const kubeconfig = JSON.parse(readFileSync(A.rbac.kubeconfigPath, 'utf8')) as { users: { user: Record<string, unknown> }[] };
      checks.equal(JSON.stringify(kubeconfig.users.map((u) => Object.keys(u.user))), JSON.stringify([['token']]), "the propeller's only credential is the ServiceAccount token");
      const denied: [string, string, string | undefined, { group?: string; subresource?: string; name?: string }?][] = [
        ['get', 'secrets', A.ns],
        ['list', 'secrets', A.ns],
        ['list', 'secrets', undefined],
        ['get', 'configmaps', A.ns],
        ['create', 'pods', A.ns, { subresource: 'exec' }],
        ['create', 'pods', A.ns, { subresource: 'eviction' }],
        ['get', 'pods', A.ns, { subresource: 'log' }],
        ['update', 'pods', A.ns],
        ['patch', 'pods', A.ns],
        ['create', 'serviceaccounts', A.ns, { subresource: 'token' }],
        // Creating and deleting executions is its job now (launch plans start runs and prune old ones);
        // replacing one, or touching the definitions and launch plans users own, is not.
        ['update', 'flyteworkflows', A.ns, { group: 'flyte.propeller.dev' }],
        ['create', 'workflowdefinitions', A.ns, { group: 'flyte.propeller.dev' }],
        ['delete', 'workflowdefinitions', A.ns, { group: 'flyte.propeller.dev' }],
        ['patch', 'launchplans', A.ns, { group: 'flyte.propeller.dev' }],
        ['delete', 'launchplans', A.ns, { group: 'flyte.propeller.dev' }],
        ['create', 'projects', undefined, { group: 'flyte.propeller.dev' }],
        ['create', 'roles', A.ns, { group: 'rbac.authorization.k8s.io' }],
        ['create', 'rolebindings', A.ns, { group: 'rbac.authorization.k8s.io' }],
        ['bind', 'clusterroles', undefined, { group: 'rbac.authorization.k8s.io' }],
        ['escalate', 'roles', A.ns, { group: 'rbac.authorization.k8s.io' }],
        ['impersonate', 'serviceaccounts', A.ns],
        ['list', 'nodes', undefined],
        ['create', 'pods', 'kube-system'],
        ['create', 'pods', A.rbac.releaseNamespace],
        ['list', 'pods', undefined],
      ];
      row.injected = denied.length;
      row.workflows = inA.length;
      let refused = 0;
      for (const [verb, resource, namespace, extra] of denied) {
        const allowed = await selfSubjectAccessReview(t, { verb, resource, ...(namespace ? { namespace } : {}), ...extra });
        if (!allowed) refused++;
        checks.equal(allowed, false, `may ${verb} ${resource}${extra?.subresource ? `/${extra.subresource}` : ''} in ${namespace ?? 'all namespaces'}`);
      }
      const role = await client.request<{ rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] }>('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A.ns}/roles/${A.rbac.serviceAccount}`);
      const wild = role.rules.filter((r) => [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs].includes('*'));
      checks.equal(wild.length, 0, `wildcards in the Role: ${JSON.stringify(wild)}`);
      const elsewhere = (await listPods(client, A.rbac.releaseNamespace)).length;
      checks.equal(elsewhere, 0, 'pods in the release namespace');
      const forbidden = [...forbiddenLines(A), ...forbiddenLines(envC)];
      checks.equal(forbidden.length, 0, `requests the chart's RBAC forbade: ${forbidden.slice(0, 1).join('').slice(0, 300)}`);
      checks.ok(await propellerAlive(A), 'the propeller is up');
      row.outcome = `token-only credential; ${refused}/${denied.length} privileges beyond its job denied; no wildcard rules; no request forbidden while running ${inA.length + 1} workflows`;
    });
    rows.finish();
  });
});

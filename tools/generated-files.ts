import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { cacheEntryCrd, definitionCrd, flyteWorkflowCrd, launchPlanCrd, projectCrd } from '../src/api/crd.ts';
import { ConfigSchema } from '../src/config/schema.ts';
import { ensureBinaries } from './controlplane/build.ts';
import { repoRoot } from './controlplane/components.ts';
import { readmeSections, withSections } from './readme-sections.ts';

const HEADER = '# Generated from src/api/flyteworkflow.ts by `npm run generate`. Do not edit.\n';

const CHART = 'charts/propeller';
const VALUES_SCHEMA = `${CHART}/values.schema.json`;

/** The release that manifests/ is rendered as: what `kubectl apply -f manifests/` installs. */
export const MANIFESTS_RELEASE = { name: 'propeller', namespace: 'propeller-system' } as const;

/** manifests/ file → the kinds it holds. Files sort in apply order: the Namespace and CRD first. */
const MANIFEST_FILES: [string, string[]][] = [
  ['00-namespace.yaml', ['Namespace']],
  ['01-crds.yaml', ['CustomResourceDefinition']],
  ['10-serviceaccount.yaml', ['ServiceAccount']],
  ['20-rbac.yaml', ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']],
  ['25-admission.yaml', ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']],
  ['30-configmap.yaml', ['ConfigMap']],
  ['40-service.yaml', ['Service']],
  ['50-deployment.yaml', ['Deployment']],
];

/** Repository path → content, for each file derived from code. */
export async function generatedFiles(): Promise<Record<string, string>> {
  const chart = {
    [`${CHART}/crds/flyteworkflows.yaml`]: HEADER + stringify(flyteWorkflowCrd(), { lineWidth: 0 }),
    [`${CHART}/crds/cacheentries.yaml`]: HEADER.replace('flyteworkflow.ts', 'cache-entry.ts') + stringify(cacheEntryCrd(), { lineWidth: 0 }),
    [`${CHART}/crds/workflowdefinitions.yaml`]: HEADER.replace('flyteworkflow.ts', 'definition.ts') + stringify(definitionCrd(), { lineWidth: 0 }),
    [`${CHART}/crds/launchplans.yaml`]: HEADER.replace('flyteworkflow.ts', 'launch-plan.ts') + stringify(launchPlanCrd(), { lineWidth: 0 }),
    [`${CHART}/crds/projects.yaml`]: HEADER.replace('flyteworkflow.ts', 'project.ts') + stringify(projectCrd(), { lineWidth: 0 }),
    [VALUES_SCHEMA]: await valuesSchema(),
  };
  const readme = withSections(await readFile(join(repoRoot, 'README.md'), 'utf8'), await readmeSections());
  return { ...chart, ...(await plainManifests(chart)), 'README.md': readme };
}

/**
 * The chart's values.schema.json: the hand-written file with `properties.config` replaced by the
 * propeller's own config schema, so `helm install` rejects exactly what the propeller would.
 */
async function valuesSchema(): Promise<string> {
  const schema = JSON.parse(await readFile(join(repoRoot, VALUES_SCHEMA), 'utf8')) as { properties: Record<string, unknown> };
  schema.properties['config'] = chartConfigSchema();
  return `${JSON.stringify(schema, null, 2)}\n`;
}

type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema> };

function chartConfigSchema(): JsonSchema {
  const tidy = (node: JsonSchema): JsonSchema => {
    const out: JsonSchema = { ...node };
    delete out['$schema'];
    if (out['maximum'] === Number.MAX_SAFE_INTEGER) delete out['maximum'];
    if (out['minimum'] === Number.MIN_SAFE_INTEGER) delete out['minimum'];
    if (out.properties) {
      delete out['default'];
      out['additionalProperties'] = false;
      out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, tidy(v)]));
    }
    return out;
  };
  const config = tidy(z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-7' }) as JsonSchema);
  const props = config.properties!;
  // Set by the chart: the in-cluster service account, watchNamespaces, and one identity per pod (POD_NAME).
  delete props['kubeconfig'];
  delete props['namespaces'];
  const le = props['leaderElection']!.properties!;
  delete le['identity'];
  delete le['enabled']!['default'];
  le['enabled']!['description'] += ' Unset: true when replicaCount > 1; false with replicaCount > 1 fails the install.';
  le['namespace']!['description'] = 'Namespace of the Lease; empty means the release namespace (the leader-election Role goes there).';
  le['name']!['description'] = 'Name of the Lease; empty means "<fullname>-leader".';
  le['name']!['default'] = '';
  // projects.enabled follows watchNamespaces unless set; the role names default to the release's own ClusterRoles.
  const projects = props['projects']!.properties!;
  delete projects['enabled']!['default'];
  projects['enabled']!['description'] += ' Unset: true, unless watchNamespaces is set; true with watchNamespaces fails the install.';
  for (const [key, role] of [['viewerRole', 'viewer'], ['submitterRole', 'submitter'], ['adminRole', 'admin']] as const) {
    projects[key] = { type: 'string', default: '', description: `${projects[key]!['description']} Empty means "<fullname>-${role}", which the chart creates.` };
  }
  const server = props['server']!.properties!;
  server['port'] = { ...server['port'], minimum: 1, description: 'Port of /healthz, /readyz and /metrics: the container port and the probes\' target.' };
  return { description: "The propeller's configuration file (src/config/schema.ts), mounted at /etc/propeller/config.yaml.", ...config };
}

/**
 * manifests/: `helm template` of the chart with default values, split by kind, plus the Namespace and a
 * Kustomization. The chart is rendered from a copy holding this run's generated chart files, so one
 * `npm run generate` is enough after changing the CRD or the config schema.
 */
async function plainManifests(chartFiles: Record<string, string>): Promise<Record<string, string>> {
  const { helm } = await ensureBinaries({ only: ['helm'] });
  const dir = await mkdtemp(join(tmpdir(), 'propeller-chart-'));
  let rendered: string;
  try {
    await cp(join(repoRoot, CHART), dir, { recursive: true });
    for (const [path, content] of Object.entries(chartFiles)) await writeFile(join(dir, relative(CHART, path)), content);
    const args = ['template', MANIFESTS_RELEASE.name, dir, '--namespace', MANIFESTS_RELEASE.namespace, '--include-crds', '--kube-version', '1.34.0'];
    rendered = (await promisify(execFile)(helm!, args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const namespace = stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: MANIFESTS_RELEASE.namespace,
      labels: {
        'app.kubernetes.io/name': 'propeller',
        'app.kubernetes.io/part-of': 'propeller',
        // The propeller's pod meets the restricted Pod Security Standard; enforce it.
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  });
  const byFile = new Map<string, string[]>(MANIFEST_FILES.map(([file]) => [file, []]));
  for (const doc of [namespace, ...rendered.split(/^---\s*$/m)]) {
    const kind = (parseAllDocuments(doc)[0]?.toJS() as { kind?: string } | null)?.kind;
    if (!kind) continue; // comments only, or empty
    const file = MANIFEST_FILES.find(([, kinds]) => kinds.includes(kind))?.[0];
    if (!file) throw new Error(`manifests: the chart renders a ${kind}; add it to MANIFEST_FILES in tools/generated-files.ts`);
    byFile.get(file)!.push(`${doc.trim()}\n`);
  }
  const header =
    '# Generated by `npm run generate` from charts/propeller with default values\n' +
    `# (helm template ${MANIFESTS_RELEASE.name} charts/propeller --namespace ${MANIFESTS_RELEASE.namespace} --include-crds). Do not edit.\n`;
  const files: Record<string, string> = {};
  for (const [file, contents] of byFile) if (contents.length) files[`manifests/${file}`] = header + contents.join('---\n');
  files['manifests/Kustomization'] =
    '# Generated by `npm run generate`. Do not edit.\n' +
    '# For `kubectl apply -k manifests/`. Named "Kustomization", with no extension, on purpose: `kubectl apply -f\n' +
    '# manifests/` reads every .yaml file here and would fail on a kustomization.yaml, whose kind is not an API\n' +
    '# object. Kustomize accepts kustomization.yaml, kustomization.yml and Kustomization alike.\n' +
    stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: Object.keys(files).map((f) => f.slice('manifests/'.length)) });
  return files;
}

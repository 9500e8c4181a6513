// The cluster a command talks to, found as kubectl finds it: --kubeconfig or $KUBECONFIG or ~/.kube/config,
// --context or the current context, and -n or the context's namespace (or --project/--domain).
import { isDeepStrictEqual } from 'node:util';
import { KubeApiError, KubeTransportError, isAlreadyExists, isNotFound } from '../../../src/k8s/errors.ts';
import { definitionPath, definitionsPath, launchPlanPath, launchPlansPath } from '../../../src/k8s/paths.ts';
import { JSON_PATCH, KubeClient } from '../../../src/k8s/rest.ts';
import { ApiError, UsageError } from './args.ts';

export interface KubeFlags {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  project?: string;
  domain?: string;
}

export interface Cluster {
  client: KubeClient;
  namespace: string;
  /** project and domain labels for what is created, from --project and --domain. */
  labels: Record<string, string>;
  close(): Promise<void>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The namespace and labels the flags name, without connecting (the context's namespace needs the client). */
export function namespaceOf(command: string, flags: KubeFlags, contextNamespace: string | undefined): { namespace: string; labels: Record<string, string> } {
  const { project, domain } = flags;
  if ((project === undefined) !== (domain === undefined)) throw new UsageError('--project and --domain go together (the namespace is PROJECT-DOMAIN)', command);
  if (project !== undefined && domain !== undefined) {
    const ns = `${project}-${domain}`;
    if (flags.namespace !== undefined && flags.namespace !== ns) throw new UsageError(`-n ${flags.namespace} and --project ${project} --domain ${domain} (namespace ${ns}) disagree; give one of them`, command);
    if (!DNS_LABEL.test(ns)) throw new UsageError(`--project ${project} --domain ${domain}: "${ns}" is not a namespace name (lowercase letters, digits and -, at most 63 characters)`, command);
    return { namespace: ns, labels: { project, domain } };
  }
  return { namespace: flags.namespace ?? contextNamespace ?? 'default', labels: {} };
}

export async function connect(command: string, flags: KubeFlags): Promise<Cluster> {
  const kubeconfig = flags.kubeconfig ?? undefined;
  let client: KubeClient;
  try {
    client = await KubeClient.load(kubeconfig, { userAgent: 'propeller-cli', ...(flags.context !== undefined ? { context: flags.context } : {}) });
  } catch (err) {
    throw new ApiError(`cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${err instanceof Error ? err.message.replace(/^LOAD kubeconfig: /, '') : String(err)}`);
  }
  const { namespace, labels } = namespaceOf(command, flags, client.namespace);
  return { client, namespace, labels, close: () => client.close() };
}

/** A message for an API error, without the HTTP plumbing unless it helps. */
export function apiMessage(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.serverMessage} (${err.status}${err.reason ? ` ${err.reason}` : ''})`;
  if (err instanceof KubeTransportError) return `cannot reach the cluster: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export type Outcome = 'created' | 'unchanged' | 'configured';

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: unknown;
  [k: string]: unknown;
}

const configMapPath = (ns: string, name?: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** Where a resource of the SDK's kinds lives. */
function paths(r: Resource, ns: string): { collection: string; item: string } {
  const name = r.metadata.name!;
  switch (r.kind) {
    case 'ConfigMap':
      return { collection: configMapPath(ns), item: configMapPath(ns, name) };
    case 'WorkflowDefinition':
      return { collection: definitionsPath(ns), item: definitionPath(ns, name) };
    case 'LaunchPlan':
      return { collection: launchPlansPath(ns), item: launchPlanPath(ns, name) };
    default:
      throw new Error(`cannot apply a ${r.kind}`);
  }
}

/** Stands for a definition that exists at this version with another spec: bump the version. */
export class ImmutableConflict extends Error {
  override name = 'ImmutableConflict';
}

/**
 * Creates what registering makes, each the way its kind asks:
 *  - a code ConfigMap is content-addressed: one that exists already is the same code;
 *  - a WorkflowDefinition is immutable: one with the same spec is fine, another spec is an error that says
 *    to bump the version (the API server has the last word: it refuses a changed spec and accepts the same);
 *  - a LaunchPlan is applied: created, or its spec replaced.
 * Only create, get and patch are used: what the project roles (propeller-submitter, -admin) allow.
 */
export async function apply(client: KubeClient, ns: string, resource: Resource): Promise<Outcome> {
  const r: Resource = { ...resource, metadata: { ...resource.metadata, namespace: ns } };
  const { collection, item } = paths(r, ns);
  try {
    await client.request('POST', collection, { body: r });
    return 'created';
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  if (r.kind === 'ConfigMap') return 'unchanged';
  const current = await client.request<Resource>('GET', item);
  const labels = { ...(current.metadata.labels ?? {}), ...(r.metadata.labels ?? {}) };
  if (isDeepStrictEqual(current.spec, r.spec) && isDeepStrictEqual(current.metadata.labels ?? {}, labels)) return 'unchanged';
  // A JSON patch, not an update: the project roles may patch these kinds but not update them. Replacing
  // /spec whole is apply's "replace the spec"; for a definition the API server accepts it only unchanged.
  const ops = [
    { op: 'replace', path: '/spec', value: r.spec },
    ...(current.metadata.labels
      ? Object.entries(r.metadata.labels ?? {}).map(([k, value]) => ({ op: 'add', path: `/metadata/labels/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }))
      : [{ op: 'add', path: '/metadata/labels', value: labels }]),
  ];
  try {
    await client.request('PATCH', item, { body: ops, contentType: JSON_PATCH });
  } catch (err) {
    if (r.kind === 'WorkflowDefinition' && err instanceof KubeApiError && (err.status === 422 || err.status === 400) && /immutable/.test(err.message)) {
      const spec = r.spec as { version?: string };
      throw new ImmutableConflict(
        `workflowdefinition ${r.metadata.name} exists with a different workflow: a definition version never changes. Register the change as a new version (--version, or commit it for a new git SHA)${spec.version ? `; "${spec.version}" is taken` : ''}`,
      );
    }
    throw err;
  }
  // The server accepted the definition's spec: it is the same workflow (only defaults or labels differed).
  return r.kind === 'WorkflowDefinition' ? 'unchanged' : 'configured';
}

/** GET, or undefined when it does not exist. */
export async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

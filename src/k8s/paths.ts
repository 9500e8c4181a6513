import { GROUP, PLURAL, VERSION } from '../api/flyteworkflow.ts';
import { CACHE_PLURAL } from '../api/cache-entry.ts';
import { PROJECT_PLURAL } from '../api/project.ts';
import { DEFINITION_PLURAL } from '../api/definition.ts';
import { LAUNCH_PLAN_PLURAL } from '../api/launch-plan.ts';

const seg = encodeURIComponent;

export const workflowsPath = (namespace?: string): string =>
  namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${seg(namespace)}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
export const workflowPath = (namespace: string, name: string): string => `${workflowsPath(namespace)}/${seg(name)}`;
export const podsPath = (namespace?: string): string => (namespace ? `/api/v1/namespaces/${seg(namespace)}/pods` : '/api/v1/pods');
export const podPath = (namespace: string, name: string): string => `${podsPath(namespace)}/${seg(name)}`;
export const eventsPath = (namespace: string): string => `/api/v1/namespaces/${seg(namespace)}/events`;
export const leasePath = (namespace: string, name?: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases${name === undefined ? '' : `/${seg(name)}`}`;
export const cacheEntriesPath = (namespace?: string): string =>
  namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${seg(namespace)}/${CACHE_PLURAL}` : `/apis/${GROUP}/${VERSION}/${CACHE_PLURAL}`;
export const cacheEntryPath = (namespace: string, name: string): string => `${cacheEntriesPath(namespace)}/${seg(name)}`;
export const definitionsPath = (namespace?: string): string =>
  namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${seg(namespace)}/${DEFINITION_PLURAL}` : `/apis/${GROUP}/${VERSION}/${DEFINITION_PLURAL}`;
export const definitionPath = (namespace: string, name: string): string => `${definitionsPath(namespace)}/${seg(name)}`;
export const launchPlansPath = (namespace?: string): string =>
  namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${seg(namespace)}/${LAUNCH_PLAN_PLURAL}` : `/apis/${GROUP}/${VERSION}/${LAUNCH_PLAN_PLURAL}`;
export const launchPlanPath = (namespace: string, name: string): string => `${launchPlansPath(namespace)}/${seg(name)}`;
export const projectsPath = (): string => `/apis/${GROUP}/${VERSION}/${PROJECT_PLURAL}`;
export const projectPath = (name: string): string => `${projectsPath()}/${seg(name)}`;
export const namespacesPath = (): string => '/api/v1/namespaces';
export const namespacePath = (name: string): string => `${namespacesPath()}/${seg(name)}`;
/** resourcequotas, limitranges (core) or rolebindings (RBAC), in one namespace or in all. */
export const namespacedPath = (resource: 'resourcequotas' | 'limitranges' | 'rolebindings', namespace?: string, name?: string): string => {
  const base = resource === 'rolebindings' ? '/apis/rbac.authorization.k8s.io/v1' : '/api/v1';
  const collection = namespace ? `${base}/namespaces/${seg(namespace)}/${resource}` : `${base}/${resource}`;
  return name === undefined ? collection : `${collection}/${seg(name)}`;
};

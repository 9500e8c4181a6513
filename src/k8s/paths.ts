import { GROUP, PLURAL, VERSION } from '../api/flyteworkflow.ts';
import { CACHE_PLURAL } from '../api/cache-entry.ts';

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

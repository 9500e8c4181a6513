import { WorkflowCompileError } from './errors.ts';

/**
 * The Kubernetes name of a workflow or launch plan: its name in lowercase with _ as - (simple_wf →
 * simple-wf), since object names are DNS labels.
 */
export function resourceName(name: string, what: string): string {
  const kebab = name.replace(/_/g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(kebab)) {
    throw new WorkflowCompileError(`${what}: "${name}" does not make a Kubernetes name ("${kebab}" must be 1–63 lowercase letters, digits and -, starting and ending with a letter or digit)`);
  }
  return kebab;
}

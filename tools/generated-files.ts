import { stringify } from 'yaml';
import { flyteWorkflowCrd } from '../src/api/crd.ts';

const HEADER = '# Generated from src/api/flyteworkflow.ts by `npm run generate`. Do not edit.\n';

/** Repository path → content, for each file derived from code. */
export async function generatedFiles(): Promise<Record<string, string>> {
  return {
    'charts/propeller/crds/flyteworkflows.yaml': HEADER + stringify(flyteWorkflowCrd(), { lineWidth: 0 }),
  };
}

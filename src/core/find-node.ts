import type { CompiledNode, CompiledScope } from './compiled.ts';
import { ON_FAILURE } from './compiled.ts';

/** The compiled node at a status path ("train/split", "decide/case-0", "onFailure"), if there is one. */
export function findNode(root: CompiledScope, path: string): CompiledNode | undefined {
  let scope: CompiledScope | undefined = root;
  let node: CompiledNode | undefined;
  for (const segment of path.split('/')) {
    if (!scope) return undefined;
    node = segment === ON_FAILURE ? scope.onFailure?.nodes[0] : scope.nodeById.get(segment);
    if (!node) return undefined;
    scope = node.kind === 'subworkflow' ? node.scope : undefined;
    if (node.kind === 'branch') {
      const branch: CompiledNode = node;
      scope = {
        name: '',
        inputTypes: new Map(),
        outputTypes: new Map(),
        nodes: [],
        nodeById: new Map(branch.kind === 'branch' ? branch.arms.map((a) => [a.id, a.scope.nodes[0]!]) : []),
        outputs: {},
        onFailure: undefined,
      };
    }
  }
  return node;
}

// Finding a gate by its node path in a workflow spec (inline, or the copy an execution by reference
// resolved): to check a decision is sent to a gate that exists, and to read a signal gate's type.
import { UsageError } from './args.ts';

interface NodeLike {
  subworkflow?: string;
  branch?: { cases?: { then: NodeLike }[]; else?: NodeLike };
  gate?: { sleep?: string; approve?: unknown; signal?: { type: string } };
}

interface ScopeLike {
  nodes?: Record<string, NodeLike>;
  onFailure?: NodeLike;
}

interface SpecLike extends ScopeLike {
  subworkflows?: Record<string, ScopeLike>;
}

/** The node at `path` (a/b/c through subworkflow nodes and branch arms case-N and else). */
export function findNode(spec: SpecLike, path: string): NodeLike | undefined {
  let scope: ScopeLike | undefined = spec;
  let node: NodeLike | undefined;
  for (const part of path.split('/')) {
    if (node?.branch) {
      const m = /^case-(\d+)$/.exec(part);
      node = part === 'else' ? node.branch.else : m ? node.branch.cases?.[Number(m[1])]?.then : undefined;
      if (!node) return undefined;
      continue;
    }
    if (node) {
      if (!node.subworkflow) return undefined;
      scope = spec.subworkflows?.[node.subworkflow];
    }
    node = part === 'onFailure' ? scope?.onFailure : scope?.nodes?.[part];
    if (!node) return undefined;
  }
  return node;
}

/** Every gate path of the spec, for messages (subworkflows and branches walked, each at most once deep). */
export function gatePaths(spec: SpecLike, kind?: 'approve' | 'signal'): string[] {
  const out: string[] = [];
  const visit = (node: NodeLike, path: string, depth: number) => {
    if (depth > 10) return;
    if (node.gate && (kind === undefined ? !node.gate.sleep : node.gate[kind] !== undefined)) out.push(path);
    if (node.branch) {
      node.branch.cases?.forEach((c, i) => visit(c.then, `${path}/case-${i}`, depth + 1));
      if (node.branch.else) visit(node.branch.else, `${path}/else`, depth + 1);
    }
    if (node.subworkflow) {
      const sub = spec.subworkflows?.[node.subworkflow];
      for (const [n, child] of Object.entries(sub?.nodes ?? {})) visit(child, `${path}/${n}`, depth + 1);
    }
  };
  for (const [n, node] of Object.entries(spec.nodes ?? {})) visit(node, n, 0);
  return out;
}

/**
 * The gate a decision goes to, checked when the spec is known: an approve decision to an approve gate, a
 * value to a signal gate. Returns the signal's type when there is one.
 */
export function checkGate(command: string, spec: SpecLike | undefined, execution: string, path: string, kind: 'approve' | 'signal'): { type?: string } {
  if (!spec?.nodes) return {};
  const node = findNode(spec, path);
  const gates = gatePaths(spec, kind);
  const list = gates.length ? `its ${kind} gates: ${gates.join(', ')}` : `it has no ${kind} gate`;
  if (!node) throw new UsageError(`${execution} has no node "${path}" (${list})`, command);
  if (kind === 'approve' && node.gate?.approve === undefined) {
    throw new UsageError(`node "${path}" of ${execution} is not an approve gate${node.gate?.signal ? ': it is a signal gate (propeller signal)' : ''} (${list})`, command);
  }
  if (kind === 'signal' && !node.gate?.signal) {
    throw new UsageError(`node "${path}" of ${execution} is not a signal gate${node.gate?.approve !== undefined ? ': it is an approve gate (propeller approve or reject)' : ''} (${list})`, command);
  }
  return node.gate?.signal ? { type: node.gate.signal.type } : {};
}

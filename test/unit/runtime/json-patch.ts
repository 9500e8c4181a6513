import type { JsonPatchOp } from '../../../src/controller/status-patch.ts';

/** Splits an RFC 6901 JSON pointer into reference tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`bad pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~[^01]|~$/.test(t)) throw new Error(`bad escape in ${JSON.stringify(pointer)}`);
      return t.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * An RFC 6902 applier (add, remove, replace, test) over a deep copy of `doc`. It throws where the RFC
 * says the patch fails (a missing parent, removing or replacing a missing member, a failed test), except
 * that, like the Kubernetes API server, it lets a missing member pass a test for null.
 */
export function applyPatch<T>(doc: T, ops: readonly (JsonPatchOp | { op: 'test'; path: string; value: unknown })[]): T {
  let root = structuredClone(doc) as unknown;
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    if (tokens.length === 0) {
      if (op.op === 'remove') throw new Error('cannot remove the root');
      if (op.op === 'test') {
        if (JSON.stringify(root) !== JSON.stringify(op.value)) throw new Error('test failed at root');
        continue;
      }
      root = structuredClone(op.value);
      continue;
    }
    let parent: unknown = root;
    for (const t of tokens.slice(0, -1)) {
      if (Array.isArray(parent)) parent = parent[Number(t)];
      else if (isObject(parent) && Object.hasOwn(parent, t)) parent = parent[t];
      else throw new Error(`${op.op} ${op.path}: parent does not exist`);
      if (parent === undefined) throw new Error(`${op.op} ${op.path}: parent does not exist`);
    }
    const last = tokens.at(-1)!;
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`${op.op} ${op.path}: bad index`);
      if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
      else if (index >= parent.length) throw new Error(`${op.op} ${op.path}: no such element`);
      else if (op.op === 'remove') parent.splice(index, 1);
      else if (op.op === 'replace') parent[index] = structuredClone(op.value);
      else if (JSON.stringify(parent[index]) !== JSON.stringify(op.value)) throw new Error(`test ${op.path} failed`);
      continue;
    }
    if (!isObject(parent)) throw new Error(`${op.op} ${op.path}: parent is not a container`);
    const exists = Object.hasOwn(parent, last);
    switch (op.op) {
      case 'add':
        setOwn(parent, last, structuredClone(op.value));
        break;
      case 'replace':
        if (!exists) throw new Error(`replace ${op.path}: no such member`);
        setOwn(parent, last, structuredClone(op.value));
        break;
      case 'remove':
        if (!exists) throw new Error(`remove ${op.path}: no such member`);
        delete parent[last];
        break;
      case 'test':
        // As the Kubernetes API server's JSON Patch does (and RFC 6902 does not): a missing member tests as null.
        if (exists ? JSON.stringify(parent[last]) !== JSON.stringify(op.value) : op.value !== null) throw new Error(`test ${op.path} failed`);
        break;
    }
  }
  return root as T;
}

export type { Json };

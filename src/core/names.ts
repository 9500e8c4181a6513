import { createHash } from 'node:crypto';

/** Node and task names: they appear in bindings (NODE.OUTPUT), pod names and labels. */
export const NODE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
/** Input and output names: Python identifiers, as they appear in {{.inputs.NAME}} and NODE.NAME. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS-1123 subdomain, the name rule of most objects (ConfigMaps among them); it must also be at most 253 characters. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const MAX_SUBDOMAIN_LENGTH = 253;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** 10 lowercase base32 characters (50 bits) of SHA-256: short, DNS-safe and practically collision-free. */
function shortHash(text: string): string {
  const bytes = createHash('sha256').update(text).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 10) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === 10) break;
  }
  return out;
}

/** A node name that can be read back out of a plain pod name: one DNS segment, no "-". */
const PLAIN_NODE = /^[a-z0-9]+$/;
/** Plain names end in at most 9 digits, hashed names in 10 hash characters, so the two never meet. */
const MAX_PLAIN_ATTEMPT = 999_999_999;

/**
 * The pod of one attempt of one node: `{workflow}-{node}-{attempt}` when that is a valid DNS label and
 * reads back unambiguously, otherwise a sanitized prefix plus a hash of the exact triple. Either way
 * distinct triples never share a name: a node name with a "-" would let ("a-b", "c") and ("a", "b-c")
 * both give "a-b-c-0", so such names are hashed.
 */
export function podName(workflow: string, node: string, attempt: number): string {
  const plain = `${workflow}-${node}-${attempt}`;
  const unambiguous = PLAIN_NODE.test(node) && Number.isSafeInteger(attempt) && attempt >= 0 && attempt <= MAX_PLAIN_ATTEMPT;
  if (unambiguous && DNS_LABEL.test(plain)) return plain;
  const hash = shortHash(`${workflow}\u0000${node}\u0000${attempt}`);
  const prefix = plain
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63 - hash.length - 1)
    .replace(/-+$/, '');
  return prefix ? `${prefix}-${hash}` : hash;
}

/** A label value for a name: itself when valid, else a sanitized prefix plus a hash. */
export function labelValue(name: string): string {
  if (LABEL_VALUE.test(name)) return name;
  const hash = shortHash(name);
  const prefix = name
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63 - hash.length - 1)
    .replace(/[^A-Za-z0-9]+$/, '');
  return prefix ? `${prefix}-${hash}` : hash;
}

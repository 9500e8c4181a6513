// Architecture boundaries, checked on the source text of every module:
//   1. src/core is pure: it imports only src/core, src/api, src/errors*, zod and node:crypto.
//   2. src/plugins imports only src/plugins, src/core, src/api, src/errors* and zod (no Node built-ins).
//   3. @kubernetes/client-node is imported only under src/k8s (and by the one existing unit test that uses it).
//   4. src/api imports only zod and other src/api modules: it is the schema source of truth.
//   5. src/core, src/plugins and src/api use no IO or clock globals (Date.now, process, console, timers, …).
// TypeScript 7 ships no in-process parser (only an RPC API to the native compiler), so this file carries a
// small tokenizer instead: it drops comments, reads string, template and regex literals as single tokens,
// and then recognizes import/export-from statements, import('…') and the globals among the remaining tokens.
// Every form counts, type-only ones included (`import type`, `export type … from`, `typeof import('…')`).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix } from 'node:path';
import { test } from 'node:test';

const repoRoot = join(import.meta.dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------------
// The rules

/** Paths (files, or directories with everything under them) that count as "src/errors*". */
const ERROR_MODULES = ['src/errors.ts', 'src/error-codes.ts', 'src/errors'];

interface Layer {
  dir: string;
  /** Files and directories the layer may import by relative path. */
  modules: string[];
  modulesText: string;
  packages: string[];
  builtins: string[];
  builtinsText: string;
}

const LAYERS: Layer[] = [
  {
    dir: 'src/core',
    modules: ['src/core', 'src/api', ...ERROR_MODULES],
    modulesText: 'src/core, src/api and src/errors*',
    packages: ['zod'],
    builtins: ['node:crypto'],
    builtinsText: 'src/core may use only node:crypto among Node built-ins',
  },
  {
    dir: 'src/plugins',
    modules: ['src/plugins', 'src/core', 'src/api', ...ERROR_MODULES],
    modulesText: 'src/plugins, src/core, src/api and src/errors*',
    packages: ['zod'],
    builtins: [],
    builtinsText: 'src/plugins may use no Node built-ins (plugins build pods and read outcomes without IO)',
  },
  {
    dir: 'src/api',
    modules: ['src/api'],
    modulesText: 'other src/api',
    packages: ['zod'],
    builtins: [],
    builtinsText: 'src/api may use no Node built-ins (it is the schema source of truth)',
  },
];

const K8S_CLIENT = '@kubernetes/client-node';
/** Outside src/k8s, only these files may import the client: the test usages that existed when this rule was written. */
const K8S_CLIENT_TEST_USERS = ['test/unit/runtime/rest.test.ts'];
const K8S_CLIENT_RULE = `only src/k8s may import ${K8S_CLIENT} (in test/, only ${K8S_CLIENT_TEST_USERS.join(', ')})`;

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

type Target = { kind: 'module'; path: string } | { kind: 'builtin' } | { kind: 'package'; name: string } | { kind: 'other' };

function resolveSpecifier(file: string, specifier: string): Target {
  if (/^\.\.?(\/|$)/.test(specifier)) return { kind: 'module', path: posix.join(posix.dirname(file), specifier) };
  if (isBuiltin(specifier)) return { kind: 'builtin' };
  const pkg = /^(?:@[^/]+\/)?[^/:#.][^/:]*/.exec(specifier);
  if (pkg && !specifier.startsWith('/')) return { kind: 'package', name: pkg[0] };
  return { kind: 'other' }; // absolute paths, URLs, #subpath imports
}

/** Why `file` (in `layer`) may not import `specifier`, or undefined when it may. */
function layerRule(layer: Layer, specifier: string, target: Target): string | undefined {
  const modulesRule = `${layer.dir} may import only ${layer.modulesText} modules`;
  switch (target.kind) {
    case 'module':
      return layer.modules.some((allowed) => within(target.path, allowed)) ? undefined : modulesRule;
    case 'builtin':
      return layer.builtins.includes(specifier) ? undefined : layer.builtinsText;
    case 'package':
      return layer.packages.includes(target.name) ? undefined : `${layer.dir} may use only the ${layer.packages.join(', ')} package`;
    case 'other':
      return modulesRule;
  }
}

/** Every boundary violation in one module, in source order, as readable messages. */
function checkFile(file: string, source: string): string[] {
  const layer = LAYERS.find((l) => within(file, l.dir));
  const { imports, globals } = scanSource(source);
  const found: { at: number; message: string }[] = [];
  for (const { specifier, line, at } of imports) {
    if (specifier === undefined) {
      if (layer) found.push({ at, message: `${file}:${line} imports a computed specifier with import(): ${layer.dir} imports must be string literals so they can be checked` });
      continue;
    }
    const target = resolveSpecifier(file, specifier);
    const k8sRule = target.kind === 'package' && target.name === K8S_CLIENT && !within(file, 'src/k8s') && !K8S_CLIENT_TEST_USERS.includes(file) ? K8S_CLIENT_RULE : undefined;
    const rule = (layer && layerRule(layer, specifier, target)) ?? k8sRule;
    if (rule) found.push({ at, message: `${file}:${line} imports "${specifier}": ${rule}` });
  }
  if (layer) {
    for (const { name, line, at } of globals) {
      found.push({ at, message: `${file}:${line} uses ${name}: ${layer.dir} must not use IO or clock globals; take time, randomness and effects as inputs` });
    }
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.message);
}

// ---------------------------------------------------------------------------------------------------------
// The tokenizer

interface Token {
  /** name: identifier or keyword; string / template: a literal with no substitutions (text is its value); value: any other operand. */
  kind: 'name' | 'string' | 'template' | 'value' | 'punct';
  text: string;
  line: number;
}

const TRIVIA = /(?:\s+|\/\/[^\r\n\u2028\u2029]*|\/\*[\s\S]*?(?:\*\/|$))+/y;
const NAME = /#?[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/uy;
const NUMBER = /\.?\d[\w.]*/y;
const STRING = /'(?:[^'\\\r\n]|\\[\s\S])*'?|"(?:[^"\\\r\n]|\\[\s\S])*"?/y;
/** The rest of a template literal after ` or after the } closing a substitution, up to the closing ` or the next ${. */
const TEMPLATE_SPAN = /(?:[^`\\$]|\\[\s\S]|\$(?!\{))*(?:`|\$\{)?/y;
const REGEX = /\/(?:[^/\\[\r\n]|\\.|\[(?:[^\]\\\r\n]|\\.)*\])+\/[\p{ID_Continue}]*/uy;
const PUNCT = /\?\.(?!\d)|\.\.\.|\+\+|--|[\s\S]/y;
/** Keywords after which a `/` starts a regex rather than a division. */
const EXPRESSION_KEYWORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

function regexAllowedAfter(prev: Token | undefined): boolean {
  if (!prev) return true;
  if (prev.kind === 'name') return EXPRESSION_KEYWORDS.has(prev.text);
  if (prev.kind === 'punct') return ![')', ']', '}', '++', '--'].includes(prev.text);
  return false; // after a literal or another operand: division
}

/** The value of a string or template literal body. */
function unescape(body: string): string {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' };
  return body.replace(/\\(?:x([\da-fA-F]{2})|u\{([\da-fA-F]+)\}|u([\da-fA-F]{4})|(\r\n|[\r\n\u2028\u2029])|([\s\S]))/g, (_, x, braced, u, newline, char) => {
    const hex = x ?? braced ?? u;
    if (hex !== undefined) return String.fromCodePoint(parseInt(hex, 16));
    return newline !== undefined ? '' : (simple[char] ?? char);
  });
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const braces: ('{' | '${')[] = []; // open { and ${, to know whether a } resumes a template literal
  let pos = source.startsWith('#!') ? source.search(/[\r\n]|$/) : 0;
  let line = 1;
  let counted = 0;
  const lineAt = (at: number) => {
    for (; counted < at; counted++) if (source[counted] === '\n') line++;
    return line;
  };
  const match = (re: RegExp) => {
    re.lastIndex = pos;
    return re.exec(source)?.[0];
  };
  while (pos < source.length) {
    const start = pos;
    const ch = source[pos]!;
    const push = (kind: Token['kind'], text: string, length: number) => {
      tokens.push({ kind, text, line: lineAt(start) });
      pos = start + length;
    };
    let m: string | undefined;
    if ((m = match(TRIVIA))) pos += m.length;
    else if (ch === '`' || (ch === '}' && braces.at(-1) === '${')) {
      if (ch === '}') braces.pop();
      pos++;
      const span = match(TEMPLATE_SPAN)!;
      const opensSubstitution = span.endsWith('${');
      if (opensSubstitution) braces.push('${');
      if (ch === '`' && !opensSubstitution) push('template', unescape(span.slice(0, -1)), span.length + 1);
      else push(opensSubstitution ? 'punct' : 'value', ch + span, span.length + 1); // after `…${ or }…${ an expression follows
    } else if (ch === "'" || ch === '"') {
      m = match(STRING)!;
      push('string', unescape(m.slice(1, m.endsWith(ch) && m.length > 1 ? -1 : undefined)), m.length);
    } else if (ch === '/' && regexAllowedAfter(tokens.at(-1)) && (m = match(REGEX))) push('value', m, m.length);
    else if ((m = match(NAME))) push('name', m, m.length);
    else if ((m = match(NUMBER))) push('value', m, m.length);
    else {
      m = match(PUNCT)!;
      if (m === '{') braces.push('{');
      if (m === '}') braces.pop();
      push('punct', m, m.length);
    }
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------
// Imports and globals among the tokens

const isName = (t: Token | undefined, text: string) => t?.kind === 'name' && t.text === text;
const isPunct = (t: Token | undefined, text: string) => t?.kind === 'punct' && t.text === text;
const isLiteral = (t: Token | undefined): t is Token => t?.kind === 'string' || t?.kind === 'template';
const stringAt = (tokens: Token[], i: number) => (tokens[i]?.kind === 'string' ? tokens[i].text : undefined);

/** Whether tokens[i] is a property (`x.name`, `x?.name`) rather than a binding; `globalThis.name` counts as the global. */
function isMember(tokens: Token[], i: number): boolean {
  if (!isPunct(tokens[i - 1], '.') && !isPunct(tokens[i - 1], '?.')) return false;
  return !(isName(tokens[i - 2], 'globalThis') && !isMember(tokens, i - 2));
}

function closingBrace(tokens: Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    if (isPunct(tokens[j], '{')) depth++;
    else if (isPunct(tokens[j], '}') && --depth === 0) return j;
  }
  return tokens.length;
}

/**
 * The module an `import` keyword at tokens[i] loads: a string, undefined for import(<expression>),
 * null when this is no import (import.meta, a property named import).
 */
function importSpecifier(tokens: Token[], i: number): string | undefined | null {
  const next = tokens[i + 1];
  if (isPunct(next, '(')) {
    const arg = tokens[i + 2];
    if (isPunct(arg, ')')) return null; // not a call of import(): a method named import
    return isLiteral(arg) && (isPunct(tokens[i + 3], ')') || isPunct(tokens[i + 3], ',')) ? arg.text : undefined;
  }
  if (next?.kind === 'string') return next.text; // import 'x'
  // import [type] [name][,] [* as name | { … }] from 'x'
  for (let j = i + 1; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (isName(t, 'from') && stringAt(tokens, j + 1) !== undefined) return stringAt(tokens, j + 1)!;
    if (isPunct(t, '{')) j = closingBrace(tokens, j);
    else if (isName(t, 'import') || isName(t, 'export') || !(t.kind === 'name' || isPunct(t, '*') || isPunct(t, ','))) return null;
  }
  return null;
}

/** The module an `export` keyword at tokens[i] re-exports from (`export [type] * [as x] from 'x'`, `export [type] { … } from 'x'`), or null. */
function exportSpecifier(tokens: Token[], i: number): string | null {
  let j = i + 1;
  if (isName(tokens[j], 'type')) j++;
  if (isPunct(tokens[j], '*')) j += isName(tokens[j + 1], 'as') ? 3 : 1;
  else if (isPunct(tokens[j], '{')) j = closingBrace(tokens, j) + 1;
  else return null;
  return isName(tokens[j], 'from') ? (stringAt(tokens, j + 1) ?? null) : null;
}

/** The IO or clock global that the name at tokens[i] uses, if any. */
function globalUse(tokens: Token[], i: number): string | undefined {
  const name = tokens[i]!.text;
  const next = tokens[i + 1];
  const after = tokens[i + 2];
  const member = (isPunct(next, '.') || isPunct(next, '?.')) && after?.kind === 'name' ? after.text : undefined;
  switch (name) {
    case 'Date':
      if (member === 'now') return 'Date.now';
      if (isName(tokens[i - 1], 'new')) return !isPunct(next, '(') || isPunct(after, ')') ? 'new Date()' : undefined;
      return isPunct(next, '(') ? 'Date()' : undefined;
    case 'performance':
      return member === 'now' ? 'performance.now' : undefined;
    case 'Math':
      return member === 'random' ? 'Math.random' : undefined;
    case 'process':
    case 'console':
    case 'setTimeout':
    case 'setInterval':
      return isPunct(next, ':') ? undefined : member ? `${name}.${member}` : name; // `name:` is a property key or a parameter
    case 'fetch':
      return isPunct(next, '(') ? 'fetch(' : undefined;
  }
  return undefined;
}

interface Found {
  line: number;
  /** Token index, to report in source order. */
  at: number;
}

function scanSource(source: string): { imports: (Found & { specifier: string | undefined })[]; globals: (Found & { name: string })[] } {
  const tokens = tokenize(source);
  const imports: (Found & { specifier: string | undefined })[] = [];
  const globals: (Found & { name: string })[] = [];
  tokens.forEach((t, at) => {
    if (t.kind !== 'name' || isMember(tokens, at)) return;
    const specifier = t.text === 'import' ? importSpecifier(tokens, at) : t.text === 'export' ? exportSpecifier(tokens, at) : null;
    if (specifier !== null) imports.push({ specifier, line: t.line, at });
    const name = globalUse(tokens, at);
    if (name) globals.push({ name, line: t.line, at });
  });
  return { imports, globals };
}

// ---------------------------------------------------------------------------------------------------------
// Tests

test('the checker reports exactly the planted violations, and nothing in comments, strings, templates or regexes', () => {
  const core = [
    `import { createHash } from 'node:crypto';`,
    `import { z } from 'zod';`,
    `import type { Pod } from '../api/pod.ts';`,
    `import { PropellerError } from '../errors.ts';`,
    `import {`, // 5: a multi-line import of a forbidden built-in
    `  readFile,`,
    `  type Stats,`,
    `} from 'node:fs';`,
    `import type { Agent } from "node:http";`, // 9: type-only imports count
    `export * from '../k8s/rest.ts';`, // 10
    `export { a, type B } from './dag.ts';`,
    `// import { x } from 'node:child_process'; Date.now()`,
    `/* export * from 'pino'; setTimeout(f, 1) */`,
    `const s = "import x from 'node:os'; process.exit(1)", s2 = 'fetch("x")';`,
    "const t = `import('undici') ${await import('node:os')} console.log`;", // 15: only the import in the substitution is code
    String.raw`const re = /import\('yaml'\)|"|'/g;`,
    `const half = size / 2, q = /'/, mod = await import('prom-client');`, // 17: division, then a regex holding a quote
    `const lazy = await import(name);`, // 18
    `const u = import.meta.url, k = clock.setTimeout, o = { process: 1, console: 2 }, g = this.process.env;`,
    `const d = new Date(input.now), now = Date.now(), fresh = new Date();`, // 20
    `if (Math.random() > 0.5) globalThis.console.warn(process.env.X);`, // 21
    `export const from = 1;`,
    `export { from };`,
  ].join('\n');
  assert.deepEqual(checkFile('src/core/sample.ts', core), [
    'src/core/sample.ts:5 imports "node:fs": src/core may use only node:crypto among Node built-ins',
    'src/core/sample.ts:9 imports "node:http": src/core may use only node:crypto among Node built-ins',
    'src/core/sample.ts:10 imports "../k8s/rest.ts": src/core may import only src/core, src/api and src/errors* modules',
    'src/core/sample.ts:15 imports "node:os": src/core may use only node:crypto among Node built-ins',
    'src/core/sample.ts:17 imports "prom-client": src/core may use only the zod package',
    'src/core/sample.ts:18 imports a computed specifier with import(): src/core imports must be string literals so they can be checked',
    'src/core/sample.ts:20 uses Date.now: src/core must not use IO or clock globals; take time, randomness and effects as inputs',
    'src/core/sample.ts:20 uses new Date(): src/core must not use IO or clock globals; take time, randomness and effects as inputs',
    'src/core/sample.ts:21 uses Math.random: src/core must not use IO or clock globals; take time, randomness and effects as inputs',
    'src/core/sample.ts:21 uses console.warn: src/core must not use IO or clock globals; take time, randomness and effects as inputs',
    'src/core/sample.ts:21 uses process.env: src/core must not use IO or clock globals; take time, randomness and effects as inputs',
  ]);

  const plugin = [
    `import { labelValue } from '../../core/names.ts';`,
    `import { CONTAINER } from './constants.ts';`,
    `import { join } from 'node:path';`,
    `import { KubeConfig } from '${K8S_CLIENT}';`,
    `import type { Rest } from '../../k8s/rest.ts';`,
    `const started = performance.now();`,
  ].join('\n');
  assert.deepEqual(checkFile('src/plugins/demo/build.ts', plugin), [
    'src/plugins/demo/build.ts:3 imports "node:path": src/plugins may use no Node built-ins (plugins build pods and read outcomes without IO)',
    `src/plugins/demo/build.ts:4 imports "${K8S_CLIENT}": src/plugins may use only the zod package`,
    'src/plugins/demo/build.ts:5 imports "../../k8s/rest.ts": src/plugins may import only src/plugins, src/core, src/api and src/errors* modules',
    'src/plugins/demo/build.ts:6 uses performance.now: src/plugins must not use IO or clock globals; take time, randomness and effects as inputs',
  ]);

  const api = [`import { z } from 'zod/v4';`, `import { GROUP } from './flyteworkflow.ts';`, `import { quote } from '../core/quote.ts';`, `export type { E } from '../errors.ts';`].join('\n');
  assert.deepEqual(checkFile('src/api/sample.ts', api), [
    'src/api/sample.ts:3 imports "../core/quote.ts": src/api may import only other src/api modules',
    'src/api/sample.ts:4 imports "../errors.ts": src/api may import only other src/api modules',
  ]);

  const k8sClientUser = `import { KubeConfig } from '${K8S_CLIENT}';\nimport { readFile } from 'node:fs/promises';\nconst t = Date.now();`;
  assert.deepEqual(checkFile('src/k8s/client.ts', k8sClientUser), []);
  assert.deepEqual(checkFile('test/unit/runtime/rest.test.ts', k8sClientUser), []);
  assert.deepEqual(checkFile('test/unit/runtime/other.test.ts', k8sClientUser), [`test/unit/runtime/other.test.ts:1 imports "${K8S_CLIENT}": ${K8S_CLIENT_RULE}`]);
  assert.deepEqual(checkFile('tools/x.ts', `export type * from '${K8S_CLIENT}/dist/index.js';`), [`tools/x.ts:1 imports "${K8S_CLIENT}/dist/index.js": ${K8S_CLIENT_RULE}`]);
  assert.deepEqual(checkFile('src/controller/x.ts', `// no client here\nconst { KubeConfig } = await import("${K8S_CLIENT}");`), [
    `src/controller/x.ts:2 imports "${K8S_CLIENT}": ${K8S_CLIENT_RULE}`,
  ]);
});

const SCANNED_DIRS = ['src', 'tools', 'bench', 'test', 'sdk', 'examples'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
    .map((path) => `${dir}/${path.replaceAll('\\', '/')}`)
    .filter((path) => /\.[cm]?[jt]sx?$/.test(path) && !path.includes('/node_modules/'))
    .sort();
}

test('src/, tools/, bench/, test/, sdk/ and examples/ respect the import boundaries', () => {
  const files = SCANNED_DIRS.flatMap(sourceFiles);
  assert.ok(
    LAYERS.every((layer) => files.some((f) => within(f, layer.dir))),
    `expected modules under ${LAYERS.map((l) => l.dir).join(', ')} in ${repoRoot}`,
  );
  const violations = files.flatMap((file) => checkFile(file, readFileSync(join(repoRoot, file), 'utf8')));
  assert.deepEqual(violations, [], `import boundary violations:\n  ${violations.join('\n  ')}`);
});

/** An error code written as a string literal where a status or error is built, instead of one from src/error-codes.ts. */
const FREE_CODE = () => /\bcode:\s*['"`][A-Za-z]+['"`]|\bsuper\(\s*['"`][A-Z][A-Za-z]+['"`]\s*,|new PropellerError\(\s*['"`][A-Z][A-Za-z]+['"`]/g;

test('error codes come from src/error-codes.ts, not string literals', () => {
  const offenders = sourceFiles('src')
    .filter((file) => file !== 'src/error-codes.ts')
    .flatMap((file) => {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      return [...text.matchAll(FREE_CODE())].map((m) => `${file}:${text.slice(0, m.index).split('\n').length}: ${m[0]}`);
    })
    // zod's own issue code, which is not one of ours.
    .filter((hit) => !/code:\s*'custom'/.test(hit));
  assert.deepEqual(offenders, [], `use Codes.X from src/error-codes.ts:\n  ${offenders.join('\n  ')}`);
  assert.ok(FREE_CODE().test("error: { kind: 'User', code: 'Oops', message }") && FREE_CODE().test("super('Gone', message)"), 'the pattern finds a literal code');
});

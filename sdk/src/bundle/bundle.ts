import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { nameExports, type Definition } from '../registry.ts';

const RUNTIME = fileURLToPath(new URL('../runtime/run-task.ts', import.meta.url));

export interface Bundle {
  /** One ES module: the user's module, what it imports (the SDK, npm packages) and the task entry point. */
  code: string;
  /** sha256 of the code: the version of its tasks and the name of its ConfigMap. */
  hash: string;
  file: string;
}

/**
 * Bundles a workflow module into one file that runs anywhere Node 24 does: imported, it is the module (for
 * local runs and compiling); run as `node bundle.mjs --task NAME`, it is a task pod's program.
 */
export async function bundle(file: string): Promise<Bundle> {
  const entry = resolve(file);
  const source = [
    `export * from ${JSON.stringify(entry)};`,
    `import * as __module from ${JSON.stringify(entry)};`,
    `import { isMain as __isMain, runTaskMain as __runTaskMain } from ${JSON.stringify(RUNTIME)};`,
    'if (__isMain(import.meta.url)) await __runTaskMain(__module);',
  ].join('\n');
  const result = await build({
    stdin: { contents: source, resolveDir: dirname(entry), sourcefile: 'propeller-entry.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    write: false,
    sourcemap: 'inline',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'silent',
    // CommonJS dependencies that require() Node's built-ins need a require in an ES module.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  }).catch((err: unknown) => {
    throw new Error(`cannot bundle ${file}: ${err instanceof Error ? err.message : String(err)}`);
  });
  const code = result.outputFiles[0]!.text;
  const hash = createHash('sha256').update(code).digest('hex');
  const dir = join(tmpdir(), 'propeller-bundles');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${hash}.mjs`);
  // Written aside and renamed into place: another process bundling the same code at the same moment must
  // never import a half-written file (the name is the content's hash, so either copy is the same).
  const aside = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(aside, code);
  renameSync(aside, out);
  return { code, hash, file: out };
}

export interface LoadedModule {
  bundle: Bundle;
  module: Record<string, unknown>;
  definitions: Map<string, Definition>;
}

/** Bundles and imports a workflow module, naming its tasks, workflows and launch plans after their exports. */
export async function loadModule(file: string): Promise<LoadedModule> {
  const b = await bundle(file);
  const module = (await import(pathToFileURL(b.file).href)) as Record<string, unknown>;
  return { bundle: b, module, definitions: nameExports(module) };
}

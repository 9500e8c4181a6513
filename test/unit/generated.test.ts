// Files derived from code (the CRD, the chart's config schema, manifests/) must match what
// `npm run generate` writes. manifests/ is rendered with helm, built once into ~/.cache/propeller.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { repoRoot } from '../../tools/controlplane/components.ts';
import { generatedFiles } from '../../tools/generated-files.ts';

let generated: Record<string, string>;
before(async () => {
  generated = await generatedFiles();
});

/** The first line where two texts differ, to show in the failure message. */
function firstDifference(committed: string, wanted: string): string {
  const a = committed.split('\n');
  const b = wanted.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i < 0 ? a.length : i;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '<end of file>')}, generated ${JSON.stringify(b[at] ?? '<end of file>')}`;
}

test('every generated file is up to date', async () => {
  const stale: string[] = [];
  for (const [path, content] of Object.entries(generated)) {
    const committed = await readFile(join(repoRoot, path), 'utf8').catch(() => undefined);
    if (committed === undefined) stale.push(`${path}: missing`);
    else if (committed !== content) stale.push(`${path}: ${firstDifference(committed, content)}`);
  }
  assert.deepEqual(stale, [], `generated files differ from what the code produces; run \`npm run generate\` and commit the result:\n  ${stale.join('\n  ')}`);
});

test('manifests/ holds only generated files', async () => {
  const extra = (await readdir(join(repoRoot, 'manifests'))).map((f) => `manifests/${f}`).filter((p) => !(p in generated));
  assert.deepEqual(extra, [], 'files in manifests/ that `npm run generate` no longer writes: delete them');
});

// Writes every generated artifact from its source of truth. `npm run generate`; tests fail on drift.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generatedFiles } from './generated-files.ts';

for (const [path, content] of Object.entries(await generatedFiles())) {
  await writeFile(join(import.meta.dirname, '..', path), content);
  console.log(`wrote ${path}`);
}

#!/usr/bin/env node
// The propeller CLI: `npx propeller --help`. Node 24 runs this TypeScript as it is (type stripping).
import { main } from '../src/cli/main.ts';

// `propeller list -o name | head -1`: a reader that goes away early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await main(process.argv.slice(2));
// Exit now: a module's tasks or a closed watch may leave handles that would keep the process alive.
process.stdout.write('', () => process.exit(code));

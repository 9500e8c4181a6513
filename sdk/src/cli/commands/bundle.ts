// propeller bundle FILE [-o OUT.mjs]: the one-file module task pods run, for images that carry it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { bundle as build } from '../../bundle/bundle.ts';
import { EXIT, HELP_OPTIONS, UsageError, parse, positionals, type Options } from '../args.ts';
import { COMMANDS } from '../help.ts';
import { FileError } from '../module.ts';
import { err, out } from '../output.ts';
import { existsSync } from 'node:fs';

const BUNDLE_OPTIONS = { ...HELP_OPTIONS, output: { type: 'string', short: 'o' } } as const satisfies Options;

export async function bundle(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('bundle', args, BUNDLE_OPTIONS);
  if (v.help) {
    out(COMMANDS.bundle!.text);
    return EXIT.ok;
  }
  const [file] = positionals('bundle', p, ['FILE']);
  if (!existsSync(file!)) throw new UsageError(`no such file: ${file}`, 'bundle');
  let b: Awaited<ReturnType<typeof build>>;
  try {
    b = await build(file!);
  } catch (e) {
    throw new FileError(e instanceof Error ? e.message : String(e));
  }
  if (v.output === undefined || v.output === '-') {
    process.stdout.write(b.code);
    return EXIT.ok;
  }
  mkdirSync(dirname(v.output), { recursive: true });
  writeFileSync(v.output, b.code);
  err(`wrote ${v.output} (${(b.code.length / 1024).toFixed(1)} KiB, sha256 ${b.hash.slice(0, 12)}); run a task with: node ${v.output} --task NAME`);
  return EXIT.ok;
}

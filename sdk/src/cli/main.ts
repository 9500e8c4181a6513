// propeller COMMAND …: dispatch, and the mapping of errors to messages and exit codes (docs/cli.md).
import { KubeApiError, KubeTransportError } from '../../../src/k8s/errors.ts';
import { ApiError, EXIT, ExitError, UsageError } from './args.ts';
import { bundle } from './commands/bundle.ts';
import { abort, approve, reject, signal } from './commands/control.ts';
import { get, list, watch } from './commands/get.ts';
import { launch } from './commands/launch.ts';
import { logs } from './commands/logs.ts';
import { compile, register } from './commands/register.ts';
import { run } from './commands/run.ts';
import { COMMANDS, mainHelp } from './help.ts';
import { apiMessage } from './kube.ts';
import { FileError } from './module.ts';
import { err, out } from './output.ts';

type Command = (args: readonly string[]) => Promise<number>;

const HANDLERS: Record<string, Command> = { run, compile, register, launch, get, list, watch, abort, approve, reject, signal, logs, bundle };

/** Runs the command line; returns the exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? args[0] : undefined;
    if (topic && COMMANDS[topic]) out(COMMANDS[topic].text);
    else out(mainHelp());
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '--version' || command === 'version') {
    out('propeller 0.1.0');
    return EXIT.ok;
  }
  const handler = Object.hasOwn(HANDLERS, command) ? HANDLERS[command] : undefined;
  if (!handler) {
    err(`error: unknown command "${command}"${command.startsWith('-') ? ' (flags go after the command)' : ''}\nRun 'propeller --help' for the commands.`);
    return EXIT.usage;
  }
  try {
    return await handler(args);
  } catch (e) {
    return failure(e, command);
  }
}

/** An error as a message on stderr and its exit code. */
export function failure(e: unknown, command: string): number {
  if (e instanceof UsageError) {
    err(`error: ${e.message}\nRun 'propeller ${e.command ?? command} --help' for usage.`);
    return EXIT.usage;
  }
  if (e instanceof ExitError) {
    err(`error: ${e.message}`);
    return e.code;
  }
  if (e instanceof ApiError || e instanceof KubeApiError || e instanceof KubeTransportError) {
    err(`error: ${e instanceof ApiError ? e.message : apiMessage(e)}`);
    return EXIT.api;
  }
  const name = (e as Error | undefined)?.name;
  // A workflow that does not compile or an input of the wrong type (from the bundle's own copy of the SDK,
  // so by name), or a module that cannot be loaded: the user's file, exit 2.
  if (e instanceof FileError || name === 'WorkflowCompileError' || name === 'TypeCheckError') {
    err(`error: ${(e as Error).message}`);
    return EXIT.usage;
  }
  err(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return EXIT.failed;
}

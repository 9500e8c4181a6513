/** One terse line per event on stderr; embedded newlines are flattened so every line stands alone. */
export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} process-node: ${message.replace(/\s*\n\s*/g, ' | ')}\n`);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

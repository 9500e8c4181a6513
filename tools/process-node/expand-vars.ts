/**
 * The kubelet's `$(VAR)` expansion for env values, command and args: `$(NAME)` becomes NAME's value
 * when NAME is defined, `$$` becomes `$`, and everything else (undefined names, `$(rm -rf /)`,
 * a lone `$`) is left exactly as written. No shell is involved at any point.
 */
export function expandVars(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    if (next === '$') {
      out += '$';
      cursor += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        out += '$(';
        cursor += 1;
      } else {
        const name = input.slice(cursor + 2, close);
        out += vars.get(name) ?? `$(${name})`;
        cursor = close;
      }
    } else {
      out += '$';
    }
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

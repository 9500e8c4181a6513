import { quote } from './quote.ts';

/**
 * `{{.inputs.NAME}}` placeholders in command, args and env values. Only expressions that start with a
 * dot are templates, so code such as a Python f-string `{{x}}` passes through untouched.
 */
const PLACEHOLDER = /\{\{\s*\.([^{}]*?)\s*\}\}/g;
const INPUT_REF = /^inputs\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** Errors for each placeholder that does not name a known input. */
export function checkTemplate(text: string, knownInputs: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const expr = match[1]!;
    const ref = INPUT_REF.exec(expr);
    if (!ref) errors.push(`unsupported template ${quote(match[0])}: only {{.inputs.NAME}} is supported`);
    else if (!knownInputs.has(ref[1]!)) errors.push(`template ${quote(match[0])} names unknown input ${quote(ref[1]!)}`);
  }
  return errors;
}

/**
 * Renders `str` inputs as-is and every other value as compact JSON. Call only on checked templates.
 * `escape` is applied to each substituted value only, never to the template's own text.
 */
export function renderTemplate(
  text: string,
  inputs: Readonly<Record<string, unknown>>,
  isString: (name: string) => boolean,
  escape: (value: string) => string = (value) => value,
): string {
  return text.replace(PLACEHOLDER, (whole, expr: string) => {
    const ref = INPUT_REF.exec(expr);
    if (!ref) return whole;
    const name = ref[1]!;
    return escape(renderValue(inputs[name], isString(name)));
  });
}

export function renderValue(value: unknown, isString: boolean): string {
  if (isString && typeof value === 'string') return value;
  return JSON.stringify(value ?? null);
}

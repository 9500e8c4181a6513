// propeller register FILE [--version V]   and   propeller compile FILE [WORKFLOW …]
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { VERSION_PATTERN } from '../../../../src/api/definition.ts';
import type { LoadedModule } from '../../bundle/bundle.ts';
import { codeConfigMap, execution, registration, type Resource } from '../../compile/index.ts';
import { EXIT, HELP_OPTIONS, KUBE_OPTIONS, OUTPUT_OPTIONS, PROJECT_OPTIONS, UsageError, ApiError, leadingPositionals, outputFormat, parse, positionals, type Options } from '../args.ts';
import { COMMANDS } from '../help.ts';
import { inputFlags, inputOptions, readInputs } from '../inputs.ts';
import { ImmutableConflict, apiMessage, apply, connect } from '../kube.ts';
import { codeRef, findTarget, interfaceOf, isLaunchPlan, launchPlans, load, workflowOf, workflows, type Target } from '../module.ts';
import { err, formatObject, out, yamlDocuments } from '../output.ts';
import { WORKFLOW_LABEL, resourceLabel, targetHelp } from './run.ts';

// ─── The version ─────────────────────────────────────────────────────────────

function git(dir: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
  } catch {
    return undefined;
  }
}

export type GitVersion = { ok: true; version: string } | { ok: false; why: string };

/**
 * The git SHA of the work tree holding `file`, if it is clean: Flyte's default version. A tree with
 * uncommitted changes (git status --porcelain prints anything) has none: its SHA does not hold this code.
 */
export function gitVersion(file: string): GitVersion {
  const dir = dirname(resolve(file));
  const top = git(dir, ['rev-parse', '--show-toplevel']);
  if (top === undefined) return { ok: false, why: `${file} is not in a git work tree` };
  const sha = git(dir, ['rev-parse', 'HEAD']);
  if (sha === undefined) return { ok: false, why: `the git repository at ${top} has no commit yet` };
  const status = git(dir, ['status', '--porcelain']);
  if (status === undefined) return { ok: false, why: `git status failed in ${top}` };
  if (status !== '') {
    const paths = status.split('\n');
    return { ok: false, why: `the git work tree at ${top} has uncommitted changes (${paths.length} path${paths.length === 1 ? '' : 's'}, e.g. ${paths[0]!.slice(3)}): its SHA ${sha.slice(0, 12)} does not hold this code` };
  }
  return { ok: true, version: sha };
}

function checkVersion(command: string, version: string): string {
  if (!new RegExp(VERSION_PATTERN).test(version)) {
    throw new UsageError(`--version "${version}" is not a version: 1–63 lowercase letters, digits, "-" and ".", starting and ending with a letter or digit (1.4.2, 2026-12-06, a git SHA)`, command);
  }
  return version;
}

// ─── What a module registers ─────────────────────────────────────────────────

/** The code ConfigMap (when a task ships code), definitions and launch plans of the targets (all when none). */
export function registrationOf(loaded: LoadedModule, targets: readonly Target[] | undefined, version: string, namespace: string | undefined, withCode: boolean): Resource[] {
  const code = codeRef(loaded.bundle.hash);
  const wfs = targets ? targets.filter((t) => !isLaunchPlan(t)).map(workflowOf) : workflows(loaded);
  const lps = targets ? targets.filter(isLaunchPlan) : launchPlans(loaded);
  const resources = registration(wfs, lps, version, code, namespace);
  const shipsCode = resources.some((r) => r.kind === 'WorkflowDefinition' && Object.values(((r.spec as { workflow: { tasks?: Record<string, { code?: unknown }> } }).workflow.tasks ?? {})).some((t) => t.code !== undefined));
  return withCode && shipsCode ? [codeConfigMap(loaded.bundle.code, code, namespace), ...resources] : resources;
}

// ─── register ────────────────────────────────────────────────────────────────

const REGISTER_OPTIONS = { ...HELP_OPTIONS, ...KUBE_OPTIONS, ...PROJECT_OPTIONS, ...OUTPUT_OPTIONS, version: { type: 'string' } } as const satisfies Options;

const KIND_NAMES: Record<string, string> = { ConfigMap: 'configmap', WorkflowDefinition: 'workflowdefinition', LaunchPlan: 'launchplan' };

export async function register(args: readonly string[]): Promise<number> {
  const { values: v, positionals: p } = parse('register', args, REGISTER_OPTIONS);
  if (v.help) {
    out(COMMANDS.register!.text);
    return EXIT.ok;
  }
  const [file] = positionals('register', p, ['FILE']);
  const output = outputFormat('register', v.output, ['json', 'yaml', 'name'] as const);
  let version: string;
  if (v.version !== undefined) version = checkVersion('register', v.version);
  else {
    const git = gitVersion(file!);
    if (!git.ok) throw new UsageError(`no version: ${git.why}. Commit (the version is then the git SHA) or give --version`, 'register');
    version = git.version;
  }
  const loaded = await load('register', file!);
  const cluster = await connect('register', v);
  try {
    const resources = registrationOf(loaded, undefined, version, cluster.namespace, true);
    if (!resources.length) throw new UsageError(`${file} exports no workflows or launch plans`, 'register');
    for (const r of resources) {
      let outcome: string;
      try {
        outcome = await apply(cluster.client, cluster.namespace, r as never);
      } catch (e) {
        if (e instanceof ImmutableConflict) throw new ApiError(e.message);
        throw new ApiError(`${KIND_NAMES[r.kind] ?? r.kind}/${r.metadata.name}: ${apiMessage(e)}`);
      }
      if (output === 'name') out(`${KIND_NAMES[r.kind] ?? r.kind}/${r.metadata.name}`);
      else if (!output) out(`${KIND_NAMES[r.kind] ?? r.kind}/${r.metadata.name} ${outcome}`);
    }
    if (output === 'json' || output === 'yaml') out(output === 'yaml' ? yamlDocuments(resources) : formatObject({ apiVersion: 'v1', kind: 'List', items: resources }, 'json'));
    if (!output) err(`registered version ${version} in namespace ${cluster.namespace}`);
    return EXIT.ok;
  } finally {
    await cluster.close();
  }
}

// ─── compile ─────────────────────────────────────────────────────────────────

const COMPILE_OPTIONS = {
  ...HELP_OPTIONS,
  namespace: { type: 'string', short: 'n' },
  execution: { type: 'boolean' },
  'with-code': { type: 'boolean' },
  version: { type: 'string' },
} as const satisfies Options;

export async function compile(args: readonly string[]): Promise<number> {
  const first = leadingPositionals('compile', args, COMPILE_OPTIONS);
  const [file, ...names] = first.positionals;
  if (first.help && !file) {
    out(COMMANDS.compile!.text);
    return EXIT.ok;
  }
  if (!file) throw new UsageError('missing FILE', 'compile');
  const loaded = await load('compile', file);
  const targets = names.map((n) => findTarget('compile', file, loaded, n));
  // One workflow run as an execution takes its inputs as flags, as run does.
  const single = targets.length === 1 ? targets[0] : undefined;
  const iface = single ? interfaceOf(single) : undefined;
  const flags = single && iface && !first.help ? inputFlags(iface.inputs, iface.defaults, new Set(Object.keys(COMPILE_OPTIONS))) : [];
  const { values, positionals: rest } = parse('compile', args, { ...COMPILE_OPTIONS, ...inputOptions(flags) });
  const v = values as Record<string, unknown> & typeof values;
  if (v.help) {
    if (single && iface) out(targetHelp(file, single, inputFlags(iface.inputs, iface.defaults, new Set(Object.keys(COMPILE_OPTIONS))), iface, 'compile --execution'));
    else out(COMMANDS.compile!.text);
    return EXIT.ok;
  }
  if (rest.length !== first.positionals.length) throw new UsageError(`unexpected argument "${rest[first.positionals.length]}"`, 'compile');
  const namespace = v.namespace;
  const code = codeRef(loaded.bundle.hash);
  if (v.execution) {
    if (v.version !== undefined) throw new UsageError('--version applies to definitions, not --execution', 'compile');
    const runs = targets.length ? targets : workflows(loaded);
    if (!single && Object.keys(v).some((k) => !Object.hasOwn(COMPILE_OPTIONS, k))) throw new UsageError('input flags need exactly one WORKFLOW', 'compile');
    const given = single ? readInputs('compile', flags, v) : {};
    const docs: Resource[] = [];
    if (v['with-code']) docs.push(codeConfigMap(loaded.bundle.code, code, namespace));
    for (const t of runs) {
      const wf = workflowOf(t);
      const lp = isLaunchPlan(t) ? t : undefined;
      const inputs = lp ? { ...lp.defaults, ...given, ...(lp.options.fixedInputs ?? {}) } : given;
      docs.push(execution(wf, code, { ...(namespace ? { namespace } : {}), inputs, labels: { [WORKFLOW_LABEL]: resourceLabel(wf.resolvedName()) } }));
    }
    out(yamlDocuments(docs).trimEnd());
    return EXIT.ok;
  }
  if (flags.length && Object.keys(v).some((k) => !Object.hasOwn(COMPILE_OPTIONS, k))) throw new UsageError('input flags apply to --execution', 'compile');
  let version: string;
  if (v.version !== undefined) version = checkVersion('compile', v.version);
  else {
    const git = gitVersion(file);
    version = git.ok ? git.version : code.hash.slice(0, 12);
    if (!git.ok) err(`version ${version} (the code's hash): ${git.why}; register would need --version`);
  }
  const resources = registrationOf(loaded, targets.length ? targets : undefined, version, namespace, Boolean(v['with-code']));
  out(yamlDocuments(resources).trimEnd());
  return EXIT.ok;
}

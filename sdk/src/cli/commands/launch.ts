// propeller launch LAUNCH_PLAN [--INPUT VALUE …]
import type { FlyteWorkflow } from '../../../../src/api/flyteworkflow.ts';
import { API_VERSION, KIND } from '../../../../src/api/flyteworkflow.ts';
import { definitionObjectName } from '../../../../src/api/definition.ts';
import { definitionPath, launchPlanPath, workflowsPath } from '../../../../src/k8s/paths.ts';
import { EXIT, HELP_OPTIONS, KUBE_OPTIONS, OUTPUT_OPTIONS, PROJECT_OPTIONS, UsageError, ApiError, durationMs, keyValues, knownValues, leadingPositionals, outputFormat, parse, type Options } from '../args.ts';
import { follow } from '../follow.ts';
import { COMMANDS } from '../help.ts';
import { describeInputs, inputFlags, inputOptions, readInputs } from '../inputs.ts';
import { apiMessage, connect, getOrUndefined } from '../kube.ts';
import { out } from '../output.ts';
import { WORKFLOW_LABEL, resourceLabel } from './run.ts';

const COMMAND = 'launch';

const LAUNCH_OPTIONS = {
  ...HELP_OPTIONS,
  ...KUBE_OPTIONS,
  ...PROJECT_OPTIONS,
  ...OUTPUT_OPTIONS,
  'no-wait': { type: 'boolean' },
  name: { type: 'string' },
  label: { type: 'string', short: 'l', multiple: true },
  timeout: { type: 'string' },
} as const satisfies Options;

interface LaunchPlanObject {
  metadata: { name: string };
  spec: { workflow: { name: string; version: string }; description?: string; defaultInputs?: Record<string, unknown>; fixedInputs?: Record<string, unknown> };
  status?: { valid?: boolean; message?: string };
}

interface DefinitionObject {
  spec: { name: string; version: string; workflow: { description?: string; interface?: { inputs?: Record<string, string>; outputs?: Record<string, string> } } };
}

export async function launch(args: readonly string[]): Promise<number> {
  const first = leadingPositionals(COMMAND, args, LAUNCH_OPTIONS);
  const [given] = first.positionals;
  if (first.help && !given) {
    out(COMMANDS.launch!.text);
    return EXIT.ok;
  }
  if (!given) throw new UsageError('missing LAUNCH_PLAN', COMMAND);
  // Flags known before the inputs: the cluster to ask for the launch plan.
  const cluster = await connect(COMMAND, knownValues(args, LAUNCH_OPTIONS));
  try {
    const name = given.replace(/_/g, '-').toLowerCase();
    const lp = await getOrUndefined<LaunchPlanObject>(cluster.client, launchPlanPath(cluster.namespace, name)).catch((e: unknown) => {
      throw new ApiError(apiMessage(e));
    });
    if (!lp) throw new ApiError(`launch plan ${name} not found in namespace ${cluster.namespace} (propeller register FILE creates it)`);
    const ref = lp.spec.workflow;
    const def = await getOrUndefined<DefinitionObject>(cluster.client, definitionPath(cluster.namespace, definitionObjectName(ref.name, ref.version))).catch((e: unknown) => {
      throw new ApiError(apiMessage(e));
    });
    if (!def) throw new ApiError(`launch plan ${name} runs workflow definition ${ref.name} version ${ref.version}, which is not in namespace ${cluster.namespace}`);
    const fixed = lp.spec.fixedInputs ?? {};
    const inputs = Object.fromEntries(Object.entries(def.spec.workflow.interface?.inputs ?? {}).filter(([k]) => !Object.hasOwn(fixed, k)));
    const flags = inputFlags(inputs, lp.spec.defaultInputs ?? {}, new Set(Object.keys(LAUNCH_OPTIONS)));
    const { values, positionals } = parse(COMMAND, args, { ...LAUNCH_OPTIONS, ...inputOptions(flags) });
    const v = values as Record<string, unknown> & typeof values;
    if (v.help) {
      const description = lp.spec.description ?? def.spec.workflow.description;
      const lines = [`Usage: propeller launch ${name}${flags.filter((f) => f.required).map((f) => ` --${f.flag} VALUE`).join('')} [flags]`, '', `launch plan ${name}: workflow ${ref.name} version ${ref.version}`];
      if (description) lines.push('', ...description.split('\n').map((l) => `  ${l}`.trimEnd()));
      const described = describeInputs(flags, fixed);
      lines.push('', 'Inputs:', ...(described.length ? described : ['  (none)']));
      const outputs = Object.entries(def.spec.workflow.interface?.outputs ?? {});
      lines.push('', 'Outputs:', ...(outputs.length ? outputs.map(([n, t]) => `  ${n}  ${t}`) : ['  (none)']), '', '"propeller launch --help" lists the other flags.');
      out(lines.join('\n'));
      return EXIT.ok;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}" (inputs are flags: --NAME VALUE)`, COMMAND);
    if (lp.status?.valid === false) throw new ApiError(`launch plan ${name} is invalid: ${lp.status.message ?? ''}`);
    const runInputs = readInputs(COMMAND, flags, v);
    const output = outputFormat(COMMAND, v.output, ['json', 'yaml', 'name'] as const);
    const timeoutMs = durationMs(COMMAND, '--timeout', v.timeout);
    const body = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        ...(v.name !== undefined ? { name: v.name } : { generateName: `${name.slice(0, 52)}-` }),
        namespace: cluster.namespace,
        labels: { ...cluster.labels, ...keyValues(COMMAND, '--label', v.label), [WORKFLOW_LABEL]: resourceLabel(ref.name) },
      },
      spec: { launchPlan: name, ...(Object.keys(runInputs).length ? { inputs: runInputs } : {}) },
    };
    let created: FlyteWorkflow;
    try {
      created = await cluster.client.request<FlyteWorkflow>('POST', workflowsPath(cluster.namespace), { body });
    } catch (e) {
      throw new ApiError(`creating the execution in namespace ${cluster.namespace}: ${apiMessage(e)}`);
    }
    return await follow(cluster, created, {
      wait: !v['no-wait'],
      ...(output ? { output } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      showNamespace: v.namespace !== undefined || v.project !== undefined,
    });
  } finally {
    await cluster.close();
  }
}

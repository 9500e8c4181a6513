import { checkValue, formatMismatch } from '../../src/core/types/index.ts';
import { parsed } from './bind.ts';
import { callNode, type CallOptions } from './call.ts';
import { TypeCheckError, WorkflowCompileError } from './errors.ts';
import { declared, SINGLE_OUTPUT } from './interface.ts';
import { attach, nameOf, type Definition } from './registry.ts';
import type { Type } from './types.ts';
import type { Args, CallResult, Returned, TypeMap, Values } from './typing.ts';

export interface Resources {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

export interface PodOptions {
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'; tolerationSeconds?: number }[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  priorityClassName?: string;
}

/** Settings every kind of task shares. */
export interface TaskSettings<I extends TypeMap, O, N extends TypeMap, D> {
  /** The task's name; by default the name it is exported under. */
  name?: string;
  /** What it does; the first line is the short description. */
  description?: string;
  inputs?: I;
  /** One output (named o0, as Flyte names it): the function returns its value. */
  output?: Type<O>;
  /** Named outputs: the function returns an object with these keys. */
  outputs?: N;
  /** Values for inputs a call leaves out. */
  defaults?: D;
  /** How many times a user error (a throw, bad outputs, a timeout) is retried. */
  retries?: number;
  /** Limit per attempt, e.g. 90s or 5m. */
  timeout?: string;
  resources?: Resources;
  env?: Record<string, string>;
  pod?: PodOptions;
  /** Cache outputs by the task's name, this version, its interface and its inputs. */
  cache?: { version: string; ignoreInputs?: string[]; serialize?: boolean };
  /** The task's version (FLYTE_INTERNAL_TASK_VERSION); by default the hash of the code bundle. */
  version?: string;
}

export interface TaskOptions<I extends TypeMap, O, N extends TypeMap, D> extends TaskSettings<I, O, N, D> {
  /** The image the code runs in; node:24-slim by default. */
  image?: string;
  /**
   * Where the image already holds the bundle (from `propeller bundle`): the task then runs it from there and
   * no code is shipped. Without it, the code travels as a ConfigMap mounted into the stock image.
   */
  bundledIn?: string;
}

/** A task whose code is a container command (any language), with Propeller's pod contract. */
export interface ContainerTaskOptions<I extends TypeMap, O, N extends TypeMap, D> extends TaskSettings<I, O, N, D> {
  image: string;
  command: string[];
  args?: string[];
  workingDir?: string;
}

export type TaskFunction<I extends TypeMap, O, N extends TypeMap> = (inputs: Values<I>) => Returned<O, N> | globalThis.Promise<Returned<O, N>>;

export class TaskDefinition implements Definition {
  readonly kind = 'task';
  name: string | undefined;
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly single: boolean;
  readonly defaults: Record<string, unknown>;

  readonly options: TaskOptions<TypeMap, unknown, TypeMap, unknown> | ContainerTaskOptions<TypeMap, unknown, TypeMap, unknown>;
  readonly fn: ((inputs: Record<string, unknown>) => unknown) | undefined;

  constructor(options: TaskDefinition['options'], fn: TaskDefinition['fn']) {
    this.options = options;
    this.fn = fn;
    this.name = options.name;
    ({ inputs: this.inputs, outputs: this.outputs, single: this.single, defaults: this.defaults } = declared(`task "${options.name ?? '(unnamed)'}"`, options));
  }

  resolvedName(): string {
    return nameOf(this);
  }

  get container(): ContainerTaskOptions<TypeMap, unknown, TypeMap, unknown> | undefined {
    return this.fn ? undefined : (this.options as ContainerTaskOptions<TypeMap, unknown, TypeMap, unknown>);
  }

  /**
   * Runs the function on JSON inputs and returns its outputs as JSON, checking both against the
   * interface, as a pod does: the same code runs locally and in the pod.
   */
  async run(inputs: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const name = this.resolvedName();
    if (!this.fn) throw new TypeCheckError(`task "${name}" is a container task; it runs only as a pod (or through runLocal, which starts its command)`);
    const args: Record<string, unknown> = {};
    for (const [k, type] of Object.entries(this.inputs)) {
      const value = Object.hasOwn(inputs, k) ? inputs[k] : Object.hasOwn(this.defaults, k) ? this.defaults[k] : null;
      const m = checkValue(parsed(type, `task "${name}"`), value);
      if (m) throw new TypeCheckError(`task "${name}": input "${k}": ${formatMismatch(m)}`);
      args[k] = value;
    }
    for (const k of Object.keys(inputs)) if (!Object.hasOwn(this.inputs, k)) throw new TypeCheckError(`task "${name}": unexpected input "${k}"`);
    const returned = await this.fn(args);
    return this.checkOutputs(returned);
  }

  private checkOutputs(returned: unknown): Record<string, unknown> {
    const name = this.resolvedName();
    const names = Object.keys(this.outputs);
    let outputs: Record<string, unknown>;
    if (this.single) outputs = { [SINGLE_OUTPUT]: returned === undefined ? null : returned };
    else if (names.length === 0) outputs = {};
    else {
      if (typeof returned !== 'object' || returned === null || Array.isArray(returned)) throw new TypeCheckError(`task "${name}" must return an object with its outputs ${names.join(', ')}; it returned ${describe(returned)}`);
      outputs = { ...(returned as Record<string, unknown>) };
      for (const k of Object.keys(outputs)) if (!Object.hasOwn(this.outputs, k)) throw new TypeCheckError(`task "${name}" returned "${k}", which is not one of its outputs (${names.join(', ')})`);
    }
    for (const [k, type] of Object.entries(this.outputs)) {
      // JSON would turn NaN and ±Infinity into null, which an Optional output would take silently.
      const finite = (_: string, v: unknown) => {
        if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeCheckError(`task "${name}": output "${k}": ${v} is not a JSON number`);
        return v;
      };
      const value = JSON.parse(JSON.stringify(outputs[k] ?? null, finite)) as unknown;
      const m = checkValue(parsed(type, `task "${name}"`), value);
      if (m) throw new TypeCheckError(`task "${name}": output "${k}": ${formatMismatch(m)}`);
      outputs[k] = value;
    }
    return outputs;
  }
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** A typed task: call it in a workflow body to add a node; it returns promises of its outputs. */
export type Task<I extends TypeMap, O, N extends TypeMap, D> = ((inputs: Args<I, D>, options?: CallOptions) => CallResult<O, N>) & { readonly definition: TaskDefinition };

function callable<I extends TypeMap, O, N extends TypeMap, D>(def: TaskDefinition): Task<I, O, N, D> {
  const fn = (inputs: unknown, options?: CallOptions) =>
    callNode(
      {
        def,
        what: `task "${def.resolvedName()}"`,
        name: def.resolvedName(),
        inputs: def.inputs,
        outputs: def.outputs,
        single: def.single,
        defaults: def.defaults,
        node: () => ({ task: def.resolvedName() }),
      },
      inputs,
      options,
    );
  Object.defineProperty(fn, 'definition', { value: def });
  return attach(fn, def) as unknown as Task<I, O, N, D>;
}

/**
 * A typed TypeScript function run as a pod. Its body runs only when the task runs (in its pod, or
 * locally); in a workflow body a call records a node and returns promises.
 */
export function task<I extends TypeMap = {}, O = never, N extends TypeMap = {}, D extends Partial<Values<I>> = {}>(
  options: TaskOptions<I, O, N, D>,
  // The interface comes from the options alone: what the function returns is checked against it.
  fn: TaskFunction<I, NoInfer<O>, NoInfer<N>>,
): Task<I, O, N, D> {
  if (typeof fn !== 'function') throw new WorkflowCompileError(`task "${options.name ?? '(unnamed)'}": the second argument is the function the task runs`);
  return callable(new TaskDefinition(options as TaskOptions<TypeMap, unknown, TypeMap, unknown>, fn as (inputs: Record<string, unknown>) => unknown));
}

/** A task that runs a command in an image of your choice, reading FLYTE_INPUTS and writing FLYTE_OUTPUTS_FILE. */
export function containerTask<I extends TypeMap = {}, O = never, N extends TypeMap = {}, D extends Partial<Values<I>> = {}>(options: ContainerTaskOptions<I, O, N, D>): Task<I, O, N, D> {
  if (!options.image || !Array.isArray(options.command) || options.command.length === 0) throw new WorkflowCompileError(`container task "${options.name ?? '(unnamed)'}" needs an image and a command`);
  return callable(new TaskDefinition(options as ContainerTaskOptions<TypeMap, unknown, TypeMap, unknown>, undefined));
}

import { WorkflowCompileError } from './errors.ts';
import type { CallOptions } from './call.ts';
import { currentScope } from './scope.ts';

type Callable = (inputs: any, options?: CallOptions) => unknown;

/**
 * Flyte's functools.partial: the callee with some inputs fixed. A call of the result binds the rest; binding
 * a fixed input again is an error.
 */
export function partial<F extends Callable, B extends Partial<Parameters<F>[0]>>(callee: F, bound: B): (inputs: Omit<Parameters<F>[0], keyof B>, options?: CallOptions) => ReturnType<F> {
  if (typeof callee !== 'function') throw new WorkflowCompileError('partial(...) takes a task, workflow or launch plan and the inputs to fix');
  return (inputs, options) => {
    const again = Object.keys(inputs ?? {}).filter((k) => Object.hasOwn(bound, k));
    if (again.length) throw new WorkflowCompileError(`workflow "${currentScope('a partial(...) callee').workflow}": input${again.length > 1 ? 's' : ''} ${again.map((k) => `"${k}"`).join(', ')} ${again.length > 1 ? 'are' : 'is'} fixed by partial(...) and cannot be passed again`);
    return callee({ ...bound, ...inputs }, options) as ReturnType<F>;
  };
}

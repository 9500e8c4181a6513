/** A workflow that cannot compile: misuse of promises, unknown names, mismatched types. */
export class WorkflowCompileError extends Error {
  override name = 'WorkflowCompileError';
}

/** A value that failed its type at run time: a task's input or output, a workflow input. */
export class TypeCheckError extends Error {
  override name = 'TypeCheckError';
}

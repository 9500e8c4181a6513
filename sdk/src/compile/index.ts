export { closureOf, type Closure } from './closure.ts';
export { workflowSpec, taskSpec, needsCode, CODE_MOUNT_PATH, BUNDLE_FILE, DEFAULT_IMAGE, PLACEHOLDER_CODE, type CodeRef, type Spec } from './specs.ts';
export { validate, execution, definition, launchPlanResource, registration, codeConfigMap, MAX_BUNDLE_BYTES, SDK_LABEL, CODE_HASH_LABEL, type Resource, type ExecutionOptions } from './resources.ts';

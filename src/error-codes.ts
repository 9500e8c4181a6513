/**
 * Every error code the propeller writes into a status or raises, in one place. Codes are stable and
 * machine-readable (alerts and dashboards match on them); messages are for people and may change.
 * A pod's own failure reason from Kubernetes (Evicted, NodeLost, InvalidImageName, …) is passed
 * through as the code where it says more than any code of ours would: see POD_REASON_CODES.
 */
export const Codes = {
  // The spec
  InvalidWorkflow: 'InvalidWorkflow',
  // A task attempt, read from its pod
  NonZeroExit: 'NonZeroExit',
  OOMKilled: 'OOMKilled',
  TimedOut: 'TimedOut',
  PodDeleted: 'PodDeleted',
  PodDeletedExternally: 'PodDeletedExternally',
  PodFailed: 'PodFailed',
  Interrupted: 'Interrupted',
  OutputsMissing: 'OutputsMissing',
  OutputsTooLarge: 'OutputsTooLarge',
  OutputsNotJson: 'OutputsNotJson',
  OutputsNotObject: 'OutputsNotObject',
  OutputsInvalid: 'OutputsInvalid',
  // Building or creating a pod
  PodBuildFailed: 'PodBuildFailed',
  InputsTooLarge: 'InputsTooLarge',
  PodRejected: 'PodRejected',
  PodNameTaken: 'PodNameTaken',
  NoPlugin: 'NoPlugin',
  // Workflow and control flow
  WorkflowTimedOut: 'WorkflowTimedOut',
  NodeFailed: 'NodeFailed',
  BranchNoMatch: 'BranchNoMatch',
  BranchFailed: 'BranchFailed',
  BranchEvaluationFailed: 'BranchEvaluationFailed',
  GateRejected: 'GateRejected',
  GateTimedOut: 'GateTimedOut',
  ChildFailed: 'ChildFailed',
  ChildAborted: 'ChildAborted',
  ChildDeleted: 'ChildDeleted',
  ChildNameTaken: 'ChildNameTaken',
  // The object itself
  StatusTooLarge: 'StatusTooLarge',
  // The process
  ConfigInvalid: 'ConfigInvalid',
  KubeTransport: 'KubeTransport',
  KubeApi: 'KubeApi',
} as const;

export type ErrorCode = (typeof Codes)[keyof typeof Codes];

/** Kubernetes pod and container reasons that become the code of a failed attempt as they are. */
export const POD_REASON_CODES = new Set([
  'Evicted',
  'Shutdown',
  'NodeShutdown',
  'Terminated',
  'NodeLost',
  'NodeAffinity',
  'Preempting',
  'UnexpectedAdmissionError',
  'DeadlineExceeded',
  'InvalidImageName',
  'CreateContainerConfigError',
  'ErrImageNeverPull',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerError',
]);

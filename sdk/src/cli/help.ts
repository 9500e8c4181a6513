// `propeller --help` and `propeller COMMAND --help`.

const CLUSTER_FLAGS = `Cluster flags:
  -n, --namespace NS      the namespace (default: the kubeconfig context's, else "default")
      --context NAME      a kubeconfig context other than the current one
      --kubeconfig PATH   the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)`;

const PROJECT_FLAGS = `      --project P --domain D
                          run in namespace P-D and label the execution project=P, domain=D`;

export interface CommandHelp {
  summary: string;
  example: string;
  text: string;
}

export const COMMANDS: Record<string, CommandHelp> = {
  run: {
    summary: 'run a workflow or launch plan of a file, locally or (--remote) on the cluster',
    example: "propeller run examples/workflow.ts simple_wf --x '[-3,0,3]' --y '[7,4,-2]'",
    text: `Usage: propeller run [--remote] FILE WORKFLOW [--INPUT VALUE …] [flags]

Runs the workflow (or launch plan) WORKFLOW of the TypeScript module FILE and prints its outputs: a single
output as its bare JSON value, named outputs as "name: value" lines (-o json or -o yaml for an object).

Locally (the default) it runs in this process, with no cluster: the operator's own core drives the
workflow and each task's function runs here (container tasks run their command as a child process).
With --remote it bundles FILE, ships the bundle as a ConfigMap, registers the launch plans its nodes
start, creates the execution (a FlyteWorkflow) and watches it until it ends.

Inputs: every input of WORKFLOW is a flag, --NAME VALUE (--raw-data works for raw_data). str, datetime and
duration values are taken as typed (for an Optional one, null is null); every other type is JSON (--x '[-3,0,3]', --n 5, --flag true,
--opt null) and is type-checked. Inputs with a default may be left out; so may Optional ones (null).
An input named like one of the flags below is --input-NAME. "propeller run FILE WORKFLOW --help" lists
the inputs, their types and defaults, and the workflow's description. A launch plan's default inputs
apply; its fixed inputs cannot be set.

Flags:
      --remote            run on the cluster instead of in this process
      --no-wait           (--remote) print the execution's name and return at once
      --name NAME         (--remote) the execution's name (default: the workflow's, plus a random suffix)
  -l, --label K=V         (--remote) a label on the execution (repeatable)
      --timeout DURATION  (--remote) stop waiting after this long (exit 3; the execution keeps running)
      --approve NODE      approve the approve gate at node path NODE (local runs; repeatable)
      --reject NODE[=REASON]
                          reject the approve gate at NODE (local runs; repeatable)
      --signal NODE=VALUE send VALUE (JSON, or text for a str gate) to the signal gate at NODE (local runs)
  -o, --output FORMAT     json or yaml: the outputs as an object; name: only the execution's name
${PROJECT_FLAGS}
${CLUSTER_FLAGS}

Examples:
  propeller run examples/workflow.ts simple_wf --x '[-3,0,3]' --y '[7,4,-2]'
  propeller run examples/workflow.ts data_pipeline --raw_data 1,2,3
  propeller run examples/workflow.ts simple_wf --help
  propeller run --remote examples/workflow.ts simple_wf --x '[-3,0,3]' --y '[7,4,-2]'
  propeller run --remote --project ml --domain development examples/standard-scale.ts nightly_scale_lp
  propeller run --remote --no-wait examples/workflow.ts documented_wf`,
  },
  compile: {
    summary: 'print the resources of a file as YAML (what register creates, or --execution)',
    example: 'propeller compile examples/standard-scale.ts',
    text: `Usage: propeller compile FILE [WORKFLOW …] [flags]

Prints the resources as multi-document YAML, for review or kubectl apply. By default: what register
creates for the workflows named (every workflow and launch plan of FILE when none is named): a
WorkflowDefinition per workflow, a default LaunchPlan per workflow, and the launch plans. With
--execution: the FlyteWorkflow of a run of each workflow named (with one workflow, its inputs are flags
as in run). Nothing is sent to a cluster.

Flags:
      --execution         FlyteWorkflows to run, instead of definitions and launch plans
      --with-code         also the ConfigMap that carries the code bundle
      --version V         the definitions' version (default: the git SHA of a clean work tree, else the
                          code bundle's hash)
  -n, --namespace NS      set metadata.namespace

Examples:
  propeller compile examples/standard-scale.ts
  propeller compile examples/workflow.ts simple_wf --execution --x '[1,2]' --y '[3,4]' | kubectl create -f -
  propeller compile examples/workflow.ts --with-code --version v1 > resources.yaml`,
  },
  register: {
    summary: 'create the definitions, launch plans and code of a file on the cluster',
    example: 'propeller register examples/standard-scale.ts',
    text: `Usage: propeller register FILE [--version V] [flags]

Registers every workflow and launch plan of FILE (and the workflows and launch plans they reach): the code
ConfigMap, a WorkflowDefinition per workflow at version V, a default LaunchPlan per workflow (named after
it) and each launch plan, pointing at version V.

The version defaults to the git SHA (git rev-parse HEAD) of FILE's work tree, which must be clean
(git status --porcelain prints nothing): uncommitted changes would register code under a SHA that does not
hold it, so a dirty tree is refused unless --version is given (as pyflyte register does).

Definitions are immutable: registering the same content again is fine ("unchanged"); a different workflow
under an existing version is refused: bump the version. Launch plans are applied: created, or their spec
replaced ("configured"), so they move to the new version.

Flags:
      --version V         the version (lowercase letters, digits, "-" and ".", at most 63 characters)
  -o, --output FORMAT     name: print kind/name per resource; json or yaml: the resources sent
${PROJECT_FLAGS}
${CLUSTER_FLAGS}

Examples:
  propeller register examples/standard-scale.ts
  propeller register examples/standard-scale.ts --version 1.4.2 -n analytics`,
  },
  launch: {
    summary: 'start an execution of a registered launch plan and watch it',
    example: 'propeller launch nightly-scale-lp --values \'[1,2,3]\'',
    text: `Usage: propeller launch LAUNCH_PLAN [--INPUT VALUE …] [flags]

Creates an execution of the LaunchPlan LAUNCH_PLAN of the namespace (spec.launchPlan and spec.inputs) and
watches it like run --remote. Its inputs are flags typed from the launch plan's WorkflowDefinition on the
cluster, as in run: the launch plan's defaults apply to inputs left out; fixed inputs cannot be set.
"propeller launch LAUNCH_PLAN --help" lists them.

Flags:
      --no-wait           print the execution's name and return at once
      --name NAME         the execution's name (default: the launch plan's, plus a random suffix)
  -l, --label K=V         a label on the execution (repeatable)
      --timeout DURATION  stop waiting after this long (exit 3; the execution keeps running)
  -o, --output FORMAT     json or yaml: the outputs as an object; name: only the execution's name
${PROJECT_FLAGS}
${CLUSTER_FLAGS}

Examples:
  propeller launch nightly-scale-lp
  propeller launch nightly-scale-lp --values '[2,4,4,4,5,5,7,9]' --no-wait`,
  },
  get: {
    summary: "show an execution: phase, progress, times, outputs, error and its nodes",
    example: 'propeller get simple-wf-x7k2p',
    text: `Usage: propeller get EXECUTION [flags]

Flags:
  -o, --output FORMAT     json, yaml (the FlyteWorkflow) or name
${CLUSTER_FLAGS}

Examples:
  propeller get simple-wf-x7k2p
  propeller get simple-wf-x7k2p -o yaml`,
  },
  list: {
    summary: 'list executions, newest first',
    example: 'propeller list --phase Failed',
    text: `Usage: propeller list [flags]

Lists the executions (FlyteWorkflows) of the namespace, newest first: name, workflow, phase, progress, age.

Flags:
  -l, --selector SEL      only those whose labels match (kubectl's label selector: project=ml,team!=x)
      --phase P[,P…]      only those in these phases (Running, Succeeded, Failed, …)
  -A, --all-namespaces    every namespace
  -o, --output FORMAT     json, yaml (the list) or name
${PROJECT_FLAGS}
${CLUSTER_FLAGS}

Examples:
  propeller list
  propeller list -l flyte.propeller.dev/launch-plan=nightly --phase Failed,Aborted`,
  },
  watch: {
    summary: 'follow an execution until it ends',
    example: 'propeller watch simple-wf-x7k2p',
    text: `Usage: propeller watch EXECUTION [flags]

Shows the execution's nodes as they change (a table redrawn in place on a terminal, one line per change
otherwise) until it ends, then prints its outputs. Exits 0 if it Succeeded, 1 if it Failed or was Aborted.

Flags:
      --timeout DURATION  stop waiting after this long (exit 3)
  -o, --output FORMAT     json or yaml: the outputs as an object
${CLUSTER_FLAGS}

Examples:
  propeller watch simple-wf-x7k2p`,
  },
  abort: {
    summary: 'stop an execution (sets spec.abort)',
    example: 'propeller abort simple-wf-x7k2p',
    text: `Usage: propeller abort EXECUTION [flags]

Sets spec.abort: the propeller deletes the running pods, aborts child executions and ends it Aborted.

Flags:
      --wait              wait until it is Aborted
${CLUSTER_FLAGS}

Examples:
  propeller abort simple-wf-x7k2p`,
  },
  approve: {
    summary: 'approve an approve gate of an execution',
    example: 'propeller approve train-x7k2p review --reason "metrics ok"',
    text: `Usage: propeller approve EXECUTION NODE [--reason TEXT] [flags]

Approves the approve gate at node path NODE (train/review inside a subworkflow node train): a JSON merge
patch of spec.signals[NODE]. It may be sent before the gate is reached.

Flags:
      --reason TEXT       why, recorded in the node's status and event
${CLUSTER_FLAGS}

Examples:
  propeller approve train-x7k2p review
  propeller approve train-x7k2p train/review --reason "metrics ok"`,
  },
  reject: {
    summary: 'reject an approve gate of an execution (the gate fails)',
    example: 'propeller reject train-x7k2p review --reason "accuracy dropped"',
    text: `Usage: propeller reject EXECUTION NODE --reason TEXT [flags]

Rejects the approve gate at node path NODE: the gate fails (GateRejected) with the reason.

Flags:
      --reason TEXT       why (required)
${CLUSTER_FLAGS}

Examples:
  propeller reject train-x7k2p review --reason "accuracy dropped"`,
  },
  signal: {
    summary: 'send a value to a signal gate of an execution',
    example: 'propeller signal scale-x7k2p replicas 3',
    text: `Usage: propeller signal EXECUTION NODE VALUE [flags]

Sends VALUE to the signal gate at node path NODE, which outputs it. VALUE is JSON (3, [1,2], {"a":1},
null), or text for a gate of type str. A null goes in a JSON patch (a merge patch cannot carry one).

Flags:
${CLUSTER_FLAGS}

Examples:
  propeller signal scale-x7k2p replicas 3
  propeller signal scale-x7k2p note 'looks good'
  propeller signal scale-x7k2p limit null`,
  },
  logs: {
    summary: "print the log of a node's pod",
    example: 'propeller logs simple-wf-x7k2p slope',
    text: `Usage: propeller logs EXECUTION NODE [--attempt N] [flags]

Prints the log of the pod of the node's latest attempt (or of --attempt N, counted from 1), read through
the API server (pods/log), as kubectl logs does. The pod must still exist: pods go when their execution is
deleted.

Flags:
      --attempt N         that attempt, 1 being the first
      --tail N            only the last N lines
${CLUSTER_FLAGS}

Examples:
  propeller logs simple-wf-x7k2p slope
  propeller logs simple-wf-x7k2p train/fit --attempt 1`,
  },
  bundle: {
    summary: 'write the code bundle of a file (to bake into your own image)',
    example: 'propeller bundle examples/workflow.ts -o dist/bundle.mjs',
    text: `Usage: propeller bundle FILE [-o OUT.mjs]

Writes the one-file ES module that task pods run (node OUT.mjs --task NAME): FILE, the SDK and what FILE
imports. Bake it into an image and point the tasks at it with the task option bundledIn: the tasks then
ship no code. Without -o it goes to stdout.

Flags:
  -o, --output PATH       where to write it

Examples:
  propeller bundle examples/workflow.ts -o dist/bundle.mjs`,
  },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}\n  ${' '.repeat(width)}    e.g. ${c.example}`);
  return `propeller: run Propeller workflows written in TypeScript, locally or on a Kubernetes cluster.

Usage: propeller COMMAND [ARGS] [flags]

Commands:
${lines.join('\n')}

"propeller COMMAND --help" lists a command's flags and examples.

Exit codes: 0 done (the execution Succeeded); 1 the execution Failed or was Aborted; 2 a usage error
(bad flag, input, or workflow file); 3 an API error, an unreachable cluster, or a timeout.`;
}

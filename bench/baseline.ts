import PQueue from 'p-queue';
import type { FlyteWorkflow } from '../src/api/flyteworkflow.ts';
import type { Pod } from '../src/api/pod.ts';
import { resolveBinding } from '../src/core/bindings.ts';
import { compileWorkflow, type CompiledWorkflow } from '../src/core/compile.ts';
import { podName } from '../src/core/names.ts';
import { podsPath, workflowsPath } from '../src/k8s/paths.ts';
import type { KubeClient } from '../src/k8s/rest.ts';
import { containerPlugin } from '../src/plugins/container/plugin.ts';
import type { Observer } from './observer.ts';
import type { Scenario } from './scenarios.ts';
import { BENCH_SEED, dagWorkflow } from './workflow.ts';

/**
 * The physical limit: a plain client that runs the same DAGs by creating each pod the moment its
 * dependencies succeed, with no status, no rounds and no checks. Its pods are the propeller's own, byte
 * for byte (built by the same plugin, owned by a real FlyteWorkflow that nothing reconciles), so the API
 * server, admission, the garbage collector, the scheduler and KWOK do the same work for both runs. Same
 * KWOK nodes, same client-side QPS/burst.
 */
export async function runBaseline(client: KubeClient, namespace: string, scenario: Scenario, observer: Observer, concurrency: number): Promise<{ submittedAt: Map<string, number> }> {
  const queue = new PQueue({ concurrency });
  const dependents = new Map<string, string[]>();
  const deps = new Map(scenario.dag.nodes.map((n) => [n.id, n.deps]));
  for (const n of scenario.dag.nodes) for (const d of n.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(n.id);
  const succeeded = new Set<string>();
  const submittedAt = new Map<string, number>();
  const failures: unknown[] = [];
  const owners = new Map<string, FlyteWorkflow>();
  const compiled = compileWorkflow(dagWorkflow('wf', scenario.dag, scenario.podDurationMs).spec, { maxNodes: 100_000 });
  if (!compiled.ok) throw new Error(`bench workflow does not compile: ${compiled.errors[0]}`);

  const create = (workflow: string, node: string) =>
    void queue.add(async () => {
      try {
        await client.request('POST', podsPath(namespace), { body: podOf(owners.get(workflow)!, compiled.workflow, node) });
      } catch (err) {
        failures.push(err);
      }
    });

  observer.onPodSucceeded((t) => {
    succeeded.add(`${t.workflow}/${t.node}`);
    for (const next of dependents.get(t.node) ?? []) {
      if (deps.get(next)!.every((d) => succeeded.has(`${t.workflow}/${d}`))) create(t.workflow, next);
    }
  });
  // The owners exist before the clock starts: they stand for the workflows, not for work the baseline does.
  await Promise.all(
    Array.from({ length: scenario.workflows }, (_, w) =>
      queue.add(async () => {
        const name = `wf-${w}`;
        owners.set(name, await client.request<FlyteWorkflow>('POST', workflowsPath(namespace), { body: dagWorkflow(name, scenario.dag, scenario.podDurationMs) }));
      }),
    ),
  );
  for (let w = 0; w < scenario.workflows; w++) {
    const workflow = `wf-${w}`;
    submittedAt.set(workflow, performance.timeOrigin + performance.now());
    for (const n of scenario.dag.nodes) if (n.deps.length === 0) create(workflow, n.id);
  }
  const total = scenario.workflows * scenario.dag.nodes.length;
  await observer.until(() => succeeded.size >= total || failures.length > 0, 1_800_000, `${total} baseline pods`);
  if (failures.length) throw new Error(`baseline pod create failed: ${String(failures[0])}`);
  return { submittedAt };
}

/** The pod the propeller would create for attempt 0 of `node`, with the outputs every bench task produces. */
function podOf(owner: FlyteWorkflow, wf: CompiledWorkflow, id: string): Pod {
  const node = wf.nodeById.get(id)!;
  if (node.kind !== 'task') throw new Error(`benchmark node ${id} is a ${node.kind} node; the baseline runs task nodes only`);
  const output = (n: string) => {
    const deps = wf.nodeById.get(n)!.upstream.length;
    return deps ? { o0: BENCH_SEED, seen: Array(deps).fill(BENCH_SEED) } : { o0: BENCH_SEED };
  };
  const inputs = Object.fromEntries(
    Object.entries(node.inputs).map(([name, binding]) => [name, resolveBinding(binding, { workflowInput: () => null, nodeOutput: (n, o) => output(n)[o as 'o0'] })]),
  );
  return containerPlugin.buildPod({
    workflow: { name: owner.metadata.name, namespace: owner.metadata.namespace, uid: owner.metadata.uid, project: '', domain: '' },
    node: id,
    attempt: 0,
    podName: podName(owner.metadata.name, id, 0),
    task: node.task,
    inputs,
    serviceAccountName: undefined,
    pod: { ...wf.spec.pod, ...node.task.spec.pod },
  });
}

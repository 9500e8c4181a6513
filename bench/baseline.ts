import PQueue from 'p-queue';
import { ANNOTATIONS } from '../src/api/labels.ts';
import type { Pod } from '../src/api/pod.ts';
import { podsPath } from '../src/k8s/paths.ts';
import type { KubeClient } from '../src/k8s/rest.ts';
import { KWOK_ENV, KWOK_NODE_LABEL, KWOK_NODE_VALUE } from '../tools/controlplane/kwok.ts';
import type { Observer } from './observer.ts';
import type { Scenario } from './scenarios.ts';

/**
 * The physical limit: a plain client that runs the same DAGs by creating pods itself the moment their
 * dependencies succeed, with no custom resource, no status and no checks. Same pods, same KWOK nodes,
 * same client-side QPS/burst as the propeller.
 */
export async function runBaseline(client: KubeClient, namespace: string, scenario: Scenario, observer: Observer, concurrency: number): Promise<{ submittedAt: Map<string, number> }> {
  const queue = new PQueue({ concurrency });
  const dependents = new Map<string, string[]>();
  const deps = new Map(scenario.dag.nodes.map((n) => [n.id, n.deps]));
  for (const n of scenario.dag.nodes) for (const d of n.deps) (dependents.get(d) ?? dependents.set(d, []).get(d)!).push(n.id);
  const succeeded = new Set<string>();
  const submittedAt = new Map<string, number>();
  const failures: unknown[] = [];

  const create = (workflow: string, node: string) =>
    void queue.add(async () => {
      try {
        await client.request('POST', podsPath(namespace), { body: pod(namespace, workflow, node, scenario.podDurationMs) });
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

function pod(namespace: string, workflow: string, node: string, durationMs: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${workflow}-${node.toLowerCase()}`,
      namespace,
      labels: { bench: 'baseline' },
      annotations: { [ANNOTATIONS.workflow]: workflow, [ANNOTATIONS.node]: node },
    },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { [KWOK_NODE_LABEL]: KWOK_NODE_VALUE },
      tolerations: [{ key: KWOK_NODE_LABEL, operator: 'Exists' }],
      containers: [{ name: 'task', image: 'kwok', env: [{ name: KWOK_ENV.duration, value: `${durationMs}ms` }, { name: KWOK_ENV.message, value: '{"o0": 7}' }] }],
    },
  };
}

// Shared pieces of the control-flow tests (branches, subworkflows, gates, caching): events, kubectl,
// pods by node path.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FlyteWorkflow, WorkflowPhase } from '../../../src/api/flyteworkflow.ts';
import type { Pod } from '../../../src/api/pod.ts';
import { eventsPath } from '../../../src/k8s/paths.ts';
import { eventually, L, podRecorder, podsOf, type Env, type Recorder } from './e2e.ts';

const exec = promisify(execFile);

/** The exact node path of a pod (labels may be hashed; the annotation is not). */
export const NODE_ANNOTATION = 'flyte.propeller.dev/node';
export const nodePathOf = (pod: Pod): string | undefined => pod.metadata.annotations?.[NODE_ANNOTATION];

export interface WorkflowEvent {
  type: string;
  reason: string;
  message: string;
}

/** The Events recorded on a workflow, oldest first. */
export async function eventsOf(env: Env, name: string): Promise<WorkflowEvent[]> {
  const list = await env.client.request<{ items: (WorkflowEvent & { metadata: { creationTimestamp?: string; name: string } })[] }>('GET', eventsPath(env.ns), {
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name))
    .map((e) => ({ type: e.type, reason: e.reason, message: e.message }));
}

/** Waits until an event with this reason (and a message matching `message`) is recorded on the workflow; returns it. */
export async function waitForEvent(env: Env, name: string, reason: string, message?: RegExp, timeoutMs = 15_000): Promise<WorkflowEvent> {
  let found: WorkflowEvent | undefined;
  await eventually(
    env,
    name,
    `a ${reason} event${message ? ` matching ${message}` : ''}`,
    async () => {
      found = (await eventsOf(env, name)).find((e) => e.reason === reason && (!message || message.test(e.message)));
      return found !== undefined;
    },
    timeoutMs,
  );
  return found!;
}

/** Splits a command line as a POSIX shell would for the plain words and single-quoted strings a gate's message uses. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      assert.ok(end > i, `unterminated quote in ${line}`);
      current = (current ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === ' ') {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      assert.ok(!'"\\$`;&|<>'.includes(c), `unexpected shell character ${c} outside quotes in ${line}`);
      current = (current ?? '') + c;
    }
  }
  if (current !== undefined) words.push(current);
  return words;
}

/** Runs kubectl (the suite's binary, PROPELLER_TEST_KUBECTL) against the test cluster; returns stdout. */
export async function kubectl(env: Env, kubectlPath: string | undefined, args: string[]): Promise<string> {
  assert.ok(kubectlPath, 'no kubectl binary: run through `npm run test:integration` (it sets PROPELLER_TEST_KUBECTL)');
  try {
    const { stdout } = await exec(kubectlPath, args, { env: { ...process.env, KUBECONFIG: env.kubeconfig }, timeout: 30_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** Records every pod of one workflow, to tell which node paths ever had a pod. */
export function workflowPods(env: Env, name: string): Promise<Recorder<Pod>> {
  return podRecorder(env, `${L.workflow}=${name}`);
}

/**
 * The node paths that ever had a pod of the workflow, each with how many distinct pods (uids) it had: what
 * the recorder saw, plus a fresh list (a pod created a moment ago may not have reached the watch yet).
 */
export async function podCountsByPath(env: Env, name: string, recorder: Recorder<Pod>): Promise<Map<string, number>> {
  const all = recorder.uids();
  for (const pod of await podsOf(env, name)) if (pod.metadata.uid) all.set(pod.metadata.uid, pod);
  const counts = new Map<string, number>();
  for (const pod of all.values()) {
    const path = nodePathOf(pod) ?? '(no node annotation)';
    counts.set(path, (counts.get(path) ?? 0) + 1);
  }
  return counts;
}

/** Asserts exactly these node paths had exactly one pod each, and no other path had any. */
export async function assertOnePodEach(env: Env, name: string, recorder: Recorder<Pod>, paths: string[]): Promise<void> {
  const counts = Object.fromEntries([...(await podCountsByPath(env, name, recorder))].sort(([a], [b]) => a.localeCompare(b)));
  assert.deepEqual(counts, Object.fromEntries([...paths].sort().map((p) => [p, 1])), 'pods created, by node path');
}

export const ms = (t: string | undefined): number => Date.parse(t ?? '');

/** Waits until a workflow recorder has seen the workflow reach `phase` (its watch may lag behind a GET). */
export async function recorderSaw(env: Env, recorder: Recorder<FlyteWorkflow>, name: string, phase: WorkflowPhase): Promise<void> {
  await eventually(env, name, `the workflow recorder to see ${name} ${phase}`, async () => recorder.events.some((e) => e.object.metadata.name === name && e.object.status?.phase === phase), 15_000);
}

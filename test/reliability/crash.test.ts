// Propeller crashes: a killer SIGKILLs the propeller (running with the chart's RBAC) at random moments
// while dozens of workflows run, restarting it each time. Every workflow must still end Succeeded with the
// outputs computed here, no (node, attempt) may ever get a second pod, no task may run twice, and no
// output may change once written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import { podsPath } from '../../src/k8s/paths.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { FAST_RETRIES, logsOf, Recorder, tail, waitForLog, wfsPath } from '../integration/helpers/e2e.ts';
import { createNamespace } from '../integration/helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from '../integration/helpers/propeller.ts';
import { installChartRbac } from '../integration/helpers/restricted.ts';
import { createWorkflow, workflowManifest } from '../integration/helpers/workflows.ts';
import { between, inFlight, layeredDag, logLines, logSettled, outputChanges, podFindings, rng, seedFor, spread, unrecordedPods, workflowProblems, type Workload } from './dag-workload.ts';
import { recordAborted, recordResult, SCALE } from './results.ts';

const FULL = SCALE === 'full';
const WORKFLOWS = FULL ? 50 : 5;
const NODES = FULL ? 20 : 10;
const PYTHON = FULL ? 5 : 1; // of WORKFLOWS, run by the process node with real python tasks
const KILLS = FULL ? 20 : 3;
/** How long a propeller reconciles before it is killed (from its "reconciling" log line). */
const GAP_MS: [number, number] = [300, 4000];
const FAULT = 'Propeller SIGKILLed at random moments and restarted';

describe('reliability: propeller crashes', () => {
  const cluster = useTestCluster();

  test(`${KILLS} SIGKILLs while ${WORKFLOWS} workflows of ${NODES} nodes run: all succeed, nothing lost or duplicated`, { timeout: FULL ? 480_000 : 180_000 }, async () => {
    const seed = seedFor('crash');
    const rand = rng(seed);
    const began = Date.now();
    const c = cluster();
    const ns = await createNamespace(c.client, 'rel-crash');
    const rbac = await installChartRbac(c, { watchNamespaces: [ns.name] });
    // Both recorders run from before the first submission: every pod and every workflow version is seen.
    const pods = await Recorder.start<Pod>(c.client, podsPath(ns.name));
    const wfs = await Recorder.start<FlyteWorkflow>(c.client, wfsPath(ns.name));
    const propellers: RunningPropeller[] = [];
    const start = () => {
      const p = startPropeller({ kubeconfig: rbac.kubeconfigPath, namespaces: [ns.name], args: ['--config', rbac.configPath, ...FAST_RETRIES], env: rbac.env });
      propellers.push(p);
      return p;
    };

    const python = new Set(Array.from({ length: WORKFLOWS }, (_, i) => i).sort(() => rand() - 0.5).slice(0, PYTHON));
    const workloads: Workload[] = Array.from({ length: WORKFLOWS }, (_, i) =>
      layeredDag(rand, { name: `crash-${i}`, size: NODES, runtime: python.has(i) ? 'python' : 'kwok' }),
    );
    const names = new Set(workloads.map((w) => w.name));
    const submitted: string[] = [];
    const kills: { inFlight: number; uptimeMs: number; unrecorded: number }[] = [];
    let recorded = false;
    let current: RunningPropeller | undefined;
    let podFinished: (() => void) | undefined;
    pods.onEvent((e) => {
      if (e.type === 'MODIFIED' && e.object.status?.phase === 'Succeeded' && podFinished) {
        const wake = podFinished;
        podFinished = undefined;
        wake();
      }
    });

    try {
      current = start();
      for (let k = 0; k < KILLS; k++) {
        await waitForLog(current, /"msg":"reconciling"/, 60_000);
        const readyAt = Date.now();
        const gap = between(rand, ...GAP_MS);
        // This cycle's share of the workflows arrives at random moments before the kill, so kills land on
        // first rounds (finalizer, first pods) as well as on later ones.
        const chunk = workloads.filter((_, i) => Math.floor((i * KILLS) / WORKFLOWS) === k);
        const offsets = chunk.map(() => rand() * gap).sort((a, b) => a - b);
        for (const [j, w] of chunk.entries()) {
          await sleep(Math.max(0, readyAt + offsets[j]! - Date.now()));
          await createWorkflow(c.client, ns.name, workflowManifest(w.name, w.spec));
          submitted.push(w.name);
        }
        await sleep(Math.max(0, readyAt + gap - Date.now()));
        if (k % 2 === 1) {
          // Every other kill aims at a round: the next pod to finish wakes its workflow, whose round
          // creates the pods of the nodes it unblocks and then writes the status.
          await Promise.race([new Promise<void>((resolve) => (podFinished = resolve)), sleep(3000)]);
          podFinished = undefined;
          await sleep(between(rand, 0, 40));
        }
        const flying = inFlight(wfs, submitted);
        await current.kill();
        await logSettled(current);
        // Pods it created whose status write it never made: the next propeller must adopt, not recreate, them.
        const list = await c.client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns.name));
        kills.push({ inFlight: flying, uptimeMs: Date.now() - readyAt, unrecorded: unrecordedPods(logsOf(current), list.items).length });
        current = start();
      }
      process.stderr.write(`# crash: ${kills.length} kills in ${((Date.now() - began) / 1000).toFixed(0)}s; in flight at each: ${kills.map((k) => k.inFlight).join(' ')}; unrecorded pods at each: ${kills.map((k) => k.unrecorded).join(' ')}\n`);

      // The last propeller finishes the job.
      const deadline = Date.now() + (FULL ? 240_000 : 120_000);
      while (Date.now() < deadline && inFlight(wfs, names) > 0) await sleep(250);
      await sleep(1500); // let any stray second pod or late status write show up
      await pods.stop();
      await wfs.stop();

      const list = await c.client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns.name));
      const final = new Map(list.items.map((wf) => [wf.metadata.name, wf]));
      const pf = podFindings(pods, names);
      const changes = outputChanges(wfs, names);
      const checks = workloads.map((w) => workflowProblems(final.get(w.name), w, pf.justifiedRetries));
      const lost = [...checks.flatMap((x) => x.lost), ...changes.problems];
      // A task run again shows as a pod of attempt > 0; a node whose status counts more attempts than pods
      // seen is counted too, once.
      const rerunByPods = new Set(pf.unjustifiedRetries.map((u) => u.slice(0, u.indexOf('#'))));
      const rerun = checks.flatMap((x) => x.rerun).filter((r) => !rerunByPods.has(r.slice(0, r.indexOf(':'))));
      const duplicates = [...pf.duplicates, ...pf.unjustifiedRetries, ...rerun];
      const succeeded = workloads.filter((w) => final.get(w.name)?.status?.phase === 'Succeeded').length;
      const lostWorkflows = new Set(lost.map((l) => l.split(/[/:]/)[0])).size;
      const propellerErrors = propellers.flatMap((p) => logLines(logsOf(p)).filter((l) => Number(l['level']) >= 50)).length;
      const expectedPods = WORKFLOWS * NODES + pf.justifiedRetries.size;
      const passed = kills.length >= KILLS && succeeded === WORKFLOWS && lost.length === 0 && duplicates.length === 0 && pf.pods === expectedPods;

      recordResult({
        fault: FAULT,
        injected: kills.length,
        workflows: WORKFLOWS,
        outcome: `${succeeded}/${WORKFLOWS} Succeeded with the expected outputs; ${pf.pods} pods for ${WORKFLOWS * NODES} nodes; ${pf.justifiedRetries.size} retries after real pod failures`,
        lost: lost.length,
        duplicates: duplicates.length,
        passed,
        notes:
          `${WORKFLOWS} random layered DAGs of ${NODES} nodes (${WORKFLOWS - PYTHON} on KWOK, ${PYTHON} python on the process node), data on every edge; ` +
          `killed after ${GAP_MS[0] / 1000}–${GAP_MS[1] / 1000} s of reconciling (every other kill then 0–40 ms after the next pod finished); workflows in flight at a kill min/median/max ${spread(kills.map((k) => k.inFlight))}; ` +
          `${kills.filter((k) => k.unrecorded).length} kills landed between pod creates and their status write (at least ${kills.reduce((n, k) => n + k.unrecorded, 0)} pods left for the next propeller to adopt); ` +
          `${changes.versions} workflow versions checked for changed outputs; ${lostWorkflows} workflows affected; ${propellerErrors} error log lines; seed ${seed}; ${((Date.now() - began) / 1000).toFixed(0)} s`,
      });
      recorded = true;

      const show = (xs: string[]) => xs.slice(0, 15).join('\n  ') + (xs.length > 15 ? `\n  … and ${xs.length - 15} more` : '');
      const context = () => {
        const bad = [...new Set(lost.map((l) => l.split(/[/:]/)[0]!))].slice(0, 2);
        return bad
          .map((name) => `--- ${name}: ${JSON.stringify(final.get(name)?.status ?? null).slice(0, 1500)}\n--- propeller lines about it:\n${tail(propellers.flatMap((p) => logsOf(p).split('\n').filter((l) => l.includes(`/${name}"`))).join('\n'), 25)}`)
          .join('\n');
      };
      assert.ok(kills.length >= KILLS, `only ${kills.length} kills`);
      assert.deepEqual(pf.duplicates, [], `no (workflow, node, attempt) may have two pods:\n  ${show(pf.duplicates)}`);
      assert.deepEqual(duplicates, [], `no task may run again without a real pod failure:\n  ${show(duplicates)}`);
      assert.deepEqual(lost, [], `every workflow must succeed with its outputs, which never change once written:\n  ${show(lost)}\n${context()}`);
      assert.equal(pf.pods, expectedPods, 'one pod per node (plus one per retry after a real failure)');
    } catch (err) {
      if (!recorded) {
        recordAborted({ fault: FAULT, injected: kills.length, workflows: submitted.length, seed }, err);
      }
      if (current) process.stderr.write(`# last propeller log:\n${tail(logsOf(current), 30)}\n`);
      throw err;
    } finally {
      await pods.stop();
      await wfs.stop();
      for (const p of propellers) await p.kill();
      await rbac.uninstall();
      await ns.remove();
    }
  });
});

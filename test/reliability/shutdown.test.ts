// Graceful shutdown with leader election on (the chart with replicaCount=2): the leader gets SIGTERM while
// workflows run. It must finish the rounds in flight, exit 0 within 10 s, release the Lease (holder
// cleared), and a propeller started right after must lead at once, without waiting the lease out. Then
// every workflow completes, with no (node, attempt) ever getting two pods. Also: SIGTERM in the middle of
// a round that creates a 200-pod fan-out, SIGTERM while a propeller is winning the lease, and SIGTERM
// with a long work queue (only the rounds in flight may finish).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import type { FlyteWorkflow } from '../../src/api/flyteworkflow.ts';
import type { Pod } from '../../src/api/pod.ts';
import type { Lease } from '../../src/k8s/lease-store.ts';
import { leasePath, podsPath } from '../../src/k8s/paths.ts';
import type { KubeClient } from '../../src/k8s/rest.ts';
import { useTestCluster } from '../integration/helpers/cluster.ts';
import { FAST_RETRIES, KWOK_POD, L, logsOf, Recorder, tail, waitForLog, wfsPath } from '../integration/helpers/e2e.ts';
import { createNamespace } from '../integration/helpers/namespace.ts';
import { startPropeller, type RunningPropeller } from '../integration/helpers/propeller.ts';
import { installChartRbac, type ChartRbac } from '../integration/helpers/restricted.ts';
import { createWorkflow, workflowManifest } from '../integration/helpers/workflows.ts';
import { between, canonical, inFlight, intBetween, isFinished, layeredDag, logLines, logSettled, outputChanges, podFindings, rng, seedFor, spread, unrecordedPods, workflowProblems, type Rand, type Workload } from './dag-workload.ts';
import { recordAborted, recordResult, SCALE } from './results.ts';

const FULL = SCALE === 'full';
const CYCLES = FULL ? 5 : 1;
const BATCH = FULL ? 8 : 5;
const NODES = FULL ? 20 : 10;
const FANOUT = FULL ? 200 : 100;
/** Workflows waiting in the queue at SIGTERM, each of QUEUED_NODES independent nodes. */
const QUEUED = FULL ? 150 : 30;
const QUEUED_NODES = FULL ? 8 : 4;
/** What a graceful exit may take (the chart's shutdownTimeoutMs). */
const EXIT_LIMIT_MS = 10_000;
/** A standby that finds the lease released campaigns once right after its caches sync; a retry would come 2 s later. */
const FIRST_ATTEMPT_MS = 1_500;

/** What one SIGTERM and the start of a successor showed. */
interface Handover {
  inFlight: number;
  exitCode: number | null;
  exitMs: number;
  /** Pods the stopping leader created after it logged the SIGTERM: its rounds in flight kept going. */
  createdAfterSigterm: number;
  /** Pods the stopping leader created that no status recorded when it had exited: rounds cut short. */
  unrecorded: string[];
  holderAfterExit: string | null | undefined;
  /** From the exit to the successor's "became leader". */
  takeoverMs: number;
  /** From the successor's caches synced to it leading: its first campaign attempt won. */
  firstAttemptMs: number;
  problems: string[];
}

describe('reliability: graceful shutdown', () => {
  // Registered before useTestCluster's own teardown, so it runs first, while the client is still open.
  after(async () => {
    await pods?.stop();
    await wfs?.stop();
    if (current) {
      const stopped = current.stop();
      if (await Promise.race([stopped.then(() => false), sleep(15_000).then(() => true)])) await current.kill();
    }
    for (const p of propellers) await p.kill();
    await rbac?.uninstall();
    await ns?.remove();
  });

  const cluster = useTestCluster();
  let seed = 0;
  let rand: Rand;
  let client: KubeClient;
  let ns: { name: string; remove(): Promise<void> };
  let rbac: ChartRbac;
  let lease: { namespace: string; name: string; durationMs: number };
  let pods: Recorder<Pod>;
  let wfs: Recorder<FlyteWorkflow>;
  const propellers: RunningPropeller[] = [];
  let current: RunningPropeller | undefined;
  const submitted: string[] = [];
  let sigterms = 0;

  /** A propeller as the chart's Deployment runs it, with its own identity (POD_NAME) in the Lease. */
  const start = () => {
    const p = startPropeller({
      kubeconfig: rbac.kubeconfigPath,
      namespaces: [ns.name],
      args: ['--config', rbac.configPath, ...FAST_RETRIES],
      env: { ...rbac.env, POD_NAME: `${rbac.serviceAccount}-${propellers.length}` },
    });
    propellers.push(p);
    return p;
  };
  const holder = async () => (await client.request<Lease>('GET', leasePath(lease.namespace, lease.name)).catch(() => undefined))?.spec.holderIdentity;

  /** SIGTERM the leader, check how it left, start a successor and check how it took over. */
  async function sigtermAndReplace(): Promise<Handover> {
    const old = current!;
    const problems: string[] = [];
    const flying = inFlight(wfs, submitted);
    const sentAt = performance.now();
    sigterms++;
    const exited = old.stop();
    const late = await Promise.race([exited.then(() => false), sleep(EXIT_LIMIT_MS + 5000).then(() => true)]);
    if (late) {
      problems.push(`still running ${EXIT_LIMIT_MS + 5000} ms after SIGTERM; killed`);
      await old.kill();
    }
    const exitCode = await exited;
    const exitMs = performance.now() - sentAt;
    const exitedAt = Date.now();
    await logSettled(old);

    const lines = logLines(logsOf(old));
    const sigterm = lines.findIndex((l) => l.msg.startsWith('shutting down'));
    const createdAfterSigterm = sigterm < 0 ? 0 : lines.slice(sigterm).filter((l) => l.msg === 'created pod').length;
    if (sigterm < 0) problems.push('no "shutting down" log line');
    if (!lines.some((l) => l.msg === 'released the leader lease')) problems.push('no "released the leader lease" log line');
    if (!lines.some((l) => l.msg === 'stopped')) problems.push('no "stopped" log line');
    const cut = lines.find((l) => l.msg.startsWith('rounds in flight did not finish'));
    if (cut) problems.push(`logged "${cut.msg}"`);
    if (exitCode !== 0) problems.push(`exit code ${exitCode}`);
    if (exitMs > EXIT_LIMIT_MS) problems.push(`took ${Math.round(exitMs)} ms to exit`);

    // Nobody writes now: every pod it created must be in a status it wrote (the round that created it ended).
    const list = await client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns.name));
    const unrecorded = unrecordedPods(logsOf(old), list.items);
    if (unrecorded.length) problems.push(`${unrecorded.length} pods it created are in no status: ${unrecorded.slice(0, 5).join(', ')}`);
    const holderAfterExit = await holder();
    if (holderAfterExit) problems.push(`the Lease is still held by ${holderAfterExit}`);

    current = start();
    await waitForLog(current, /"msg":"became leader"/, 30_000);
    const next = logLines(logsOf(current));
    const synced = next.find((l) => l.msg === 'caches synced')!.at;
    const became = next.find((l) => l.msg === 'became leader')!.at;
    const takeoverMs = became - exitedAt;
    const firstAttemptMs = became - synced;
    if (firstAttemptMs > FIRST_ATTEMPT_MS) problems.push(`the successor led ${firstAttemptMs} ms after its caches synced: it had to wait`);
    if (takeoverMs >= lease.durationMs) problems.push(`the successor led ${takeoverMs} ms after the exit, not before the lease (${lease.durationMs} ms) ran out`);
    const h = { inFlight: flying, exitCode, exitMs: Math.round(exitMs), createdAfterSigterm, unrecorded, holderAfterExit, takeoverMs, firstAttemptMs, problems };
    process.stderr.write(`# shutdown: ${JSON.stringify({ ...h, unrecorded: unrecorded.length })}\n`);
    return h;
  }

  /** Resolves the moment the propeller prints a line matching `pattern` (reading its stdout, not polling its log). */
  const onLog = (p: RunningPropeller, pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the propeller did not log ${pattern} within ${timeoutMs} ms:\n${tail(logsOf(p), 20)}`)), timeoutMs);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (pattern.test(out)) {
          clearTimeout(timer);
          p.child.stdout!.off('data', onData);
          resolve();
        }
      };
      p.child.stdout!.on('data', onData);
    });
  const waitUntil = async (what: string, check: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  };
  const handoverNotes = (hs: Handover[]) =>
    `exit after SIGTERM min/median/max ${spread(hs.map((h) => h.exitMs))} ms, all code ${[...new Set(hs.map((h) => h.exitCode))].join('/')}; ` +
    `pods created by rounds in flight after SIGTERM ${hs.map((h) => h.createdAfterSigterm).join(', ')}; lease released each time: ${hs.every((h) => !h.holderAfterExit) ? 'yes' : 'no'}; ` +
    `successor leading ${spread(hs.map((h) => h.takeoverMs))} ms after the exit (lease ${lease.durationMs / 1000} s), ${spread(hs.map((h) => h.firstAttemptMs))} ms after its caches synced`;

  before(async () => {
    seed = seedFor('shutdown');
    rand = rng(seed);
    client = cluster().client;
    ns = await createNamespace(client, 'rel-shutdown');
    rbac = await installChartRbac(cluster(), { watchNamespaces: [ns.name], set: ['replicaCount=2'] });
    const config = parse(await readFile(rbac.configPath, 'utf8')) as { leaderElection: { enabled: boolean; name: string; namespace?: string; leaseDurationMs: number } };
    assert.equal(config.leaderElection.enabled, true, 'replicaCount=2 turns leader election on');
    lease = { namespace: config.leaderElection.namespace || rbac.releaseNamespace, name: config.leaderElection.name, durationMs: config.leaderElection.leaseDurationMs };
    pods = await Recorder.start<Pod>(client, podsPath(ns.name));
    wfs = await Recorder.start<FlyteWorkflow>(client, wfsPath(ns.name));
    current = start();
    await waitForLog(current, /"msg":"reconciling as leader"/, 60_000);
  });

  test(`the leader stopped with SIGTERM ${CYCLES} time(s) while workflows run: exits 0, releases the lease, a successor leads at once`, { timeout: FULL ? 300_000 : 120_000 }, async () => {
    const FAULT = 'Leader propeller stopped with SIGTERM (leader election on), successor started';
    const began = Date.now();
    const sent = sigterms;
    const workloads: Workload[] = [];
    const handovers: Handover[] = [];
    let recorded = false;
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const batch = Array.from({ length: BATCH }, (_, i) => layeredDag(rand, { name: `sd-${cycle}-${i}`, size: NODES, runtime: 'kwok', durationMs: [500, 2500] }));
        workloads.push(...batch);
        await Promise.all(batch.map((w) => createWorkflow(client, ns.name, workflowManifest(w.name, w.spec))));
        submitted.push(...batch.map((w) => w.name));
        // Stop it while it is busy with the new batch: its first rounds are under way once one of them has
        // set its finalizer (they create the first pods next), while the earlier batches still run.
        const names = new Set(batch.map((w) => w.name));
        await waitUntil('the leader to start the new batch', () => [...wfs.current.values()].some((wf) => names.has(wf.metadata.name) && !!wf.metadata.finalizers?.length), 30_000);
        await sleep(between(rand, 0, 300));
        handovers.push(await sigtermAndReplace());
      }
      const names = new Set(workloads.map((w) => w.name));
      const deadline = Date.now() + (FULL ? 150_000 : 90_000);
      while (Date.now() < deadline && inFlight(wfs, names) > 0) await sleep(250);
      await sleep(1500);

      const list = await client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns.name));
      const final = new Map(list.items.map((wf) => [wf.metadata.name, wf]));
      const pf = podFindings(pods, names);
      const changes = outputChanges(wfs, names);
      const checks = workloads.map((w) => workflowProblems(final.get(w.name), w, pf.justifiedRetries));
      const lost = [...checks.flatMap((x) => x.lost), ...changes.problems];
      const rerunByPods = new Set(pf.unjustifiedRetries.map((u) => u.slice(0, u.indexOf('#'))));
      const duplicates = [...pf.duplicates, ...pf.unjustifiedRetries, ...checks.flatMap((x) => x.rerun).filter((r) => !rerunByPods.has(r.slice(0, r.indexOf(':'))))];
      const succeeded = workloads.filter((w) => final.get(w.name)?.status?.phase === 'Succeeded').length;
      const handoverProblems = handovers.flatMap((h, i) => h.problems.map((p) => `SIGTERM ${i + 1}: ${p}`));
      const passed = handovers.length === CYCLES && handoverProblems.length === 0 && lost.length === 0 && duplicates.length === 0;
      recordResult({
        fault: FAULT,
        injected: handovers.length,
        workflows: workloads.length,
        outcome: `${succeeded}/${workloads.length} Succeeded with the expected outputs; ${pf.pods} pods for ${workloads.length * NODES} nodes; ${handovers.length - handovers.filter((h) => h.problems.length).length}/${handovers.length} clean handovers`,
        lost: lost.length,
        duplicates: duplicates.length,
        passed,
        notes:
          `workflows in flight at each SIGTERM ${handovers.map((h) => h.inFlight).join(', ')}; ${handoverNotes(handovers)}; ` +
          `${changes.versions} workflow versions checked; ${BATCH} random ${NODES}-node DAGs per SIGTERM; seed ${seed}; ${((Date.now() - began) / 1000).toFixed(0)} s`,
      });
      recorded = true;
      const show = (xs: string[]) => xs.slice(0, 15).join('\n  ') + (xs.length > 15 ? `\n  … and ${xs.length - 15} more` : '');
      assert.deepEqual(handoverProblems, [], `every SIGTERM must end in a clean exit and an immediate takeover:\n  ${show(handoverProblems)}`);
      assert.deepEqual(pf.duplicates, [], `no (workflow, node, attempt) may have two pods:\n  ${show(pf.duplicates)}`);
      assert.deepEqual(duplicates, [], `no task may run again without a real pod failure:\n  ${show(duplicates)}`);
      assert.deepEqual(lost, [], `every workflow must succeed with its outputs:\n  ${show(lost)}`);
    } catch (err) {
      if (!recorded) {
        recordAborted({ fault: FAULT, injected: sigterms - sent, workflows: workloads.length, seed }, err);
      }
      if (current) process.stderr.write(`# current propeller log:\n${tail(logsOf(current), 30)}\n`);
      throw err;
    }
  });

  test(`SIGTERM while a round creates a ${FANOUT}-pod fan-out: the round finishes, and after the restart no (node, attempt) has two pods`, { timeout: 180_000 }, async () => {
    const FAULT = `Leader propeller stopped with SIGTERM while one round creates ${FANOUT} pods`;
    const began = Date.now();
    const sent = sigterms;
    const name = 'fanout';
    const handovers: Handover[] = [];
    let recorded = false;
    try {
      const ids = Array.from({ length: FANOUT }, (_, i) => i);
      const values = ids.map(() => intBetween(rand, 0, 1_000_000));
      const nodes: Record<string, unknown> = Object.fromEntries(
        ids.map((i) => [`f${i}`, { task: 'leaf', inputs: { v: { value: values[i] }, d: { value: `${Math.round(between(rand, 1000, 3000))}ms` } } }]),
      );
      nodes['gather'] = { task: 'gather', inputs: { xs: { list: ids.map((i) => ({ from: `f${i}.o0` })) } } };
      const spec = {
        interface: { outputs: { all: 'list[int]' } },
        tasks: {
          leaf: kwokStep({ v: 'int', d: 'str' }, { o0: 'int' }, '{"o0": {{.inputs.v}}}', '{{.inputs.d}}'),
          gather: kwokStep({ xs: 'list[int]' }, { o0: 'list[int]' }, '{"o0": {{.inputs.xs}}}', '500ms'),
        },
        nodes,
        outputs: { all: { from: 'gather.o0' } },
        // Every leaf starts in the first round: one round creates them all.
        maxParallelism: 0,
        pod: KWOK_POD,
      };
      // SIGTERM as soon as the first round is under way: it has set the finalizer or created a first pod.
      let started = false;
      wfs.onEvent((e) => {
        if (e.object.metadata.name === name && e.object.metadata.finalizers?.length) started = true;
      });
      pods.onEvent((e) => {
        if (e.object.metadata.annotations?.[L.workflow] === name) started = true;
      });
      await createWorkflow(client, ns.name, workflowManifest(name, spec));
      submitted.push(name);
      await waitUntil('the fan-out round to start', () => started, 30_000);
      const h = await sigtermAndReplace();
      handovers.push(h);

      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && !isFinished(wfs.current.get(name))) await sleep(250);
      await sleep(1500);
      const wf = await client.request<FlyteWorkflow>('GET', `${wfsPath(ns.name)}/${name}`);
      const pf = podFindings(pods, new Set([name]));
      const changes = outputChanges(wfs, new Set([name]));
      const lost = [
        ...(wf.status?.phase === 'Succeeded' ? [] : [`${name}: ended ${wf.status?.phase}: ${wf.status?.message}`]),
        ...(JSON.stringify(wf.status?.outputs) === JSON.stringify({ all: values }) ? [] : [`${name}: outputs ${JSON.stringify(wf.status?.outputs).slice(0, 200)}…`]),
        ...changes.problems,
      ];
      const rerun = Object.entries(wf.status?.nodes ?? {}).filter(([n, s]) => s.attempts !== 1 && !pf.justifiedRetries.has(`${name}/${n}`)).map(([n, s]) => `${n}: ${s.attempts} attempts`);
      const duplicates = [...pf.duplicates, ...(pf.unjustifiedRetries.length ? pf.unjustifiedRetries : rerun)];
      const passed = h.problems.length === 0 && h.createdAfterSigterm > 0 && lost.length === 0 && duplicates.length === 0 && pf.pods === FANOUT + 1;
      recordResult({
        fault: FAULT,
        injected: 1,
        workflows: 1,
        outcome: `${wf.status?.phase}; ${h.createdAfterSigterm} of the pods created after the SIGTERM by the round in flight, which ${h.unrecorded.length ? `left ${h.unrecorded.length} unrecorded` : 'recorded them all'}; ${pf.pods} pods for ${FANOUT + 1} nodes`,
        lost: lost.length,
        duplicates: duplicates.length,
        passed,
        notes: `${handoverNotes(handovers)}; seed ${seed}; ${((Date.now() - began) / 1000).toFixed(0)} s`,
      });
      recorded = true;
      assert.deepEqual(h.problems, [], 'a clean exit and an immediate takeover');
      assert.ok(h.createdAfterSigterm > 0, 'the SIGTERM landed while the round was creating pods (it went on creating them)');
      assert.deepEqual(pf.duplicates, [], 'no (node, attempt) had two pods');
      assert.deepEqual(duplicates, [], 'no task ran twice');
      assert.deepEqual(lost, [], 'the fan-out succeeded with every value');
      assert.equal(pf.pods, FANOUT + 1, 'one pod per node');
    } catch (err) {
      if (!recorded) {
        recordAborted({ fault: FAULT, injected: sigterms - sent, workflows: 1, seed }, err);
      }
      if (current) process.stderr.write(`# current propeller log:\n${tail(logsOf(current), 30)}\n`);
      throw err;
    }
  });

  test('SIGTERM while a propeller is winning the lease: it does not leave the lease held', { timeout: 180_000 }, async () => {
    const FAULT = 'Propeller stopped with SIGTERM while it acquires the leader lease';
    const TRIALS = FULL ? 10 : 3;
    const sent = sigterms;
    const trials: { delayMs: number; exitCode: number | null; leftHeld: boolean; won: boolean }[] = [];
    let recorded = false;
    try {
      // The lease is free: the leader hands it over cleanly (the tests above check that part).
      const leader = current!;
      current = undefined;
      sigterms++;
      assert.equal(await leader.stop(), 0);
      for (let i = 0; i < TRIALS; i++) {
        const identity = `${rbac.serviceAccount}-${propellers.length}`;
        const p = start();
        // Right after its caches sync it campaigns: one GET and one write of the Lease, a few ms.
        await onLog(p, /"msg":"caches synced"/);
        const delayMs = Math.round(between(rand, 0, 15));
        if (delayMs) await sleep(delayMs);
        sigterms++;
        const exitCode = await p.stop();
        await logSettled(p);
        const leftHeld = (await holder()) === identity;
        const lines = logLines(logsOf(p));
        const became = lines.some((l) => l.msg === 'became leader');
        const released = lines.some((l) => l.msg === 'released the leader lease');
        trials.push({ delayMs, exitCode, leftHeld, won: leftHeld || (released && !became) });
        // A lease left behind would make every later start wait for it to expire: clear it.
        if (leftHeld) await client.request('DELETE', leasePath(lease.namespace, lease.name));
      }
      // A propeller started now leads at once and finds nothing to do wrong.
      current = start();
      await waitForLog(current, /"msg":"became leader"/, 30_000);
      process.stderr.write(`# campaign: ${JSON.stringify(trials)}\n`);

      const held = trials.filter((t) => t.leftHeld).length;
      const badExits = trials.filter((t) => t.exitCode !== 0).length;
      const passed = held === 0 && badExits === 0;
      recordResult({
        fault: FAULT,
        injected: trials.length,
        workflows: 0,
        outcome: `${held}/${trials.length} SIGTERMs left the Lease held by the exited process (a successor then waits out the ${lease.durationMs / 1000} s lease); ${trials.filter((t) => t.won).length} landed while the winning attempt was in flight; exit codes ${[...new Set(trials.map((t) => t.exitCode))].join('/')}`,
        lost: 0,
        duplicates: 0,
        passed,
        notes: `SIGTERM 0–15 ms after "caches synced", when the lease is free; seed ${seed}`,
      });
      recorded = true;
      assert.equal(badExits, 0, `every exit is clean: ${JSON.stringify(trials)}`);
      assert.equal(held, 0, `a propeller stopped while acquiring the lease must not leave it held: ${JSON.stringify(trials)}`);
    } catch (err) {
      if (!recorded) {
        recordAborted({ fault: FAULT, injected: sigterms - sent, workflows: 0, seed }, err);
      }
      throw err;
    }
  });

  test(`SIGTERM with ${QUEUED} workflows waiting in the work queue: only the rounds in flight finish, the exit is clean and quick`, { timeout: 300_000 }, async () => {
    const FAULT = `Leader propeller stopped with SIGTERM with ${QUEUED} workflows waiting in its work queue`;
    const began = Date.now();
    const sent = sigterms;
    const workers = (parse(await readFile(rbac.configPath, 'utf8')) as { workers: number }).workers;
    const names = Array.from({ length: QUEUED }, (_, i) => `q-${i}`);
    const values = new Map(names.map((n) => [n, Array.from({ length: QUEUED_NODES }, () => intBetween(rand, 0, 1_000_000))]));
    let recorded = false;
    const handovers: Handover[] = [];
    try {
      // No leader while they arrive, so the next one starts with every one of them in its queue (as after
      // any restart, when it queues every workflow it finds).
      const leader = current!;
      current = undefined;
      sigterms++;
      assert.equal(await leader.stop(), 0);
      await Promise.all(
        names.map((name) =>
          createWorkflow(
            client,
            ns.name,
            workflowManifest(name, {
              interface: { outputs: { all: 'list[int]' } },
              tasks: { leaf: kwokStep({ v: 'int' }, { o0: 'int' }, '{"o0": {{.inputs.v}}}', '1s') },
              nodes: Object.fromEntries(values.get(name)!.map((v, i) => [`l${i}`, { task: 'leaf', inputs: { v: { value: v } } }])),
              outputs: { all: { list: values.get(name)!.map((_, i) => ({ from: `l${i}.o0` })) } },
              maxParallelism: 0,
              pod: KWOK_POD,
            }),
          ),
        ),
      );
      submitted.push(...names);
      current = start();
      await onLog(current, /"msg":"reconciling as leader"/);
      await sleep(200); // its first rounds are under way
      const h = await sigtermAndReplace();
      handovers.push(h);
      const old = propellers[propellers.length - 2]!;
      const lines = logLines(logsOf(old));
      const sigterm = lines.findIndex((l) => l.msg.startsWith('shutting down'));
      // Each worker may finish the round it had; a workflow touched after the SIGTERM beyond those is a new round.
      const touchedAfter = new Set(lines.slice(Math.max(0, sigterm)).filter((l) => l.msg === 'created pod').map((l) => String(l['workflow'])));
      const touchedBefore = new Set(lines.slice(0, Math.max(0, sigterm)).filter((l) => l.msg === 'created pod').map((l) => String(l['workflow'])));

      const set = new Set(names);
      const deadline = Date.now() + 180_000;
      while (Date.now() < deadline && inFlight(wfs, set) > 0) await sleep(250);
      await sleep(1500);
      const list = await client.request<{ items: FlyteWorkflow[] }>('GET', wfsPath(ns.name));
      const final = new Map(list.items.map((wf) => [wf.metadata.name, wf]));
      const pf = podFindings(pods, set);
      const changes = outputChanges(wfs, set);
      const lost = [
        ...names.filter((n) => final.get(n)?.status?.phase !== 'Succeeded' || canonical(final.get(n)?.status?.outputs) !== canonical({ all: values.get(n) })).map((n) => `${n}: ${final.get(n)?.status?.phase} ${canonical(final.get(n)?.status?.outputs)}`),
        ...changes.problems,
      ];
      const duplicates = [...pf.duplicates, ...pf.unjustifiedRetries];
      const newRounds = Math.max(0, touchedAfter.size - workers);
      const passed = h.problems.length === 0 && newRounds === 0 && lost.length === 0 && duplicates.length === 0;
      recordResult({
        fault: FAULT,
        injected: 1,
        workflows: QUEUED,
        outcome:
          `exit code ${h.exitCode} after ${h.exitMs} ms; after the SIGTERM it created pods for ${touchedAfter.size} workflows (${workers} workers; ${touchedBefore.size} before it); ` +
          `${h.holderAfterExit ? 'lease left held' : 'lease released'}; ${QUEUED - lost.filter((l) => !l.includes(' at rv ')).length}/${QUEUED} Succeeded; ${pf.pods} pods for ${QUEUED * QUEUED_NODES} nodes`,
        lost: lost.length,
        duplicates: duplicates.length,
        passed,
        notes: `${QUEUED} workflows of ${QUEUED_NODES} independent KWOK nodes queued before the leader started, SIGTERM 200 ms after it began leading; successor leading ${h.takeoverMs} ms after the exit; plus 1 graceful stop to free the lease first; seed ${seed}; ${((Date.now() - began) / 1000).toFixed(0)} s`,
      });
      recorded = true;
      assert.deepEqual(h.problems, [], 'a clean exit within the timeout, the lease released, an immediate takeover');
      assert.ok(newRounds === 0, `after SIGTERM only the ${workers} rounds in flight may go on, but it created pods for ${touchedAfter.size} workflows`);
      assert.deepEqual(duplicates, [], 'no (node, attempt) had two pods, no task ran twice');
      assert.deepEqual(lost, [], 'every workflow succeeded with its values');
    } catch (err) {
      if (!recorded) {
        recordAborted({ fault: FAULT, injected: sigterms - sent - 1, workflows: QUEUED, seed }, err);
      }
      throw err;
    }
  });
});

/** A KWOK task: its outputs are `message` and it runs for `duration`, both rendered from its inputs. */
function kwokStep(inputs: Record<string, string>, outputs: Record<string, string>, message: string, duration: string) {
  return {
    version: '1',
    interface: { inputs, outputs },
    container: { image: 'kwok', command: ['/bin/true'], env: [{ name: 'KWOK_DURATION', value: duration }, { name: 'KWOK_MESSAGE', value: message }] },
  };
}

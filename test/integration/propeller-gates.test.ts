// Gate nodes end to end: approvals and signals sent with kubectl or the API (before the gate is reached and
// after), refused signals, rejections and sleeps, with the Events each decision records.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinaries } from '../../tools/controlplane/build.ts';
import { assertOnePodEach, eventsOf, kubectl, ms, splitCommand, waitForEvent, workflowPods } from './helpers/control-flow.ts';
import { expectPhase, explain, nodeStatus, patchWorkflow, pyTask, submit, usePropellerEnv, waitForWorkflow, type Env } from './helpers/e2e.ts';
import { getWorkflow } from './helpers/workflows.ts';

const train = pyTask('time.sleep(0.3)\nout["score"] = round(sum(inp["xs"]) / len(inp["xs"]), 3)', { inputs: { xs: 'list[float]' }, outputs: { score: 'float' } });
const deploy = pyTask('out["msg"] = "deployed model with score %.3f" % inp["score"]', { inputs: { score: 'float' }, outputs: { msg: 'str' } });
const scale = pyTask('out["replicas"] = inp["n"] * 10', { inputs: { n: 'int' }, outputs: { replicas: 'int' } });

/** train → review (approve, passes the score through) → deploy. */
const approveSpec = {
  interface: { inputs: { xs: 'list[float]' }, outputs: { msg: 'str' } },
  inputs: { xs: [0.5, 0.75, 1] },
  tasks: { train, deploy },
  nodes: {
    train: { task: 'train', inputs: { xs: { from: 'inputs.xs' } } },
    review: { gate: { approve: { description: 'check the score' } }, inputs: { score: { from: 'train.score' } } },
    deploy: { task: 'deploy', inputs: { score: { from: 'review.score' } } },
  },
  outputs: { msg: { from: 'deploy.msg' } },
};

/** Waits until the gate at `path` waits, and returns its message (which holds the kubectl command). */
function waitingGate(env: Env, name: string, path: string): Promise<string> {
  return waitForWorkflow(env, name, `gate ${path} to wait`, (wf) => {
    const n = wf.status?.nodes?.[path];
    return n?.phase === 'Running' && n.message?.startsWith('waiting for ') ? n.message : undefined;
  }, 30_000);
}

/** The kubectl command a waiting gate's message documents, checked word for word. */
function documentedCommand(env: Env, name: string, path: string, message: string, payload: string): string[] {
  const at = message.indexOf('kubectl ');
  assert.ok(at > 0, `the message holds a kubectl command: ${message}`);
  const words = splitCommand(message.slice(at));
  assert.deepEqual(words, ['kubectl', '-n', env.ns, 'patch', 'fwf', name, '--type', 'merge', '-p', `{"spec":{"signals":{${JSON.stringify(path)}:${payload}}}}`]);
  return words.slice(1);
}

describe('propeller gate nodes', { concurrency: true }, () => {
  const env = usePropellerEnv('gates');
  let kubectlPath: string | undefined;
  before(async () => {
    kubectlPath = process.env['PROPELLER_TEST_KUBECTL'] ?? (await ensureBinaries({ only: ['kubectl'] }))['kubectl'];
  });

  test('approve with the kubectl command from the waiting message: the inputs pass through, GateApproved', { timeout: 60_000 }, async () => {
    const name = 'approve';
    const pods = await workflowPods(env(), name);
    try {
      await submit(env(), name, approveSpec);
      const message = await waitingGate(env(), name, 'review');
      const waiting = await getWorkflow(env().client, env().ns, name);
      await explain(env(), name, async () => {
        assert.equal(message.slice(0, message.indexOf(': kubectl')), 'waiting for approval (check the score)');
        assert.equal(waiting.status?.phase, 'Running');
        assert.match(waiting.status?.message ?? '', /^1\/3 nodes succeeded, 1 waiting \(review\)$/);
        assert.equal(nodeStatus(waiting.status, 'deploy').phase, 'Pending');
      });
      // Nothing moves while nobody decides.
      await sleep(1000);
      const still = await getWorkflow(env().client, env().ns, name);
      assert.equal(nodeStatus(still.status, 'review').phase, 'Running');
      assert.equal(nodeStatus(still.status, 'deploy').phase, 'Pending');

      const args = documentedCommand(env(), name, 'review', message, '{"approved":true}');
      const out = await kubectl(env(), kubectlPath, args);
      assert.match(out, new RegExp(`flyteworkflow.flyte.propeller.dev/${name} patched`));
      const wf = await expectPhase(env(), name, 'Succeeded', 30_000);
      await explain(env(), name, async () => {
        assert.deepEqual(wf.status?.outputs, { msg: 'deployed model with score 0.750' });
        const review = nodeStatus(wf.status, 'review');
        assert.equal(review.phase, 'Succeeded');
        assert.deepEqual(review.outputs, { score: 0.75 }, 'the approved gate passes its inputs through');
        assert.equal(review.gate?.decision, 'Approved');
        assert.equal(review.message, 'approved');
        assert.ok(ms(nodeStatus(wf.status, 'deploy').startedAt) >= ms(review.gate?.at));
        assert.equal(wf.status?.progress, '3/3');
        await assertOnePodEach(env(), name, pods, ['train', 'deploy']);
      });
      await waitForEvent(env(), name, 'GateApproved', /^node review: approved$/);
    } finally {
      await pods.stop();
    }
  });

  test('reject with a reason: the workflow fails with GateRejected, deploy never runs', { timeout: 60_000 }, async () => {
    const name = 'reject';
    const pods = await workflowPods(env(), name);
    try {
      await submit(env(), name, approveSpec);
      await waitingGate(env(), name, 'review');
      await kubectl(env(), kubectlPath, ['-n', env().ns, 'patch', 'fwf', name, '--type', 'merge', '-p', '{"spec":{"signals":{"review":{"approved":false,"reason":"accuracy dropped"}}}}']);
      const wf = await expectPhase(env(), name, 'Failed', 30_000);
      await explain(env(), name, async () => {
        assert.deepEqual(wf.status?.error, { kind: 'User', code: 'GateRejected', node: 'review', message: 'node "review" failed: rejected: accuracy dropped' });
        const review = nodeStatus(wf.status, 'review');
        assert.equal(review.phase, 'Failed');
        assert.equal(review.gate?.decision, 'Rejected');
        assert.equal(review.gate?.detail, 'accuracy dropped');
        assert.equal(nodeStatus(wf.status, 'deploy').phase, 'Skipped');
        await assertOnePodEach(env(), name, pods, ['train']);
      });
      await waitForEvent(env(), name, 'GateRejected', /^node review: rejected: accuracy dropped$/);
      await waitForEvent(env(), name, 'Failed', /rejected: accuracy dropped/);
      const reasons = (await eventsOf(env(), name)).map((e) => e.reason);
      assert.ok(!reasons.includes('GateApproved'), `no approval was recorded: ${reasons.join(', ')}`);
    } finally {
      await pods.stop();
    }
  });

  test('a signal set when the workflow is created is used when the gate is reached', { timeout: 60_000 }, async () => {
    const name = 'signal-early';
    const pods = await workflowPods(env(), name);
    try {
      await submit(env(), name, {
        interface: { outputs: { replicas: 'int' } },
        tasks: { slow: pyTask('time.sleep(1)\nout["ok"] = True', { outputs: { ok: 'bool' } }), scale },
        nodes: {
          slow: { task: 'slow' },
          level: { gate: { signal: { type: 'int', description: 'how many replicas' } }, after: ['slow'] },
          scale: { task: 'scale', inputs: { n: { from: 'level.value' } } },
        },
        outputs: { replicas: { from: 'scale.replicas' } },
        signals: { level: { value: 4 } },
      });
      const wf = await expectPhase(env(), name, 'Succeeded', 30_000);
      await explain(env(), name, async () => {
        assert.deepEqual(wf.status?.outputs, { replicas: 40 });
        const level = nodeStatus(wf.status, 'level');
        assert.deepEqual(level.outputs, { value: 4 });
        assert.equal(level.gate?.decision, 'Received');
        assert.ok(ms(level.gate?.at) >= ms(nodeStatus(wf.status, 'slow').finishedAt), 'the signal was taken only once the gate was reached');
        await assertOnePodEach(env(), name, pods, ['slow', 'scale']);
      });
      await waitForEvent(env(), name, 'SignalReceived', /^node level: received int 4$/);
    } finally {
      await pods.stop();
    }
  });

  test('a signal sent while the gate waits, to a gate inside a subworkflow (keyed by its path)', { timeout: 60_000 }, async () => {
    const name = 'signal-late';
    await submit(env(), name, {
      interface: { outputs: { replicas: 'int' } },
      subworkflows: {
        rollout: {
          interface: { outputs: { replicas: 'int' } },
          nodes: {
            level: { gate: { signal: { type: 'int' } } },
            scale: { task: 'scale', inputs: { n: { from: 'level.value' } } },
          },
          outputs: { replicas: { from: 'scale.replicas' } },
        },
      },
      tasks: { scale },
      nodes: { prod: { subworkflow: 'rollout' } },
      outputs: { replicas: { from: 'prod.replicas' } },
    });
    const message = await waitingGate(env(), name, 'prod/level');
    await explain(env(), name, async () => {
      assert.match(message, /^waiting for a value of type int: kubectl /);
      const wf = await getWorkflow(env().client, env().ns, name);
      assert.match(wf.status?.message ?? '', /1 waiting \(prod\/level\)/);
    });
    const args = documentedCommand(env(), name, 'prod/level', message, '{"value":...}');
    args[args.length - 1] = args.at(-1)!.replace('...', '7');
    await kubectl(env(), kubectlPath, args);
    const wf = await expectPhase(env(), name, 'Succeeded', 30_000);
    await explain(env(), name, () => {
      assert.deepEqual(wf.status?.outputs, { replicas: 70 });
      assert.equal(nodeStatus(wf.status, 'prod/level').gate?.decision, 'Received');
    });
    await waitForEvent(env(), name, 'SignalReceived', /^node prod\/level: received int 7$/);
  });

  test('a wrong-type signal is refused once (SignalRefused), the gate keeps waiting, and a correct value passes', { timeout: 60_000 }, async () => {
    const name = 'signal-refused';
    await submit(env(), name, {
      interface: { outputs: { replicas: 'int' } },
      tasks: { scale },
      nodes: {
        level: { gate: { signal: { type: 'int' } } },
        scale: { task: 'scale', inputs: { n: { from: 'level.value' } } },
      },
      outputs: { replicas: { from: 'scale.replicas' } },
    });
    await waitingGate(env(), name, 'level');
    await patchWorkflow(env(), name, { spec: { signals: { level: { value: 'three' } } } });
    const refused = await waitForWorkflow(env(), name, 'the signal to be refused', (wf) => (wf.status?.nodes?.['level']?.gate?.decision === 'Refused' ? wf : undefined));
    await explain(env(), name, () => {
      const level = nodeStatus(refused.status, 'level');
      assert.equal(level.phase, 'Running', 'the gate keeps waiting');
      assert.match(level.gate?.detail ?? '', /expected int, got str "three"/);
      assert.match(level.message ?? '', /^signal refused: .*still waiting/);
      assert.equal(refused.status?.phase, 'Running');
    });
    await waitForEvent(env(), name, 'SignalRefused', /^node level: signal refused: the value does not fit: .*"three"/);

    // More rounds (a spec change bumps the generation) must not repeat the event.
    const bumped = await patchWorkflow(env(), name, { spec: { description: 'a spec change, for another round' } });
    await waitForWorkflow(env(), name, 'a round on the new generation', (wf) => (wf.status?.observedGeneration ?? 0) >= (bumped.metadata.generation ?? Infinity));
    await sleep(1000); // a bounded quiet period before the negative check
    const count = async (reason: string) => (await eventsOf(env(), name)).filter((e) => e.reason === reason).length;
    assert.equal(await count('SignalRefused'), 1, 'one SignalRefused event for one refusal');
    assert.equal(nodeStatus((await getWorkflow(env().client, env().ns, name)).status, 'level').phase, 'Running');

    // A different mistake is a new refusal, said once more.
    await patchWorkflow(env(), name, { spec: { signals: { level: { value: null, approved: true } } } });
    await waitForEvent(env(), name, 'SignalRefused', /not an approval/);
    await patchWorkflow(env(), name, { spec: { signals: { level: { approved: null, value: 3 } } } });
    const wf = await expectPhase(env(), name, 'Succeeded', 30_000);
    await explain(env(), name, async () => {
      assert.deepEqual(wf.status?.outputs, { replicas: 30 });
      const level = nodeStatus(wf.status, 'level');
      assert.equal(level.gate?.decision, 'Received');
      assert.deepEqual(level.outputs, { value: 3 });
      await waitForEvent(env(), name, 'SignalReceived', /^node level: received int 3$/);
      assert.deepEqual(
        (await eventsOf(env(), name)).filter((e) => e.reason === 'SignalRefused' || e.reason === 'SignalReceived').map((e) => e.reason),
        ['SignalRefused', 'SignalRefused', 'SignalReceived'],
      );
    });
  });

  test('a sleep gate holds its downstream for at least its duration', { timeout: 60_000 }, async () => {
    const name = 'nap';
    const started = Date.now();
    await submit(env(), name, {
      interface: { outputs: { r: 'int' } },
      tasks: { one: pyTask('out["o"] = 1', { outputs: { o: 'int' } }), scale },
      nodes: {
        one: { task: 'one' },
        nap: { gate: { sleep: '3s' }, after: ['one'] },
        scale: { task: 'scale', inputs: { n: { from: 'one.o' } }, after: ['nap'] },
      },
      outputs: { r: { from: 'scale.replicas' } },
    });
    const sleeping = await waitingGateSleep(env(), name);
    const wf = await expectPhase(env(), name, 'Succeeded', 30_000);
    const elapsed = Date.now() - started;
    await explain(env(), name, () => {
      assert.match(sleeping, /^sleeping until \d{4}-\d\d-\d\dT/);
      assert.deepEqual(wf.status?.outputs, { r: 10 });
      const nap = nodeStatus(wf.status, 'nap');
      const slept = ms(nap.finishedAt) - ms(nap.startedAt);
      assert.ok(slept >= 3000, `the gate slept ${slept} ms, less than 3 s`);
      assert.ok(slept < 6000, `the gate slept ${slept} ms: woken late`);
      const held = ms(nodeStatus(wf.status, 'scale').startedAt) - ms(nodeStatus(wf.status, 'one').finishedAt);
      assert.ok(held >= 3000, `scale started ${held} ms after one finished`);
      assert.ok(elapsed >= 3000, `the workflow took ${elapsed} ms`);
      assert.equal(nap.gate, undefined, 'a sleep makes no decision');
    });
  });
});

function waitingGateSleep(env: Env, name: string): Promise<string> {
  return waitForWorkflow(env, name, 'the sleep gate to sleep', (wf) => {
    const n = wf.status?.nodes?.['nap'];
    return n?.phase === 'Running' && n.message ? n.message : undefined;
  });
}

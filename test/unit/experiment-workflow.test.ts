/**
 * Workflow logic under the real time-skipping test server. The activities here are plain functions
 * recording what the workflow asked for (the Temporal way of unit-testing a workflow); the real
 * activities are tested against real servers in test/integration.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { useTimeSkippingEnv } from '../helpers/temporal.js';
import { runWorkflow, seed, opts, fakeActivities, callsWithFirstInject, type Calls } from '../helpers/workflow.js';
import type { ExperimentSpec, RunOptions } from '../../config/spec.js';
import type { TempestActivities } from '../../activities/types.js';
import { abortSignal, pauseSignal, resumeSignal, statusQuery } from '../../workflows/experiment.js';

const testEnv = useTimeSkippingEnv();

const run = (spec: ExperimentSpec, options: RunOptions, acts: TempestActivities, during?: (h: WorkflowHandle) => Promise<void>) =>
  runWorkflow(testEnv(), spec, options, acts, during);

test('seed pod-delete: 60 s / 10 s gives 6 rounds, continuous probe, revert verified, Pass', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const t0 = Date.now();
  const r = await run(seed(), opts(), fakeActivities(calls));
  expect(r.verdict).toBe('Pass');
  expect(calls.injected).toBe(6);
  expect(calls.reverted).toBe(1);
  expect(r.faults[0]).toMatchObject({ name: 'pod-delete', state: 'reverted', rounds: 6 });
  expect(r.probes[0]).toMatchObject({ name: 'api-gateway-health-check', status: 'Passed' });
  expect(r.probes[0].runs).toBeGreaterThan(5);
  expect(r.probeSuccessPercentage).toBe(100);
  // revert comes after the last injection, and the result is published last
  expect(calls.log.lastIndexOf('revert:pod-delete')).toBeGreaterThan(calls.log.lastIndexOf('inject:pod-delete:5'));
  expect(calls.log[calls.log.length - 1]).toBe('publish');
  // time-skipping: 60 s of chaos took far less wall time (not a benchmark: a generous bound)
  expect(Date.now() - t0).toBeLessThan(30_000);
});

test('a failing continuous probe gives Fail with the reason, and the fault is still reverted', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  let n = 0;
  const acts = fakeActivities(calls, {
    async runProbe(p) {
      n++;
      const ok = n < 3;
      return {
        name: p.name,
        type: p.type,
        mode: p.mode,
        phase: 'Continuous',
        iteration: n,
        status: ok ? 'Passed' : 'Failed',
        failureKind: 'criteria',
        reason: ok ? 'ok' : 'response code 503 is not == 200',
        attempts: 3,
        durationMs: 1,
        at: new Date().toISOString(),
      };
    },
  });
  const r = await run(seed(), opts(), acts);
  expect(r.verdict).toBe('Fail');
  expect(r.reason).toContain('503');
  expect(r.probeSuccessPercentage).toBe(0);
  expect(calls.reverted).toBe(1);
});

test('stopOnFailure stops the chaos at once: fewer rounds, reverted, Fail', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const spec = seed();
  spec.faults[0].probes[0].runProperties.stopOnFailure = true;
  let n = 0;
  const acts = fakeActivities(calls, {
    async runProbe(p) {
      n++;
      return {
        name: p.name,
        type: p.type,
        mode: p.mode,
        phase: 'Continuous',
        iteration: n,
        status: n >= 4 ? 'Failed' : 'Passed',
        reason: n >= 4 ? 'down' : 'ok',
        attempts: 1,
        durationMs: 1,
        at: new Date().toISOString(),
      };
    },
  });
  const r = await run(spec, opts(), acts);
  expect(r.verdict).toBe('Fail');
  expect(r.reason).toContain('stopOnFailure');
  expect(calls.injected).toBeLessThan(6);
  expect(calls.reverted).toBe(1);
});

test('abort mid-chaos: reverted, verdict Aborted with the reason', async () => {
  // No status-query polling in time-skipping tests: the recording activity says when chaos runs.
  const calls = callsWithFirstInject();
  const r = await run(seed(), opts(), fakeActivities(calls), async (h) => {
    await calls.firstInject;
    await h.signal(abortSignal, 'pager went off');
  });
  expect(r.verdict).toBe('Aborted');
  expect(r.reason).toBe('pager went off');
  expect(calls.reverted).toBe(1);
  expect(calls.injected).toBeLessThan(6);
});

test('a failed safety guard aborts before anything is injected', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const acts = fakeActivities(
    calls,
    {
      async runGuard(g) {
        return { name: g.name, type: 'pagerduty', passed: false, reason: '2 active incident(s)' };
      },
    },
    { guards: [{ type: 'pagerduty', name: 'incidents' }] },
  );
  const r = await run(seed(), opts(), acts);
  expect(r.verdict).toBe('Aborted');
  expect(r.reason).toContain('incidents (2 active incident(s))');
  expect(calls.injected).toBe(0);
  expect(calls.reverted).toBe(0);
});

test('a revert that fails verification is retried until verified', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  let attempts = 0;
  const acts = fakeActivities(calls, {
    async revertFault() {
      attempts++;
      if (attempts < 4) throw ApplicationFailure.create({ type: 'NotYetClean', message: `1/3 ready (attempt ${attempts})` });
      return { undone: [], verification: '3/3 ready', at: new Date().toISOString() };
    },
  });
  const r = await run(seed(), opts(), acts);
  expect(attempts).toBe(4);
  expect(r.faults[0].state).toBe('reverted');
  expect(r.verdict).toBe('Pass');
});

test('a non-retryable injection error gives Error, and the recorded revert still runs', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const acts = fakeActivities(calls, {
    async injectFault() {
      throw ApplicationFailure.create({ type: 'Forbidden', message: 'pods "x" is forbidden: cannot delete', nonRetryable: true });
    },
  });
  const r = await run(seed(), opts(), acts);
  expect(r.verdict).toBe('Error');
  expect(r.reason).toContain('forbidden');
  expect(calls.reverted).toBe(1); // recorded before the inject was attempted
});

test('SOT probe failing means no chaos and verdict Fail', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const spec = seed();
  spec.faults[0].probes[0].mode = 'SOT';
  const acts = fakeActivities(calls, {
    async runProbe(p) {
      return {
        name: p.name,
        type: p.type,
        mode: p.mode,
        phase: 'SOT',
        iteration: 0,
        status: 'Failed',
        reason: 'connection refused',
        attempts: 3,
        durationMs: 1,
        at: new Date().toISOString(),
      };
    },
  });
  const r = await run(spec, opts(), acts);
  expect(r.verdict).toBe('Fail');
  expect(r.reason).toContain('steady state');
  expect(calls.injected).toBe(0);
});

test('dry run injects nothing and still checks probes', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const r = await run(seed(), opts({ dryRun: true }), fakeActivities(calls));
  expect(r.verdict).toBe('Pass');
  expect(r.dryRun).toBe(true);
  expect(calls.injected).toBe(0);
  expect(calls.log).toContain('probe:api-gateway-health-check');
});

test('rollback trigger breach stops chaos early with the trigger recorded', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  let n = 0;
  const acts = fakeActivities(
    calls,
    {
      async evaluateTriggers() {
        n++;
        return n >= 3 ? { name: 'p95-latency', query: 'x', value: 2.4, criteria: '>=', threshold: '2', at: new Date().toISOString() } : null;
      },
    },
    { triggers: [{ name: 'p95-latency', query: 'x', criteria: '>=', threshold: '2' }], triggerPollMs: 5000 },
  );
  const r = await run(seed(), opts(), acts);
  expect(r.verdict).toBe('Fail');
  expect(r.breach).toMatchObject({ name: 'p95-latency', value: 2.4 });
  expect(calls.reverted).toBe(1);
  expect(calls.injected).toBeLessThan(6);
});

test('pause holds further rounds; resume continues; status reports it', async () => {
  const calls = callsWithFirstInject();
  let pausedRounds = -1;
  const r = await run(seed(), opts(), fakeActivities(calls), async (h) => {
    await calls.firstInject;
    await h.signal(pauseSignal);
    await testEnv().sleep(1000); // let the signal land (skipped time)
    pausedRounds = calls.injected;
    await testEnv().sleep(30_000); // 3 intervals in skipped time: no new round while paused
    expect(calls.injected).toBe(pausedRounds);
    const s1 = await h.query(statusQuery); // the workflow is idle here: one query, no race with a task
    expect(s1.paused).toBe(true);
    expect(s1.phase).toBe('chaos');
    await h.signal(resumeSignal);
  });
  expect(pausedRounds).toBeGreaterThanOrEqual(1);
  expect(r.verdict).toBe('Pass');
  // the paused window ate into the 60 s duration: fewer rounds than an unpaused run, never more
  expect(calls.injected).toBeLessThan(6);
  expect(calls.injected).toBeGreaterThan(pausedRounds);
  expect(r.timeline.map((e) => e.message)).toEqual(expect.arrayContaining(['chaos paused', 'chaos resumed']));
  expect(calls.reverted).toBe(1);
});

test('cancelling the workflow (temporal workflow cancel) still reverts, verdict Aborted', async () => {
  const calls = callsWithFirstInject();
  const r = await run(seed(), opts(), fakeActivities(calls), async (h) => {
    await calls.firstInject;
    // Let the inject activity complete first: the Java test server can wedge on a cancel racing an activity
    // completion; the real server's behaviour in that race is covered in test/integration/experiment.test.ts.
    await testEnv().sleep(1000);
    await h.cancel();
  });
  expect(r.verdict).toBe('Aborted');
  expect(r.reason).toBe('workflow cancelled');
  expect(calls.reverted).toBe(1);
  expect(r.faults[0].state).toBe('reverted');
});

test('several faults run one after the other, each reverted before the next is injected', async () => {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const spec = seed();
  const second = structuredClone(spec.faults[0]);
  second.name = 'pod-cpu-hog';
  second.probes = [];
  spec.faults.push(second);
  const r = await run(spec, opts(), fakeActivities(calls));
  expect(r.verdict).toBe('Pass');
  expect(r.faults.map((f) => f.state)).toEqual(['reverted', 'reverted']);
  const revertFirst = calls.log.indexOf('revert:pod-delete');
  const injectSecond = calls.log.indexOf('inject:pod-cpu-hog:0');
  expect(revertFirst).toBeGreaterThan(-1);
  expect(injectSecond).toBeGreaterThan(revertFirst);
  expect(calls.log.filter((l) => l.startsWith('inject:pod-cpu-hog'))).toEqual(['inject:pod-cpu-hog:0']); // sustained: once
});

test('rollback actions run after an emergency rollback (breach), not after a plain abort', async () => {
  const actions = [
    { type: 'scale' as const, name: 'Scale up replicas' },
    { type: 'pagerduty' as const, name: 'Trigger incident' },
  ];
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  let n = 0;
  const triggers = [{ name: 'error-rate', query: 'x', criteria: '>=' as const, threshold: '0.05' }];
  const breachActs = fakeActivities(
    calls,
    {
      async evaluateTriggers() {
        n++;
        return n >= 2 ? { name: 'error-rate', query: 'x', value: 0.2, criteria: '>=', threshold: '0.05', at: new Date().toISOString() } : null;
      },
    },
    { triggers, rollbackActions: actions },
  );
  const r = await run(seed(), opts(), breachActs);
  expect(r.verdict).toBe('Fail');
  expect(r.rollbackActions?.map((a) => a.name)).toEqual(['Scale up replicas', 'Trigger incident']);
  // actions come after the verified revert
  expect(calls.log.indexOf('actions:scale,pagerduty')).toBeGreaterThan(calls.log.indexOf('revert:pod-delete'));

  const calls2 = callsWithFirstInject();
  const aborted = await run(seed(), opts(), fakeActivities(calls2, {}, { rollbackActions: actions }), async (h) => {
    await calls2.firstInject;
    await h.signal(abortSignal, 'done for today');
  });
  expect(aborted.verdict).toBe('Aborted');
  expect(aborted.rollbackActions).toBeUndefined();
  expect(calls2.log.some((l) => l.startsWith('actions:'))).toBe(false);
});

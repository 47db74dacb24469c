/**
 * Litmus probe modes and run properties as the workflow schedules them, under the time-skipping server:
 * SOT before chaos, EOT after, Edge both, Continuous for the chaos window every probePollingInterval,
 * OnChaos only while the fault is injected, initialDelay before the first run.
 */
import { useTimeSkippingEnv } from '../helpers/temporal.js';
import { runWorkflow, seed, opts, fakeActivities, type Calls } from '../helpers/workflow.js';
import type { ProbeMode, ProbeSpec } from '../../config/spec.js';
import type { ProbeContext } from '../../activities/types.js';

const testEnv = useTimeSkippingEnv();

/** The seed engine (pod-delete 60 s / 10 s) with its probe in the given mode and run properties. */
function withProbe(mode: ProbeMode, rp: Partial<ProbeSpec['runProperties']> = {}) {
  const spec = seed();
  const p = spec.faults[0].probes[0];
  p.mode = mode;
  Object.assign(p.runProperties, rp);
  return spec;
}

/** Runs the workflow; returns the ordered log of injects, reverts and probe phases. */
async function trace(mode: ProbeMode, rp: Partial<ProbeSpec['runProperties']> = {}) {
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const phases: ProbeContext['phase'][] = [];
  const acts = fakeActivities(calls, {
    async runProbe(p, ctx) {
      phases.push(ctx.phase);
      calls.log.push(`probe:${ctx.phase}`);
      return {
        name: p.name,
        type: p.type,
        mode: p.mode,
        phase: ctx.phase,
        iteration: ctx.iteration,
        status: 'Passed',
        reason: 'ok',
        attempts: 1,
        durationMs: 1,
        at: new Date().toISOString(),
      };
    },
  });
  const r = await runWorkflow(testEnv(), withProbe(mode, rp), opts(), acts);
  return { r, log: calls.log, phases };
}

const firstInject = (log: string[]) => log.findIndex((l) => l.startsWith('inject:'));
const revertAt = (log: string[]) => log.indexOf('revert:pod-delete');

test('SOT: once, before the first injection', async () => {
  const { r, log, phases } = await trace('SOT');
  expect(phases).toEqual(['SOT']);
  expect(log.indexOf('probe:SOT')).toBeLessThan(firstInject(log));
  expect(r.probes[0]).toMatchObject({ status: 'Passed', runs: 1 });
});

test('EOT: once, after the revert', async () => {
  const { log, phases } = await trace('EOT');
  expect(phases).toEqual(['EOT']);
  expect(log.indexOf('probe:EOT')).toBeGreaterThan(revertAt(log));
});

test('Edge: once before and once after chaos', async () => {
  const { r, log, phases } = await trace('Edge');
  expect(phases).toEqual(['SOT', 'EOT']);
  expect(log.indexOf('probe:SOT')).toBeLessThan(firstInject(log));
  expect(log.indexOf('probe:EOT')).toBeGreaterThan(revertAt(log));
  expect(r.probes[0].runs).toBe(2);
});

test('Continuous: every probePollingInterval across the 60 s chaos window', async () => {
  const { log, phases } = await trace('Continuous', { pollingIntervalMs: 10_000 });
  expect(new Set(phases)).toEqual(new Set(['Continuous']));
  // 60 s window / 10 s polling: about six runs (first at 0 s), never more than seven
  expect(phases.length).toBeGreaterThanOrEqual(5);
  expect(phases.length).toBeLessThanOrEqual(7);
  expect(log.lastIndexOf('probe:Continuous')).toBeLessThan(revertAt(log) + 1 + 1); // done by the revert (may overlap it)
});

test('OnChaos: only while the fault is injected', async () => {
  const { log, phases } = await trace('OnChaos', { pollingIntervalMs: 15_000 });
  expect(new Set(phases)).toEqual(new Set(['OnChaos']));
  expect(log.indexOf('probe:OnChaos')).toBeGreaterThanOrEqual(firstInject(log) - 1);
  expect(phases.length).toBeGreaterThanOrEqual(3);
  expect(phases.length).toBeLessThanOrEqual(5);
});

test('initialDelay holds back the first Continuous run', async () => {
  const noDelay = await trace('Continuous', { pollingIntervalMs: 10_000 });
  const delayed = await trace('Continuous', { pollingIntervalMs: 10_000, initialDelayMs: 35_000 });
  expect(delayed.phases.length).toBeLessThan(noDelay.phases.length);
  expect(delayed.phases.length).toBeGreaterThanOrEqual(2);
  // the first delayed run comes after several injection rounds (a round every 10 s)
  const injectsBefore = delayed.log.slice(0, delayed.log.indexOf('probe:Continuous')).filter((l) => l.startsWith('inject:')).length;
  expect(injectsBefore).toBeGreaterThanOrEqual(3);
});

test('PSP: floor(passed * 100 / total) over probes of mixed outcome', async () => {
  const spec = seed();
  const base = spec.faults[0].probes[0];
  spec.faults[0].probes = ['a', 'b', 'c'].map((n) => ({ ...structuredClone(base), name: n, mode: 'SOT' as const }));
  const calls: Calls = { log: [], injected: 0, reverted: 0 };
  const acts = fakeActivities(calls, {
    async runProbe(p, ctx) {
      const ok = p.name !== 'c' || ctx.phase !== 'SOT';
      return {
        name: p.name,
        type: p.type,
        mode: p.mode,
        phase: ctx.phase,
        iteration: 0,
        status: ok ? 'Passed' : 'Failed',
        reason: ok ? 'ok' : 'no',
        attempts: 1,
        durationMs: 1,
        at: new Date().toISOString(),
      };
    },
  });
  const r = await runWorkflow(testEnv(), spec, opts(), acts);
  expect(r.probeSuccessPercentage).toBe(66); // floor(2 * 100 / 3)
  expect(r.verdict).toBe('Fail');
});

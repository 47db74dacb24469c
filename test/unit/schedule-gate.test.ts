/** The ChaosSchedule gate: window, workDays, minChaosInterval, state — as pure logic and as a workflow. */
import { Worker } from '@temporalio/worker';
import { gateDecision, inWindow, calendarFor } from '../../workflows/gate.js';
import { loadFile } from '../../config/load.js';
import type { ScheduleSpec } from '../../config/spec.js';
import type { ScheduleGateResult } from '../../workflows/schedule-gate.js';
import { useTimeSkippingEnv } from '../helpers/temporal.js';
import { workflowBundle } from '../../workers/worker.js';
import { fakeActivities, opts, type Calls } from '../helpers/workflow.js';

const seedSchedule = (): ScheduleSpec => {
  const [d] = loadFile('examples/schedules/footanalytics-chaos-schedule.yaml');
  if (d.kind !== 'ChaosSchedule') throw new Error('not a schedule');
  return d.schedule;
};
const at = (iso: string) => new Date(iso);

describe('gateDecision (the seed: 02:00-04:00 UTC, Mon-Fri, 8h apart)', () => {
  const s = seedSchedule();
  test('calendar: fires at 02:00 on Mon..Fri', () => {
    expect(calendarFor(s)).toEqual({ hour: 2, minute: 0, dayOfWeek: [1, 2, 3, 4, 5] });
  });
  test('Thursday 02:30 with no earlier run: runs', () => {
    expect(gateDecision(s, at('2026-11-26T02:30:00Z'), null)).toEqual({ run: true, reason: 'in window; no earlier run' });
  });
  test('Thursday 04:00 is outside [02:00, 04:00)', () => {
    expect(gateDecision(s, at('2026-11-26T04:00:00Z'), null)).toMatchObject({ run: false, reason: '04:00 UTC is outside the window 02:00-04:00' });
  });
  test('Saturday is not a work day', () => {
    expect(gateDecision(s, at('2026-11-28T02:30:00Z'), null)).toMatchObject({ run: false, reason: 'Sat is not in workDays (Mon,Tue,Wed,Thu,Fri)' });
  });
  test('minChaosInterval: a run 3 h ago blocks, one 9 h ago does not', () => {
    expect(gateDecision(s, at('2026-11-26T02:30:00Z'), at('2026-11-25T23:30:00Z'))).toMatchObject({ run: false, reason: 'last run 180 min ago, minChaosInterval is 480 min' });
    expect(gateDecision(s, at('2026-11-26T02:30:00Z'), at('2026-11-25T17:30:00Z')).run).toBe(true);
  });
  test('halted schedules never run', () => {
    expect(gateDecision({ ...s, state: 'halt' }, at('2026-11-26T02:30:00Z'), null)).toEqual({ run: false, reason: 'scheduleState is halt' });
  });
  test('a window across midnight belongs to the day it starts', () => {
    const night = { ...s, window: { startMin: 23 * 60, endMin: 60 } };
    expect(inWindow(night.window, 23 * 60 + 30)).toBe(true);
    expect(inWindow(night.window, 30)).toBe(true);
    expect(inWindow(night.window, 12 * 60)).toBe(false);
    // Saturday 00:30 is Friday night's window: allowed; Monday 00:30 is Sunday night's: not
    expect(gateDecision(night, at('2026-11-28T00:30:00Z'), null).run).toBe(true);
    expect(gateDecision(night, at('2026-11-30T00:30:00Z'), null)).toMatchObject({ run: false, reason: 'Sun is not in workDays (Mon,Tue,Wed,Thu,Fri)' });
  });
});

describe('scheduleGateWorkflow under the time-skipping server', () => {
  const testEnv = useTimeSkippingEnv();

  async function gate(schedule: ScheduleSpec, last: string | null, calls: Calls): Promise<ScheduleGateResult> {
    const taskQueue = `gate-${Math.random().toString(36).slice(2)}`;
    const acts = { ...fakeActivities(calls), lastRunStart: async () => last };
    const worker = await Worker.create({ connection: testEnv().nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    return worker.runUntil(testEnv().client.workflow.execute('scheduleGateWorkflow', { taskQueue, workflowId: `g-${taskQueue}`, args: [{ schedule, options: opts() }] }));
  }

  /** A window around the test server's "now" (it skips time) on every day, so the test does not depend on the clock. */
  const open = async (): Promise<ScheduleSpec> => {
    const s = seedSchedule();
    const now = new Date(await testEnv().currentTimeMs());
    const m = now.getUTCHours() * 60 + now.getUTCMinutes();
    return { ...s, days: [], window: { startMin: (m + 1440 - 30) % 1440, endMin: (m + 30) % 1440 } };
  };

  test('in the window: the engine runs as a child workflow and its verdict comes back', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const r = await gate(await open(), null, calls);
    expect(r).toMatchObject({ ran: true, verdict: 'Pass' });
    expect(r.experimentWorkflowId).toMatch(/^footanalytics-chaos-schedule-\d{8}T\d{6}-/);
    expect(calls.injected).toBe(3); // the schedule's template: pod-delete 30 s every 10 s
    expect(calls.reverted).toBe(1);
  });

  test('too soon after the last run: skipped with the reason, nothing injected', async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const serverNow = await testEnv().currentTimeMs();
    const r = await gate(await open(), new Date(serverNow - 60 * 60_000).toISOString(), calls);
    expect(r.ran).toBe(false);
    expect(r.reason).toMatch(/^last run \d+ min ago, minChaosInterval is 480 min$/);
    expect(calls.injected).toBe(0);
  });
});

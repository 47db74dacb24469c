/** The ChaosSchedule gate: window, workDays, minChaosInterval, state — as pure logic and as a workflow. */
import { Worker } from '@temporalio/worker';
import { gateDecision, inWindow, calendarFor, schedulePlan } from '../../workflows/gate.js';
import { loadFile, loadText } from '../../config/load.js';
import type { ConfigError } from '../../config/errors.js';
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
    expect(gateDecision(s, at('2026-11-26T02:30:00Z'), at('2026-11-25T23:30:00Z'))).toMatchObject({
      run: false,
      reason: 'last run 180 min ago, minChaosInterval is 480 min',
    });
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
    return worker.runUntil(
      testEnv().client.workflow.execute('scheduleGateWorkflow', { taskQueue, workflowId: `g-${taskQueue}`, args: [{ schedule, options: opts() }] }),
    );
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

  test("two fires of the same schedule start children with distinct ids, from each gate's run id ('gate-child-id-v1')", async () => {
    const calls: Calls = { log: [], injected: 0, reverted: 0 };
    const schedule = await open();
    const taskQueue = `gate-${Math.random().toString(36).slice(2)}`;
    const acts = { ...fakeActivities(calls), lastRunStart: async () => null };
    const worker = await Worker.create({ connection: testEnv().nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    // As a Temporal Schedule names its runs: the action's workflow id plus the fire time. The ids' tails are equal.
    const gateIds = ['2026-12-01T02:00:00Z', '2026-12-02T02:00:00Z'].map((t) => `tempest-schedule-chaos-engineering.${schedule.name}-${taskQueue}-run-${t}`);
    const runs = await worker.runUntil(async () => {
      // Both gates run at once; their results are awaited one at a time (one time-skipping unlock at a time).
      const handles = await Promise.all(
        gateIds.map((workflowId) => testEnv().client.workflow.start('scheduleGateWorkflow', { taskQueue, workflowId, args: [{ schedule, options: opts() }] })),
      );
      const out: Array<{ runId: string; result: ScheduleGateResult }> = [];
      for (const h of handles) out.push({ runId: h.firstExecutionRunId, result: (await h.result()) as ScheduleGateResult });
      return out;
    });
    for (const { runId, result } of runs) {
      expect(result).toMatchObject({ ran: true, verdict: 'Pass' });
      expect(result.experimentWorkflowId).toMatch(/^footanalytics-chaos-schedule-\d{8}T\d{6}-[0-9a-f]{6}$/);
      expect(result.experimentWorkflowId!.endsWith(`-${runId.replace(/-/g, '').slice(0, 6)}`)).toBe(true);
    }
    expect(runs[0].result.experimentWorkflowId).not.toBe(runs[1].result.experimentWorkflowId);
    expect(calls.reverted).toBe(2);
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

describe('ChaosSchedule means what it says (Litmus and the seed form)', () => {
  const doc = (schedule: string) => `apiVersion: litmuschaos.io/v1alpha1
kind: ChaosSchedule
metadata: { name: s, namespace: chaos-engineering }
spec:
  schedule:
${schedule}
  engineTemplateSpec:
    appinfo: { appns: footanalytics, applabel: "app.kubernetes.io/name=api-gateway", appkind: deployment }
    experiments:
      - name: pod-delete
`;
  const parse = (schedule: string): ScheduleSpec => {
    const [d] = loadText(doc(schedule), 's.yaml');
    if (d.kind !== 'ChaosSchedule') throw new Error(d.kind);
    return d.schedule;
  };
  const problems = (schedule: string): string[] => {
    try {
      parse(schedule);
    } catch (e) {
      return (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    throw new Error('expected a ConfigError');
  };

  test('once: exactly one run at executionTime (never a daily schedule)', () => {
    const s = parse('    once: { executionTime: "2027-01-15T03:30:00Z" }');
    expect(s).toMatchObject({ once: '2027-01-15T03:30:00.000Z', now: false, repeats: false });
    expect(schedulePlan(s)).toEqual({
      calendars: [
        {
          year: [{ start: 2027, end: 2027, step: 1 }],
          month: [{ start: 1, end: 1, step: 1 }],
          dayOfMonth: [{ start: 15, end: 15, step: 1 }],
          hour: [{ start: 3, end: 3, step: 1 }],
          minute: [{ start: 30, end: 30, step: 1 }],
        },
      ],
      remainingActions: 1,
    });
    expect(gateDecision(s, new Date('2027-01-15T03:30:05Z'), null)).toEqual({ run: true, reason: 'once at 2027-01-15T03:30:00.000Z; no earlier run' });
    // fired early (a schedule applied with a catch-up, a hand-triggered run): more than a minute before is refused
    const early = 'before once.executionTime (2027-01-15T03:30:00.000Z): a one-shot schedule runs at its time, not before';
    expect(gateDecision(s, new Date('2027-01-14T03:30:00Z'), null)).toEqual({ run: false, reason: early });
    expect(gateDecision(s, new Date('2027-01-15T03:28:59Z'), null)).toEqual({ run: false, reason: early });
    expect(gateDecision(s, new Date('2027-01-15T03:28:59.999Z'), null).run).toBe(false);
    // within the minute before (clock slack), at the time or after: runs
    expect(gateDecision(s, new Date('2027-01-15T03:29:00Z'), null).run).toBe(true);
    expect(gateDecision(s, new Date('2027-01-15T03:29:45Z'), null).run).toBe(true);
    expect(gateDecision(s, new Date('2027-01-15T03:30:00Z'), null).run).toBe(true);
    expect(gateDecision(s, new Date('2027-01-16T12:00:00Z'), null).run).toBe(true);
    expect(problems('    once: { executionTime: "tomorrow" }')).toEqual([
      'spec.schedule.once.executionTime: must be an RFC 3339 UTC timestamp like "2026-12-24T02:00:00Z"',
    ]);
    expect(problems('    once: { executionTime: "2027-01-15T03:30:00Z" }\n    repeat: { timeRange: { startTime: "02:00", endTime: "04:00" } }')).toContain(
      'spec.schedule.once: give once alone (not with repeat)',
    );
  });

  test('now alone: one run, and no calendar at all', () => {
    const s = parse('    now: true');
    expect(s).toMatchObject({ now: true, repeats: false });
    expect(schedulePlan(s)).toEqual({ calendars: [] });
  });

  test('Litmus repeat: a cadence within workHours, workDays and a timestamp range', () => {
    const s = parse(`    repeat:
      timeRange: { startTime: "2026-12-01T00:00:00Z", endTime: "2027-06-01T00:00:00Z" }
      properties: { minChaosInterval: { minute: { everyNthMinute: 15 } } }
      workHours: { includedHours: "9-17" }
      workDays: { includedDays: "Mon,Tue,Wed,Thu,Fri" }`);
    expect(s).toMatchObject({
      every: { unit: 'minute', n: 15 },
      hours: [9, 10, 11, 12, 13, 14, 15, 16, 17],
      days: [1, 2, 3, 4, 5],
      minChaosIntervalMs: 900_000,
      activeFrom: '2026-12-01T00:00:00.000Z',
      activeUntil: '2027-06-01T00:00:00.000Z',
    });
    // Exactly every 15 min (an interval, no cron-step calendar), minus the hours outside 9-17 and the weekend.
    expect(schedulePlan(s)).toEqual({
      calendars: [],
      intervals: [{ everyMs: 900_000 }],
      skip: [
        {
          hour: [
            { start: 0, end: 8, step: 1 },
            { start: 18, end: 23, step: 1 },
          ],
          minute: [{ start: 0, end: 59, step: 1 }],
        },
        { dayOfWeek: [0, 6], hour: [{ start: 0, end: 23, step: 1 }], minute: [{ start: 0, end: 59, step: 1 }] },
      ],
      startAt: '2026-12-01T00:00:00.000Z',
      endAt: '2027-06-01T00:00:00.000Z',
    });
    // Thursday 10:15 inside the hours: runs; 18:00: outside workHours; before the range: not yet
    expect(gateDecision(s, new Date('2026-12-03T10:15:00Z'), null).run).toBe(true);
    expect(gateDecision(s, new Date('2026-12-03T18:00:00Z'), null)).toEqual({
      run: false,
      reason: '18:00 UTC is outside workHours (9,10,11,12,13,14,15,16,17)',
    });
    expect(gateDecision(s, new Date('2026-11-30T10:15:00Z'), null)).toEqual({
      run: false,
      reason: "before the schedule's timeRange (starts 2026-12-01T00:00:00.000Z)",
    });
    expect(gateDecision(s, new Date('2027-07-01T10:15:00Z'), null)).toEqual({
      run: false,
      reason: "after the schedule's timeRange (ended 2027-06-01T00:00:00.000Z)",
    });
    // the cadence's own spacing (minus a little clock slack) is not "too soon"
    expect(gateDecision(s, new Date('2026-12-03T10:15:00Z'), new Date('2026-12-03T10:00:10Z')).run).toBe(true);
    const hourly = parse('    repeat:\n      properties: { minChaosInterval: { hour: { everyNthHour: 6 } } }');
    expect(schedulePlan(hourly)).toEqual({ calendars: [], intervals: [{ everyMs: 6 * 3_600_000 }], skip: [] });
  });

  test('a cadence is an exact interval: every 7 minutes is 420000 ms apart, also across the hour (a cron */7 is not)', () => {
    const s = parse('    repeat:\n      properties: { minChaosInterval: { minute: { everyNthMinute: 7 } } }');
    expect(s).toMatchObject({ every: { unit: 'minute', n: 7 }, minChaosIntervalMs: 420_000 });
    const plan = schedulePlan(s);
    // no calendar at all: a calendar minute */7 fires at :49, :56 and then :00, 4 minutes later
    expect(plan).toEqual({ calendars: [], intervals: [{ everyMs: 420_000 }], skip: [] });
    // two fires of the cadence across the top of the hour (09:56 -> 10:03) are not "too soon" for the gate
    expect(gateDecision(s, new Date('2026-12-03T10:03:00Z'), new Date('2026-12-03T09:56:00Z')).run).toBe(true);
  });

  test('an hourly cadence within workHours and workDays: every n hours, skipping the hours and days outside', () => {
    const s = parse(`    repeat:
      properties: { minChaosInterval: { hour: { everyNthHour: 2 } } }
      workHours: { includedHours: "8-11,14" }
      workDays: { includedDays: "Sat,Sun" }`);
    expect(s).toMatchObject({ every: { unit: 'hour', n: 2 }, hours: [8, 9, 10, 11, 14], days: [0, 6] });
    expect(schedulePlan(s)).toEqual({
      calendars: [],
      intervals: [{ everyMs: 7_200_000 }],
      skip: [
        {
          hour: [
            { start: 0, end: 7, step: 1 },
            { start: 12, end: 13, step: 1 },
            { start: 15, end: 23, step: 1 },
          ],
          minute: [{ start: 0, end: 59, step: 1 }],
        },
        { dayOfWeek: [1, 2, 3, 4, 5], hour: [{ start: 0, end: 23, step: 1 }], minute: [{ start: 0, end: 59, step: 1 }] },
      ],
    });
  });

  test('anything Tempest cannot honour is an error naming the field, never a different schedule', () => {
    expect(problems('    repeat:\n      timeRange: { startTime: "02:00" }')).toEqual([
      'spec.schedule.repeat.timeRange: a daily window needs endTime too (HH:MM, 24h, UTC)',
    ]);
    expect(problems('    repeat:\n      timeRange: { startTime: "02:00", endTime: "04:00" }\n      workHours: { includedHours: "9-17" }')).toEqual([
      'spec.schedule.repeat.workHours: give either a daily timeRange window (HH:MM) or workHours, not both',
    ]);
    expect(
      problems('    repeat:\n      workHours: { includedHours: "25" }\n      properties: { minChaosInterval: { minute: { everyNthMinute: 5 } } }'),
    ).toEqual(['spec.schedule.repeat.workHours.includedHours: must be hours of the day (UTC) like "9-17" or "1,3,5"']);
    expect(problems('    repeat:\n      workDays: { includedDays: "Mon" }')[0]).toContain('spec.schedule.repeat: needs a daily timeRange window');
    expect(problems('    repeat:\n      properties: { minChaosInterval: { minute: { everyNthMinute: 90 } } }')).toEqual([
      'spec.schedule.repeat.properties.minChaosInterval.minute.everyNthMinute: must be 1..59',
    ]);
    expect(problems('    repeat:\n      timeRange: { startTime: "02:00", endTime: "04:00" }\n      cron: "* * * * *"')).toEqual([
      'spec.schedule.repeat.cron: unknown key',
    ]);
    expect(problems('    {}')).toEqual(['spec.schedule: needs one of now: true, once or repeat']);
  });

  test("minChaosInterval that cannot be checked (no search attributes) blocks the run, unless the cadence is the schedule's own", () => {
    const seed = seedSchedule();
    const inWindow = new Date('2026-11-26T02:30:00Z');
    expect(gateDecision(seed, inWindow, undefined)).toEqual({
      run: false,
      reason: 'minChaosInterval cannot be checked: this run has no search attributes to find the last run by (set temporal.searchAttributes: true)',
    });
    const cadence = parse('    repeat:\n      properties: { minChaosInterval: { minute: { everyNthMinute: 30 } } }');
    expect(gateDecision(cadence, inWindow, undefined).run).toBe(true);
  });
});

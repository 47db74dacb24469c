/** Pure schedule logic (shared by the gate workflow and the CLI; no I/O). Times are UTC. */
import type { ScheduleSpec } from '../config/spec.js';

const DAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function hm(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/** Inside [start, end) of the window; a window whose end is before its start spans midnight. */
export function inWindow(window: ScheduleSpec['window'], minuteOfDay: number): boolean {
  if (!window) return true;
  const { startMin, endMin } = window;
  return startMin <= endMin ? minuteOfDay >= startMin && minuteOfDay < endMin : minuteOfDay >= startMin || minuteOfDay < endMin;
}

/**
 * May the engine run now? State, active period, work days, window or work hours, then minChaosInterval.
 * `lastRun` is null when there was none; `undefined` when it could not be known (no search attributes): then a
 * schedule with minChaosInterval does not run (fail closed) unless its cadence is the schedule's own.
 */
export function gateDecision(s: ScheduleSpec, now: Date, lastRun: Date | null | undefined): { run: boolean; reason: string } {
  if (s.state !== 'active') return { run: false, reason: `scheduleState is ${s.state}` };
  if (s.activeFrom && now.getTime() < Date.parse(s.activeFrom)) return { run: false, reason: `before the schedule's timeRange (starts ${s.activeFrom})` };
  if (s.activeUntil && now.getTime() >= Date.parse(s.activeUntil)) return { run: false, reason: `after the schedule's timeRange (ended ${s.activeUntil})` };
  const day = now.getUTCDay();
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  // For a window spanning midnight, the early-morning part belongs to the previous day's schedule.
  const windowDay = s.window && s.window.startMin > s.window.endMin && minute < s.window.endMin ? (day + 6) % 7 : day;
  if (s.days.length && !s.days.includes(windowDay)) {
    return { run: false, reason: `${DAY[windowDay]} is not in workDays (${s.days.map((d) => DAY[d]).join(',')})` };
  }
  if (!inWindow(s.window, minute)) {
    return { run: false, reason: `${hm(minute)} UTC is outside the window ${hm(s.window!.startMin)}-${hm(s.window!.endMin)}` };
  }
  const hours = s.hours ?? [];
  if (hours.length && !hours.includes(now.getUTCHours())) {
    return { run: false, reason: `${hm(minute)} UTC is outside workHours (${hours.join(',')})` };
  }
  if (s.minChaosIntervalMs > 0 && lastRun === undefined && !s.every && !s.once) {
    return {
      run: false,
      reason: 'minChaosInterval cannot be checked: this run has no search attributes to find the last run by (set temporal.searchAttributes: true)',
    };
  }
  if (s.once && now.getTime() < Date.parse(s.once) - 60_000) {
    return { run: false, reason: `before once.executionTime (${s.once}): a one-shot schedule runs at its time, not before` };
  }
  if (lastRun && s.minChaosIntervalMs > 0) {
    const since = now.getTime() - lastRun.getTime();
    // A cadence of N minutes fires every N minutes: allow a little clock slack on the schedule's own spacing.
    const need = s.every ? s.minChaosIntervalMs - 30_000 : s.minChaosIntervalMs;
    if (since < need) {
      return { run: false, reason: `last run ${Math.round(since / 60000)} min ago, minChaosInterval is ${Math.round(s.minChaosIntervalMs / 60000)} min` };
    }
  }
  const when = s.once ? `once at ${s.once}` : 'in window';
  return { run: true, reason: lastRun ? `${when}; last run ${lastRun.toISOString()}` : `${when}; no earlier run` };
}

/** Range of a calendar field, as Temporal Schedules take it. */
export interface CalendarRange {
  start: number;
  end: number;
  step: number;
}

const r = (start: number, end = start, step = 1): CalendarRange => ({ start, end, step });

/** A Temporal Schedule calendar spec (one entry), plus the schedule's active period and how many runs it may start. */
type Calendar = {
  year?: CalendarRange[];
  month?: CalendarRange[];
  dayOfMonth?: CalendarRange[];
  hour: CalendarRange[];
  minute: CalendarRange[];
  dayOfWeek?: number[];
};

export interface SchedulePlan {
  calendars: Calendar[];
  /** A Litmus cadence: exactly every `everyMs` (epoch-aligned), minus the `skip` times. */
  intervals?: Array<{ everyMs: number }>;
  /** Times the cadence must not fire: hours outside workHours, days outside workDays. */
  skip?: Calendar[];
  startAt?: string;
  endAt?: string;
  /** 1 for `once`; undefined = unlimited. */
  remainingActions?: number;
}

/** The hours as ranges (consecutive hours collapse into one range). */
function hourRanges(hours: number[], step = 1): CalendarRange[] {
  if (!hours.length) return [r(0, 23, step)];
  const out: CalendarRange[] = [];
  for (const h of hours) {
    const last = out[out.length - 1];
    if (last && step === 1 && last.end === h - 1) last.end = h;
    else out.push(r(h));
  }
  return out;
}

/** When the Temporal Schedule fires (the gate re-checks everything at each firing). */
export function schedulePlan(s: ScheduleSpec): SchedulePlan {
  const dayOfWeek = s.days.length ? s.days : undefined;
  // `now: true` alone: one triggered run, and no calendar at all (never "daily at 00:00").
  if (s.repeats === false && !s.once) return { calendars: [] };
  if (s.once) {
    const t = new Date(s.once);
    return {
      calendars: [
        {
          year: [r(t.getUTCFullYear())],
          month: [r(t.getUTCMonth() + 1)],
          dayOfMonth: [r(t.getUTCDate())],
          hour: [r(t.getUTCHours())],
          minute: [r(t.getUTCMinutes())],
        },
      ],
      remainingActions: 1,
    };
  }
  if (s.every) {
    // Exactly every n minutes / hours (not a cron step, which gives uneven gaps when n does not divide 60 or 24),
    // skipping the hours outside workHours and the days outside workDays.
    const everyMs = s.every.n * (s.every.unit === 'minute' ? 60_000 : 3_600_000);
    const skip: Calendar[] = [];
    const hours = s.hours ?? [];
    if (hours.length) {
      const off = Array.from({ length: 24 }, (_, h) => h).filter((h) => !hours.includes(h));
      if (off.length) skip.push({ hour: hourRanges(off), minute: [r(0, 59)] });
    }
    if (s.days.length) {
      const offDays = [0, 1, 2, 3, 4, 5, 6].filter((d) => !s.days.includes(d));
      if (offDays.length) skip.push({ dayOfWeek: offDays, hour: [r(0, 23)], minute: [r(0, 59)] });
    }
    return { calendars: [], intervals: [{ everyMs }], skip, startAt: s.activeFrom, endAt: s.activeUntil };
  }
  const start = s.window?.startMin ?? 0;
  return { calendars: [{ hour: [r(Math.floor(start / 60))], minute: [r(start % 60)], dayOfWeek }], startAt: s.activeFrom, endAt: s.activeUntil };
}

/** Temporal Schedule calendar spec for the window start on the included days (UTC): the seed's daily form. */
export function calendarFor(s: ScheduleSpec): { hour: number; minute: number; dayOfWeek: number[] | undefined } {
  const start = s.window?.startMin ?? 0;
  return { hour: Math.floor(start / 60), minute: start % 60, dayOfWeek: s.days.length ? s.days : undefined };
}

/** Pure schedule-window logic (shared by the gate workflow and the CLI; no I/O). Times are UTC. */
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

export function gateDecision(s: ScheduleSpec, now: Date, lastRun: Date | null): { run: boolean; reason: string } {
  if (s.state !== 'active') return { run: false, reason: `scheduleState is ${s.state}` };
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
  if (lastRun && s.minChaosIntervalMs > 0) {
    const since = now.getTime() - lastRun.getTime();
    if (since < s.minChaosIntervalMs) {
      return { run: false, reason: `last run ${Math.round(since / 60000)} min ago, minChaosInterval is ${Math.round(s.minChaosIntervalMs / 60000)} min` };
    }
  }
  return { run: true, reason: lastRun ? `in window; last run ${lastRun.toISOString()}` : 'in window; no earlier run' };
}

/** Temporal Schedule calendar spec for the window start on the included days (UTC). */
export function calendarFor(s: ScheduleSpec): { hour: number; minute: number; dayOfWeek: number[] | undefined } {
  const start = s.window?.startMin ?? 0;
  return { hour: Math.floor(start / 60), minute: start % 60, dayOfWeek: s.days.length ? s.days : undefined };
}

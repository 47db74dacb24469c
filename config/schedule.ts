/**
 * A Litmus ChaosSchedule, normalized so that it means exactly what it says (anything Tempest cannot honour is
 * an error naming the field, never a different schedule). Two shapes are accepted:
 *
 *   Litmus (chaos-scheduler):
 *     schedule.now: true                                  one run at once
 *     schedule.once.executionTime: "2026-12-24T02:00:00Z" one run at that time
 *     schedule.repeat:                                    a run every minChaosInterval, within:
 *       timeRange: { startTime, endTime }                   RFC 3339 timestamps: the period the schedule is active
 *       properties.minChaosInterval: { minute: { everyNthMinute: N } } | { hour: { everyNthHour: N } }
 *       workHours.includedHours: "9-17" | "1,3,5"         hours of day (UTC) a run may start
 *       workDays.includedDays: "Mon,Tue"                   days (UTC)
 *   The seed's daily window:
 *     schedule.repeat.timeRange: { startTime: "02:00", endTime: "04:00" }  fires at the window start
 *     schedule.repeat.minChaosInterval: "8h"                               at least this long between two runs
 *     schedule.repeat.workDays.includedDays
 */
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';
import { parseDurationMs } from './duration.js';
import { engineSpecSchema, type LoadContext } from './litmus.js';
import { engineSpecToExperiment } from './litmus.js';
import type { ScheduleSpec } from './spec.js';

const nth = (key: string) => z.object({ [key]: z.number().int() }).strict();

export const chaosScheduleSchema = z
  .object({
    apiVersion: z.string().regex(/^litmuschaos\.io\//, 'must be litmuschaos.io/<version>'),
    kind: z.literal('ChaosSchedule'),
    metadata: z.object({ name: z.string().min(1).max(253), namespace: z.string().max(63).optional() }).passthrough(),
    spec: z
      .object({
        schedule: z
          .object({
            now: z.boolean().optional(),
            once: z.object({ executionTime: z.string() }).strict().optional(),
            repeat: z
              .object({
                timeRange: z.object({ startTime: z.string().optional(), endTime: z.string().optional() }).strict().optional(),
                properties: z
                  .object({ minChaosInterval: z.object({ minute: nth('everyNthMinute').optional(), hour: nth('everyNthHour').optional() }).strict() })
                  .strict()
                  .optional(),
                workDays: z.object({ includedDays: z.string() }).strict().optional(),
                workHours: z
                  .object({ includedHours: z.union([z.string(), z.number()]) })
                  .strict()
                  .optional(),
                minChaosInterval: z.union([z.string(), z.number()]).optional(),
              })
              .strict()
              .optional(),
          })
          .strict(),
        engineTemplateSpec: engineSpecSchema,
        scheduleState: z.enum(['active', 'halt', 'complete']).optional(),
      })
      .passthrough(),
  })
  .passthrough();

export type ChaosScheduleDoc = z.infer<typeof chaosScheduleSchema>;

const DAYS: ReadonlyMap<string, number> = new Map([
  ['sun', 0],
  ['mon', 1],
  ['tue', 2],
  ['wed', 3],
  ['thu', 4],
  ['fri', 5],
  ['sat', 6],
]);
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/;
/** At most this long between two runs (longer is never again, not a schedule). */
const MAX_MIN_CHAOS_INTERVAL_MS = 366 * 86_400_000;

/** The fields of an RFC 3339 timestamp are a real date and time (Date.parse turns 2026-02-30 into March 2nd). */
function realDateTime(m: RegExpExecArray): boolean {
  const [y, mo, d, h, mi, s, oh, om] = [1, 2, 3, 4, 5, 6, 9, 10].map((i) => Number(m[i] ?? 0));
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return days !== undefined && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59 && oh <= 23 && om <= 59;
}

function timestamp(v: string, path: string, problems: ConfigProblem[], file: string): string | undefined {
  const t = Date.parse(v);
  const m = RFC3339.exec(v);
  if (!m || !realDateTime(m) || Number.isNaN(t)) {
    problems.push({ file, path, message: 'must be an RFC 3339 UTC timestamp like "2026-12-24T02:00:00Z"', value: v });
    return undefined;
  }
  return new Date(t).toISOString();
}

/** "9-17", "0-12", "1,3,5", "8-11,14-16" -> sorted hours. */
export function parseHours(v: string): number[] | undefined {
  const hours = new Set<number>();
  for (const part of v.split(',').map((s) => s.trim())) {
    const m = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(part);
    if (!m) return undefined;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > 23 || b > 23 || a > b) return undefined;
    for (let h = a; h <= b; h++) hours.add(h);
  }
  return [...hours].sort((x, y) => x - y);
}

export function toSchedule(s: ChaosScheduleDoc, file: string, px: string, ctx: LoadContext): ScheduleSpec {
  const problems: ConfigProblem[] = [];
  const at = (p: string) => `${px}spec.schedule.${p}`;
  const ns = s.metadata.namespace || 'default';
  let engine: ScheduleSpec['engine'] | undefined;
  try {
    engine = engineSpecToExperiment(s.metadata.name, ns, s.spec.engineTemplateSpec, file, `${px}spec.engineTemplateSpec`, ctx, px);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const sch = s.spec.schedule;
  // One policy: now, once or repeat. Tempest's one extension: `now: true` beside `repeat` also starts one gated
  // run at once (the repeat schedule then goes on as written).
  if (sch.once && (sch.repeat || sch.now))
    problems.push({ file, path: `${px}spec.schedule.once`, message: `give once alone (not with ${sch.repeat ? 'repeat' : 'now'})` });
  if (!sch.now && !sch.once && !sch.repeat) problems.push({ file, path: `${px}spec.schedule`, message: 'needs one of now: true, once or repeat' });
  const out: Omit<ScheduleSpec, 'engine'> = {
    name: s.metadata.name,
    namespace: ns,
    now: sch.now ?? false,
    hours: [],
    days: [],
    minChaosIntervalMs: 0,
    state: s.spec.scheduleState ?? 'active',
  };
  if (sch.once) out.once = timestamp(sch.once.executionTime, at('once.executionTime'), problems, file);
  const rep = sch.repeat;
  if (rep) {
    for (const d of (rep.workDays?.includedDays ?? '')
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter(Boolean)) {
      const n = DAYS.get(d.slice(0, 3));
      if (n === undefined || !/^[a-z]+$/.test(d))
        problems.push({
          file,
          path: at('repeat.workDays.includedDays'),
          message: `unknown day "${d.slice(0, 20)}" (use Mon,Tue,...)`,
          value: rep.workDays?.includedDays,
        });
      else if (!out.days.includes(n)) out.days.push(n);
    }
    out.days.sort((a, b) => a - b);
    const tr = rep.timeRange;
    // HH:MM-like values (even a wrong one such as 25:00) mean the seed's daily window; timestamps mean Litmus' range.
    const daily = !!tr && [tr.startTime, tr.endTime].some((t) => t !== undefined && /^\d{1,2}:\d{2}$/.test(t));
    if (tr && daily) {
      // The seed's daily window: both ends, HH:MM.
      for (const k of ['startTime', 'endTime'] as const) {
        const v = tr[k];
        if (v === undefined) problems.push({ file, path: at('repeat.timeRange'), message: `a daily window needs ${k} too (HH:MM, 24h, UTC)`, value: tr });
        else if (!HHMM.test(v)) problems.push({ file, path: at(`repeat.timeRange.${k}`), message: 'must be HH:MM (24h, UTC)', value: v });
      }
      if (tr.startTime && tr.endTime && HHMM.test(tr.startTime) && HHMM.test(tr.endTime)) {
        const min = (x: string) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3));
        out.window = { startMin: min(tr.startTime), endMin: min(tr.endTime) };
        if (out.window.startMin === out.window.endMin)
          problems.push({ file, path: at('repeat.timeRange'), message: 'startTime and endTime must differ', value: tr });
      }
    } else if (tr) {
      if (tr.startTime !== undefined) out.activeFrom = timestamp(tr.startTime, at('repeat.timeRange.startTime'), problems, file);
      if (tr.endTime !== undefined) out.activeUntil = timestamp(tr.endTime, at('repeat.timeRange.endTime'), problems, file);
      if (out.activeFrom && out.activeUntil && out.activeFrom >= out.activeUntil)
        problems.push({ file, path: at('repeat.timeRange'), message: 'startTime must be before endTime', value: tr });
    }
    if (rep.workHours !== undefined) {
      const hours = parseHours(String(rep.workHours.includedHours));
      if (!hours)
        problems.push({
          file,
          path: at('repeat.workHours.includedHours'),
          message: 'must be hours of the day (UTC) like "9-17" or "1,3,5"',
          value: rep.workHours.includedHours,
        });
      else out.hours = hours;
      if (out.window) problems.push({ file, path: at('repeat.workHours'), message: 'give either a daily timeRange window (HH:MM) or workHours, not both' });
    }
    const lit = rep.properties?.minChaosInterval;
    if (lit) {
      // Litmus: a run every N minutes or hours (the schedule's own cadence).
      if (rep.minChaosInterval !== undefined)
        problems.push({
          file,
          path: at('repeat.minChaosInterval'),
          message: 'give minChaosInterval once: properties.minChaosInterval (Litmus) or repeat.minChaosInterval',
        });
      if (!!lit.minute === !!lit.hour)
        problems.push({ file, path: at('repeat.properties.minChaosInterval'), message: 'give exactly one of minute.everyNthMinute or hour.everyNthHour' });
      else if (lit.minute) {
        const n = lit.minute.everyNthMinute;
        if (n < 1 || n > 59) problems.push({ file, path: at('repeat.properties.minChaosInterval.minute.everyNthMinute'), message: 'must be 1..59', value: n });
        else out.every = { unit: 'minute', n };
      } else if (lit.hour) {
        const n = lit.hour.everyNthHour;
        if (n < 1 || n > 23) problems.push({ file, path: at('repeat.properties.minChaosInterval.hour.everyNthHour'), message: 'must be 1..23', value: n });
        else out.every = { unit: 'hour', n };
      }
      if (out.every) out.minChaosIntervalMs = out.every.n * (out.every.unit === 'minute' ? 60_000 : 3_600_000);
      if (out.window)
        problems.push({
          file,
          path: at('repeat.properties'),
          message: 'a Litmus cadence (properties.minChaosInterval) goes with timestamp timeRange and workHours, not with a daily HH:MM window',
        });
    } else if (rep.minChaosInterval !== undefined) {
      const ms = parseDurationMs(rep.minChaosInterval, 's');
      if (ms === undefined || ms <= 0)
        problems.push({ file, path: at('repeat.minChaosInterval'), message: 'must be a positive duration like "8h" or "30m"', value: rep.minChaosInterval });
      else if (ms > MAX_MIN_CHAOS_INTERVAL_MS)
        problems.push({ file, path: at('repeat.minChaosInterval'), message: 'must be at most 366 days (8784h)', value: rep.minChaosInterval });
      else out.minChaosIntervalMs = ms;
    }
    if (!out.window && !out.every && !daily && !lit) {
      problems.push({
        file,
        path: at('repeat'),
        message:
          'needs a daily timeRange window (startTime/endTime as HH:MM) or a cadence (properties.minChaosInterval: minute.everyNthMinute or hour.everyNthHour)',
      });
    }
  }
  out.repeats = !!rep;
  if (problems.length) throw new ConfigError(problems);
  return { ...out, engine: engine! };
}

/**
 * The seed's progressive chaos as a runnable document (kind ProgressiveChaos): the `progressive_chaos` block,
 * unchanged, plus the engine whose faults each stage runs with PODS_AFFECTED_PERC = chaos_percentage and
 * TOTAL_CHAOS_DURATION = duration. Stages run in dependency order; a cycle or an unknown depends_on is refused.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { engineRefSchema } from './reference.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import type { ExperimentSpec, ProgressiveSpec } from './spec.js';
import { DEFAULT_LOAD_CONTEXT, type LoadContext } from './litmus.js';
import { formatMs } from './duration.js';

/** "5 minutes", "90 seconds", "1 hour", "2h", "30m", "45s". */
export function parseHumanDuration(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const u = m[2].toLowerCase();
  const mult = u === 'ms' ? 1 : u.startsWith('s') ? 1000 : u.startsWith('m') ? 60_000 : 3_600_000;
  return Math.round(n * mult);
}

const stageSchema = z
  .object({
    name: z.string().min(1).max(256),
    chaos_percentage: z.number().int('must be a whole number from 0 to 100 (it becomes PODS_AFFECTED_PERC)').min(0).max(100),
    duration: z.string().min(1),
    success_threshold: z.number().min(0).max(1),
    depends_on: z.string().optional(),
  })
  .strict();

export const progressiveSchema = z.object({
  apiVersion: z.string().regex(/^tempest\.io\//, 'must be tempest.io/<version>'),
  kind: z.literal('ProgressiveChaos'),
  metadata: z.object({ name: z.string().min(1) }).passthrough(),
  spec: z.object({
    engine: engineRefSchema,
    progressive_chaos: z
      .record(z.string(), stageSchema)
      .refine((r) => Object.keys(r).length > 0, 'needs at least one stage')
      .refine((r) => Object.keys(r).length <= 20, 'at most 20 stages'),
  }),
});

export type ProgressiveDoc = z.infer<typeof progressiveSchema>;

export function engineFileOfProgressive(doc: ProgressiveDoc, file: string): string {
  return resolve(dirname(file), doc.spec.engine);
}

/** Stage ids become part of workflow ids. */
const STAGE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function toProgressive(doc: ProgressiveDoc, engine: ExperimentSpec, file: string, px = '', ctx: LoadContext = DEFAULT_LOAD_CONTEXT): ProgressiveSpec {
  const problems: ConfigProblem[] = [];
  // A Map: a depends_on such as "constructor" must not find Object.prototype.constructor.
  const stages = new Map(Object.entries(doc.spec.progressive_chaos));
  const at = (id: string, field: string) => `${px}spec.progressive_chaos.${id}.${field}`;
  const durations = new Map<string, number>();
  for (const [id, s] of stages) {
    if (!STAGE_ID.test(id))
      problems.push({
        file,
        path: `${px}spec.progressive_chaos`,
        message: 'stage ids are letters, digits, "_", ".", "-" (they become part of workflow ids)',
        value: id,
      });
    const ms = parseHumanDuration(s.duration);
    if (ms === undefined || ms <= 0)
      problems.push({ file, path: at(id, 'duration'), message: 'must be a duration like "5 minutes", "90 seconds" or "1 hour"', value: s.duration });
    else if (ms < 1000 || ms > ctx.limits.maxChaosDurationMs)
      problems.push({
        file,
        path: at(id, 'duration'),
        message: `must be from 1s to ${formatMs(ctx.limits.maxChaosDurationMs)} (limits.maxChaosDuration)`,
        value: s.duration,
      });
    else {
      durations.set(id, ms);
      // The stage runs every fault of the engine for this long: each one's CHAOS_INTERVAL must fit in it, or the
      // worker refuses the stage's experiment when the stage starts (after the earlier stages ran).
      for (const f of engine.faults) {
        if (f.intervalMs > ms)
          problems.push({
            file,
            path: at(id, 'duration'),
            message: `${formatMs(ms)} is shorter than the CHAOS_INTERVAL (${formatMs(f.intervalMs)}) of the engine's fault ${f.name}`,
            value: s.duration,
          });
      }
    }
    if (s.depends_on !== undefined && !stages.has(s.depends_on))
      problems.push({ file, path: at(id, 'depends_on'), message: `no stage named ${s.depends_on}`, value: s.depends_on });
  }
  // Dependency order (Kahn); a cycle is an error naming the stages in it.
  const order: string[] = [];
  const placed = new Set<string>();
  let progress = true;
  while (progress && order.length < stages.size) {
    progress = false;
    for (const [id, s] of stages) {
      if (placed.has(id)) continue;
      if (!s.depends_on || placed.has(s.depends_on) || !stages.has(s.depends_on)) {
        order.push(id);
        placed.add(id);
        progress = true;
      }
    }
  }
  if (order.length < stages.size) {
    const cyc = [...stages.keys()].filter((id) => !placed.has(id));
    problems.push({ file, path: `${px}spec.progressive_chaos`, message: `depends_on forms a cycle: ${cyc.join(' -> ')}` });
  }
  if (problems.length) throw new ConfigError(problems);
  return {
    name: doc.metadata.name,
    engine,
    stages: order.map((id) => {
      const st = stages.get(id)!;
      return {
        id,
        name: st.name,
        chaosPercentage: st.chaos_percentage,
        durationMs: durations.get(id)!,
        successThreshold: st.success_threshold,
        dependsOn: st.depends_on,
      };
    }),
  };
}

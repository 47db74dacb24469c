/**
 * The seed's monthly game day as a runnable document (kind GameDay): the `game_days` block unchanged, plus a
 * `catalog` saying what each named experiment is here — an engine file (run and reverted by Tempest) or a
 * manual step (carried out by the participants, reported with `tempest gameday complete`).
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { engineRefSchema } from './reference.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { parseHumanDuration } from './progressive.js';
import type { ExperimentSpec, GameDaySpec } from './spec.js';

export const gameDaySchema = z.object({
  apiVersion: z.string().regex(/^tempest\.io\//, 'must be tempest.io/<version>'),
  kind: z.literal('GameDay'),
  metadata: z.object({ name: z.string().min(1) }).passthrough(),
  spec: z.object({
    catalog: z.record(z.string(), z.union([z.object({ engine: engineRefSchema }).strict(), z.object({ manual: z.string().min(1) }).strict()])),
    game_days: z
      .object({
        frequency: z.string().optional(),
        duration: z.string(),
        participants: z.array(z.string()).default([]),
        scenarios: z
          .array(
            z
              .object({ name: z.string().min(1), description: z.string().optional(), duration: z.string(), experiments: z.array(z.string().min(1)).min(1) })
              .passthrough(),
          )
          .min(1),
      })
      .passthrough(),
  }),
});

export type GameDayDoc = z.infer<typeof gameDaySchema>;

/** `loadEngine` is passed in (config/load.ts owns file reading) to keep this module free of a cycle. */
/** Experiment names become part of workflow ids. */
/** A game day (and each of its scenarios) is a working day or a few: a week is the most that means anything. */
const MAX_GAME_DAY_MS = 7 * 24 * 3_600_000;

const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function toGameDay(doc: GameDayDoc, file: string, loadEngine: (f: string, path: string, ref: string) => ExperimentSpec, px = ''): GameDaySpec {
  const problems: ConfigProblem[] = [];
  const g = doc.spec.game_days;
  const dur = (v: string, path: string) => {
    const ms = parseHumanDuration(v);
    if (ms === undefined || !Number.isSafeInteger(ms) || ms <= 0 || ms > MAX_GAME_DAY_MS) {
      problems.push({ file, path, message: `must be a duration like "2 hours" or "30 minutes", at most ${MAX_GAME_DAY_MS / 3_600_000} hours`, value: v });
      return 0;
    }
    return ms;
  };
  // A Map: an experiment named "constructor" must not find Object.prototype.constructor.
  const catalog = new Map(Object.entries(doc.spec.catalog));
  const engines = new Map<string, ExperimentSpec>();
  for (const [name, entry] of catalog) {
    if (!STEP_NAME.test(name))
      problems.push({
        file,
        path: `${px}spec.catalog`,
        message: 'experiment names are letters, digits, "_", ".", "-" (they become part of workflow ids)',
        value: name,
      });
    if ('engine' in entry) {
      const f = resolve(dirname(file), entry.engine);
      try {
        engines.set(name, loadEngine(f, `${px}spec.catalog.${name}.engine`, entry.engine));
      } catch (e) {
        if (e instanceof ConfigError && e.problems.some((q) => /reference cycle|nest deeper/.test(q.message))) throw e;
        problems.push({ file, path: `${px}spec.catalog.${name}.engine`, message: `engine is not valid: ${(e as Error).message}`, value: entry.engine });
      }
    }
  }
  const spec: GameDaySpec = {
    name: doc.metadata.name,
    frequency: g.frequency,
    durationMs: dur(g.duration, `${px}spec.game_days.duration`),
    participants: g.participants,
    scenarios: g.scenarios.map((s, i) => ({
      name: s.name,
      description: s.description,
      durationMs: dur(s.duration, `${px}spec.game_days.scenarios[${i}].duration`),
      steps: s.experiments.flatMap((x, j): GameDaySpec['scenarios'][number]['steps'] => {
        const entry = catalog.get(x);
        if (!entry) {
          problems.push({
            file,
            path: `${px}spec.game_days.scenarios[${i}].experiments[${j}]`,
            message: `not in spec.catalog (known: ${[...catalog.keys()].join(', ').slice(0, 200) || 'none'})`,
            value: x,
          });
          return [];
        }
        if ('manual' in entry) return [{ experiment: x, kind: 'manual' as const, instructions: entry.manual }];
        const engine = engines.get(x);
        return engine ? [{ experiment: x, kind: 'engine' as const, engine }] : [];
      }),
    })),
  };
  const total = spec.scenarios.reduce((a, s) => a + s.durationMs, 0);
  if (!problems.length && total > spec.durationMs) {
    problems.push({
      file,
      path: `${px}spec.game_days.duration`,
      message: `scenarios take ${total / 60000} min, more than the game day's ${spec.durationMs / 60000} min`,
      value: g.duration,
    });
  }
  if (problems.length) throw new ConfigError(problems);
  return spec;
}

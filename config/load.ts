/**
 * Reading config files: YAML (one or more documents) -> typed, normalized specs.
 * Errors are ConfigErrors naming the file, the field path and the bad value.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ConfigError, zodProblems } from './errors.js';
import {
  chaosEngineSchema,
  chaosScheduleSchema,
  engineSpecToExperiment,
  experimentEntrySchema,
  normalizeFaultBlock,
} from './litmus.js';
import { parseDurationMs } from './duration.js';
import { applyHypothesis, engineFileOf, hypothesisSchema } from './hypothesis.js';
import type { ExperimentSpec, FaultSpec, GameDaySpec, ProgressiveSpec, ScheduleSpec } from './spec.js';
import { gameDaySchema, toGameDay } from './gameday.js';
import { engineFileOfProgressive, progressiveSchema, toProgressive } from './progressive.js';

export type LoadedDoc =
  | { kind: 'ChaosEngine'; experiment: ExperimentSpec }
  | { kind: 'ChaosSchedule'; schedule: ScheduleSpec }
  | { kind: 'FaultBlock'; faults: FaultSpec[] }
  | { kind: 'ChaosHypothesis'; experiment: ExperimentSpec }
  | { kind: 'ProgressiveChaos'; progressive: ProgressiveSpec }
  | { kind: 'GameDay'; gameDay: GameDaySpec };

/** Parse YAML text into plain JS documents; syntax errors carry line and column. */
export function parseYamlDocuments(text: string, file: string): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const out: unknown[] = [];
  for (const d of docs) {
    if (d.errors.length) {
      const e = d.errors[0];
      const pos = e.linePos?.[0];
      throw new ConfigError([
        { file: pos ? `${file}:${pos.line}:${pos.col}` : file, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` },
      ]);
    }
    const js = d.toJS();
    if (js !== null && js !== undefined) out.push(js);
  }
  if (!out.length) throw new ConfigError([{ file, path: '', message: 'file holds no YAML document' }]);
  return out;
}

function parseWith<T extends z.ZodTypeAny>(schema: T, doc: unknown, file: string, prefix: string): z.infer<T> {
  const r = schema.safeParse(doc);
  if (!r.success) throw new ConfigError(zodProblems(file, r.error, doc, prefix));
  return r.data;
}

const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

function hhmmToMin(s: string): number {
  const [h, m] = s.split(':').map(Number);
  return h * 60 + m;
}

/** One YAML document -> one typed spec. `index` is the document's position, for messages. */
export function loadDocument(doc: unknown, file: string, index = 0, multi = false): LoadedDoc {
  const prefix = multi ? `document ${index + 1}` : '';
  const px = multi ? `document ${index + 1}.` : '';
  if (Array.isArray(doc)) {
    const entries = parseWith(z.array(experimentEntrySchema).min(1), doc, file, prefix);
    return { kind: 'FaultBlock', faults: normalizeFaultBlock(entries, file, prefix) };
  }
  if (doc === null || typeof doc !== 'object') {
    throw new ConfigError([{ file, path: px.replace(/\.$/, ''), message: 'expected a ChaosEngine, a ChaosSchedule or a list of experiments', value: doc }]);
  }
  const kind = (doc as Record<string, unknown>).kind;
  if (kind === 'ChaosEngine') {
    const e = parseWith(chaosEngineSchema, doc, file, prefix);
    const ns = e.metadata.namespace ?? e.spec.appinfo.appns;
    return { kind: 'ChaosEngine', experiment: engineSpecToExperiment(e.metadata.name, ns, e.spec, file, `${px}spec`) };
  }
  if (kind === 'ChaosSchedule') {
    const s = parseWith(chaosScheduleSchema, doc, file, prefix);
    const ns = s.metadata.namespace ?? 'default';
    const engine = engineSpecToExperiment(s.metadata.name, ns, s.spec.engineTemplateSpec, file, `${px}spec.engineTemplateSpec`);
    const rep = s.spec.schedule.repeat;
    const problems = [];
    const days: number[] = [];
    for (const d of (rep?.workDays?.includedDays ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
      const n = DAYS[d.slice(0, 3)];
      if (n === undefined) problems.push({ file, path: `${px}spec.schedule.repeat.workDays.includedDays`, message: `unknown day "${d}" (use Mon,Tue,...)`, value: rep?.workDays?.includedDays });
      else days.push(n);
    }
    let minChaosIntervalMs = 0;
    if (rep?.minChaosInterval !== undefined) {
      const ms = parseDurationMs(rep.minChaosInterval, 's');
      if (ms === undefined || ms <= 0) problems.push({ file, path: `${px}spec.schedule.repeat.minChaosInterval`, message: 'must be a positive duration like "8h" or "30m"', value: rep.minChaosInterval });
      else minChaosIntervalMs = ms;
    }
    if (problems.length) throw new ConfigError(problems);
    const tr = rep?.timeRange;
    return {
      kind: 'ChaosSchedule',
      schedule: {
        name: s.metadata.name,
        namespace: ns,
        now: s.spec.schedule.now ?? false,
        window: tr?.startTime && tr?.endTime ? { startMin: hhmmToMin(tr.startTime), endMin: hhmmToMin(tr.endTime) } : undefined,
        days,
        minChaosIntervalMs,
        state: s.spec.scheduleState ?? 'active',
        engine,
      },
    };
  }
  if (kind === 'ChaosHypothesis') {
    const h = parseWith(hypothesisSchema, doc, file, prefix);
    const engineFile = engineFileOf(h, file);
    let engine: ExperimentSpec;
    try {
      engine = loadEngine(engineFile, h.spec.env);
    } catch (e) {
      if (e instanceof ConfigError && e.problems.every((q) => q.file !== engineFile)) throw e;
      if (e instanceof ConfigError) {
        throw new ConfigError([{ file, path: `${px}spec.engine`, message: `engine ${h.spec.engine} is not valid: ${e.message}`, value: h.spec.engine }]);
      }
      throw e;
    }
    return { kind: 'ChaosHypothesis', experiment: applyHypothesis(h, engine, file, px) };
  }
  if (kind === 'ProgressiveChaos') {
    const pdoc = parseWith(progressiveSchema, doc, file, prefix);
    const engineFile = engineFileOfProgressive(pdoc, file);
    const engine = loadEngine(engineFile);
    return { kind: 'ProgressiveChaos', progressive: toProgressive(pdoc, engine, file, px) };
  }
  if (kind === 'GameDay') {
    const gdoc = parseWith(gameDaySchema, doc, file, prefix);
    return { kind: 'GameDay', gameDay: toGameDay(gdoc, file, (f) => loadEngine(f), px) };
  }
  throw new ConfigError([
    { file, path: `${px}kind`, message: 'unsupported kind; expected ChaosEngine, ChaosSchedule, ChaosHypothesis, ProgressiveChaos, GameDay (or a list of experiments)', value: kind },
  ]);
}

export function loadText(text: string, file: string): LoadedDoc[] {
  const docs = parseYamlDocuments(text, file);
  return docs.map((d, i) => loadDocument(d, file, i, docs.length > 1));
}

export function loadFile(file: string): LoadedDoc[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, path: '', message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return loadText(text, file);
}

/** The single ChaosEngine a `tempest run` needs from a file, or a ConfigError saying why not. */
export function loadEngine(file: string, envOverrides?: Record<string, string | number>): ExperimentSpec {
  let docs: LoadedDoc[];
  if (envOverrides && Object.keys(envOverrides).length) {
    // Overrides go into the Litmus env lists before normalization, so they are validated like any env value.
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([{ file, path: '', message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
    }
    const raw = parseYamlDocuments(text, file).map((d) => withEnvOverrides(d, envOverrides));
    docs = raw.map((d, i) => loadDocument(d, file, i, raw.length > 1));
  } else {
    docs = loadFile(file);
  }
  const runnable = docs.filter((d): d is Extract<LoadedDoc, { kind: 'ChaosEngine' | 'ChaosHypothesis' }> => d.kind === 'ChaosEngine' || d.kind === 'ChaosHypothesis');
  if (runnable.length !== 1) {
    const what = docs.some((d) => d.kind === 'FaultBlock') ? ' (this file is a list of experiments: wrap it in a ChaosEngine with an appinfo)' : '';
    throw new ConfigError([{ file, path: '', message: `expected exactly one ChaosEngine or ChaosHypothesis document, found ${runnable.length}${what}` }]);
  }
  return runnable[0].experiment;
}

function withEnvOverrides(doc: unknown, env: Record<string, string | number>): unknown {
  const d = doc as { kind?: string; spec?: { experiments?: Array<{ spec?: { components?: { env?: Array<{ name: string; value?: unknown }> } } }> } };
  if (d?.kind !== 'ChaosEngine' || !Array.isArray(d.spec?.experiments)) return doc;
  for (const x of d.spec!.experiments!) {
    x.spec ??= {};
    x.spec.components ??= {};
    const list = (x.spec.components.env ??= []);
    for (const [name, value] of Object.entries(env)) {
      const e = list.find((v) => v.name === name);
      if (e) e.value = String(value);
      else list.push({ name, value: String(value) });
    }
  }
  return doc;
}

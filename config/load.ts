/**
 * Reading config files: YAML (one or more documents) -> typed, normalized specs.
 * Errors are ConfigErrors naming the file, the field path and the bad value.
 *
 * The reader is bounded, whatever the file: its size and document count (read before parsing), alias
 * expansion (an alias bomb stops at maxAliases), nesting depth, references between files (an engine a
 * hypothesis, progressive set or game day names: a cycle is reported with its chain, the depth is bounded,
 * a file referenced twice is read once). No key is ever looked up on an object's prototype.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Composer, LineCounter, Parser, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigError, zodProblems } from './errors.js';
import { DEFAULT_LOAD_CONTEXT, chaosEngineSchema, engineSpecToExperiment, experimentEntrySchema, normalizeFaultBlock, type LoadContext } from './litmus.js';
import { applyHypothesis, engineFileOf, hypothesisSchema } from './hypothesis.js';
import type { ExperimentSpec, FaultSpec, GameDaySpec, ProgressiveSpec, ScheduleSpec } from './spec.js';
import { gameDaySchema, toGameDay } from './gameday.js';
import { engineFileOfProgressive, progressiveSchema, toProgressive } from './progressive.js';
import { DEFAULT_DOCUMENT_LIMITS, type DocumentLimits } from './policy.js';
import { chaosScheduleSchema, toSchedule } from './schedule.js';

export type LoadedDoc =
  | { kind: 'ChaosEngine'; experiment: ExperimentSpec }
  | { kind: 'ChaosSchedule'; schedule: ScheduleSpec }
  | { kind: 'FaultBlock'; faults: FaultSpec[] }
  | { kind: 'ChaosHypothesis'; experiment: ExperimentSpec }
  | { kind: 'ProgressiveChaos'; progressive: ProgressiveSpec }
  | { kind: 'GameDay'; gameDay: GameDaySpec };

/** How a load is bounded; `chain` and `cache` are per top-level load (references between files). */
export interface LoadOptions extends Partial<LoadContext> {
  documentLimits?: DocumentLimits;
  /** Files being loaded, outermost first (cycle detection). */
  chain?: string[];
  /** Engines already loaded in this top-level load, by absolute file. */
  cache?: Map<string, ExperimentSpec>;
}

interface Ctx extends LoadContext {
  doc: DocumentLimits;
  chain: string[];
  cache: Map<string, ExperimentSpec>;
}

function ctxOf(o: LoadOptions = {}): Ctx {
  return {
    limits: o.limits ?? DEFAULT_LOAD_CONTEXT.limits,
    policy: o.policy,
    doc: o.documentLimits ?? DEFAULT_DOCUMENT_LIMITS,
    chain: o.chain ?? [],
    cache: o.cache ?? new Map(),
  };
}

const MAX_NESTING = 64;

/** Refuse keys that name an object's prototype, and absurd nesting, before any schema sees the document. */
function checkTree(v: unknown, file: string, where: string, depth = 0): void {
  if (v === null || typeof v !== 'object') return;
  if (depth > MAX_NESTING) throw new ConfigError([{ file, path: where, message: `nested deeper than ${MAX_NESTING} levels` }]);
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkTree(x, file, `${where}[${i}]`, depth + 1));
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
      throw new ConfigError([{ file, path: where ? `${where}.${k}` : k, message: `the key ${k} is not allowed` }]);
    }
    checkTree(x, file, where ? `${where}.${k}` : k, depth + 1);
  }
}

/** Parse YAML text into plain JS documents; syntax errors carry line and column. */
export function parseYamlDocuments(text: string, file: string, limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS): unknown[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw new ConfigError([{ file, path: '', message: `is ${bytes} bytes, more than the ${limits.maxBytes} a document may have (limits.document.maxBytes)` }]);
  // Compose document by document and stop past the limit (a file of 20 000 documents is not parsed whole).
  const lines = new LineCounter();
  const composer = new Composer({ uniqueKeys: true });
  const list: Document.Parsed[] = [];
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text))) {
    list.push(doc);
    if (list.length > limits.maxDocuments) throw new ConfigError([{ file, path: '', message: `holds more than ${limits.maxDocuments} YAML documents (limits.document.maxDocuments)` }]);
  }
  const out: unknown[] = [];
  list.forEach((d, i) => {
    const where = list.length > 1 ? `document ${i + 1}` : '';
    if (d.errors.length) {
      const e = d.errors[0];
      const pos = e.linePos?.[0] ?? (e.pos ? lines.linePos(e.pos[0]) : undefined);
      throw new ConfigError([{ file: pos ? `${file}:${pos.line}:${pos.col}` : file, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` }]);
    }
    let js: unknown;
    try {
      js = d.toJS({ maxAliasCount: limits.maxAliases });
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      const why = /Excessive alias count/.test(msg)
        ? `expands more than ${limits.maxAliases} aliases (limits.document.maxAliases): an alias bomb?`
        : /Unresolved alias/.test(msg)
          ? `${msg.replace(/\s*\(the anchor must be set before the alias\)/, '')} (an alias can only refer to an anchor earlier in the same document)`
          : `cannot be read: ${msg.split('\n')[0]}`;
      throw new ConfigError([{ file, path: where, message: why }]);
    }
    if (js !== null && js !== undefined) {
      checkTree(js, file, where);
      out.push(js);
    }
  });
  if (!out.length) throw new ConfigError([{ file, path: '', message: 'file holds no YAML document' }]);
  return out;
}

function parseWith<T extends z.ZodTypeAny>(schema: T, doc: unknown, file: string, prefix: string): z.infer<T> {
  const r = schema.safeParse(doc);
  if (!r.success) throw new ConfigError(zodProblems(file, r.error, doc, prefix));
  return r.data;
}

/** One YAML document -> one typed spec. `index` is the document's position, for messages. */
export function loadDocument(doc: unknown, file: string, index = 0, multi = false, opts: LoadOptions = {}): LoadedDoc {
  const c = ctxOf(opts);
  const prefix = multi ? `document ${index + 1}` : '';
  const px = multi ? `document ${index + 1}.` : '';
  if (Array.isArray(doc)) {
    const entries = parseWith(z.array(experimentEntrySchema).min(1), doc, file, prefix);
    return { kind: 'FaultBlock', faults: normalizeFaultBlock(entries, file, prefix, c) };
  }
  if (doc === null || typeof doc !== 'object') {
    throw new ConfigError([{ file, path: px.replace(/\.$/, ''), message: 'expected a ChaosEngine, a ChaosSchedule or a list of experiments', value: doc }]);
  }
  const kind = (doc as Record<string, unknown>).kind;
  if (kind === 'ChaosEngine') {
    const e = parseWith(chaosEngineSchema, doc, file, prefix);
    const ns = e.metadata.namespace || e.spec.appinfo.appns;
    return { kind: 'ChaosEngine', experiment: engineSpecToExperiment(e.metadata.name, ns, e.spec, file, `${px}spec`, c, px) };
  }
  if (kind === 'ChaosSchedule') {
    const s = parseWith(chaosScheduleSchema, doc, file, prefix);
    return { kind: 'ChaosSchedule', schedule: toSchedule(s, file, px, c) };
  }
  const refFail = (path: string, ref: string, target: string, e: unknown): never => {
    if (e instanceof ConfigError && e.problems.every((q) => !q.file.startsWith(target))) throw e; // a cycle or depth error from further down: pass on
    if (e instanceof ConfigError) throw new ConfigError([{ file, path, message: `engine ${ref} is not valid: ${e.message}`, value: ref }]);
    throw e;
  };
  if (kind === 'ChaosHypothesis') {
    const h = parseWith(hypothesisSchema, doc, file, prefix);
    const engineFile = engineFileOf(h, file);
    let engine: ExperimentSpec;
    try {
      engine = loadEngineIn(engineFile, c, h.spec.env, file, `${px}spec.engine`);
    } catch (e) {
      return refFail(`${px}spec.engine`, h.spec.engine, engineFile, e);
    }
    return { kind: 'ChaosHypothesis', experiment: applyHypothesis(h, engine, file, px, c) };
  }
  if (kind === 'ProgressiveChaos') {
    const pdoc = parseWith(progressiveSchema, doc, file, prefix);
    const engineFile = engineFileOfProgressive(pdoc, file);
    let engine: ExperimentSpec;
    try {
      engine = loadEngineIn(engineFile, c, undefined, file, `${px}spec.engine`);
    } catch (e) {
      return refFail(`${px}spec.engine`, pdoc.spec.engine, engineFile, e);
    }
    return { kind: 'ProgressiveChaos', progressive: toProgressive(pdoc, engine, file, px, c) };
  }
  if (kind === 'GameDay') {
    const gdoc = parseWith(gameDaySchema, doc, file, prefix);
    return { kind: 'GameDay', gameDay: toGameDay(gdoc, file, (f, path) => loadEngineIn(f, c, undefined, file, path), px) };
  }
  throw new ConfigError([
    { file, path: `${px}kind`, message: 'unsupported kind; expected ChaosEngine, ChaosSchedule, ChaosHypothesis, ProgressiveChaos, GameDay (or a list of experiments)', value: kind },
  ]);
}

export function loadText(text: string, file: string, opts: LoadOptions = {}): LoadedDoc[] {
  const c = ctxOf(opts);
  const docs = parseYamlDocuments(text, file, c.doc);
  return docs.map((d, i) => loadDocument(d, file, i, docs.length > 1, c));
}

/** Read a file, refusing one over the size limit before reading it. */
export function readDocumentFile(file: string, limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS): string {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ConfigError([{ file, path: '', message: 'is not a regular file' }]);
    if (st.size > limits.maxBytes) throw new ConfigError([{ file, path: '', message: `is ${st.size} bytes, more than the ${limits.maxBytes} a document may have (limits.document.maxBytes)` }]);
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([{ file, path: '', message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
}

export function loadFile(file: string, opts: LoadOptions = {}): LoadedDoc[] {
  const c = ctxOf(opts);
  return loadText(readDocumentFile(file, c.doc), file, { ...c, chain: [...c.chain, resolve(file)] });
}

/** The single ChaosEngine a `tempest run` needs from a file, or a ConfigError saying why not. */
export function loadEngine(file: string, envOverrides?: Record<string, string | number>, opts: LoadOptions = {}): ExperimentSpec {
  return loadEngineIn(file, ctxOf(opts), envOverrides);
}

/** loadEngine inside a load: follows the reference chain (cycles, depth) and the per-load cache. */
function loadEngineIn(file: string, c: Ctx, envOverrides?: Record<string, string | number>, from?: string, fromPath?: string): ExperimentSpec {
  const abs = resolve(file);
  if (c.chain.includes(abs)) {
    const chain = [...c.chain.slice(c.chain.indexOf(abs)), abs];
    throw new ConfigError([{ file: from ?? file, path: fromPath ?? '', message: `reference cycle: ${chain.join(' -> ')}` }]);
  }
  if (c.chain.length >= c.doc.maxDepth) {
    throw new ConfigError([{ file: from ?? file, path: fromPath ?? '', message: `references nest deeper than ${c.doc.maxDepth} files (limits.document.maxDepth): ${[...c.chain, abs].join(' -> ')}` }]);
  }
  const hasOverrides = !!envOverrides && Object.keys(envOverrides).length > 0;
  const cached = hasOverrides ? undefined : c.cache.get(abs);
  if (cached) return structuredClone(cached);
  const inner: Ctx = { ...c, chain: [...c.chain, abs] };
  const text = readDocumentFile(file, c.doc);
  let raw = parseYamlDocuments(text, file, c.doc);
  // Overrides go into the Litmus env lists before normalization, so they are validated like any env value.
  if (hasOverrides) raw = raw.map((d) => withEnvOverrides(d, envOverrides!));
  const docs = raw.map((d, i) => loadDocument(d, file, i, raw.length > 1, inner));
  const spec = runnableEngine(docs, file);
  if (!hasOverrides) c.cache.set(abs, structuredClone(spec));
  return spec;
}

/** The one ChaosEngine or ChaosHypothesis of a file's documents, or a ConfigError saying why not. */
export function runnableEngine(docs: LoadedDoc[], file: string): ExperimentSpec {
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
    if (x === null || typeof x !== 'object') continue;
    x.spec ??= {};
    x.spec.components ??= {};
    const list = (x.spec.components.env ??= []);
    if (!Array.isArray(list)) continue;
    for (const [name, value] of Object.entries(env)) {
      const e = list.find((v) => v && v.name === name);
      if (e) e.value = String(value);
      else list.push({ name, value: String(value) });
    }
  }
  return doc;
}

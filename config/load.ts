/**
 * Reading config files: YAML (one or more documents) -> typed, normalized specs.
 * Errors are ConfigErrors naming the file, the field path and the bad value.
 *
 * The reader is bounded, whatever the file: its size and document count (read before parsing), alias
 * expansion (an alias bomb stops at maxAliases), nesting depth, references between files (an engine a
 * hypothesis, progressive set or game day names: a cycle is reported with its chain, the depth is bounded,
 * a file referenced twice is read once). No key is ever looked up on an object's prototype.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Composer, LineCounter, Parser, isAlias, isCollection, isMap, isScalar, visit, type Document, type Node, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { ConfigError, zodProblems } from './errors.js';
import {
  DEFAULT_LOAD_CONTEXT,
  chaosEngineSchema,
  chaosExperimentSchema,
  engineSpecToExperiment,
  experimentDefaults,
  experimentEntrySchema,
  normalizeFaultBlock,
  stampProbeIdentity,
  type ExperimentDefaults,
  type LoadContext,
} from './litmus.js';
import { applyHypothesis, engineFileOf, hypothesisSchema } from './hypothesis.js';
import type { ExperimentSpec, FaultSpec, GameDaySpec, ProgressiveSpec, ScheduleSpec } from './spec.js';
import { gameDaySchema, toGameDay } from './gameday.js';
import { engineFileOfProgressive, progressiveSchema, toProgressive } from './progressive.js';
import { DEFAULT_DOCUMENT_LIMITS, cut, type DocumentLimits } from './policy.js';
import { chaosScheduleSchema, toSchedule } from './schedule.js';
import { validateExperimentSpec } from './validate-spec.js';
import { referencedFileRefusal } from './reference.js';

export type LoadedDoc =
  | { kind: 'ChaosEngine'; experiment: ExperimentSpec }
  | { kind: 'ChaosSchedule'; schedule: ScheduleSpec }
  | { kind: 'FaultBlock'; faults: FaultSpec[] }
  | { kind: 'ChaosHypothesis'; experiment: ExperimentSpec }
  | { kind: 'ProgressiveChaos'; progressive: ProgressiveSpec }
  | { kind: 'GameDay'; gameDay: GameDaySpec }
  | { kind: 'ChaosExperiment'; defaults: ExperimentDefaults };

/** How a load is bounded; `chain` and `cache` are per top-level load (references between files). */
export interface LoadOptions extends Partial<LoadContext> {
  documentLimits?: DocumentLimits;
  /** Files being loaded, outermost first (cycle detection). */
  chain?: string[];
  /** Engines already loaded in this top-level load, by absolute file. */
  cache?: Map<string, ExperimentSpec>;
  /**
   * Resolves the engine a ChaosHypothesis, ProgressiveChaos or GameDay names, instead of reading a file (the
   * controller: a ChaosEngine object of that name in the document's namespace). `env`: the hypothesis' overrides.
   */
  engineRef?: (ref: string, env: Record<string, string | number> | undefined, from: string, path: string) => ExperimentSpec;
}

interface Ctx extends LoadContext {
  doc: DocumentLimits;
  chain: string[];
  cache: Map<string, ExperimentSpec>;
  engineRef?: LoadOptions['engineRef'];
}

function ctxOf(o: LoadOptions = {}): Ctx {
  return {
    limits: o.limits ?? DEFAULT_LOAD_CONTEXT.limits,
    policy: o.policy,
    experiments: o.experiments,
    doc: o.documentLimits ?? DEFAULT_DOCUMENT_LIMITS,
    chain: o.chain ?? [],
    cache: o.cache ?? new Map(),
    engineRef: o.engineRef,
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

/**
 * The first mapping key that repeats an earlier one, as the JS object would see it (`1` and `"1"`, an alias to
 * "name" and `name`), or that is a list or a mapping (the JS object would get its text), with why; or undefined.
 * yaml's own uniqueKeys compares every key with every earlier one (20 000 keys took seconds, 60 000 minutes);
 * this is one pass over the document and one Set per mapping.
 */
function badKey(doc: Document.Parsed, nodes: { count: number; max: number }): { key?: Node; why: string } | undefined {
  const anchors = new Map<string, Node>();
  const aliased = new Map<Node, Node | undefined>();
  const maps: YAMLMap[] = [];
  let over = false;
  visit(doc, {
    // In document order: an alias names the last anchor of that name before it.
    Node(_, n) {
      if (++nodes.count > nodes.max) {
        over = true;
        return visit.BREAK;
      }
      if (isAlias(n)) aliased.set(n, anchors.get(n.source));
      else if (n.anchor) anchors.set(n.anchor, n);
      if (isMap(n)) maps.push(n);
    },
  });
  if (over) return { why: `holds more than ${nodes.max} YAML nodes (limits.document.maxNodes)` };
  const id = (k: unknown): unknown => {
    const n = isAlias(k) ? (aliased.get(k) ?? k) : k;
    return isScalar(n) ? (n.value === null ? '' : String(n.value)) : n;
  };
  for (const m of maps) {
    const seen = new Set<unknown>();
    for (const { key } of m.items) {
      const k = id(key);
      if (isCollection(k)) return { key: key as Node, why: 'a mapping key must be a plain value, not a list or a mapping' };
      if (seen.has(k)) return { key: key as Node, why: 'Map keys must be unique' };
      seen.add(k);
    }
  }
  return undefined;
}

/**
 * Before the parser sees the text: flow collections nested deeper than MAX_NESTING (`[[[[...`: the parser
 * recurses per level, 100 000 levels is a stack overflow after seconds), and far more structure than maxNodes
 * (a 1 MiB list of 400 000 numbers is 5 s of parsing before its nodes can be counted). Counted: brackets,
 * commas, line breaks, and `- ` / `: ` indicators. A bracket inside a quoted string counts too, so the bounds
 * are loose on purpose: 64 unclosed brackets in a row, or 8 x maxNodes separators, is not a chaos document.
 */
function prescan(text: string, file: string, limits: DocumentLimits): void {
  let depth = 0;
  let structure = 0;
  const maxStructure = limits.maxNodes * 8;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5b || ch === 0x7b) {
      if (++depth > MAX_NESTING) throw new ConfigError([{ file, path: '', message: `nests flow collections ([ or {) deeper than ${MAX_NESTING} levels` }]);
      structure++;
    } else if (ch === 0x5d || ch === 0x7d) {
      if (depth > 0) depth--;
    } else if (ch === 0x2c || ch === 0x0a) {
      structure++;
    } else if (ch === 0x3a || ch === 0x2d) {
      const next = text.charCodeAt(i + 1);
      if (next === 0x20 || next === 0x0a || Number.isNaN(next)) structure++;
    }
  }
  if (structure > maxStructure) {
    throw new ConfigError([
      {
        file,
        path: '',
        message: `has ${structure} separators and line breaks, far more structure than ${limits.maxNodes} YAML nodes need (limits.document.maxNodes)`,
      },
    ]);
  }
}

/** Parse YAML text into plain JS documents; syntax errors carry line and column. */
export function parseYamlDocuments(text: string, file: string, limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS): unknown[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes)
    throw new ConfigError([{ file, path: '', message: `is ${bytes} bytes, more than the ${limits.maxBytes} a document may have (limits.document.maxBytes)` }]);
  prescan(text, file, limits);
  // Compose document by document and stop past the limit (a file of 20 000 documents is not parsed whole).
  const lines = new LineCounter();
  const composer = new Composer({ uniqueKeys: false }); // badKey() below, in linear time
  const list: Document.Parsed[] = [];
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text))) {
    list.push(doc);
    if (list.length > limits.maxDocuments)
      throw new ConfigError([{ file, path: '', message: `holds more than ${limits.maxDocuments} YAML documents (limits.document.maxDocuments)` }]);
  }
  const out: unknown[] = [];
  const nodes = { count: 0, max: limits.maxNodes };
  list.forEach((d, i) => {
    const where = list.length > 1 ? `document ${i + 1}` : '';
    if (d.errors.length) {
      const e = d.errors[0];
      const pos = e.linePos?.[0] ?? (e.pos ? lines.linePos(e.pos[0]) : undefined);
      throw new ConfigError([{ file: pos ? `${file}:${pos.line}:${pos.col}` : file, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` }]);
    }
    const bad = badKey(d, nodes);
    if (bad && !bad.key) throw new ConfigError([{ file, path: where, message: bad.why }]);
    if (bad?.key) {
      const pos = bad.key.range ? lines.linePos(bad.key.range[0]) : undefined;
      throw new ConfigError([{ file: pos ? `${file}:${pos.line}:${pos.col}` : file, path: '', message: `YAML syntax error: ${bad.why}` }]);
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

const PLAN_KEYS = new Map([
  ['steadyState', 'steady_state'],
  ['successCriteria', 'success_criteria'],
  ['experiment', 'experiment'],
  ['rollbackPlan', 'rollback_plan'],
]);

/**
 * The worker's own check of a hypothesis' spec: applyHypothesis adds the template's probes and plan to the engine,
 * and the strict shape bounds what the hypothesis schema does not (20 probes per fault, plan entries of 1024
 * characters, 100 of them). Problems are reported at the experiment_template entry they come from.
 */
function checkedHypothesis(spec: ExperimentSpec, file: string, px: string, c: Ctx): ExperimentSpec {
  const r = validateExperimentSpec(spec, c.limits, c.policy, file);
  if (r.ok) return spec;
  throw new ConfigError(
    r.problems.map((q) => {
      const m = /^hypothesisPlan\.(\w+)(.*)$/.exec(q.path);
      const key = m ? PLAN_KEYS.get(m[1]) : undefined;
      return key
        ? { ...q, path: `${px}spec.experiment_template.${key}${m![2]}` }
        : { ...q, path: `${px}spec.experiment_template`, message: `${q.path}: ${q.message}` };
    }),
  );
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
  if (kind === 'ChaosExperiment') {
    return { kind: 'ChaosExperiment', defaults: experimentDefaults(parseWith(chaosExperimentSchema, doc, file, prefix), file, px) };
  }
  if (kind === 'ChaosSchedule') {
    const s = parseWith(chaosScheduleSchema, doc, file, prefix);
    return { kind: 'ChaosSchedule', schedule: toSchedule(s, file, px, c) };
  }
  const refFail = (path: string, ref: string, target: string, e: unknown): never => {
    // A cycle or depth error, from here or further down: pass on as it is (not wrapped once per file of the chain).
    if (e instanceof ConfigError && (e.problems.every((q) => !q.file.startsWith(target)) || e.problems.some((q) => REF_CHAIN.test(q.message)))) throw e;
    if (e instanceof ConfigError) throw new ConfigError([{ file, path, message: `engine ${cut(ref)} is not valid: ${e.message}`, value: ref }]);
    throw e;
  };
  if (kind === 'ChaosHypothesis') {
    const h = parseWith(hypothesisSchema, doc, file, prefix);
    const engineFile = c.engineRef ? h.spec.engine : engineFileOf(h, file);
    let engine: ExperimentSpec;
    try {
      engine = c.engineRef
        ? c.engineRef(h.spec.engine, h.spec.env, file, `${px}spec.engine`)
        : loadEngineIn(engineFile, c, h.spec.env, file, `${px}spec.engine`);
    } catch (e) {
      return refFail(`${px}spec.engine`, h.spec.engine, engineFile, e);
    }
    const applied = applyHypothesis(h, engine, file, px, c);
    stampProbeIdentity(applied); // the probes the hypothesis adds act as the engine's account too
    return { kind: 'ChaosHypothesis', experiment: checkedHypothesis(applied, file, px, c) };
  }
  if (kind === 'ProgressiveChaos') {
    const pdoc = parseWith(progressiveSchema, doc, file, prefix);
    const engineFile = c.engineRef ? pdoc.spec.engine : engineFileOfProgressive(pdoc, file);
    let engine: ExperimentSpec;
    try {
      engine = c.engineRef
        ? c.engineRef(pdoc.spec.engine, undefined, file, `${px}spec.engine`)
        : loadEngineIn(engineFile, c, undefined, file, `${px}spec.engine`);
    } catch (e) {
      return refFail(`${px}spec.engine`, pdoc.spec.engine, engineFile, e);
    }
    return { kind: 'ProgressiveChaos', progressive: toProgressive(pdoc, engine, file, px, c) };
  }
  if (kind === 'GameDay') {
    const gdoc = parseWith(gameDaySchema, doc, file, prefix);
    return {
      kind: 'GameDay',
      gameDay: toGameDay(gdoc, file, (f, path, ref) => (c.engineRef ? c.engineRef(ref, undefined, file, path) : loadEngineIn(f, c, undefined, file, path)), px),
    };
  }
  throw new ConfigError([
    {
      file,
      path: `${px}kind`,
      message: 'unsupported kind; expected ChaosEngine, ChaosExperiment, ChaosSchedule, ChaosHypothesis, ProgressiveChaos, GameDay (or a list of experiments)',
      value: kind,
    },
  ]);
}

export function loadText(text: string, file: string, opts: LoadOptions = {}): LoadedDoc[] {
  const c = ctxOf(opts);
  const docs = parseYamlDocuments(text, file, c.doc);
  const inner = withExperiments(docs, file, c);
  return docs.map((d, i) => loadDocument(d, file, i, docs.length > 1, inner));
}

/**
 * The ChaosExperiments among a file's documents, added to the load's own (a Litmus user keeps `fault.yaml` next to
 * `engine.yaml`: put both in one file, `---` between them). Their env is the default of the engines' faults of the
 * same name, wherever in the file the engine is. Two of the same name in one file are an error.
 */
function withExperiments(docs: unknown[], file: string, c: Ctx): Ctx {
  const multi = docs.length > 1;
  const found = new Map<string, ExperimentDefaults>(c.experiments ?? []);
  const mine = new Set<string>();
  docs.forEach((d, i) => {
    if (d === null || typeof d !== 'object' || Array.isArray(d) || (d as Record<string, unknown>).kind !== 'ChaosExperiment') return;
    const loaded = loadDocument(d, file, i, multi, c) as Extract<LoadedDoc, { kind: 'ChaosExperiment' }>;
    const name = loaded.defaults.name;
    if (mine.has(name))
      throw new ConfigError([
        { file, path: `${multi ? `document ${i + 1}.` : ''}metadata.name`, message: `a second ChaosExperiment named ${name} in this file`, value: name },
      ]);
    mine.add(name);
    found.set(name, loaded.defaults);
  });
  return mine.size ? { ...c, experiments: found } : c;
}

/**
 * Read a file, refusing one over the size limit before reading it, and reading at most the limit + 1 byte: a file
 * may hold more than its size says (/proc/self/pagemap: size 0, terabytes to read). Opened non-blocking and
 * checked on the open descriptor, so a FIFO or a device swapped in after the check cannot make the read hang.
 */
export function readDocumentFile(file: string, limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError([{ file, path: '', message: 'is not a regular file' }]);
    if (st.size > limits.maxBytes)
      throw new ConfigError([
        { file, path: '', message: `is ${st.size} bytes, more than the ${limits.maxBytes} a document may have (limits.document.maxBytes)` },
      ]);
    const buf = Buffer.alloc(limits.maxBytes + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > limits.maxBytes)
      throw new ConfigError([{ file, path: '', message: `reads as more than the ${limits.maxBytes} bytes a document may have (limits.document.maxBytes)` }]);
    return buf.toString('utf8', 0, n);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([{ file, path: '', message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  } finally {
    if (fd !== undefined) closeSync(fd);
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

const KINDS = new Set(['ChaosEngine', 'ChaosSchedule', 'ChaosHypothesis', 'ProgressiveChaos', 'GameDay', 'ChaosExperiment']);

/** The messages of loadEngineIn's own refusals, passed on unchanged by the files that lead to them. */
const REF_CHAIN = /^(reference cycle|references nest deeper than)/;

/** A chain of files for a message: relative to the first file's folder when that is shorter (a line stays readable). */
function showChain(files: string[]): string {
  const base = dirname(files[0]);
  return files
    .map((f) => {
      const r = relative(base, f);
      return r && r.length < f.length ? r : f;
    })
    .join(' -> ');
}

/** loadEngine inside a load: follows the reference chain (cycles, depth) and the per-load cache. */
function loadEngineIn(file: string, c: Ctx, envOverrides?: Record<string, string | number>, from?: string, fromPath?: string): ExperimentSpec {
  const abs = resolve(file);
  if (c.chain.includes(abs)) {
    const chain = [...c.chain.slice(c.chain.indexOf(abs)), abs];
    throw new ConfigError([{ file: from ?? file, path: fromPath ?? '', message: `reference cycle: ${showChain(chain)}` }]);
  }
  if (c.chain.length >= c.doc.maxDepth) {
    throw new ConfigError([
      {
        file: from ?? file,
        path: fromPath ?? '',
        message: `references nest deeper than ${c.doc.maxDepth} files (limits.document.maxDepth): ${showChain([...c.chain, abs])}`,
      },
    ]);
  }
  const refused = from ? referencedFileRefusal(abs) : undefined;
  if (refused) throw new ConfigError([{ file: from!, path: fromPath ?? '', message: `engine ${cut(file)} ${refused}` }]);
  const hasOverrides = !!envOverrides && Object.keys(envOverrides).length > 0;
  const cached = hasOverrides ? undefined : c.cache.get(abs);
  if (cached) return structuredClone(cached);
  // A ChaosExperiment gives defaults to the engines of its own file only: never to a file it is referenced from
  // or that references it (a GameDay's or ProgressiveChaos' author has no env channel into the engine it names).
  const inner: Ctx = { ...c, chain: [...c.chain, abs], experiments: undefined };
  const text = readDocumentFile(file, c.doc);
  let raw = parseYamlDocuments(text, file, c.doc);
  if (from) {
    // A referenced file that is not one of ours is refused without a word of what it holds (reference.ts).
    const i = raw.findIndex((d) => !Array.isArray(d) && !(d !== null && typeof d === 'object' && KINDS.has(String((d as Record<string, unknown>).kind))));
    if (i >= 0)
      throw new ConfigError([
        {
          file: from,
          path: fromPath ?? '',
          message: `engine ${cut(file)} is not a Tempest or Litmus document (document ${i + 1} has no known kind; its content is not shown)`,
        },
      ]);
  }
  // Overrides go into the Litmus env lists before normalization, so they are validated like any env value.
  if (hasOverrides) raw = raw.map((d) => withEnvOverrides(d, envOverrides!));
  const withDefaults = withExperiments(raw, file, inner);
  const docs = raw.map((d, i) => loadDocument(d, file, i, raw.length > 1, withDefaults));
  const spec = runnableEngine(docs, file);
  if (!hasOverrides) c.cache.set(abs, structuredClone(spec));
  return spec;
}

/** The one ChaosEngine or ChaosHypothesis of a file's documents, or a ConfigError saying why not. */
export function runnableEngine(docs: LoadedDoc[], file: string): ExperimentSpec {
  const runnable = docs.filter(
    (d): d is Extract<LoadedDoc, { kind: 'ChaosEngine' | 'ChaosHypothesis' }> => d.kind === 'ChaosEngine' || d.kind === 'ChaosHypothesis',
  );
  if (runnable.length !== 1) {
    const what = docs.some((d) => d.kind === 'FaultBlock') ? ' (this file is a list of experiments: wrap it in a ChaosEngine with an appinfo)' : '';
    throw new ConfigError([{ file, path: '', message: `expected exactly one ChaosEngine or ChaosHypothesis document, found ${runnable.length}${what}` }]);
  }
  return runnable[0].experiment;
}

/** A hypothesis' env overrides, into a ChaosEngine document's env lists (validated with them). */
export function withEnvOverrides(doc: unknown, env: Record<string, string | number>): unknown {
  const d = doc as { kind?: string; spec?: { experiments?: Array<{ spec?: { components?: { env?: Array<{ name: string; value?: unknown }> } } }> } };
  if (d?.kind !== 'ChaosEngine' || !Array.isArray(d.spec?.experiments)) return doc;
  // Only into objects: a spec or components of another type is left as it is, for the schema to refuse.
  const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);
  for (const x of d.spec!.experiments!) {
    if (!isObject(x)) continue;
    x.spec ??= {};
    if (!isObject(x.spec)) continue;
    x.spec.components ??= {};
    if (!isObject(x.spec.components)) continue;
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

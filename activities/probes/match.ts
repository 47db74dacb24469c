/**
 * Pattern matching that cannot hold the worker's event loop.
 *
 * RE2 (re2js) matches in linear time, but linear in program size x text length: a 1 KiB pattern from YAML
 * against a 1 MiB response body is tens of seconds of synchronous work, during which no activity heartbeats
 * and no other probe runs. A match whose cost is within INLINE_MATCH_BUDGET runs inline (the common case:
 * `(?i)ready` against a health page); a costlier one runs in a worker thread, and a deadline terminates that
 * thread: the probe then answers a probe error naming the pattern and the size, never a hung worker.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Comparator, StringCriteria } from '../../config/spec.js';
import { INLINE_MATCH_BUDGET, compare, compareString, quote, toRegExp, type CheckResult, type CompareOptions } from './comparators.js';

/** How long a costly match may run in its thread before it is terminated. */
export const MATCH_DEADLINE_MS = 5_000;

const RE2JS_CJS = createRequire(import.meta.url).resolve('re2js');

/** The thread: compile and match once, answer `{ matched }` or `{ error }`. CommonJS, so no loader is needed. */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { RE2JS } = require(workerData.re2js);
try {
  parentPort.postMessage({ matched: RE2JS.compile(workerData.pattern).matcher(workerData.text).find() });
} catch (e) {
  parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
}
`;

export type MatchAnswer = { matched: boolean } | { error: string };

export interface MatchOptions {
  deadlineMs?: number;
  /** the probe attempt's signal: aborting it terminates the thread */
  signal?: AbortSignal;
}

/** Does `pattern` (Go RE2) match somewhere in `text`? Inline when cheap, else in a thread with a deadline. */
export async function matchPattern(pattern: string, text: string, opts: MatchOptions = {}): Promise<MatchAnswer> {
  const re = toRegExp(pattern);
  if ('error' in re) return { error: `bad regular expression: ${re.error}` };
  if (re.cost(text.length) <= INLINE_MATCH_BUDGET) return { matched: re.test(text) };
  const deadlineMs = opts.deadlineMs ?? MATCH_DEADLINE_MS;
  return new Promise<MatchAnswer>((resolve) => {
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { re2js: RE2JS_CJS, pattern, text }, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    let done = false;
    const finish = (a: MatchAnswer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      resolve(a);
    };
    const onAbort = (): void => finish({ error: `matching /${pattern.slice(0, 80)}/ was cancelled with the probe attempt` });
    const timer = setTimeout(
      () =>
        finish({
          error: `matching /${pattern.slice(0, 80)}/ against ${text.length} characters took longer than ${deadlineMs} ms and was stopped (the pattern is too costly for this much text)`,
        }),
      deadlineMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    worker.once('message', (m: MatchAnswer) => finish(m));
    worker.once('error', (e) => finish({ error: `matching thread failed: ${e.message}` }));
    worker.once('exit', (code) => finish({ error: `matching thread exited with code ${code}` }));
  });
}

/** compareString, with a pattern criteria matched by matchPattern (so never too costly for the event loop). */
export async function compareStringBounded(
  actual: string,
  criteria: StringCriteria,
  value: string,
  opts: CompareOptions & MatchOptions = {},
): Promise<CheckResult> {
  if (criteria !== 'matches' && criteria !== 'notMatches') return compareString(actual, criteria, value, opts);
  const m = await matchPattern(value, actual, opts);
  if ('error' in m) return { ok: false, invalid: true, reason: `invalid comparator ${criteria} ${quote(value)}: ${m.error}` };
  return compareString(actual, criteria, value, { ...opts, matched: m.matched });
}

/** compare, with a pattern criteria matched by matchPattern. */
export async function compareBounded(actual: string, comparator: Comparator, opts: Omit<CompareOptions, 'integer'> & MatchOptions = {}): Promise<CheckResult> {
  if (comparator.type !== 'string' || (comparator.criteria !== 'matches' && comparator.criteria !== 'notMatches')) return compare(actual, comparator, opts);
  const m = await matchPattern(comparator.value, actual, opts);
  if ('error' in m) return { ok: false, invalid: true, reason: `invalid comparator ${comparator.criteria} ${quote(comparator.value)}: ${m.error}` };
  return compare(actual, comparator, { ...opts, matched: m.matched });
}

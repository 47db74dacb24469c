/**
 * Litmus comparators as pure functions.
 *
 * PURE: no I/O, no Node built-ins, no clocks. Workflow code may import this file.
 *
 * Every function answers `{ ok, reason }`; invalid comparator input (a `between` with one value, a bad regex,
 * a non-number where a number is needed) is `ok: false` with a reason naming the problem, never an exception.
 */
import { RE2JS } from 're2js';
import type { Comparator, NumericCriteria, StringCriteria } from '../../config/spec.js';

export interface CheckResult {
  ok: boolean;
  reason: string;
  /** Set when the comparator itself is unusable (bad list, bad regex, unknown criteria): a probe error, not a verdict. */
  invalid?: true;
}

export interface CompareOptions {
  /** What the actual value is, for the reason: `value` (default), `response code`, `response time (ms)`... */
  subject?: string;
  /** Integer comparator (Litmus `type: int`): the actual value and the expected values must be integers. */
  integer?: boolean;
  /**
   * For `matches`/`notMatches`: whether the pattern matched, already computed off the event loop
   * (probes/match.ts) because matching it here would cost more than INLINE_MATCH_BUDGET.
   */
  matched?: boolean;
}

export const NUMERIC_CRITERIA: readonly NumericCriteria[] = ['>=', '<=', '>', '<', '==', '!=', 'oneOf', 'between'];
export const STRING_CRITERIA: readonly StringCriteria[] = ['equal', 'notEqual', 'contains', 'matches', 'notMatches', 'oneOf'];

const MAX_SHOWN = 120;

/** Quote a string for a reason, escaping control characters and truncating long values. */
export function quote(s: string): string {
  const shown = s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…(${s.length} chars)` : s;
  return JSON.stringify(shown);
}

/**
 * Parse a Litmus list value: `"[1,2]"`, `"1,2"`, `'["a","b"]'`, `"[a, b]"`.
 * Answers undefined when the brackets are unbalanced.
 */
export function parseList(value: string): string[] | undefined {
  let s = value.trim();
  if (s.startsWith('[') || s.endsWith(']')) {
    if (!(s.startsWith('[') && s.endsWith(']'))) return undefined;
    try {
      const parsed: unknown = JSON.parse(s);
      if (Array.isArray(parsed)) return parsed.map((x) => String(x));
    } catch {
      /* not JSON, e.g. [a, b]: split below */
    }
    s = s.slice(1, -1);
  }
  if (s.trim() === '') return [];
  return s.split(',').map((item) => unquote(item.trim()));
}

function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1);
  return s;
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INF_RE = /^([+-]?)inf(inity)?$/i;

/**
 * Parse a number the way Go's strconv does for Litmus: ints are decimal integers; floats also accept
 * exponents and `Inf`/`+Inf`/`-Inf` (Prometheus writes those). `NaN` is not a number here.
 */
export function parseNumber(s: string, integer = false): number | undefined {
  const t = s.trim();
  if (integer) return INT_RE.test(t) ? Number(t) : undefined;
  if (FLOAT_RE.test(t)) return Number(t);
  const inf = INF_RE.exec(t);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return undefined;
}

function fmtNum(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function invalid(criteria: string, value: string, problem: string): CheckResult {
  return { ok: false, invalid: true, reason: `invalid comparator ${criteria} ${quote(value)}: ${problem}` };
}

/** Compare a number with a Litmus numeric criteria and its expected value(s), e.g. `compareNumeric(0.73, '<', '0.5')`. */
export function compareNumeric(actual: number, criteria: NumericCriteria, value: string, opts: CompareOptions = {}): CheckResult {
  const subject = opts.subject ?? 'value';
  const integer = opts.integer ?? false;
  const kind = integer ? 'an integer' : 'a number';
  if (typeof actual !== 'number' || Number.isNaN(actual)) return { ok: false, reason: `${subject} ${String(actual)} is not a number` };
  if (integer && !Number.isInteger(actual)) return { ok: false, reason: `${subject} ${fmtNum(actual)} is not an integer` };
  const verdict = (ok: boolean, expected: string): CheckResult => ({
    ok,
    reason: `${subject} ${fmtNum(actual)} ${ok ? 'is' : 'is not'} ${criteria} ${expected}`,
  });

  if (criteria === 'oneOf' || criteria === 'between') {
    const items = parseList(value);
    if (items === undefined) return invalid(criteria, value, 'unbalanced brackets in list');
    const nums = items.map((i) => parseNumber(i, integer));
    const bad = items.find((_, i) => nums[i] === undefined);
    if (bad !== undefined) return invalid(criteria, value, `${quote(bad)} is not ${kind}`);
    const list = nums as number[];
    if (criteria === 'oneOf') {
      if (list.length === 0) return invalid(criteria, value, 'oneOf needs at least one value');
      return verdict(list.includes(actual), `[${list.map(fmtNum).join(', ')}]`);
    }
    if (list.length !== 2) return invalid(criteria, value, `between needs exactly 2 values, got ${list.length}`);
    const [lo, hi] = list as [number, number];
    if (lo > hi) return invalid(criteria, value, `between needs low <= high, got ${fmtNum(lo)} > ${fmtNum(hi)}`);
    return verdict(actual >= lo && actual <= hi, `[${fmtNum(lo)}, ${fmtNum(hi)}]`);
  }

  const expected = parseNumber(value, integer);
  if (expected === undefined) return invalid(criteria, value, `not ${kind}`);
  const shown = fmtNum(expected);
  switch (criteria) {
    case '>=':
      return verdict(actual >= expected, shown);
    case '<=':
      return verdict(actual <= expected, shown);
    case '>':
      return verdict(actual > expected, shown);
    case '<':
      return verdict(actual < expected, shown);
    case '==':
      return verdict(actual === expected, shown);
    case '!=':
      return verdict(actual !== expected, shown);
    default:
      return { ok: false, invalid: true, reason: `unknown numeric criteria ${quote(String(criteria))} (expected one of ${NUMERIC_CRITERIA.join(', ')})` };
  }
}

/** A compiled Litmus pattern: Go RE2 syntax and semantics, matched in linear time (re2js), unanchored like Go's MatchString. */
export interface Pattern {
  test(s: string): boolean;
  /**
   * The work a match against `length` characters may take, in NFA steps (program size x length): linear,
   * but a 1 KiB pattern such as `(a?){120}a{120}$` has 600 instructions, and 600 x 1 MiB holds the event
   * loop for ~20 s. Above INLINE_MATCH_BUDGET a probe matches in a worker thread with a deadline.
   */
  cost(length: number): number;
}

/** Longest pattern accepted from YAML. */
export const MAX_PATTERN_LENGTH = 1024;

/** NFA steps (program size x text length) matched inline, on the event loop: ~0.3 s at worst. */
export const INLINE_MATCH_BUDGET = 10_000_000;

/**
 * Compile a Litmus (Go RE2) pattern with RE2's own engine: no backtracking, so no pattern from YAML can hold the
 * worker's event loop (a JS RegExp such as `(a+)+$` is exponential). Inline flags such as `(?i)` are RE2 syntax.
 */
export function toRegExp(pattern: string): Pattern | { error: string } {
  if (pattern.length > MAX_PATTERN_LENGTH) return { error: `pattern longer than ${MAX_PATTERN_LENGTH} characters` };
  try {
    const re = RE2JS.compile(pattern);
    const size = programSize(re);
    return { test: (s: string) => re.matcher(s).find(), cost: (length: number) => size * Math.max(1, length) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** The compiled program's instruction count (re2js keeps it on the compiled RE2; a conservative guess if not). */
function programSize(re: RE2JS): number {
  const prog = (re as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog?.inst;
  return Array.isArray(prog) ? prog.length : MAX_PATTERN_LENGTH * 4;
}

/** Compare a string with a Litmus string criteria, e.g. `compareString(out, 'contains', 'accepting connections')`. */
export function compareString(actual: string, criteria: StringCriteria, value: string, opts: CompareOptions = {}): CheckResult {
  const subject = opts.subject ?? 'value';
  const say = (ok: boolean, phrase: string, expected: string, note = ''): CheckResult => ({
    ok,
    reason: `${subject} ${quote(actual)} ${phrase} ${expected}${ok ? '' : note}`,
  });
  switch (criteria) {
    case 'equal': {
      const ok = actual === value;
      return say(ok, ok ? 'equals' : 'does not equal', quote(value));
    }
    case 'notEqual': {
      const ok = actual !== value;
      return say(ok, ok ? 'does not equal' : 'equals', quote(value), ' (criteria notEqual)');
    }
    case 'contains': {
      const ok = actual.includes(value);
      return say(ok, ok ? 'contains' : 'does not contain', quote(value));
    }
    case 'matches':
    case 'notMatches': {
      const re = toRegExp(value);
      if ('error' in re) return invalid(criteria, value, `bad regular expression: ${re.error}`);
      if (opts.matched === undefined && re.cost(actual.length) > INLINE_MATCH_BUDGET) {
        return invalid(criteria, value, `matching it against ${actual.length} characters is too costly to do inline (use probes/match.ts)`);
      }
      const matched = opts.matched ?? re.test(actual);
      const ok = criteria === 'matches' ? matched : !matched;
      return say(ok, matched ? 'matches' : 'does not match', `/${value}/`, criteria === 'notMatches' ? ' (criteria notMatches)' : '');
    }
    case 'oneOf': {
      const items = parseList(value);
      if (items === undefined) return invalid(criteria, value, 'unbalanced brackets in list');
      if (items.length === 0) return invalid(criteria, value, 'oneOf needs at least one value');
      const ok = items.includes(actual);
      return say(ok, ok ? 'is oneOf' : 'is not oneOf', `[${items.map(quote).join(', ')}]`);
    }
    default:
      return { ok: false, invalid: true, reason: `unknown string criteria ${quote(String(criteria))} (expected one of ${STRING_CRITERIA.join(', ')})` };
  }
}

/**
 * Compare a probe's raw output with a typed Litmus comparator. For int/float the output is parsed first;
 * output that is not a number fails with a reason (Litmus: `strconv.Atoi`/`ParseFloat` error).
 */
export function compare(actual: string, comparator: Comparator, opts: Omit<CompareOptions, 'integer'> = {}): CheckResult {
  const subject = opts.subject ?? 'value';
  switch (comparator.type) {
    case 'string':
      return compareString(actual, comparator.criteria, comparator.value, { subject, matched: opts.matched });
    case 'int':
    case 'float': {
      const integer = comparator.type === 'int';
      const n = parseNumber(actual, integer);
      if (n === undefined) return { ok: false, reason: `${subject} ${quote(actual)} is not ${integer ? 'an int' : 'a float'}` };
      return compareNumeric(n, comparator.criteria, comparator.value, { subject, integer });
    }
    default:
      return {
        ok: false,
        invalid: true,
        reason: `unknown comparator type ${quote(String((comparator as { type: unknown }).type))} (expected int, float or string)`,
      };
  }
}

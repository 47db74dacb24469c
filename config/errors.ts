import type { ZodError, ZodIssue } from 'zod';

/** One problem in a config file: where (file + field path), what, and the bad value. */
export interface ConfigProblem {
  file: string;
  path: string;
  message: string;
  value?: unknown;
}

/** Raised for every bad input. `tempest` prints `message` and exits 2 without starting anything. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const shown = problems.slice(0, MAX_SHOWN_PROBLEMS).map(formatProblem);
    if (problems.length > MAX_SHOWN_PROBLEMS) shown.push(`… and ${problems.length - MAX_SHOWN_PROBLEMS} more problems`);
    super(
      shown
        .join('\n')
        .split('\n')
        .map((l) => cutEnd(l, MAX_LINE))
        .join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Problems a message lists (a list of 400 000 wrong entries is not 400 000 lines). */
const MAX_SHOWN_PROBLEMS = 20;

/** Longest line of a ConfigError's message, and the most of a file name or field path it shows. */
const MAX_LINE = 500;
const MAX_WHERE = 200;
const cutEnd = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** A file name keeps its end (the base name). */
const cutStart = (s: string, n: number) => (s.length > n ? `…${s.slice(s.length - n + 1)}` : s);

/** One line per problem (a 100 kB key in a path or a 5 kB file name is cut, like a long value). */
export function formatProblem(p: ConfigProblem): string {
  const file = cutStart(p.file, MAX_WHERE);
  const where = p.path ? `${file}: ${cutEnd(p.path, MAX_WHERE)}` : file;
  const got = p.value === undefined ? '' : ` (got ${showValue(p.value)})`;
  return `${where}: ${p.message}${got}`;
}

/** A bad value as a message shows it: long values are cut (a 1 MB value is never echoed whole). */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return v.length > 80 ? `${JSON.stringify(`${v.slice(0, 77)}…`)} (${v.length} characters)` : JSON.stringify(v);
  if (v === null) return 'null';
  if (typeof v === 'object') {
    let s: string;
    try {
      s = JSON.stringify(v);
    } catch {
      s = Array.isArray(v) ? '[…]' : '{…}'; // a cycle (a recursive alias) or a bigint
    }
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  }
  return String(v);
}

/** `experiments[0].spec.components.env` style path from zod's path array. */
export function pathToString(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_][\w]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** Join a rendered path prefix (e.g. `document 2`) and a rendered sub-path: `document 2.spec`, `document 2[0]`. */
export function joinPath(prefix: string, sub: string): string {
  if (!prefix) return sub;
  if (!sub) return prefix;
  return sub.startsWith('[') ? prefix + sub : `${prefix}.${sub}`;
}

/** Turn zod issues into problems that name the field path and the bad value found there. */
export function zodProblems(file: string, err: ZodError, root: unknown, prefix = ''): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  const visit = (issue: ZodIssue) => {
    if (issue.code === 'invalid_union') {
      // Report the branch that got furthest instead of "Invalid input".
      const best = issue.unionErrors
        .map((e) => e.issues)
        .sort((a, b) => Math.max(...b.map((i) => i.path.length)) - Math.max(...a.map((i) => i.path.length)))[0];
      if (best && best.length) return best.forEach(visit);
    }
    if (issue.code === 'unrecognized_keys') {
      // Name each unknown key as the path; the enclosing object is not "the bad value".
      for (const k of issue.keys) out.push({ file, path: joinPath(prefix, pathToString([...issue.path, k])), message: 'unknown key' });
      return;
    }
    const path = joinPath(prefix, pathToString(issue.path));
    const key = path + '|' + issue.message;
    if (seen.has(key)) return;
    seen.add(key);
    // A literal secret where a reference belongs is reported without its value.
    const value = issue.code === 'custom' && issue.params?.secret ? undefined : valueAt(root, issue.path);
    out.push({
      file,
      path,
      message: issue.code === 'invalid_type' && value === undefined ? 'is required' : issue.message,
      value: value === undefined ? undefined : value,
    });
  };
  err.issues.forEach(visit);
  return out;
}

/**
 * Kubernetes label selectors, field selectors and name validators, after k8s.io/apimachinery
 * (pkg/labels Parse, pkg/fields ParseSelector, pkg/util/validation), restricted to what Tempest accepts.
 * PURE: no node: imports, no I/O, no dependencies — it is bundled into Temporal workflow code.
 */

export type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin';
/** values: sorted + deduped for in/notin; [v] for = and !=; [] for exists / !exists. */
export interface Requirement {
  key: string;
  op: LabelOp;
  values: string[];
}
export interface LabelSelector {
  requirements: Requirement[];
  /** canonical text (canonicalLabelSelector) */ text: string;
}
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export const MAX_SELECTOR_LENGTH = 1024;
export const MAX_REQUIREMENTS = 32;

// ---------------------------------------------------------------------------------------------------------
// Name validators (pkg/util/validation). Lengths are checked before the regexes so these stay linear.

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return typeof s === 'string' && s.length <= 63 && DNS_LABEL.test(s);
}

/** As IsDNS1123Subdomain: the whole name <= 253; like Kubernetes, no separate 63 limit per dot-separated part. */
export function isDnsSubdomain(s: string): boolean {
  return typeof s === 'string' && s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** Why `k` is not a label key ([prefix/]name), or undefined when it is one. */
function keyProblem(k: string): string | undefined {
  const parts = k.split('/');
  if (parts.length > 2) return 'it has more than one /';
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    if (parts[0] === '') return 'its prefix before / is empty';
    if (parts[0].length > 253) return 'its prefix is longer than 253 characters';
    if (!DNS_SUBDOMAIN.test(parts[0])) return 'its prefix is not a lowercase DNS subdomain';
  }
  if (name === '') return 'its name is empty';
  if (name.length > 63) return 'its name is longer than 63 characters';
  if (!QUALIFIED_NAME.test(name)) return 'its name must use [A-Za-z0-9._-] and start and end with a letter or digit';
  return undefined;
}

function valueProblem(v: string): string | undefined {
  if (v.length > 63) return 'it is longer than 63 characters';
  if (v !== '' && !QUALIFIED_NAME.test(v)) return 'it must use [A-Za-z0-9._-] and start and end with a letter or digit';
  return undefined;
}

export function isLabelKey(k: string): boolean {
  return typeof k === 'string' && keyProblem(k) === undefined;
}

export function isLabelValue(v: string): boolean {
  return typeof v === 'string' && valueProblem(v) === undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Shared helpers

/** Quote a piece of input for an error message: at most 40 characters, non-printable ASCII escaped. */
function show(s: string): string {
  const esc = s.slice(0, 40).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  return `'${esc}${s.length > 40 ? '…' : ''}'`;
}

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** Thrown inside the label-selector parser only; always caught and turned into a Parsed error. */
class SelectorError {
  constructor(readonly message: string) {}
}

// ---------------------------------------------------------------------------------------------------------
// Label selectors (pkg/labels Parse)

type TokenType = 'id' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '<' | '>' | 'end';
interface Token {
  t: TokenType;
  v: string;
  col: number;
}

/**
 * Identifiers are runs of the characters keys and values may contain (plus '/'); keys and values are
 * validated afterwards. `in`/`notin` are lexed as identifiers: as in apimachinery they are keywords only in
 * operator position, so `in in (notin)` is a valid selector. Only ASCII space separates tokens: tabs,
 * newlines and every other control character are errors.
 */
const ID_RUN = /[A-Za-z0-9._/-]+/y;

function lexer(s: string) {
  let i = 0;
  let peeked: Token | undefined;
  const read = (): Token => {
    while (s[i] === ' ') i++;
    const col = i + 1;
    if (i >= s.length) return { t: 'end', v: '', col };
    ID_RUN.lastIndex = i;
    const m = ID_RUN.exec(s);
    if (m) {
      i += m[0].length;
      return { t: 'id', v: m[0], col };
    }
    const two = s.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      i += 2;
      return { t: two, v: two, col };
    }
    const c = s[i];
    if ('!=(),<>'.includes(c)) {
      i++;
      return { t: c as TokenType, v: c, col };
    }
    throw new SelectorError(`unexpected character ${show(String.fromCodePoint(s.codePointAt(i)!))} at column ${col}`);
  };
  return {
    peek: (): Token => (peeked ??= read()),
    next: (): Token => {
      const t = peeked ?? read();
      peeked = undefined;
      return t;
    },
  };
}

const describeToken = (t: Token): string => (t.t === 'end' ? 'end of input' : show(t.v));

export function parseLabelSelector(s: string): Parsed<LabelSelector> {
  if (typeof s !== 'string') return fail('label selector: must be a string');
  if (s.length > MAX_SELECTOR_LENGTH) return fail(`label selector: ${s.length} characters is over the limit of ${MAX_SELECTOR_LENGTH}`);
  const lx = lexer(s);
  const requirements: Requirement[] = [];
  const err = (msg: string, t: Token) => new SelectorError(`${msg} at column ${t.col}`);

  const key = (t: Token): string => {
    if (t.t !== 'id') throw err(`expected a label key but found ${describeToken(t)}`, t);
    const problem = keyProblem(t.v);
    if (problem) throw err(`invalid label key ${show(t.v)} (${problem})`, t);
    return t.v;
  };
  const value = (t: Token): string => {
    const problem = valueProblem(t.v);
    if (problem) throw err(`invalid label value ${show(t.v)} (${problem})`, t);
    return t.v;
  };

  // requirement := '!' key | key [ ('=' | '==' | '!=') [value] | ('in' | 'notin') '(' value {',' value} ')' ]
  const requirement = (): Requirement => {
    const first = lx.next();
    if (first.t === '!') return { key: key(lx.next()), op: '!exists', values: [] };
    const k = key(first);
    const op = lx.peek();
    if (op.t === ',' || op.t === 'end') return { key: k, op: 'exists', values: [] };
    lx.next();
    if (op.t === '=' || op.t === '==' || op.t === '!=') {
      // An exact value may be empty (`tier=`): then the next token already ends the requirement.
      const v = lx.peek();
      let val = '';
      if (v.t === 'id') val = value(lx.next());
      else if (v.t !== ',' && v.t !== 'end') throw err(`expected a value after ${show(op.v)} but found ${describeToken(v)}`, v);
      return { key: k, op: op.t === '!=' ? '!=' : '=', values: [val] };
    }
    if (op.t === '<' || op.t === '>') throw err(`operator ${show(op.v)} (Gt/Lt) is not supported; use =, !=, in or notin`, op);
    if (op.t !== 'id' || (op.v !== 'in' && op.v !== 'notin')) {
      throw err(`expected an operator (=, ==, !=, in, notin) or ',' after key ${show(k)} but found ${describeToken(op)}`, op);
    }
    const open = lx.next();
    if (open.t !== '(') throw err(`expected '(' after ${op.v} but found ${describeToken(open)}`, open);
    const values = new Set<string>();
    for (;;) {
      const v = lx.next();
      if (v.t === ')' && values.size === 0) throw err(`'${op.v}' needs at least one value`, v);
      if (v.t !== 'id') throw err(`expected a value (set values cannot be empty) but found ${describeToken(v)}`, v);
      values.add(value(v));
      const sep = lx.next();
      if (sep.t === ')') break;
      if (sep.t !== ',') throw err(`expected ',' or ')' in the ${op.v} list but found ${describeToken(sep)}`, sep);
    }
    return { key: k, op: op.v, values: [...values].sort() };
  };

  let current = 1; // the requirement being read, for error messages
  try {
    // Empty (or all-space) text: no requirements, selects everything.
    if (lx.peek().t !== 'end') {
      for (; ; current++) {
        if (current > MAX_REQUIREMENTS) throw err(`more than ${MAX_REQUIREMENTS} requirements`, lx.peek());
        requirements.push(requirement());
        const t = lx.next();
        if (t.t === 'end') break;
        if (t.t !== ',') throw err(`expected ',' or end of input but found ${describeToken(t)}`, t);
      }
    }
  } catch (e) {
    if (!(e instanceof SelectorError)) throw e;
    return fail(`label selector: ${e.message} (requirement ${current})`);
  }
  const normal = normalize(requirements);
  return { ok: true, value: { requirements: normal, text: normal.map(format).join(',') } };
}

const OP_RANK: Record<LabelOp, number> = { exists: 0, '!exists': 1, '=': 2, '!=': 3, in: 4, notin: 5 };
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0); // code-unit order, locale-free
const one = (r: Requirement): string => r.values[0] ?? '';

function format(r: Requirement): string {
  switch (r.op) {
    case 'exists':
      return r.key;
    case '!exists':
      return `!${r.key}`;
    case '=':
    case '!=':
      return `${r.key}${r.op}${one(r)}`;
    default:
      return `${r.key} ${r.op} (${r.values.join(',')})`;
  }
}

/** Copies sorted by key, op, then text; set values sorted and deduped; identical requirements dropped. */
function normalize(reqs: Requirement[]): Requirement[] {
  const rows = reqs.map((r) => {
    const values = r.op === 'in' || r.op === 'notin' ? [...new Set(r.values)].sort(cmp) : r.op === '=' || r.op === '!=' ? [one(r)] : [];
    const n: Requirement = { key: r.key, op: r.op, values };
    return { n, text: format(n) };
  });
  rows.sort((a, b) => cmp(a.n.key, b.n.key) || OP_RANK[a.n.op] - OP_RANK[b.n.op] || cmp(a.text, b.text));
  return rows.filter((r, i) => i === 0 || r.text !== rows[i - 1].text).map((r) => r.n);
}

export function canonicalLabelSelector(sel: LabelSelector): string {
  return normalize(sel.requirements).map(format).join(',');
}

/** Kubernetes semantics: `!=` and `notin` also match objects without the key; `=` and `in` need it. */
export function matchesLabels(sel: LabelSelector, labels: Record<string, string>): boolean {
  return sel.requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key); // own keys only: `constructor` is a valid label key
    const v = has ? labels[r.key] : '';
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && v === one(r);
      case '!=':
        return !has || v !== one(r);
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
    }
  });
}

/** Does target requirement `t` (same key) imply allowed requirement `r`? Only the listed implications. */
function implies(t: Requirement, r: Requirement): boolean {
  const tv = t.values;
  const v = one(r);
  switch (r.op) {
    case '=':
      return (t.op === '=' && one(t) === v) || (t.op === 'in' && tv.length > 0 && tv.every((x) => x === v));
    case 'in':
      return (t.op === '=' && r.values.includes(one(t))) || (t.op === 'in' && tv.every((x) => r.values.includes(x)));
    case '!=':
      return (
        (t.op === '=' && one(t) !== v) ||
        (t.op === 'in' && !tv.includes(v)) ||
        (t.op === '!=' && one(t) === v) ||
        (t.op === 'notin' && tv.includes(v)) ||
        t.op === '!exists'
      );
    case 'notin':
      return (
        (t.op === '=' && !r.values.includes(one(t))) ||
        (t.op === 'in' && !tv.some((x) => r.values.includes(x))) ||
        (t.op === 'notin' && r.values.every((x) => tv.includes(x))) ||
        t.op === '!exists'
      );
    case 'exists':
      return t.op === 'exists' || t.op === '=' || t.op === 'in';
    case '!exists':
      return t.op === '!exists';
  }
}

/** Sound, conservative: true only if every object `target` selects is also selected by `allowed`. */
export function selectorWithin(target: LabelSelector, allowed: LabelSelector): boolean {
  return allowed.requirements.every((r) => target.requirements.some((t) => t.key === r.key && implies(t, r)));
}

// ---------------------------------------------------------------------------------------------------------
// Field selectors (pkg/fields ParseSelector), for k8sProbe fieldSelector.
// Stricter than apimachinery: no backslash escapes, no whitespace, no empty terms (`a=b,,c=d`), because the
// text is passed to the API server as written and must mean there exactly what it was validated as.

const FIELD = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)*$/;
const FIELD_VALUE = /^[A-Za-z0-9._:/-]*$/;
const FIELD_BAD_CHAR = /[^A-Za-z0-9._:/!=,-]/u;
// As apimachinery's splitTerm: the first `!=`, `==` or `=` is the operator (neither field nor value may hold `!`/`=`).
const FIELD_TERM = /^([^!=]*)(!=|==|=)(.*)$/;

export function parseFieldSelector(s: string): Parsed<FieldRequirement[]> {
  if (typeof s !== 'string') return fail('field selector: must be a string');
  if (s.length > MAX_SELECTOR_LENGTH) return fail(`field selector: ${s.length} characters is over the limit of ${MAX_SELECTOR_LENGTH}`);
  if (s === '') return { ok: true, value: [] };
  const bad = FIELD_BAD_CHAR.exec(s);
  if (bad) {
    const req = s.slice(0, bad.index).split(',').length;
    return fail(`field selector: unexpected character ${show(bad[0])} at column ${bad.index + 1} (requirement ${req})`);
  }
  const parts = s.split(',');
  if (parts.length > MAX_REQUIREMENTS) return fail(`field selector: ${parts.length} requirements is over the limit of ${MAX_REQUIREMENTS}`);
  const out: FieldRequirement[] = [];
  let col = 1;
  for (const [i, part] of parts.entries()) {
    const where = (c: number) => `at column ${c} (requirement ${i + 1})`;
    const m = FIELD_TERM.exec(part);
    if (!m) {
      return fail(
        part === ''
          ? `field selector: empty requirement ${where(col)}`
          : `field selector: expected field=value, field==value or field!=value but found ${show(part)} ${where(col)}`,
      );
    }
    const [, field, op, value] = m;
    if (field.length > 128 || !FIELD.test(field)) {
      const why =
        field === ''
          ? 'it is empty'
          : field.length > 128
            ? 'it is longer than 128 characters'
            : 'expected dot-separated [A-Za-z0-9_-] segments, each starting with a letter or digit';
      return fail(`field selector: invalid field name ${show(field)} (${why}) ${where(col)}`);
    }
    if (value.length > 253 || !FIELD_VALUE.test(value)) {
      const why = value.length > 253 ? 'it is longer than 253 characters' : 'it may only use [A-Za-z0-9._:/-]';
      return fail(`field selector: invalid value ${show(value)} (${why}) ${where(col + field.length + op.length)}`);
    }
    out.push({ field, op: op === '!=' ? '!=' : '=', value });
    col += part.length + 1;
  }
  return { ok: true, value: out };
}

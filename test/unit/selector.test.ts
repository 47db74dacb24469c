/** Kubernetes label / field selector parsing and name validation (config/selector.ts). */
import {
  MAX_REQUIREMENTS,
  MAX_SELECTOR_LENGTH,
  canonicalLabelSelector,
  isDnsLabel,
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorWithin,
  type LabelSelector,
} from '../../config/selector.js';

function sel(s: string): LabelSelector {
  const p = parseLabelSelector(s);
  if (!p.ok) throw new Error(`fixture ${JSON.stringify(s)} does not parse: ${p.error}`);
  return p.value;
}

function errorOf(s: string): string {
  const p = parseLabelSelector(s);
  if (p.ok) throw new Error(`${JSON.stringify(s)} parsed as ${p.value.text}`);
  return p.error;
}

const reqs = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');

test('limits', () => {
  expect(MAX_SELECTOR_LENGTH).toBe(1024);
  expect(MAX_REQUIREMENTS).toBe(32);
});

describe('parseLabelSelector: valid selectors and their canonical text', () => {
  test.each<[string, string]>([
    ['', ''],
    ['   ', ''],
    ['app.kubernetes.io/name=api-gateway', 'app.kubernetes.io/name=api-gateway'],
    ['app in (a,b)', 'app in (a,b)'],
    ['app in (b, a)', 'app in (a,b)'],
    ['app in ( a , b , a )', 'app in (a,b)'],
    ['env notin (prod)', 'env notin (prod)'],
    ['env notin (prod,dev)', 'env notin (dev,prod)'],
    ['!canary', '!canary'],
    ['! canary', '!canary'],
    ['tier', 'tier'],
    ['a=b,c!=d', 'a=b,c!=d'],
    ['c!=d,a=b', 'a=b,c!=d'],
    ['app == x', 'app=x'],
    ['app==x', 'app=x'],
    ['app = x', 'app=x'],
    ['tier=', 'tier='],
    ['tier!=', 'tier!='],
    ['tier=,app=x', 'app=x,tier='],
    ['a , b', 'a,b'],
    ['a=b,a=b', 'a=b'],
    ['x=1,x,!y,x in (1),x!=2,x notin (3)', 'x,x=1,x!=2,x in (1),x notin (3),!y'],
    ['example.com/tier=web', 'example.com/tier=web'],
    ['A_b.c-D=Z_9.x-Y', 'A_b.c-D=Z_9.x-Y'],
    ['in in (notin)', 'in in (notin)'],
    ['in=in', 'in=in'],
    ['notin', 'notin'],
    ['constructor=x', 'constructor=x'],
    [`${'k'.repeat(63)}=${'v'.repeat(63)}`, `${'k'.repeat(63)}=${'v'.repeat(63)}`],
    [`${'p'.repeat(63)}.${'q'.repeat(63)}/${'k'.repeat(63)}`, `${'p'.repeat(63)}.${'q'.repeat(63)}/${'k'.repeat(63)}`],
  ])('%j → %j', (input, text) => {
    const p = sel(input);
    expect(p.text).toBe(text);
    expect(canonicalLabelSelector(p)).toBe(text);
    expect(sel(text).text).toBe(text); // canonical text is a fixed point
  });

  test('requirements: = for ==, values sorted and deduped', () => {
    expect(sel('app == x, tier in (web,api,web), !canary, env notin (b,a), ready').requirements).toEqual([
      { key: 'app', op: '=', values: ['x'] },
      { key: 'canary', op: '!exists', values: [] },
      { key: 'env', op: 'notin', values: ['a', 'b'] },
      { key: 'ready', op: 'exists', values: [] },
      { key: 'tier', op: 'in', values: ['api', 'web'] },
    ]);
    expect(sel('').requirements).toEqual([]);
    expect(sel('tier=').requirements).toEqual([{ key: 'tier', op: '=', values: [''] }]);
  });

  test(`exactly ${MAX_REQUIREMENTS} requirements and ${MAX_SELECTOR_LENGTH} characters are fine`, () => {
    expect(sel(reqs(32)).requirements).toHaveLength(32);
    const long = `a in (${Array.from({ length: 200 }, (_, i) => `v${i}`).join(',')})`.slice(0, MAX_SELECTOR_LENGTH - 1);
    const text = long.slice(0, long.lastIndexOf(',')) + ')';
    expect(parseLabelSelector(text.padEnd(MAX_SELECTOR_LENGTH, ' ')).ok).toBe(true);
  });
});

describe('parseLabelSelector: invalid selectors', () => {
  test.each<[string, RegExp]>([
    ['..', /invalid label key '\.\.'/],
    ['../kube-system', /invalid label key '\.\.\/kube-system' \(its prefix is not a lowercase DNS subdomain\)/],
    ['a/b/c', /more than one \//],
    ['/a', /prefix before \/ is empty/],
    ['a/', /name is empty/],
    ['Example.com/a', /prefix is not a lowercase DNS subdomain/],
    ['-a', /invalid label key '-a'/],
    ['a.', /invalid label key 'a\.'/],
    ['a=b;c', /unexpected character ';' at column 4 \(requirement 1\)/],
    ['a b', /expected an operator .* after key 'a' but found 'b' at column 3/],
    ['app in ()', /'in' needs at least one value/],
    ['app notin ()', /'notin' needs at least one value/],
    ['app in (a', /expected ',' or '\)' in the in list but found end of input/],
    ['app in (a,)', /set values cannot be empty/],
    ['app in (,a)', /set values cannot be empty/],
    ['app in (a b)', /expected ',' or '\)'/],
    ['app in a', /expected '\(' after in but found 'a'/],
    ['app in', /expected '\(' after in but found end of input/],
    ['app in (a))', /expected ',' or end of input but found '\)'/],
    ['=x', /expected a label key but found '=' at column 1 \(requirement 1\)/],
    ['!', /expected a label key but found end of input/],
    ['!!a', /expected a label key but found '!'/],
    ['!a=b', /expected ',' or end of input but found '='/],
    ['a=$(id)', /unexpected character '\$' at column 3/],
    ['a=`id`', /unexpected character '`'/],
    ['a="b"', /unexpected character '"'/],
    ["a='b'", /unexpected character '''/],
    ['a=b\nc=d', /unexpected character '\\u\{a\}' at column 4/],
    ['a=b\tc', /unexpected character '\\u\{9\}'/],
    ['a=\u0000', /unexpected character '\\u\{0\}'/],
    ['a=é', /unexpected character '\\u\{e9\}'/],
    ['a=b=c', /expected ',' or end of input but found '='/],
    ['a=(b)', /expected a value after '=' but found '\('/],
    ['a=b/c', /invalid label value 'b\/c'/],
    ['a=-b', /invalid label value '-b'/],
    ['a,', /expected a label key but found end of input at column 3 \(requirement 2\)/],
    [',a', /expected a label key but found ','/],
    ['a,,b', /expected a label key but found ',' at column 3 \(requirement 2\)/],
    ['a=b,c d', /requirement 2/],
    ['a>1', /operator '>' \(Gt\/Lt\) is not supported/],
    ['a < 1', /operator '<' \(Gt\/Lt\) is not supported/],
    ['a=b || c', /unexpected character '\|'/],
    [`${'k'.repeat(64)}=v`, /its name is longer than 63 characters/],
    [`k=${'v'.repeat(64)}`, /invalid label value .* \(it is longer than 63 characters\)/],
    [`app in (a,${'v'.repeat(64)})`, /longer than 63 characters/],
    [`${'p'.repeat(254)}/k`, /prefix is longer than 253 characters/],
    [reqs(33), /more than 32 requirements .*\(requirement 33\)/],
    ['a=b,'.repeat(500).slice(0, 2000), /2000 characters is over the limit of 1024/],
    ['a'.repeat(2000), /over the limit/],
  ])('%j is refused', (input, message) => {
    expect(errorOf(input)).toMatch(message);
  });

  test('errors are one short line and never echo more than 80 characters of the input', () => {
    const inputs = [`${'k'.repeat(300)}=v`, `k=${'v'.repeat(300)}`, `${'k'.repeat(200)} ${'x'.repeat(200)}`, `k in (${'v'.repeat(900)}`];
    for (const input of inputs) {
      const e = errorOf(input);
      expect(e).not.toMatch(/\n/);
      expect(e.length).toBeLessThan(250);
      const longestRun = Math.max(...(e.match(/[kvx]+/g) ?? ['']).map((r) => r.length));
      expect(longestRun).toBeLessThanOrEqual(40);
    }
  });
});

describe('matchesLabels (Kubernetes semantics)', () => {
  const labels = { app: 'web', tier: 'frontend', 'app.kubernetes.io/name': 'api-gateway', empty: '' };
  test.each<[string, Record<string, string>, boolean]>([
    ['', {}, true],
    ['', labels, true],
    ['app=web', labels, true],
    ['app=api', labels, false],
    ['app=web', {}, false],
    ['app!=api', labels, true],
    ['app!=web', labels, false],
    ['app!=web', {}, true], // != matches objects without the key
    ['app in (api,web)', labels, true],
    ['app in (api,db)', labels, false],
    ['app in (web)', {}, false],
    ['app notin (api,db)', labels, true],
    ['app notin (web)', labels, false],
    ['app notin (web)', {}, true], // notin matches objects without the key
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['empty=', labels, true],
    ['empty', labels, true],
    ['empty!=', labels, false],
    ['missing=', labels, false],
    ['app.kubernetes.io/name=api-gateway,app=web,tier', labels, true],
    ['app.kubernetes.io/name=api-gateway,app=db', labels, false],
    ['constructor', {}, false], // own keys only
    ['constructor!=x', {}, true],
    ['toString=x', {}, false],
  ])('%j on %j → %p', (s, l, expected) => {
    expect(matchesLabels(sel(s), l)).toBe(expected);
  });
});

describe('selectorWithin(target, allowed)', () => {
  test.each<[string, string, boolean]>([
    // anything is within an empty allowed selector; an empty target is within nothing else
    ['', '', true],
    ['app=a', '', true],
    ['!x,y notin (z)', '', true],
    ['', 'app=a', false],
    ['', 'app', false],
    // allowed k=v
    ['app=a', 'app=a', true],
    ['app == a', 'app=a', true],
    ['app in (a)', 'app=a', true],
    ['app in (a,b)', 'app=a', false],
    ['app=b', 'app=a', false],
    ['app', 'app=a', false],
    ['app!=b', 'app=a', false],
    ['app=a,tier=web', 'app=a', true],
    ['tier=web', 'app=a', false],
    ['app=a', 'app=a,tier=web', false],
    ['app=a,tier=web', 'app=a,tier=web', true],
    ['app=a,tier in (web)', 'tier=web,app=a', true],
    // allowed k in (A)
    ['app=a', 'app in (a,b)', true],
    ['app=c', 'app in (a,b)', false],
    ['app in (a)', 'app in (a,b)', true],
    ['app in (a,b)', 'app in (a,b)', true],
    ['app in (a,c)', 'app in (a,b)', false],
    ['app', 'app in (a,b)', false],
    ['app notin (c)', 'app in (a,b)', false],
    ['app in (c),app=a', 'app in (a,b)', true], // one requirement on the key is enough
    // allowed k!=v
    ['app=a', 'app!=b', true],
    ['app=b', 'app!=b', false],
    ['app in (a,c)', 'app!=b', true],
    ['app in (a,b)', 'app!=b', false],
    ['app!=b', 'app!=b', true],
    ['app!=c', 'app!=b', false],
    ['app notin (b,c)', 'app!=b', true],
    ['app notin (c)', 'app!=b', false],
    ['!app', 'app!=b', true],
    ['app', 'app!=b', false],
    ['tier=x', 'app!=b', false], // conservative: the key must be constrained
    // allowed k notin (A)
    ['app=c', 'app notin (a,b)', true],
    ['app=a', 'app notin (a,b)', false],
    ['app in (c,d)', 'app notin (a,b)', true],
    ['app in (b,c)', 'app notin (a,b)', false],
    ['app notin (a,b,c)', 'app notin (a,b)', true],
    ['app notin (a)', 'app notin (a,b)', false],
    ['!app', 'app notin (a,b)', true],
    ['app!=a', 'app notin (a,b)', false],
    ['app!=a', 'app notin (a)', false], // not in the supported list, though sound: stays conservative
    // allowed k (exists)
    ['app', 'app', true],
    ['app=a', 'app', true],
    ['app in (a,b)', 'app', true],
    ['app!=a', 'app', false],
    ['app notin (a)', 'app', false],
    ['!app', 'app', false],
    // allowed !k
    ['!app', '!app', true],
    ['app notin (a)', '!app', false],
    ['app!=a', '!app', false],
    ['app=a', '!app', false],
    ['!tier', '!app', false],
    // mixed
    ['app=a,env=prod,!canary', 'app in (a,b),env!=dev,!canary', true],
    ['app=a,env=dev,!canary', 'app in (a,b),env!=dev,!canary', false],
  ])('%j within %j → %p', (target, allowed, expected) => {
    expect(selectorWithin(sel(target), sel(allowed))).toBe(expected);
  });

  test('soundness on a small universe: whenever within is true, every matching label set also matches allowed', () => {
    const pool = [
      '',
      'a',
      '!a',
      'a=x',
      'a=y',
      'a!=x',
      'a!=y',
      'a in (x)',
      'a in (x,y)',
      'a in (y,z)',
      'a notin (x)',
      'a notin (x,y)',
      'a notin (z)',
      'b=x',
      'a=x,b',
      'a in (x,y),!b',
      'a notin (x,y,z)',
    ];
    const universe: Record<string, string>[] = [];
    for (const a of [undefined, 'x', 'y', 'z', 'w'])
      for (const b of [undefined, 'x']) {
        const l: Record<string, string> = {};
        if (a !== undefined) l.a = a;
        if (b !== undefined) l.b = b;
        universe.push(l);
      }
    for (const t of pool)
      for (const a of pool) {
        if (!selectorWithin(sel(t), sel(a))) continue;
        for (const l of universe) if (matchesLabels(sel(t), l)) expect([t, a, l, matchesLabels(sel(a), l)]).toEqual([t, a, l, true]);
      }
  });
});

test('canonicalLabelSelector normalises hand-built selectors', () => {
  expect(
    canonicalLabelSelector({
      text: 'ignored',
      requirements: [
        { key: 'z', op: 'notin', values: ['b', 'a', 'b'] },
        { key: 'a', op: '!=', values: ['x'] },
        { key: 'a', op: 'exists', values: [] },
        { key: 'a', op: 'exists', values: [] },
        { key: 'm', op: '=', values: [] },
      ],
    }),
  ).toBe('a,a!=x,m=,z notin (a,b)');
  expect(canonicalLabelSelector({ text: '', requirements: [] })).toBe('');
});

describe('parseFieldSelector', () => {
  test.each<[string, unknown]>([
    ['', []],
    ['metadata.name=api', [{ field: 'metadata.name', op: '=', value: 'api' }]],
    ['status.phase==Running', [{ field: 'status.phase', op: '=', value: 'Running' }]],
    [
      'status.phase!=Pending,spec.nodeName=node-1.example.com',
      [
        { field: 'status.phase', op: '!=', value: 'Pending' },
        { field: 'spec.nodeName', op: '=', value: 'node-1.example.com' },
      ],
    ],
    ['spec.nodeName=', [{ field: 'spec.nodeName', op: '=', value: '' }]],
    ['metadata.namespace=kube-system', [{ field: 'metadata.namespace', op: '=', value: 'kube-system' }]],
    ['involvedObject.uid=1f2e-3d:4c/5b_6a.7', [{ field: 'involvedObject.uid', op: '=', value: '1f2e-3d:4c/5b_6a.7' }]],
    ['type=Warning', [{ field: 'type', op: '=', value: 'Warning' }]],
    [Array.from({ length: 32 }, (_, i) => `f${i}=v`).join(','), expect.arrayContaining([{ field: 'f31', op: '=', value: 'v' }])],
  ])('%j', (input, expected) => {
    const p = parseFieldSelector(input);
    expect(p).toEqual({ ok: true, value: expected });
  });

  test.each<[string, RegExp]>([
    ['metadata.name', /expected field=value, field==value or field!=value but found 'metadata\.name' at column 1 \(requirement 1\)/],
    ['=x', /invalid field name '' \(it is empty\)/],
    ['..=x', /invalid field name '\.\.'/],
    ['metadata..name=x', /invalid field name/],
    ['metadata.=x', /invalid field name/],
    ['.name=x', /invalid field name/],
    ['a.-b=x', /invalid field name/],
    ['status.phase = Running', /unexpected character ' ' at column 13 \(requirement 1\)/],
    ['a=b;c=d', /unexpected character ';' at column 4/],
    ['a=b,c=$(id)', /unexpected character '\$' at column 7 \(requirement 2\)/],
    ['a=b\nc=d', /unexpected character '\\u\{a\}'/],
    ['a=b\\,c', /unexpected character '\\'/],
    ['a=b,,c=d', /empty requirement at column 5 \(requirement 2\)/],
    ['a=b,', /empty requirement at column 5 \(requirement 2\)/],
    ['a===b', /invalid value '=b' .* at column 4/],
    ['a=b=c', /invalid value 'b=c'/],
    ['a=b!', /invalid value 'b!'/],
    ['a!b', /expected field=value/],
    ['a>1', /unexpected character '>'/],
    [`${'f'.repeat(129)}=x`, /longer than 128 characters/],
    [`f=${'v'.repeat(254)}`, /longer than 253 characters/],
    [Array.from({ length: 33 }, (_, i) => `f${i}=v`).join(','), /33 requirements is over the limit of 32/],
    ['a=b,'.repeat(500), /2000 characters is over the limit of 1024/],
  ])('%j is refused', (input, message) => {
    const p = parseFieldSelector(input);
    expect(p.ok).toBe(false);
    if (!p.ok) {
      expect(p.error).toMatch(message);
      expect(p.error.length).toBeLessThan(250);
    }
  });
});

describe('name validators', () => {
  test.each<[string, boolean]>([
    ['a', true],
    ['abc-123', true],
    ['0', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['-a', false],
    ['a-', false],
    ['A', false],
    ['a.b', false],
    ['a_b', false],
    ['a b', false],
  ])('isDnsLabel(%j) → %p', (s, ok) => expect(isDnsLabel(s)).toBe(ok));

  test.each<[string, boolean]>([
    ['a', true],
    ['example.com', true],
    ['app.kubernetes.io', true],
    ['a-1.b-2.c', true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true], // 253
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false], // 254
    ['', false],
    ['.', false],
    ['a.', false],
    ['.a', false],
    ['a..b', false],
    ['A.com', false],
    ['a_b.com', false],
    ['-a.com', false],
    ['a-.com', false],
    ['a/b', false],
  ])('isDnsSubdomain(%j) → %p', (s, ok) => expect(isDnsSubdomain(s)).toBe(ok));

  test.each<[string, boolean]>([
    ['app', true],
    ['App_Name.v-1', true],
    ['app.kubernetes.io/name', true],
    ['example.com/A.b_c', true],
    ['k'.repeat(63), true],
    ['k'.repeat(64), false],
    [`${'p'.repeat(253)}/k`, true],
    [`${'p'.repeat(254)}/k`, false],
    ['', false],
    ['/', false],
    ['/a', false],
    ['a/', false],
    ['a/b/c', false],
    ['Example.com/a', false],
    ['_a', false],
    ['a_', false],
    ['.a', false],
    ['..', false],
    ['a b', false],
    ['a=b', false],
  ])('isLabelKey(%j) → %p', (s, ok) => expect(isLabelKey(s)).toBe(ok));

  test.each<[string, boolean]>([
    ['', true],
    ['v', true],
    ['api-gateway', true],
    ['V1.2_3-x', true],
    ['v'.repeat(63), true],
    ['v'.repeat(64), false],
    ['-v', false],
    ['v-', false],
    ['a/b', false],
    ['a b', false],
    ['a,b', false],
    ['é', false],
  ])('isLabelValue(%j) → %p', (s, ok) => expect(isLabelValue(s)).toBe(ok));
});

test('property: 2000 random hostile strings never throw, and round-trip when valid', () => {
  const alphabet = [
    'a',
    'b',
    'k',
    'Z',
    '0',
    '9',
    '-',
    '_',
    '.',
    '/',
    '=',
    '==',
    '!=',
    '!',
    ',',
    ' ',
    '(',
    ')',
    'in',
    ' in ',
    ' notin ',
    '<',
    '>',
    ';',
    '$',
    '`',
    '"',
    "'",
    '\n',
    '\t',
    '\u0000',
    '\\',
    '|',
    '&',
    '*',
    'é',
    '\u{1f600}',
    '\ud800',
    'x'.repeat(70),
  ];
  let seed = 0x2545f491; // xorshift32: deterministic, no dependency
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let valid = 0;
  for (let i = 0; i < 2000; i++) {
    const s = Array.from({ length: 1 + rand(24) }, () => alphabet[rand(alphabet.length)]).join('');
    const p = parseLabelSelector(s);
    const f = parseFieldSelector(s);
    if (p.ok) {
      valid++;
      expect(sel(p.value.text).text).toBe(p.value.text);
      expect(p.value.requirements.length).toBeLessThanOrEqual(MAX_REQUIREMENTS);
    } else {
      expect(p.error).toMatch(/^label selector: [^\n]+$/);
    }
    if (!f.ok) expect(f.error).toMatch(/^field selector: [^\n]+$/);
  }
  expect(valid).toBeGreaterThan(0);
});

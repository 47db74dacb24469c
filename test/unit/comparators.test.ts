import { compare, compareNumeric, compareString, parseList, parseNumber } from '../../activities/probes/comparators.js';
import type { NumericCriteria, StringCriteria } from '../../config/spec.js';

describe('parseList', () => {
  test.each([
    ['[1,2]', ['1', '2']],
    ['1,2', ['1', '2']],
    ['[1, 2, 3]', ['1', '2', '3']],
    ['["a","b,c"]', ['a', 'b,c']],
    ["[a, 'b']", ['a', 'b']],
    ['[]', []],
    ['5', ['5']],
  ])('%s', (input, expected) => expect(parseList(input)).toEqual(expected));
  test('unbalanced brackets', () => {
    expect(parseList('[1,2')).toBeUndefined();
    expect(parseList('1,2]')).toBeUndefined();
  });
});

describe('parseNumber', () => {
  test('floats', () => {
    expect(parseNumber('0.5')).toBe(0.5);
    expect(parseNumber(' -3 ')).toBe(-3);
    expect(parseNumber('1e3')).toBe(1000);
    expect(parseNumber('.25')).toBe(0.25);
    expect(parseNumber('+Inf')).toBe(Infinity);
    expect(parseNumber('-Inf')).toBe(-Infinity);
    expect(parseNumber('NaN')).toBeUndefined();
    expect(parseNumber('abc')).toBeUndefined();
    expect(parseNumber('')).toBeUndefined();
    expect(parseNumber('0x10')).toBeUndefined();
  });
  test('ints', () => {
    expect(parseNumber('42', true)).toBe(42);
    expect(parseNumber('-7', true)).toBe(-7);
    expect(parseNumber('1.5', true)).toBeUndefined();
    expect(parseNumber('1e3', true)).toBeUndefined();
  });
});

describe('compareNumeric', () => {
  const cases: Array<[number, NumericCriteria, string, boolean]> = [
    [5, '>=', '5', true],
    [4, '>=', '5', false],
    [5, '<=', '5', true],
    [6, '<=', '5', false],
    [6, '>', '5', true],
    [5, '>', '5', false],
    [0.4, '<', '0.5', true],
    [0.73, '<', '0.5', false],
    [200, '==', '200', true],
    [503, '==', '200', false],
    [503, '!=', '200', true],
    [200, '!=', '200', false],
    [2, 'oneOf', '[1,2,3]', true],
    [4, 'oneOf', '[1,2,3]', false],
    [2, 'oneOf', '1,2', true],
    [1, 'between', '[1,3]', true],
    [3, 'between', '[1,3]', true],
    [2.5, 'between', '1,3', true],
    [0.9, 'between', '[1,3]', false],
    [3.1, 'between', '[1,3]', false],
  ];
  test.each(cases)('%p %s %s -> %p', (actual, criteria, value, ok) => {
    const r = compareNumeric(actual, criteria, value);
    expect(r.ok).toBe(ok);
    expect(r.reason).toContain(ok ? `is ${criteria}` : `is not ${criteria}`);
  });

  test('reason texts', () => {
    expect(compareNumeric(0.73, '<', '0.5').reason).toBe('value 0.73 is not < 0.5');
    expect(compareNumeric(503, '==', '200', { subject: 'response code' }).reason).toBe('response code 503 is not == 200');
    expect(compareNumeric(200, '==', '200', { subject: 'response code' }).reason).toBe('response code 200 is == 200');
    expect(compareNumeric(4, 'oneOf', '[1,2]').reason).toBe('value 4 is not oneOf [1, 2]');
    expect(compareNumeric(5, 'between', '[1,3]').reason).toBe('value 5 is not between [1, 3]');
  });

  test('infinity', () => {
    expect(compareNumeric(Infinity, '>', '100').ok).toBe(true);
    expect(compareNumeric(Infinity, '<', '+Inf').ok).toBe(false);
  });

  test('bad inputs name the problem', () => {
    expect(compareNumeric(1, 'between', '[1]')).toEqual({ ok: false, invalid: true, reason: expect.stringContaining('between needs exactly 2 values, got 1') });
    expect(compareNumeric(1, 'between', '[1,2,3]').reason).toContain('got 3');
    expect(compareNumeric(1, 'between', '[3,1]').reason).toContain('low <= high');
    expect(compareNumeric(1, 'between', '[1,x]').reason).toContain('"x" is not a number');
    expect(compareNumeric(1, 'oneOf', '[]').reason).toContain('at least one value');
    expect(compareNumeric(1, 'oneOf', '[1,2').reason).toContain('unbalanced');
    expect(compareNumeric(1, '<', 'abc')).toEqual({ ok: false, invalid: true, reason: 'invalid comparator < "abc": not a number' });
    expect(compareNumeric(1, '<', '[1,2]').ok).toBe(false);
    expect(compareNumeric(1, '~' as NumericCriteria, '1').reason).toContain('unknown numeric criteria "~"');
    // a bad actual value is a failed comparison, not an invalid comparator
    expect(compareNumeric(NaN, '!=', '1')).toEqual({ ok: false, reason: 'value NaN is not a number' });
    expect(compareNumeric(1, '>', '0').invalid).toBeUndefined();
  });

  test('integer mode', () => {
    expect(compareNumeric(1.5, '>', '1', { integer: true }).reason).toBe('value 1.5 is not an integer');
    expect(compareNumeric(2, '>', '1.5', { integer: true }).reason).toContain('not an integer');
    expect(compareNumeric(2, 'oneOf', '[1,2]', { integer: true }).ok).toBe(true);
  });
});

describe('compareString', () => {
  const cases: Array<[string, StringCriteria, string, boolean]> = [
    ['up', 'equal', 'up', true],
    ['down', 'equal', 'up', false],
    ['down', 'notEqual', 'up', true],
    ['up', 'notEqual', 'up', false],
    ['/tmp:5432 - accepting connections', 'contains', 'accepting connections', true],
    ['/tmp:5432 - no response', 'contains', 'accepting connections', false],
    ['version 2.3.1', 'matches', '\\d+\\.\\d+\\.\\d+', true],
    ['version two', 'matches', '\\d+\\.\\d+', false],
    ['all good', 'notMatches', 'error|fail', true],
    ['an error occurred', 'notMatches', 'error|fail', false],
    ['b', 'oneOf', '[a,b,c]', true],
    ['b', 'oneOf', '["a","b"]', true],
    ['d', 'oneOf', '[a,b,c]', false],
    ['b', 'oneOf', 'a,b', true],
  ];
  test.each(cases)('%p %s %p -> %p', (actual, criteria, value, ok) => {
    expect(compareString(actual, criteria, value).ok).toBe(ok);
  });

  test('reason texts', () => {
    expect(compareString('down', 'equal', 'up').reason).toBe('value "down" does not equal "up"');
    expect(compareString('up', 'notEqual', 'up').reason).toBe('value "up" equals "up" (criteria notEqual)');
    expect(compareString('x', 'contains', 'y').reason).toBe('value "x" does not contain "y"');
    expect(compareString('abc', 'matches', '^z').reason).toBe('value "abc" does not match /^z/');
    expect(compareString('abc', 'notMatches', 'b').reason).toBe('value "abc" matches /b/ (criteria notMatches)');
    expect(compareString('d', 'oneOf', '[a,b]').reason).toBe('value "d" is not oneOf ["a", "b"]');
    expect(compareString('x', 'contains', 'y', { subject: 'response body' }).reason).toBe('response body "x" does not contain "y"');
  });

  test('long values are truncated in reasons', () => {
    const r = compareString('a'.repeat(1000), 'contains', 'b');
    expect(r.reason.length).toBeLessThan(200);
    expect(r.reason).toContain('(1000 chars)');
  });

  test('Go-style inline flags', () => {
    expect(compareString('HEALTHY', 'matches', '(?i)healthy').ok).toBe(true);
    expect(compareString('HEALTHY', 'matches', 'healthy').ok).toBe(false);
  });

  test('bad inputs name the problem', () => {
    expect(compareString('a', 'matches', '(')).toEqual({
      ok: false,
      invalid: true,
      reason: expect.stringContaining('invalid comparator matches "(": bad regular expression'),
    });
    expect(compareString('a', 'notMatches', '[').ok).toBe(false);
    expect(compareString('a', 'oneOf', '[]').reason).toContain('at least one value');
    expect(compareString('a', 'oneOf', '[a').reason).toContain('unbalanced');
    expect(compareString('a', 'startsWith' as StringCriteria, 'a').reason).toContain('unknown string criteria "startsWith"');
  });
});

describe('compare (typed comparator on raw output)', () => {
  test('int', () => {
    expect(compare('42', { type: 'int', criteria: '>=', value: '40' }).ok).toBe(true);
    expect(compare(' 3 ', { type: 'int', criteria: 'between', value: '[1,5]' }).ok).toBe(true);
    expect(compare('39', { type: 'int', criteria: '>=', value: '40' })).toEqual({ ok: false, reason: 'value 39 is not >= 40' });
    expect(compare('1.5', { type: 'int', criteria: '>=', value: '1' })).toEqual({ ok: false, reason: 'value "1.5" is not an int' });
  });
  test('float', () => {
    expect(compare('0.25', { type: 'float', criteria: '<', value: '0.5' }).ok).toBe(true);
    expect(compare('0.73', { type: 'float', criteria: '<', value: '0.5' }).reason).toBe('value 0.73 is not < 0.5');
    expect(compare('2', { type: 'float', criteria: 'oneOf', value: '[1.0,2.0]' }).ok).toBe(true);
  });
  test('non-number actual is a failure with reason', () => {
    expect(compare('abc', { type: 'float', criteria: '<', value: '1' })).toEqual({ ok: false, reason: 'value "abc" is not a float' });
    expect(compare('', { type: 'int', criteria: '==', value: '0' })).toEqual({ ok: false, reason: 'value "" is not an int' });
  });
  test('string', () => {
    expect(compare('accepting connections', { type: 'string', criteria: 'contains', value: 'accepting' }).ok).toBe(true);
    expect(compare('x', { type: 'string', criteria: 'equal', value: 'y' }, { subject: 'output' }).reason).toBe('output "x" does not equal "y"');
  });
  test('unknown type', () => {
    expect(compare('1', { type: 'bool', criteria: '==', value: '1' } as never).reason).toContain('unknown comparator type "bool"');
  });
});

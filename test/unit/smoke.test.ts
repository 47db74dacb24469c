import { parse } from 'yaml';
test('esm works', () => { expect(parse('a: 1')).toEqual({ a: 1 }); });

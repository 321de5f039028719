import { describe, expect, it } from 'vitest';
import { parseNomadJson, quoteBigIntegers } from './json.ts';

describe('collector > nomad > json', () => {
  it.each([
    {
      description: 'ns time',
      input: '{"ModifyTime":1636017262190928001}',
      expected: { ModifyTime: '1636017262190928001' },
    },
    { description: 'small ints stay numbers', input: '{"Index":57,"X":-3}', expected: { Index: 57, X: -3 } },
    {
      description: 'digits inside strings',
      input: '{"A":"1636017262190928001","B":"say \\"1636017262190928001\\""}',
      expected: { A: '1636017262190928001', B: 'say "1636017262190928001"' },
    },
    {
      description: 'floats untouched',
      input: '{"F":1.5e10,"G":12345678901234567.5}',
      expected: { F: 1.5e10, G: Number('12345678901234567.5') },
    },
    {
      description: 'arrays',
      input: '[1636017262190928001,-1636017262190928001]',
      expected: ['1636017262190928001', '-1636017262190928001'],
    },
  ])('$description', ({ input, expected }) => {
    expect(parseNomadJson(input)).toEqual(expected);
  });

  it('returns the same text when nothing needs quoting', () => {
    const text = '{"a":1,"b":"x"}';
    expect(quoteBigIntegers(text)).toBe(text);
  });
});

import { describe, expect, it } from 'vitest';
import { InputError } from './errors.ts';
import { formatTimeNs, parseTimeArg } from './time.ts';

const now = 1_700_000_000_000_000_000n;

describe('common > time', () => {
  it.each([
    { input: '2021-11-04T09:14:09.798459001Z', expected: 1636017249798459001n },
    { input: '2021-11-04T09:14:09Z', expected: 1636017249000000000n },
    { input: '2021-11-04T10:14:09.5+01:00', expected: 1636017249500000000n },
    { input: '2021-11-04 09:14:09.798459001', expected: 1636017249798459001n },
    { input: '1636017249798459001', expected: 1636017249798459001n },
    { input: 'now', expected: now },
    { input: '-15m', expected: now - 900_000_000_000n },
    { input: '-1h30m', expected: now - 5_400_000_000_000n },
    { input: '+2s', expected: now + 2_000_000_000n },
  ])('parses $input', ({ input, expected }) => {
    expect(parseTimeArg(input, now)).toBe(expected);
  });

  it.each(['yesterday', '2021-13-01T00:00:00Z', '-15x', ''])('rejects %j with an InputError', (input) => {
    expect(() => parseTimeArg(input, now)).toThrow(InputError);
  });

  it.each([
    { ns: 1636017249798459001n, expected: '2021-11-04T09:14:09.798459001Z' },
    { ns: 0n, expected: '1970-01-01T00:00:00.000000000Z' },
    { ns: 9214646400000000000n, expected: '2262-01-01T00:00:00.000000000Z' },
  ])('formats $ns', ({ ns, expected }) => {
    expect(formatTimeNs(ns)).toBe(expected);
    expect(parseTimeArg(expected)).toBe(ns);
  });
});

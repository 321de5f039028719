import { describe, expect, it } from 'vitest';
import { InputError } from './errors.ts';
import { formatTimeNs, parseDurationArg, parseTimeArg, timestampArgNs } from './time.ts';

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

describe('common > time > ranges', () => {
  it.each([
    '9999-12-31T00:00:00Z',
    '0099-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '2263-01-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '99999999999999999999999',
    '-999999d',
  ])('refuses %j as out of range', (input) => {
    expect(() => parseTimeArg(input, now)).toThrow(/out of range/);
  });

  it('bounds durations and protobuf timestamps', () => {
    expect(parseDurationArg('1h30m', 'step')).toBe(5_400_000_000_000n);
    expect(() => parseDurationArg('999999d', 'step')).toThrow(/step: out of range/);
    expect(() => parseDurationArg('0s', 'step')).toThrow(/out of range/);
    expect(() => parseDurationArg('5x', 'step')).toThrow(/expected a duration/);
    expect(timestampArgNs({ seconds: 1n, nanos: 5 }, 'since')).toBe(1_000_000_005n);
    expect(() => timestampArgNs({ seconds: 9_223_372_036_854_775_807n, nanos: 0 }, 'since')).toThrow(
      /out of range/,
    );
    expect(() => timestampArgNs({ seconds: -1n, nanos: 0 }, 'since')).toThrow(InputError);
  });
});

import { describe, expect, it } from 'vitest';
import { formatTimestamp, parseTimestamp, timestampFromNanos, timestampToNanos } from './timestamp.js';

describe('proto > timestamp', () => {
  it.each([
    { text: '1970-01-01T00:00:00Z', seconds: 0n, nanos: 0 },
    { text: '2021-11-10T10:41:26.095357Z', seconds: 1636540886n, nanos: 95357000 },
    { text: '2021-11-10T10:41:26.095336300Z', seconds: 1636540886n, nanos: 95336300 },
    { text: '2021-10-04T11:22:26.599010651Z', seconds: 1633346546n, nanos: 599010651 },
    { text: '1970-01-01T00:20:34.567800Z', seconds: 1234n, nanos: 567800000 },
    { text: '1969-12-31T23:59:59.999Z', seconds: -1n, nanos: 999000000 },
    { text: '2024-02-29T23:59:59Z', seconds: 1709251199n, nanos: 0 },
    { text: '0001-01-01T00:00:00Z', seconds: -62135596800n, nanos: 0 },
    { text: '9999-12-31T23:59:59.999999999Z', seconds: 253402300799n, nanos: 999999999 },
  ])('$text ↔ { seconds: $seconds, nanos: $nanos }', ({ text, seconds, nanos }) => {
    expect(parseTimestamp(text)).toEqual({ seconds, nanos });
    expect(formatTimestamp({ seconds, nanos })).toBe(text);
  });

  it.each([
    { input: '2024-01-01T12:00:00.5+02:00', expected: '2024-01-01T10:00:00.500Z' },
    { input: '2024-01-01t00:00:00.0000001z', expected: '2024-01-01T00:00:00.000000100Z' },
    { input: '2023-12-31T23:30:00-01:00', expected: '2024-01-01T00:30:00Z' },
  ])('normalises $input to $expected', ({ input, expected }) => {
    expect(formatTimestamp(parseTimestamp(input))).toBe(expected);
  });

  it.each([
    { input: '2024-01-01 00:00:00Z', reason: /not an RFC 3339/ },
    { input: '2024-01-01T00:00:00', reason: /not an RFC 3339/ },
    { input: '2024-01-01T00:00:00.1234567890Z', reason: /not an RFC 3339/ },
    { input: '2023-02-29T00:00:00Z', reason: /no such date/ },
    { input: '2024-01-01T24:00:00Z', reason: /no such time/ },
    { input: '0001-01-01T00:00:00+00:01', reason: /outside 0001-01-01/ },
  ])('rejects $input', ({ input, reason }) => {
    expect(() => parseTimestamp(input)).toThrow(reason);
  });

  it('converts to and from epoch nanoseconds exactly, before 1970 too', () => {
    for (const nanos of [0n, 1n, -1n, 1636540886095336300n, -62135596800000000000n]) {
      expect(timestampToNanos(timestampFromNanos(nanos))).toBe(nanos);
    }
    expect(timestampFromNanos(-1n)).toEqual({ seconds: -1n, nanos: 999999999 });
  });
});

import { describe, expect, it } from 'vitest';
import { keyedTimeWindows, timeWindows } from './flow-windows.ts';

const H = 3_600_000_000_000n;
const M = H / 60n;
const base = 1_796_000_400n * 1_000_000_000n; // an hour boundary (multiple of 3600 s)
const w = (a: bigint, b: bigint) => ({ sinceNs: a, untilNs: b });

describe('query-api > queries > flow-windows', () => {
  it.each([
    {
      description: 'one hour cut mid-hour, newest first: the newest bucket part, then the rest',
      input: [base + 18n * M, base + H + 18n * M, 'newest'] as const,
      expected: [w(base + H, base + H + 18n * M), w(base + 18n * M, base + H)],
    },
    {
      description: 'one hour cut mid-hour, oldest first',
      input: [base + 18n * M, base + H + 18n * M, 'oldest'] as const,
      expected: [w(base + 18n * M, base + H), w(base + H, base + H + 18n * M)],
    },
    {
      description: 'inside one bucket: one window',
      input: [base + M, base + 2n * M, 'newest'] as const,
      expected: [w(base + M, base + 2n * M)],
    },
    {
      description: 'aligned 8 hours newest first: the last hour, then the other seven',
      input: [base, base + 8n * H, 'newest'] as const,
      expected: [w(base + 7n * H, base + 8n * H), w(base, base + 7n * H)],
    },
    {
      description: '24 h from a mid-hour start, oldest first: the first half hour, then the rest',
      input: [base + 30n * M, base + 24n * H + 30n * M, 'oldest'] as const,
      expected: [w(base + 30n * M, base + H), w(base + H, base + 24n * H + 30n * M)],
    },
    {
      description: 'a century newest first: still two statements',
      input: [base - 876_000n * H, base + 5n * M, 'newest'] as const,
      expected: [w(base, base + 5n * M), w(base - 876_000n * H, base)],
    },
    {
      description: 'an empty range: no window',
      input: [base, base, 'newest'] as const,
      expected: [],
    },
  ])('$description', ({ input, expected }) => {
    expect(timeWindows(input[0], input[1], input[2])).toEqual(expected);
  });

  it('covers any range exactly, in order, cut on an hour boundary', () => {
    for (const [a, b] of [
      [base + 1n, base + 3n * H - 1n],
      [base - 5n * M, base + 100n * H + 7n],
      [base + H - 1n, base + H + 1n],
    ] as const) {
      for (const order of ['newest', 'oldest'] as const) {
        const ws = timeWindows(a, b, order);
        expect(ws.length).toBeLessThanOrEqual(2);
        const sorted = order === 'newest' ? [...ws].reverse() : ws;
        expect(sorted[0]!.sinceNs).toBe(a);
        expect(sorted.at(-1)!.untilNs).toBe(b);
        for (let i = 1; i < sorted.length; i++) {
          expect(sorted[i]!.sinceNs).toBe(sorted[i - 1]!.untilNs);
          expect(sorted[i]!.sinceNs % H).toBe(0n);
        }
        for (const x of ws) expect(x.sinceNs < x.untilNs).toBe(true);
      }
    }
  });

  it.each([
    {
      description: 'an hour ending 34 minutes into its bucket, newest first: split (34 of 60 minutes)',
      input: [base + 34n * M, base + H + 34n * M, 'newest'] as const,
      expected: [w(base + H, base + H + 34n * M), w(base + 34n * M, base + H)],
    },
    {
      description: 'the same hour oldest first: one window (26 of 60 minutes)',
      input: [base + 34n * M, base + H + 34n * M, 'oldest'] as const,
      expected: [w(base + 34n * M, base + H + 34n * M)],
    },
    {
      description: 'exactly half: split',
      input: [base + 30n * M, base + H + 30n * M, 'newest'] as const,
      expected: [w(base + H, base + H + 30n * M), w(base + 30n * M, base + H)],
    },
    {
      description: '24 h: one window (the newest bucket is 1/24 of it)',
      input: [base, base + 24n * H, 'newest'] as const,
      expected: [w(base, base + 24n * H)],
    },
    {
      description: 'inside one bucket: one window',
      input: [base + M, base + 2n * M, 'oldest'] as const,
      expected: [w(base + M, base + 2n * M)],
    },
  ])('key lookups: $description', ({ input, expected }) => {
    expect(keyedTimeWindows(input[0], input[1], input[2])).toEqual(expected);
  });
});

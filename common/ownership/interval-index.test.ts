import { describe, expect, it } from 'vitest';
import { createIntervalIndex } from './interval-index.ts';
import { OPEN_END_NS, type OwnerInterval } from './types.ts';

// Times above 2^53 so float rounding would merge neighbours if the index relied on it.
const T = 1_700_000_000_000_000_000n;

const iv = (
  allocId: string,
  start: bigint,
  end: bigint,
  extra: Partial<OwnerInterval> = {},
): OwnerInterval => ({
  address: '10.0.0.1',
  kind: 'alloc',
  allocId,
  allocName: '',
  namespace: '',
  job: '',
  group: '',
  nodeId: '',
  nodeName: '',
  tenant: '',
  account: '',
  start,
  end,
  nomadIndex: 1n,
  ...extra,
});

describe('collector > ownership > interval-index', () => {
  const index = createIntervalIndex();
  index.upsert(iv('a', T, T + 100n));
  index.upsert(iv('b', T + 100n, T + 101n));
  index.upsert(iv('c', T + 101n, OPEN_END_NS));

  it.each([
    { t: T - 1n, expected: undefined },
    { t: T, expected: 'a' },
    { t: T + 99n, expected: 'a' },
    { t: T + 100n, expected: 'b' },
    { t: T + 101n, expected: 'c' },
    { t: OPEN_END_NS - 1n, expected: 'c' },
  ])('at T+$t finds $expected to the nanosecond', ({ t, expected }) => {
    expect(index.lookup('10.0.0.1', t)?.allocId).toBe(expected);
  });

  it('answers undefined for an unknown address', () => {
    expect(index.lookup('10.0.0.2', T)).toBeUndefined();
  });

  it('merges monotonically: start and end only move earlier, fields fill in, repeats change nothing', () => {
    const idx = createIntervalIndex();
    expect(idx.upsert(iv('x', T + 50n, OPEN_END_NS))).toBeDefined();
    expect(idx.upsert(iv('x', T + 50n, OPEN_END_NS))).toBeUndefined();
    expect(idx.upsert(iv('x', T + 60n, OPEN_END_NS))).toBeUndefined();
    expect(idx.upsert(iv('x', T + 40n, OPEN_END_NS, { tenant: 'acme' }))).toMatchObject({
      start: T + 40n,
      tenant: 'acme',
    });
    expect(idx.upsert(iv('x', T + 40n, T + 90n))).toMatchObject({ end: T + 90n });
    expect(idx.upsert(iv('x', T + 40n, OPEN_END_NS))).toBeUndefined(); // a replayed "running" never reopens
    expect(idx.size).toBe(1);
    expect(idx.lookup('10.0.0.1', T + 90n)).toBeUndefined();
  });

  it('prefers the latest-starting interval when intervals overlap, and falls back to an earlier open one', () => {
    const idx = createIntervalIndex();
    idx.upsert(iv('old', T, OPEN_END_NS)); // terminal update never seen
    idx.upsert(iv('new', T + 10n, T + 20n));
    expect(idx.lookup('10.0.0.1', T + 15n)?.allocId).toBe('new');
    expect(idx.lookup('10.0.0.1', T + 25n)?.allocId).toBe('old');
  });
});

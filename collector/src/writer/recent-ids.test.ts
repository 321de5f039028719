import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.ts';

const id = (n: number): Uint8Array => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint32(0, n);
  // Ids that share most bytes, like time-based uuids, must still spread.
  b[15] = n % 7;
  return b;
};

describe('collector > writer > recent-ids', () => {
  it('reports repeats and forgets the oldest beyond its capacity', () => {
    const w = new RecentIds(1000);
    for (let i = 0; i < 1000; i++) expect(w.add(id(i))).toBe(true);
    for (let i = 0; i < 1000; i++) expect(w.add(id(i))).toBe(false);
    for (let i = 1000; i < 1500; i++) expect(w.add(id(i))).toBe(true);
    expect(w.length).toBe(1000);
    for (let i = 0; i < 500; i++) expect(w.has(id(i))).toBe(false);
    for (let i = 500; i < 1500; i++) expect(w.has(id(i))).toBe(true);
  });

  it('stays exact over many evictions (backward-shift deletion keeps probe runs whole)', () => {
    const w = new RecentIds(257);
    const held: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      w.add(id(i * 2_654_435_761));
      held.push(i * 2_654_435_761);
    }
    const kept = held.slice(-257);
    for (const n of kept) expect(w.has(id(n))).toBe(true);
    for (const n of held.slice(-600, -257)) expect(w.has(id(n))).toBe(false);
  });

  it('clear forgets everything', () => {
    const w = new RecentIds(10);
    w.add(id(1));
    w.clear();
    expect(w.has(id(1))).toBe(false);
    expect(w.add(id(1))).toBe(true);
  });
});

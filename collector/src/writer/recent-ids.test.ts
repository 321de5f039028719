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

  it('forgetAdded takes out only the ids of those adds, and the ring goes on round its holes', () => {
    const w = new RecentIds(100);
    // A stored batch's ids (even) and a dropped batch's (odd), interleaved as two partitions' reads are:
    // the dropped batch notes the sequence number of each of its adds.
    const dropped: number[] = [];
    for (let i = 0; i < 80; i++) {
      if (i % 2 === 1) dropped.push(w.added);
      expect(w.add(id(i))).toBe(true);
    }
    expect(w.add(id(3))).toBe(false); // a repeat takes no number
    expect(w.added).toBe(80);
    for (const n of dropped) w.forgetAdded(n, n + 1);
    w.forgetAdded(dropped[0]!, dropped[0]! + 1); // forgotten already: nothing happens
    expect(w.length).toBe(40);
    for (let i = 0; i < 80; i++) expect(w.has(id(i))).toBe(i % 2 === 0);
    // Read again, the dropped flows are new, not repeats. The ring evicts by slot, oldest first: going
    // round, it evicts the ten stored ids of slots 0–19 and fills the ten holes between them.
    for (let i = 1; i < 80; i += 2) expect(w.add(id(i))).toBe(true);
    expect(w.length).toBe(70);
    for (let i = 0; i < 80; i++) expect(w.has(id(i))).toBe(i % 2 === 1 || i >= 20);
    // Round the ring several times over the holes: still exact, and bounded by its capacity.
    for (let i = 1_000; i < 1_500; i++) w.add(id(i));
    expect(w.length).toBe(100);
    for (let i = 1_400; i < 1_500; i++) expect(w.has(id(i))).toBe(true);
    for (let i = 0; i < 1_400; i++) expect(w.has(id(i))).toBe(false);
  });

  it('forgetAdded leaves alone the slots newer adds took over, and what clear removed', () => {
    const w = new RecentIds(10);
    for (let i = 0; i < 10; i++) w.add(id(i)); // adds 0–9
    for (let i = 10; i < 15; i++) w.add(id(i)); // adds 10–14 overwrite slots 0–4
    w.forgetAdded(0, 10); // adds 0–4 were evicted: only 5–9 go
    for (let i = 0; i < 15; i++) expect(w.has(id(i))).toBe(i >= 10);
    expect(w.length).toBe(5);
    const before = w.added;
    w.clear();
    w.add(id(20));
    w.forgetAdded(0, before); // cleared already; the add after clear is not among them
    expect(w.has(id(20))).toBe(true);
    expect(w.length).toBe(1);
  });
});

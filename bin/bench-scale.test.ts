import { describe, expect, it } from 'vitest';
import { fillChunk } from './bench-scale.ts';

// The scale fill writes consecutive flows, newest first (a live store is written in time order):
// its chunks must tile the flows exactly, none twice and none left out, whatever the division leaves.
describe('bin > bench-scale > fill chunks', () => {
  it.each([
    [100_000_000, 20],
    [20_000, 1],
    [20_001, 4],
    [7, 3],
  ])('%i flows in %i chunks: newest first, each flow once', (flows, chunks) => {
    const ranges = Array.from({ length: chunks }, (_, k) => fillChunk(k, flows, chunks));
    // Chunk 0 ends at the newest flow; each next chunk ends where the one before began.
    expect(ranges[0]!.first + ranges[0]!.n).toBe(flows);
    for (let k = 1; k < chunks; k++) expect(ranges[k]!.first + ranges[k]!.n).toBe(ranges[k - 1]!.first);
    expect(ranges.at(-1)!.first).toBe(0);
    expect(ranges.reduce((sum, r) => sum + r.n, 0)).toBe(flows);
    for (const r of ranges) expect(r.n).toBeGreaterThan(0);
  });
});

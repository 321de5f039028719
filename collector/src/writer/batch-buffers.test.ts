import { describe, expect, it } from 'vitest';
import { BatchBuffers, ownAllocation } from './batch-buffers.ts';

describe('batch buffers', () => {
  it('hands an inserted batch’s whole buffer to the next batch, and sizes fresh ones to the last batch', () => {
    const buffers = new BatchBuffers(1, 16);
    const first = buffers.writer();
    for (let i = 0; i < 40_000; i++) first.uint8(i);
    const data = first.detach(0);
    const backing = data.buffer;
    buffers.give(data);
    // The freed buffer comes back whole (its first bytes still the old batch's), written from offset 0.
    const second = buffers.writer();
    second.uint8(7);
    const out = second.detach(0);
    expect(out.buffer).toBe(backing);
    expect(out.length).toBe(1);
    // None left: a fresh buffer at least a quarter larger than the largest batch seen.
    const third = buffers.writer();
    for (let i = 0; i < 50_000; i++) third.uint8(i);
    expect(third.detach(0).buffer.byteLength).toBeGreaterThanOrEqual(50_000);
  });

  it('never widens a slice of Node’s shared pool, and keeps no more than asked', () => {
    const pooled = Buffer.from('abc');
    expect(ownAllocation(pooled)).toBeUndefined();
    const big = Buffer.allocUnsafe(1 << 16);
    expect(ownAllocation(big.subarray(8))).toBeUndefined();
    expect(ownAllocation(big.subarray(0, 10))?.length).toBe(1 << 16);
    const buffers = new BatchBuffers(1);
    const a = Buffer.allocUnsafe(1 << 16);
    const b = Buffer.allocUnsafe(1 << 16);
    buffers.give(a);
    buffers.give(b);
    expect(buffers.writer().detach(0).buffer).toBe(a.buffer);
    expect(buffers.writer().detach(0).buffer).not.toBe(b.buffer);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { BatchFiles, ChunkPool } from './batch-file.ts';

// A batch written chunk by chunk is the bytes one buffer would hold, and the memory that writes it
// is a couple of chunks, whatever the batch's size.
describe('collector > writer > batch-file', () => {
  it('puts 12 MB of rows on file through 64 KiB chunks, in order, from two buffers', async () => {
    const files = new BatchFiles();
    const pool = new ChunkPool(1 << 16);
    const file = files.open();
    const w = new RowBinaryWriter(0);
    w.detach(pool.take());
    const whole = new RowBinaryWriter(1 << 20);
    for (let row = 0; whole.length < 12 << 20; row++) {
      // Rows of varied sizes, now and then one larger than a chunk (the writer grows for it).
      const s = `row ${row} `.repeat(row % 997 === 0 ? 9_000 : 1 + (row % 40));
      for (const x of [whole, w]) {
        x.string(s);
        x.uint64(BigInt(row));
      }
      if (w.length >= pool.chunkBytes) {
        pool.spill(w, file);
        // Its write done, the chunk is free again: the next spill reuses it.
        await file.ready();
      }
    }
    pool.spill(w, file);
    const expected = whole.take();
    const data = await file.ready();
    expect(file.bytes).toBe(expected.length);
    expect(Buffer.compare(readFileSync(data.path), expected)).toBe(0);
    // A retried insert reads the same file: the same bytes.
    expect(Buffer.compare(readFileSync((await file.ready()).path), expected)).toBe(0);
    expect(pool.allocated).toBe(2);
    file.close();
    files.remove();
  });
});

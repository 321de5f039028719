import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { type BatchFile, BatchFiles, ChunkPool } from './batch-file.ts';

/** Writes `rows` short rows to `file` through `pool`'s chunks; the bytes one buffer would hold. */
function spillRows(pool: ChunkPool, file: BatchFile, rows: number): Buffer {
  const w = new RowBinaryWriter(0);
  w.detach(pool.take());
  const whole = new RowBinaryWriter(1 << 16);
  for (let row = 0; row < rows; row++) {
    for (const x of [whole, w]) x.string(`row ${row}`);
    if (w.length >= pool.chunkBytes) pool.spill(w, file);
  }
  pool.spill(w, file);
  return whole.take();
}

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

  it('keeps the chunks of a file it cannot create, and puts them on file once it can', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'flowtrail-batch-file-'));
    // Batch files go under a directory that is not there yet (a temporary directory gone, a full disk).
    const parent = path.join(root, 'later');
    const files = new BatchFiles(parent);
    const pool = new ChunkPool(1 << 12);
    const file = files.open();
    const expected = spillRows(pool, file, 2_000);
    // The insert's attempt fails (and is retried by the sink's queue); nothing is lost meanwhile.
    await expect(file.ready()).rejects.toThrow(/ENOENT/);
    mkdirSync(parent);
    const data = await file.ready();
    expect(Buffer.compare(readFileSync(data.path), expected)).toBe(0);
    file.close();
    files.remove();
    rmSync(root, { recursive: true, force: true });
  });
  it('counts the bytes it holds for want of a file, and makes its directory again when it is removed', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'flowtrail-batch-file-'));
    const parent = path.join(root, 'later');
    const files = new BatchFiles(parent);
    const pool = new ChunkPool(1 << 12);
    const write = (rows: number) => {
      const file = files.open();
      return { file, expected: spillRows(pool, file, rows) };
    };
    const first = write(2_000);
    // No file: every chunk is held (what the sink seals a batch early on).
    expect(first.file.heldBytes).toBe(first.expected.length);
    mkdirSync(parent);
    expect(Buffer.compare(readFileSync((await first.file.ready()).path), first.expected)).toBe(0);
    expect(first.file.heldBytes).toBe(0);
    first.file.close();
    // The batch directory removed under a running sink (it looks empty: its files are unlinked).
    rmSync(parent, { recursive: true, force: true });
    mkdirSync(parent);
    const second = write(3_000);
    const data = await second.file.ready();
    expect(second.file.heldBytes).toBe(0);
    expect(Buffer.compare(readFileSync(data.path), second.expected)).toBe(0);
    second.file.close();
    files.remove();
    rmSync(root, { recursive: true, force: true });
  });
});

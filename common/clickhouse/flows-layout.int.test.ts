import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from './chdb-store.ts';
import { migrate } from './migrator.ts';
import type { Store } from './store.ts';

let store: Store;
beforeAll(async () => {
  store = await createChdbStore(
    path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-layout-')), 'data'),
    'layout',
  );
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

describe('common > clickhouse > flows layout (migrations/0110)', () => {
  it('writes flows in compressed blocks of at most a granule (small blocks for scattered row reads)', async () => {
    const [row] = await store.query<{ q: string }>(
      "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = 'flows'",
    );
    expect(row!.q).toMatch(/min_compress_block_size = 4096\b/);
    expect(row!.q).toMatch(/max_compress_block_size = 65536\b/);
    // Granules of 2,048 rows (migrations/0140); the settings of earlier migrations stay in effect.
    expect(row!.q).toMatch(/index_granularity = 2048\b/);
    expect(row!.q).toMatch(/enable_block_number_column = 1\b/);
  });

  it('indexes ownership by 64-row granules (a page of scattered addresses reads few intervals: 0150)', async () => {
    const [row] = await store.query<{ q: string }>(
      "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = 'ownership'",
    );
    expect(row!.q).toMatch(/index_granularity = 64\b/);
  });

  it('compresses time and received_at as deltas (0141: ~3 B per flow less than double deltas)', async () => {
    const rows = await store.query<{ name: string; codec: string }>(
      "SELECT name, compression_codec AS codec FROM system.columns WHERE database = currentDatabase() AND table = 'flows' AND name IN ('time', 'received_at') ORDER BY name",
    );
    expect(rows).toEqual([
      { name: 'received_at', codec: 'CODEC(Delta(8), ZSTD(1))' },
      { name: 'time', codec: 'CODEC(Delta(8), ZSTD(1))' },
    ]);
  });

  it('compresses every stored column of flows (0170: no column left to the default LZ4)', async () => {
    const rows = await store.query<{ name: string; codec: string }>(
      "SELECT name, compression_codec AS codec FROM system.columns WHERE database = currentDatabase() AND table = 'flows' AND default_kind = ''",
    );
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.filter((r) => !/ZSTD/.test(r.codec)).map((r) => r.name)).toEqual([]);
  });
});

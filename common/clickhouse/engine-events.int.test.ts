import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChdbStore } from './chdb-store.ts';
import { engineEvents } from './engine-events.ts';

// The benchmarks' load-independent evidence: a key range reads a granule or two, a full scan all of them.
describe('common > clickhouse > engine events', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-engine-events-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the rows and granules a SELECT reads, and reads unknown counters as 0', async () => {
    const store = await createChdbStore(dir, 'events');
    try {
      await store.command(
        'CREATE TABLE t (a UInt32) ENGINE = MergeTree ORDER BY a SETTINGS index_granularity = 1000',
      );
      await store.command('INSERT INTO t SELECT number FROM numbers(100000)');
      const names = ['SelectedRows', 'SelectedMarks', 'NoSuchCounter'] as const;
      const read = async (sql: string) => {
        const before = await engineEvents(store, names);
        await store.query(sql);
        const after = await engineEvents(store, names);
        return {
          rows: after.SelectedRows - before.SelectedRows,
          marks: after.SelectedMarks - before.SelectedMarks,
        };
      };
      const range = await read('SELECT count() FROM t WHERE a < 10');
      const scan = await read('SELECT count() FROM t WHERE a % 7 = 1');
      // The snapshot itself reads a few rows of system.events, never a granule of t.
      expect(range.marks).toBe(1);
      expect(scan.marks).toBe(100);
      expect(scan.rows).toBeGreaterThanOrEqual(100_000);
      expect(range.rows).toBeLessThan(2_000);
      expect((await engineEvents(store, names)).NoSuchCounter).toBe(0);
    } finally {
      await store.close();
    }
  }, 120_000);
});

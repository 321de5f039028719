import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { configureLogging } from '../../../common/logger.ts';
import { benchIngest } from './ingest-bench.ts';

// `flowtrail bench`'s embedded figures, small: each round stores every flow of its pass (a round
// sharing a store with another would find its flows already there), and the figures are the medians.
describe('collector > bench > ingest', () => {
  it('runs each round into a database of its own, drops it, and reports the medians', async () => {
    configureLogging({ level: 'error' });
    const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-ingest-bench-'));
    const dataDir = path.join(dir, 'data');
    const store = await createChdbStore(dataDir, 'bench');
    try {
      await migrate(store);
      // What runs between rounds (flowtrail bench's Kafka passes) finds the round's database gone.
      const between: { round: number; databases: string[] }[] = [];
      const r = await benchIngest(store, {
        flows: 3_000,
        rawFlows: 2_000,
        rounds: 3,
        dataDir,
        afterRound: async (round) => {
          const dbs = await store.query<{ name: string }>(
            "SELECT name FROM system.databases WHERE name LIKE 'bench_round_%'",
          );
          between.push({ round, databases: dbs.map((d) => d.name) });
        },
      });
      expect(between).toEqual([0, 1, 2].map((round) => ({ round, databases: [] })));
      expect(r.ingest_rounds.map((x) => x.flows)).toEqual([3_000, 3_000, 3_000]);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
      expect(r.ratio).toBe(median(r.ingest_rounds.map((x) => x.ratio)));
      expect(r.ingest_flows_per_s).toBe(median(r.ingest_rounds.map((x) => x.ingest_flows_per_s)));
      expect(r.raw_insert_rows_per_s).toBe(median(r.ingest_rounds.map((x) => x.raw_insert_rows_per_s)));
      for (const x of r.ingest_rounds)
        expect(x.ratio).toBeCloseTo(x.ingest_flows_per_s / x.raw_insert_rows_per_s, 2);
      const left = await store.query<{ name: string }>(
        "SELECT name FROM system.databases WHERE name LIKE 'bench_round_%' UNION ALL SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'flows_raw%'",
      );
      // The rounds' databases are gone; the first round's bare table stays for the bytes per flow.
      expect(left.map((x) => x.name)).toEqual(['flows_raw']);
      expect(r.bytes_per_flow).toBeGreaterThan(0);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    }
  }, 600_000);
});

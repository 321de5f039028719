import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchScale } from './bench-scale.ts';

// `flowtrail bench --scale` at a toy size: every question answers (no 4xx/5xx), the JSON keeps its
// fields, and a kept store is reused by the next run instead of filled again.
describe('bin > bench-scale', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-bench-scale-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = () =>
    benchScale({ flows: 20_000, runs: 1, ingestFlows: 1_000, ingestRounds: 3, keep: dir, say: () => {} });

  it('fills, answers every question, and reuses the kept store', async () => {
    const first = await run();
    expect(first.scale_flows).toBe(20_000);
    expect(first.scale_planned_flows).toBe(20_000);
    expect(first.scale_queries).toHaveLength(10);
    for (const q of first.scale_queries) {
      expect(q.statuses.every((s) => s < 300)).toBe(true);
      // What the engine read for the request is counted (every question reads something).
      expect(q.statements).toBeGreaterThan(0);
      expect(q.rows_read).toBeGreaterThan(0);
    }
    // The aggregates say which table answered.
    expect(first.scale_queries.find((q) => q.name === 'timeseries, 24 h')?.source).toMatch(
      /^(rollup|flows)$/,
    );
    expect(first.scale_index_bytes_per_flow).toBeGreaterThan(0);
    // What is kept per flow counts every table: flows, the address index and the rollups.
    const byTable = first.scale_kept_bytes_per_flow_by_table;
    expect(Object.keys(byTable)).toEqual(
      expect.arrayContaining(['flows', 'flows_by_address', 'flows_minute_detail']),
    );
    const sum = Object.values(byTable).reduce((a, b) => a + b, 0);
    // Each figure is rounded to 0.1 B.
    const rounding = 0.05 * (Object.keys(byTable).length + 1);
    expect(Math.abs(first.scale_kept_bytes_per_flow - sum)).toBeLessThanOrEqual(rounding);
    // On disk, flows alone holds at least its compressed data (plus skip indexes and marks).
    expect(byTable['flows']).toBeGreaterThanOrEqual(first.scale_bytes_per_flow);
    expect(first.scale_kept_bytes_per_flow).toBeGreaterThan(
      byTable['flows']! + byTable['flows_minute_detail']! - 0.1,
    );
    // The questions were timed once the fill's merges had settled, on the parts it reports.
    expect(first.scale_settled).toBe(true);
    expect(first.scale_flows_parts).toBeGreaterThanOrEqual(1);
    expect(first.ingest_empty_flows_per_s).toBeGreaterThan(0);
    expect(first.ingest_filled_flows_per_s).toBeGreaterThan(0);
    // Three rounds of empty then filled; the figures are their medians.
    expect(first.ingest_rounds).toHaveLength(3);
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
    expect(first.ingest_filled_ratio).toBe(mid(first.ingest_rounds.map((r) => r.ratio)));
    expect(first.ingest_empty_flows_per_s).toBe(mid(first.ingest_rounds.map((r) => r.empty_flows_per_s)));
    const state = JSON.parse(readFileSync(path.join(dir, 'fill.json'), 'utf8')) as { chunksDone: number };
    expect(state.chunksDone).toBe(1);

    const second = await run();
    // Not filled again: the first run's flows plus its three filled-store ingests, and the same fill time.
    expect(second.scale_flows).toBe(23_000);
    expect(second.scale_fill_seconds).toBe(first.scale_fill_seconds);
    // A new ingest seed each round: the kept store does not skip the second run's ingests as repeats.
    expect(second.ingest_filled_flows_per_s).toBeGreaterThan(0);
  }, 600_000);
});

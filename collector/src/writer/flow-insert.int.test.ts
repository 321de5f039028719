import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import type { IngestedFlow } from '../../../common/flow/model.ts';
import { createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { encodeFlowRow } from '../../../common/schema/flow-wire.ts';
import { faultyStore, waitUntil } from '../../../common/testing/faults.ts';
import { generatedFlows } from '../kafka/testing.ts';
import { createClickHouseSink, defaultClickHouseSinkConfig } from './clickhouse-sink.ts';
import { BatchToken, insertFlowBatch } from './flow-insert.ts';

// The insert module on the real engine: a repeated token is skipped whole (flows and the rollup
// its view fills), a recovery batch skips what is stored, and a sink that was told which ids a
// restarted source will repeat stores none of them again.
describe('collector > writer > flow-insert', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-flow-insert-'));
  let store: Store;
  let db = 0;
  let sinks = 0;
  const fresh = async () => {
    const s = await createChdbStore(path.join(dir, 'data'), `flow_insert_${++db}`);
    await migrate(s);
    return s;
  };
  const count = async (s: Store) => {
    const [row] = await s.query<{ n: string; ids: string; rollup: string }>(
      'SELECT count() AS n, uniqExact(flow_id) AS ids, (SELECT sum(flows) FROM flows_minute_detail) AS rollup FROM flows',
    );
    return { n: Number(row!.n), ids: Number(row!.ids), rollup: Number(row!.rollup) };
  };
  const batchOf = (flows: readonly IngestedFlow[]) => {
    const w = new RowBinaryWriter(1 << 20);
    const token = new BatchToken();
    let minNs = flows[0]!.timeNs;
    let maxNs = minNs;
    for (const f of flows) {
      encodeFlowRow(w, f);
      token.add(f.flowId);
      if (f.timeNs < minNs) minNs = f.timeNs;
      if (f.timeNs > maxNs) maxNs = f.timeNs;
    }
    return { data: w.take(), rows: flows.length, token: token.take(), minNs, maxNs };
  };

  beforeAll(async () => {
    store = await createChdbStore(path.join(dir, 'data'), 'flow_insert_boot');
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips a batch whose token was stored, in flows, the minute rollup and the address index', async () => {
    const s = await fresh();
    // Inserts the index received, as parts' insert blocks (a merge folds repeated index rows, so
    // count() could hide a repeat; a part made from one insert keeps its block number).
    const indexInserts = async () =>
      Number(
        (
          await s.query<{ n: string }>(
            "SELECT uniqExact(partition, min_block_number) AS n FROM system.parts WHERE database = currentDatabase() AND table = 'flows_by_address' AND min_block_number = max_block_number",
          )
        )[0]!.n,
      );
    const flows = generatedFlows(2_000, { seed: 21 });
    const b = batchOf(flows);
    expect(await insertFlowBatch(s, b)).toBe(2_000);
    const inserts = await indexInserts();
    expect(inserts).toBeGreaterThan(0);
    expect(await insertFlowBatch(s, b)).toBe(0);
    expect(await count(s)).toEqual({ n: 2_000, ids: 2_000, rollup: 2_000 });
    expect(await indexInserts()).toBe(inserts);
    // The same flows cut differently make another token: only the recovery form checks the store.
    const other = batchOf(flows.slice(500, 1_500));
    expect(await insertFlowBatch(s, { ...other, checkStored: true })).toBe(0);
    expect(await count(s)).toEqual({ n: 2_000, ids: 2_000, rollup: 2_000 });
    await s.close();
  });

  it('drops the repeats of a restarted source once told which ids it stored', async () => {
    const s = await fresh();
    const flows = generatedFlows(3_000, { seed: 22 });
    const sink = () =>
      createClickHouseSink(
        { ...defaultClickHouseSinkConfig, flushIntervalMs: 0 },
        {
          store: s,
          logger: createLogger('test'),
          metrics: createMetrics(`flow_insert_${++sinks}`),
        },
      );
    const first = sink();
    first.start();
    for (const f of flows.slice(0, 2_000)) first.push(f);
    // A repeat inside the same batch is dropped by the window, before it costs an encode.
    first.push(flows[0]!);
    await first.stop();
    expect(first.stats()).toMatchObject({ stored: 2_000, duplicates: 1 });

    const second = sink();
    second.start();
    second.remember?.(flows.slice(1_000, 2_000).map((f) => f.flowId));
    for (const f of flows.slice(1_000)) second.push(f);
    await second.stop();
    expect(second.stats()).toMatchObject({ stored: 1_000, duplicates: 1_000 });
    expect(await count(s)).toEqual({ n: 3_000, ids: 3_000, rollup: 3_000 });
    await s.close();
  });

  it('seals batches by bytes as they stream in, by count alone for an import, and stores every flow either way', async () => {
    const s = await fresh();
    const flows = generatedFlows(3_000, { seed: 23 });
    const rowBytes = batchOf(flows).data.length / flows.length;
    const run = async (flushIntervalMs: number, part: readonly IngestedFlow[]) => {
      const sink = createClickHouseSink(
        // Rows far above what is pushed: only the bytes can seal before stop().
        {
          ...defaultClickHouseSinkConfig,
          batchSize: 100_000,
          batchBytes: Math.round(500 * rowBytes),
          flushIntervalMs,
        },
        { store: s, logger: createLogger('test'), metrics: createMetrics(`flow_insert_${++sinks}`) },
      );
      sink.start();
      for (const f of part) if (!sink.push(f)) await sink.drained();
      await sink.stop();
      return sink.stats();
    };
    // Streaming (an interval set, never reached here): a batch per ~500 rows' bytes.
    const streamed = await run(60_000, flows.slice(0, 2_000));
    expect(streamed.stored).toBe(2_000);
    expect(streamed.batches).toBeGreaterThanOrEqual(3);
    expect(streamed.batches).toBeLessThanOrEqual(5);
    // An import: one batch, whatever its bytes.
    const imported = await run(0, flows.slice(2_000));
    expect(imported).toMatchObject({ stored: 1_000, batches: 1 });
    expect(await count(s)).toEqual({ n: 3_000, ids: 3_000, rollup: 3_000 });
    await s.close();
  });

  it('stores from a batch spilled to file chunk by chunk exactly the rows of one in-memory batch, retried from the same file', async () => {
    // 12,000 flows of ~650 B: a batch written through ~8 chunks of 1 MiB (batch-file.ts).
    const flows = generatedFlows(12_000, { seed: 24 });
    const digest = async (s: Store) =>
      (await s.query<{ n: string; h: string }>('SELECT count() AS n, sum(cityHash64(*)) AS h FROM flows'))[0];
    const memory = await fresh();
    expect(await insertFlowBatch(memory, batchOf(flows))).toBe(12_000);
    const spilled = await fresh();
    const faulty = faultyStore(spilled);
    // The first two attempts fail: the retry reads the batch's file again.
    faulty.failNext(2);
    const sink = createClickHouseSink(
      { ...defaultClickHouseSinkConfig, flushIntervalMs: 0, retryInitialMs: 1, retryMaxMs: 5 },
      { store: faulty.store, logger: createLogger('test'), metrics: createMetrics(`flow_insert_${++sinks}`) },
    );
    sink.start();
    for (const f of flows) if (!sink.push(f)) await sink.drained();
    await sink.stop();
    expect(sink.stats()).toMatchObject({ stored: 12_000, batches: 1, failedInserts: 2 });
    expect(await digest(spilled)).toEqual(await digest(memory));
    await memory.close();
    await spilled.close();
  });
  it('seals a live batch early when its file cannot take its rows (a full disk), and stores them all once it can', async () => {
    const s = await fresh();
    // ~650 B rows: 60,000 are ~39 MB, past the 32 MiB a batch may hold in memory (clickhouse-sink.ts).
    const flows = generatedFlows(60_000, { seed: 25 });
    const parent = path.join(dir, 'batches-later');
    const sink = createClickHouseSink(
      {
        ...defaultClickHouseSinkConfig,
        // Neither the rows, the bytes nor the age would seal before stop().
        batchSize: 1_000_000,
        batchBytes: 1 << 30,
        flushIntervalMs: 600_000,
        retryInitialMs: 1,
        retryMaxMs: 20,
        batchDir: parent,
      },
      { store: s, logger: createLogger('test'), metrics: createMetrics(`flow_insert_${++sinks}`) },
    );
    sink.start();
    // Room stays: the early-sealed batch is the only one queued (its inserts fail until the directory exists).
    for (const f of flows) expect(sink.push(f)).toBe(true);
    // Its insert has failed for want of a file before the directory appears.
    await waitUntil('the early-sealed batch to fail its insert', () => sink.stats().failedInserts > 0, {
      timeoutMs: 120_000,
    });
    mkdirSync(parent);
    await sink.stop();
    expect(sink.stats()).toMatchObject({ stored: 60_000, batches: 2 });
    expect(await count(s)).toEqual({ n: 60_000, ids: 60_000, rollup: 60_000 });
    await s.close();
  });
});

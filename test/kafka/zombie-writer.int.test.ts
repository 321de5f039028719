import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaConfig } from '../../collector/src/kafka/config.ts';
import { flowIdSet, generatedFlows } from '../../collector/src/kafka/testing.ts';
import type { KafkaWriter, KafkaWriterConfig, OffsetRange } from '../../collector/src/kafka/writer.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { configureLogging } from '../../common/logger.ts';
import { waitUntil } from '../../common/testing/faults.ts';
import { startBroker, type TestBroker } from '../../kafka/broker.ts';
import {
  produceAll,
  startSink,
  startWriter,
  storedFlowIds,
  testKafkaConfig,
  waitForRows,
} from './pipeline.ts';

// Last session saw 53,728 rows for 40,000 flows on a rebalance: a writer the group had dropped
// (starved, no heartbeats) was still inserting while its successor replayed the same messages.
// Here that interleaving is forced: the first writer stops heartbeating and is held just before
// its inserts until its successor has stored everything; then it is let go.
describe('test > kafka > zombie writer', () => {
  let broker: TestBroker;
  let store: Store;
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-kafka-zombie-'));

  beforeAll(async () => {
    configureLogging({ level: 'error' });
    broker = await startBroker();
    store = await createChdbStore(path.join(dir, 'data'), 'zombie');
    await migrate(store);
  });

  afterAll(async () => {
    await broker?.dispose();
    await store?.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  });

  /**
   * A writer that, from its first insert on, looks dead to the group and holds its inserts until
   * released; resolves once it holds one.
   */
  const startZombie = async (
    config: KafkaConfig,
    into: Store,
    overrides: Partial<KafkaWriterConfig> = {},
  ) => {
    let alive = true;
    const held: OffsetRange[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const writer = await startWriter(
      config,
      into,
      { sessionTimeoutMs: 6_000, ...overrides },
      {
        heartbeats: () => alive,
        async beforeInsert(range) {
          alive = false;
          held.push(range);
          await gate;
        },
      },
    );
    await waitUntil('the first writer to reach an insert', () => held.length > 0, { timeoutMs: 180_000 });
    return { writer, held, release };
  };

  /** Produces 12,000 generated flows of `seed` to the topic; returns their ids. */
  const produced = async (config: KafkaConfig, seed: number): Promise<Set<string>> => {
    const flows = generatedFlows(12_000, { seed });
    const sink = startSink(config);
    await produceAll(sink, flows);
    await sink.stop();
    return flowIdSet(flows);
  };

  /** Lets the zombie insert what it held (same ranges, same tokens), stops both, and checks each flow is stored once. */
  const releaseAndExpectOnce = async (
    zombie: Awaited<ReturnType<typeof startZombie>>,
    successor: KafkaWriter,
    into: Store,
    want: Set<string>,
  ) => {
    zombie.release();
    await waitUntil(
      'the dropped writer to finish its inserts',
      () => !zombie.writer.busy() && zombie.writer.stats().inserts > 0,
      { timeoutMs: 180_000 },
    );
    await Promise.all([zombie.writer.stop(), successor.stop()]);
    const stored = await storedFlowIds(into);
    expect(stored.ids).toEqual(want);
    expect(stored.rows).toBe(want.size);
  };

  it('stores each flow once when a writer dropped from the group inserts after its successor', async () => {
    const config = testKafkaConfig(broker.brokers, 2);
    const want = await produced(config, 9);
    const zombie = await startZombie(config, store);
    const successor = await startWriter(config, store, { sessionTimeoutMs: 6_000 });
    await waitForRows(store, want.size);
    expect(successor.stats().recovered).toBeGreaterThan(0);
    await releaseAndExpectOnce(zombie, successor, store, want);
  }, 600_000);

  // A successor's fetches need not match the dropped writer's: with small ones, the recorded range
  // spans several, and it must still be inserted whole (the same bounds, so the same token), or the
  // dropped writer's late insert of it would not be recognised as a repeat.
  it('replays a recorded range whole across fetches smaller than the range', async () => {
    const config = testKafkaConfig(broker.brokers, 1);
    const want = await produced(config, 19);
    const replayStore = await createChdbStore(path.join(dir, 'data'), 'zombie_whole');
    await migrate(replayStore);
    try {
      const zombie = await startZombie(config, replayStore, { batchRows: 100_000 });
      const replayed: OffsetRange[] = [];
      let fetchesBeforeInsert = 0;
      const successor = await startWriter(
        config,
        replayStore,
        // Under the size of one message: each fetch returns one (the broker always returns at least one).
        { sessionTimeoutMs: 6_000, batchRows: 100_000, maxBytes: 1_024, maxBytesPerPartition: 1_024 },
        {
          onFetch: () => {
            if (replayed.length === 0) fetchesBeforeInsert++;
          },
          async beforeInsert(range) {
            replayed.push(range);
          },
        },
      );
      await waitForRows(replayStore, want.size);
      const held = zombie.held[0]!;
      expect(held.end).toBeGreaterThan(held.start);
      expect(fetchesBeforeInsert).toBeGreaterThan(1);
      expect(replayed[0]).toEqual({ ...held, replay: true });
      await releaseAndExpectOnce(zombie, successor, replayStore, want);
    } finally {
      await replayStore.close();
    }
  }, 600_000);
});

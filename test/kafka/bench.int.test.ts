import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchKafka, type KafkaBenchResult, openKafkaBench } from '../../collector/src/kafka/bench.ts';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';

type Split = NonNullable<KafkaBenchResult['kafka_cpu_split_us_per_flow']>;

/**
 * A pass's figures hang together: inserts run one at a time within it, so their wall share is a
 * fraction of it, and the thread split does not account for more CPU than the process spent
 * (threads ended meanwhile aside; ticks are 10 ms, ~1.7 µs per flow per thread here). Returns the
 * threads' sum.
 */
function expectConsistent(p: { rate: number; insertShare: number; cpu: number; split: Split | undefined }) {
  expect(p.rate).toBeGreaterThan(0);
  expect(p.insertShare).toBeGreaterThan(0);
  expect(p.insertShare).toBeLessThanOrEqual(1);
  if (process.platform !== 'linux') return undefined;
  const split = p.split!;
  // chdb inserts on threads of its own.
  expect(split.chdb).toBeGreaterThan(0);
  const threads = split.js_main + split.js_other + split.chdb;
  expect(threads).toBeLessThanOrEqual(p.cpu * 1.1 + 2);
  return threads;
}

// The Kafka bench as `flowtrail bench` runs it (its own throwaway broker), small: what it reports
// beside the rate is what says why the rate is what it is.
describe('test > kafka > bench', () => {
  it('measures a pass and the write side alone, and says where the CPU and the wall time went', async () => {
    const r = await benchKafka({ flows: 6_000 });
    expect(r.kafka_flows).toBeGreaterThanOrEqual(6_000);
    expect(r.kafka_inserts).toBeGreaterThanOrEqual(1);
    const threads = expectConsistent({
      rate: r.kafka_flows_per_s,
      insertShare: r.kafka_insert_share,
      cpu: r.kafka_cpu_us_per_flow,
      split: r.kafka_cpu_split_us_per_flow,
    });
    if (threads !== undefined) {
      const split = r.kafka_cpu_split_us_per_flow!;
      // The writer runs JavaScript on its main thread; the collector in a process of its own.
      expect(split.js_main).toBeGreaterThan(0);
      expect(split.collector).toBeGreaterThan(0);
      // The broker is the bench's own child: its JVM's CPU is measured, apart from ours.
      expect(split.broker).toBeGreaterThan(0);
      // The two processes' CPU is the writer's threads and the collector's process; the split
      // does not lose much of it.
      const both = threads + split.collector!;
      expect(both).toBeLessThanOrEqual(r.kafka_cpu_us_per_flow * 1.1 + 2);
      expect(both).toBeGreaterThanOrEqual(r.kafka_cpu_us_per_flow * 0.6);
    }
    // The write side alone drained a topic of its own, filled before its clock started, in inserts
    // of its own.
    expect(r.kafka_drain_rows_per_insert).toBeGreaterThan(0);
    expectConsistent({
      rate: r.kafka_drain_flows_per_s ?? 0,
      insertShare: r.kafka_drain_insert_share ?? 0,
      cpu: r.kafka_drain_cpu_us_per_flow ?? 0,
      split: r.kafka_drain_cpu_split_us_per_flow,
    });
    // The collector side alone, as it filled that topic: its own process's rate and CPU, the broker's apart.
    expect(r.kafka_collector_flows_per_s).toBeGreaterThan(0);
    expect(r.kafka_collector_cpu_us_per_flow).toBeGreaterThan(0);
    if (process.platform === 'linux') {
      const side = r.kafka_collector_cpu_split_us_per_flow!;
      expect(side.js_main).toBeGreaterThan(0);
      expect(side.broker).toBeGreaterThan(0);
      // Its JavaScript thread, and the rest of its process: the gRPC reader's thread (ended before
      // the last reading, so counted from the process's total), LZ4, V8's helpers.
      expect(side.js_other).toBeGreaterThan(0);
    }
  }, 600_000);

  it('runs a warm-up off the clock and measured passes on demand, each pass alone in the store', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-kafka-bench-warm-'));
    const store = await createChdbStore(path.join(dir, 'data'), 'warm');
    const count = async (table: string) =>
      Number((await store.query<{ n: string }>(`SELECT count() AS n FROM ${table}`))[0]!.n);
    try {
      await migrate(store);
      const bench = await openKafkaBench({ flows: 4_000, warmFlows: 3_000, drain: false, store });
      try {
        // The warm-up's flows were stored, then emptied with their rollups and index rows.
        expect(await count('flows')).toBe(0);
        const rounds: number[] = [];
        for (let i = 0; i < 3; i++) {
          rounds.push((await bench.pass()).kafka_flows_per_s);
          // Emptied after each pass: the next pass (or an embedded round) merges no part of it.
          expect(await count('flows')).toBe(0);
          expect(await count('flows_by_address')).toBe(0);
        }
        const r = await bench.result();
        expect(r.kafka_warm_flows).toBe(3_000);
        // Every pass stored all of its own flows; the figures are those of the median pass.
        expect(r.kafka_flows).toBe(4_000);
        expect(r.kafka_rounds.map((x) => x.kafka_flows_per_s)).toEqual(rounds);
        expect(r.kafka_flows_per_s).toBe([...rounds].sort((a, b) => a - b)[1]);
      } finally {
        await bench.close();
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    }
  }, 600_000);
});

import { describe, expect, it } from 'vitest';
import { benchKafka } from '../../collector/src/kafka/bench.ts';

// The Kafka bench as `flowtrail bench` runs it (its own throwaway broker), small: what it reports
// beside the rate is what says why the rate is what it is.
describe('test > kafka > bench', () => {
  it('measures a pass and the write side alone, and says where the CPU and the wall time went', async () => {
    const r = await benchKafka({ flows: 6_000 });
    expect(r.kafka_flows).toBeGreaterThanOrEqual(6_000);
    expect(r.kafka_flows_per_s).toBeGreaterThan(0);
    // Inserts run one at a time within the pass: their wall share is a fraction of it.
    expect(r.kafka_inserts).toBeGreaterThanOrEqual(1);
    expect(r.kafka_insert_share).toBeGreaterThan(0);
    expect(r.kafka_insert_share).toBeLessThanOrEqual(1);
    if (process.platform === 'linux') {
      const split = r.kafka_cpu_split_us_per_flow!;
      // The writer and the collector run JavaScript on the main thread; chdb inserts on its own.
      expect(split.js_main).toBeGreaterThan(0);
      expect(split.chdb).toBeGreaterThan(0);
      // The broker is the bench's own child: its JVM's CPU is measured, apart from this process's.
      expect(split.broker).toBeGreaterThan(0);
      // The thread split accounts for the process's CPU (threads ended meanwhile aside; ticks are
      // 10 ms, ~1.7 µs per flow per thread here): neither more nor much less.
      const threads = split.js_main + split.js_other + split.chdb;
      expect(threads).toBeLessThanOrEqual(r.kafka_cpu_us_per_flow * 1.1 + 2);
      expect(threads).toBeGreaterThanOrEqual(r.kafka_cpu_us_per_flow * 0.6);
    }
    // The write side alone drained a topic of its own, filled before its clock started: it stored
    // the N flows in inserts of its own, with no collector on the clock.
    expect(r.kafka_drain_flows_per_s).toBeGreaterThan(0);
    expect(r.kafka_drain_rows_per_insert).toBeGreaterThan(0);
    expect(r.kafka_drain_insert_share).toBeGreaterThan(0);
    expect(r.kafka_drain_insert_share).toBeLessThanOrEqual(1);
    if (process.platform === 'linux') {
      const drain = r.kafka_drain_cpu_split_us_per_flow!;
      expect(drain.chdb).toBeGreaterThan(0);
      expect(drain.broker).toBeGreaterThan(0);
      const threads = drain.js_main + drain.js_other + drain.chdb;
      expect(threads).toBeLessThanOrEqual(r.kafka_drain_cpu_us_per_flow! * 1.1 + 2);
    }
  }, 600_000);
});

/**
 * The distributed-path benchmark behind `flowtrail bench`: traffic generator → Hubble gRPC →
 * collector → Kafka (LZ4, acks=all, idempotent) → writer group member → chdb, all in this process
 * against one local broker, as on a single 2-core machine. Reports flows per second end to end
 * (first flow requested to the N-th flow stored; the source stops after N), the producer's own
 * rate, bytes per flow on the wire, and the consumer lag when the N-th flow was stored.
 *
 * Without `brokers`, it starts a throwaway single-node broker with the test harness
 * (test/kafka/broker.ts: needs Java and `npm run kafka:install`).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { configureLogging, createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { sleep } from '../../../common/retry.ts';
import { startFrameServer } from '../bench/frame-server.ts';
import { createCollector, defaultCollectorConfig } from '../collector.ts';
import type { Compression } from './compression.ts';
import { createKafkaClient, type KafkaConfig } from './config.ts';
import { createKafkaSink, defaultKafkaSinkConfig } from './producer-sink.ts';
import { createKafkaWriter, defaultKafkaWriterConfig } from './writer.ts';

export interface KafkaBenchOptions {
  /** Flows to store. Default 1,000,000. */
  flows?: number;
  /** Bootstrap brokers; a throwaway local broker when absent. */
  brokers?: string;
  /** Topic partitions. Default 6. */
  partitions?: number;
  compression?: Compression;
  /** A migrated store to write into (e.g. another database of `flowtrail bench`'s scratch engine);
   * a scratch chdb directory when absent. */
  store?: Store;
}

export interface KafkaBenchResult {
  kafka_flows: number;
  kafka_seconds: number;
  /** Generator → collector → Kafka → writer → chdb, flows stored per second. */
  kafka_flows_per_s: number;
  /** Collector → Kafka acknowledged, flows per second until the N-th flow was acknowledged. */
  kafka_produce_flows_per_s: number;
  /** Message bytes per flow before compression. */
  kafka_bytes_per_flow: number;
  /**
   * CPU (user + system) this process spent per stored flow over the same run: collector, writer
   * and chdb's threads, not the broker nor the generator. Steadier than the rate on a shared
   * machine, so compare this when a change is meant to save work.
   */
  kafka_cpu_us_per_flow: number;
  /**
   * Flows per ClickHouse insert (an insert is one partition's share of a fetch): each insert costs
   * ClickHouse a fixed fraction of a second of CPU, so this says how much of the CPU per flow is that.
   */
  kafka_rows_per_insert: number;
  /** Messages behind the end of the topic, summed over partitions, when the last flow was stored. */
  consumer_lag_end: number;
  kafka_compression: Compression;
  kafka_partitions: number;
}

/** Runs the distributed-path benchmark in a scratch chdb directory (removed afterwards). */
export async function benchKafka(opts: KafkaBenchOptions = {}): Promise<KafkaBenchResult> {
  const flows = opts.flows ?? 1_000_000;
  const partitions = opts.partitions ?? 6;
  const compression = opts.compression ?? 'lz4';
  configureLogging({ level: 'error' });
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-kafka-bench-'));
  let broker: { brokers: string; dispose(): Promise<void> } | undefined;
  const store = opts.store ?? (await createChdbStore(path.join(dir, 'data'), 'kafka_bench'));
  try {
    await migrate(store);
    if (!opts.brokers) {
      const harness = await import('../../../kafka/broker.ts');
      broker = await harness.startBroker();
    }
    const id = randomUUID().slice(0, 8);
    const kafkaConfig: KafkaConfig = {
      brokers: [opts.brokers ?? broker!.brokers],
      topic: `flowtrail.bench-${id}`,
      deadLetterTopic: `flowtrail.bench-${id}.dlq`,
      groupId: `flowtrail-bench-${id}`,
      compression,
      partitions,
      clientId: 'flowtrail-bench',
    };
    const logger = createLogger('bench');
    const metrics = createMetrics('bench_kafka');
    const writer = createKafkaWriter(defaultKafkaWriterConfig, {
      kafka: createKafkaClient(kafkaConfig, logger, 'writer'),
      kafkaConfig,
      store,
      logger,
      metrics,
    });
    const sink = createKafkaSink(defaultKafkaSinkConfig, {
      kafka: createKafkaClient(kafkaConfig, logger, 'collector'),
      kafkaConfig,
      logger,
      metrics,
    });
    const sim = await startFrameServer();
    const collector = createCollector(
      { ...defaultCollectorConfig, targets: [sim.address] },
      { sink, logger, metrics },
    );
    // Connections before the clock: the writer's group join and the collector's producer (the
    // embedded bench's sink has none to make).
    await writer.start();
    sink.start();
    await sink.connected();
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    await collector.start();
    const done = () => writer.stats().stored + writer.stats().duplicates;
    // The source ends once the collector has taken N flows, and the collector's stop sends what it
    // holds at once: the run moves N flows, as the embedded bench does. Left running, the generator
    // kept the collector producing 2–3× N on these 2 cores (Kafka does not push back as the
    // embedded sink does), taking CPU from the writer for flows the figure never counts.
    let stopping: Promise<void> | undefined;
    let producedSeconds = 0;
    while (done() < flows) {
      await sleep(20);
      const taken = collector.status().sink;
      if (!stopping && taken.received >= flows) {
        sim.stop();
        stopping = collector.stop();
      }
      if (!producedSeconds && taken.stored >= flows) producedSeconds = (performance.now() - started) / 1000;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const stored = done();
    const produced = collector.status().sink.stored;
    const lag = writer.lag();
    const inserts = writer.stats().inserts;
    sim.stop();
    await (stopping ?? collector.stop());
    await writer.stop();
    // Read the producer's own series (declaring it again here with another help text would collide).
    const producedBytes = metrics.registry.getSingleMetric(
      'flowtrail_bench_kafka_kafka_produced_bytes_total',
    );
    const bytes = (await producedBytes?.get())?.values[0]?.value ?? 0;
    return {
      kafka_flows: stored,
      kafka_seconds: Math.round(seconds * 100) / 100,
      kafka_flows_per_s: Math.round(stored / seconds),
      kafka_produce_flows_per_s: Math.round(produced / (producedSeconds || seconds)),
      kafka_bytes_per_flow: Math.round(bytes / Math.max(1, produced)),
      kafka_cpu_us_per_flow: Math.round((cpu.user + cpu.system) / Math.max(1, stored)),
      kafka_rows_per_insert: Math.round(stored / Math.max(1, inserts)),
      consumer_lag_end: lag,
      kafka_compression: compression,
      kafka_partitions: partitions,
    };
  } finally {
    if (!opts.store) await store.close();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

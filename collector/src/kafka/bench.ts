/**
 * The distributed-path benchmark behind `flowtrail bench`: traffic generator → Hubble gRPC →
 * collector → Kafka (LZ4, acks=all, idempotent) → writer group member → chdb, all in this process
 * against one local broker, as on a single 2-core machine. Reports flows per second end to end
 * (first flow requested to the N-th flow stored; the source stops after N), the producer's own
 * rate, bytes per flow on the wire, the consumer lag when the N-th flow was stored, and where the
 * CPU went (this process's threads by kind, the broker's JVM).
 *
 * Without `brokers`, it starts a throwaway single-node broker with the test harness
 * (kafka/broker.ts: needs Java and `npm run kafka:install`).
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
import { childCpu, type ThreadCpu, threadCpu, threadCpuSince } from './cpu-split.ts';
import { createKafkaSink, defaultKafkaSinkConfig } from './producer-sink.ts';
import {
  createKafkaWriter,
  defaultKafkaWriterConfig,
  type KafkaWriter,
  type KafkaWriterHooks,
} from './writer.ts';

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
  /** Also measure the write side alone (`kafka_drain_*`). Default true. */
  drain?: boolean;
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
  /**
   * The same CPU by where it ran (Linux only), plus the throwaway broker's JVM when the bench
   * started one (`broker`; not in `kafka_cpu_us_per_flow`): what bounds the rate on a small machine.
   * `js_main` is the one JavaScript thread the collector and the writer share here (kafkajs, the
   * codec, both walks of a Flow, GC pauses); `js_other` Node's other threads (the gRPC reader
   * worker, libuv's pool: LZ4 and file writes; V8's GC helpers); `chdb` the engine's threads
   * (inserts, the views, merges).
   */
  kafka_cpu_split_us_per_flow?: { js_main: number; js_other: number; chdb: number; broker?: number };
  /** Flow inserts of the measured pass. */
  kafka_inserts: number;
  /**
   * The share of the measured pass's wall time the writer spent in inserts (they run one at a
   * time). Near 1, the store's insert lane bounds the rate; well below, the rest of the pipeline
   * (fetch, decode, the collector, the CPU they share) does.
   */
  kafka_insert_share: number;
  /** Messages behind the end of the topic, summed over partitions, when the last flow was stored. */
  kafka_consumer_lag_end: number;
  kafka_compression: Compression;
  kafka_partitions: number;
  /**
   * The write side alone: a writer of its own group draining a topic the collector filled before
   * (off the clock), flows stored per second from its first fetch to the N-th flow stored. In a
   * deployment the collectors run on the Nomad nodes and only the broker and the writers share a
   * machine; on this one machine the end-to-end figure above also pays the collector side and the
   * generator, so this says what the writer path itself sustains. Absent with `drain: false`.
   */
  kafka_drain_flows_per_s?: number;
  /** CPU this process spent per flow drained (the writer and chdb), and the same by thread kind. */
  kafka_drain_cpu_us_per_flow?: number;
  kafka_drain_cpu_split_us_per_flow?: KafkaBenchResult['kafka_cpu_split_us_per_flow'];
  kafka_drain_rows_per_insert?: number;
  kafka_drain_insert_share?: number;
  /**
   * The collector side alone, as it filled the drain's topic (nothing consuming): flows Kafka
   * acknowledged per second from the collector's start, and the CPU per flow of this process (the
   * generator's frame server, the collector) and the broker. With the drain's figures, it says what
   * each side costs when the two share this machine in the end-to-end pass.
   */
  kafka_collector_flows_per_s?: number;
  kafka_collector_cpu_us_per_flow?: number;
  kafka_collector_cpu_split_us_per_flow?: KafkaBenchResult['kafka_cpu_split_us_per_flow'];
}

/** The command line of the broker the test harness starts (its main class). */
const brokerMarker = 'kafka.Kafka';

/** CPU per flow by where it ran, between two readings (undefined without /proc). */
function cpuSplit(
  flows: number,
  a: ThreadCpu | undefined,
  b: ThreadCpu | undefined,
  brokerA: number | undefined,
  brokerB: number | undefined,
): KafkaBenchResult['kafka_cpu_split_us_per_flow'] {
  if (!a || !b) return undefined;
  const d = threadCpuSince(a, b);
  const per = (us: number) => Math.round((us / Math.max(1, flows)) * 10) / 10;
  return {
    js_main: per(d.jsMain),
    js_other: per(d.jsOther),
    chdb: per(d.native),
    broker: brokerA !== undefined && brokerB !== undefined ? per(brokerB - brokerA) : undefined,
  };
}

/** Wall time and this process's CPU since a reading, and the CPU by thread kind per flow. */
interface Measured {
  seconds: number;
  cpuUs: number;
  split: KafkaBenchResult['kafka_cpu_split_us_per_flow'];
}

/** What a writer did between the clock's start and the N-th flow stored, read at that instant. */
interface WriterRun extends Measured {
  stored: number;
  inserts: number;
  insertMs: number;
  lag: number;
}

/** The collector side alone: generator → collector → Kafka acknowledged, with nothing consuming. */
interface SideRun extends Measured {
  flows: number;
}

/** What the end-to-end pass measured: the writer's run and the producer's. */
interface PassResult extends WriterRun {
  produced: number;
  producedSeconds: number;
  bytes: number;
}

/** The topic, dead-letter topic and group of a pass named `name`. */
function passConfig(base: KafkaConfig, name: string): KafkaConfig {
  return {
    ...base,
    topic: `flowtrail.bench-${name}`,
    deadLetterTopic: `flowtrail.bench-${name}.dlq`,
    groupId: `flowtrail-bench-${name}`,
  };
}

/** The generator's frame server and a collector producing to `kafkaConfig`'s topic, connected. */
async function startProducing(kafkaConfig: KafkaConfig, metrics: ReturnType<typeof createMetrics>) {
  const logger = createLogger('bench');
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
  sink.start();
  await sink.connected();
  // The source ends once the collector has taken N flows, and the collector's stop sends what it
  // holds at once: the run moves N flows, as the embedded bench does. Left running, the generator
  // kept the collector producing 2–3× N on these 2 cores (Kafka does not push back as the
  // embedded sink does), taking CPU from the writer for flows the figure never counts.
  let stopping: Promise<void> | undefined;
  return {
    collector,
    /** Call while waiting: stops the source once the collector has taken `flows`. */
    check(flows: number) {
      if (!stopping && collector.status().sink.received >= flows) {
        sim.stop();
        stopping = collector.stop();
      }
    },
    acked: () => collector.status().sink.stored,
    async stop() {
      sim.stop();
      await (stopping ?? collector.stop());
    },
  };
}

/** A writer of the bench's pass, with the product's defaults. */
function createBenchWriter(
  kafkaConfig: KafkaConfig,
  store: Store,
  metrics: ReturnType<typeof createMetrics>,
  hooks?: KafkaWriterHooks,
) {
  const logger = createLogger('bench');
  return createKafkaWriter(defaultKafkaWriterConfig, {
    kafka: createKafkaClient(kafkaConfig, logger, 'writer'),
    kafkaConfig,
    store,
    logger,
    metrics,
    ...(hooks && { hooks }),
  });
}

/** CPU readings at one instant: this process, its threads by kind, the local broker's JVM. */
function cpuNow(localBroker: boolean) {
  return {
    at: performance.now(),
    process: process.cpuUsage(),
    threads: threadCpu(),
    broker: localBroker ? childCpu(brokerMarker) : undefined,
  };
}
type CpuReading = ReturnType<typeof cpuNow>;

/** What passed since `start`, read now, with the thread split per flow of `flows`. */
function measuredSince(start: CpuReading, flows: number, localBroker: boolean): Measured {
  const end = cpuNow(localBroker);
  const cpu = process.cpuUsage(start.process);
  return {
    seconds: (end.at - start.at) / 1000,
    cpuUs: cpu.user + cpu.system,
    split: cpuSplit(flows, start.threads, end.threads, start.broker, end.broker),
  };
}

/**
 * Waits until `writer` has taken `flows` (stored, or skipped as repeats), calling `whileWaiting`
 * between looks, and reads the clock and the CPU at that instant: what the pass does after (stopping
 * the collector and the writer) is not charged to the flows.
 */
async function untilStored(
  writer: KafkaWriter,
  flows: number,
  start: CpuReading,
  localBroker: boolean,
  whileWaiting: () => void = () => {},
): Promise<WriterRun> {
  const done = () => writer.stats().stored + writer.stats().duplicates;
  while (done() < flows) {
    await sleep(10);
    whileWaiting();
  }
  const stored = done();
  const measured = measuredSince(start, stored, localBroker);
  const { inserts, insertMs } = writer.stats();
  return { ...measured, stored, inserts, insertMs, lag: writer.lag() };
}

/** The per-flow figures of a writer's run, rounded as the bench reports them. */
function writerFigures(r: WriterRun) {
  return {
    flowsPerS: Math.round(r.stored / r.seconds),
    cpuUsPerFlow: Math.round(r.cpuUs / Math.max(1, r.stored)),
    rowsPerInsert: Math.round(r.stored / Math.max(1, r.inserts)),
    insertShare: Math.round((r.insertMs / 1000 / r.seconds) * 100) / 100,
  };
}

/**
 * One pass: generator → collector → `topic` → a writer of its own group → `store`, until `flows`
 * are stored. Connections are made before the clock (the writer's group join and the collector's
 * producer: the embedded bench's sink has none to make).
 */
async function pass(
  base: KafkaConfig,
  name: string,
  store: Store,
  flows: number,
  localBroker: boolean,
): Promise<PassResult> {
  const kafkaConfig = passConfig(base, name);
  const metrics = createMetrics('bench_kafka');
  const writer = createBenchWriter(kafkaConfig, store, metrics);
  await writer.start();
  const source = await startProducing(kafkaConfig, metrics);
  const start = cpuNow(localBroker);
  await source.collector.start();
  let producedSeconds = 0;
  const run = await untilStored(writer, flows, start, localBroker, () => {
    source.check(flows);
    if (!producedSeconds && source.acked() >= flows) producedSeconds = (performance.now() - start.at) / 1000;
  });
  const produced = source.acked();
  await source.stop();
  await writer.stop();
  // Read the producer's own series (declaring it again here with another help text would collide).
  const producedBytes = metrics.registry.getSingleMetric('flowtrail_bench_kafka_kafka_produced_bytes_total');
  const bytes = (await producedBytes?.get())?.values[0]?.value ?? 0;
  return { ...run, produced, producedSeconds, bytes };
}

/**
 * The write side alone: the collector fills a topic with `flows` (off the clock, then stopped),
 * and a writer of its own group drains it into `store`, timed from its first fetch handled to the
 * N-th flow stored.
 */
async function drainPass(
  base: KafkaConfig,
  name: string,
  store: Store,
  flows: number,
  localBroker: boolean,
): Promise<WriterRun & { fill: SideRun }> {
  const kafkaConfig = passConfig(base, name);
  const metrics = createMetrics('bench_kafka_drain');
  const source = await startProducing(kafkaConfig, metrics);
  const fillStart = cpuNow(localBroker);
  await source.collector.start();
  while (source.acked() < flows) {
    await sleep(20);
    source.check(flows);
  }
  const acked = source.acked();
  const fill: SideRun = { ...measuredSince(fillStart, acked, localBroker), flows: acked };
  await source.stop();
  // The clock starts as the first fetch is handed to the writer, before it reads a message: the
  // group join is not the write side's work, every message it decodes is.
  let started: CpuReading | undefined;
  const writer = createBenchWriter(kafkaConfig, store, metrics, {
    onFetch: () => {
      started ??= cpuNow(localBroker);
    },
  });
  await writer.start();
  while (!started) await sleep(2);
  const run = await untilStored(writer, flows, started, localBroker);
  await writer.stop();
  return { ...run, fill };
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
    const base: KafkaConfig = {
      brokers: [opts.brokers ?? broker!.brokers],
      topic: '',
      deadLetterTopic: '',
      groupId: '',
      compression,
      partitions,
      clientId: 'flowtrail-bench',
    };
    // No warm-up pass off the clock: one of 100k flows left the measured pass no faster nor
    // cheaper (17.4k → 17.5k flows/s, 46 → 45 µs/flow; 20.3k → 19.5k, 47 → 45; load 6), the broker
    // needing more than the bench can afford to warm.
    const run = await pass(base, id, store, flows, !!broker);
    const drained =
      opts.drain === false ? undefined : await drainPass(base, `${id}-drain`, store, flows, !!broker);
    const e2e = writerFigures(run);
    const drain = drained && { ...writerFigures(drained), split: drained.split };
    return {
      kafka_flows: run.stored,
      kafka_seconds: Math.round(run.seconds * 100) / 100,
      kafka_flows_per_s: e2e.flowsPerS,
      kafka_produce_flows_per_s: Math.round(run.produced / (run.producedSeconds || run.seconds)),
      kafka_bytes_per_flow: Math.round(run.bytes / Math.max(1, run.produced)),
      kafka_cpu_us_per_flow: e2e.cpuUsPerFlow,
      kafka_rows_per_insert: e2e.rowsPerInsert,
      kafka_inserts: run.inserts,
      kafka_insert_share: e2e.insertShare,
      kafka_cpu_split_us_per_flow: run.split,
      kafka_consumer_lag_end: run.lag,
      kafka_compression: compression,
      kafka_partitions: partitions,
      ...(drain && {
        kafka_drain_flows_per_s: drain.flowsPerS,
        kafka_drain_cpu_us_per_flow: drain.cpuUsPerFlow,
        kafka_drain_cpu_split_us_per_flow: drain.split,
        kafka_drain_rows_per_insert: drain.rowsPerInsert,
        kafka_drain_insert_share: drain.insertShare,
        kafka_collector_flows_per_s: Math.round(drained.fill.flows / drained.fill.seconds),
        kafka_collector_cpu_us_per_flow: Math.round(drained.fill.cpuUs / Math.max(1, drained.fill.flows)),
        kafka_collector_cpu_split_us_per_flow: drained.fill.split,
      }),
    };
  } finally {
    if (!opts.store) await store.close();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

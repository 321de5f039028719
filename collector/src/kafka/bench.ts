/**
 * The distributed-path benchmark behind `flowtrail bench`: traffic generator → Hubble gRPC →
 * collector → Kafka (LZ4, acks=all, idempotent) → writer group member → chdb against one local
 * broker, on this one machine: the writer in this process, the collector in a process of its own
 * (bench-collector.ts: as deployed, never inside a writer's process). Reports flows per second end to end
 * (first flow requested to the N-th flow stored; the source stops after N), the producer's own
 * rate, bytes per flow on the wire, the consumer lag when the N-th flow was stored, and where the
 * CPU went (this process's threads by kind, the broker's JVM).
 *
 * With `warmFlows`, a pass of that many flows runs first, off the clock, and its tables are emptied
 * (`flowtrail bench` runs 300,000): a deployed broker and writer are long running. Measured passes
 * run on demand (openKafkaBench): `flowtrail bench` runs one after each embedded round and compares
 * the two pair by pair. The store is emptied after every pass.
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
import { quoteIdent } from '../../../common/clickhouse/store.ts';
import { configureLogging, createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { sleep } from '../../../common/retry.ts';
import { startCollectorProcess } from './bench-collector.ts';
import type { Compression } from './compression.ts';
import { createKafkaClient, type KafkaConfig } from './config.ts';
import { childCpu, processCpu, threadCpu, threadCpuSince } from './cpu-split.ts';
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
  /**
   * Flows of a pass off the clock before the measured one, its tables emptied after: a deployed
   * broker and writer are long running, warm (compiled) code paths. Default 0.
   */
  warmFlows?: number;
  /** Measured passes of benchKafka (default 1); its figures are the median pass's. */
  rounds?: number;
}

export interface KafkaBenchResult {
  kafka_flows: number;
  /** Flows of the warm-up pass off the clock (`warmFlows`). */
  kafka_warm_flows: number;
  kafka_seconds: number;
  /** Generator → collector → Kafka → writer → chdb, flows stored per second (the median pass's). */
  kafka_flows_per_s: number;
  /** Every measured pass, in the order they ran; the other figures are the median pass's. */
  kafka_rounds: KafkaRound[];
  /** Collector → Kafka acknowledged, flows per second until the N-th flow was acknowledged. */
  kafka_produce_flows_per_s: number;
  /** Message bytes per flow before compression. */
  kafka_bytes_per_flow: number;
  /**
   * CPU (user + system) per stored flow over the same run of the writer's process (the writer,
   * chdb's threads) and the collector's (Linux; elsewhere the writer's only), not the broker nor the
   * generator. Steadier than the rate on a shared machine, so compare this when a change is meant
   * to save work.
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
   * Of the writer's process: `js_main` its JavaScript thread (kafkajs, the codec, the Flow's walk,
   * GC pauses), `js_other` Node's other threads (libuv's pool: LZ4 and file writes; V8's GC
   * helpers), `chdb` the engine's threads (inserts, the views, merges). `collector` is the
   * collector's whole process (its threads split as `kafka_collector_cpu_split_us_per_flow`).
   */
  kafka_cpu_split_us_per_flow?: CpuSplit;
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
   * acknowledged per second from the collector's start, and the CPU per flow of the collector's
   * process (by thread kind: `js_main` its JavaScript thread, `js_other` the rest: the gRPC reader's
   * thread, LZ4 and V8's helpers) and the broker. With the drain's figures, it says what each side
   * costs when the two share this machine in the end-to-end pass.
   */
  kafka_collector_flows_per_s?: number;
  kafka_collector_cpu_us_per_flow?: number;
  kafka_collector_cpu_split_us_per_flow?: CollectorSplit;
}

/** The collector's process CPU per flow (see `kafka_collector_cpu_split_us_per_flow`). */
export interface CollectorSplit {
  js_main: number;
  js_other: number;
  broker?: number;
}

/** CPU per flow by where it ran (see `kafka_cpu_split_us_per_flow`). */
export interface CpuSplit {
  js_main: number;
  js_other: number;
  chdb: number;
  broker?: number;
  collector?: number;
}

/** The command line of the broker the test harness starts (its main class). */
const brokerMarker = 'kafka.Kafka';

const perFlow = (us: number, flows: number) => Math.round((us / Math.max(1, flows)) * 10) / 10;

/**
 * Wall time, and the CPU of the writer's process and of the collector's (when one was read) since a
 * reading, with the CPU by thread kind per flow.
 */
interface Measured {
  seconds: number;
  cpuUs: number;
  split: CpuSplit | undefined;
  /** The collector's process alone (Linux). */
  collector?: { cpuUs: number; split: CollectorSplit | undefined };
}

/** What a writer did between the clock's start and the N-th flow stored, read at that instant. */
interface WriterRun extends Measured {
  stored: number;
  inserts: number;
  insertMs: number;
  lag: number;
}

/** The collector side alone: generator → collector → Kafka acknowledged, with nothing consuming. */
interface SideRun {
  flows: number;
  seconds: number;
  cpuUs: number;
  split: CollectorSplit | undefined;
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

/**
 * CPU readings at one instant: this process, its threads by kind, the local broker's JVM, and the
 * collector's process (`collectorPid`): in all, and its threads by kind.
 */
function cpuNow(localBroker: boolean, collectorPid?: number) {
  return {
    at: performance.now(),
    process: process.cpuUsage(),
    threads: threadCpu(),
    broker: localBroker ? childCpu(brokerMarker) : undefined,
    collectorPid,
    collector: collectorPid === undefined ? undefined : processCpu(collectorPid),
    collectorThreads: collectorPid === undefined ? undefined : threadCpu(collectorPid),
  };
}
type CpuReading = ReturnType<typeof cpuNow>;

/** What passed since `start`, read now, with the thread split per flow of `flows`. */
function measuredSince(start: CpuReading, flows: number, localBroker: boolean): Measured {
  const end = cpuNow(localBroker, start.collectorPid);
  const cpu = process.cpuUsage(start.process);
  const since = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined ? b - a : undefined;
  const per = (us: number) => perFlow(us, flows);
  const broker = since(start.broker, end.broker);
  // The collector's process total, not the sum of its threads: its gRPC reader's thread ends as the
  // collector stops, before the end reading, and its ticks leave /proc/<pid>/task with it.
  const collector = since(start.collector, end.collector);
  const threads = start.threads && end.threads && threadCpuSince(start.threads, end.threads);
  const collectorMain =
    start.collectorThreads &&
    end.collectorThreads &&
    threadCpuSince(start.collectorThreads, end.collectorThreads).jsMain;
  return {
    seconds: (end.at - start.at) / 1000,
    cpuUs: cpu.user + cpu.system,
    split: threads && {
      js_main: per(threads.jsMain),
      js_other: per(threads.jsOther),
      chdb: per(threads.native),
      broker: broker === undefined ? undefined : per(broker),
      ...(collector !== undefined && { collector: per(collector) }),
    },
    ...(collector !== undefined && {
      collector: {
        cpuUs: collector,
        split:
          collectorMain === undefined
            ? undefined
            : {
                js_main: per(collectorMain),
                js_other: per(collector - collectorMain),
                ...(broker !== undefined && { broker: per(broker) }),
              },
      },
    }),
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
    cpuUsPerFlow: Math.round((r.cpuUs + (r.collector?.cpuUs ?? 0)) / Math.max(1, r.stored)),
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
  const writer = createBenchWriter(kafkaConfig, store, createMetrics('bench_kafka'));
  try {
    await writer.start();
    const source = await startCollectorProcess(kafkaConfig, flows);
    try {
      const start = cpuNow(localBroker, source.pid);
      source.go();
      let producedSeconds = 0;
      const run = await untilStored(writer, flows, start, localBroker, () => {
        if (!producedSeconds && source.acked() >= flows)
          producedSeconds = (performance.now() - start.at) / 1000;
      });
      const { acked: produced, bytes } = await source.done();
      return { ...run, produced, producedSeconds, bytes };
    } finally {
      await source.stop();
    }
  } finally {
    await writer.stop();
  }
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
  const source = await startCollectorProcess(kafkaConfig, flows);
  let fill: SideRun;
  try {
    const fillStart = cpuNow(localBroker, source.pid);
    source.go();
    while (source.acked() < flows) await sleep(20);
    const acked = source.acked();
    const side = measuredSince(fillStart, acked, localBroker);
    fill = {
      flows: acked,
      seconds: side.seconds,
      cpuUs: side.collector?.cpuUs ?? 0,
      split: side.collector?.split,
    };
    await source.done();
  } finally {
    await source.stop();
  }
  // The clock starts as the first fetch is handed to the writer, before it reads a message: the
  // group join is not the write side's work, every message it decodes is.
  let started: CpuReading | undefined;
  const writer = createBenchWriter(kafkaConfig, store, createMetrics('bench_kafka_drain'), {
    onFetch: () => {
      started ??= cpuNow(localBroker);
    },
  });
  try {
    await writer.start();
    while (!started) await sleep(2);
    return { ...(await untilStored(writer, flows, started, localBroker)), fill };
  } finally {
    await writer.stop();
  }
}

/**
 * Empties every table of the store's database after a pass (the warm-up, each measured one, the
 * drain), so no pass, and no embedded round run between two of them, pays for merging another's
 * parts (measured: chdb 11.5–13.1 µs per flow in a pass after a kept 300,000-flow warm-up, against
 * 7.3–8.9 without).
 */
async function emptyTables(store: Store): Promise<void> {
  const tables = await store.query<{ name: string }>(
    "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'",
  );
  for (const { name } of tables) await store.command(`TRUNCATE TABLE ${quoteIdent(name)}`);
}

/** One measured pass (see KafkaBenchResult for the figures). */
export interface KafkaRound {
  kafka_flows_per_s: number;
  kafka_cpu_us_per_flow: number;
}

/** A measured pass's figures as `kafka_rounds` lists them. */
function roundOf(run: PassResult): KafkaRound {
  const f = writerFigures(run);
  return { kafka_flows_per_s: f.flowsPerS, kafka_cpu_us_per_flow: f.cpuUsPerFlow };
}

/**
 * The distributed-path benchmark opened: its broker started and its warm-up run, measured passes on
 * demand. `flowtrail bench` runs each pass right after an embedded round, so the two rates it compares
 * are measured minutes apart at most (this shared machine's speed moved 57–71k flows/s between
 * back-to-back Kafka passes of the same build, 2026-12-03).
 */
export interface KafkaBench {
  /** One measured pass of `flows` flows (the store emptied after it). */
  pass(): Promise<KafkaRound>;
  /** The drain pass (unless `drain: false`), then the figures: those of the median pass, and every pass. */
  result(): Promise<KafkaBenchResult>;
  /** Stops the broker the bench started and removes its scratch directory. */
  close(): Promise<void>;
}

/** Opens the distributed-path benchmark in a scratch chdb directory (removed on close). */
export async function openKafkaBench(opts: KafkaBenchOptions = {}): Promise<KafkaBench> {
  const flows = opts.flows ?? 1_000_000;
  const partitions = opts.partitions ?? 6;
  const compression = opts.compression ?? 'lz4';
  configureLogging({ level: 'error' });
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-kafka-bench-'));
  let broker: { brokers: string; dispose(): Promise<void> } | undefined;
  const store = opts.store ?? (await createChdbStore(path.join(dir, 'data'), 'kafka_bench'));
  const close = async () => {
    if (!opts.store) await store.close();
    await broker?.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  const warm = opts.warmFlows ?? 0;
  const id = randomUUID().slice(0, 8);
  let base: KafkaConfig;
  try {
    await migrate(store);
    if (!opts.brokers) {
      const harness = await import('../../../kafka/broker.ts');
      broker = await harness.startBroker();
    }
    base = {
      brokers: [opts.brokers ?? broker!.brokers],
      topic: '',
      deadLetterTopic: '',
      groupId: '',
      compression,
      partitions,
      clientId: 'flowtrail-bench',
    };
    if (warm > 0) {
      await pass(base, `${id}-warm`, store, warm, !!broker);
      await emptyTables(store);
    }
  } catch (err) {
    await close();
    throw err;
  }
  const runs: PassResult[] = [];
  return {
    async pass() {
      const run = await pass(base, `${id}-${runs.length + 1}`, store, flows, !!broker);
      runs.push(run);
      await emptyTables(store);
      return roundOf(run);
    },
    async result() {
      if (runs.length === 0) throw new Error('openKafkaBench: no pass was run');
      // The figures of the median pass by rate (the lower middle of an even count).
      const byRate = [...runs].sort((a, b) => a.stored / a.seconds - b.stored / b.seconds);
      const run = byRate[(byRate.length - 1) >> 1]!;
      const drained =
        opts.drain === false ? undefined : await drainPass(base, `${id}-drain`, store, flows, !!broker);
      if (drained) await emptyTables(store);
      const e2e = writerFigures(run);
      const drain = drained && { ...writerFigures(drained), split: drained.split };
      return {
        kafka_flows: run.stored,
        kafka_warm_flows: warm,
        kafka_seconds: Math.round(run.seconds * 100) / 100,
        kafka_flows_per_s: e2e.flowsPerS,
        kafka_rounds: runs.map(roundOf),
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
    },
    close,
  };
}

/**
 * Runs the distributed-path benchmark in a scratch chdb directory (removed afterwards): `rounds`
 * measured passes (default 1), the figures of the median one.
 */
export async function benchKafka(opts: KafkaBenchOptions = {}): Promise<KafkaBenchResult> {
  const bench = await openKafkaBench(opts);
  try {
    for (let i = 0; i < (opts.rounds ?? 1); i++) await bench.pass();
    return await bench.result();
  } finally {
    await bench.close();
  }
}

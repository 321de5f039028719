/**
 * The Kafka flow sink of distributed mode: a `FlowSink` (collector/src/writer/clickhouse-sink.ts)
 * that produces to the flow topic instead of writing to ClickHouse, so every source (Hubble gRPC,
 * `flowtrail import`) works unchanged.
 *
 * - Packing: each flow is encoded once on `push` (the Flow bytes as received, plus metadata and
 *   attribution) and filed under its node. A sealed request groups nodes by partition
 *   (murmur2(node) like Kafka's default partitioner) and sends one message per partition holding
 *   all their flows, at most `maxMessageBytes` each; a bigger share becomes several messages sent
 *   in order in successive requests. One node's flows therefore stay in one partition, in order.
 * - Delivery: `acks=all` and the idempotent producer (no duplicate from a client retry), one
 *   request in flight (order across retries), LZ4 by default (see compression.ts).
 * - Back-pressure: at most `maxPendingRequests` sealed requests wait; beyond that `push` returns
 *   false and the sources pause until `drained()`. When Kafka is unreachable, sends are retried
 *   with backoff until the sink stops, so memory stays bounded and nothing is dropped.
 * - `lastStoredTime(target)` is the newest flow time Kafka acknowledged: a reconnecting Hubble
 *   source resumes from it with `since`.
 * @module
 */
import { hostname } from 'node:os';
import type { CompressionTypes, Kafka, Message, Producer } from 'kafkajs';
import { createDeliveryQueue } from '../../../common/delivery-queue.ts';
import { errorMessage, SinkError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import type { FlowSink, SinkStats } from '../writer/clickhouse-sink.ts';
import { batchFrame, encodeLostEntry, FlowEntryEncoder, FORMAT_VERSION, headers } from './codec.ts';
import { compressionType } from './compression.ts';
import { ensureTopics, type KafkaConfig } from './config.ts';
import { partitionFor } from './partition.ts';

/** Producer tuning. */
export interface KafkaSinkConfig {
  /** Encoded bytes after which the open request is sealed. Default 4 MiB. */
  maxRequestBytes: number;
  /** Largest message value (one partition's share of a request). Default 900 kB, under the broker's 1 MB. */
  maxMessageBytes: number;
  /** A non-empty open request is sealed after this many ms. Default 50. */
  lingerMs: number;
  /** Sealed requests waiting to be sent before `push` reports back-pressure. Default 4. */
  maxPendingRequests: number;
  /** Backoff bounds for failed sends (retried until the sink stops). */
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long `stop()` keeps trying to deliver what is pending. Default 15,000 ms. */
  stopGraceMs: number;
}

export const defaultKafkaSinkConfig: KafkaSinkConfig = {
  maxRequestBytes: 4 << 20,
  maxMessageBytes: 900_000,
  lingerMs: 50,
  maxPendingRequests: 4,
  retryInitialMs: 200,
  retryMaxMs: 5_000,
  stopGraceMs: 15_000,
};

export interface KafkaSinkDeps {
  kafka: Kafka;
  kafkaConfig: KafkaConfig;
  logger: Logger;
  metrics: Metrics;
}

/** One node's share of a request: encoded entries in arrival order. */
interface NodeEntries {
  chunks: Uint8Array[];
  bytes: number;
}

interface Request {
  nodes: Map<string, NodeEntries>;
  bytes: number;
  flows: number;
  lost: number;
  lastByTarget: Map<string, bigint>;
}

const emptyRequest = (): Request => ({
  nodes: new Map(),
  bytes: 0,
  flows: 0,
  lost: 0,
  lastByTarget: new Map(),
});

/** The Kafka sink: a FlowSink that can say when it is connected. */
export interface KafkaSink extends FlowSink {
  /** Resolves once a producer is connected (a new attempt when none is); rejects when that attempt fails. */
  connected(): Promise<void>;
}

/** Creates the sink; `start()` begins connecting and sending. */
export function createKafkaSink(config: KafkaSinkConfig, deps: KafkaSinkDeps): KafkaSink {
  const { kafka, kafkaConfig, logger } = deps;
  const topic = kafkaConfig.topic;
  const compression: CompressionTypes = compressionType(kafkaConfig.compression);
  const m = {
    in: deps.metrics.counter('kafka_flows_in_total', 'Flows handed to the Kafka producer'),
    produced: deps.metrics.counter('kafka_flows_produced_total', 'Flows acknowledged by Kafka'),
    messages: deps.metrics.counter('kafka_messages_produced_total', 'Kafka messages acknowledged'),
    bytes: deps.metrics.counter(
      'kafka_produced_bytes_total',
      'Message bytes acknowledged (before compression)',
    ),
    lost: deps.metrics.counter('lost_events_total', 'Events Hubble reported lost', ['target']),
    sendSeconds: deps.metrics.histogram('kafka_send_seconds', 'Time to produce one request, acks=all'),
    failures: deps.metrics.counter('kafka_send_failures_total', 'Failed produce attempts'),
    pending: deps.metrics.gauge('kafka_pending_requests', 'Sealed requests waiting to be produced'),
  };
  const stats: SinkStats = { received: 0, stored: 0, duplicates: 0, batches: 0, failedInserts: 0, lost: 0 };
  const frame = batchFrame(`${hostname()}/${process.pid}`);
  const encoder = new FlowEntryEncoder();
  const partitionOfNode = new Map<string, number>();
  const acked = new Map<string, bigint>();
  let open = emptyRequest();
  let partitions = 0;
  let producer: Producer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const entriesOf = (node: string): NodeEntries => {
    let e = open.nodes.get(node);
    if (!e) {
      e = { chunks: [], bytes: 0 };
      open.nodes.set(node, e);
    }
    return e;
  };

  const seal = () => {
    if (open.flows === 0 && open.lost === 0) return;
    const sealed = open;
    open = emptyRequest();
    queue.enqueue(sealed);
  };

  /** Connects, creating the topic if it is missing, and learns its partition count. */
  const connect = async () => {
    const count = await ensureTopics(kafka, kafkaConfig, [topic]);
    if (count === 0) throw new SinkError('kafka', `topic ${topic} has no partitions`, { table: topic });
    if (partitions !== 0 && count !== partitions) partitionOfNode.clear();
    partitions = count;
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await p.connect();
    if (stopped) {
      await p.disconnect().catch(() => {});
      throw new SinkError('kafka', 'the sink stopped while connecting', { table: topic });
    }
    producer = p;
    logger.info('connected to kafka', { topic, partitions, compression: kafkaConfig.compression });
  };

  // One connection attempt at a time: `start` begins one so the first flows need not wait for it,
  // and a send without a producer joins it (or starts the next).
  let connecting: Promise<void> | undefined;
  const ensureConnected = (): Promise<void> =>
    (connecting ??= connect().finally(() => {
      connecting = undefined;
    }));

  const partitionOf = (node: string): number => {
    let p = partitionOfNode.get(node);
    if (p === undefined) {
      p = partitionFor(node, partitions);
      partitionOfNode.set(node, p);
    }
    return p;
  };

  /** Splits a request into rounds of at most one message per partition, in order per node. */
  const rounds = (r: Request): Message[][] => {
    const byPartition = new Map<number, { node: string; e: NodeEntries }[]>();
    for (const [node, e] of r.nodes) {
      const p = partitionOf(node);
      const list = byPartition.get(p);
      if (list) list.push({ node, e });
      else byPartition.set(p, [{ node, e }]);
    }
    const out: Message[][] = [];
    const budget = config.maxMessageBytes - frame.head.length - frame.tail.length;
    for (const [partition, list] of byPartition) {
      let round = 0;
      let parts: Uint8Array[] = [frame.head];
      let size = 0;
      const keys = new Set<string>();
      const emit = () => {
        parts.push(frame.tail);
        const single = keys.size === 1 ? [...keys][0] : undefined;
        const messages = out[round] ?? [];
        out[round++] = messages;
        messages.push({
          partition,
          key: single ?? null,
          value: Buffer.concat(parts),
          headers: { [headers.format]: String(FORMAT_VERSION) },
        });
        parts = [frame.head];
        size = 0;
        keys.clear();
      };
      for (const { node, e } of list) {
        for (const chunk of e.chunks) {
          if (size > 0 && size + chunk.length > budget) emit();
          parts.push(chunk);
          size += chunk.length;
          keys.add(node);
        }
      }
      if (size > 0) emit();
    }
    return out;
  };

  const send = async (r: Request) => {
    if (!producer) await ensureConnected();
    const started = performance.now();
    for (const messages of rounds(r)) {
      await producer!.send({ topic, acks: -1, compression, messages });
      m.messages.inc(messages.length);
    }
    m.sendSeconds.observe((performance.now() - started) / 1000);
  };

  const queue = createDeliveryQueue<Request>({
    deliver: send,
    maxPending: config.maxPendingRequests,
    retryInitialMs: config.retryInitialMs,
    retryMaxMs: config.retryMaxMs,
    // Nagle-like: what arrived while the last request was in flight goes out now, as one
    // request, instead of as many small linger-sealed ones.
    beforeNext: () => {
      if (queue.length === 0) seal();
    },
    onRetry: (err, attempt, delay, r) => {
      stats.failedInserts++;
      m.failures.inc();
      logger.warn('kafka produce failed, retrying', {
        attempt,
        delay_ms: delay,
        flows: r.flows,
        error: errorMessage(err),
      });
      // A fresh producer gets a new producer id: after a long outage the old one's sequence
      // state may be rejected. A resend can then duplicate in Kafka; the writer's flow_id dedup
      // stores each flow once.
      const old = producer;
      producer = undefined;
      old?.disconnect().catch(() => {});
    },
    onDelivered: (r) => {
      stats.stored += r.flows;
      stats.batches++;
      m.produced.inc(r.flows);
      m.bytes.inc(r.bytes);
      for (const [t, ns] of r.lastByTarget) if ((acked.get(t) ?? 0n) < ns) acked.set(t, ns);
    },
    onAbandoned: (err, r) =>
      logger.error('kafka produce abandoned at shutdown', { flows: r.flows, error: errorMessage(err) }),
    onLength: (n) => m.pending.set(n),
  });

  return {
    // The writer walks each flow's bytes into its row: reading more than time, node and uuid here
    // would walk them twice (attribution, when this collector has Nomad, reads the rest on demand).
    walk: 'header',
    push(f) {
      const chunk = encoder.encode(f);
      const e = entriesOf(f.nodeName);
      e.chunks.push(chunk);
      e.bytes += chunk.length;
      open.bytes += chunk.length;
      open.flows++;
      stats.received++;
      m.in.inc();
      const prev = open.lastByTarget.get(f.target);
      if (prev === undefined || f.timeNs > prev) open.lastByTarget.set(f.target, f.timeNs);
      if (open.bytes >= config.maxRequestBytes) seal();
      return queue.hasRoom();
    },
    drained: () => queue.drained(),
    recordLost(record) {
      const chunk = encodeLostEntry(record);
      const e = entriesOf(record.nodeName);
      e.chunks.push(chunk);
      e.bytes += chunk.length;
      open.bytes += chunk.length;
      open.lost++;
      stats.lost += Number(record.event.num_events_lost);
      m.lost.inc({ target: record.target }, Number(record.event.num_events_lost));
    },
    flush() {
      seal();
      return queue.idle();
    },
    lastStoredTime: (target) => acked.get(target),
    connected: () => (producer ? Promise.resolve() : ensureConnected()),
    stats: () => ({ ...stats }),
    start() {
      if (timer) return;
      ensureConnected().catch((err: unknown) =>
        logger.debug('kafka not reachable at start; sends will retry', { error: errorMessage(err) }),
      );
      queue.start();
      // Only an idle sender needs the timer; a busy one takes the open request when it is done.
      timer = setInterval(() => {
        if (queue.length === 0) seal();
      }, config.lingerMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      seal();
      const done = await queue.stop(config.stopGraceMs);
      if (!done) {
        const unsent = queue.pending();
        logger.error('kafka unreachable at shutdown: unsent flows stay in hubble for since-resume', {
          requests: unsent.length,
          flows: unsent.reduce((n, r) => n + r.flows, 0),
        });
      }
      // Also ends a send stuck in the client's own retries (a connection still being made closes
      // itself when it is done).
      stopped = true;
      await producer?.disconnect().catch(() => {});
    },
  };
}

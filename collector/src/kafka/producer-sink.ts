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
import { errorMessage, SinkError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import { retry, sleep } from '../../../common/retry.ts';
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

/** Creates the sink; `start()` begins connecting and sending. */
export function createKafkaSink(config: KafkaSinkConfig, deps: KafkaSinkDeps): FlowSink {
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
  const pending: Request[] = [];
  let partitions = 0;
  let producer: Producer | undefined;
  let drainWaiters: (() => void)[] = [];
  let idleWaiters: (() => void)[] = [];
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  let stopping = false;
  const abort = new AbortController();

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
    pending.push(open);
    m.pending.set(pending.length);
    open = emptyRequest();
    wake?.();
  };

  /** Connects, creating the topic if it is missing, and learns its partition count. */
  const connect = async () => {
    const count = await ensureTopics(kafka, kafkaConfig, [topic]);
    if (count === 0) throw new SinkError('kafka', `topic ${topic} has no partitions`, { table: topic });
    if (partitions !== 0 && count !== partitions) partitionOfNode.clear();
    partitions = count;
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await p.connect();
    producer = p;
    logger.info('connected to kafka', { topic, partitions, compression: kafkaConfig.compression });
  };

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
    if (!producer) await connect();
    const started = performance.now();
    for (const messages of rounds(r)) {
      await producer!.send({ topic, acks: -1, compression, messages });
      m.messages.inc(messages.length);
    }
    m.sendSeconds.observe((performance.now() - started) / 1000);
  };

  const run = async () => {
    for (;;) {
      // Nagle-like: what arrived while the last request was in flight goes out now, as one
      // request, instead of as many small linger-sealed ones.
      if (pending.length === 0) seal();
      const r = pending[0];
      if (!r) {
        for (const w of idleWaiters) w();
        idleWaiters = [];
        if (stopping) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      try {
        await retry(() => send(r), {
          maxAttempts: Number.POSITIVE_INFINITY,
          initialDelayMs: config.retryInitialMs,
          maxDelayMs: config.retryMaxMs,
          signal: abort.signal,
          isRetriable: () => true,
          onRetry: (err, attempt, delay) => {
            stats.failedInserts++;
            m.failures.inc();
            logger.warn('kafka produce failed, retrying', {
              attempt,
              delay_ms: delay,
              flows: r.flows,
              error: errorMessage(err),
            });
            // A fresh producer gets a new producer id: after a long outage the old one's
            // sequence state may be rejected. A resend can then duplicate in Kafka; the
            // writer's flow_id dedup stores each flow once.
            const old = producer;
            producer = undefined;
            old?.disconnect().catch(() => {});
          },
        });
      } catch (err) {
        logger.error('kafka produce abandoned at shutdown', { flows: r.flows, error: errorMessage(err) });
        return;
      }
      pending.shift();
      m.pending.set(pending.length);
      stats.stored += r.flows;
      stats.batches++;
      m.produced.inc(r.flows);
      m.bytes.inc(r.bytes);
      for (const [t, ns] of r.lastByTarget) if ((acked.get(t) ?? 0n) < ns) acked.set(t, ns);
      if (pending.length < config.maxPendingRequests) {
        const ws = drainWaiters;
        drainWaiters = [];
        for (const w of ws) w();
      }
    }
  };

  return {
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
      return pending.length < config.maxPendingRequests;
    },
    drained() {
      if (pending.length < config.maxPendingRequests) return Promise.resolve();
      return new Promise((r) => drainWaiters.push(r));
    },
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
      if (pending.length === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
    lastStoredTime: (target) => acked.get(target),
    stats: () => ({ ...stats }),
    start() {
      if (loop) return;
      loop = run();
      // Only an idle sender needs the timer; a busy one takes the open request when it is done.
      timer = setInterval(() => {
        if (pending.length === 0) seal();
      }, config.lingerMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      seal();
      stopping = true;
      wake?.();
      const done = await Promise.race([
        (loop ?? Promise.resolve()).then(() => true),
        sleep(config.stopGraceMs).then(() => false),
      ]);
      if (!done) {
        logger.error('kafka unreachable at shutdown: unsent flows stay in hubble for since-resume', {
          requests: pending.length,
          flows: pending.reduce((n, r) => n + r.flows, 0),
        });
      }
      abort.abort();
      // A send stuck in the client's own retries ends when the producer disconnects.
      await producer?.disconnect().catch(() => {});
      if (done) await loop;
    },
  };
}

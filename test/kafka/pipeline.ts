/**
 * @module Helpers for the distributed-path fault tests: a Kafka config on a fresh topic, the producer sink and
 * writer wired to a real broker and chdb, and the flow_id set actually stored, to compare with what was produced.
 */
import { randomUUID } from 'node:crypto';
import { type Kafka, Kafka as KafkaClient, logLevel } from 'kafkajs';
import { registerCodecs } from '../../collector/src/kafka/compression.ts';
import type { KafkaConfig } from '../../collector/src/kafka/config.ts';
import {
  createKafkaSink,
  defaultKafkaSinkConfig,
  type KafkaSinkConfig,
} from '../../collector/src/kafka/producer-sink.ts';
import {
  createKafkaWriter,
  defaultKafkaWriterConfig,
  type KafkaWriter,
  type KafkaWriterConfig,
  type KafkaWriterHooks,
} from '../../collector/src/kafka/writer.ts';
import type { FlowSink } from '../../collector/src/writer/clickhouse-sink.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import type { IngestedFlow } from '../../common/flow/model.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { waitUntil } from '../../common/testing/faults.ts';

/** A Kafka config on a fresh topic and group. */
export function testKafkaConfig(brokers: string, partitions = 6): KafkaConfig {
  const id = randomUUID().slice(0, 8);
  return {
    brokers: [brokers],
    topic: `flows-${id}`,
    deadLetterTopic: `flows-${id}.dlq`,
    groupId: `writers-${id}`,
    compression: 'lz4',
    partitions,
    clientId: 'test',
  };
}

/** A kafkajs client that logs nothing (brokers restarting make kafkajs noisy). */
export function quietKafka(config: KafkaConfig, clientId = 'test'): Kafka {
  registerCodecs();
  return new KafkaClient({
    clientId,
    brokers: config.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
  });
}

const quietLogger = () => createLogger('test');

/** A started producer sink on the topic, with fast retries. */
export function startSink(config: KafkaConfig, overrides: Partial<KafkaSinkConfig> = {}): FlowSink {
  const sink = createKafkaSink(
    { ...defaultKafkaSinkConfig, retryInitialMs: 100, retryMaxMs: 1_000, ...overrides },
    {
      kafka: quietKafka(config, 'sink'),
      kafkaConfig: config,
      logger: quietLogger(),
      metrics: createMetrics('test_sink'),
    },
  );
  sink.start();
  return sink;
}

/** Pushes every flow, honouring back-pressure, then waits until Kafka acknowledged them all. */
export async function produceAll(sink: FlowSink, flows: readonly IngestedFlow[]): Promise<void> {
  for (const f of flows) if (!sink.push(f)) await sink.drained();
  await sink.flush();
}

/** A started writer on the topic with small batches and fast retries. */
export async function startWriter(
  config: KafkaConfig,
  store: Store,
  overrides: Partial<KafkaWriterConfig> = {},
  hooks?: KafkaWriterHooks,
): Promise<KafkaWriter> {
  const writer = createKafkaWriter(
    {
      ...defaultKafkaWriterConfig,
      batchRows: 5_000,
      retryInitialMs: 100,
      retryMaxMs: 1_000,
      sessionTimeoutMs: 10_000,
      ...overrides,
    },
    {
      kafka: quietKafka(config, 'writer'),
      kafkaConfig: config,
      store,
      logger: quietLogger(),
      metrics: createMetrics('test_writer'),
      hooks,
    },
  );
  await writer.start();
  return writer;
}

/** Every stored flow_id (hex) with its count, so duplicates show. */
export async function storedFlowIds(store: Store): Promise<{ ids: Set<string>; rows: number }> {
  const rows = await store.query<{ id: string }>('SELECT hex(flow_id) AS id FROM flows');
  return { ids: new Set(rows.map((r) => r.id.toLowerCase())), rows: rows.length };
}

/** Waits until `count` rows are stored (or throws after a generous deadline, saying how many were). */
export async function waitForRows(store: Store, count: number, timeoutMs = 180_000): Promise<void> {
  let seen = 0;
  await waitUntil(
    `${count} stored flows`,
    async () => {
      const [row] = await store.query<{ n: string }>('SELECT count() AS n FROM flows');
      seen = Number(row?.n ?? 0);
      return seen >= count;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch(() => {
    throw new Error(`expected ${count} stored flows, found ${seen} after ${timeoutMs} ms`);
  });
}

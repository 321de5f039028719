/**
 * Kafka settings of distributed mode, read once from the environment. Distributed mode is on when
 * `KAFKA_BROKERS` is set: sources produce to the topic and `flowtrail writer` stores.
 * @module
 */
import { hostname } from 'node:os';
import kafkajs, { type Kafka as KafkaClient } from 'kafkajs';
import { ConfigError, errorMessage } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { type Compression, compressions, registerCodecs } from './compression.ts';

// kafkajs is CommonJS: Node's ESM loader only sees its default export.
const { Kafka, logLevel } = kafkajs;

/** Where and how to reach Kafka. */
export interface KafkaConfig {
  /** Bootstrap brokers (`KAFKA_BROKERS`, comma-separated `host:port`). */
  brokers: string[];
  /** The flow topic (`KAFKA_TOPIC`). Default `flowtrail.flows`. */
  topic: string;
  /** Where undecodable messages go (`KAFKA_DLQ_TOPIC`). Default `<topic>.dlq`. */
  deadLetterTopic: string;
  /** Writer consumer group (`KAFKA_GROUP`). Default `flowtrail-writer`. */
  groupId: string;
  /** Record-batch codec (`KAFKA_COMPRESSION`): lz4 (default), gzip or none. */
  compression: Compression;
  /** Partitions when the collector creates a missing topic (`KAFKA_TOPIC_PARTITIONS`). Default 12. */
  partitions: number;
  /** Client id prefix. Default `flowtrail`. */
  clientId: string;
}

/** The topic name when KAFKA_TOPIC is not set. */
export const defaultTopic = 'flowtrail.flows';

/** The Kafka settings of the parsed environment (common/config/env.ts); undefined without KAFKA_BROKERS (embedded mode). */
export function kafkaConfigFromEnv(env: {
  KAFKA_BROKERS?: string | undefined;
  KAFKA_TOPIC?: string | undefined;
  KAFKA_COMPRESSION?: string | undefined;
  KAFKA_TOPIC_PARTITIONS?: string | undefined;
  KAFKA_DLQ_TOPIC?: string | undefined;
  KAFKA_GROUP?: string | undefined;
  KAFKA_CLIENT_ID?: string | undefined;
}): KafkaConfig | undefined {
  const brokers = (env['KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) return undefined;
  const topic = env['KAFKA_TOPIC'] || defaultTopic;
  const compression = (env['KAFKA_COMPRESSION'] || 'lz4') as Compression;
  if (!compressions.includes(compression))
    throw new ConfigError(
      `KAFKA_COMPRESSION must be one of ${compressions.join(', ')}, got "${compression}"`,
    );
  const partitions = Number(env['KAFKA_TOPIC_PARTITIONS'] || 12);
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new ConfigError(`KAFKA_TOPIC_PARTITIONS must be a positive integer, got "${partitions}"`);
  return {
    brokers,
    topic,
    deadLetterTopic: env['KAFKA_DLQ_TOPIC'] || `${topic}.dlq`,
    groupId: env['KAFKA_GROUP'] || 'flowtrail-writer',
    compression,
    partitions,
    clientId: env['KAFKA_CLIENT_ID'] || 'flowtrail',
  };
}

/**
 * A kafkajs client whose log lines go to our logger at debug. kafkajs logs every connection error
 * at ERROR while it retries (a restarting broker is routine here); our code logs what it decides
 * from the errors it gets, once, with context.
 */
export function createKafkaClient(config: KafkaConfig, logger: Logger, role: string): KafkaClient {
  registerCodecs();
  return new Kafka({
    clientId: `${config.clientId}-${role}-${hostname()}-${process.pid}`,
    brokers: config.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ log }) => {
        const { message, ...fields } = log;
        logger.debug(`kafkajs: ${String(message).toLowerCase()}`, fields);
      },
  });
}

/**
 * Creates the topics if they are missing (with `config.partitions`) and returns the partition count
 * of the first. Collectors and writers both call it, so whichever starts first makes the topic.
 */
export async function ensureTopics(
  kafka: KafkaClient,
  config: KafkaConfig,
  topics: string[],
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin
        .createTopics({
          topics: missing.map((topic) => ({ topic, numPartitions: config.partitions })),
          waitForLeaders: true,
        })
        .catch((err: unknown) => {
          if (!/already exists/i.test(errorMessage(err))) throw err;
        });
    }
    const meta = await admin.fetchTopicMetadata({ topics: topics.slice(0, 1) });
    return meta.topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

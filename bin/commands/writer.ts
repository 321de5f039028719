/**
 * `flowtrail writer`: the Kafka → ClickHouse writer of distributed mode (KAFKA_BROKERS, KAFKA_TOPIC,
 * KAFKA_GROUP, KAFKA_SESSION_TIMEOUT_MS, KAFKA_WRITER_MAX_BATCH_AGE_MS; CLICKHOUSE_URL or FLOWTRAIL_DATA_DIR). Run several: they share the topic's partitions
 * as one consumer group. SIGTERM stops cleanly; `--until-idle SECONDS` exits once the topic has been
 * quiet that long (scripts, tests, the bench); `--json` prints the counters at exit.
 * @module
 */

import { createKafkaClient, kafkaConfigFromEnv } from '../../collector/src/kafka/config.ts';
import { createKafkaWriter, defaultKafkaWriterConfig } from '../../collector/src/kafka/writer.ts';
import { clusterInsertSettings, clusterMigrateOptions } from '../../common/clickhouse/cluster.ts';
import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs, positiveInt } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('writer', argv, {
    'until-idle': { type: 'string' },
    'batch-rows': { type: 'string' },
    'no-migrate': { type: 'boolean' },
    check: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const { env } = serviceConfig();
  const kafkaConfig = kafkaConfigFromEnv(env);
  if (!kafkaConfig) throw new ConfigError('flowtrail writer: set KAFKA_BROKERS (host:port,…)');
  if (values.check) {
    process.stdout.write(
      `config ok (kafka ${kafkaConfig.brokers.join(',')} topic ${kafkaConfig.topic}; group ${kafkaConfig.groupId})\n`,
    );
    return 0;
  }
  const untilIdleMs = values['until-idle'] ? positiveInt('until-idle', values['until-idle'], 1) * 1000 : 0;
  const logger = createLogger('writer');
  const storeConfig = storeConfigOf(env);
  const store = await openStore(storeConfig);
  try {
    if (!values['no-migrate'])
      await migrate(store, {
        ...clusterMigrateOptions(storeConfig.cluster),
        ttlDays: env.FLOWTRAIL_TTL_DAYS,
      });
    const writer = createKafkaWriter(
      {
        ...defaultKafkaWriterConfig,
        batchRows: positiveInt('batch-rows', values['batch-rows'], defaultKafkaWriterConfig.batchRows),
        // How soon the group reassigns a dead writer's partitions (broker minimum 6,000 ms).
        sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS ?? defaultKafkaWriterConfig.sessionTimeoutMs,
        maxBatchAgeMs: env.KAFKA_WRITER_MAX_BATCH_AGE_MS ?? defaultKafkaWriterConfig.maxBatchAgeMs,
        insertSettings: clusterInsertSettings(storeConfig.cluster),
      },
      {
        kafka: createKafkaClient(kafkaConfig, logger.child('kafkajs'), 'writer'),
        kafkaConfig,
        store,
        logger,
        metrics: createMetrics('writer'),
      },
    );
    let stopRequested: () => void = () => {};
    const stopped = new Promise<string>((resolve) => {
      stopRequested = () => resolve('signal');
      process.once('SIGTERM', stopRequested);
      process.once('SIGINT', stopRequested);
      if (untilIdleMs > 0) {
        const timer = setInterval(() => {
          if (writer.idleMs() >= untilIdleMs && !writer.busy()) {
            clearInterval(timer);
            resolve('idle');
          }
        }, 250);
      }
    });
    await writer.start();
    const reason = await stopped;
    logger.info('writer stopping', { reason });
    await writer.stop();
    const stats = writer.stats();
    logger.info('writer stopped', { ...stats });
    if (values.json) process.stdout.write(`${JSON.stringify({ ...stats, lag: writer.lag() })}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `flowtrail collector`: the collector alone, for distributed mode — Hubble sources (`HUBBLE_SERVER`,
 * a comma list; `HUBBLE_TLS_*`) into Kafka when `KAFKA_BROKERS` is set (the writers store), else
 * straight into ClickHouse (`CLICKHOUSE_URL` or `FLOWTRAIL_DATA_DIR`). SIGTERM stops it after what
 * was received is delivered (Kafka) or stored (ClickHouse).
 *
 * In Kafka mode the collector has no database: a restarted collector asks Hubble for its whole
 * ring buffer, and the writers skip flows already stored. Attribution at ingest needs the ownership
 * tracker of the embedded product; without it, flows are attributed at query time.
 * @module
 */
import { createCollector, defaultCollectorConfig } from '../../collector/src/collector.ts';
import { createKafkaClient, kafkaConfigFromEnv } from '../../collector/src/kafka/config.ts';
import { createKafkaSink, defaultKafkaSinkConfig } from '../../collector/src/kafka/producer-sink.ts';
import { hubbleTlsFromEnv, parseHubbleTargets } from '../../collector/src/sources/hubble-target.ts';
import { clusterMigrateOptions } from '../../common/clickhouse/cluster.ts';
import { openStore, type Store, storeConfigFromEnv } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { parseCommandArgs } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  parseCommandArgs('collector', argv, {});
  const server = process.env['HUBBLE_SERVER'];
  if (!server) throw new ConfigError('flowtrail collector: set HUBBLE_SERVER (host:port of Hubble Relay, …)');
  const targets = parseHubbleTargets(server);
  const logger = createLogger('collector');
  const metrics = createMetrics('collector');
  const kafkaConfig = kafkaConfigFromEnv();
  let store: Store | undefined;
  if (!kafkaConfig) {
    const storeConfig = storeConfigFromEnv();
    store = await openStore(storeConfig);
    await migrate(store, clusterMigrateOptions(storeConfig.cluster));
  }
  try {
    const sink = kafkaConfig
      ? createKafkaSink(defaultKafkaSinkConfig, {
          kafka: createKafkaClient(kafkaConfig, logger.child('kafkajs'), 'collector'),
          kafkaConfig,
          logger: logger.child('kafka'),
          metrics,
        })
      : undefined;
    const collector = createCollector(
      { ...defaultCollectorConfig, targets, tls: hubbleTlsFromEnv() },
      { store, sink, logger, metrics },
    );
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await collector.start();
    logger.info('collector started', {
      targets,
      output: kafkaConfig ? `kafka:${kafkaConfig.topic}` : 'clickhouse',
    });
    await stopped;
    logger.info('collector stopping');
    await collector.stop();
    logger.info('collector stopped', { ...collector.status().sink });
    return 0;
  } finally {
    await store?.close();
  }
}

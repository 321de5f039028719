/**
 * `flowtrail collector`: the collector alone, for distributed mode — Hubble sources (`HUBBLE_SERVER`,
 * a comma list; `HUBBLE_TLS_*`) into Kafka when `KAFKA_BROKERS` is set (the writers store), else
 * straight into ClickHouse (`CLICKHOUSE_URL` or `FLOWTRAIL_DATA_DIR`). SIGTERM stops it after what
 * was received is delivered (Kafka) or stored (ClickHouse).
 *
 * In Kafka mode the collector has no database: a restarted collector asks Hubble for its whole
 * ring buffer, and the writers skip flows already stored. Flows are attributed at ingest from
 * netreap labels and address scopes, and from Nomad ownership when NOMAD_ADDR and CLICKHOUSE_URL
 * are both set (the tracker keeps its intervals in ClickHouse); otherwise ownership is applied at
 * query time.
 * @module
 */

import { createAttribution } from '../../collector/src/attribution.ts';
import { createCollector, defaultCollectorConfig } from '../../collector/src/collector.ts';
import { createKafkaClient, kafkaConfigFromEnv } from '../../collector/src/kafka/config.ts';
import { createKafkaSink, defaultKafkaSinkConfig } from '../../collector/src/kafka/producer-sink.ts';
import { nomadConfigFromEnv } from '../../collector/src/nomad/config.ts';
import { hubbleTlsFromEnv, parseHubbleTargets } from '../../collector/src/sources/hubble-target.ts';
import { clusterMigrateOptions } from '../../common/clickhouse/cluster.ts';
import { openStore, type Store, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { createMetrics } from '../../common/metrics.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('collector', argv, { check: { type: 'boolean' } });
  const { env, config } = serviceConfig();
  const server = env.HUBBLE_SERVER;
  if (!server) throw new ConfigError('flowtrail collector: set HUBBLE_SERVER (host:port of Hubble Relay, …)');
  const targets = parseHubbleTargets(server);
  const logger = createLogger('collector');
  const metrics = createMetrics('collector');
  const kafkaConfig = kafkaConfigFromEnv(env);
  const nomad = nomadConfigFromEnv(env);
  const tls = hubbleTlsFromEnv(env);
  if (values.check) {
    process.stdout.write(
      `config ok (hubble ${targets.join(', ')}${tls ? ' tls' : ''}; output ${kafkaConfig ? `kafka:${kafkaConfig.topic}` : 'clickhouse'}; ` +
        `nomad ${nomad ? nomad.address : 'off'})\n`,
    );
    return 0;
  }
  let store: Store | undefined;
  // A Kafka collector needs ClickHouse only to follow Nomad ownership (CLICKHOUSE_URL).
  if (!kafkaConfig || (nomad && env.CLICKHOUSE_URL)) {
    const storeConfig = storeConfigOf(env);
    store = await openStore(storeConfig);
    await migrate(store, { ...clusterMigrateOptions(storeConfig.cluster), ttlDays: env.FLOWTRAIL_TTL_DAYS });
  }
  const attribution = createAttribution({ tenancy: config.tenancy, store, nomad, logger, metrics });
  try {
    await attribution.start();
    const sink = kafkaConfig
      ? createKafkaSink(defaultKafkaSinkConfig, {
          kafka: createKafkaClient(kafkaConfig, logger.child('kafkajs'), 'collector'),
          kafkaConfig,
          logger: logger.child('kafka'),
          metrics,
        })
      : undefined;
    const collector = createCollector(
      { ...defaultCollectorConfig, targets, tls },
      { store: kafkaConfig ? undefined : store, sink, logger, metrics, attribute: attribution.attribute },
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
    await attribution.stop();
    await store?.close();
  }
}

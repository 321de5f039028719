/**
 * `flowtrail migrate`: applies the ClickHouse migrations to the configured store (as cluster DDL when
 * CLICKHOUSE_CLUSTER is set: common/clickhouse/cluster.ts).
 * @module
 */

import { clusterMigrateOptions } from '../../common/clickhouse/cluster.ts';
import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { serviceConfig } from '../env.ts';

export async function run(_argv: string[]): Promise<number> {
  const { env } = serviceConfig();
  const config = storeConfigOf(env);
  const store = await openStore(config);
  try {
    const result = await migrate(store, {
      ...clusterMigrateOptions(config.cluster),
      ttlDays: env.FLOWTRAIL_TTL_DAYS,
    });
    process.stdout.write(
      `${JSON.stringify({ database: store.database, transport: store.kind, ...result })}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

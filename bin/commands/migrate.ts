/**
 * `flowtrail migrate`: applies the ClickHouse migrations to the configured store (as cluster DDL when
 * CLICKHOUSE_CLUSTER is set: common/clickhouse/cluster.ts).
 * @module
 */

import { clusterMigrateOptions } from '../../common/clickhouse/cluster.ts';
import { openStore, storeConfigFromEnv } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';

export async function run(_argv: string[]): Promise<number> {
  const config = storeConfigFromEnv();
  const store = await openStore(config);
  try {
    const result = await migrate(store, clusterMigrateOptions(config.cluster));
    process.stdout.write(
      `${JSON.stringify({ database: store.database, transport: store.kind, ...result })}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * Opens the configured ClickHouse: a server when `CLICKHOUSE_URL` is set, otherwise the chdb
 * engine on `FLOWTRAIL_DATA_DIR` (default ./data). The variables are parsed at the edge
 * (common/config/env.ts); this takes the parsed values.
 * @module
 */
import { createChdbStore } from './chdb-store.ts';
import { createServerStore } from './server-store.ts';
import type { Store } from './store.ts';

export { ClickHouseError, parseClickHouseError } from './errors.ts';
export type {
  InsertResult,
  QueryOptions,
  QueryParams,
  QuerySettings,
  RowBinaryInsert,
  Store,
} from './store.ts';

/** Where the data lives, resolved once from the environment. */
export interface StoreConfig {
  /** ClickHouse server URL; when absent, the embedded engine is used. */
  url?: string;
  /** chdb data directory (embedded). Default ./data. */
  dataDir: string;
  /** Database name. Default `flowtrail`. */
  database: string;
  /** Cluster name for ON CLUSTER DDL and Replicated engines (server only). */
  cluster?: string;
}

/** The store configuration of the parsed environment (common/config/env.ts). */
export function storeConfigOf(env: {
  CLICKHOUSE_URL?: string | undefined;
  FLOWTRAIL_DATA_DIR?: string | undefined;
  CLICKHOUSE_DATABASE?: string | undefined;
  CLICKHOUSE_CLUSTER?: string | undefined;
}): StoreConfig {
  return {
    url: env.CLICKHOUSE_URL || undefined,
    dataDir: env.FLOWTRAIL_DATA_DIR || './data',
    database: env.CLICKHOUSE_DATABASE || 'flowtrail',
    cluster: env.CLICKHOUSE_CLUSTER || undefined,
  };
}

/** Opens the store described by `config`. */
export function openStore(config: StoreConfig): Promise<Store> {
  return config.url
    ? createServerStore(config.url, config.database)
    : createChdbStore(config.dataDir, config.database);
}

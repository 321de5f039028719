/**
 * `flowtrail api`: the query service alone (the compose query-api container), against
 * CLICKHOUSE_URL or FLOWTRAIL_DATA_DIR: config → store → migrations → the query service graph
 * (service.ts: HTTP API + UI + Hubble gRPC + alert engine), started in that order and stopped in
 * reverse. It reads the same environment names as every other command (common/config/env.ts).
 * @module
 */
import { clusterMigrateOptions } from '../../common/clickhouse/cluster.ts';
import { openStore, type Store, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { listenOf, loadServiceConfig, type RawEnv, type ServiceConfig } from '../../common/config/env.ts';
import type { Logger } from '../../common/logger.ts';
import { createMetricsRegistry } from '../../common/metrics.ts';
import { who } from '../../common/ownership/who.ts';
import { grpcTlsFromEnv } from './grpc/tls.ts';
import { createQueryService, type ListenConfig, type RunningQueryService } from './service.ts';

export type { ListenConfig };

/** Where `flowtrail api` listens: HTTP 127.0.0.1:8080 and gRPC 4245 unless the environment says otherwise. */
export function listenConfigOf(loaded: ServiceConfig): ListenConfig {
  return { ...listenOf(loaded.env), grpcTls: grpcTlsFromEnv(loaded.env) };
}

/** A running API. */
export interface RunningApi extends RunningQueryService {
  store: Store;
  /** Stops gRPC, HTTP, the alert engine, then the store. */
  close(): Promise<void>;
}

/** Validates the configuration without opening anything (`flowtrail api --check`). */
export function checkApiConfig(env: RawEnv): string {
  const loaded = loadServiceConfig(env);
  const listen = listenConfigOf(loaded);
  const { config, path } = loaded;
  return (
    `config ok (${path ?? 'no FLOWTRAIL_CONFIG: defaults'}; auth ${config.auth.mode}, ${config.tokens.length} tokens; ` +
    `http ${listen.host}:${listen.port}, grpc ${listen.grpcHost}:${listen.grpcPort}; ` +
    `alerts ${config.alerts.enabled ? 'on' : 'off'})`
  );
}

/** Starts the standalone API. */
export async function startApi(loaded: ServiceConfig, logger: Logger): Promise<RunningApi> {
  const listen = listenConfigOf(loaded);
  const storeConfig = storeConfigOf(loaded.env);
  const store = await openStore(storeConfig);
  try {
    await migrate(store, {
      ...clusterMigrateOptions(storeConfig.cluster),
      ttlDays: loaded.env.FLOWTRAIL_TTL_DAYS,
    });
    const service = createQueryService({
      store,
      logger,
      config: loaded.config,
      metrics: createMetricsRegistry(),
      attribution: (ip, at) => who(store, ip, at),
      secrets: loaded.secrets,
    });
    const running = await service.start(listen);
    logger.info('api listening', {
      http: running.url,
      grpc: `${listen.grpcHost}:${running.grpcPort}`,
      grpc_tls: listen.grpcTls.kind === 'tls',
      transport: store.kind,
      database: store.database,
      config: loaded.path ?? null,
      alerts: loaded.config.alerts.enabled,
    });
    return {
      ...running,
      store,
      async close() {
        await service.stop();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

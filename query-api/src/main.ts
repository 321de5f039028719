/**
 * Wiring of the standalone query API (`flowtrail api`): config → store → migrations → HTTP app
 * → Hubble gRPC server, started in that order and stopped in reverse. `flowtrail start` does not
 * use this file; it calls mountApi and createGrpcServer with its own store.
 * @module
 */
import type { Server } from 'node:http';
import { openStore, type Store, storeConfigFromEnv } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { loadConfig } from '../../common/config/load.ts';
import { ConfigError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { who } from '../../common/ownership/who.ts';
import { createApi } from './app.ts';
import type { ApiDeps } from './deps.ts';
import { createGrpcServer, type GrpcServerHandle } from './grpc/server.ts';
import { type GrpcTlsConfig, grpcTlsFromEnv } from './grpc/tls.ts';

/**
 * Where the standalone API listens (environment: FLOWTRAIL_API_HOST/PORT, FLOWTRAIL_GRPC_PORT,
 * FLOWTRAIL_GRPC_TLS_*).
 */
export interface ListenConfig {
  host: string;
  port: number;
  grpcHost: string;
  grpcPort: number;
  /** Plaintext unless FLOWTRAIL_GRPC_TLS_CERT/KEY are set (grpc/tls.ts). */
  grpcTls: GrpcTlsConfig;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
    throw new ConfigError(`${name} must be a port number, got "${v}"`);
  return Number(v);
}

/** Reads the listen addresses: API 127.0.0.1:8080, gRPC 127.0.0.1:4245 by default. */
export function listenConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ListenConfig {
  return {
    host: env['FLOWTRAIL_API_HOST'] || '127.0.0.1',
    port: port(env, 'FLOWTRAIL_API_PORT', 8080),
    grpcHost: env['FLOWTRAIL_GRPC_HOST'] || env['FLOWTRAIL_API_HOST'] || '127.0.0.1',
    grpcPort: port(env, 'FLOWTRAIL_GRPC_PORT', 4245),
    grpcTls: grpcTlsFromEnv(env),
  };
}

/** A running API. */
export interface RunningApi {
  http: Server;
  grpc: GrpcServerHandle;
  store: Store;
  /** Stops gRPC, HTTP, then the store. */
  close(): Promise<void>;
}

/** Validates the configuration without opening anything (`flowtrail api --check`). */
export function checkApiConfig(env: NodeJS.ProcessEnv = process.env): string {
  const { config, path } = loadConfig(env);
  listenConfigFromEnv(env);
  return `config ok (${path ?? 'no FLOWTRAIL_CONFIG: defaults'}; auth ${config.auth.mode}, ${config.tokens.length} tokens)`;
}

/** Starts the standalone API against CLICKHOUSE_URL or FLOWTRAIL_DATA_DIR. */
export async function startApi(env: NodeJS.ProcessEnv = process.env): Promise<RunningApi> {
  const logger = createLogger('api');
  const { config, path } = loadConfig(env);
  const listen = listenConfigFromEnv(env);
  const store = await openStore(storeConfigFromEnv(env));
  await migrate(store);
  const deps: ApiDeps = {
    store,
    logger,
    api: config.api,
    auth: config.auth,
    tokens: config.tokens,
    attribution: (ip, at) => who(store, ip, at),
  };
  const { app } = createApi(deps);
  const http = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(listen.port, listen.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const grpc = await createGrpcServer(deps).listen(listen.grpcHost, listen.grpcPort, listen.grpcTls);
  logger.info('api listening', {
    http: `${listen.host}:${listen.port}`,
    grpc: `${listen.grpcHost}:${grpc.port}`,
    grpc_tls: listen.grpcTls.kind === 'tls',
    transport: store.kind,
    database: store.database,
    config: path ?? null,
  });
  return {
    http,
    grpc,
    store,
    async close() {
      await grpc.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await store.close();
    },
  };
}

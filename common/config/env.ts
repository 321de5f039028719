/**
 * The environment, parsed once at the edge: every variable any Flowtrail command reads, with its
 * default and meaning, validated by one zod schema. `main`/`bin` call `loadServiceConfig(env)`
 * and hand typed values down; nothing below them reads `process.env` (a test holds the code to
 * that). An empty value counts as unset (compose passes `${X:-}` through as "").
 *
 * Unknown `FLOWTRAIL_*` variables are rejected — a misspelt or retired name (the old
 * FLOWTRAIL_API_PORT) must not be silently ignored — except names the config file declares as
 * webhook `secretEnv`.
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { loadConfig } from './load.ts';
import type { FlowtrailConfig } from './schema.ts';

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number (0-65535)');
const positiveInt = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number);

/** Every environment variable Flowtrail reads. */
export const envSchema = z.object({
  /** Path of the config file (YAML or JSON: tenancy, tokens, API limits, alert rules). Default: none. */
  FLOWTRAIL_CONFIG: z.string().optional(),
  /** Host the HTTP API and UI listen on (every command that serves HTTP). Default 127.0.0.1. */
  FLOWTRAIL_HTTP_HOST: z.string().default('127.0.0.1'),
  /** Port of the HTTP API and UI. Default 8080. */
  FLOWTRAIL_HTTP_PORT: port.default(8080),
  /** Host of the Hubble Observer gRPC API over history. Default FLOWTRAIL_HTTP_HOST. */
  FLOWTRAIL_GRPC_HOST: z.string().optional(),
  /** Port of the Hubble Observer gRPC API. Default 4245. */
  FLOWTRAIL_GRPC_PORT: port.default(4245),
  /** PEM certificate for gRPC TLS (with FLOWTRAIL_GRPC_TLS_KEY); plaintext when unset. */
  FLOWTRAIL_GRPC_TLS_CERT: z.string().optional(),
  /** PEM private key for gRPC TLS. */
  FLOWTRAIL_GRPC_TLS_KEY: z.string().optional(),
  /** PEM CA bundle: when set, gRPC clients must present a certificate it signed (mTLS). */
  FLOWTRAIL_GRPC_TLS_CLIENT_CA: z.string().optional(),
  /** Overrides the config file's auth.mode: `open` (local demo only) or `tokens`. */
  FLOWTRAIL_AUTH_MODE: z.enum(['open', 'tokens']).optional(),
  /** chdb data directory of the embedded engine (when CLICKHOUSE_URL is unset). Default ./data. */
  FLOWTRAIL_DATA_DIR: z.string().default('./data'),
  /** Minimum log level: debug, info, warn or error. Default info. */
  FLOWTRAIL_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Days flows and lost events are kept (the TTL migrations apply). Default 30. */
  FLOWTRAIL_TTL_DAYS: positiveInt.refine((n) => n >= 1, 'must be at least 1').default(30),
  /** Flows per second of the built-in demo traffic (`flowtrail start` without HUBBLE_SERVER). Default 200. */
  FLOWTRAIL_DEMO_RATE: positiveInt.default(200),
  /** Set to print stack traces of unexpected errors. */
  FLOWTRAIL_DEBUG: z.string().optional(),
  /** Tests only: where the shared Hubble/Nomad fixtures live (default ../shared/fixtures). */
  FLOWTRAIL_FIXTURES_DIR: z.string().optional(),
  /** ClickHouse server URL (with credentials); unset: the embedded chdb engine on FLOWTRAIL_DATA_DIR. */
  CLICKHOUSE_URL: z.url().optional(),
  /** Database name. Default flowtrail. */
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('flowtrail'),
  /** Cluster for ON CLUSTER DDL and Replicated engines (server only). */
  CLICKHOUSE_CLUSTER: z.string().optional(),
  /** Hubble Relay or agent addresses, comma-separated (host:port); unset on `start`: the demo. */
  HUBBLE_SERVER: z.string().optional(),
  /** CA bundle to verify Hubble's TLS certificate; any HUBBLE_TLS_* turns TLS on. */
  HUBBLE_TLS_CA: z.string().optional(),
  /** Client certificate for Hubble mTLS. */
  HUBBLE_TLS_CERT: z.string().optional(),
  /** Client key for Hubble mTLS. */
  HUBBLE_TLS_KEY: z.string().optional(),
  /** Server name to verify in Hubble's certificate (e.g. *.hubble-relay.cilium.io). */
  HUBBLE_TLS_SERVER_NAME: z.string().optional(),
  /** Kafka bootstrap brokers, comma-separated; set: the collector produces and the writer consumes. */
  KAFKA_BROKERS: z.string().optional(),
  /** Flow topic. Default flowtrail.flows. */
  KAFKA_TOPIC: z.string().optional(),
  /** Producer compression: none, gzip, lz4 (default) or zstd. */
  KAFKA_COMPRESSION: z.enum(['none', 'gzip', 'lz4', 'zstd']).optional(),
  /** Partitions when the topic is created. Default 12. */
  KAFKA_TOPIC_PARTITIONS: z.string().optional(),
  /** Dead-letter topic for undecodable messages. Default <topic>.dlq. */
  KAFKA_DLQ_TOPIC: z.string().optional(),
  /** Writer consumer group. Default flowtrail-writer. */
  KAFKA_GROUP: z.string().optional(),
  /** Kafka client id. Default flowtrail. */
  KAFKA_CLIENT_ID: z.string().optional(),
  /** Writer consumer session timeout, ms. */
  KAFKA_SESSION_TIMEOUT_MS: positiveInt.optional(),
  /** Longest a writer holds a partition's flows for a larger insert, ms. */
  KAFKA_WRITER_MAX_BATCH_AGE_MS: positiveInt.optional(),
  /** Nomad API address; set: ownership is followed from Nomad. */
  NOMAD_ADDR: z.url().optional(),
  /** Nomad ACL token. */
  NOMAD_TOKEN: z.string().optional(),
  /** Nomad region. */
  NOMAD_REGION: z.string().optional(),
  /** CA bundle for Nomad's TLS certificate. */
  NOMAD_CACERT: z.string().optional(),
});

/** The parsed environment. */
export type ServiceEnv = z.infer<typeof envSchema>;

/** The environment as a plain record (process.env or a test's object). */
export type RawEnv = Readonly<Record<string, string | undefined>>;

const known = new Set(Object.keys(envSchema.shape));

/** Parses the environment; `allow` lists extra FLOWTRAIL_* names (webhook secrets). */
export function parseEnv(env: RawEnv, allow: readonly string[] = []): ServiceEnv {
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') set[k] = v;
  const unknown = Object.keys(set).filter(
    (k) => k.startsWith('FLOWTRAIL_') && !known.has(k) && !allow.includes(k),
  );
  if (unknown.length > 0) {
    const hint = (k: string) =>
      k === 'FLOWTRAIL_API_HOST' || k === 'FLOWTRAIL_API_PORT'
        ? ` (renamed: use ${k.replace('_API_', '_HTTP_')})`
        : '';
    throw new ConfigError(
      `unknown environment variable${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => k + hint(k)).join(', ')}`,
    );
  }
  const r = envSchema.safeParse(set);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`environment is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** The environment and the config file, parsed and validated together. */
export interface ServiceConfig {
  env: ServiceEnv;
  config: FlowtrailConfig;
  /** The config file read, or undefined. */
  path: string | undefined;
  /** Values of the webhook `secretEnv` variables the config names. */
  secrets: Readonly<Record<string, string | undefined>>;
}

/**
 * Loads what a service runs with: FLOWTRAIL_CONFIG's file (strict schema), the environment
 * (strict for FLOWTRAIL_*), FLOWTRAIL_AUTH_MODE applied. Throws ConfigError naming every problem.
 */
export function loadServiceConfig(raw: RawEnv): ServiceConfig {
  const loaded = loadConfig({
    FLOWTRAIL_CONFIG: raw['FLOWTRAIL_CONFIG'],
    FLOWTRAIL_AUTH_MODE: raw['FLOWTRAIL_AUTH_MODE'],
  });
  const secretNames = loaded.config.alerts.webhooks.targets.flatMap((w) =>
    w.secretEnv ? [w.secretEnv] : [],
  );
  const env = parseEnv(raw, secretNames);
  const secrets = Object.fromEntries(secretNames.map((n: string) => [n, raw[n]]));
  return { env, config: loaded.config, path: loaded.path, secrets };
}

/** Where the query service listens, from the parsed environment. */
export function listenOf(env: ServiceEnv) {
  return {
    host: env.FLOWTRAIL_HTTP_HOST,
    port: env.FLOWTRAIL_HTTP_PORT,
    grpcHost: env.FLOWTRAIL_GRPC_HOST ?? env.FLOWTRAIL_HTTP_HOST,
    grpcPort: env.FLOWTRAIL_GRPC_PORT,
  };
}

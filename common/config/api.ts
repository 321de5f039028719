/**
 * The query API slice of the config file: the limits every request runs under. A limit hit is a
 * clear 4xx/503 answer, never a hung request, so each bound here is explicit and documented.
 * @module
 */
import { z } from 'zod';
import { tokenRoles } from './auth.ts';

/** Per-request limits. */
export const apiLimitsSchema = z
  .strictObject({
    /**
     * ClickHouse max_execution_time per statement, and the deadline of a whole request counting the
     * time it waited for the engine, seconds. Default 30.
     */
    maxExecutionSeconds: z.number().positive().max(3600).default(30),
    /** ClickHouse max_memory_usage per statement, bytes. Default 2 GiB. */
    maxMemoryBytes: z
      .number()
      .int()
      .positive()
      .default(2 * 1024 ** 3),
    /** ClickHouse max_result_rows per statement. Default 1,000,000. */
    maxResultRows: z.number().int().positive().default(1_000_000),
    /** Rows per page of /flows when `limit` is absent. Default 100. */
    defaultRows: z.number().int().positive().default(100),
    /** Largest `limit` of a JSON page. Default 10,000. */
    maxRowsPerResponse: z.number().int().positive().default(10_000),
    /** Largest `limit` of a streamed (NDJSON/CSV) answer or export. Default 100,000. */
    maxStreamRows: z.number().int().positive().default(100_000),
    /** Longest time range when an address or owner filter narrows the scan, hours. Default 744 (31 days). */
    maxRangeHours: z.number().positive().default(744),
    /** Longest range of an unnarrowed scan (and the default range), hours. Default 168 (7 days). */
    maxUnboundedRangeHours: z.number().positive().default(168),
    /** Concurrent ClickHouse statements per process before requests get 503. Default 16. */
    maxConcurrentQueries: z.number().int().positive().default(16),
    /**
     * Requests one principal (token) may have in flight before it gets 429; keeps a noisy token
     * from taking every slot of maxConcurrentQueries (a UI page fires about six at once). Default 8.
     */
    principalConcurrentQueries: z.number().int().positive().default(8),
    /** Sustained requests per second per principal before 429 with Retry-After. Default 50. */
    principalQueriesPerSecond: z.number().positive().default(50),
    /** Requests a principal may make in a burst above its rate. Default 500. */
    principalBurst: z.number().int().positive().default(500),
    /**
     * Filter values in one request (every selector and list element of the query string or of
     * the gRPC FlowFilters) before it is refused with 400: bounds the SQL one request can build.
     * Default 64.
     */
    maxFilterValues: z.number().int().positive().default(64),
  })
  .prefault({});

/** The query API's configuration. */
export const apiConfigSchema = z
  .strictObject({
    limits: apiLimitsSchema,
    /** How often a following gRPC GetFlows polls for newly stored flows, ms. Default 1000. */
    followPollMs: z.number().int().min(50).max(60_000).default(1000),
    /**
     * Who may read the operational endpoints `/metrics` and `/api/v1/status` (they name Hubble
     * targets, rules and webhooks): token roles (default admin, sre), or `open: true` for a
     * scraper without a token. `/healthz` and `/readyz` are always open.
     */
    ops: z
      .strictObject({
        open: z.boolean().default(false),
        roles: z.array(z.enum(tokenRoles)).min(1).default(['admin', 'sre']),
      })
      .prefault({}),
    /**
     * The key evidence bundles are signed with (GET /investigations/{id}/evidence). Without one,
     * the endpoint answers 503: an unsigned bundle would prove nothing.
     */
    evidence: z
      .strictObject({
        /** Names the key in each bundle's signature. */
        keyId: z.string().min(1).max(64).default('default'),
        /** Shared secret for HMAC-SHA256 (at least 32 characters). */
        hmacKey: z.string().min(32, 'expected at least 32 characters').optional(),
        /** PKCS#8 PEM Ed25519 private key; used instead of the HMAC key when set. */
        ed25519PrivateKeyPem: z.string().includes('PRIVATE KEY').optional(),
      })
      .prefault({}),
  })
  .prefault({});

/** The validated API slice. */
export type ApiConfig = z.infer<typeof apiConfigSchema>;
/** The validated limits. */
export type ApiLimits = ApiConfig['limits'];

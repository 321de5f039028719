/**
 * What the query API is built from: the store, the configuration slices it reads, and the
 * services it delegates to. Wired by hand in main.ts (or by `flowtrail start`), never global.
 * @module
 */

import type { Router } from 'express';
import type { Store } from '../../common/clickhouse/index.ts';
import type { ApiConfig } from '../../common/config/api.ts';
import type { AuthConfig, TokenConfig } from '../../common/config/auth.ts';
import type { Logger } from '../../common/logger.ts';
import type { WhoAnswer } from '../../common/ownership/who.ts';

export type { WhoAnswer };

/**
 * The who-owned-this-address answer for `GET /api/v1/attribution` (the attribution service of
 * collector/src/ownership implements it; its JSON shape is `flowtrail who --json`'s).
 */
export type AttributionLookup = (ip: string, atNs: bigint, signal?: AbortSignal) => Promise<WhoAnswer>;

/** Dependencies of createApi / createGrpcServer. */
export interface ApiDeps {
  store: Store;
  logger: Logger;
  api: ApiConfig;
  auth: AuthConfig;
  tokens: readonly TokenConfig[];
  /** Attribution lookups; /attribution answers 503 without it. */
  attribution?: AttributionLookup;
  /** The alerts routes (query-api/src/alerts), mounted at /api/v1/alerts behind authentication. */
  alerts?: Router;
  /** Readiness beyond "ClickHouse answers" (e.g. the collector caught up); default ready. */
  ready?: () => boolean;
}

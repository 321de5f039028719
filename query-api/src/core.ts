/**
 * What HTTP and gRPC share, built once per query service: the authenticator, the audit log, the
 * query admission (per-principal limits in front of the process-wide gate) and the ClickHouse
 * settings every statement carries. Both transports take this object instead of building their
 * own, so a token, a limit or an audit row means the same thing whichever door a caller uses.
 * @module
 */
import type { QuerySettings } from '../../common/clickhouse/index.ts';
import type { Metrics } from '../../common/metrics.ts';
import { type AuditLog, createAuditLog } from './audit/audit-log.ts';
import { type Authenticator, createAuthenticator } from './auth/tokens.ts';
import type { ApiDeps } from './deps.ts';
import { createAdmission, type QueryAdmission, querySettings } from './queries/limits.ts';

/** The shared pieces of one query service. */
export interface QueryCore {
  authenticator: Authenticator;
  auditLog: AuditLog;
  /** Per-principal concurrency and rate limits, then the shared gate; deadlines include queueing. */
  admission: QueryAdmission;
  settings: QuerySettings;
}

/** Builds the shared pieces; `metrics` is the query API's component metrics. */
export function createQueryCore(deps: ApiDeps, metrics: Metrics): QueryCore {
  return {
    authenticator: createAuthenticator(deps.auth, deps.tokens),
    auditLog: createAuditLog({ store: deps.store, logger: deps.logger.child('audit'), metrics }),
    admission: createAdmission(deps.api.limits, metrics),
    settings: querySettings(deps.api.limits),
  };
}

/**
 * The audit log: every flows, attribution, investigation, export and Hubble API request is
 * written to `audit_log` in ClickHouse with the token name and role, the parameters, the row
 * count, the time and the outcome. Writes are small and asynchronous so a slow insert never
 * delays an answer; failures are logged and counted, and `flush()` waits for pending writes.
 * @module
 */
import type { Store } from '../../../common/clickhouse/index.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import type { Principal } from '../auth/principal.ts';

/** One audited request. */
export interface AuditEntry {
  requestId: string;
  principal: Principal | undefined;
  /** flows, attribution, investigation.create, investigation.get, investigation.export, audit, grpc.get_flows… */
  action: string;
  transport: 'http' | 'grpc';
  method: string;
  path: string;
  parameters: unknown;
  rows: number;
  /** ok, invalid, denied, limit, error, cancelled. */
  outcome: string;
  status: number;
  error?: string;
  startedAtMs: number;
  remoteAddr?: string;
}

/** Writes audit rows. */
export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Resolves when every recorded entry is written (or failed). */
  flush(): Promise<void>;
}

/** Creates the ClickHouse-backed audit log. */
export function createAuditLog(deps: { store: Store; logger: Logger; metrics: Metrics }): AuditLog {
  const pending = new Set<Promise<void>>();
  const written = deps.metrics.counter('audit_rows_total', 'Audit rows written, by outcome of the write.', [
    'result',
  ]);
  return {
    record(e) {
      const now = Date.now();
      const row = {
        time: new Date(now).toISOString().replace('T', ' ').replace('Z', ''),
        request_id: e.requestId,
        token_name: e.principal?.name ?? '',
        role: e.principal?.role ?? '',
        tenant: e.principal?.tenant ?? '',
        action: e.action,
        transport: e.transport,
        method: e.method,
        path: e.path.slice(0, 2048),
        parameters: JSON.stringify(e.parameters ?? {}, (_k, v) =>
          typeof v === 'bigint' ? v.toString() : v,
        ).slice(0, 16_384),
        rows: e.rows,
        outcome: e.outcome,
        status: e.status,
        error: (e.error ?? '').slice(0, 1024),
        duration_ms: Math.max(0, now - e.startedAtMs),
        remote_addr: e.remoteAddr ?? '',
      };
      const p = deps.store
        .insertJson('audit_log', [row])
        .then(() => void written.inc({ result: 'ok' }))
        .catch((err) => {
          written.inc({ result: 'failed' });
          deps.logger.error('audit write failed', { action: e.action, err });
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async flush() {
      await Promise.all([...pending]);
    },
  };
}

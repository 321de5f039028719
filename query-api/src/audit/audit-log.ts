/**
 * The audit log: every HTTP API request (failed authentication included) and every Hubble API
 * call is written to `audit_log` in ClickHouse with the token name and role, the parameters, the row
 * count, the time and the outcome. Writes are small and asynchronous so a slow insert never
 * delays an answer; failures are logged and counted, and `flush()` waits for pending writes.
 * @module
 */
import { boundedJson } from '../../../common/bounded-json.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import type { Principal } from '../auth/principal.ts';

/** One audited request. */
export interface AuditEntry {
  /** Ours (a UUID the server generated), so a client cannot forge or collide ids. */
  requestId: string;
  /** The X-Request-Id the client sent, kept apart (at most 128 characters). */
  clientRequestId?: string;
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
  /** Queues the row; never throws, whatever the entry holds (bounded serialization). */
  record(entry: AuditEntry): void;
  /** Resolves when every recorded entry is written (or failed). */
  flush(): Promise<void>;
}

const text = (v: unknown, max: number): string => (typeof v === 'string' ? v : String(v ?? '')).slice(0, max);

/** The audit_log row of an entry: every field bounded, the parameters as bounded JSON. */
export function auditRow(e: AuditEntry, now: number): Record<string, unknown> {
  return {
    time: new Date(now).toISOString().replace('T', ' ').replace('Z', ''),
    request_id: text(e.requestId, 64),
    client_request_id: text(e.clientRequestId, 128),
    token_name: text(e.principal?.name, 256),
    role: text(e.principal?.role, 32),
    tenant: text(e.principal?.tenant, 256),
    action: text(e.action, 128),
    transport: e.transport,
    method: text(e.method, 32),
    path: text(e.path, 2048),
    parameters: boundedJson(e.parameters ?? {}, { maxDepth: 8, maxChars: 16_384 }),
    rows: Number.isFinite(e.rows) && e.rows >= 0 ? Math.floor(e.rows) : 0,
    outcome: text(e.outcome, 32),
    status: Number.isInteger(e.status) && e.status >= 0 && e.status < 65_536 ? e.status : 0,
    error: text(e.error, 1024),
    duration_ms: Math.min(4_294_967_295, Math.max(0, now - e.startedAtMs)),
    remote_addr: text(e.remoteAddr, 128),
  };
}

/** Audit-log tuning. */
export interface AuditLogOptions {
  /** Rows per insert at most. Default 10,000. */
  maxBatchRows?: number;
  /**
   * Rows waiting for their insert beyond which new rows are counted as dropped (and logged once
   * per second) instead of held: only reached when ClickHouse cannot keep up. Default 200,000.
   */
  maxPendingRows?: number;
}

/**
 * Creates the ClickHouse-backed audit log. Rows are written by one insert at a time: whatever
 * arrives while an insert runs goes into the next one. So the audit costs one statement in the
 * engine's queue however many requests arrive (a flood answered with 429 is audited too), and it
 * never makes a flow insert wait behind a pile of one-row audit inserts.
 */
export function createAuditLog(
  deps: { store: Store; logger: Logger; metrics: Metrics },
  options: AuditLogOptions = {},
): AuditLog {
  const maxBatchRows = options.maxBatchRows ?? 10_000;
  const maxPendingRows = options.maxPendingRows ?? 200_000;
  const written = deps.metrics.counter('audit_rows_total', 'Audit rows written, by outcome of the write.', [
    'result',
  ]);
  const buffer: Record<string, unknown>[] = [];
  let writing: Promise<void> | undefined;
  let droppedSinceLog = 0;
  let lastDropLog = 0;

  // Single flight: `writing` is set while one drain runs (started a microtask after it is set, so
  // rows of the same tick share the first insert). The drain clears `writing` in the synchronous
  // step that finds the buffer empty, so a row recorded at any moment joins this drain or starts
  // the next one.
  const drain = async () => {
    while (buffer.length > 0) {
      const rows = buffer.splice(0, maxBatchRows);
      try {
        await deps.store.insertJson('audit_log', rows);
        written.inc({ result: 'ok' }, rows.length);
      } catch (err) {
        written.inc({ result: 'failed' }, rows.length);
        deps.logger.error('audit write failed', { rows: rows.length, err });
      }
    }
    writing = undefined;
  };

  return {
    record(e) {
      try {
        const row = auditRow(e, Date.now());
        if (buffer.length >= maxPendingRows) {
          written.inc({ result: 'dropped' });
          droppedSinceLog++;
          const now = Date.now();
          if (now - lastDropLog >= 1000) {
            deps.logger.error('audit rows dropped: ClickHouse is not keeping up', {
              dropped: droppedSinceLog,
              pending: buffer.length,
            });
            lastDropLog = now;
            droppedSinceLog = 0;
          }
          return;
        }
        buffer.push(row);
        writing ??= Promise.resolve().then(drain);
      } catch (err) {
        // Building the row failed (it cannot, by construction): count it, never fail the request.
        written.inc({ result: 'failed' });
        deps.logger.error('audit row rejected', { err });
      }
    },
    async flush() {
      while (writing) await writing;
    },
  };
}

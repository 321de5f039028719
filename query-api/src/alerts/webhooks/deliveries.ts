/**
 * The delivery log (`alert_deliveries`, migrations/0021): one row per finished delivery of an
 * incident event to a target, with each attempt's status code (0 = no HTTP answer) and latency.
 * @module
 */
import type { Store } from '../../../../common/clickhouse/index.ts';

/** One finished delivery. */
export interface DeliveryRecord {
  id: string;
  incidentId: string;
  rule: string;
  event: string;
  target: string;
  host: string;
  format: string;
  outcome: 'delivered' | 'failed' | 'refused';
  statusCodes: number[];
  latenciesMs: number[];
  error: string;
  startedAtMs: number;
  finishedAtMs: number;
}

const ms = (t: number) => new Date(t).toISOString().replace('T', ' ').replace('Z', '');

/** Appends finished deliveries to the log. */
export async function recordDeliveries(store: Store, records: readonly DeliveryRecord[]): Promise<void> {
  await store.insertJson(
    'alert_deliveries',
    records.map((d) => ({
      id: d.id,
      incident_id: d.incidentId,
      rule: d.rule,
      event: d.event,
      target: d.target,
      host: d.host,
      format: d.format,
      outcome: d.outcome,
      attempts: d.statusCodes.length,
      status_codes: d.statusCodes,
      latencies_ms: d.latenciesMs.map((x) => Math.round(x)),
      error: d.error.slice(0, 1000),
      started_at: ms(d.startedAtMs),
      finished_at: ms(d.finishedAtMs),
    })),
  );
}

/** A delivery as GET /api/v1/alerts/deliveries returns it. */
export interface DeliveryJson {
  id: string;
  incident_id: string;
  rule: string;
  event: string;
  target: string;
  host: string;
  format: string;
  outcome: string;
  attempts: number;
  status_codes: number[];
  latencies_ms: number[];
  error: string;
  started_at: string;
  finished_at: string;
}

/** Newest deliveries first, optionally for one incident or rule. */
export async function listDeliveries(
  store: Store,
  filter: { incidentId?: string; rule?: string; limit?: number },
): Promise<DeliveryJson[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.incidentId) {
    where.push('incident_id = {incident:String}');
    params['incident'] = filter.incidentId;
  }
  if (filter.rule) {
    where.push('rule = {rule:String}');
    params['rule'] = filter.rule;
  }
  const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), 10_000);
  const rows = await store.query<Record<string, unknown>>(
    `SELECT id, incident_id, rule, event, target, host, format, toString(outcome) AS outcome, attempts, status_codes,
       latencies_ms, error, formatDateTime(started_at, '%Y-%m-%dT%H:%i:%S.%fZ') AS started_at,
       formatDateTime(finished_at, '%Y-%m-%dT%H:%i:%S.%fZ') AS finished_at
     FROM alert_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY started_at DESC, id LIMIT ${limit}`,
    { params },
  );
  return rows.map((r) => ({
    ...(r as unknown as DeliveryJson),
    attempts: Number(r['attempts']),
    status_codes: (r['status_codes'] as unknown[]).map(Number),
    latencies_ms: (r['latencies_ms'] as unknown[]).map(Number),
  }));
}

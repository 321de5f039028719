/**
 * Incidents in ClickHouse (`alert_incidents`, migrations/0020): every change is an insert of
 * the whole incident with a higher `version`, and every read uses FINAL so it sees only the
 * newest version of each incident even before merges. Writes from this process are serialized,
 * and engine updates keep the human fields (status, acknowledgement, resolution, note) of the
 * newest stored version, so an acknowledgement made while a tick runs is never overwritten.
 * @module
 */
import type { Store } from '../../../common/clickhouse/index.ts';
import type { Severity } from '../../../common/config/alerts.ts';
import { formatTimeNs } from '../../../common/time.ts';
import type { Incident, IncidentStatus } from './incidents.ts';

/** Filters of GET /incidents. */
export interface IncidentFilter {
  ids?: string[];
  status?: IncidentStatus[];
  rule?: string[];
  tenant?: string[];
  account?: string[];
  allocId?: string[];
  /** Incidents whose last event is at or after this instant. */
  sinceNs?: bigint;
  /** Incidents whose first event is before this instant. */
  untilNs?: bigint;
  limit?: number;
  /** Rows to skip (paging; the order is last_seen DESC, id, so pages are stable). */
  offset?: number;
}

/** Columns incidents may be grouped by (GET /incidents?group=). */
export const incidentGroupColumns = ['rule', 'tenant', 'account'] as const;
export type IncidentGroupColumn = (typeof incidentGroupColumns)[number];

/** One group of matching incidents. */
export interface IncidentGroup {
  key: string;
  count: number;
  open: number;
  /** Sum of the incidents' event counts. */
  events: number;
}

/** Reads and writes incidents. */
export interface IncidentStore {
  /** Incidents not resolved whose last event is at or after `sinceNs` (the engine's book). */
  listOngoing(sinceNs: bigint): Promise<Incident[]>;
  list(filter: IncidentFilter): Promise<Incident[]>;
  /** How many incidents match (limit and offset ignored). */
  count(filter: IncidentFilter): Promise<number>;
  /** The matching incidents grouped by a column, largest groups first (at most 1,000 groups). */
  groups(filter: IncidentFilter, by: IncidentGroupColumn): Promise<IncidentGroup[]>;
  get(id: string): Promise<Incident | undefined>;
  /** Writes engine-made states, keeping the stored human fields. */
  saveFromEngine(incidents: readonly Incident[]): Promise<void>;
  /**
   * Acknowledges or resolves. Returns the new state, undefined when no such incident, or
   * 'conflict' when the transition is not allowed (acknowledging a resolved incident).
   */
  setStatus(
    id: string,
    status: 'acknowledged' | 'resolved',
    by: string,
    note: string,
  ): Promise<Incident | 'conflict' | undefined>;
}

const columns = `id, rule, toString(severity) AS severity, toString(status) AS status, tenant, account, alloc_id,
  alloc_name, namespace, job, node, summary, toString(toUnixTimestamp64Nano(first_seen)) AS first_seen_ns,
  toString(toUnixTimestamp64Nano(last_seen)) AS last_seen_ns, toString(count) AS count, detections, peak,
  toString(toUnixTimestamp64Nano(counted_until)) AS counted_until_ns,
  toString(toUnixTimestamp64Nano(window_start)) AS window_start_ns,
  toString(toUnixTimestamp64Nano(window_end)) AS window_end_ns, source_addresses, destination_addresses, ports,
  keys, samples, evidence_url, acknowledged_by, toString(toUnixTimestamp64Milli(acknowledged_at)) AS acknowledged_ms,
  resolved_by, toString(toUnixTimestamp64Milli(resolved_at)) AS resolved_ms, note,
  toString(toUnixTimestamp64Milli(created_at)) AS created_ms, toString(toUnixTimestamp64Milli(updated_at)) AS updated_ms`;

type Row = Record<string, unknown>;

function fromRow(r: Row): Incident {
  const s = (k: string) => String(r[k] ?? '');
  return {
    id: s('id'),
    rule: s('rule'),
    severity: s('severity') as Severity,
    status: s('status') as IncidentStatus,
    tenant: s('tenant'),
    account: s('account'),
    allocId: s('alloc_id'),
    allocName: s('alloc_name'),
    namespace: s('namespace'),
    job: s('job'),
    node: s('node'),
    summary: s('summary'),
    firstSeenNs: BigInt(s('first_seen_ns')),
    lastSeenNs: BigInt(s('last_seen_ns')),
    count: Number(r['count']),
    detections: Number(r['detections']),
    peak: Number(r['peak']),
    countedUntilNs: BigInt(s('counted_until_ns')),
    windowStartNs: BigInt(s('window_start_ns')),
    windowEndNs: BigInt(s('window_end_ns')),
    sourceAddresses: r['source_addresses'] as string[],
    destinationAddresses: r['destination_addresses'] as string[],
    ports: (r['ports'] as unknown[]).map(Number),
    keys: r['keys'] as string[],
    samples: JSON.parse(s('samples') || '[]') as Incident['samples'],
    evidenceUrl: s('evidence_url'),
    acknowledgedBy: s('acknowledged_by'),
    acknowledgedAtMs: Number(r['acknowledged_ms']),
    resolvedBy: s('resolved_by'),
    resolvedAtMs: Number(r['resolved_ms']),
    note: s('note'),
    createdAtMs: Number(r['created_ms']),
    updatedAtMs: Number(r['updated_ms']),
  };
}

/** ClickHouse's input form of a DateTime64(9) in UTC. */
const ns = (t: bigint) => formatTimeNs(t).replace('T', ' ').replace('Z', '');
/** ClickHouse's input form of a DateTime64(3) in UTC. */
const ms = (t: number) => new Date(t).toISOString().replace('T', ' ').replace('Z', '');

function toRow(i: Incident, version: bigint): Row {
  return {
    id: i.id,
    rule: i.rule,
    severity: i.severity,
    status: i.status,
    tenant: i.tenant,
    account: i.account,
    alloc_id: i.allocId,
    alloc_name: i.allocName,
    namespace: i.namespace,
    job: i.job,
    node: i.node,
    summary: i.summary,
    first_seen: ns(i.firstSeenNs),
    last_seen: ns(i.lastSeenNs),
    count: i.count,
    detections: i.detections,
    peak: i.peak,
    counted_until: ns(i.countedUntilNs),
    window_start: ns(i.windowStartNs),
    window_end: ns(i.windowEndNs),
    source_addresses: i.sourceAddresses,
    destination_addresses: i.destinationAddresses,
    ports: i.ports,
    keys: i.keys,
    samples: JSON.stringify(i.samples),
    evidence_url: i.evidenceUrl,
    acknowledged_by: i.acknowledgedBy,
    acknowledged_at: ms(i.acknowledgedAtMs),
    resolved_by: i.resolvedBy,
    resolved_at: ms(i.resolvedAtMs),
    note: i.note,
    created_at: ms(i.createdAtMs),
    updated_at: ms(i.updatedAtMs),
    version: version.toString(),
  };
}

/** Creates the ClickHouse-backed incident store. */
export function createIncidentStore(store: Store): IncidentStore {
  let lastVersion = 0n;
  const nextVersion = () => {
    const v = BigInt(Date.now()) * 1000n;
    lastVersion = v > lastVersion ? v : lastVersion + 1n;
    return lastVersion;
  };
  let chain: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  };

  /** The WHERE clause of a filter, with its parameters. */
  const whereOf = (f: IncidentFilter): { sql: string; params: Record<string, unknown> } => {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    const inList = (col: string, name: string, vals: readonly string[] | undefined) => {
      if (!vals?.length) return;
      where.push(`${col} IN {${name}:Array(String)}`);
      params[name] = vals;
    };
    inList('id', 'ids', f.ids);
    inList('toString(status)', 'status', f.status);
    inList('rule', 'rule', f.rule);
    inList('tenant', 'tenant', f.tenant);
    inList('account', 'account', f.account);
    inList('alloc_id', 'alloc', f.allocId);
    if (f.sinceNs !== undefined) {
      where.push(`last_seen >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')`);
      params['since'] = f.sinceNs.toString();
    }
    if (f.untilNs !== undefined) {
      where.push(`first_seen < fromUnixTimestamp64Nano({until:Int64}, 'UTC')`);
      params['until'] = f.untilNs.toString();
    }
    return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
  };
  const list = async (f: IncidentFilter): Promise<Incident[]> => {
    const { sql, params } = whereOf(f);
    const limit = Math.min(Math.max(1, Math.trunc(f.limit ?? 1000)), 100_000);
    const offset = Math.max(0, Math.trunc(f.offset ?? 0));
    const rows = await store.query<Row>(
      `SELECT ${columns} FROM alert_incidents FINAL ${sql}
       ORDER BY last_seen DESC, id LIMIT {limit:UInt32} OFFSET {offset:UInt64}`,
      { params: { ...params, limit, offset } },
    );
    return rows.map(fromRow);
  };

  return {
    listOngoing: (sinceNs) => list({ status: ['open', 'acknowledged'], sinceNs, limit: 100_000 }),
    list,
    async count(f) {
      const { sql, params } = whereOf(f);
      const rows = await store.query<{ n: string }>(
        `SELECT toString(count()) AS n FROM alert_incidents FINAL ${sql}`,
        { params },
      );
      return Number(rows[0]?.n ?? 0);
    },
    async groups(f, by) {
      // `by` is one of incidentGroupColumns (checked by the caller's type and the route).
      if (!incidentGroupColumns.includes(by)) throw new Error(`not a group column: ${by}`);
      const { sql, params } = whereOf(f);
      const rows = await store.query<{ key: string; n: string; open: string; events: string }>(
        `SELECT ${by} AS key, toString(count()) AS n, toString(countIf(status = 'open')) AS open,
           toString(sum(count)) AS events
         FROM alert_incidents FINAL ${sql} GROUP BY key ORDER BY count() DESC, key LIMIT 1000`,
        { params },
      );
      return rows.map((r) => ({
        key: r.key,
        count: Number(r.n),
        open: Number(r.open),
        events: Number(r.events),
      }));
    },
    async get(id) {
      return (await list({ ids: [id], limit: 1 }))[0];
    },
    saveFromEngine(incidents) {
      return serialized(async () => {
        if (incidents.length === 0) return;
        const stored = new Map(
          (await list({ ids: incidents.map((i) => i.id), limit: 100_000 })).map((i) => [i.id, i]),
        );
        const rows = incidents.map((i) => {
          const s = stored.get(i.id);
          const merged: Incident = s
            ? {
                ...i,
                status: s.status,
                acknowledgedBy: s.acknowledgedBy,
                acknowledgedAtMs: s.acknowledgedAtMs,
                resolvedBy: s.resolvedBy,
                resolvedAtMs: s.resolvedAtMs,
                note: s.note,
                createdAtMs: s.createdAtMs,
              }
            : i;
          return toRow(merged, nextVersion());
        });
        await store.insertJson('alert_incidents', rows);
      });
    },
    setStatus(id, status, by, note) {
      return serialized(async () => {
        const cur = (await list({ ids: [id], limit: 1 }))[0];
        if (!cur) return undefined;
        if (cur.status === 'resolved') return status === 'resolved' ? cur : 'conflict';
        const now = Date.now();
        const next: Incident =
          status === 'acknowledged'
            ? { ...cur, status, acknowledgedBy: by, acknowledgedAtMs: now, updatedAtMs: now }
            : { ...cur, status, resolvedBy: by, resolvedAtMs: now, updatedAtMs: now };
        if (note) next.note = note;
        await store.insertJson('alert_incidents', [toRow(next, nextVersion())]);
        return next;
      });
    },
  };
}

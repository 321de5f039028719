/**
 * The CSV form of flows: flat typed columns selected straight from ClickHouse (no protobuf
 * decoding), with both ends' attribution, for spreadsheets and evidence bundles. The owner
 * columns are filled per batch by attributeCsvRows (query-time re-attribution, the ownership
 * interval as `<end>_start` / `<end>_end`, and the tenant-role redaction of auth/redact.ts, as in the JSON forms).
 * @module
 */

import type { Store } from '../../../common/clickhouse/index.ts';
import { decodeConflict, type EndConflictView } from '../../../common/flow/attribution.ts';
import { attributeFlowEnds, type StoredEnd } from '../../../common/ownership/reattribute.ts';
import type { Principal } from '../auth/principal.ts';
import { ownsEnd, redactFlatEnds } from '../auth/redact.ts';

// Every expression gets a `csv_` alias: an alias equal to a column name would shadow the column
// in the WHERE clause (ClickHouse resolves aliases first).
const ip = (c: string) =>
  `if(startsWith(IPv6NumToString(${c}), '::ffff:') AND position(IPv6NumToString(${c}), '.') > 0, ` +
  `substring(IPv6NumToString(${c}), 8), IPv6NumToString(${c})) AS csv_${c}`;

const owner = (e: 'src' | 'dst') =>
  ['tenant', 'account', 'namespace', 'job', 'group', 'alloc_id', 'alloc_name', 'node', 'source', 'scope'].map(
    (f) => `toString(${e}_${f}) AS csv_${e}_${f}`,
  );

const col = (c: string) => `toString(${c}) AS csv_${c}`;

/** SELECT expressions, in CSV column order. */
const csvExpressions = [
  "formatDateTime(time, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS csv_time",
  'lower(hex(flow_id)) AS csv_flow_id',
  col('node_name'),
  col('verdict'),
  col('drop_reason_desc'),
  col('type'),
  col('event_type'),
  col('event_sub_type'),
  col('traffic_direction'),
  col('l4_protocol'),
  ip('source_ip'),
  col('source_port'),
  ip('destination_ip'),
  col('destination_port'),
  "if(source_xlated = toIPv6('::'), '', IPv6NumToString(source_xlated)) AS csv_source_xlated",
  ...[
    'source_identity',
    'destination_identity',
    'source_namespace',
    'source_pod',
    'destination_namespace',
    'destination_pod',
    'l7_protocol',
    'dns_query',
    'http_method',
    'http_code',
    'http_url',
    'summary',
  ].map(col),
  ...owner('src'),
  ...owner('dst'),
  // Filled from the ownership interval by attributeCsvRows.
  "'' AS csv_src_start",
  "'' AS csv_src_end",
  "'' AS csv_dst_start",
  "'' AS csv_dst_end",
  // Labels vs ownership disagreement of each end, as text (conflictText); '' when none.
  "'' AS csv_src_conflict",
  "'' AS csv_dst_conflict",
];

/** The SELECT list of the CSV form (plus the flow time in ns, which attributeCsvRows needs). */
export const flowCsvColumns = [
  ...csvExpressions,
  'toString(toUnixTimestamp64Nano(time)) AS csvx_time_ns',
  'attribution_conflict AS csvx_conflict',
].join(', ');

/** The SELECT aliases, in order. */
export const flowCsvAliases: readonly string[] = csvExpressions.map(
  (e) => / AS (csv_[a-z0-9_]+)$/.exec(e)![1]!,
);

/** The CSV header: the aliases without their prefix. */
export const flowCsvHeader: readonly string[] = flowCsvAliases.map((a) => a.slice(4));

const ownerCsvFields = [
  ['tenant', 'tenant'],
  ['account', 'account'],
  ['namespace', 'namespace'],
  ['job', 'job'],
  ['group', 'group'],
  ['alloc_id', 'alloc_id'],
  ['alloc_name', 'alloc_name'],
  ['node', 'node'],
  ['source', 'source'],
  ['start', 'start'],
  ['end', 'end'],
] as const;

/**
 * Fills the owner columns of a batch of CSV rows (as selected with flowCsvColumns) from
 * attributeFlowEnds, with one ownership query for the batch: ends stored as `none` but owned at
 * the flow's time get that owner (source `ownership`), every owner gets its interval, and for a
 * tenant principal an end owned by another tenant is blanked (its scope stays), as in the JSON
 * forms. Mutates and returns the rows.
 */
export async function attributeCsvRows(
  store: Store,
  rows: Record<string, unknown>[],
  principal: Principal,
): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return rows;
  const str = (r: Record<string, unknown>, k: string) => String(r[k] ?? '');
  const end = (r: Record<string, unknown>, e: 'src' | 'dst'): StoredEnd => ({
    ip: str(r, e === 'src' ? 'csv_source_ip' : 'csv_destination_ip'),
    timeNs: BigInt(str(r, 'csvx_time_ns') || '0'),
    tenant: str(r, `csv_${e}_tenant`),
    account: str(r, `csv_${e}_account`),
    namespace: str(r, `csv_${e}_namespace`),
    job: str(r, `csv_${e}_job`),
    group: str(r, `csv_${e}_group`),
    allocId: str(r, `csv_${e}_alloc_id`),
    allocName: str(r, `csv_${e}_alloc_name`),
    node: str(r, `csv_${e}_node`),
    source: (str(r, `csv_${e}_source`) || 'none') as StoredEnd['source'],
    conflict: decodeConflict(str(r, 'csvx_conflict'))[e === 'src' ? 'source' : 'destination'],
  });
  const owners = await attributeFlowEnds(
    store,
    rows.flatMap((r) => [end(r, 'src'), end(r, 'dst')]),
  );
  rows.forEach((r, i) => {
    const owned = { source: false, destination: false };
    (['src', 'dst'] as const).forEach((e, j) => {
      let o = owners[2 * i + j] ?? null;
      if (o && !ownsEnd(principal, o.tenant)) o = null;
      owned[e === 'src' ? 'source' : 'destination'] = o !== null;
      for (const [col, field] of ownerCsvFields) r[`csv_${e}_${col}`] = o ? (o[field] ?? '') : '';
      if (!o) r[`csv_${e}_source`] = 'none';
      r[`csv_${e}_conflict`] = o?.conflict ? conflictText(o.conflict, principal.role === 'tenant') : '';
    });
    // The peer's namespace and pod columns come from the Flow: the same rule as redactFlow.
    redactFlatEnds(r, principal, owned, 'csv_');
  });
  return rows;
}

/**
 * One end's conflict as one CSV cell: `labels tenant=a job=x; ownership tenant=b job=y
 * alloc_id=…` over the disagreeing fields (a tenant principal gets the field names only).
 */
export function conflictText(c: EndConflictView, fieldsOnly = false): string {
  if (!('fields' in c)) return c.description;
  if (fieldsOnly) return `labels and ownership disagree on ${c.fields.join(', ')}`;
  const claim = (x: Record<string, string>) => c.fields.map((f) => `${f}=${x[f]}`).join(' ');
  return `labels ${claim({ ...c.labels })}; ownership ${claim({ ...c.ownership })} alloc_id=${c.ownership.alloc_id}`;
}

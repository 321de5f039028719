/**
 * The CSV form of flows: flat typed columns selected straight from ClickHouse (no protobuf
 * decoding), with both ends' attribution, for spreadsheets and evidence bundles.
 * @module
 */

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
];

/** The SELECT list of the CSV form. */
export const flowCsvColumns = csvExpressions.join(', ');

/** The SELECT aliases, in order. */
export const flowCsvAliases: readonly string[] = csvExpressions.map(
  (e) => / AS (csv_[a-z0-9_]+)$/.exec(e)![1]!,
);

/** The CSV header: the aliases without their prefix. */
export const flowCsvHeader: readonly string[] = flowCsvAliases.map((a) => a.slice(4));

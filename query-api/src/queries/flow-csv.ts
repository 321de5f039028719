/**
 * The CSV form of flows: flat typed columns selected straight from ClickHouse (no protobuf
 * decoding), with both ends' attribution, for spreadsheets and evidence bundles.
 * @module
 */

const ip = (c: string) =>
  `if(startsWith(IPv6NumToString(${c}), '::ffff:') AND position(IPv6NumToString(${c}), '.') > 0, ` +
  `substring(IPv6NumToString(${c}), 8), IPv6NumToString(${c})) AS ${c}`;

const owner = (e: 'src' | 'dst') =>
  ['tenant', 'account', 'namespace', 'job', 'group', 'alloc_id', 'alloc_name', 'node', 'source', 'scope'].map(
    (f) => (f === 'source' || f === 'scope' ? `toString(${e}_${f}) AS ${e}_${f}` : `${e}_${f}`),
  );

/** SELECT expressions, in CSV column order. */
const csvExpressions = [
  "formatDateTime(time, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS time",
  'lower(hex(flow_id)) AS flow_id',
  'uuid',
  'node_name',
  'toString(verdict) AS verdict',
  'drop_reason_desc',
  'toString(type) AS type',
  'event_type',
  'event_sub_type',
  'toString(traffic_direction) AS traffic_direction',
  'toString(l4_protocol) AS l4_protocol',
  ip('source_ip'),
  'source_port',
  ip('destination_ip'),
  'destination_port',
  "if(source_xlated = toIPv6('::'), '', IPv6NumToString(source_xlated)) AS source_xlated",
  'source_identity',
  'destination_identity',
  'source_namespace',
  'source_pod',
  'destination_namespace',
  'destination_pod',
  'toString(l7_protocol) AS l7_protocol',
  'dns_query',
  'http_method',
  'http_code',
  'http_url',
  'summary',
  ...owner('src'),
  ...owner('dst'),
];

/** The SELECT list of the CSV form. */
export const flowCsvColumns = csvExpressions.join(', ');

/** The CSV header (column names, matching the SELECT aliases). */
export const flowCsvHeader: readonly string[] = csvExpressions.map((e) => {
  const m = / AS ([a-z_]+)$/.exec(e);
  return m ? m[1]! : e;
});

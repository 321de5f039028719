/**
 * @module ClickHouse SQL of parsed FlowFilters over the `flows` table (migrations/0001_flows.sql), with
 * the same meaning as the in-memory predicate (match.ts) for every field a column holds. Every value is
 * bound through SqlParams; regexes go to `match()` (RE2, as in memory). Whitelist entries are ORed,
 * fields of an entry ANDed, values of a field ORed, and blacklist entries excluded.
 *
 * For a tenant caller, `own` names the SQL condition "this end is the caller's": filters on attributes
 * that redaction hides for a foreign end (pod, namespace, service, workload, non-`reserved:` labels) then
 * only match the caller's own ends, so a filter cannot confirm what the answer would hide.
 *
 * With `addressIndex` (the statement's time range), a whitelist condition on an address (source,
 * destination or post-SNAT) also names the granules that can hold it, through the address index
 * (addressLookupSql).
 */
import { DropReason } from '../../proto/gen/flow/flow.js';
import { enumName } from '../../proto/src/enums.ts';
import type { SqlParams } from '../clickhouse/sql-params.ts';
import { FlowFilterError } from './errors.ts';
import type { IpPrefix } from './ip.ts';
import type { LabelRequirement } from './labels.ts';
import type { ParsedFlowFilter, ParsedSide } from './parse.ts';
import { DEFAULT_CLUSTER_NAME, type NamespacedName } from './patterns.ts';
import type { Re2 } from './regex.ts';

/** Conditions (SQL over `flows`) that an end belongs to the caller; set for tenant principals only. */
export interface OwnEnds {
  source: string;
  destination: string;
}

/** A statement's time range (Unix ns; since inclusive, until exclusive). */
export interface SqlTimeRange {
  sinceNs: bigint;
  untilNs: bigint;
}

/** Options of the SQL compilation. */
export interface FilterSqlOptions {
  own?: OwnEnds | undefined;
  /**
   * The time range the statement restricts `time` to (ANDed at its top level). When given, address
   * conditions of whitelist entries are narrowed through the address index (addressLookupSql); rows
   * outside the range would not be looked up, which is why the statement must exclude them itself.
   */
  addressIndex?: SqlTimeRange | undefined;
}

/**
 * ORs expressions, `0` (false) when there are none. A literal `0` term is left out: besides being
 * noise, `x OR 0` under a NOT kept ClickHouse 26.7 from using the skip indexes on `x`.
 */
export function or(parts: readonly string[]): string {
  const rest = parts.filter((x) => x !== '0');
  if (rest.length === 0) return '0';
  return rest.length === 1 ? rest[0]! : `(${rest.join(' OR ')})`;
}

/** ANDs expressions, `1` (true) when there are none. */
export function and(parts: readonly string[]): string {
  const rest = parts.filter((x) => x !== '1');
  if (rest.length === 0) return '1';
  return rest.length === 1 ? rest[0]! : `(${rest.join(' AND ')})`;
}

/** Address columns within any of the prefixes. */
export function ipInSql(p: SqlParams, columns: readonly string[], prefixes: readonly IpPrefix[]): string {
  return or(
    prefixes.flatMap((r) => {
      if (r.lo === r.hi) {
        const v = p.bind(r.lo, 'IPv6');
        return columns.map((c) => `${c} = ${v}`);
      }
      const lo = p.bind(r.lo, 'IPv6');
      const hi = p.bind(r.hi, 'IPv6');
      return columns.map((c) => `${c} BETWEEN ${lo} AND ${hi}`);
    }),
  );
}

/**
 * Widest prefix looked up in the address index (65,536 addresses): a wider one matches so many
 * flows that reading their keys costs more than the granules it would skip.
 */
const maxIndexedPrefixBits = 16;

/** A prefix the index can answer: narrow enough, and not covering the unset address (not indexed). */
const indexable = (r: IpPrefix) => 128 - r.bits <= maxIndexedPrefixBits && r.bytes.some((b) => b !== 0);

/**
 * The address index's keys (migrations/0045, `flows_by_address`): a SELECT of the (hour, source_ip)
 * pairs of every flow of `range` whose destination or post-SNAT source address is within
 * `prefixes` (and, since migrations/0085, whose source address is), the primary-key prefix of
 * `flows`. With `sourceOnly`, only the pairs whose source address is within `prefixes`: empty when
 * no flow of the range was sent from there. Undefined when a prefix is too wide or covers the unset
 * address (::), which the index leaves out.
 */
export function addressKeysSql(
  p: SqlParams,
  prefixes: readonly IpPrefix[],
  range: SqlTimeRange,
  sourceOnly = false,
): string | undefined {
  if (prefixes.length === 0 || !prefixes.every(indexable)) return undefined;
  const since = `toStartOfHour(fromUnixTimestamp64Nano(${p.bind(range.sinceNs, 'Int64')}, 'UTC'))`;
  const until = `fromUnixTimestamp64Nano(${p.bind(range.untilNs, 'Int64')}, 'UTC')`;
  const source = sourceOnly ? ` AND ${ipInSql(p, ['source_ip'], prefixes)}` : '';
  return (
    `SELECT hour, source_ip FROM flows_by_address WHERE ` +
    `${ipInSql(p, ['address'], prefixes)}${source} AND hour >= ${since} AND hour < ${until}`
  );
}

/**
 * The address index (addressKeysSql): a condition true for every flow of `range` whose source,
 * destination or post-SNAT source address is within `prefixes` (sources since migrations/0085),
 * over the primary-key prefix of `flows` (hour, source address), so ClickHouse reads only the
 * granules holding them. ANDed to a condition that
 * implies such an address, it changes which granules are read, never the answer (`sourceOnly`:
 * the flows whose source address is within `prefixes`, for a condition implying that). Undefined
 * when the index cannot answer the prefixes.
 */
export function addressLookupSql(
  p: SqlParams,
  prefixes: readonly IpPrefix[],
  range: SqlTimeRange,
  sourceOnly = false,
): string | undefined {
  const keys = addressKeysSql(p, prefixes, range, sourceOnly);
  return keys && `(toStartOfHour(time), source_ip) IN (${keys})`;
}

/** Rows of addressKeysSql read ahead: hours (Unix seconds) and source addresses, pairwise. */
export interface AddressKeys {
  hours: readonly number[];
  sources: readonly string[];
}

/**
 * addressLookupSql over keys read ahead (addressKeysSql): a statement that needs the lookup several
 * times (the investigation) reads the index once and binds its keys. The keys go in as two bound
 * arrays zipped in a subquery, which ClickHouse turns into primary-key ranges as it does the
 * index's own subquery (a plain array on the right of IN does not reach the primary key).
 */
export function addressKeysInSql(p: SqlParams, keys: AddressKeys): string {
  if (keys.hours.length === 0) return '0';
  const hours = p.bind(keys.hours, 'Array(UInt32)');
  const sources = p.bind(keys.sources, 'Array(IPv6)');
  return (
    `(toStartOfHour(time), source_ip) IN (SELECT arrayJoin(arrayZip(` +
    `arrayMap(h -> toDateTime(h, 'UTC'), ${hours}), ${sources})))`
  );
}

/**
 * `column` (source_ip, destination_ip or source_xlated) within `prefixes`, narrowed through the
 * address index when a range is given and the prefixes allow it. For source_ip the condition is
 * already a key range in each hour bucket; the index's source rows alone (migrations/0085) add which
 * hour buckets the address sent in: none for an address that never sent (a world address), so in
 * an OR (`ip=`, either end) the source entry selects no granule, where the keys of the flows that
 * reached the address selected one per hour boundary and part (a key range there spans every
 * source).
 */
function indexedIpSql(
  p: SqlParams,
  column: string,
  prefixes: readonly IpPrefix[],
  range: SqlTimeRange | undefined,
): string {
  const plain = ipInSql(p, [column], prefixes);
  const lookup = range && addressLookupSql(p, prefixes, range, column === 'source_ip');
  return lookup ? and([plain, lookup]) : plain;
}

/**
 * `expr` is one of the values of the bound array `array`. `IN`, not has(): over a LowCardinality
 * column ClickHouse then tests each part's dictionary, not every row's string (measured at 100M
 * flows, a tenant's dropped flows in the newest hour bucket: the scan 118–135 ms with has(), 53–78
 * with IN). Equal for any non-Nullable `expr`, an empty array included (false).
 */
export const inBoundArray = (expr: string, array: string): string => `${expr} IN ${array}`;

const inArray = (p: SqlParams, expr: string, vals: readonly unknown[], type: string) =>
  inBoundArray(expr, p.bind(vals, `Array(${type})`));

/** has() for a value inside a lambda (label matching), where a set from `IN` is not built per call. */
const hasInLambda = (p: SqlParams, expr: string, vals: readonly unknown[], type: string) =>
  `has(${p.bind(vals, `Array(${type})`)}, ${expr})`;

// Parts of a Cilium label `source:key=value` in the lambda variable `l`, split as labels.ts does:
// the source is what precedes a colon that comes before any `=`.
const colon = "position(l, ':')";
const eqPos = "position(l, '=')";
const hasSrc = `(${colon} > 0 AND (${eqPos} = 0 OR ${colon} < ${eqPos}))`;
const labelSrc = `if(${hasSrc}, substring(l, 1, ${colon} - 1), '')`;
const labelRest = (withSource: boolean) =>
  withSource ? `if(${hasSrc}, substring(l, ${colon} + 1), l)` : 'l';
const labelKey = (w: boolean) =>
  `if(position(${labelRest(w)}, '=') > 0, substring(${labelRest(w)}, 1, position(${labelRest(w)}, '=') - 1), ${labelRest(w)})`;
const labelVal = (w: boolean) =>
  `if(position(${labelRest(w)}, '=') > 0, substring(${labelRest(w)}, position(${labelRest(w)}, '=') + 1), '')`;

function requirementSql(p: SqlParams, column: string, r: LabelRequirement, withSource: boolean): string {
  const key = `${labelKey(withSource)} = ${p.bind(r.key, 'String')}`;
  const keyMatch = r.source === undefined ? key : `${key} AND ${labelSrc} = ${p.bind(r.source, 'String')}`;
  switch (r.op) {
    case 'exists':
      return `arrayExists(l -> ${keyMatch}, ${column})`;
    case 'notexists':
      return `NOT arrayExists(l -> ${keyMatch}, ${column})`;
    case 'in':
      return `arrayExists(l -> ${keyMatch} AND ${hasInLambda(p, labelVal(withSource), r.values, 'String')}, ${column})`;
    case 'notin':
      return `NOT arrayExists(l -> ${keyMatch} AND ${hasInLambda(p, labelVal(withSource), r.values, 'String')}, ${column})`;
  }
}

/** Label selectors (ORed; requirements ANDed) over a label array column. */
export function labelSelectorsSql(
  p: SqlParams,
  column: string,
  selectors: readonly (readonly LabelRequirement[])[],
  withSource = true,
): string {
  return or(selectors.map((sel) => and(sel.map((r) => requirementSql(p, column, r, withSource)))));
}

const matchRe = (p: SqlParams, expr: string, res: readonly Re2[]) =>
  or(res.map((re) => `match(${expr}, ${p.bind(re.source, 'String')})`));

function namespacedSql(
  p: SqlParams,
  nsCol: string,
  nameCol: string,
  values: readonly NamespacedName[],
): string {
  return and([
    `(${nsCol} != '' OR ${nameCol} != '')`,
    or(
      values.map((v) =>
        and([
          `${nsCol} = ${p.bind(v.ns, 'String')}`,
          ...(v.prefix ? [`startsWith(${nameCol}, ${p.bind(v.prefix, 'String')})`] : []),
        ]),
      ),
    ),
  ]);
}

/** A selector every requirement of which is on `reserved:` labels, which redaction never hides. */
const reservedOnly = (sel: readonly LabelRequirement[]) => sel.every((r) => r.source === 'reserved');

function sideSql(
  p: SqlParams,
  s: ParsedSide,
  side: 'source' | 'destination',
  own: string | undefined,
  range: SqlTimeRange | undefined,
): string[] {
  const out: string[] = [];
  /** An attribute a foreign end hides: matched on the caller's own ends only. */
  const hidden = (sql: string) => (own ? and([sql, own]) : sql);
  if (s.ip) out.push(indexedIpSql(p, side === 'source' ? 'source_ip' : 'destination_ip', s.ip, range));
  if (s.pod) out.push(hidden(namespacedSql(p, `${side}_namespace`, `${side}_pod`, s.pod)));
  if (s.service) {
    const col = `${side}_service`;
    out.push(
      hidden(
        and([
          `${col} NOT IN ('', '/')`,
          or(s.service.map((v) => `startsWith(${col}, ${p.bind(`${v.ns}/${v.prefix}`, 'String')})`)),
        ]),
      ),
    );
  }
  if (s.fqdn) out.push(`arrayExists(n -> match(n, ${p.bind(s.fqdn.source, 'String')}), ${side}_names)`);
  if (s.label) {
    const col = `${side}_labels`;
    out.push(
      or(
        s.label.map((sel) => {
          const sql = labelSelectorsSql(p, col, [sel]);
          return reservedOnly(sel) ? sql : hidden(sql);
        }),
      ),
    );
  }
  if (s.workload) {
    const w = `${side}_workloads`;
    out.push(
      hidden(
        or(
          s.workload.map((x) => {
            const conds = [
              ...(x.kind ? [`substring(w, 1, position(w, '/') - 1) = ${p.bind(x.kind, 'String')}`] : []),
              ...(x.name ? [`substring(w, position(w, '/') + 1) = ${p.bind(x.name, 'String')}`] : []),
            ];
            return `arrayExists(w -> ${and(conds)}, ${w})`;
          }),
        ),
      ),
    );
  }
  if (s.cluster) out.push(inArray(p, `${side}_cluster`, s.cluster, 'String'));
  if (s.identity) out.push(inArray(p, `${side}_identity`, s.identity, 'UInt32'));
  if (s.port)
    out.push(and(["l4_protocol IN ('TCP', 'UDP', 'SCTP')", inArray(p, `${side}_port`, s.port, 'UInt16')]));
  return out;
}

const ipPresent = "ip_version != 'IP_NOT_USED'";
const uuidHex = (u: string) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(u)
    ? u.replace(/-/g, '').toLowerCase()
    : '';

/** The SQL of one parsed FlowFilter: its fields ANDed (`1` when it has none). */
export function flowFilterSql(p: SqlParams, f: ParsedFlowFilter, opts: FilterSqlOptions = {}): string {
  const out: string[] = [];
  const range = opts.addressIndex;
  if (f.uuid) out.push(inArray(p, 'lower(hex(flow_id))', f.uuid.map(uuidHex), 'String'));
  out.push(...sideSql(p, f.source, 'source', opts.own?.source, range));
  out.push(...sideSql(p, f.destination, 'destination', opts.own?.destination, range));
  if (f.ipXlated) out.push(indexedIpSql(p, 'source_xlated', f.ipXlated, range));
  if (f.ipVersion) out.push(and([ipPresent, inArray(p, "CAST(ip_version, 'Int8')", f.ipVersion, 'Int8')]));
  if (f.encrypted) out.push(and([ipPresent, inArray(p, 'ip_encrypted', f.encrypted, 'Bool')]));
  if (f.verdict) out.push(inArray(p, "CAST(verdict, 'Int8')", f.verdict, 'Int8'));
  if (f.dropReason) {
    const names = f.dropReason.map((n) => (n === 0 ? '' : enumName(DropReason, n)));
    out.push(inArray(p, 'drop_reason_desc', names, 'String'));
  }
  if (f.direction) out.push(inArray(p, "CAST(traffic_direction, 'Int8')", f.direction, 'Int8'));
  if (f.eventType) {
    out.push(
      or(
        f.eventType.map((t) =>
          and([
            ...(t.type !== 0 ? [`event_type = ${p.bind(t.type, 'Int32')}`] : []),
            ...(t.subType !== undefined ? [`event_sub_type = ${p.bind(t.subType, 'Int32')}`] : []),
          ]),
        ),
      ),
    );
  }
  if (f.protocol) {
    out.push(
      or([
        ...(f.protocol.l4.length ? [inArray(p, 'toString(l4_protocol)', f.protocol.l4, 'String')] : []),
        ...(f.protocol.l7.length ? [inArray(p, 'toString(l7_protocol)', f.protocol.l7, 'String')] : []),
      ]),
    );
  }
  if (f.reply) {
    // Hubble: unknown is_reply never matches, except on drops, where it counts as false.
    out.push(
      or([
        ...(f.reply.includes(true) ? ["is_reply = 'true'"] : []),
        ...(f.reply.includes(false)
          ? ["(is_reply = 'false' OR (is_reply = 'unknown' AND verdict = 'DROPPED'))"]
          : []),
      ]),
    );
  }
  if (f.tcpFlags) {
    out.push(
      and([
        "l4_protocol = 'TCP'",
        or(f.tcpFlags.map((b) => `bitAnd(tcp_flags, ${p.bind(b, 'UInt16')}) = ${p.bind(b, 'UInt16')}`)),
      ]),
    );
  }
  if (f.dnsQuery) out.push(and(["l7_protocol = 'dns'", matchRe(p, 'dns_query', f.dnsQuery)]));
  if (f.httpStatus) {
    const st = f.httpStatus;
    out.push(
      and([
        "l7_protocol = 'http'",
        'http_code != 0',
        or([
          ...(st.codes.length ? [inArray(p, 'http_code', st.codes, 'UInt32')] : []),
          ...st.prefixes.map(
            (x) => `startsWith(leftPad(toString(http_code), 3, '0'), ${p.bind(x, 'String')})`,
          ),
        ]),
      ]),
    );
  }
  if (f.httpMethod) {
    out.push(
      and([
        "l7_protocol = 'http'",
        "http_method != ''",
        inArray(p, 'upper(http_method)', f.httpMethod, 'String'),
      ]),
    );
  }
  if (f.httpPath) {
    const path = "if(startsWith(http_url, '/'), splitByChar('?', http_url)[1], path(http_url))";
    out.push(and(["l7_protocol = 'http'", "http_url != ''", matchRe(p, path, f.httpPath)]));
  }
  if (f.httpUrl) out.push(and(["l7_protocol = 'http'", "http_url != ''", matchRe(p, 'http_url', f.httpUrl)]));
  if (f.httpHeader) {
    out.push(
      or(
        f.httpHeader.map(
          (h) =>
            `arrayExists((k, v) -> k = ${p.bind(h.key, 'String')} AND v = ${p.bind(h.value, 'String')}, http_header_keys, http_header_values)`,
        ),
      ),
    );
  }
  if (f.nodeName) {
    const q = `if(position(node_name, '/') > 0, node_name, concat('${DEFAULT_CLUSTER_NAME}/', node_name))`;
    out.push(and(["node_name != ''", `match(${q}, ${p.bind(f.nodeName.source, 'String')})`]));
  }
  if (f.nodeLabels) out.push(labelSelectorsSql(p, 'node_labels', f.nodeLabels, false));
  if (f.iface) {
    out.push(
      and([
        "(interface_name != '' OR interface_index != 0)",
        or(
          f.iface.map((i) =>
            and([
              ...(i.index ? [`interface_index = ${p.bind(i.index, 'UInt32')}`] : []),
              ...(i.name ? [`interface_name = ${p.bind(i.name, 'String')}`] : []),
            ]),
          ),
        ),
      ]),
    );
  }
  if (f.traceId) out.push(inArray(p, 'trace_id', f.traceId, 'String'));
  if (f.ipTraceId) throw new FlowFilterError('ip_trace_id', 'not supported over stored flows');
  return and(out);
}

/** Whitelist (any) and blacklist (none) as one condition; `1` when both are empty. */
export function filterSetSql(
  p: SqlParams,
  whitelist: readonly ParsedFlowFilter[],
  blacklist: readonly ParsedFlowFilter[],
  opts: FilterSqlOptions = {},
): string {
  const parts: string[] = [];
  if (whitelist.length) parts.push(or(whitelist.map((f) => flowFilterSql(p, f, opts))));
  // With `own`, a blacklist entry too looks at the caller's ends only: what it leaves out must not
  // depend on a foreign end's hidden attributes either. The address index only narrows what is
  // read, which an exclusion cannot do: blacklist entries go without it.
  const { addressIndex: _, ...blackOpts } = opts;
  for (const f of blacklist) parts.push(`NOT ${wrap(flowFilterSql(p, f, blackOpts))}`);
  return and(parts);
}

const wrap = (s: string) => (s.startsWith('(') ? s : `(${s})`);

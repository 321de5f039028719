/**
 * THE rule for "who owned address X at instant T", defined once; every reader derives from it
 * (the ingest index, `who`, query-time re-attribution of rows, the SQL of filters, aggregates and
 * investigations):
 *
 * 1. Candidates are the intervals of X that contain T, half-open: `start <= T < end`.
 * 2. The candidate with the highest rank wins. The rank compares, in order:
 *    kind (an allocation beats a node's host address), then start (the latest start wins: a
 *    newer holder of a reused address is the one talking), then alloc_id, then node_id (the
 *    larger id wins: a stable tie-break when two intervals start at the same nanosecond).
 * 3. No candidate: nobody owned X at T (never a guess from a neighbouring interval).
 *
 * The rank is data (`ownerRank`): the in-memory comparator and the SQL rank tuple are both
 * generated from it, so the two forms cannot drift; owner-rule.int.test.ts runs one table of
 * overlapping-interval cases through both against real chdb. IDs are compared as byte strings
 * in SQL and as UTF-16 code units in TS, which agree for the ASCII ids Nomad issues.
 * @module
 */
import { mergedOwnershipSql } from './persistence.ts';
import type { OwnerInterval } from './types.ts';

/** One rank component: how TS reads it from an interval and how SQL reads it from a merged row. */
interface RankKey {
  /** Comparable value of an interval (bigint, number or string; compared with < and >). */
  ts(iv: OwnerInterval): bigint | number | string;
  /** The SQL expression over merged-ownership columns named `<prefix><column>`. */
  sql(prefix: string): string;
}

/** The rank, most significant first; the highest rank among the containing intervals wins. */
export const ownerRank: readonly RankKey[] = [
  { ts: (iv) => (iv.kind === 'alloc' ? 1 : 0), sql: (p) => `toUInt8(${p}kind = 'alloc')` },
  { ts: (iv) => iv.start, sql: (p) => `${p}start` },
  { ts: (iv) => iv.allocId, sql: (p) => `${p}alloc_id` },
  { ts: (iv) => iv.nodeId, sql: (p) => `${p}node_id` },
];

/** Compares two intervals by ownerRank: negative when `a` ranks below `b`. */
export function compareOwnerRank(a: OwnerInterval, b: OwnerInterval): number {
  for (const k of ownerRank) {
    const x = k.ts(a);
    const y = k.ts(b);
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** Rule 1: whether the interval contains instant `t` (half-open). */
export function containsInstant(iv: Pick<OwnerInterval, 'start' | 'end'>, t: bigint): boolean {
  return iv.start <= t && t < iv.end;
}

/** The owner at `t` among one address's intervals (any order, any kinds), or undefined. */
export function ownerAt(intervals: Iterable<OwnerInterval>, t: bigint): OwnerInterval | undefined {
  let best: OwnerInterval | undefined;
  for (const iv of intervals) {
    if (containsInstant(iv, t) && (best === undefined || compareOwnerRank(iv, best) > 0)) best = iv;
  }
  return best;
}

/** Rule 1 in SQL: instant expression `t` within the interval [`start`, `end`). */
export function containsInstantSql(t: string, start: string, end: string): string {
  return `${t} >= ${start} AND ${t} < ${end}`;
}

/** Rule 2 in SQL: the rank tuple of a merged-ownership row (use as argMax's second argument). */
export function ownerRankSql(prefix: string): string {
  return `tuple(${ownerRank.map((k) => k.sql(prefix)).join(', ')})`;
}

/** The owner fields a flow end stores (`src_<field>` / `dst_<field>` columns of `flows`). */
export const endOwnerFields = [
  'tenant',
  'account',
  'namespace',
  'job',
  'group',
  'alloc_id',
  'alloc_name',
  'node',
] as const;

/** Owner columns resolveOwnersSql yields, named `owner_<field>`. */
export const resolvedOwnerFields = [
  'kind',
  'tenant',
  'account',
  'namespace',
  'job',
  'group',
  'alloc_id',
  'alloc_name',
  'node_id',
  'node_name',
  'start_ns',
  'end_ns',
] as const;

/** Options of resolveOwnersSql. */
export interface ResolveOwnersOptions {
  /** Restrict to allocation intervals (filters by tenant, job, alloc need no host addresses). */
  allocOnly?: boolean;
  /** A subquery of IPv6 addresses bounding the ownership side (else the whole table is merged). */
  addresses?: string;
  /** Extra predicates over merged columns `o_start`, `o_end` (e.g. time bounds). */
  ownershipWhere?: readonly string[];
}

/**
 * The rule as one SQL subquery. `probes` is a subquery yielding `probe_id` (any type),
 * `probe_ip` (IPv6) and `probe_time` (DateTime64(9)); the result has one row per probe that
 * somebody owned: `probe_id` and `owner_<field>` for each of resolvedOwnerFields (times as Int64
 * ns). Probes nobody owned are absent (LEFT JOIN it to keep them).
 */
export function resolveOwnersSql(probes: string, opts: ResolveOwnersOptions = {}): string {
  const where = [
    ...(opts.allocOnly ? ["kind = 'alloc'"] : []),
    ...(opts.addresses ? [`address IN (${opts.addresses})`] : []),
  ];
  const ownWhere = opts.ownershipWhere ?? [];
  const fields = resolvedOwnerFields.map((f) => `o_${f}`);
  return `SELECT probe_id, ${resolvedOwnerFields
    .map((f, i) => `tupleElement(owner_w, ${i + 1}) AS owner_${f}`)
    .join(', ')}
  FROM (
    SELECT probe_id, argMax(tuple(${fields.join(', ')}), ${ownerRankSql('o_')}) AS owner_w
    FROM (${probes}) AS probe
    INNER JOIN (
      SELECT address AS o_address, kind AS o_kind, start AS o_start, \`end\` AS o_end, tenant AS o_tenant,
        account AS o_account, namespace AS o_namespace, job AS o_job, \`group\` AS o_group,
        alloc_id AS o_alloc_id, alloc_name AS o_alloc_name, node_id AS o_node_id, node_name AS o_node_name,
        start_ns AS o_start_ns, end_ns AS o_end_ns
      FROM (${mergedOwnershipSql(where.length ? where.join(' AND ') : '1')})
      ${ownWhere.length ? `WHERE ${ownWhere.join(' AND ')}` : ''}
    ) AS o ON probe.probe_ip = o.o_address
    WHERE ${containsInstantSql('probe.probe_time', 'o.o_start', 'o.o_end')}
    GROUP BY probe_id
  )`;
}

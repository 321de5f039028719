/**
 * Query-time attribution inside WHERE clauses: flow ends stored with source `none` (the flow
 * arrived before the Nomad update naming its owner) are matched against the ownership table, so
 * `tenant` / `account` / `job` / `alloc` filters and the tenant-role scope find them the way the
 * rows will be shown (common/ownership/reattribute.ts attributeFlowEnds), by the one owner rule
 * (common/ownership/owner-rule.ts) in its SQL form.
 *
 * Design (why not reattributeSql's JOIN on every statement): a JOIN would have to sit in
 * every statement that reads flows (pages, streams, aggregates, gRPC), would be applied to every
 * row of the range before the LIMIT, and would merge the whole ownership table per statement.
 * Instead each late predicate is a plain WHERE term, cheap by construction:
 *
 * 1. Stored columns first: `src_tenant = T OR (late part)`; most flows never reach the late part.
 * 2. The late part only looks at ends stored as `none` whose address is in a small set:
 *    addresses that some ownership row says the wanted owner held (a scan of the LowCardinality
 *    owner column of `ownership`, computed once per statement as an IN set). The address is in
 *    the flows primary key (source) or a bloom-filter index (destination), so this also prunes.
 * 3. Exact check: a bounded subquery resolves just those candidate flows in the time range.
 *    It joins them to the merged intervals of the candidate addresses only (all tenants, so an
 *    overlap resolves as on display: latest start wins) and yields the flow ids whose effective
 *    owner matches; the outer term is then `flow_id IN (…)`, a hash-set probe per row.
 *
 * Cost is proportional to the late (source `none`) flows of the wanted owner's addresses in the
 * range plus a scan of one ownership column, and a read of each flow's end address and source to
 * find them. That last part a page and a stream avoid: they first read which addresses of their
 * range could have a late owner at all (TimeBounds.lateAddresses, from flows_unattributed_ends,
 * migrations/0180), usually none, and the late terms then drop out.
 * Node-kind intervals are not considered: they carry no tenant, account, job or allocation.
 * @module
 */

import type { SqlParams } from '../../../common/clickhouse/sql-params.ts';
import { and } from '../../../common/filter/index.ts';
import { endOwnerFields, resolveOwnersSql } from '../../../common/ownership/owner-rule.ts';
import { timeBoundsSql } from './time-sql.ts';

/** A flow end by its attribution column prefix. */
export type OwnerEnd = 'src' | 'dst';

/** Optional time bounds (Unix ns; since inclusive, until exclusive) that bound the late lookups. */
export interface TimeBounds {
  sinceNs?: bigint | undefined;
  untilNs?: bigint | undefined;
  /**
   * When known (lateEndAddressesSql, read for exactly these bounds): every address of an end stored
   * as `none` in the range that an allocation held at some time is among these. Late lookups then
   * look at these addresses only, and none at all when the list is empty: no end of the range can
   * have a late owner, and the statement reads no address of an end to find one.
   */
  lateAddresses?: readonly string[] | undefined;
}

/** The late owner fields a resolution yields (columns `late_<field>` of lateOwnersSql). */
export const lateOwnerFields = endOwnerFields;

/** Owner fields an ownership predicate may look at (ownership table column names). */
export type OwnershipField = 'tenant' | 'account' | 'job' | 'alloc_id' | 'alloc_name';

/**
 * A predicate over owner fields, written once and evaluated both on raw `ownership` rows (to
 * find candidate addresses, a superset) and on the resolved late owner (exact).
 */
export type OwnerPredicate = (col: (field: OwnershipField) => string) => string;

const ipColumn = (end: OwnerEnd) => (end === 'src' ? 'source_ip' : 'destination_ip');

function bounds(p: SqlParams, range: TimeBounds | undefined) {
  const since =
    range?.sinceNs === undefined
      ? undefined
      : `fromUnixTimestamp64Nano(${p.bind(range.sinceNs, 'Int64')}, 'UTC')`;
  const until =
    range?.untilNs === undefined
      ? undefined
      : `fromUnixTimestamp64Nano(${p.bind(range.untilNs, 'Int64')}, 'UTC')`;
  return { since, until };
}

/**
 * A subquery resolving late ends: one row per flow (of `end`, stored as `none`, whose address is
 * in `addresses`, within `range`, satisfying `flowConds`) that an allocation
 * interval covers (flowConds are plain predicates over `flows`), with columns `late_fid` (the flow_id), `late_hit` (1) and `late_<field>` for
 * each of lateOwnerFields: the latest-starting interval containing the flow's time.
 * `addresses` is a subquery yielding IPv6 addresses; it bounds both sides of the join.
 */
export function lateOwnersSql(
  p: SqlParams,
  end: OwnerEnd,
  addresses: string,
  range?: TimeBounds,
  flowConds: readonly string[] = [],
): string {
  const ip = ipColumn(end);
  const { since, until } = bounds(p, range);
  const own = [...(until ? [`o_start < ${until}`] : []), ...(since ? [`o_end > ${since}`] : [])];
  const flows = [
    `${end}_source = 'none'`,
    `${ip} IN (${addresses})`,
    ...timeBoundsSql(p, range ?? {}),
    ...flowConds,
  ];
  // The flows side is a subquery over `flows` alone, so flowConds need no table alias. The owner
  // is resolved by the one owner rule (common/ownership/owner-rule.ts), allocations only.
  const resolved = resolveOwnersSql(
    `SELECT flow_id AS probe_id, ${ip} AS probe_ip, time AS probe_time FROM flows WHERE ${flows.join(' AND ')}`,
    { allocOnly: true, addresses, ownershipWhere: own },
  );
  const ownerCol: Record<(typeof lateOwnerFields)[number], string> = {
    tenant: 'owner_tenant',
    account: 'owner_account',
    namespace: 'owner_namespace',
    job: 'owner_job',
    group: 'owner_group',
    alloc_id: 'owner_alloc_id',
    alloc_name: 'owner_alloc_name',
    node: 'owner_node_name',
  };
  return `SELECT probe_id AS late_fid, toUInt8(1) AS late_hit, ${lateOwnerFields
    .map((f) => `${ownerCol[f]} AS late_${f}`)
    .join(', ')}
  FROM (${resolved})`;
}

/**
 * Candidate addresses of a late owner: any raw ownership row naming an owner satisfying `pred`,
 * among the range's lateAddresses when they are known.
 */
function candidateAddresses(p: SqlParams, pred: OwnerPredicate, range: TimeBounds | undefined): string {
  const known = range?.lateAddresses;
  const among = known ? ` AND address IN ${p.bind(known, 'Array(IPv6)')}` : '';
  return `SELECT address FROM ownership WHERE kind = 'alloc'${among} AND ${pred((f) => f)}`;
}

/**
 * Every address some allocation ever held (migrations/0200), as an IN operand: only these can have
 * a late owner.
 */
export const heldAddressesSql = '(SELECT address FROM ownership_addresses)';

/** Whether the range is known to hold no end a late owner could claim (TimeBounds.lateAddresses). */
const noLateEnds = (range: TimeBounds | undefined) => range?.lateAddresses?.length === 0;

/**
 * The addresses of the ends stored as `none` within `range` that an allocation held at some time
 * (column `ip`, IPv6 text), at most `limit` of them: TimeBounds.lateAddresses for that range.
 * Read from flows_unattributed_ends (migrations/0180), hour by hour, so the range's hours at either
 * end count whole: a superset, as lateAddresses allows. (The column is not named `address`: that
 * alias would stand for the text in WHERE too, and the set then could not prune the key.)
 */
export function lateEndAddressesSql(
  p: SqlParams,
  range: { sinceNs: bigint; untilNs: bigint },
  limit: number,
) {
  const { since, until } = bounds(p, range);
  return `SELECT DISTINCT IPv6NumToString(address) AS ip FROM flows_unattributed_ends
    WHERE hour >= toStartOfHour(${since}) AND hour < ${until}
      AND address IN ${heldAddressesSql}
    LIMIT ${p.bind(limit, 'UInt32')}`;
}

/**
 * The WHERE term "this end was stored as `none` and its address was held, at some time, by an owner
 * satisfying `pred`": true for every end lateOwnerMatch is true for (and for more: the time is not
 * checked). It costs one scan of `ownership` per statement and a hash probe per row, where
 * lateOwnerMatch resolves every candidate flow of the range: a page can select with this and then
 * check the few candidate rows it returned with lateOwnerMatch (queries/flows.ts).
 */
export function lateOwnerCandidate(
  p: SqlParams,
  end: OwnerEnd,
  pred: OwnerPredicate,
  range?: TimeBounds,
): string {
  if (noLateEnds(range)) return '0';
  return `(${end}_source = 'none' AND ${ipColumn(end)} IN (${candidateAddresses(p, pred, range)}))`;
}

/**
 * The WHERE term "this end was stored as `none` and its owner at the flow's time, from the
 * ownership table, satisfies `pred`". Values inside `pred` must already be bound. `narrow` are
 * conditions over `flows` that the statement ANDs at its top level (its address filters, say):
 * they also bound the flows the late lookup resolves, so it reads the statement's granules rather
 * than the whole range, and the answer is the same (a flow failing them is out of the answer
 * whatever its owner).
 */
export function lateOwnerMatch(
  p: SqlParams,
  end: OwnerEnd,
  pred: OwnerPredicate,
  range?: TimeBounds,
  narrow: readonly string[] = [],
): string {
  if (noLateEnds(range)) return '0';
  // Candidate addresses: any raw ownership row naming the wanted owner (a superset of the
  // merged intervals that do; the exact check below is on merged, resolved owners).
  const resolved = lateOwnersSql(p, end, candidateAddresses(p, pred, range), range, narrow);
  return and([
    lateOwnerCandidate(p, end, pred, range),
    `flow_id IN (SELECT late_fid FROM (${resolved}) WHERE ${pred((f) => `late_${f}`)})`,
  ]);
}

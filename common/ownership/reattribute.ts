/**
 * Query-time attribution of stored flows. Flows are enriched at ingest, but the Nomad update
 * that reveals an address's owner can arrive after the flows (the allocation starts talking
 * before its AllocationUpdated reaches us, or history is imported later). Stored columns are
 * never rewritten; instead readers resolve late ownership from the ownership table:
 *
 * - attributeFlowEnds(): the service for row pages (the flows API, `flowtrail flows --json`,
 *   the Hubble API): one ClickHouse query for all distinct addresses of the page, then exact
 *   interval matching in TS (owner-rule.ts, the rule the ingest index uses). It also fills the interval
 *   (start/end) of ends attributed at ingest, so every end renders as one OWNER object.
 * - reattributeSql(): a JOIN fragment (owner-rule.ts resolveOwnersSql) for aggregations over many flows (counts by tenant
 *   including late attribution), where fetching rows is not an option.
 * @module
 */
import type { Store } from '../clickhouse/store.ts';
import { conflictingFields, type EndConflictView, type OwnerClaim } from '../flow/attribution.ts';
import { resolveOwnersSql } from './owner-rule.ts';
import type { OwnerInterval } from './types.ts';
import { canonicalIp, intervalsFor, type Owner, ownerOf, pickOwners } from './who.ts';

/** One stored flow end, as the `src_*` / `dst_*` columns hold it. */
export interface StoredEnd {
  ip: string;
  timeNs: bigint;
  tenant: string;
  account: string;
  namespace: string;
  job: string;
  group: string;
  allocId: string;
  allocName: string;
  node: string;
  /** The stored `src_source` / `dst_source`. */
  source: 'none' | 'label' | 'ownership' | 'node' | 'cidr';
  /** This end's part of the stored `attribution_conflict`, if any. */
  conflict?: EndConflictView | undefined;
}

/**
 * Resolves stored flow ends to OWNER objects (null when nobody is known to own the end).
 * Ends stored with source `none` are re-attributed from the ownership table at their time
 * (source becomes `ownership` or `node`); the others keep their stored attribution and gain the
 * interval of their allocation when the table has it. An end carries `conflict` when ingest
 * recorded one, or when it was stored (before the one-identity rule) with the labels' tenant or
 * job next to the allocation of another owner: such an end is shown as the interval's identity
 * with the stored label fields as the conflict, so no output mixes two identities.
 */
export async function attributeFlowEnds(store: Store, ends: readonly StoredEnd[]): Promise<(Owner | null)[]> {
  const ips = new Set<string>();
  for (const e of ends) {
    if (!e.ip) continue;
    try {
      ips.add(canonicalIp(e.ip));
    } catch {
      // An unparsable stored address cannot be owned; it stays as stored.
    }
  }
  const byIp = new Map<string, OwnerInterval[]>();
  for (const iv of await intervalsFor(store, [...ips])) {
    const list = byIp.get(iv.address) ?? [];
    list.push(iv);
    byIp.set(iv.address, list);
  }
  return ends.map((e) => {
    let address = e.ip;
    try {
      address = canonicalIp(e.ip);
    } catch {}
    const intervals = byIp.get(address) ?? [];
    if (e.source === 'none') {
      const { owner } = pickOwners(intervals, e.timeNs);
      return owner ? ownerOf(owner) : null;
    }
    const match =
      (e.allocId && intervals.find((iv) => iv.allocId === e.allocId)) ||
      pickOwners(intervals, e.timeNs).owner;
    const sameOwner = match && (!e.allocId || match.allocId === e.allocId);
    if (sameOwner && match && e.allocId) {
      const stored: OwnerClaim = {
        tenant: e.tenant,
        account: e.account,
        namespace: e.namespace,
        job: e.job,
        group: e.group,
      };
      const held: OwnerClaim = {
        tenant: match.tenant,
        account: match.account,
        namespace: match.namespace,
        job: match.job,
        group: match.group,
      };
      const fields = conflictingFields(stored, held);
      if (fields.length > 0) {
        return {
          ...ownerOf(match),
          conflict: e.conflict ?? { labels: stored, ownership: { ...held, alloc_id: match.allocId }, fields },
        };
      }
    }
    const owner: Owner = {
      tenant: e.tenant,
      account: e.account,
      namespace: e.namespace,
      job: e.job,
      group: e.group,
      alloc_id: e.allocId,
      alloc_name: e.allocName,
      node: e.node,
      start: sameOwner && match ? ownerOf(match).start : null,
      end: sameOwner && match ? ownerOf(match).end : null,
      source: e.source,
    };
    if (e.conflict) owner.conflict = e.conflict;
    return owner;
  });
}

/** The SQL pieces that re-attribute one side of `flows` inside a larger query. */
export interface ReattributeSql {
  /** Append after `FROM flows AS <alias>` (before WHERE). */
  join: string;
  /**
   * Effective columns: `<side>_tenant_eff`, `<side>_account_eff`, `<side>_namespace_eff`,
   * `<side>_job_eff`, `<side>_group_eff`, `<side>_alloc_id_eff`, `<side>_alloc_name_eff`,
   * `<side>_node_eff`, `<side>_source_eff` (a String: the stored source, or 'ownership' when
   * re-attributed). Use in SELECT lists; refer to them by name in GROUP BY.
   */
  columns: string;
}

/**
 * A LEFT JOIN of `flows` (aliased `alias`, default `f`) on the owner, by the one owner rule
 * (owner-rule.ts resolveOwnersSql), of that side's address at the flow's time, applied only
 * where the stored source is 'none'. For aggregations; for row pages use attributeFlowEnds().
 * `flowsWhere` (plain predicates over `flows`, e.g. the statement's time range) bounds the
 * flows the join resolves; without it every late end in the table is resolved.
 */
export function reattributeSql(
  side: 'src' | 'dst',
  alias = 'f',
  flowsWhere: readonly string[] = [],
): ReattributeSql {
  const own = `${side}_own`;
  const ipCol = side === 'src' ? 'source_ip' : 'destination_ip';
  const probes = `SELECT flow_id AS probe_id, ${ipCol} AS probe_ip, time AS probe_time FROM flows WHERE ${[
    `${side}_source = 'none'`,
    ...flowsWhere,
  ].join(' AND ')}`;
  const late = `(${alias}.${side}_source = 'none' AND ${own}.owner_alloc_id != '')`;
  const pick = (col: string, ownCol = col) =>
    `if(${late}, ${own}.owner_${ownCol}, ${alias}.${side}_${col}) AS ${side}_${col}_eff`;
  return {
    join: `LEFT JOIN (${resolveOwnersSql(probes, { allocOnly: true })}) AS ${own} ON ${alias}.flow_id = ${own}.probe_id`,
    columns: [
      pick('tenant'),
      pick('account'),
      pick('namespace'),
      pick('job'),
      pick('group'),
      pick('alloc_id'),
      pick('alloc_name'),
      pick('node', 'node_name'),
      `if(${late}, 'ownership', toString(${alias}.${side}_source)) AS ${side}_source_eff`,
    ].join(',\n  '),
  };
}

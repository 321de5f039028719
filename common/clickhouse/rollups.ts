/**
 * The rollups of `flows`, as data. Minute rollups (migrations 0042 and 0043; 0041's `flows_minute`
 * was dropped by 0160, its columns all in the detail rollup): which owner
 * fields of each end and which flow columns each keeps. Two readers need exactly this list: the
 * correction job (common/ownership/correct.ts), which moves late-attributed counts in every rollup
 * with -n/+n rows, and the aggregate planner (query-api/src/queries/rollup.ts), which answers from
 * the narrowest rollup holding every column a question reads. Each rollup is a SummingMergeTree
 * with a signed `flows` counter and a `time` alias of its bucket (`minute`, or `hour` for the
 * coarser resolution, `hourRollupTables`).
 *
 * Per-tenant hourly tables (0081, 0082: the tenant summary) are not shaped as flow columns plus a
 * count: each is registered in `tenantRollups` with the insert that builds its rows from flows,
 * which the correction job runs over its -1/+1 rows.
 * @module
 */

/** One rollup table. */
export interface RollupTable {
  name: string;
  /** Owner fields kept for both ends (`src_<field>`, `dst_<field>`). */
  ownerFields: readonly string[];
  /** Flow columns kept as they are, besides the owner fields and `minute`. */
  flowColumns: readonly string[];
  /** The time bucket column (`minute` when absent). */
  bucket?: 'minute' | 'hour';
}

/** Narrowest first: the planner takes the first that holds a question's columns. */
export const rollupTables: readonly RollupTable[] = [
  {
    // No owners: nothing for a correction to move (common/ownership/correct.ts skips it).
    name: 'flows_minute_core',
    ownerFields: [],
    flowColumns: [
      'src_scope',
      'dst_scope',
      'verdict',
      'drop_reason_desc',
      'l4_protocol',
      'l7_protocol',
      'destination_port',
    ],
  },
  {
    name: 'flows_minute_detail',
    ownerFields: ['tenant', 'account', 'namespace', 'job', 'alloc_id', 'alloc_name'],
    flowColumns: [
      'src_scope',
      'dst_scope',
      'node_name',
      'verdict',
      'drop_reason_desc',
      'l4_protocol',
      'l7_protocol',
      'destination_port',
    ],
  },
];

/** Every dimension column of a rollup (owner columns of both ends, then the flow columns). */
export function rollupDimensions(t: RollupTable): string[] {
  return [...['src', 'dst'].flatMap((e) => t.ownerFields.map((f) => `${e}_${f}`)), ...t.flowColumns];
}

/** The bucket column of a rollup. */
export const rollupBucket = (t: RollupTable): 'minute' | 'hour' => t.bucket ?? 'minute';

/**
 * Hourly rollups (Akvorado's coarser resolutions): the planner considers them after every minute
 * rollup, for ranges on whole hours or long enough to round out to whole hours. No owner
 * columns, so a late-owner correction has nothing to move in them (not in `rollupTables`).
 */
export const hourRollupTables: readonly RollupTable[] = [
  // 0080: ranking sources (top by source) in (sources x hours x verdicts) rows.
  { name: 'flows_hour_source', ownerFields: [], flowColumns: ['source_ip', 'verdict'], bucket: 'hour' },
];

/**
 * The companion of flows_hour_source (migration 0120): `uniq` states of the distinct destinations
 * (`peers`) and destination ports (`ports`) per (source_ip, hour, verdict), ordered by source
 * address, so the peers and ports of a few ranked sources over a range are a few granules. Merged
 * over hours, a state equals the one a single pass over the same flows builds, so `uniqMerge` of
 * these equals `uniq` over `flows`. Same dimensions as flows_hour_source (`time` an alias of
 * `hour`): a WHERE written for it runs here unchanged. No owners: a correction moves nothing.
 */
export const sourcePeersRollup = {
  name: 'flows_hour_source_peers',
  dimensions: ['source_ip', 'verdict'],
  states: { peers: 'uniq(destination_ip)', ports: 'uniq(destination_port)' },
  /** max((time, flow_id)): the latest flow, whose owner top shows for the source. */
  latest: 'last_flow',
} as const;

/** A rollup built by its own insert from flows (one row per tenant of a flow and the like). */
export interface DerivedRollup {
  name: string;
  /** Owner fields (both ends) its insert reads: a correction passes their corrected values. */
  ownerFields: readonly string[];
  /** Every other flow column its insert reads, besides `time`. */
  flowColumns: readonly string[];
  /**
   * The INSERT's SELECT (columns in the table's order, see `columns`) over `rows`: flow-shaped
   * rows (`time`, the columns above) with a signed `sign` (1 for a flow, -1 for a correction's
   * old row).
   */
  select(rows: string): string;
  /** The inserted columns, in `select`'s order. */
  columns: readonly string[];
}

/** Each tenant of a flow (either end, not empty, once) with its role: the ARRAY JOIN of 0081/0082. */
const tenantsOfFlow =
  "ARRAY JOIN arrayDistinct(arrayFilter(x -> x != '', [src_tenant, dst_tenant])) AS tenant";

/** The tenant summary's hourly tables (migrations 0081, 0082); the views' SELECTs, signed. */
export const tenantRollups: readonly DerivedRollup[] = [
  {
    name: 'flows_hour_tenant',
    ownerFields: ['tenant', 'account'],
    flowColumns: ['verdict', 'drop_reason_desc', 'dst_scope', 'l4_protocol', 'destination_port'],
    columns: [
      'hour',
      'tenant',
      'owns_source',
      'owns_destination',
      'account',
      'verdict',
      'drop_reason_desc',
      'dst_scope',
      'l4_protocol',
      'destination_port',
      'flows',
    ],
    select: (rows) => `SELECT toStartOfHour(time) AS hour, tenant,
        toUInt8(src_tenant = tenant) AS owns_source, toUInt8(dst_tenant = tenant) AS owns_destination,
        if(src_tenant = tenant, src_account, dst_account) AS account,
        verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port, sum(sign) AS flows
      FROM ${rows} ${tenantsOfFlow}
      GROUP BY hour, tenant, owns_source, owns_destination, account, verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port
      HAVING flows != 0
      ORDER BY hour, tenant, owns_source, owns_destination, account, verdict, drop_reason_desc, dst_scope, l4_protocol, destination_port`,
  },
  {
    // Sketches cannot take a flow out, and need not: a correction only gives an owner to an end
    // stored without one, so only the new rows (sign 1) add their peers; old ones merge as no-ops.
    name: 'flows_hour_tenant_peers',
    ownerFields: ['tenant'],
    flowColumns: ['source_ip', 'destination_ip'],
    columns: ['hour', 'tenant', 'direction', 'peers', 'first_seen', 'last_seen'],
    select: (rows) => `SELECT toStartOfHour(time) AS hour, e.1 AS tenant, e.2 AS direction,
        uniqCombinedState(12)(e.3) AS peers, min(time) AS first_seen, max(time) AS last_seen
      FROM ${rows}
      ARRAY JOIN arrayFilter(x -> x.1 != '', [(src_tenant, 'out', destination_ip), (dst_tenant, 'in', source_ip)]) AS e
      WHERE sign > 0
      GROUP BY hour, tenant, direction
      ORDER BY hour, tenant, direction`,
  },
];

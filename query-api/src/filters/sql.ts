/**
 * Translates a parsed FlowQuery into a WHERE clause over `flows`, with bound parameters only:
 * the time range, the keyset cursor, every filter (values ORed, filters ANDed) and, for a
 * tenant principal, the tenant scope. Every endpoint that reads flows builds its WHERE here,
 * which is how tenant scoping is enforced once for all of them.
 * @module
 */
import { AccessError } from '../../../common/errors.ts';
import type { Principal } from '../auth/principal.ts';
import type { FlowFilters } from './catalog.ts';
import { lateOwnerMatch, type OwnerEnd, type OwnerPredicate, type TimeBounds } from './late-owner.ts';
import type { FlowQuery } from './parse.ts';
import {
  allocMatch,
  and,
  anyIn,
  enumIn,
  eventTypeIn,
  fqdnLike,
  httpStatusIn,
  ipIn,
  labelsMatch,
  nodeLike,
  or,
  ownerColumns,
  podMatch,
  protocolIn,
  regexMatch,
  type Side,
} from './predicates.ts';
import { SqlParams } from './sql-params.ts';

/** A WHERE clause (without the keyword) and the parameters it binds. */
export interface SqlWhere {
  where: string;
  params: Record<string, unknown>;
}

const both: readonly Side[] = ['source', 'destination'];

const ends: readonly OwnerEnd[] = ['src', 'dst'];

/**
 * Either end owned by an owner satisfying `pred`: as stored (`stored`, over the `src_`/`dst_`
 * columns), or, for an end stored as `none`, as re-attributed from the ownership table at the
 * flow's time (filters/late-owner.ts explains the cost). `range` bounds the late lookups.
 */
function ownedBy(
  p: SqlParams,
  stored: (end: OwnerEnd) => string,
  pred: OwnerPredicate,
  range: TimeBounds | undefined,
): string {
  return or(ends.flatMap((e) => [stored(e), lateOwnerMatch(p, e, pred, range)]));
}

/**
 * The predicate restricting a principal to flows it may see (`1` for unrestricted roles): a
 * tenant principal sees flows where its tenant owns an end, including ends re-attributed at
 * query time. Pass the statement's time range when it has one: it bounds the late lookups.
 */
export function tenantScope(p: SqlParams, principal: Principal, range?: TimeBounds): string {
  if (principal.role !== 'tenant') return '1';
  // A tenant principal without a tenant sees nothing (config validation forbids it anyway).
  if (!principal.tenant) return '0';
  const t = p.bind(principal.tenant, 'String');
  return ownedBy(
    p,
    (e) => `${e}_tenant = ${t}`,
    (col) => `${col('tenant')} = ${t}`,
    range,
  );
}

/** The time-range predicate: since inclusive, until exclusive. */
export function timeRange(p: SqlParams, sinceNs: bigint, untilNs: bigint): string {
  return (
    `time >= fromUnixTimestamp64Nano(${p.bind(sinceNs, 'Int64')}, 'UTC') AND ` +
    `time < fromUnixTimestamp64Nano(${p.bind(untilNs, 'Int64')}, 'UTC')`
  );
}

/**
 * The predicates of the filters alone (no time, scope or cursor). With `late` (the statement's
 * time range), the `tenant`, `account`, `job` and `alloc` filters also match ends stored as
 * `none` whose owner at the flow's time is known now; without it they match stored columns only.
 */
export function filtersToSql(
  p: SqlParams,
  f: FlowFilters,
  late?: TimeBounds,
  /** For a tenant principal: owner filters (account, job, alloc) match only its own ends. */
  ownTenant?: string,
): string[] {
  const out: string[] = [];
  const own = ownTenant === undefined ? undefined : p.bind(ownTenant, 'String');
  /** Restricts an owner predicate on one end to ends the caller's tenant owns. */
  const mine = (pred: string, tenantColumn: string) =>
    own ? `(${pred} AND ${tenantColumn} = ${own})` : pred;
  const add = (vals: readonly unknown[] | undefined, build: () => string) => {
    if (vals && vals.length > 0) out.push(build());
  };
  add(f.ip, () => ipIn(p, ['source_ip', 'destination_ip', 'source_xlated'], f.ip!));
  add(f['from-ip'], () => ipIn(p, ['source_ip'], f['from-ip']!));
  add(f['to-ip'], () => ipIn(p, ['destination_ip'], f['to-ip']!));
  add(f.port, () => anyIn(p, ['source_port', 'destination_port'], f.port!, 'UInt16'));
  add(f['from-port'], () => anyIn(p, ['source_port'], f['from-port']!, 'UInt16'));
  add(f['to-port'], () => anyIn(p, ['destination_port'], f['to-port']!, 'UInt16'));
  add(f.protocol, () => protocolIn(p, f.protocol!));
  add(f.verdict, () => enumIn(p, ['verdict'], f.verdict!));
  add(f['drop-reason'], () => anyIn(p, ['drop_reason_desc'], f['drop-reason']!, 'String'));
  add(f.type, () => eventTypeIn(p, f.type!));
  add(f['traffic-direction'], () => enumIn(p, ['traffic_direction'], f['traffic-direction']!));
  add(f.label, () => labelsMatch(p, both, f.label!));
  add(f['from-label'], () => labelsMatch(p, ['source'], f['from-label']!));
  add(f['to-label'], () => labelsMatch(p, ['destination'], f['to-label']!));
  add(f.identity, () => anyIn(p, ['source_identity', 'destination_identity'], f.identity!, 'UInt32'));
  add(f.node, () => nodeLike(p, f.node!));
  add(f.namespace, () =>
    anyIn(
      p,
      ['source_namespace', 'destination_namespace', ...ownerColumns('namespace', both)],
      f.namespace!,
      'String',
    ),
  );
  add(f.pod, () => podMatch(p, both, f.pod!));
  add(f.fqdn, () => fqdnLike(p, both, f.fqdn!));
  add(f['http-method'], () =>
    and(["l7_protocol = 'http'", anyIn(p, ['upper(http_method)'], f['http-method']!, 'String')]),
  );
  add(f['http-status'], () => httpStatusIn(p, f['http-status']!));
  add(f['http-path'], () => and(["l7_protocol = 'http'", regexMatch(p, 'path(http_url)', f['http-path']!)]));
  add(f['dns-query'], () => and(["l7_protocol = 'dns'", regexMatch(p, 'dns_query', f['dns-query']!)]));
  const owner = (field: 'tenant' | 'account' | 'job', vals: readonly string[]) => {
    const arr = p.bind(vals, 'Array(String)');
    const stored = (e: OwnerEnd) => mine(`has(${arr}, ${e}_${field})`, `${e}_tenant`);
    if (!late) return or(ends.map(stored));
    return ownedBy(p, stored, (col) => mine(`has(${arr}, ${col(field)})`, col('tenant')), late);
  };
  add(f.tenant, () => owner('tenant', f.tenant!));
  add(f.account, () => owner('account', f.account!));
  add(f.job, () => owner('job', f.job!));
  add(f.alloc, () => {
    if (!late && !own) return allocMatch(p, both, f.alloc!);
    const vals = f.alloc!.map((a) => p.bind(a, 'String'));
    const match = (name: string, id: string) =>
      or(vals.map((v) => `(${name} = ${v} OR (length(${v}) >= 8 AND startsWith(${id}, ${v})))`));
    const stored = (e: OwnerEnd) => mine(match(`${e}_alloc_name`, `${e}_alloc_id`), `${e}_tenant`);
    if (!late) return or(ends.map(stored));
    return ownedBy(p, stored, (col) => mine(match(col('alloc_name'), col('alloc_id')), col('tenant')), late);
  });
  add(f.scope, () => enumIn(p, ownerColumns('scope', both), f.scope!));
  add(f['attribution-conflict'], () =>
    or(
      f['attribution-conflict']!.map((v) => (v ? "attribution_conflict != ''" : "attribution_conflict = ''")),
    ),
  );
  return out;
}

/**
 * The WHERE clause of a flows request for `principal`: time range, cursor, filters and tenant
 * scope, ANDed. Pass a SqlParams to share parameter numbering with a larger statement.
 */
/**
 * A tenant may filter by its own tenant only: `tenant=<other>` ANDed with its scope would tell it
 * which of its flows touched that other tenant, an answer the scope exists to withhold.
 */
export function assertOwnTenantFilter(filters: FlowFilters, principal: Principal): void {
  if (principal.role !== 'tenant') return;
  const asked = filters.tenant ?? [];
  const other = asked.find((t) => t !== principal.tenant);
  if (other !== undefined) {
    throw new AccessError(
      403,
      `tenant: a tenant token may only filter by its own tenant, not "${other.slice(0, 64)}"`,
    );
  }
}

export function flowQueryToSql(
  query: Pick<FlowQuery, 'filters' | 'sinceNs' | 'untilNs' | 'cursor'>,
  principal: Principal,
  p: SqlParams = new SqlParams(),
): SqlWhere {
  assertOwnTenantFilter(query.filters, principal);
  const range = { sinceNs: query.sinceNs, untilNs: query.untilNs };
  const parts = [
    timeRange(p, query.sinceNs, query.untilNs),
    ...filtersToSql(
      p,
      query.filters,
      range,
      principal.role === 'tenant' ? (principal.tenant ?? '') : undefined,
    ),
    tenantScope(p, principal, range),
  ];
  if (query.cursor) {
    const cmp = query.cursor.order === 'newest' ? '<' : '>';
    parts.push(
      `(time, flow_id) ${cmp} (fromUnixTimestamp64Nano(${p.bind(query.cursor.timeNs, 'Int64')}, 'UTC'), ` +
        `toFixedString(unhex(${p.bind(query.cursor.flowId, 'String')}), 16))`,
    );
  }
  return { where: parts.filter((x) => x !== '1').join(' AND ') || '1', params: p.values };
}

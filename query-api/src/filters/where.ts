/**
 * The WHERE clause of every statement that reads flows, with bound parameters only: the time range,
 * the keyset cursor, the filters (the Hubble part compiled by common/filter, Flowtrail's owner filters
 * here, over stored attribution and ends re-attributed at query time) and, for a tenant principal, the
 * tenant scope. Every endpoint that reads flows builds its WHERE here, which is how tenant scoping is
 * enforced once for all of them.
 * @module
 */
import type { SqlParams } from '../../../common/clickhouse/sql-params.ts';
import { AccessError } from '../../../common/errors.ts';
import {
  and,
  type EndOwnerFilters,
  filterSetSql,
  inBoundArray,
  type OwnEnds,
  type OwnerFilters,
  or,
  type ParsedFilterSet,
  type SqlTimeRange,
} from '../../../common/filter/index.ts';
import type { Principal } from '../auth/principal.ts';
import type { FlowCursor } from './cursor.ts';
import {
  lateOwnerCandidate,
  lateOwnerMatch,
  type OwnerEnd,
  type OwnerPredicate,
  type TimeBounds,
} from './late-owner.ts';
import { sortColumn } from './sort.ts';
import { timeBoundsSql } from './time-sql.ts';

/** A WHERE clause (without the keyword) and the parameters it binds. */
export interface SqlWhere {
  where: string;
  params: Record<string, unknown>;
}

const ends: readonly OwnerEnd[] = ['src', 'dst'];

/**
 * How an owner condition treats ends stored as `none`: `exact` re-attributes them from the ownership
 * table at the flow's time (lateOwnerMatch); `candidate` keeps those whose address the wanted owner
 * held at some time (lateOwnerCandidate, a superset, checked later on the few rows it selects).
 */
export type LateMode = 'exact' | 'candidate';

/**
 * One of `on` (both ends: either end; one end: that end) owned by an owner satisfying `pred`: as
 * stored (`stored`, over the `src_`/`dst_` columns), or, for an end stored as `none`, as
 * re-attributed from the ownership table at the flow's time (filters/late-owner.ts explains the
 * cost). `range` bounds the late lookups, and so do `narrow`, conditions the statement ANDs at its
 * top level (lateOwnerMatch).
 */
function ownedBy(
  p: SqlParams,
  stored: (end: OwnerEnd) => string,
  pred: OwnerPredicate,
  range: TimeBounds | undefined,
  on: readonly OwnerEnd[] = ends,
  narrow: readonly string[] = [],
  mode: LateMode = 'exact',
): string {
  return or(
    on.flatMap((e) => [
      stored(e),
      mode === 'exact' ? lateOwnerMatch(p, e, pred, range, narrow) : lateOwnerCandidate(p, e, pred, range),
    ]),
  );
}

/**
 * The predicate restricting a principal to flows it may see (`1` for unrestricted roles): a
 * tenant principal sees flows where its tenant owns an end, including ends re-attributed at
 * query time. Pass the statement's time range when it has one: it bounds the late lookups.
 * `late: false` looks at stored attribution only (a rollup, which has no addresses to re-attribute:
 * late ends reach it through the correction job, common/ownership/correct.ts). `narrow`: conditions
 * over `flows` the statement ANDs at its top level besides the scope (its address filters, say),
 * which then also bound the late lookups, so a tenant's address query reads that address's granules
 * only (lateOwnerMatch).
 */
export function tenantScope(
  p: SqlParams,
  principal: Principal,
  range?: TimeBounds,
  late = true,
  narrow: readonly string[] = [],
  mode: LateMode = 'exact',
): string {
  if (principal.role !== 'tenant') return '1';
  // A tenant principal without a tenant sees nothing (config validation forbids it anyway).
  if (!principal.tenant) return '0';
  const t = p.bind(principal.tenant, 'String');
  if (!late) return or(ends.map((e) => `${e}_tenant = ${t}`));
  return ownedBy(
    p,
    (e) => `${e}_tenant = ${t}`,
    (col) => `${col('tenant')} = ${t}`,
    range,
    ends,
    narrow,
    mode,
  );
}

/**
 * For a tenant principal, the "this end is mine" conditions: filters on attributes a foreign end
 * hides (pod, namespace, service, workload, labels) then match its own ends only, so a filter cannot
 * confirm what redaction withholds (issue 17.4). Stored attribution only: an end attributed late
 * is conservatively treated as foreign here.
 */
export function ownEnds(p: SqlParams, principal: Principal): OwnEnds | undefined {
  if (principal.role !== 'tenant') return undefined;
  const t = p.bind(principal.tenant ?? '', 'String');
  return { source: `src_tenant = ${t}`, destination: `dst_tenant = ${t}` };
}

/**
 * The time-range predicate: since inclusive, until exclusive, with the hour-bucket bounds that let
 * the primary key use it (time-sql.ts).
 */
export function timeRange(p: SqlParams, sinceNs: bigint, untilNs: bigint): string {
  return timeBoundsSql(p, { sinceNs, untilNs }).join(' AND ');
}

/**
 * Flowtrail's owner filters. With `late` (the statement's time range), `tenant`, `account`, `job`
 * and `alloc` also match ends stored as `none` whose owner at the flow's time is known now; without
 * it they match stored columns only. With `ownTenant` (a tenant principal) they match only ends its
 * tenant owns. The plain words look at either end; `source`/`destination` (the from-/to- words) at
 * that end only. `narrow`: conditions the statement ANDs at its top level, which also bound the late
 * lookups (lateOwnerMatch). `mode` (with `late`): how late ends count (LateMode); exclusions are
 * always exact (a superset inside NOT would leave out too much).
 */
export function ownerFiltersSql(
  p: SqlParams,
  f: OwnerFilters,
  late?: TimeBounds,
  ownTenant?: string,
  narrow: readonly string[] = [],
  mode: LateMode = 'exact',
): string[] {
  const out: string[] = [];
  const own = ownTenant === undefined ? undefined : p.bind(ownTenant, 'String');
  /** Restricts an owner predicate on one end to ends the caller's tenant owns. */
  const mine = (pred: string, tenantColumn: string) =>
    own ? `(${pred} AND ${tenantColumn} = ${own})` : pred;
  const endFilters = (e: EndOwnerFilters, on: readonly OwnerEnd[]) => {
    const owner = (field: 'tenant' | 'account' | 'job', vals: readonly string[]) => {
      const arr = p.bind(vals, 'Array(String)');
      const stored = (end: OwnerEnd) => mine(inBoundArray(`${end}_${field}`, arr), `${end}_tenant`);
      if (!late) return or(on.map(stored));
      return ownedBy(
        p,
        stored,
        (col) => mine(inBoundArray(col(field), arr), col('tenant')),
        late,
        on,
        narrow,
        mode,
      );
    };
    if (e.tenant?.length) out.push(owner('tenant', e.tenant));
    if (e.account?.length) out.push(owner('account', e.account));
    if (e.job?.length) out.push(owner('job', e.job));
    if (e.alloc?.length) {
      const vals = e.alloc.map((a) => p.bind(a, 'String'));
      const match = (name: string, id: string) =>
        or(vals.map((v) => `(${name} = ${v} OR (length(${v}) >= 8 AND startsWith(${id}, ${v})))`));
      const stored = (end: OwnerEnd) => mine(match(`${end}_alloc_name`, `${end}_alloc_id`), `${end}_tenant`);
      out.push(
        late
          ? ownedBy(
              p,
              stored,
              (col) => mine(match(col('alloc_name'), col('alloc_id')), col('tenant')),
              late,
              on,
              narrow,
              mode,
            )
          : or(on.map(stored)),
      );
    }
    if (e.scope?.length) {
      const arr = p.bind(e.scope, 'Array(String)');
      out.push(or(on.map((end) => mine(inBoundArray(`toString(${end}_scope)`, arr), `${end}_tenant`))));
    }
  };
  endFilters(f, ends);
  if (f.source) endFilters(f.source, ['src']);
  if (f.destination) endFilters(f.destination, ['dst']);
  if (f.attributionConflict?.length) {
    out.push(
      or(f.attributionConflict.map((v) => (v ? "attribution_conflict != ''" : "attribution_conflict = ''"))),
    );
  }
  // Exclusions: the same predicates, each negated ("exclude it" pivots, `--not --account x`).
  if (f.exclude) {
    for (const x of ownerFiltersSql(p, f.exclude, late, ownTenant, narrow)) out.push(`NOT (${x})`);
  }
  return out;
}

/**
 * The predicates of the filters alone (no time, scope or cursor): the Hubble whitelist/blacklist and
 * the owner filters, for `principal` (a tenant's attribute filters look at its own ends only).
 * `late` is the statement's time range, which the statement must apply itself (timeRange): it
 * bounds the late-owner lookups and lets address filters read through the address index.
 * `addressIndex` (when `late` is not given) is the statement's time range for the address index
 * alone: owner filters then stay on stored columns (the alert rules, which group by stored owners).
 * The statement must AND every returned predicate (the Hubble part also bounds the late lookups).
 */
export function filtersToSql(
  p: SqlParams,
  f: ParsedFilterSet,
  principal: Principal,
  late?: TimeBounds,
  addressIndex?: SqlTimeRange,
): string[] {
  const { hubble, owner } = filterParts(p, f, principal, late, addressIndex);
  return [...hubble, ...owner];
}

/** filtersToSql's predicates, the Hubble part (at most one) apart from the owner filters. */
function filterParts(
  p: SqlParams,
  f: ParsedFilterSet,
  principal: Principal,
  late?: TimeBounds,
  addressIndex?: SqlTimeRange,
  mode: LateMode = 'exact',
  narrow: readonly string[] = [],
) {
  const range =
    late?.sinceNs !== undefined && late.untilNs !== undefined
      ? { sinceNs: late.sinceNs, untilNs: late.untilNs }
      : addressIndex;
  const sql = filterSetSql(p, f.whitelist, f.blacklist, {
    own: ownEnds(p, principal),
    addressIndex: range,
  });
  const hubble = sql === '1' ? [] : [sql];
  const own = principal.role === 'tenant' ? (principal.tenant ?? '') : undefined;
  return { hubble, owner: ownerFiltersSql(p, f.owner, late, own, [...hubble, ...narrow], mode) };
}

/**
 * A tenant may filter by its own tenant only: `tenant=<other>` ANDed with its scope would tell it
 * which of its flows touched that other tenant, an answer the scope exists to withhold.
 */
export function assertOwnTenantFilter(filters: ParsedFilterSet, principal: Principal): void {
  if (principal.role !== 'tenant') return;
  const o = filters.owner;
  const other = [...(o.tenant ?? []), ...(o.source?.tenant ?? []), ...(o.destination?.tenant ?? [])].find(
    (t) => t !== principal.tenant,
  );
  if (other !== undefined) {
    throw new AccessError(
      403,
      `tenant: a tenant token may only filter by its own tenant, not "${other.slice(0, 64)}"`,
    );
  }
}

/** What flowQueryToSql needs of a query. */
export interface FlowWhereInput {
  filters: ParsedFilterSet;
  sinceNs: bigint;
  untilNs: bigint;
  cursor?: FlowCursor | undefined;
  /** What is known of the range's late ends (TimeBounds.lateAddresses, read for this range). */
  lateAddresses?: readonly string[] | undefined;
}

/**
 * The owner words ownerFiltersSql also matches on ends stored as `none` (their owner at the flow's
 * time, from the ownership table); `scope` and `conflict` look at stored columns only.
 */
const lateOwnerWords = [
  'tenant',
  'account',
  'job',
  'alloc',
] as const satisfies readonly (keyof EndOwnerFilters)[];

/**
 * Whether owner filters (the plain words, either end, and the from-/to- words) name an owner that
 * an end stored as `none` can match at query time (lateOwnerWords): only then does a statement
 * resolve late owners for them.
 */
export function namesLateOwners(f: Omit<OwnerFilters, 'exclude'> | undefined): boolean {
  const any = (e: EndOwnerFilters | undefined) => lateOwnerWords.some((w) => !!e?.[w]?.length);
  return any(f) || any(f?.source) || any(f?.destination);
}

/**
 * Whether a late mode other than `exact` keeps flowQueryToSql's `stored` ⊆ answer ⊆ `where`: not
 * when an owner exclusion could match a late end (a superset inside NOT is a subset).
 */
export function lateCandidatesApply(filters: ParsedFilterSet): boolean {
  return !namesLateOwners(filters.owner.exclude);
}

/**
 * The WHERE clause of a flows request for `principal`: time range, cursor, filters and tenant
 * scope, ANDed. Pass a SqlParams to share parameter numbering with a larger statement. `narrow`:
 * more conditions over `flows` to AND, which also bound the late-owner lookups.
 *
 * With `mode` `candidate` (only where lateCandidatesApply), ends stored as `none` match on their
 * address alone (LateMode), so `where` selects a superset of the exact answer, and `stored` is the
 * condition under which a selected row is in the exact answer without looking at late owners (the
 * stored attribution alone satisfies the owner filters and the scope); rows without it must be
 * checked with the exact clause.
 */
export function flowQueryToSql(
  query: FlowWhereInput,
  principal: Principal,
  p: SqlParams,
  mode: LateMode = 'exact',
  narrow: readonly string[] = [],
): SqlWhere & { stored?: string } {
  assertOwnTenantFilter(query.filters, principal);
  const range = { sinceNs: query.sinceNs, untilNs: query.untilNs, lateAddresses: query.lateAddresses };
  const { hubble, owner } = filterParts(p, query.filters, principal, range, undefined, mode, narrow);
  const parts = [
    timeRange(p, query.sinceNs, query.untilNs),
    ...hubble,
    ...narrow,
    ...owner,
    tenantScope(p, principal, range, true, [...hubble, ...narrow], mode),
  ];
  if (query.cursor) {
    const c = query.cursor;
    const cmp = c.order === 'newest' ? '<' : '>';
    // Keyset on (sort column, time, flow_id): the ORDER BY of queries/flows.ts, in one tuple.
    const col = c.sort ? sortColumn(c.sort.key) : undefined;
    const head =
      col && c.sort ? { expr: `${col.expr}, `, value: `${col.bind(p, c.sort.value)}, ` } : undefined;
    parts.push(
      `(${head?.expr ?? ''}time, flow_id) ${cmp} (${head?.value ?? ''}` +
        `fromUnixTimestamp64Nano(${p.bind(c.timeNs, 'Int64')}, 'UTC'), ` +
        `toFixedString(unhex(${p.bind(c.flowId, 'String')}), 16))`,
    );
  }
  if (mode === 'exact') return { where: and(parts), params: p.values };
  // Stored attribution only (no range: the late lookups are left out).
  const own = principal.role === 'tenant' ? (principal.tenant ?? '') : undefined;
  const stored = and([
    ...ownerFiltersSql(p, query.filters.owner, undefined, own),
    tenantScope(p, principal, undefined, false),
  ]);
  return { where: and(parts), params: p.values, stored };
}

/**
 * THE address-scope rule: where one end of a flow sits relative to the other (DESIGN.md
 * "Attribution, precisely"), defined once. Ingest enrichment (collector/src/enrich) runs the
 * in-memory form per flow; the late-owner correction (common/ownership/correct.ts) runs the SQL
 * form when an end's owner becomes known after the flow was stored, because both ends' scopes
 * depend on both ends' tenants. Both forms are generated from the same ordered data
 * (`addressClassOrder`, `scopeRule`); scope.int.test.ts runs one table of cases through both on
 * real chdb.
 *
 * 1. The address's class is the first of metadata, platform, link-local, private whose CIDRs
 *    contain it (the tenancy config's and the fixed RFC ranges below), else world.
 * 2. The first clause of `scopeRule` that holds gives the scope: cloud metadata; same or other
 *    tenant when both ends have a tenant; platform for a platform range, a node's host address
 *    or a platform namespace; unknown without an address; else the address class.
 * @module
 */
import type { SqlParams } from '../clickhouse/sql-params.ts';
import type { TenancyConfig } from '../config/tenancy.ts';
import { parseIpPrefix } from '../filter/ip.ts';
import { ipInSql } from '../filter/sql.ts';
import type { AddressScope, AttributionSource } from './attribution.ts';

/** RFC 1918, RFC 6598 (carrier-grade NAT), loopback, unique local (fc00::/7), and 0.0.0.0/8. */
export const privateCidrs = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '0.0.0.0/8',
  'fc00::/7',
  '::1/128',
] as const;
/** IPv4 and IPv6 link-local ranges. */
export const linkLocalCidrs = ['169.254.0.0/16', 'fe80::/10'] as const;

/** The tenancy settings the scope rule reads. */
export type ScopeConfig = Pick<
  TenancyConfig,
  'metadataCidrs' | 'platformCidrs' | 'extraPrivateCidrs' | 'platformNamespaces'
>;

/** Address classes, world being "in none of the ranges". */
export type AddressClass = 'metadata' | 'platform' | 'link-local' | 'private' | 'world';

/** Rule 1: the classes tested in order, with their CIDRs; the first containing one wins. */
export function addressClassOrder(
  t: ScopeConfig,
): readonly { cls: Exclude<AddressClass, 'world'>; cidrs: readonly string[] }[] {
  return [
    { cls: 'metadata', cidrs: t.metadataCidrs },
    { cls: 'platform', cidrs: t.platformCidrs },
    { cls: 'link-local', cidrs: linkLocalCidrs },
    { cls: 'private', cidrs: [...privateCidrs, ...t.extraPrivateCidrs] },
  ];
}

/** What the rule reads about the end being scoped (an EndAttribution has these fields). */
export interface ScopedEnd {
  tenant: string;
  source: AttributionSource;
  namespace: string;
}

/** The same facts as SQL expressions (over `flows` columns or a correction's). */
export interface ScopedEndSql {
  /** IPv6 address expression; `::` is "no address", as flows store an empty one. */
  ip: string;
  tenant: string;
  source: string;
  namespace: string;
  /** The other end's tenant. */
  otherTenant: string;
}

/** The in-memory facts of one end, as scopeOf reads them. */
interface Facts {
  cls: AddressClass;
  hasAddress: boolean;
  self: ScopedEnd;
  otherTenant: string;
  platformNamespaces: ReadonlySet<string>;
}

/** One clause: the scope it gives and its condition in both forms. */
interface ScopeClause {
  scope: AddressScope;
  ts(f: Facts): boolean;
  /** `cls` is the SQL class expression, `platformNs` the bound Array(String) of namespaces. */
  sql(e: ScopedEndSql, cls: string, platformNs: string): string;
}

/** Rule 2, in order; the last clause always holds. */
export const scopeRule: readonly ScopeClause[] = [
  { scope: 'metadata', ts: (f) => f.cls === 'metadata', sql: (_e, c) => `${c} = 'metadata'` },
  {
    scope: 'same-tenant',
    ts: (f) => f.self.tenant !== '' && f.otherTenant !== '' && f.self.tenant === f.otherTenant,
    sql: (e) => `(${e.tenant} != '' AND ${e.otherTenant} != '' AND ${e.tenant} = ${e.otherTenant})`,
  },
  {
    scope: 'other-tenant',
    ts: (f) => f.self.tenant !== '' && f.otherTenant !== '',
    sql: (e) => `(${e.tenant} != '' AND ${e.otherTenant} != '')`,
  },
  {
    scope: 'platform',
    ts: (f) =>
      f.cls === 'platform' ||
      f.self.source === 'node' ||
      (f.self.namespace !== '' && f.platformNamespaces.has(f.self.namespace)),
    sql: (e, c, ns) =>
      `(${c} = 'platform' OR ${e.source} = 'node' OR (${e.namespace} != '' AND has(${ns}, ${e.namespace})))`,
  },
  { scope: 'unknown', ts: (f) => !f.hasAddress, sql: (e) => `${e.ip} = toIPv6('::')` },
  { scope: 'link-local', ts: (f) => f.cls === 'link-local', sql: (_e, c) => `${c} = 'link-local'` },
  { scope: 'private', ts: (f) => f.cls === 'private', sql: (_e, c) => `${c} = 'private'` },
  { scope: 'world', ts: () => true, sql: () => '1' },
];

const facts: Facts = {
  cls: 'world',
  hasAddress: false,
  self: { tenant: '', source: 'none', namespace: '' },
  otherTenant: '',
  platformNamespaces: new Set(),
};

/**
 * Rule 2 in memory (the ingest hot path: no allocation). `cls` is the end's address class by
 * rule 1 (`world` without an address).
 */
export function scopeOf(
  cls: AddressClass,
  hasAddress: boolean,
  self: ScopedEnd,
  otherTenant: string,
  platformNamespaces: ReadonlySet<string>,
): AddressScope {
  facts.cls = cls;
  facts.hasAddress = hasAddress;
  facts.self = self;
  facts.otherTenant = otherTenant;
  facts.platformNamespaces = platformNamespaces;
  for (const c of scopeRule) if (c.ts(facts)) return c.scope;
  return 'world';
}

/** Rule 1 in SQL: the class of IPv6 expression `ip`, values bound through `p`. */
export function addressClassSql(p: SqlParams, t: ScopeConfig, ip: string): string {
  const arms = addressClassOrder(t).flatMap(({ cls, cidrs }) => {
    const prefixes = cidrs.map((c) => parseIpPrefix(c)).filter((x) => x !== undefined);
    return prefixes.length ? [ipInSql(p, [ip], prefixes), `'${cls}'`] : [];
  });
  return arms.length ? `multiIf(${arms.join(', ')}, 'world')` : `'world'`;
}

/** Rule 2 in SQL: the scope of one end (a String expression holding an AddressScope name). */
export function scopeSql(p: SqlParams, t: ScopeConfig, e: ScopedEndSql): string {
  const cls = addressClassSql(p, t, e.ip);
  const ns = p.bind(t.platformNamespaces, 'Array(String)');
  const arms = scopeRule.slice(0, -1).flatMap((c) => [c.sql(e, cls, ns), `'${c.scope}'`]);
  return `multiIf(${arms.join(', ')}, '${scopeRule.at(-1)!.scope}')`;
}

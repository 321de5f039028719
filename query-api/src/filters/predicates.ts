/**
 * SQL predicates over the `flows` table, one per kind of filter, each taking the values of one
 * filter (ORed) and returning a boolean expression with every value bound through SqlParams.
 * Used by the flows query parser (filters/sql.ts) and the Hubble FlowFilter translation
 * (grpc/flow-filter-sql.ts), so both speak the same SQL.
 * @module
 */
import type { SqlParams } from './sql-params.ts';
import type { EventTypeMatch, IpRange, LabelRequirement, PodMatch, ProtocolMatch } from './values.ts';

/** Which end of a flow a predicate looks at. */
export type Side = 'source' | 'destination';

/** Column prefixes of each end: Hubble's and the attribution's. */
export const sideColumns = {
  source: { hubble: 'source', owner: 'src' },
  destination: { hubble: 'destination', owner: 'dst' },
} as const;

/** ORs expressions, `0` (false) when there are none. */
export function or(parts: string[]): string {
  if (parts.length === 0) return '0';
  return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
}

/** ANDs expressions, `1` (true) when there are none. */
export function and(parts: string[]): string {
  if (parts.length === 0) return '1';
  return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
}

/** Address columns within any of the ranges. */
export function ipIn(p: SqlParams, columns: readonly string[], ranges: readonly IpRange[]): string {
  return or(
    ranges.flatMap((r) => {
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

/** Any of the columns equal to any of the values, for a scalar ClickHouse type. */
export function anyIn(
  p: SqlParams,
  columns: readonly string[],
  vals: readonly unknown[],
  type: string,
): string {
  if (vals.length === 0) return '0';
  const arr = p.bind(vals, `Array(${type})`);
  return or(columns.map((c) => `has(${arr}, ${c})`));
}

/** Enum columns (compared by name). */
export function enumIn(p: SqlParams, columns: readonly string[], names: readonly string[]): string {
  return anyIn(
    p,
    columns.map((c) => `toString(${c})`),
    names,
    'String',
  );
}

/** Protocol filter: an L4 protocol or an L7 protocol. */
export function protocolIn(p: SqlParams, matches: readonly ProtocolMatch[]): string {
  const l4 = [...new Set(matches.flatMap((m) => m.l4))];
  const l7 = [...new Set(matches.flatMap((m) => m.l7))];
  return or([
    ...(l4.length ? [enumIn(p, ['l4_protocol'], l4)] : []),
    ...(l7.length ? [enumIn(p, ['l7_protocol'], l7)] : []),
  ]);
}

/** Event type (and sub-type when given). */
export function eventTypeIn(p: SqlParams, matches: readonly EventTypeMatch[]): string {
  return or(
    matches.map((m) =>
      m.subType === undefined
        ? `event_type = ${p.bind(m.type, 'UInt8')}`
        : `(event_type = ${p.bind(m.type, 'UInt8')} AND event_sub_type = ${p.bind(m.subType, 'UInt8')})`,
    ),
  );
}

// Parts of a Cilium label `source:key=value` held in the lambda variable `l`.
const labelKv = "substring(l, position(l, ':') + 1)";
const labelKey = `splitByChar('=', ${labelKv})[1]`;
const labelValue = `substring(${labelKv}, length(${labelKey}) + 2)`;

function requirement(p: SqlParams, column: string, r: LabelRequirement): string {
  const keyMatch = r.source
    ? `startsWith(l, ${p.bind(`${r.source}:`, 'String')}) AND ${labelKey} = ${p.bind(r.key, 'String')}`
    : `${labelKey} = ${p.bind(r.key, 'String')}`;
  switch (r.op) {
    case 'exists':
      return `arrayExists(l -> ${keyMatch}, ${column})`;
    case 'absent':
      return `NOT arrayExists(l -> ${keyMatch}, ${column})`;
    case 'eq':
      return `arrayExists(l -> ${keyMatch} AND ${labelValue} = ${p.bind(r.value, 'String')}, ${column})`;
    case 'neq':
      return `NOT arrayExists(l -> ${keyMatch} AND ${labelValue} = ${p.bind(r.value, 'String')}, ${column})`;
  }
}

/** Label selectors (each a list of ANDed requirements) on the labels of the given ends. */
export function labelsMatch(
  p: SqlParams,
  sides: readonly Side[],
  selectors: readonly LabelRequirement[][],
): string {
  return or(
    selectors.flatMap((sel) => sides.map((s) => and(sel.map((r) => requirement(p, `${s}_labels`, r))))),
  );
}

/** `[namespace/]pod-prefix` on the given ends. */
export function podMatch(p: SqlParams, sides: readonly Side[], pods: readonly PodMatch[]): string {
  return or(
    pods.flatMap((m) =>
      sides.map((s) =>
        and([
          ...(m.namespace !== undefined ? [`${s}_namespace = ${p.bind(m.namespace, 'String')}`] : []),
          ...(m.prefix ? [`startsWith(${s}_pod, ${p.bind(m.prefix, 'String')})`] : []),
          // A bare "ns/" still needs an endpoint there.
          ...(m.namespace === undefined && !m.prefix ? ['0'] : []),
        ]),
      ),
    ),
  );
}

/** Node name LIKE patterns; a pattern without `/` also matches the part after the cluster prefix. */
export function nodeLike(p: SqlParams, patterns: readonly string[]): string {
  return or(
    patterns.map((pat) => {
      const v = p.bind(pat, 'String');
      return pat.includes('/')
        ? `node_name LIKE ${v}`
        : `(node_name LIKE ${v} OR substring(node_name, position(node_name, '/') + 1) LIKE ${v})`;
    }),
  );
}

/** DNS names (lowercase, trailing dot dropped) LIKE any pattern, on the given ends. */
export function fqdnLike(p: SqlParams, sides: readonly Side[], patterns: readonly string[]): string {
  const norm = "if(endsWith(lower(n), '.'), substring(lower(n), 1, length(n) - 1), lower(n))";
  return or(
    patterns.flatMap((pat) => {
      const v = p.bind(pat, 'String');
      return sides.map((s) => `arrayExists(n -> ${norm} LIKE ${v}, ${s}_names)`);
    }),
  );
}

/** HTTP status codes or prefixes. */
export function httpStatusIn(
  p: SqlParams,
  statuses: readonly ({ code: number } | { prefix: string })[],
): string {
  return and([
    "l7_protocol = 'http'",
    'http_code > 0',
    or(
      statuses.map((s) =>
        'code' in s
          ? `http_code = ${p.bind(s.code, 'UInt16')}`
          : `startsWith(toString(http_code), ${p.bind(s.prefix, 'String')})`,
      ),
    ),
  ]);
}

/** Regular expressions (RE2) on an expression. */
export function regexMatch(p: SqlParams, expr: string, patterns: readonly string[]): string {
  return or(patterns.map((re) => `match(${expr}, ${p.bind(re, 'String')})`));
}

/** Allocation ids, id prefixes (8+ characters) or names, on the given ends. */
export function allocMatch(p: SqlParams, sides: readonly Side[], allocs: readonly string[]): string {
  return or(
    allocs.flatMap((a) => {
      const v = p.bind(a, 'String');
      return sides.map((s) => {
        const o = sideColumns[s].owner;
        return `(${o}_alloc_name = ${v} OR (length(${v}) >= 8 AND startsWith(${o}_alloc_id, ${v})))`;
      });
    }),
  );
}

/** Owner columns (`tenant`, `account`, `job`, `namespace`) of the given ends. */
export function ownerColumns(field: string, sides: readonly Side[]): string[] {
  return sides.map((s) => `${sideColumns[s].owner}_${field}`);
}

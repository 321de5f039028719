/**
 * The Visualize view (modelled on Akvorado's): flow events grouped by up to three dimensions
 * (owner fields of either end, verdict, drop reason, protocols, port, scope, the remote address
 * or its /24, the remote owner), the top N groups over the range, and their counts per step.
 * Each statement is written once and read from a minute rollup or `flows` as queries/rollup.ts
 * plans it; every statement uses the dashboards' WHERE (filters, range, tenant scope) and owner masking.
 * @module
 */
import { z } from 'zod';
import { InputError } from '../../../common/errors.ts';
import { formatTimeNs } from '../../../common/time.ts';
import type { Principal } from '../auth/principal.ts';
import type { SqlParams } from '../filters/index.ts';
import type { DashboardQuery } from './dashboard-query.ts';
import { dashboardWhere } from './dashboard-query.ts';
import { bucket, type DashboardDeps, stepSeconds } from './dashboards.ts';
import { ipText, ownerExpr } from './owner-sql.ts';
import { answered, buildStatement, planAggregateQuery, type StatementBuilder } from './rollup.ts';

/**
 * The remote end of a flow: the end in the world when exactly one is, else the destination
 * (the peer a workload talked to).
 */
const remoteIsSource = `(src_scope = 'world' AND dst_scope != 'world')`;

/** Every dimension: its SQL expression (masked for tenant principals) and its documentation. */
const dimensionCatalog: Record<string, { doc: string; sql: (p: SqlParams, who: Principal) => string }> = {
  src_tenant: { doc: 'Tenant of the source', sql: (p, w) => ownerExpr(p, w, 'src', 'tenant') },
  dst_tenant: { doc: 'Tenant of the destination', sql: (p, w) => ownerExpr(p, w, 'dst', 'tenant') },
  src_account: { doc: 'Account of the source', sql: (p, w) => ownerExpr(p, w, 'src', 'account') },
  dst_account: { doc: 'Account of the destination', sql: (p, w) => ownerExpr(p, w, 'dst', 'account') },
  src_namespace: { doc: 'Nomad namespace of the source', sql: (p, w) => ownerExpr(p, w, 'src', 'namespace') },
  dst_namespace: {
    doc: 'Nomad namespace of the destination',
    sql: (p, w) => ownerExpr(p, w, 'dst', 'namespace'),
  },
  src_job: { doc: 'Nomad job of the source', sql: (p, w) => ownerExpr(p, w, 'src', 'job') },
  dst_job: { doc: 'Nomad job of the destination', sql: (p, w) => ownerExpr(p, w, 'dst', 'job') },
  src_alloc: { doc: 'Allocation name of the source', sql: (p, w) => ownerExpr(p, w, 'src', 'alloc_name') },
  dst_alloc: {
    doc: 'Allocation name of the destination',
    sql: (p, w) => ownerExpr(p, w, 'dst', 'alloc_name'),
  },
  node: { doc: 'Observing node', sql: () => 'node_name' },
  verdict: { doc: 'Verdict', sql: () => 'toString(verdict)' },
  drop_reason: { doc: 'Drop reason', sql: () => 'drop_reason_desc' },
  l4_protocol: { doc: 'L4 protocol', sql: () => 'toString(l4_protocol)' },
  l7_protocol: { doc: 'L7 protocol', sql: () => "if(l7_protocol = 'none', '', toString(l7_protocol))" },
  dst_port: { doc: 'Destination port', sql: () => 'toString(destination_port)' },
  src_port: { doc: 'Source port', sql: () => 'toString(source_port)' },
  dst_scope: { doc: 'Scope of the destination address', sql: () => 'toString(dst_scope)' },
  src_scope: { doc: 'Scope of the source address', sql: () => 'toString(src_scope)' },
  remote_ip: {
    doc: 'Remote address (the end in the world, else the destination)',
    sql: () => `if(${remoteIsSource}, ${ipText('source_ip')}, ${ipText('destination_ip')})`,
  },
  remote_24: {
    doc: 'Remote network: the /24 of an IPv4 remote, the /48 of an IPv6 one',
    sql: () => {
      const ip = `if(${remoteIsSource}, source_ip, destination_ip)`;
      return (
        `if(startsWith(IPv6NumToString(${ip}), '::ffff:') AND position(IPv6NumToString(${ip}), '.') > 0, ` +
        `concat(IPv4NumToString(bitAnd(toUInt32(toIPv4(substring(IPv6NumToString(${ip}), 8))), 4294967040)), '/24'), ` +
        `concat(IPv6NumToString(tupleElement(IPv6CIDRToRange(${ip}, 48), 1)), '/48'))`
      );
    },
  },
  remote_owner: {
    doc: 'Owner of the remote end (tenant/account), else its DNS name',
    sql: (p, w) => {
      const t = (e: 'src' | 'dst') => ownerExpr(p, w, e, 'tenant');
      const a = (e: 'src' | 'dst') => ownerExpr(p, w, e, 'account');
      const side = (e: 'src' | 'dst', names: string) =>
        `if(${t(e)} != '', concat(${t(e)}, '/', ${a(e)}), if(length(${names}) > 0, ${names}[1], ''))`;
      return `if(${remoteIsSource}, ${side('src', 'source_names')}, ${side('dst', 'destination_names')})`;
    },
  },
};

/** The dimension names, for the parameter schema and the UI. */
export const visualizeDimensions = Object.keys(dimensionCatalog);

/** Parameters of /visualize (filters and range come on top). */
export const visualizeParams = {
  dimensions: z
    .string()
    .regex(/^[a-z0-9_]+(,[a-z0-9_]+){0,2}$/, 'expected one to three dimension names, comma-separated')
    .describe(
      `Group by these dimensions (comma-separated, up to 3; default src_tenant): ${visualizeDimensions.join(', ')}.`,
    ),
  n: z
    .string()
    .regex(/^\d{1,2}$/, 'expected 1-50')
    .describe('How many groups (top N by flow events; default 10, max 50).'),
  step: z
    .string()
    .regex(/^\d{1,6}(s|m|h|d)$/, 'expected a step like 30s, 5m, 1h or 1d')
    .describe('Bucket width of the series (default: range/60, at least 1s, whole minutes from a minute up).'),
} as const;

type VisualizeQuery = DashboardQuery<{ dimensions?: string; n?: string; step?: string }>;

function dimensionsOf(q: VisualizeQuery): string[] {
  const dims = (q.extra.dimensions ?? 'src_tenant').split(',');
  for (const d of dims) {
    if (!(d in dimensionCatalog)) {
      throw new InputError(
        `dimensions: unknown dimension ${d}; expected ${visualizeDimensions.join(', ')}`,
        'dimensions',
      );
    }
  }
  if (new Set(dims).size !== dims.length)
    throw new InputError('dimensions: a dimension is repeated', 'dimensions');
  return dims;
}

/** SELECT list and GROUP BY of the dimensions: `k0, k1…`. */
function keySql(p: SqlParams, principal: Principal, dims: string[]): { select: string; names: string } {
  const select = dims.map((d, i) => `${dimensionCatalog[d]!.sql(p, principal)} AS k${i}`).join(', ');
  return { select, names: dims.map((_, i) => `k${i}`).join(', ') };
}

/** The statement of the top N groups over the range, with their flow events and drops. */
function topSql(principal: Principal, dims: string[], n: number): StatementBuilder {
  return (p, a, where) => {
    const k = keySql(p, principal, dims);
    return `SELECT ${k.select}, ${a.count()} AS flows, ${a.count("verdict = 'DROPPED'")} AS drops
     FROM ${a.from} WHERE ${where} GROUP BY ${k.names} ${a.nonZero('flows')}
     ORDER BY flows DESC, ${k.names} LIMIT ${p.bind(n, 'UInt32')}`;
  };
}

/** The statement of flow events per step of the top N groups (the same ranking as topSql). */
function seriesSql(
  q: VisualizeQuery,
  principal: Principal,
  dims: string[],
  n: number,
  stepS: number,
): StatementBuilder {
  return (p, a, where) => {
    const k = keySql(p, principal, dims);
    const inner = keySql(p, principal, dims);
    const innerWhere = dashboardWhere(p, q, principal, a.plan.source === 'flows');
    return `SELECT ${bucket(p, stepS)} AS t, ${k.select}, ${a.count()} AS flows
     FROM ${a.from} WHERE ${where}
       AND (${k.names}) IN (SELECT ${inner.names} FROM (
         SELECT ${inner.select}, ${a.count()} AS c FROM ${a.from} WHERE ${innerWhere}
         GROUP BY ${inner.names} ${a.nonZero('c')} ORDER BY c DESC, ${inner.names} LIMIT ${p.bind(n, 'UInt32')}))
     GROUP BY t, ${k.names} ${a.nonZero('flows')} ORDER BY t, ${k.names}`;
  };
}

/** The statement of flow events per step of everything the filters select (the top N plus "other"). */
function totalsSql(stepS: number): StatementBuilder {
  return (p, a, where) =>
    `SELECT ${bucket(p, stepS)} AS t, ${a.count()} AS flows
     FROM ${a.from} WHERE ${where} GROUP BY t ${a.nonZero('flows')} ORDER BY t`;
}

/** `GET /api/v1/visualize`: the top groups, their series and the totals per step. */
export async function visualize(
  deps: DashboardDeps,
  q: VisualizeQuery,
  principal: Principal,
  signal?: AbortSignal,
) {
  const dims = dimensionsOf(q);
  const n = Math.min(50, Math.max(1, Number(q.extra.n ?? 10)));
  const stepS = stepSeconds(q, 60);
  const statements = [topSql(principal, dims, n), seriesSql(q, principal, dims, n, stepS), totalsSql(stepS)];
  const plan = await planAggregateQuery(deps.store, deps.settings, q, principal, stepS, statements, signal);
  const [top, points, totals] = await Promise.all(
    statements.map((build) => {
      const st = buildStatement(plan, q, principal, build);
      return deps.store.query<Record<string, string>>(st.sql, {
        params: st.params,
        settings: deps.settings,
        signal,
      });
    }),
  );
  const key = (r: Record<string, string>) => dims.map((_, i) => String(r[`k${i}`] ?? ''));
  return {
    source: plan.source,
    dimensions: dims,
    step_seconds: stepS,
    // The range answered: an hourly rollup rounds a long range out to whole hours (rollup.ts).
    since: formatTimeNs(answered(plan, q).sinceNs),
    until: formatTimeNs(answered(plan, q).untilNs),
    top: top!.map((r) => ({ key: key(r), flows: Number(r['flows']), drops: Number(r['drops']) })),
    points: points!.map((r) => ({ time: String(r['t']), key: key(r), flows: Number(r['flows']) })),
    totals: totals!.map((r) => ({ time: String(r['t']), flows: Number(r['flows']) })),
  };
}

/**
 * The aggregate views behind the dashboards: a tenant's summary, counts over time by a
 * dimension, top talkers, and the topology of owners and peers. Flows are events, not bytes,
 * so everything counts events, distinct peers and distinct ports.
 * @module
 */
import { z } from 'zod';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { sourcePeersRollup } from '../../../common/clickhouse/rollups.ts';
import { InputError } from '../../../common/errors.ts';
import { formatTimeNs, parseDurationArg } from '../../../common/time.ts';
import type { Principal } from '../auth/principal.ts';
import { SqlParams } from '../filters/index.ts';
import { type DashboardQuery, dashboardWhere } from './dashboard-query.ts';
import { ipText, ownerExpr } from './owner-sql.ts';
import {
  answered,
  buildStatement,
  defaultStepS,
  hourlyRange,
  planAggregateQuery,
  type StatementBuilder,
  unfiltered,
} from './rollup.ts';
import { worldAddressNames } from './topology-names.ts';

/** What the aggregate services need. */
export interface DashboardDeps {
  store: Store;
  settings: QuerySettings;
}

const fmt = (col: string) => `formatDateTime(${col}, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')`;

/**
 * The start of a step bucket as text, the same from `flows` (DateTime64) and a rollup's minute
 * (DateTime): both are brought to nanoseconds first.
 */
export const bucket = (p: SqlParams, stepS: number) =>
  fmt(`toDateTime64(toStartOfInterval(time, toIntervalSecond(${p.bind(stepS, 'UInt32')})), 9, 'UTC')`);

/** Parameters of /timeseries. */
export const timeseriesParams = {
  by: z.enum(['verdict', 'drop_reason', 'tenant', 'scope']).describe('Dimension (default verdict).'),
  step: z
    .string()
    .regex(/^\d{1,6}(s|m|h|d)$/, 'expected a step like 30s, 5m, 1h or 1d')
    .describe('Bucket width (default: range/100, at least 1s, whole minutes from a minute up).'),
} as const;

/** Parameters of /top. */
export const topParams = {
  by: z.enum(['source', 'destination', 'port', 'tenant']).describe('What to rank (default source).'),
  metric: z.enum(['flows', 'peers', 'ports', 'drops']).describe('Ranking metric (default flows).'),
  n: z
    .string()
    .regex(/^\d{1,3}$/, 'expected 1-100')
    .describe('How many (default 10, max 100).'),
} as const;

/** Parameters of /topology. */
export const topologyParams = {
  edges: z
    .string()
    .regex(/^\d{1,4}$/, 'expected 1-2000')
    .describe('Most edges (default 200, max 2000).'),
} as const;

/** Parameters of /tenants/:tenant/summary (filters and range come on top). */
export const summaryParams = {} as const;

const maxBuckets = 2000;
const maxStepNs = 36_500n * 86_400n * 1_000_000_000n;

/**
 * The bucket width of a series (/timeseries, /visualize), in seconds: `step` through the shared
 * duration parser, at most 100 years so the UInt32 seconds of `bucket` never wrap (999999d once
 * bucketed into 2017), or by default `defaultStepS` for `buckets` buckets; at most 2,000 buckets.
 */
export function stepSeconds(q: DashboardQuery<{ step?: string }>, buckets: number): number {
  const rangeS = Number((q.untilNs - q.sinceNs) / 1_000_000_000n);
  const stepS = q.extra.step
    ? Number(parseDurationArg(q.extra.step, 'step', maxStepNs) / 1_000_000_000n)
    : defaultStepS(rangeS, buckets);
  if (rangeS / stepS > maxBuckets) {
    throw new InputError(`step: more than ${maxBuckets} buckets over this range; use a larger step`, 'step');
  }
  return stepS;
}

/** Counts by a dimension at a step. */
export async function timeseries(
  deps: DashboardDeps,
  q: DashboardQuery<{ by?: string; step?: string }>,
  principal: Principal,
  signal?: AbortSignal,
) {
  const stepS = stepSeconds(q, 100);
  const by = q.extra.by ?? 'verdict';
  const build: StatementBuilder = (p, a, where) => {
    const key =
      by === 'verdict'
        ? 'toString(verdict)'
        : by === 'drop_reason'
          ? 'drop_reason_desc'
          : by === 'scope'
            ? 'toString(dst_scope)'
            : `arrayJoin(arrayDistinct([${ownerExpr(p, principal, 'src', 'tenant')}, ${ownerExpr(p, principal, 'dst', 'tenant')}]))`;
    return `SELECT ${bucket(p, stepS)} AS t, ${key} AS key, ${a.count()} AS n
     FROM ${a.from} WHERE ${where} GROUP BY t, key ${a.nonZero('n')} ORDER BY t, key`;
  };
  const plan = await planAggregateQuery(deps.store, deps.settings, q, principal, stepS, [build], signal);
  const st = buildStatement(plan, q, principal, build);
  const rows = await deps.store.query<{ t: string; key: string; n: string }>(st.sql, {
    params: st.params,
    settings: deps.settings,
    signal,
  });
  return {
    source: plan.source,
    by,
    step_seconds: stepS,
    // The range answered: an hourly rollup rounds a long range out to whole hours (rollup.ts).
    since: formatTimeNs(answered(plan, q).sinceNs),
    until: formatTimeNs(answered(plan, q).untilNs),
    points: rows.map((r) => ({ time: r.t, key: r.key, flows: Number(r.n) })),
  };
}

/** Top sources, destinations, ports or tenants. */
export async function top(
  deps: DashboardDeps,
  q: DashboardQuery<{ by?: string; metric?: string; n?: string }>,
  principal: Principal,
  signal?: AbortSignal,
) {
  const by = q.extra.by ?? 'source';
  const metric = q.extra.metric ?? 'flows';
  const n = Math.min(100, Math.max(1, Number(q.extra.n ?? 10)));
  const build: StatementBuilder = (p, a, where) => {
    const o = (e: 'src' | 'dst', f: string) => ownerExpr(p, principal, e, f);
    // One identity per address: the three fields come from the same (latest) row, never from
    // different owners of a reused address; flows of the same instant by flow id, as the hourly
    // states keep the latest (migration 0120 `last_flow`).
    const ownerOf = (e: 'src' | 'dst') => {
      const latest = `argMax(tuple(${o(e, 'tenant')}, ${o(e, 'account')}, ${o(e, 'job')}), (time, flow_id))`;
      return `tupleElement(${latest}, 1) AS tenant, tupleElement(${latest}, 2) AS account, tupleElement(${latest}, 3) AS job`;
    };
    const keys: Record<string, { select: string; group: string; peer: string; port: string }> = {
      source: {
        select: `${ipText('source_ip')} AS ip, ${ownerOf('src')}`,
        group: 'ip',
        peer: 'destination_ip',
        port: 'destination_port',
      },
      destination: {
        select: `${ipText('destination_ip')} AS ip, ${ownerOf('dst')}`,
        group: 'ip',
        peer: 'source_ip',
        port: 'destination_port',
      },
      port: {
        select: 'destination_port AS port, toString(l4_protocol) AS protocol',
        group: 'port, protocol',
        peer: 'source_ip',
        port: 'destination_port',
      },
      tenant: {
        select: `${o('src', 'tenant')} AS tenant`,
        group: 'tenant',
        peer: 'destination_ip',
        port: 'destination_port',
      },
    };
    const k = keys[by]!;
    return `SELECT ${k.select}, ${a.count()} AS flows, uniq(${k.peer}) AS peers, uniq(${k.port}) AS ports,
       ${a.count("verdict = 'DROPPED'")} AS drops
     FROM ${a.from} WHERE ${where} GROUP BY ${k.group} ${a.nonZero('flows')}
     ORDER BY ${order} DESC, ${k.group} LIMIT ${p.bind(n, 'UInt32')}`;
  };
  const order = { flows: 'flows', peers: 'peers', ports: 'ports', drops: 'drops' }[metric] ?? 'flows';
  // Sources ranked by a count: the ranking alone, which an hourly rollup by source can answer
  // (migration 0080); then the winners' other columns (sourceDetails).
  // Same order and limit as the one statement over `flows`, so the same N addresses.
  const rank: StatementBuilder | undefined =
    by === 'source' && (metric === 'flows' || metric === 'drops')
      ? (p, a, where) =>
          `SELECT toString(source_ip) AS address, ${ipText('source_ip')} AS ip, ${a.count()} AS flows,
             ${a.count("verdict = 'DROPPED'")} AS drops
           FROM ${a.from} WHERE ${where} GROUP BY source_ip ${a.nonZero('flows')}
           ORDER BY ${order} DESC, ip LIMIT ${p.bind(n, 'UInt32')}`
      : undefined;
  const plan = await planAggregateQuery(
    deps.store,
    deps.settings,
    q,
    principal,
    undefined,
    [rank ?? build],
    signal,
  );
  const r = answered(plan, q);
  const answer = (items: Record<string, string>[]) => ({
    source: plan.source,
    by,
    metric,
    since: formatTimeNs(r.sinceNs),
    until: formatTimeNs(r.untilNs),
    items: items.map((r) => ({
      ...r,
      flows: Number(r['flows']),
      peers: Number(r['peers']),
      ports: Number(r['ports']),
      drops: Number(r['drops']),
      ...(r['port'] !== undefined ? { port: Number(r['port']) } : {}),
    })),
  });
  if (rank && plan.source === 'rollup') {
    const st = buildStatement(plan, q, principal, rank);
    const ranked = await deps.store.query<RankedSource>(st.sql, {
      params: st.params,
      settings: deps.settings,
      signal,
    });
    const details = await sourceDetails(deps, r, principal, ranked, signal);
    return answer(
      ranked.map((w) => {
        const d = details.get(w.address);
        return {
          ip: w.ip,
          tenant: d?.tenant ?? '',
          account: d?.account ?? '',
          job: d?.job ?? '',
          flows: w.flows,
          peers: d?.peers ?? '0',
          ports: d?.ports ?? '0',
          drops: w.drops,
        };
      }),
    );
  }
  const st = buildStatement(plan, q, principal, build);
  const rows = await deps.store.query<Record<string, string>>(st.sql, {
    params: st.params,
    settings: deps.settings,
    signal,
  });
  return answer(rows);
}

/** One source ranked from flows_hour_source, with its counts. */
interface RankedSource {
  address: string;
  ip: string;
  flows: string;
  drops: string;
}

/**
 * The columns of ranked sources besides their counts, in one statement, as the one statement over
 * `flows` computes them under the same WHERE (`q`: the range answered; its filters are on the
 * source address and verdict only, the columns of flows_hour_source), from the hourly states of
 * migration 0120, ordered by source address (a few granules per winner):
 *
 * - peers and ports (`uniq` of destination addresses and ports): the states merged;
 * - owner (tenant, account, job of the latest flow, `latestOwner`): that flow's, found by its
 *   time and source (primary key) and its flow id (bloom filter), one granule.
 */
async function sourceDetails(
  deps: DashboardDeps,
  q: DashboardQuery<unknown>,
  principal: Principal,
  ranked: readonly RankedSource[],
  signal?: AbortSignal,
) {
  type Details = {
    address: string;
    tenant: string;
    account: string;
    job: string;
    peers: string;
    ports: string;
  };
  if (ranked.length === 0) return new Map<string, Details>();
  const p = new SqlParams();
  const o = (f: string) => ownerExpr(p, principal, 'src', f);
  const winners = p.bind(
    ranked.map((w) => w.address),
    'Array(IPv6)',
  );
  const states = (columns: string) =>
    `SELECT source_ip, ${columns} FROM ${sourcePeersRollup.name}
     WHERE ${dashboardWhere(p, q, principal, false)} AND source_ip IN ${winners} GROUP BY source_ip`;
  const last = states('max(last_flow) AS l');
  const rows = await deps.store.query<Details>(
    `SELECT toString(s.source_ip) AS address, o.tenant AS tenant, o.account AS account, o.job AS job,
       toString(s.peers) AS peers, toString(s.ports) AS ports
     FROM (${states('uniqMerge(peers) AS peers, uniqMerge(ports) AS ports')}) AS s
     LEFT JOIN (
       SELECT source_ip, ${o('tenant')} AS tenant, ${o('account')} AS account, ${o('job')} AS job FROM flows
       WHERE (toStartOfHour(time), source_ip, time) IN (SELECT toStartOfHour(l.1), source_ip, l.1 FROM (${last}))
         AND flow_id IN (SELECT l.2 FROM (${last}))
       LIMIT 1 BY source_ip
     ) AS o ON s.source_ip = o.source_ip`,
    { params: p.values, settings: deps.settings, signal },
  );
  return new Map(rows.map((d) => [d.address, d]));
}

/** Edges between owners (tenant/job) or, where nobody is known, addresses, with counts and verdicts. */
export async function topology(
  deps: DashboardDeps,
  q: DashboardQuery<{ edges?: string }>,
  principal: Principal,
  signal?: AbortSignal,
) {
  const max = Math.min(2000, Math.max(1, Number(q.extra.edges ?? 200)));
  const build: StatementBuilder = (p, a, where) => {
    const node = (e: 'src' | 'dst', ipCol: string) => {
      const tenant = ownerExpr(p, principal, e, 'tenant');
      const job = ownerExpr(p, principal, e, 'job');
      return `if(${tenant} != '' OR ${job} != '', concat(${tenant}, '/', ${job}), ${ipText(ipCol)})`;
    };
    return `SELECT ${node('src', 'source_ip')} AS source, ${node('dst', 'destination_ip')} AS destination,
       ${a.count()} AS flows, sumMap([toString(verdict)], [${a.weight}]) AS verdicts, uniq(destination_port) AS ports
     FROM ${a.from} WHERE ${where} GROUP BY source, destination ${a.nonZero('flows')}
     ORDER BY flows DESC, source, destination LIMIT ${p.bind(max, 'UInt32')}`;
  };
  const plan = await planAggregateQuery(deps.store, deps.settings, q, principal, undefined, [build], signal);
  const st = buildStatement(plan, q, principal, build);
  const rows = await deps.store.query<{
    source: string;
    destination: string;
    flows: string;
    verdicts: [string[], string[]];
    ports: string;
  }>(st.sql, { params: st.params, settings: deps.settings, signal });
  const edges = rows.map((r) => ({
    source: r.source,
    destination: r.destination,
    flows: Number(r.flows),
    ports: Number(r.ports),
    verdicts: Object.fromEntries(
      r.verdicts[0].map((k, i) => [k, Number(r.verdicts[1][i])]).filter(([, c]) => c !== 0),
    ),
  }));
  const ids = [...new Set(edges.flatMap((e) => [e.source, e.destination]))];
  // World addresses carry the DNS name they were looked up by, when the flows recorded one.
  const names = await worldAddressNames(
    deps,
    q,
    principal,
    ids.filter((id) => !id.includes('/')),
    signal,
  );
  const nodes = ids.map((id) => ({
    id,
    kind: id.includes('/') ? 'owner' : 'address',
    ...(names.has(id) ? { name: names.get(id) } : {}),
  }));
  return { source: plan.source, nodes, edges };
}

/** One tenant's activity over the range: counts, verdicts, drop reasons, peers, top ports. */
export async function tenantSummary(
  deps: DashboardDeps,
  tenant: string,
  q: DashboardQuery<unknown>,
  principal: Principal,
  signal?: AbortSignal,
) {
  // The tenant's flows: either end its own (the path parameter, bound in each statement).
  const mine = (p: SqlParams, where: string) => {
    const t = p.bind(tenant, 'String');
    return { t, where: `${where} AND (src_tenant = ${t} OR dst_tenant = ${t})` };
  };
  const totalsSql: StatementBuilder = (p, a, w) => {
    const { t, where } = mine(p, w);
    return `SELECT ${a.count()} AS flows, ${a.count(`src_tenant = ${t}`)} AS outbound, ${a.count(`dst_tenant = ${t}`)} AS inbound,
       sumMap([toString(verdict)], [${a.weight}]) AS verdicts,
       sumMapIf([drop_reason_desc], [${a.weight}], verdict = 'DROPPED') AS drop_reasons,
       ${sketchIf('destination_ip', `src_tenant = ${t}`)} AS destinations,
       ${sketchIf('source_ip', `dst_tenant = ${t}`)} AS sources,
       uniqExact(if(src_tenant = ${t}, src_account, dst_account)) AS accounts,
       ${a.count(`src_tenant = ${t} AND dst_scope = 'world'`)} AS to_world,
       ${a.count(`src_tenant = ${t} AND dst_scope = 'other-tenant'`)} AS to_other_tenants,
       ${a.count(`src_tenant = ${t} AND dst_scope = 'metadata'`)} AS to_metadata,
       ${fmt('min(time)')} AS first_seen, ${fmt('max(time)')} AS last_seen
     FROM ${a.from} WHERE ${where}`;
  };
  const portsSql: StatementBuilder = (p, a, w) => {
    const { t, where } = mine(p, w);
    return `SELECT destination_port AS port, toString(l4_protocol) AS protocol, ${a.count()} AS flows
     FROM ${a.from} WHERE ${where} AND src_tenant = ${t} GROUP BY port, protocol ${a.nonZero('flows')}
     ORDER BY flows DESC, port, protocol LIMIT 10`;
  };
  const hourly = await tenantHours(deps, tenant, q, principal, signal);
  if (hourly) return summaryAnswer('rollup', tenant, hourly.range, hourly.totals, hourly.ports);
  const plan = await planAggregateQuery(
    deps.store,
    deps.settings,
    q,
    principal,
    undefined,
    [totalsSql, portsSql],
    signal,
  );
  const run = <R>(build: StatementBuilder) => {
    const st = buildStatement(plan, q, principal, build);
    return deps.store.query<R>(st.sql, { params: st.params, settings: deps.settings, signal });
  };
  const [totals] = await run<Record<string, unknown>>(totalsSql);
  const ports = await run<PortRow>(portsSql);
  return summaryAnswer(plan.source, tenant, q, totals, ports);
}

/**
 * Distinct peers in the tenant summary: a uniqCombined(12) sketch (about 1.6% error past a few
 * hundred peers), the one the hourly sketches of migration 0082 hold, so `flows` and the hourly
 * tables give the same number.
 */
const sketchIf = (x: string, cond: string) => `uniqCombinedIf(12)(${x}, ${cond})`;

type PortRow = { port: string; protocol: string; flows: string };

/**
 * The summary from the per-tenant hourly tables (migrations 0081, 0082), when they can answer: no
 * filters (the tables keep the tenant's own rows only; a tenant principal's scope holds every one
 * of them, and the summary counts stored owners on `flows` too), `source` not `flows`, and a range
 * an hourly table answers (`hourlyRange`: on whole hours, or long and rounded out to whole hours).
 */
async function tenantHours(
  deps: DashboardDeps,
  tenant: string,
  q: DashboardQuery<unknown>,
  principal: Principal,
  signal?: AbortSignal,
) {
  if (q.source === 'flows' || !unfiltered(q, principal)) return undefined;
  if (principal.role === 'tenant' && principal.tenant !== tenant) return undefined;
  const range = hourlyRange(q.sinceNs, q.untilNs);
  if (!range) return undefined;
  const p = new SqlParams();
  const at = (ns: bigint) => `fromUnixTimestamp64Nano(${p.bind(ns, 'Int64')}, 'UTC')`;
  const where = `tenant = ${p.bind(tenant, 'String')} AND hour >= ${at(range.sinceNs)} AND hour < ${at(range.untilNs)}`;
  const n = 'flows_hour_tenant.flows';
  const opts = { params: p.values, settings: deps.settings, signal };
  const [[counts], [peers], ports] = await Promise.all([
    deps.store.query<Record<string, unknown>>(
      `SELECT sum(${n}) AS flows, sumIf(${n}, owns_source = 1) AS outbound, sumIf(${n}, owns_destination = 1) AS inbound,
         sumMap([toString(verdict)], [${n}]) AS verdicts,
         sumMapIf([drop_reason_desc], [${n}], verdict = 'DROPPED') AS drop_reasons,
         length(arrayFilter(c -> c != 0, (sumMap([account], [${n}])).2)) AS accounts,
         sumIf(${n}, owns_source = 1 AND dst_scope = 'world') AS to_world,
         sumIf(${n}, owns_source = 1 AND dst_scope = 'other-tenant') AS to_other_tenants,
         sumIf(${n}, owns_source = 1 AND dst_scope = 'metadata') AS to_metadata
       FROM flows_hour_tenant WHERE ${where}`,
      opts,
    ),
    deps.store.query<Record<string, unknown>>(
      `SELECT uniqCombinedMergeIf(12)(peers, direction = 'out') AS destinations,
         uniqCombinedMergeIf(12)(peers, direction = 'in') AS sources,
         ${fmt('min(first_seen)')} AS first_seen, ${fmt('max(last_seen)')} AS last_seen
       FROM flows_hour_tenant_peers WHERE ${where}`,
      opts,
    ),
    deps.store.query<PortRow>(
      `SELECT destination_port AS port, toString(l4_protocol) AS protocol, sum(${n}) AS flows
       FROM flows_hour_tenant WHERE ${where} AND owns_source = 1 GROUP BY port, protocol HAVING flows != 0
       ORDER BY flows DESC, port, protocol LIMIT 10`,
      opts,
    ),
  ]);
  return { range, totals: { ...counts, ...peers }, ports };
}

/** The summary's answer from its totals and top ports, over the range they cover. */
function summaryAnswer(
  source: string,
  tenant: string,
  range: { sinceNs: bigint; untilNs: bigint },
  totals: Record<string, unknown> | undefined,
  ports: PortRow[],
) {
  const q = range;
  const pairs = (v: unknown) => {
    const [k, n] = (v as [string[], string[]] | undefined) ?? [[], []];
    // A rollup's -n/+n correction rows can leave a key at zero until a merge folds it.
    return Object.fromEntries(k.map((key, i) => [key, Number(n[i])]).filter(([, c]) => c !== 0));
  };
  const num = (k: string) => Number(totals?.[k] ?? 0);
  const flows = num('flows');
  return {
    source,
    tenant,
    since: formatTimeNs(q.sinceNs),
    until: formatTimeNs(q.untilNs),
    flows,
    outbound: num('outbound'),
    inbound: num('inbound'),
    verdicts: pairs(totals?.['verdicts']),
    drop_reasons: pairs(totals?.['drop_reasons']),
    distinct_destinations: num('destinations'),
    distinct_sources: num('sources'),
    accounts: num('accounts'),
    to_world: num('to_world'),
    to_other_tenants: num('to_other_tenants'),
    to_metadata: num('to_metadata'),
    first_seen: flows ? totals?.['first_seen'] : null,
    last_seen: flows ? totals?.['last_seen'] : null,
    top_ports: ports.map((r) => ({ port: Number(r.port), protocol: r.protocol, flows: Number(r.flows) })),
  };
}

/**
 * Runs a rule over sliding windows as one ClickHouse query.
 *
 * Why queries over stored flows rather than counters in the collector: the store already holds
 * every flow with both ends' attribution, so a rule is a few lines of SQL over the same columns
 * investigators query; a window re-read later sees flows that arrived late (a slow Relay, a
 * Kafka backlog, an imported capture), so results are exact rather than whatever was in memory
 * at the time; and backfill (`flowtrail alerts evaluate --since --until`) runs this very code
 * over history. The price is one query per rule per interval over the last window, which the
 * `(hour, source_ip, time)` order key keeps to a narrow range. Incremental counters in the
 * collector could be added later for sub-second rules; they would feed the same incidents.
 *
 * Windows: every window has the rule's length W and windows end on a grid of step S (the
 * evaluation interval): window k covers [A + kS, A + kS + W) with A = firstEnd - W. Each event
 * row is repeated into the windows containing it (`arrayJoin`), so one query evaluates one
 * window live or thousands in backfill. Per-step event counts (`buckets`) let the incident
 * book count each event once although windows overlap.
 * @module
 */
import type { Store } from '../../../common/clickhouse/index.ts';
import { SqlParams } from '../filters/index.ts';
import type { Rule } from './rules/index.ts';

/** The owner an incident is about. Empty strings mean "not known". */
export interface Owner {
  tenant: string;
  account: string;
  allocId: string;
  allocName: string;
  namespace: string;
  job: string;
  node: string;
}

/** One sample flow, as the rule's `sample` column describes it. */
export type SampleFlow = Record<string, string>;

/** A rule that fired for one owner in one window. */
export interface Finding {
  rule: string;
  windowStartNs: bigint;
  windowEndNs: bigint;
  owner: Owner;
  firstSeenNs: bigint;
  lastSeenNs: bigint;
  /** Matching flow events in the window (over the groups that crossed the threshold). */
  events: number;
  /** Events per step bucket: [bucket start ns, events]. */
  buckets: [bigint, number][];
  /** The rule's measure, largest over the owner's groups. */
  peak: number;
  /** Largest distinct-peer count over the owner's groups. */
  peers: number;
  /** The groups that crossed the threshold (ports swept, hosts scanned, pool names, tenants…). */
  keys: string[];
  sourceAddresses: string[];
  destinationAddresses: string[];
  ports: number[];
  samples: SampleFlow[];
  /** Rule-specific marker (smtp-egress: a first-ever port-25 flow). */
  flagged: boolean;
}

/** Which windows to evaluate: ends firstEnd, firstEnd + step, …, lastEnd; events clamped to [since, until). */
export interface WindowPlan {
  firstEndNs: bigint;
  lastEndNs: bigint;
  stepNs: bigint;
  sinceNs?: bigint;
  untilNs?: bigint;
}

/** The larger of two instants (Math.max does not take bigint). */
export function maxNs(a: bigint, b: bigint): bigint {
  return a >= b ? a : b;
}

/** The smaller of two instants. */
export function minNs(a: bigint, b: bigint): bigint {
  return a <= b ? a : b;
}

/** Rounds down to the step grid. */
export function alignDown(ns: bigint, step: bigint): bigint {
  const r = ns % step;
  return r < 0n ? ns - r - step : ns - r;
}

/** The plan that covers [since, until) with windows on the step grid (backfill). */
export function backfillPlan(sinceNs: bigint, untilNs: bigint, stepNs: bigint): WindowPlan {
  const firstEndNs = alignDown(sinceNs, stepNs) + stepNs;
  const up = alignDown(untilNs, stepNs);
  const lastEndNs = up < untilNs ? up + stepNs : up;
  return { firstEndNs, lastEndNs: maxNs(lastEndNs, firstEndNs), stepNs, sinceNs, untilNs };
}

interface Row {
  k: string;
  o_tenant: string;
  o_account: string;
  o_alloc_id: string;
  alloc_name: string;
  namespace: string;
  job: string;
  node: string;
  first_tn: string;
  last_tn: string;
  total_events: string;
  peak: number;
  max_peers: string;
  buckets: [string[], string[]];
  keys: string[];
  s_ips: string[];
  d_ips: string[];
  d_ports: number[];
  samples: string[];
  flag: number;
}

/** Evaluates `rule` over the plan's windows and returns its findings in window order. */
export async function evaluateRule(
  store: Store,
  rule: Rule,
  plan: WindowPlan,
  opts: { maxSamples: number; signal?: AbortSignal; settings?: Record<string, string | number | boolean> },
): Promise<Finding[]> {
  const w = rule.windowNs;
  const s = plan.stepNs;
  const a = plan.firstEndNs - w;
  const kmax = (plan.lastEndNs - plan.firstEndNs) / s;
  const t0 = plan.sinceNs !== undefined && plan.sinceNs > a ? plan.sinceNs : a;
  const t1 = plan.untilNs !== undefined && plan.untilNs < plan.lastEndNs ? plan.untilNs : plan.lastEndNs;
  if (t1 <= t0) return [];
  const p = new SqlParams('r');
  const q = rule.query(p, { t0, t1 });
  const samples = Math.max(0, Math.trunc(opts.maxSamples));
  const d = 'tn - {wa:Int64}';
  const kLo = `toUInt64(if(${d} >= {ww:Int64}, intDiv(${d} - {ww:Int64}, {ws:Int64}) + 1, 0))`;
  const kHi = `toUInt64(least(intDiv(${d}, {ws:Int64}), {wk:Int64}) + 1)`;
  const sql = `
SELECT toString(k) AS k, o_tenant, o_account, o_alloc_id,
  any(o_alloc_name) AS alloc_name, any(o_namespace) AS namespace, any(o_job) AS job, any(o_node) AS node,
  toString(min(first_tn)) AS first_tn, toString(max(last_tn)) AS last_tn, toString(sum(events)) AS total_events,
  toFloat64(max(measure)) AS peak, toString(max(peers)) AS max_peers,
  sumMap(bm.1, bm.2) AS buckets,
  arraySlice(groupArray(g), 1, 100) AS keys,
  arraySlice(groupUniqArrayArray(s_ips), 1, 50) AS s_ips,
  arraySlice(groupUniqArrayArray(d_ips), 1, 50) AS d_ips,
  arraySlice(arraySort(groupUniqArrayArray(ports)), 1, 50) AS d_ports,
  arraySlice(arrayFlatten(groupArray(samples)), 1, ${samples}) AS samples,
  max(flag) AS flag
FROM (
  SELECT k, o_tenant, o_account, o_alloc_id, any(o_alloc_name) AS o_alloc_name, any(o_namespace) AS o_namespace,
    any(o_job) AS o_job, any(o_node) AS o_node, g,
    count() AS events, uniqExact(peer) AS peers, min(tn) AS first_tn, max(tn) AS last_tn,
    sumMap([intDiv(tn, {ws:Int64})], [toUInt64(1)]) AS bm,
    groupUniqArray(50)(s_ip) AS s_ips, groupUniqArray(50)(d_ip) AS d_ips, groupUniqArray(50)(port) AS ports,
    groupArray(${samples})(sample) AS samples, max(flag) AS flag, (${q.measure}) AS measure
  FROM (SELECT *, arrayJoin(range(${kLo}, ${kHi})) AS k FROM (${q.sql}))
  GROUP BY k, o_tenant, o_account, o_alloc_id, g
  HAVING ${q.having}
)
GROUP BY k, o_tenant, o_account, o_alloc_id
ORDER BY k, o_tenant, o_account, o_alloc_id`;
  const rows = await store.query<Row>(sql, {
    params: { ...p.values, wa: a.toString(), ww: w.toString(), ws: s.toString(), wk: kmax.toString() },
    settings: opts.settings,
    signal: opts.signal,
  });
  return rows.map((r) => {
    const start = a + BigInt(r.k) * s;
    const [bk, bc] = r.buckets;
    return {
      rule: rule.id,
      windowStartNs: start,
      windowEndNs: start + w,
      owner: {
        tenant: r.o_tenant,
        account: r.o_account,
        allocId: r.o_alloc_id,
        allocName: r.alloc_name,
        namespace: r.namespace,
        job: r.job,
        node: r.node,
      },
      firstSeenNs: BigInt(r.first_tn),
      lastSeenNs: BigInt(r.last_tn),
      events: Number(r.total_events),
      buckets: bk.map((b, i) => [BigInt(b) * s, Number(bc[i] ?? 0)] as [bigint, number]),
      peak: r.peak,
      peers: Number(r.max_peers),
      keys: [...new Set(r.keys)].filter((x) => x !== '').sort(),
      sourceAddresses: [...r.s_ips].sort(),
      destinationAddresses: [...r.d_ips].sort(),
      ports: r.d_ports.map(Number),
      samples: r.samples.map((x) => JSON.parse(x) as SampleFlow),
      flagged: Number(r.flag) > 0,
    };
  });
}

/**
 * Which table answers an aggregate (summary, timeseries, top, topology, Visualize): a minute
 * rollup (common/clickhouse/rollups.ts) when the question allows it, else `flows`. One function
 * decides (`planAggregate`), the way Akvorado picks a resolution: the rollup answers when
 *
 * - the step (if any) is a whole number of minutes (a bucket of minutes then holds exactly the
 *   flows whose time falls in it), and the range holds at least one whole minute; when since or
 *   until is not on a minute, the ragged edges are read from `flows` and added to the rollup's
 *   whole minutes in one statement (`plan.edges`);
 * - every column the statement reads (filters, group keys, metrics) is a column of the rollup:
 *   the statement is written once, over `flows` column names, and checked, so a filter on a pod,
 *   a label or an address, or a metric counting distinct addresses, sends it to `flows`.
 *
 * The narrowest rollup holding the columns is taken. After every minute rollup, the hourly ones
 * (`hourRollupTables`: a coarser resolution, as Akvorado keeps) are tried, for a step (if any) of
 * whole hours and a range either on whole hours or at least `hourRoundingMinNs` long: such a range
 * is rounded out to whole hours (`hourRange`), with no ragged edges read from `flows` (an edge
 * of an address-keyed table is a scan of the edge hours), and the plan carries the range it
 * answers (`plan.range`), which the answer echoes as its since/until (Akvorado likewise rounds the
 * range to the resolution of the table it reads). `source=flows` over that range gives the same
 * answer.
 *
 * Counting changes with the table
 * (`aggregateSql`): a rollup row carries a signed count of flows, so `count()` becomes
 * `sum(flows)` and groups whose count nets to zero (a late-owner correction's -n/+n rows before a
 * merge folds them) are left out, as `flows` would never show them.
 *
 * Late attribution: `flows` also matches ends stored as `none` by their owner at query time
 * (filters/late-owner.ts); a rollup matches stored owners only, and late owners reach it when the
 * correction job (common/ownership/correct.ts) has run over them (after `import-nomad-events` and
 * every 5 minutes in the collector). For an operator without owner filters the two never differ;
 * for a tenant principal or an owner filter they agree once the correction has run.
 * @module
 */

import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import {
  hourRollupTables,
  type RollupTable,
  rollupBucket,
  rollupDimensions,
  rollupTables,
} from '../../../common/clickhouse/rollups.ts';
import { InputError } from '../../../common/errors.ts';
import { flowColumns } from '../../../common/schema/flow-row.ts';
import type { Principal } from '../auth/principal.ts';
import { parseFlowFilters, SqlParams, timeRange } from '../filters/index.ts';
import { type DashboardQuery, dashboardWhere } from './dashboard-query.ts';

/** Which table answered: a rollup or the raw flows. */
export type AggregateSource = 'rollup' | 'flows';

/** The planner's decision. */
export interface AggregatePlan {
  source: AggregateSource;
  /** The table to read. */
  table: string;
  /**
   * For a rollup over a range not on whole minutes: the whole minutes it covers (ns); the rest
   * is read from `flows`, with `columns`, in the same statement.
   */
  edges?: { sinceNs: bigint; untilNs: bigint; innerSinceNs: bigint; innerUntilNs: bigint; columns: string[] };
  /** Why `flows` answered (absent for a rollup). */
  reason?: string;
  /**
   * The range answered, when not the one asked (an hourly rollup: rounded out to whole hours).
   * Every statement of the answer, and its since/until, use it.
   */
  range?: TimeSpan;
}

/** A time range, Unix ns, since inclusive, until exclusive. */
export interface TimeSpan {
  sinceNs: bigint;
  untilNs: bigint;
}

const minuteNs = 60_000_000_000n;
const hourNs = 60n * minuteNs;
/** Ranges at least this long (12 h) may be rounded out to whole hours for an hourly rollup. */
export const hourRoundingMinNs = 12n * hourNs;
const flowsColumnSet = new Set(flowColumns);
const rollupColumns = new Map<RollupTable, Set<string>>(
  [...rollupTables, ...hourRollupTables].map((t) => [
    t,
    new Set(['time', rollupBucket(t), ...rollupDimensions(t)]),
  ]),
);

/** `[since, until)` rounded out to whole hours. */
export function hourRange(sinceNs: bigint, untilNs: bigint): TimeSpan {
  const floor = (ns: bigint) => (ns >= 0n ? ns / hourNs : (ns - hourNs + 1n) / hourNs) * hourNs;
  const up = floor(untilNs);
  return { sinceNs: floor(sinceNs), untilNs: up === untilNs ? up : up + hourNs };
}

/**
 * The range an hourly table answers for `[since, until)`: itself when on whole hours, rounded
 * out to whole hours when at least `hourRoundingMinNs` long; else none.
 */
export function hourlyRange(sinceNs: bigint, untilNs: bigint): TimeSpan | undefined {
  const r = hourRange(sinceNs, untilNs);
  if (r.sinceNs === sinceNs && r.untilNs === untilNs) return r;
  return untilNs - sinceNs >= hourRoundingMinNs ? r : undefined;
}

/** The `flows` columns a piece of SQL reads (string literals and bound parameters aside). */
export function flowColumnsRead(sql: string): Set<string> {
  const bare = sql.replace(/'(?:[^'\\]|\\.)*'/g, "''").replace(/\{[a-z0-9_]+:[^}]*\}/gi, '0');
  const out = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) if (flowsColumnSet.has(m[0])) out.add(m[0]);
  return out;
}

/** What the planner needs of a question. */
export interface PlanInput {
  sinceNs: bigint;
  untilNs: bigint;
  /** Bucket width in seconds, when the answer is a series. */
  stepS?: number | undefined;
  /** The statement's WHERE, keys and metrics as written for a rollup (stored owners). */
  sql: readonly string[];
  /** A forced choice (the `source` parameter, tests). */
  force?: AggregateSource | undefined;
}

/** Decides which table answers; see the module comment. */
export function planAggregate(input: PlanInput): AggregatePlan {
  const flows = (reason: string): AggregatePlan => {
    if (input.force === 'rollup')
      throw new InputError(`source: no rollup can answer this: ${reason}`, 'source');
    return { source: 'flows', table: 'flows', reason };
  };
  if (input.force === 'flows') return { source: 'flows', table: 'flows', reason: 'source=flows' };
  const innerSinceNs = ((input.sinceNs + minuteNs - 1n) / minuteNs) * minuteNs;
  const innerUntilNs = (input.untilNs / minuteNs) * minuteNs;
  if (innerUntilNs <= innerSinceNs) return flows('less than a whole minute');
  if (input.stepS !== undefined && input.stepS % 60 !== 0) return flows('step not a whole number of minutes');
  const read = flowColumnsRead(input.sql.join(' '));
  let fewestMissing: string[] | undefined;
  for (const t of rollupTables) {
    const have = rollupColumns.get(t)!;
    const missing = [...read].filter((c) => !have.has(c));
    if (missing.length === 0) {
      const ragged = innerSinceNs !== input.sinceNs || innerUntilNs !== input.untilNs;
      const edges = { sinceNs: input.sinceNs, untilNs: input.untilNs, innerSinceNs, innerUntilNs };
      return {
        source: 'rollup',
        table: t.name,
        ...(ragged ? { edges: { ...edges, columns: [...read] } } : {}),
      };
    }
    if (!fewestMissing || missing.length < fewestMissing.length) fewestMissing = missing;
  }
  const hourly = hourlyRange(input.sinceNs, input.untilNs);
  for (const t of hourRollupTables) {
    const have = rollupColumns.get(t)!;
    const missing = [...read].filter((c) => !have.has(c));
    if (missing.length === 0 && hourly && (input.stepS === undefined || input.stepS % 3600 === 0)) {
      const moved = hourly.sinceNs !== input.sinceNs || hourly.untilNs !== input.untilNs;
      return { source: 'rollup', table: t.name, ...(moved ? { range: hourly } : {}) };
    }
    if (missing.length === 0)
      return flows(
        hourly
          ? 'step not a whole number of hours'
          : `${t.name} answers ranges on whole hours or at least ${hourRoundingMinNs / hourNs} h long`,
      );
  }
  return flows(`no rollup has ${(fewestMissing ?? []).sort().join(', ')}`);
}

/**
 * The default bucket width for `buckets` buckets over `rangeS` seconds: from a minute up, a whole
 * number of minutes, so a rollup can answer (Akvorado picks its resolution the same way).
 */
export function defaultStepS(rangeS: number, buckets: number): number {
  const s = Math.max(1, Math.ceil(rangeS / buckets));
  return s >= 60 ? Math.ceil(s / 60) * 60 : s;
}

/** Counting over the chosen table. */
export interface AggregateSql {
  plan: AggregatePlan;
  /** The FROM table. */
  from: string;
  /** Number of flows (matching `cond`). */
  count(cond?: string): string;
  /** The per-row weight for sumMap and the like. */
  weight: string;
  /** A HAVING clause leaving out groups whose count (`alias`) is zero; empty on `flows`. */
  nonZero(alias: string): string;
}

/** The counting expressions of a plan. */
export function aggregateSql(plan: AggregatePlan, p: SqlParams): AggregateSql {
  const rollup = plan.source === 'rollup';
  // Qualified: the answers alias their counts `flows` too, and an alias would shadow the column.
  const n = `${plan.table}.flows`;
  let from = plan.table;
  const e = plan.edges;
  if (rollup && e) {
    // The ragged edges from flows (one row, one flow) and the whole minutes from the rollup.
    const cols = ['time', ...e.columns.filter((c) => c !== 'time')].join(', ');
    const at = (ns: bigint) => `fromUnixTimestamp64Nano(${p.bind(ns, 'Int64')}, 'UTC')`;
    from =
      `(SELECT ${cols}, toInt64(1) AS flows FROM flows WHERE (time >= ${at(e.sinceNs)} AND time < ${at(e.innerSinceNs)}) ` +
      `OR (time >= ${at(e.innerUntilNs)} AND time < ${at(e.untilNs)}) ` +
      `UNION ALL SELECT ${cols}, flows FROM ${plan.table} WHERE minute >= ${at(e.innerSinceNs)} AND minute < ${at(e.innerUntilNs)}) AS ${plan.table}`;
  }
  return {
    plan,
    from,
    count: (cond) =>
      rollup ? (cond ? `sumIf(${n}, ${cond})` : `sum(${n})`) : cond ? `countIf(${cond})` : 'count()',
    weight: rollup ? n : 'toUInt64(1)',
    nonZero: (alias) => (rollup ? `HAVING ${alias} != 0` : ''),
  };
}

/** One statement of an aggregate, written once for both tables: `where` is built for the table. */
export type StatementBuilder = (p: SqlParams, a: AggregateSql, where: string) => string;

/**
 * Plans an aggregate made of `statements` (one answer, one table): drafts each for a rollup
 * (stored owners) and lets planAggregate decide.
 */
export function planDashboard(
  q: DashboardQuery<unknown>,
  principal: Principal,
  stepS: number | undefined,
  ...statements: StatementBuilder[]
): AggregatePlan {
  const p = new SqlParams();
  const draft = aggregateSql({ source: 'rollup', table: rollupTables[0]!.name }, p);
  const sql = statements.map((build) => build(p, draft, dashboardWhere(p, q, principal, false)));
  return planAggregate({ sinceNs: q.sinceNs, untilNs: q.untilNs, stepS, sql, force: q.source });
}

/**
 * planDashboard, then the late-owner check that keeps the two tables one truth. `flows` matches
 * ends stored as `none` by their owner at query time (a tenant principal's scope, owner filters
 * kept or left out); a rollup sees stored owners only. Where the two WHEREs are the same SQL, the
 * answers cannot differ and nothing is probed (an operator without owner filters). Otherwise one
 * LIMIT 1 probe over the range looks for a flow the two WHEREs disagree on, either way: an end not
 * yet corrected that `flows` counts and stored owners do not (`tenant=x`), or that stored owners
 * count and `flows` leaves out (`not-tenant=x`). If there is one, `flows` answers.
 */
export async function planAggregateQuery(
  store: Store,
  settings: QuerySettings,
  q: DashboardQuery<unknown>,
  principal: Principal,
  stepS: number | undefined,
  statements: StatementBuilder[],
  signal?: AbortSignal,
): Promise<AggregatePlan> {
  const plan = planDashboard(q, principal, stepS, ...statements);
  if (plan.source !== 'rollup' || q.source === 'rollup') return plan;
  const r = answered(plan, q);
  const where = (p: SqlParams, late: boolean) => dashboardWhere(p, r, principal, late);
  if (where(new SqlParams(), true) === where(new SqlParams(), false)) return plan;
  const p = new SqlParams();
  const pending = await store.query<{ one: number }>(
    `SELECT 1 AS one FROM flows WHERE ${timeRange(p, r.sinceNs, r.untilNs)}
       AND (${where(p, true)}) != (${where(p, false)}) LIMIT 1`,
    { params: p.values, settings, signal },
  );
  return pending.length
    ? {
        source: 'flows',
        table: 'flows',
        reason: 'late owners not yet corrected',
        ...(plan.range ? { range: plan.range } : {}),
      }
    : plan;
}

/** The question over the range a plan answers (`plan.range`, else the one asked). */
export function answered<Q extends TimeSpan>(plan: AggregatePlan, q: Q): Q {
  return plan.range ? { ...q, sinceNs: plan.range.sinceNs, untilNs: plan.range.untilNs } : q;
}

/** Whether a question has no filters (its WHERE is the range and the principal's scope only). */
export function unfiltered(q: DashboardQuery<unknown>, principal: Principal): boolean {
  const bare = { ...q, filters: parseFlowFilters({}) };
  return (
    dashboardWhere(new SqlParams(), q, principal, false) ===
    dashboardWhere(new SqlParams(), bare, principal, false)
  );
}

/** One planned statement with its parameters. */
export function buildStatement(
  plan: AggregatePlan,
  q: DashboardQuery<unknown>,
  principal: Principal,
  build: StatementBuilder,
): { sql: string; params: Record<string, unknown> } {
  const p = new SqlParams();
  const where = dashboardWhere(p, answered(plan, q), principal, plan.source === 'flows');
  const sql = build(p, aggregateSql(plan, p), where);
  return { sql, params: p.values };
}

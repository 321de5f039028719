/**
 * The common input of the aggregate endpoints (summary, timeseries, top, topology): the flow
 * filters and time range of /flows, plus each endpoint's own parameters, with unknown
 * parameters rejected and tenant scope added in SQL.
 * @module
 */

import { z } from 'zod';
import { InputError } from '../../../common/errors.ts';
import type { ParsedFilterSet } from '../../../common/filter/index.ts';
import { isFilterParam } from '../../../common/filter/index.ts';
import type { Principal } from '../auth/principal.ts';
import {
  assertOwnTenantFilter,
  type FlowQueryBounds,
  filtersToSql,
  isNarrowed,
  parseFlowFilters,
  parseParam,
  parseTimeRange,
  type RawParams,
  type SqlParams,
  tenantScope,
  timeRange,
} from '../filters/index.ts';
import type { AggregateSource } from './rollup.ts';

/** Filters, range and the endpoint's own parameters. */
export interface DashboardQuery<E> {
  filters: ParsedFilterSet;
  sinceNs: bigint;
  untilNs: bigint;
  extra: E;
  /** `source=flows` or `source=rollup` forces the table (queries/rollup.ts); default: the planner decides. */
  source?: AggregateSource | undefined;
}

/** The `source` parameter of every aggregate endpoint. */
export const sourceParam = z
  .enum(['flows', 'rollup'])
  .describe(
    "Table to read: `rollup` (a minute or hourly rollup; 400 when none can answer) or `flows`. Default: a rollup when the range is on whole minutes, the step a whole number of minutes and every filter and dimension is in one. Hourly rollups (top sources by flows or drops, tenant summaries without filters) answer ranges on whole hours, or ranges of 12 h or more rounded out to whole hours: the answer's since/until give the range it covers. The answer names its table in `source`.",
  );

/** Parses filters + since/until + `extra` parameters (each validated by its schema when present). */
export function parseDashboardQuery<S extends Record<string, z.ZodType>>(
  params: RawParams,
  extra: S,
  bounds: FlowQueryBounds,
): DashboardQuery<{ [K in keyof S]?: z.output<S[K]> }> {
  const known = new Set<string>(['since', 'until', 'source', ...Object.keys(extra)]);
  for (const k of Object.keys(params)) {
    if (!known.has(k) && !isFilterParam(k))
      throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
  }
  const filters = parseFlowFilters(params);
  const range = parseTimeRange(params, bounds, isNarrowed(filters));
  const out: Record<string, unknown> = {};
  for (const [k, schema] of Object.entries(extra)) {
    const v = params[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) throw new InputError(`${k}: given ${v.length} times, expected once`, k);
    out[k] = parseParam(k, schema, v);
  }
  const source = params['source'];
  if (Array.isArray(source))
    throw new InputError(`source: given ${source.length} times, expected once`, 'source');
  return {
    filters,
    ...range,
    extra: out as { [K in keyof S]?: z.output<S[K]> },
    source: source === undefined ? undefined : parseParam('source', sourceParam, source),
  };
}

/**
 * The WHERE clause of an aggregate: range, filters and tenant scope. `late: false` (a rollup)
 * matches owners as stored; `flows` also re-attributes ends stored as `none` at query time.
 */
export function dashboardWhere(
  p: SqlParams,
  q: DashboardQuery<unknown>,
  principal: Principal,
  late = true,
): string {
  assertOwnTenantFilter(q.filters, principal);
  const range = { sinceNs: q.sinceNs, untilNs: q.untilNs };
  return [
    timeRange(p, q.sinceNs, q.untilNs),
    ...filtersToSql(p, q.filters, principal, late ? range : undefined),
    tenantScope(p, principal, range, late),
  ].join(' AND ');
}

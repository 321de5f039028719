/**
 * Aggregate endpoints for the dashboards: `GET /api/v1/tenants/:tenant/summary`,
 * `/timeseries`, `/top` and `/topology`. All take the /flows filters and time range, and say
 * which table answered (`source`: a minute rollup or `flows`, queries/rollup.ts).
 * @module
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { z } from 'zod';
import type { QuerySettings, Store } from '../../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../../common/config/api.ts';
import { AccessError } from '../../../../common/errors.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { parseParam, type RawParams } from '../../filters/index.ts';
import { nameValue } from '../../filters/parse.ts';
import { type DashboardQuery, parseDashboardQuery } from '../../queries/dashboard-query.ts';
import {
  summaryParams,
  tenantSummary,
  timeseries,
  timeseriesParams,
  top,
  topology,
  topologyParams,
  topParams,
} from '../../queries/dashboards.ts';
import { flowQueryBounds, type QueryGate } from '../../queries/limits.ts';
import { type RouteContext, route } from '../context.ts';

/** What an aggregate route needs. */
export interface DashboardRouteDeps {
  store: Store;
  settings: QuerySettings;
  limits: ApiLimits;
  gate: QueryGate;
}

/** How an aggregate route answers: from the parsed query, the request context and the request. */
export type DashboardAnswer<S extends Record<string, z.ZodType>, B> = (
  q: DashboardQuery<{ [K in keyof S]?: z.output<S[K]> }>,
  ctx: RouteContext,
  req: Request,
) => Promise<B>;

/**
 * The maker of aggregate routes over `deps`: each parses the filters, range and `params`, runs
 * `answer` through the query gate, sends its JSON and audits `rowsOf(body)` rows under `name`.
 */
export function dashboardRoute(deps: DashboardRouteDeps, auditLog: AuditLog) {
  const bounds = flowQueryBounds(deps.limits, false);
  return <S extends Record<string, z.ZodType>, B>(
    name: string,
    params: S,
    answer: DashboardAnswer<S, B>,
    rowsOf: (body: B) => number,
  ): RequestHandler =>
    route({ action: 'dashboards', audit: name, auditLog }, async (req, res, ctx) => {
      const q = parseDashboardQuery(req.query as RawParams, params, bounds);
      const body = await deps.gate.run(() => answer(q, ctx, req));
      res.json(body);
      return { rows: rowsOf(body) };
    });
}

/** The dashboard routes. */
export function dashboardRoutes(deps: DashboardRouteDeps, auditLog: AuditLog): Router {
  const router = express.Router();
  const r = dashboardRoute(deps, auditLog);
  router.get(
    '/tenants/:tenant/summary',
    r(
      'summary',
      summaryParams,
      (q, ctx, req) => {
        const tenant = parseParam('tenant', nameValue, req.params['tenant']);
        if (ctx.principal.role === 'tenant' && ctx.principal.tenant !== tenant) {
          throw new AccessError(403, 'a tenant token may only read its own tenant');
        }
        return tenantSummary(deps, tenant, q, ctx.principal, ctx.signal);
      },
      (b) => b.flows,
    ),
  );
  router.get(
    '/timeseries',
    r(
      'timeseries',
      timeseriesParams,
      (q, ctx) => timeseries(deps, q, ctx.principal, ctx.signal),
      (b) => b.points.length,
    ),
  );
  router.get(
    '/top',
    r(
      'top',
      topParams,
      (q, ctx) => top(deps, q, ctx.principal, ctx.signal),
      (b) => b.items.length,
    ),
  );
  router.get(
    '/topology',
    r(
      'topology',
      topologyParams,
      (q, ctx) => topology(deps, q, ctx.principal, ctx.signal),
      (b) => b.edges.length,
    ),
  );
  return router;
}

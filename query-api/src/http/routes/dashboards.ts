/**
 * Aggregate endpoints for the dashboards: `GET /api/v1/tenants/:tenant/summary`,
 * `/timeseries`, `/top` and `/topology`. All take the /flows filters and time range.
 * @module
 */
import express, { type Router } from 'express';
import type { QuerySettings, Store } from '../../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../../common/config/api.ts';
import { AccessError } from '../../../../common/errors.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { parseParam, type RawParams } from '../../filters/index.ts';
import { nameValue } from '../../filters/parse.ts';
import { parseDashboardQuery } from '../../queries/dashboard-query.ts';
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
import { route } from '../context.ts';

/** The dashboard routes. */
export function dashboardRoutes(
  deps: { store: Store; settings: QuerySettings; limits: ApiLimits; gate: QueryGate },
  auditLog: AuditLog,
): Router {
  const router = express.Router();
  const bounds = flowQueryBounds(deps.limits, false);
  router.get(
    '/tenants/:tenant/summary',
    route({ action: 'dashboards', audit: 'summary', auditLog }, async (req, res, ctx) => {
      const tenant = parseParam('tenant', nameValue, req.params['tenant']);
      if (ctx.principal.role === 'tenant' && ctx.principal.tenant !== tenant) {
        throw new AccessError(403, 'a tenant token may only read its own tenant');
      }
      const q = parseDashboardQuery(req.query as RawParams, summaryParams, bounds);
      const body = await deps.gate.run(() => tenantSummary(deps, tenant, q, ctx.principal, ctx.signal));
      res.json(body);
      return { rows: body.flows };
    }),
  );
  router.get(
    '/timeseries',
    route({ action: 'dashboards', audit: 'timeseries', auditLog }, async (req, res, ctx) => {
      const q = parseDashboardQuery(req.query as RawParams, timeseriesParams, bounds);
      const body = await deps.gate.run(() => timeseries(deps, q, ctx.principal, ctx.signal));
      res.json(body);
      return { rows: body.points.length };
    }),
  );
  router.get(
    '/top',
    route({ action: 'dashboards', audit: 'top', auditLog }, async (req, res, ctx) => {
      const q = parseDashboardQuery(req.query as RawParams, topParams, bounds);
      const body = await deps.gate.run(() => top(deps, q, ctx.principal, ctx.signal));
      res.json(body);
      return { rows: body.items.length };
    }),
  );
  router.get(
    '/topology',
    route({ action: 'dashboards', audit: 'topology', auditLog }, async (req, res, ctx) => {
      const q = parseDashboardQuery(req.query as RawParams, topologyParams, bounds);
      const body = await deps.gate.run(() => topology(deps, q, ctx.principal, ctx.signal));
      res.json(body);
      return { rows: body.edges.length };
    }),
  );
  return router;
}

/**
 * `GET /api/v1/visualize`: flow events grouped by up to three dimensions, top N and per step,
 * with the /flows filters and time range (the console's Visualize page).
 * @module
 */
import express, { type Router } from 'express';
import type { QuerySettings, Store } from '../../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../../common/config/api.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { RawParams } from '../../filters/index.ts';
import { parseDashboardQuery } from '../../queries/dashboard-query.ts';
import { flowQueryBounds, type QueryGate } from '../../queries/limits.ts';
import { visualize, visualizeParams } from '../../queries/visualize.ts';
import { route } from '../context.ts';

/** The visualize route. */
export function visualizeRoutes(
  deps: { store: Store; settings: QuerySettings; limits: ApiLimits; gate: QueryGate },
  auditLog: AuditLog,
): Router {
  const router = express.Router();
  const bounds = flowQueryBounds(deps.limits, false);
  router.get(
    '/visualize',
    route({ action: 'dashboards', audit: 'visualize', auditLog }, async (req, res, ctx) => {
      const q = parseDashboardQuery(req.query as RawParams, visualizeParams, bounds);
      const body = await deps.gate.run(() => visualize(deps, q, ctx.principal, ctx.signal));
      res.json(body);
      return { rows: body.top.length };
    }),
  );
  return router;
}

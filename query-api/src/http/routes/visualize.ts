/**
 * `GET /api/v1/visualize`: flow events grouped by up to three dimensions, top N and per step,
 * with the /flows filters and time range (the console's Visualize page).
 * @module
 */
import express, { type Router } from 'express';
import type { AuditLog } from '../../audit/audit-log.ts';
import { visualize, visualizeParams } from '../../queries/visualize.ts';
import { type DashboardRouteDeps, dashboardRoute } from './dashboards.ts';

/** The visualize route. */
export function visualizeRoutes(deps: DashboardRouteDeps, auditLog: AuditLog): Router {
  const router = express.Router();
  router.get(
    '/visualize',
    dashboardRoute(deps, auditLog)(
      'visualize',
      visualizeParams,
      (q, ctx) => visualize(deps, q, ctx.principal, ctx.signal),
      (b) => b.top.length,
    ),
  );
  return router;
}

/**
 * The HTTP API: `createApiRouter(deps, shared)` builds every route (health, metrics, OpenAPI and
 * the authenticated /api/v1 endpoints) on one express Router; the query service (service.ts)
 * mounts it next to the UI and the gRPC server, with the authenticator, audit log and admission
 * they share. Handlers stay thin: validate, call a service in queries/, format.
 * @module
 */
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Metrics } from '../../common/metrics.ts';
import type { QueryCore } from './core.ts';
import type { ApiDeps } from './deps.ts';
import {
  admissionMiddleware,
  auditMiddleware,
  authenticateMiddleware,
  opsGuard,
  principalOf,
  route,
} from './http/context.ts';
import { errorMiddleware, HttpError } from './http/errors.ts';
import { securityHeaders } from './http/headers.ts';
import { jsonBody, rejectMalformedPath } from './http/input.ts';
import { metricsMiddleware } from './http/metrics.ts';
import { handleAttribution } from './http/routes/attribution.ts';
import { handleAudit } from './http/routes/audit.ts';
import { dashboardRoutes } from './http/routes/dashboards.ts';
import { handleFlows } from './http/routes/flows.ts';
import { healthRoutes } from './http/routes/health.ts';
import { investigationRoutes } from './http/routes/investigations.ts';
import { visualizeRoutes } from './http/routes/visualize.ts';
import { openApiDocument } from './openapi/document.ts';

/** What the router is built from besides ApiDeps: the service's shared core and its metrics. */
export interface ApiShared {
  core: QueryCore;
  /** The query API's component metrics (flowtrail_api_…). */
  metrics: Metrics;
  /** The service registry /metrics serves. */
  registry: Registry;
}

/** Builds the API router (mount it at the root: it serves /healthz, /readyz, /metrics, /api/v1/…). */
export function createApiRouter(deps: ApiDeps, shared: ApiShared): Router {
  const { core, metrics } = shared;
  const { auditLog, admission } = core;
  const gate = admission.gate;
  const q = { store: deps.store, settings: core.settings, limits: deps.api.limits, gate };

  const router = express.Router();
  // First, so the UI served after the API router gets the headers too.
  router.use(securityHeaders);
  router.use(metricsMiddleware(metrics));
  router.use(
    healthRoutes({ ...deps, registry: shared.registry }, opsGuard(core.authenticator, deps.api.ops)),
  );
  const doc = openApiDocument();
  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(doc);
  });

  const v1 = express.Router();
  // Audit first: failed authentication and refused input leave a row too.
  v1.use(auditMiddleware(auditLog));
  v1.use(rejectMalformedPath);
  v1.use(authenticateMiddleware(core.authenticator));
  v1.use(admissionMiddleware(admission));
  v1.use(jsonBody('64kb'));
  v1.get('/whoami', (_req, res) => {
    res.json(principalOf(res));
  });
  v1.get(
    '/flows',
    route({ action: 'flows', audit: 'flows', auditLog }, (req, res, ctx) =>
      gate.run(() => handleFlows(q, req, res, ctx)),
    ),
  );
  v1.get(
    '/attribution',
    route({ action: 'attribution', audit: 'attribution', auditLog }, (req, res, ctx) =>
      gate.run(() => handleAttribution(deps.attribution, req, res, ctx)),
    ),
  );
  v1.get(
    '/audit',
    route({ action: 'audit', audit: 'audit', auditLog }, (req, res, ctx) =>
      gate.run(() => handleAudit(q, req, res, ctx)),
    ),
  );
  v1.use(investigationRoutes({ ...q, evidence: deps.api.evidence }, auditLog));
  v1.use(dashboardRoutes(q, auditLog));
  v1.use(visualizeRoutes(q, auditLog));
  if (deps.alerts) v1.use('/alerts', deps.alerts);
  v1.use((_req, _res, next) => next(new HttpError(404, 'no such endpoint')));
  router.use('/api/v1', v1);
  router.use(errorMiddleware(deps.logger));
  return router;
}

/** Logs how requests are authenticated; open mode gets a banner nobody can miss. */
export function announceAuthMode(deps: Pick<ApiDeps, 'auth' | 'tokens' | 'logger'>): void {
  if (deps.auth.mode === 'open') {
    deps.logger.warn(
      '!!! AUTHENTICATION IS OFF (auth.mode: open) — every caller is an admin and sees every tenant. ' +
        'For the local demo only; configure tokens in FLOWTRAIL_CONFIG for anything else !!!',
    );
  } else if (deps.tokens.length === 0) {
    deps.logger.warn(
      'no api tokens configured: every /api/v1 request will get 401; add tokens to FLOWTRAIL_CONFIG',
    );
  } else {
    deps.logger.info('api authentication by bearer token', { tokens: deps.tokens.length });
  }
}

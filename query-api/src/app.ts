/**
 * The HTTP API: `createApiRouter(deps)` builds every route (health, metrics, OpenAPI and the
 * authenticated /api/v1 endpoints) on one express Router, so `flowtrail start` can mount it
 * next to the UI with `mountApi(app, deps)`, and `createApi(deps)` wraps it in an app of its own
 * for `flowtrail api`. Handlers stay thin: validate, call a service in queries/, format.
 * @module
 */
import express, { type Express, type Router } from 'express';
import { createMetrics } from '../../common/metrics.ts';
import { type AuditLog, createAuditLog } from './audit/audit-log.ts';
import { createAuthenticator } from './auth/tokens.ts';
import type { ApiDeps } from './deps.ts';
import { authenticateMiddleware, principalOf, route } from './http/context.ts';
import { errorMiddleware, HttpError } from './http/errors.ts';
import { metricsMiddleware } from './http/metrics.ts';
import { handleAttribution } from './http/routes/attribution.ts';
import { handleAudit } from './http/routes/audit.ts';
import { dashboardRoutes } from './http/routes/dashboards.ts';
import { handleFlows } from './http/routes/flows.ts';
import { healthRoutes } from './http/routes/health.ts';
import { investigationRoutes } from './http/routes/investigations.ts';
import { visualizeRoutes } from './http/routes/visualize.ts';
import { openApiDocument } from './openapi/document.ts';
import { createQueryGate, querySettings } from './queries/limits.ts';

/** What mounting the API gives back. */
export interface ApiHandle {
  router: Router;
  auditLog: AuditLog;
}

/** Builds the API router (mount it at the root: it serves /healthz, /readyz, /metrics, /api/v1/…). */
export function createApiRouter(deps: ApiDeps): ApiHandle {
  const metrics = createMetrics('api');
  const auditLog = createAuditLog({ store: deps.store, logger: deps.logger.child('audit'), metrics });
  const authenticator = createAuthenticator(deps.auth, deps.tokens);
  const gate = createQueryGate(deps.api.limits.maxConcurrentQueries);
  const settings = querySettings(deps.api.limits);
  const q = { store: deps.store, settings, limits: deps.api.limits, gate };

  const router = express.Router();
  router.use(metricsMiddleware(metrics));
  router.use(healthRoutes(deps));
  const doc = openApiDocument();
  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(doc);
  });

  const v1 = express.Router();
  v1.use(authenticateMiddleware(authenticator));
  v1.use(express.json({ limit: '64kb' }));
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
  v1.use(investigationRoutes(q, auditLog));
  v1.use(dashboardRoutes(q, auditLog));
  v1.use(visualizeRoutes(q, auditLog));
  if (deps.alerts) v1.use('/alerts', deps.alerts);
  v1.use((_req, _res, next) => next(new HttpError(404, 'no such endpoint')));
  router.use('/api/v1', v1);
  router.use(errorMiddleware(deps.logger));
  return { router, auditLog };
}

/** Mounts the API on an existing app (what `flowtrail start` calls), after logging the auth mode. */
export function mountApi(app: Express, deps: ApiDeps): ApiHandle {
  announceAuthMode(deps);
  const handle = createApiRouter(deps);
  app.use(handle.router);
  return handle;
}

/** A standalone express app serving only the API (what `flowtrail api` runs). */
export function createApi(deps: ApiDeps): ApiHandle & { app: Express } {
  const app = express();
  app.disable('x-powered-by');
  const handle = mountApi(app, deps);
  return { app, ...handle };
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

/**
 * The query service graph, built in one place: one authenticator, one audit log, one admission
 * (per-principal limits + the shared query gate) and one error table for the HTTP API and the
 * Hubble gRPC API, the alert engine, `/api/v1/status` (lost events included) and the built UI.
 * `flowtrail start` (bin/embedded.ts), `flowtrail api` (main.ts) and the compose query-api
 * service all run exactly this; they differ only in what they pass in (the embedded product adds
 * its collector's status and readiness).
 *
 * `createQueryService` does no I/O; `start()` starts the alert engine and binds both ports,
 * `stop()` undoes it in reverse.
 * @module
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Store } from '../../common/clickhouse/index.ts';
import type { FlowtrailConfig } from '../../common/config/schema.ts';
import type { Logger } from '../../common/logger.ts';
import type { MetricsRegistry } from '../../common/metrics.ts';
import { type Alerts, createAlerts } from './alerts/index.ts';
import { announceAuthMode, createApiRouter } from './app.ts';
import { createQueryCore, type QueryCore } from './core.ts';
import type { ApiDeps, AttributionLookup } from './deps.ts';
import { createGrpcServer, type GrpcApi } from './grpc/server.ts';
import type { GrpcTlsConfig } from './grpc/tls.ts';
import { opsGuard } from './http/context.ts';
import { errorMiddleware, HttpError } from './http/errors.ts';
import { securityHeaders } from './http/headers.ts';
import { createLostEventsMonitor, type LostEventsMonitor } from './queries/lost-events.ts';

/** Where the service listens. */
export interface ListenConfig {
  /** HTTP host (FLOWTRAIL_HTTP_HOST). */
  host: string;
  /** HTTP port (FLOWTRAIL_HTTP_PORT); 0 picks a free one. */
  port: number;
  /** gRPC host (FLOWTRAIL_GRPC_HOST, default the HTTP host). */
  grpcHost: string;
  /** gRPC port (FLOWTRAIL_GRPC_PORT); 0 picks a free one. */
  grpcPort: number;
  /** Plaintext unless FLOWTRAIL_GRPC_TLS_CERT/KEY are set (grpc/tls.ts). */
  grpcTls: GrpcTlsConfig;
}

/** What the service is built from. */
export interface QueryServiceDeps {
  store: Store;
  logger: Logger;
  /** The validated configuration slices the service reads. */
  config: Pick<FlowtrailConfig, 'api' | 'auth' | 'tokens' | 'alerts'>;
  /** The process's registry: /metrics serves it; the service takes the `api` and `alerts` prefixes. */
  metrics: MetricsRegistry;
  /** Attribution lookups for GET /api/v1/attribution. */
  attribution?: AttributionLookup;
  /** More of /api/v1/status (the embedded collector and ownership tracker). */
  status?: () => Record<string, unknown>;
  /** Readiness beyond "ClickHouse answers" (the embedded collector caught up). */
  ready?: () => boolean;
  /** Serve the built UI at `/` (default true). */
  ui?: boolean;
  /** Run the alert engine on its schedule (default `config.alerts.enabled`). */
  runAlerts?: boolean;
  /** Where webhook `secretEnv` secrets are read from (the environment main was given). */
  secrets?: Readonly<Record<string, string | undefined>>;
}

/** A built (not yet listening) query service. */
export interface QueryService {
  /** The HTTP app: API, status, metrics and (optionally) the UI. */
  app: Express;
  grpc: GrpcApi;
  alerts: Alerts;
  core: QueryCore;
  lostEvents: LostEventsMonitor;
  /** Starts the alert engine, then binds HTTP and gRPC. */
  start(listen: ListenConfig): Promise<RunningQueryService>;
  /** Stops gRPC, HTTP and the alert engine (in that order); safe to call twice. */
  stop(): Promise<void>;
}

/** Where a started service listens. */
export interface RunningQueryService {
  /** Base URL of the API and UI. */
  url: string;
  httpPort: number;
  grpcPort: number;
  http: Server;
}

/** Builds the service graph. */
export function createQueryService(deps: QueryServiceDeps): QueryService {
  const { store, logger, config } = deps;
  const apiMetrics = deps.metrics.component('api');
  const alerts = createAlerts(config.alerts, {
    store,
    logger: logger.child('alerts'),
    metrics: deps.metrics.component('alerts'),
    env: deps.secrets ?? {},
  });
  const apiDeps: ApiDeps = {
    store,
    logger: logger.child('api'),
    api: config.api,
    auth: config.auth,
    tokens: config.tokens,
    ...(deps.attribution ? { attribution: deps.attribution } : {}),
    ...(deps.ready ? { ready: deps.ready } : {}),
    alerts: alerts.router,
  };
  const core = createQueryCore(apiDeps, apiMetrics);
  const lostEvents = createLostEventsMonitor({
    store,
    logger: logger.child('lost-events'),
    metrics: apiMetrics,
  });
  const grpc = createGrpcServer(apiDeps, core, apiMetrics);

  const app = express();
  app.disable('x-powered-by');
  // Status is for operators: it names Hubble targets, rules and webhooks, so it is behind the
  // api.ops guard (admin/sre by default), with the security headers of every answer.
  app.get(
    '/api/v1/status',
    securityHeaders,
    opsGuard(core.authenticator, config.api.ops),
    async (_req, res, next) => {
      try {
        const body = {
          ...deps.status?.(),
          lostEvents: await lostEvents.summary(),
          queries: { inFlight: core.admission.gate.inFlight },
        };
        res.type('json').send(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      } catch (err) {
        next(err);
      }
    },
  );
  app.use(createApiRouter(apiDeps, { core, metrics: apiMetrics, registry: deps.metrics.registry }));
  const serveUi = deps.ui !== false;

  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of stops.reverse()) {
      await s().catch((err) => logger.warn('stop failed', { error: String(err) }));
    }
    await core.auditLog.flush();
  };

  return {
    app,
    grpc,
    alerts,
    core,
    lostEvents,
    async start(listen) {
      announceAuthMode(apiDeps);
      if (serveUi) await mountUi(app);
      // Last, after the UI: whatever nothing above answered, and any error that escaped a router
      // (the status route's refusals, a static file's), gets our headers and JSON error body
      // instead of Express's default HTML page (which names the stack outside production).
      app.use(securityHeaders, (_req, _res, next) => next(new HttpError(404, 'not found')));
      app.use(errorMiddleware(logger));
      if (deps.runAlerts ?? config.alerts.enabled) {
        alerts.start();
        stops.push(() => alerts.stop());
      }
      lostEvents.start();
      stops.push(async () => lostEvents.stop());
      try {
        const http = await new Promise<Server>((resolve, reject) => {
          const s = app.listen(listen.port, listen.host, (err?: Error) => (err ? reject(err) : resolve(s)));
        });
        stops.push(
          () =>
            new Promise<void>((resolve) => {
              http.close(() => resolve());
              http.closeAllConnections();
            }),
        );
        const g = await grpc.listen(listen.grpcHost, listen.grpcPort, listen.grpcTls);
        stops.push(() => g.close());
        const httpPort = (http.address() as AddressInfo).port;
        const shownHost = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
        return { url: `http://${shownHost}:${httpPort}`, httpPort, grpcPort: g.port, http };
      } catch (err) {
        await stop();
        throw err;
      }
    },
    stop,
  };
}

/** Serves the built UI (building it first when missing or stale) with client-side routes. */
async function mountUi(app: Express): Promise<void> {
  const { ensureUiBuilt, uiStaticDir } = await import('../../ui/serve.ts');
  await ensureUiBuilt();
  const dir = uiStaticDir();
  app.use(express.static(dir, { index: 'index.html', maxAge: '1h' }));
  app.use((req, res, next) => {
    // Client-side routes of the UI all load index.html.
    if (req.method === 'GET' && !req.path.startsWith('/api/')) res.sendFile('index.html', { root: dir });
    else next();
  });
}

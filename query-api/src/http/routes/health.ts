/**
 * Liveness, readiness and Prometheus metrics. `/healthz` says the process serves HTTP;
 * `/readyz` says ClickHouse answers and the flows table exists (checked at most every two
 * seconds, one check at a time, with a short timeout, so probes cannot pile queries onto a
 * struggling server).
 * Both are open, so `/readyz` gives a generic reason; the engine's own text (addresses, versions,
 * paths) goes to the log, once each time it changes.
 * @module
 */
import { Router as createRouter, type RequestHandler, type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Store } from '../../../../common/clickhouse/index.ts';
import { errorMessage } from '../../../../common/errors.ts';
import type { Logger } from '../../../../common/logger.ts';

/** Mounts /healthz, /readyz (open) and /metrics (the service's registry, behind `metricsGuard`: context.ts opsGuard). */
export function healthRoutes(
  deps: { store: Store; ready?: () => boolean; registry: Registry; logger: Logger },
  metricsGuard: RequestHandler = (_req, _res, next) => next(),
): Router {
  const { registry } = deps;
  const router = createRouter();
  let last: { at: number; ok: boolean; reason: string } = { at: 0, ok: false, reason: 'not checked' };
  let lastDetail = '';
  const probe = async () => {
    try {
      const rows = await deps.store.query<{ n: string }>(
        'SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
        { params: { t: 'flows' }, settings: { max_execution_time: 2 }, signal: AbortSignal.timeout(3000) },
      );
      const ok = Number(rows[0]?.n ?? 0) > 0;
      last = { at: Date.now(), ok, reason: ok ? 'ok' : 'flows table missing: run flowtrail migrate' };
      lastDetail = '';
    } catch (err) {
      last = { at: Date.now(), ok: false, reason: 'clickhouse unavailable' };
      const detail = errorMessage(err);
      if (detail !== lastDetail) deps.logger.warn('readiness check failed', { error: detail });
      lastDetail = detail;
    }
    return last;
  };
  // Single flight: probes arriving while a check runs share it (a slow server sees one query).
  let checking: Promise<typeof last> | undefined;
  const check = () => {
    if (Date.now() - last.at < 2000) return last;
    checking ??= probe().finally(() => {
      checking = undefined;
    });
    return checking;
  };
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const r = await check();
    const extra = deps.ready && !deps.ready() ? 'starting' : undefined;
    const ok = r.ok && !extra;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', reason: extra ?? r.reason });
  });
  router.get('/metrics', metricsGuard, async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}

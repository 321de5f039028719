/**
 * HTTP metrics: requests by route, method and status, and latency histograms. Routes are the
 * express route patterns (`/api/v1/investigations/:id`), never raw paths, so label sets stay
 * small whatever clients send.
 * @module
 */
import type { RequestHandler } from 'express';
import type { Metrics } from '../../../common/metrics.ts';

/** Counts and times every request. */
export function metricsMiddleware(metrics: Metrics): RequestHandler {
  const requests = metrics.counter('http_requests_total', 'HTTP requests by route, method and status.', [
    'route',
    'method',
    'status',
  ]);
  const latency = metrics.histogram('http_request_duration_seconds', 'HTTP request latency by route.', [
    'route',
    'method',
  ]);
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const pattern = (req.route as { path?: string } | undefined)?.path;
      const route = pattern ? `${req.baseUrl}${pattern}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      requests.inc({ route, method: req.method, status: String(res.statusCode) });
      latency.observe({ route, method: req.method }, seconds);
    });
    next();
  };
}

/**
 * The one error path of the HTTP API: routes throw (InputError, AccessError, LimitError,
 * HttpError, ClickHouseError…), and this middleware maps each to a status and a JSON body
 * `{"error":{"status","message","param"?}}`. Anything unknown is a logged 500 whose text never
 * reaches the client.
 * @module
 */
import type { ErrorRequestHandler } from 'express';
import { ClickHouseError } from '../../../common/clickhouse/index.ts';
import { AccessError, FlowtrailError, InputError, LimitError } from '../../../common/errors.ts';
import { createSampledLogger, type Logger } from '../../../common/logger.ts';
import { RetryLaterError } from '../queries/limits.ts';

/** An error that already knows its HTTP status (404s and the like). */
export class HttpError extends FlowtrailError {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message, { retriable: status >= 500 });
    this.status = status;
  }
}

/** Limits whose hit means "ask for less" (413) rather than "busy or too slow, retry narrower" (503). */
const sizeLimits = new Set(['max_result_rows', 'max_rows_to_read', 'max_bytes_to_read']);

/** ClickHouse codes caused by a bad user value that slipped past validation (e.g. an RE2-only regex error). */
const inputCodes = new Set([427 /* CANNOT_COMPILE_REGEXP */]);

/** The status and public body of an error. */
export function describeError(err: unknown): {
  status: number;
  message: string;
  param?: string;
  outcome: string;
  /** Seconds the client should wait before retrying (the Retry-After header). */
  retryAfter?: number;
} {
  if (err instanceof InputError) {
    return {
      status: 400,
      message: err.message,
      ...(err.param ? { param: err.param } : {}),
      outcome: 'invalid',
    };
  }
  if (err instanceof AccessError) return { status: err.status, message: err.message, outcome: 'denied' };
  if (err instanceof RetryLaterError) {
    // The caller's own share is used up (429); the deadline is the service being slow (503).
    const status = err.limit === 'deadline' ? 503 : 429;
    return { status, message: err.message, outcome: 'limit', retryAfter: err.retryAfterSeconds };
  }
  if (err instanceof LimitError) {
    return { status: sizeLimits.has(err.limit) ? 413 : 503, message: err.message, outcome: 'limit' };
  }
  if (err instanceof HttpError)
    return { status: err.status, message: err.message, outcome: err.status < 500 ? 'invalid' : 'error' };
  if (err instanceof ClickHouseError && err.code !== undefined && inputCodes.has(err.code)) {
    return { status: 400, message: 'invalid regular expression in a filter', outcome: 'invalid' };
  }
  // The router failing to decode a path parameter (rejectMalformedPath normally answers first).
  if (err instanceof URIError) {
    return { status: 400, message: 'path: malformed percent-encoding', param: 'path', outcome: 'invalid' };
  }
  const e = err as { type?: string; status?: number; expose?: boolean; message?: string };
  // body-parser errors (malformed JSON, too large) carry their own 4xx status.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return { status: e.status, message: e.message ?? 'bad request', outcome: 'invalid' };
  }
  return { status: 500, message: 'internal error', outcome: 'error' };
}

/** The engine's detail behind an error (ClickHouse's own text), for the log only. */
function causeOf(err: unknown): { detail?: string } {
  const c = (err as { cause?: unknown })?.cause;
  return c instanceof Error ? { detail: c.message } : {};
}

/** The error middleware; mount it last. The body names our request id, never engine text. */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  // A flood answered with 429s would otherwise write one log line per refused request.
  const sampled = createSampledLogger(logger);
  return (err, req, res, _next) => {
    const d = describeError(err);
    const requestId = res.locals['requestId'] as string | undefined;
    if (d.status >= 500 && d.outcome === 'error') {
      logger.error('request failed', {
        method: req.method,
        path: req.path,
        request_id: requestId,
        err,
        ...causeOf(err),
      });
    } else if (d.outcome === 'limit') {
      sampled('warn', `limit:${(err as { limit?: string }).limit ?? ''}`, 'request hit a limit', {
        method: req.method,
        path: req.path,
        request_id: requestId,
        err,
        ...causeOf(err),
      });
    }
    res.locals['outcome'] = d.outcome;
    res.locals['error'] = d.message;
    if (res.headersSent) {
      // A streamed answer already started: end it; the truncation shows as a missing trailer.
      res.destroy();
      return;
    }
    if (d.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="flowtrail"');
    if (d.retryAfter !== undefined) res.setHeader('Retry-After', String(d.retryAfter));
    else if (d.status === 503) res.setHeader('Retry-After', '5');
    res.status(d.status).json({
      error: {
        status: d.status,
        message: d.message,
        ...(d.param ? { param: d.param } : {}),
        ...(requestId ? { request_id: requestId } : {}),
      },
    });
  };
}

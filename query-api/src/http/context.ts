/**
 * Per-request plumbing shared by the routes: authentication (principal in res.locals), admission
 * (the principal's concurrency and rate share, the filter-complexity bound, the deadline), role
 * checks, the audit entry written when the request ends (whatever the outcome), and an
 * AbortSignal that fires when the client goes away or the deadline passes, so ClickHouse stops
 * working for nobody.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditLog } from '../audit/audit-log.ts';
import { type Action, authorize, type Principal } from '../auth/principal.ts';
import type { Authenticator } from '../auth/tokens.ts';
import { countQueryValues, type QueryAdmission } from '../queries/limits.ts';
import { describeError } from './errors.ts';

/** What a route handler gets besides req/res. */
export interface RouteContext {
  principal: Principal;
  signal: AbortSignal;
  /** Parameters to record in the audit log (defaults to the query string). */
  setAuditParameters(p: unknown): void;
}

/** What a handler reports back: the rows it returned (for the audit log). */
export type RouteResult = { rows: number } | undefined;

/** The principal of the request (set by authenticateMiddleware). */
export function principalOf(res: Response): Principal {
  return res.locals['principal'] as Principal;
}

/** Authenticates every request under it; 401 without a valid token. */
export function authenticateMiddleware(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    try {
      res.locals['principal'] = auth.authenticate(req.headers.authorization);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Admits every request under it for its principal (mount after authenticateMiddleware): over the
 * principal's share is 429 with Retry-After, too many filter values 400. The slot is held until
 * the response ends; the deadline signal lands in res.locals for route() to honour.
 */
export function admissionMiddleware(admission: QueryAdmission): RequestHandler {
  return (req, res, next) => {
    try {
      admission.checkComplexity(countQueryValues(req.query as Record<string, unknown>));
      const admitted = admission.admit(principalOf(res));
      res.locals['deadline'] = admitted.deadline;
      res.once('close', admitted.release);
      res.once('finish', admitted.release);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Wraps a route: checks the role for `action`, runs the handler with a context, and, when
 * `audit` names an audit action, records the request however it ends.
 */
export function route(
  opts: { action: Action; audit?: string; auditLog: AuditLog },
  handler: (req: Request, res: Response, ctx: RouteContext) => Promise<RouteResult>,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const started = Date.now();
    const principal = principalOf(res);
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.on('close', onClose);
    const deadline = res.locals['deadline'] as AbortSignal | undefined;
    const signal = deadline ? AbortSignal.any([abort.signal, deadline]) : abort.signal;
    let parameters: unknown = { ...req.query, ...(req.params ?? {}) };
    let rows = 0;
    let failure: unknown;
    try {
      authorize(principal, opts.action);
      const r = await handler(req, res, {
        principal,
        signal,
        setAuditParameters: (p) => {
          parameters = p;
        },
      });
      rows = r?.rows ?? 0;
    } catch (err) {
      // Past the deadline the engine's abort error says nothing useful: report the deadline.
      failure = deadline?.aborted && !abort.signal.aborted ? deadline.reason : err;
    } finally {
      res.off('close', onClose);
      if (opts.audit) {
        const d = failure === undefined ? undefined : describeError(failure);
        opts.auditLog.record({
          requestId: (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) ?? randomUUID(),
          principal,
          action: opts.audit,
          transport: 'http',
          method: req.method,
          path: req.path,
          parameters,
          rows,
          outcome: abort.signal.aborted ? 'cancelled' : (d?.outcome ?? 'ok'),
          status: d?.status ?? res.statusCode,
          ...(d ? { error: d.message } : {}),
          startedAtMs: started,
          remoteAddr: req.socket.remoteAddress ?? '',
        });
      }
    }
    if (failure !== undefined) next(failure);
  };
}

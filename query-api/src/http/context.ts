/**
 * Per-request plumbing shared by the routes: authentication (principal in res.locals), role
 * checks, the audit entry written when the request ends (whatever the outcome), and an
 * AbortSignal that fires when the client goes away so ClickHouse stops working for nobody.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditLog } from '../audit/audit-log.ts';
import { type Action, authorize, type Principal } from '../auth/principal.ts';
import type { Authenticator } from '../auth/tokens.ts';
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
    let parameters: unknown = { ...req.query, ...(req.params ?? {}) };
    let rows = 0;
    let failure: unknown;
    try {
      authorize(principal, opts.action);
      const r = await handler(req, res, {
        principal,
        signal: abort.signal,
        setAuditParameters: (p) => {
          parameters = p;
        },
      });
      rows = r?.rows ?? 0;
    } catch (err) {
      failure = err;
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

/**
 * Per-request plumbing shared by the routes: authentication (principal in res.locals), admission
 * (the principal's concurrency and rate share, the filter-complexity bound, the deadline), role
 * checks, the audit entry written when any request ends (whatever the outcome), and an
 * AbortSignal that fires when the client goes away or the deadline passes, so ClickHouse stops
 * working for nobody.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AccessError } from '../../../common/errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { type Action, authorize, type Principal } from '../auth/principal.ts';
import type { Authenticator } from '../auth/tokens.ts';
import { countQueryValues, type QueryAdmission } from '../queries/limits.ts';

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

/** What a route tells the audit middleware about its request (res.locals.audit). */
export interface AuditNote {
  action: string;
  parameters?: unknown;
  rows?: number;
}

/** Names the audit action (and optionally parameters and rows) of the current request. */
export function noteAudit(res: Response, note: AuditNote): void {
  const prev = res.locals['audit'] as AuditNote | undefined;
  res.locals['audit'] = { ...prev, ...note };
}

/** The server's id of the request (set by auditMiddleware). */
export function requestIdOf(res: Response): string | undefined {
  return res.locals['requestId'] as string | undefined;
}

function outcomeOf(status: number): string {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'denied';
  if (status === 413 || status === 429 || status === 503) return 'limit';
  return status < 500 ? 'invalid' : 'error';
}

/**
 * Audits every request under it, whatever happens to it: failed authentication, unknown
 * endpoints, refused input, errors and cancellations included. Mount it before authentication.
 * The request id is ours (a UUID, echoed as `X-Request-Id`); a client's `X-Request-Id` is kept in
 * its own field. Routes name their action and parameters with noteAudit (route() does).
 */
export function auditMiddleware(auditLog: AuditLog): RequestHandler {
  return (req, res, next) => {
    const started = Date.now();
    const requestId = randomUUID();
    res.locals['requestId'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    const sent = req.headers['x-request-id'];
    const clientRequestId = (Array.isArray(sent) ? sent[0] : sent)?.slice(0, 128);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const note = res.locals['audit'] as AuditNote | undefined;
      const cancelled = !res.writableFinished;
      const failed = res.locals['outcome'] as string | undefined;
      auditLog.record({
        requestId,
        ...(clientRequestId ? { clientRequestId } : {}),
        principal: res.locals['principal'] as Principal | undefined,
        action: note?.action ?? (res.statusCode === 401 ? 'authenticate' : 'http'),
        transport: 'http',
        method: req.method,
        path: req.originalUrl.split('?')[0] ?? req.path,
        parameters: note?.parameters ?? { ...req.query },
        rows: note?.rows ?? 0,
        outcome: failed ?? (cancelled ? 'cancelled' : outcomeOf(res.statusCode)),
        status: res.statusCode,
        ...(res.locals['error'] ? { error: String(res.locals['error']) } : {}),
        startedAtMs: started,
        remoteAddr: req.socket.remoteAddress ?? '',
      });
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };
}

/**
 * Guards an operational endpoint (/metrics, /api/v1/status): open when configured so, else a
 * token whose role is one of `ops.roles` (401 without one, 403 for another role).
 */
export function opsGuard(
  auth: Authenticator,
  ops: { open: boolean; roles: readonly string[] },
): RequestHandler {
  return (req, res, next) => {
    if (ops.open) return next();
    try {
      const principal = auth.authenticate(req.headers.authorization);
      res.locals['principal'] = principal;
      if (!ops.roles.includes(principal.role)) {
        throw new AccessError(403, `role ${principal.role} may not read operational endpoints`);
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Wraps a route: checks the role for `action`, runs the handler with a context, and names the
 * request's audit action (`audit`, else the guarded action), parameters and row count for
 * auditMiddleware, however it ends.
 */
export function route(
  // auditLog is accepted for callers written before auditMiddleware; the middleware writes the row.
  opts: { action: Action; audit?: string; auditLog?: AuditLog },
  handler: (req: Request, res: Response, ctx: RouteContext) => Promise<RouteResult>,
): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
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
      noteAudit(res, { action: opts.audit ?? opts.action, parameters, rows });
    }
    if (failure !== undefined) next(failure);
  };
}

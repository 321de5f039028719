/**
 * The alerts HTTP API, an express Router the API mounts under `/api/v1/alerts` (after its
 * authentication middleware, which puts the Principal in `res.locals.principal`):
 *
 * - `GET /rules`: every rule with its thresholds, enabled or not.
 * - `GET /incidents?status=&rule=&tenant=&account=&alloc=&since=&until=&limit=&offset=&group=`: newest
 *   first, a page of `limit` from `offset`, with the `total` that match and, with `group=rule|tenant|
 *   account`, every group's counts.
 * - `GET /incidents/:id`
 * - `POST /incidents/:id/ack`, `POST /incidents/:id/resolve` with an optional `{"note": "…"}`.
 * - `GET /deliveries?incident=&rule=&limit=`: the webhook delivery log.
 *
 * Tenant principals see only their tenant's incidents and may not change them or read the
 * delivery log; errors are thrown to the API's error middleware.
 * @module
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Store } from '../../../common/clickhouse/index.ts';
import { AccessError, InputError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { parseTimeArg } from '../../../common/time.ts';
import type { Principal } from '../auth/principal.ts';
import { redactIncidentView, redactRuleView } from '../auth/redact.ts';
import { noteAudit } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { jsonBody } from '../http/input.ts';
import type { AlertEngine } from './engine.ts';
import { type IncidentFilter, type IncidentGroupColumn, incidentGroupColumns } from './incident-store.ts';
import { evidenceUrl, type Incident, incidentJson, incidentStatuses, keysText } from './incidents.ts';
import { listDeliveries } from './webhooks/deliveries.ts';

/** What the router needs. */
export interface AlertsRouterDeps {
  engine: Pick<AlertEngine, 'rules' | 'incidents'>;
  store: Store;
  logger: Logger;
}

type Query = Record<string, unknown>;

const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((x) =>
    typeof x === 'string' ? x.split(',') : [],
  );

function only(q: Query, allowed: readonly string[]): void {
  for (const k of Object.keys(q))
    if (!allowed.includes(k)) throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
}

/** `offset=` of a page of incidents: 0 to a million (deeper pages should narrow the filter). */
function offsetOf(q: Query): number {
  const v = q['offset'];
  if (v === undefined) return 0;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d{1,7}$/.test(v) || n > 1_000_000)
    throw new InputError('offset: expected 0 to 1000000', 'offset');
  return n;
}

function limitOf(q: Query, def: number, max: number): number {
  const v = q['limit'];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 1 || n > max)
    throw new InputError(`limit: expected 1 to ${max}`, 'limit');
  return n;
}

function principal(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (!p) throw new AccessError(401, 'not authenticated');
  return p;
}

const privileged = (p: Principal) => p.role !== 'tenant';
const idSchema = z.string().regex(/^[0-9a-f-]{36}$/, 'expected an incident id');
const bodySchema = z.strictObject({ note: z.string().max(2000).optional() }).optional();

/** Wraps an async handler so rejections reach the error middleware. */
const h =
  (fn: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).catch(next);
  };

/** Builds the router; mount it at `/api/v1/alerts`. */
export function createAlertsRouter(deps: AlertsRouterDeps): Router {
  const router = express.Router();
  router.use(jsonBody('16kb'));
  const { incidents } = deps.engine;
  const rules = new Map(deps.engine.rules.map((r) => [r.id, r]));
  /** The JSON of an incident as `p` may see it (auth/redact.ts). */
  const view = (i: Incident, p: Principal) => {
    const rule = rules.get(i.rule);
    return redactIncidentView(incidentJson(i), p, {
      keysNameTenants: rule?.keysNameTenants === true,
      keysText,
      ...(rule?.kind === 'custom'
        ? { evidenceWithoutFilter: evidenceUrl({ ...rule, evidence: () => ({}) }, i) }
        : {}),
    });
  };

  router.get(
    '/rules',
    h(async (req, res) => {
      noteAudit(res, { action: 'alerts.rules' });
      const p = principal(res);
      only(req.query, []);
      res.json({
        rules: deps.engine.rules.map((r) =>
          redactRuleView(
            {
              id: r.id,
              kind: r.kind,
              enabled: r.enabled,
              severity: r.severity,
              description: r.description,
              window_seconds: Number(r.windowNs / 1_000_000_000n),
              thresholds: r.thresholds,
            },
            p,
          ),
        ),
      });
    }),
  );

  router.get(
    '/incidents',
    h(async (req, res) => {
      noteAudit(res, { action: 'alerts.incidents' });
      const p = principal(res);
      const q = req.query as Query;
      only(q, ['status', 'rule', 'tenant', 'account', 'alloc', 'since', 'until', 'limit', 'offset', 'group']);
      const status = list(q['status']);
      for (const s of status)
        if (!(incidentStatuses as readonly string[]).includes(s))
          throw new InputError(`status: expected ${incidentStatuses.join(', ')}`, 'status');
      const time = (name: string) => {
        const v = q[name];
        if (v === undefined) return undefined;
        if (typeof v !== 'string') throw new InputError(`${name}: given more than once`, name);
        try {
          return parseTimeArg(v);
        } catch (err) {
          throw new InputError(`${name}: ${(err as Error).message}`, name);
        }
      };
      const filter: IncidentFilter = {
        status: status as IncidentFilter['status'],
        rule: list(q['rule']),
        tenant: list(q['tenant']),
        account: list(q['account']),
        allocId: list(q['alloc']),
        sinceNs: time('since'),
        untilNs: time('until'),
        limit: limitOf(q, 100, 10_000),
        offset: offsetOf(q),
      };
      const group = q['group'];
      if (
        group !== undefined &&
        (typeof group !== 'string' || !(incidentGroupColumns as readonly string[]).includes(group))
      )
        throw new InputError(`group: expected ${incidentGroupColumns.join(', ')}`, 'group');
      if (!privileged(p)) filter.tenant = [p.tenant ?? '\0'];
      const [rows, total, groups] = await Promise.all([
        incidents.list(filter),
        incidents.count(filter),
        group === undefined ? undefined : incidents.groups(filter, group as IncidentGroupColumn),
      ]);
      noteAudit(res, { action: 'alerts.incidents', rows: rows.length });
      res.json({
        incidents: rows.map((i) => view(i, p)),
        total,
        offset: filter.offset,
        limit: filter.limit,
        ...(groups ? { groups } : {}),
      });
    }),
  );

  router.get(
    '/incidents/:id',
    h(async (req, res) => {
      noteAudit(res, { action: 'alerts.incident.get', parameters: { id: req.params['id'] } });
      const p = principal(res);
      only(req.query, []);
      const id = idSchema.safeParse(req.params['id']);
      if (!id.success) throw new InputError('id: expected an incident id', 'id');
      const i = await incidents.get(id.data);
      if (!i || (!privileged(p) && i.tenant !== p.tenant)) throw new HttpError(404, 'no such incident');
      noteAudit(res, { action: 'alerts.incident.get', rows: 1 });
      res.json(view(i, p));
    }),
  );

  const transition = (status: 'acknowledged' | 'resolved') =>
    h(async (req, res) => {
      noteAudit(res, {
        action: status === 'acknowledged' ? 'alerts.incident.ack' : 'alerts.incident.resolve',
        parameters: { id: req.params['id'], body: req.body },
      });
      const p = principal(res);
      if (!privileged(p)) throw new AccessError(403, `role ${p.role} may not change incidents`);
      const id = idSchema.safeParse(req.params['id']);
      if (!id.success) throw new InputError('id: expected an incident id', 'id');
      const body = bodySchema.safeParse(req.body && Object.keys(req.body).length ? req.body : undefined);
      if (!body.success) throw new InputError(`body: ${body.error.issues[0]?.message ?? 'invalid'}`, 'note');
      const r = await incidents.setStatus(id.data, status, p.name, body.data?.note ?? '');
      if (r === undefined) throw new HttpError(404, 'no such incident');
      if (r === 'conflict') throw new HttpError(409, `incident ${id.data} is resolved`);
      deps.logger.info(`incident ${status}`, { incident: id.data, rule: r.rule, by: p.name });
      res.json(incidentJson(r));
    });
  router.post('/incidents/:id/ack', transition('acknowledged'));
  router.post('/incidents/:id/resolve', transition('resolved'));

  router.get(
    '/deliveries',
    h(async (req, res) => {
      noteAudit(res, { action: 'alerts.deliveries' });
      const p = principal(res);
      if (!privileged(p)) throw new AccessError(403, `role ${p.role} may not read the delivery log`);
      const q = req.query as Query;
      only(q, ['incident', 'rule', 'limit']);
      const one = (k: string) => {
        const v = q[k];
        if (v !== undefined && typeof v !== 'string') throw new InputError(`${k}: given more than once`, k);
        return v as string | undefined;
      };
      const rows = await listDeliveries(deps.store, {
        incidentId: one('incident'),
        rule: one('rule'),
        limit: limitOf(q, 100, 10_000),
      });
      noteAudit(res, { action: 'alerts.deliveries', rows: rows.length });
      res.json({ deliveries: rows });
    }),
  );
  return router;
}

/**
 * Investigation endpoints: `POST /api/v1/investigations` runs and saves a case,
 * `GET /api/v1/investigations/:id` reads it back, `…/export?format=json|csv` downloads it.
 * `GET /api/v1/activity?alloc=|account=|tenant=` aggregates one owner's peers over a window (the
 * pivot "what else did it talk to"). Each is audited.
 * @module
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import type { QuerySettings, Store } from '../../../../common/clickhouse/index.ts';
import type { ApiConfig, ApiLimits } from '../../../../common/config/api.ts';
import { AccessError, InputError } from '../../../../common/errors.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { parseParam, parseTimeRange, type RawParams } from '../../filters/index.ts';
import { activityParams, ownerActivity } from '../../queries/activity.ts';
import {
  addCaseNote,
  caseListParams,
  caseNoteSchema,
  caseNotes,
  caseState,
  caseUpdateSchema,
  listCases,
  updateCase,
} from '../../queries/cases.ts';
import { caseEvidence } from '../../queries/evidence.ts';
import {
  getInvestigation,
  investigationCsvHeader,
  investigationCsvRecords,
  investigationRequestSchema,
  runInvestigation,
} from '../../queries/investigations.ts';
import { flowQueryBounds, type QueryGate } from '../../queries/limits.ts';
import { caseReports, openReportCase } from '../../reports/open-case.ts';
import { maxReportBytes } from '../../reports/parse.ts';
import { route } from '../context.ts';
import { HttpError } from '../errors.ts';
import { contentTypes, csvLine } from '../output.ts';

const idSchema = z.uuid('expected an investigation id');
/** Query parameters of the export. */
export const exportParams = { format: z.enum(['json', 'csv']).describe('json (default) or csv.') } as const;

/** The investigation routes. */
export function investigationRoutes(
  deps: {
    store: Store;
    settings: QuerySettings;
    limits: ApiLimits;
    gate: QueryGate;
    evidence?: ApiConfig['evidence'] | undefined;
  },
  auditLog: AuditLog,
): Router {
  const router = express.Router();
  const maxRangeNs = flowQueryBounds(deps.limits, false).maxRangeNs;
  router.post(
    '/investigations',
    route({ action: 'investigations', audit: 'investigation.create', auditLog }, async (req, res, ctx) => {
      const body: unknown = req.body ?? {};
      ctx.setAuditParameters(body);
      const r = investigationRequestSchema.safeParse(body);
      if (!r.success) {
        const issue = r.error.issues[0];
        const param = issue?.path.length
          ? String(issue.path[0])
          : ((issue as { keys?: string[] })?.keys?.[0] ?? 'body');
        throw new InputError(`${param}: ${issue?.message ?? 'invalid body'}`, param);
      }
      const inv = await deps.gate.run(() =>
        runInvestigation({ ...deps, maxRangeNs }, r.data, ctx.principal, ctx.signal),
      );
      res.status(201).json(inv);
      return { rows: inv.accounts.length };
    }),
  );
  router.post(
    '/reports',
    // X-ARF YAML and ARF email arrive as text; X-ARF JSON was already parsed by the JSON parser.
    express.text({ type: (req) => !/json/i.test(req.headers['content-type'] ?? ''), limit: maxReportBytes }),
    route({ action: 'investigations', audit: 'report.import', auditLog }, async (req, res, ctx) => {
      const body: unknown = req.body;
      const raw =
        typeof body === 'string'
          ? body
          : body !== null && typeof body === 'object' && Object.keys(body).length > 0
            ? JSON.stringify(body, null, 2)
            : '';
      // The report itself is kept with the case; the audit log records its size only.
      ctx.setAuditParameters({
        bytes: Buffer.byteLength(raw),
        contentType: req.headers['content-type'] ?? '',
      });
      const opened = await deps.gate.run(() =>
        openReportCase({ ...deps, maxRangeNs }, raw, ctx.principal, ctx.signal),
      );
      res.status(201).json(opened);
      return { rows: opened.accounts.length };
    }),
  );
  const load = async (
    id: unknown,
    principal: Parameters<typeof getInvestigation>[2],
    signal: AbortSignal,
  ) => {
    const valid = parseParam('id', idSchema, id);
    const inv = await deps.gate.run(() => getInvestigation(deps, valid, principal, signal));
    if (!inv) throw new HttpError(404, 'no such investigation');
    return inv;
  };
  const body = <T extends z.ZodType>(schema: T, value: unknown): z.output<T> => {
    const r = schema.safeParse(value ?? {});
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const param = issue?.path.length
      ? String(issue.path[0])
      : ((issue as { keys?: string[] })?.keys?.[0] ?? 'body');
    throw new InputError(`${param}: ${issue?.message ?? 'invalid body'}`, param);
  };
  router.get(
    '/cases',
    route({ action: 'investigations', audit: 'case.list', auditLog }, async (req, res, ctx) => {
      const q = req.query as Record<string, unknown>;
      for (const k of Object.keys(q))
        if (!(k in caseListParams))
          throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
      const mine = q['mine'] === undefined ? undefined : parseParam('mine', caseListParams.mine, q['mine']);
      const status =
        q['status'] === undefined ? undefined : parseParam('status', caseListParams.status, q['status']);
      const tenant =
        q['tenant'] === undefined ? undefined : parseParam('tenant', caseListParams.tenant, q['tenant']);
      const cases = await deps.gate.run(() =>
        listCases(deps, { mine: mine === 'true', status, tenant }, ctx.principal),
      );
      res.json({ cases });
      return { rows: cases.length };
    }),
  );
  router.patch(
    '/investigations/:id',
    route({ action: 'investigations', audit: 'case.update', auditLog }, async (req, res, ctx) => {
      ctx.setAuditParameters({ id: req.params['id'], ...(req.body ?? {}) });
      const update = body(caseUpdateSchema, req.body);
      const inv = await load(req.params['id'], ctx.principal, ctx.signal);
      const state = await deps.gate.run(() => updateCase(deps, inv.id, update, ctx.principal));
      res.json({ id: inv.id, ...state });
      return { rows: 1 };
    }),
  );
  router.post(
    '/investigations/:id/notes',
    route({ action: 'investigations', audit: 'case.note', auditLog }, async (req, res, ctx) => {
      ctx.setAuditParameters({ id: req.params['id'], ...(req.body ?? {}) });
      const note = body(caseNoteSchema, req.body);
      const inv = await load(req.params['id'], ctx.principal, ctx.signal);
      await deps.gate.run(() => addCaseNote(deps, inv.id, note.text, ctx.principal));
      res.status(201).json({ id: inv.id, notes: await caseNotes(deps, inv.id) });
      return { rows: 1 };
    }),
  );
  router.get(
    '/investigations/:id',
    route({ action: 'investigations', audit: 'investigation.get', auditLog }, async (req, res, ctx) => {
      const found = await load(req.params['id'], ctx.principal, ctx.signal);
      const [state, notes, reports] = await Promise.all([
        caseState(deps, found.id),
        caseNotes(deps, found.id),
        caseReports(deps, found.id),
      ]);
      const inv = { ...found, case: { ...state, notes, ...(reports.length ? { reports } : {}) } };
      res.json(inv);
      return { rows: inv.accounts.length };
    }),
  );
  router.get(
    '/investigations/:id/export',
    route({ action: 'investigations', audit: 'investigation.export', auditLog }, async (req, res, ctx) => {
      for (const k of Object.keys(req.query))
        if (k !== 'format') throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
      const format =
        req.query['format'] === undefined
          ? 'json'
          : parseParam('format', exportParams.format, req.query['format']);
      const inv = await load(req.params['id'], ctx.principal, ctx.signal);
      res.setHeader('Content-Disposition', `attachment; filename="investigation-${inv.id}.${format}"`);
      if (format === 'csv') {
        res.setHeader('Content-Type', contentTypes.csv);
        res.send(
          csvLine(investigationCsvHeader) +
            investigationCsvRecords(inv)
              .map((r) => csvLine(r))
              .join(''),
        );
      } else {
        res.setHeader('Content-Type', contentTypes.json);
        res.send(JSON.stringify(inv, null, 2));
      }
      return { rows: inv.accounts.length };
    }),
  );
  router.get(
    '/investigations/:id/evidence',
    route({ action: 'investigations', audit: 'investigation.evidence', auditLog }, async (req, res, ctx) => {
      for (const k of Object.keys(req.query))
        throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
      const key = deps.evidence;
      if (!key?.hmacKey && !key?.ed25519PrivateKeyPem)
        throw new HttpError(
          503,
          'evidence bundles need a signing key: set api.evidence.hmacKey or api.evidence.ed25519PrivateKeyPem in the config',
        );
      const inv = await load(req.params['id'], ctx.principal, ctx.signal);
      const out = await deps.gate.run(() =>
        caseEvidence({ ...deps, maxRows: deps.limits.maxStreamRows, key }, inv, ctx.principal, ctx.signal),
      );
      res.setHeader('Content-Type', 'application/x-tar');
      res.setHeader('Content-Disposition', `attachment; filename="evidence-${inv.id}.tar"`);
      res.send(out.bundle);
      return { rows: out.flows };
    }),
  );
  router.get(
    '/activity',
    route({ action: 'investigations', audit: 'activity', auditLog }, async (req, res, ctx) => {
      const q = req.query as RawParams;
      const allowed = new Set(['alloc', 'account', 'tenant', 'limit', 'since', 'until']);
      for (const k of Object.keys(q))
        if (!allowed.has(k)) throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
      const kinds = (['alloc', 'account', 'tenant'] as const).filter((k) => q[k] !== undefined);
      if (kinds.length !== 1)
        throw new InputError('alloc: give exactly one of alloc, account or tenant', kinds[1] ?? 'alloc');
      const kind = kinds[0]!;
      const value = parseParam(kind, activityParams[kind], q[kind]);
      if (kind === 'tenant' && ctx.principal.role === 'tenant' && ctx.principal.tenant !== value)
        throw new AccessError(403, 'a tenant token may only read its own tenant');
      const limit = q['limit'] === undefined ? 500 : parseParam('limit', activityParams.limit, q['limit']);
      const n = Number(limit);
      if (n < 1 || n > 5000) throw new InputError('limit: expected 1-5000', 'limit');
      const range = parseTimeRange(q, flowQueryBounds(deps.limits, false), true);
      const body = await deps.gate.run(() =>
        ownerActivity(deps, { kind, value }, range, n, ctx.principal, ctx.signal),
      );
      res.json(body);
      return { rows: body.peers.length };
    }),
  );
  return router;
}

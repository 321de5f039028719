/**
 * `GET /api/v1/audit` (admins only): the newest audit rows, filtered by token, action, outcome
 * and time range.
 * @module
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { QuerySettings, Store } from '../../../../common/clickhouse/index.ts';
import { InputError } from '../../../../common/errors.ts';
import { parseParam, SqlParams } from '../../filters/index.ts';
import { parseTimeRange } from '../../filters/parse.ts';
import type { RouteContext, RouteResult } from '../context.ts';

/** Query parameters of /audit. */
export const auditParams = {
  token: z.string().max(64).describe('Token name.'),
  action: z.string().max(64).describe('Action (flows, attribution, investigation.create, …).'),
  outcome: z.enum(['ok', 'invalid', 'denied', 'limit', 'error', 'cancelled']).describe('Outcome.'),
  since: z.string().describe('Start (default: 7 days ago).'),
  until: z.string().describe('End (default: now).'),
  limit: z
    .string()
    .regex(/^\d{1,5}$/)
    .describe('Rows (default 100, max 10000).'),
} as const;

/** Handles one audit query. */
export async function handleAudit(
  deps: { store: Store; settings: QuerySettings },
  req: Request,
  res: Response,
  ctx: RouteContext,
): Promise<RouteResult> {
  const q = req.query as Record<string, string | string[] | undefined>;
  for (const k of Object.keys(q))
    if (!(k in auditParams)) throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
  const day = 86_400_000_000_000n;
  const { sinceNs, untilNs } = parseTimeRange(
    q,
    { defaultLimit: 100, maxLimit: 10_000, maxRangeNs: 3660n * day, maxUnboundedRangeNs: 7n * day },
    true,
  );
  const p = new SqlParams();
  const where = [
    `time >= fromUnixTimestamp64Nano(${p.bind(sinceNs, 'Int64')}, 'UTC')`,
    `time < fromUnixTimestamp64Nano(${p.bind(untilNs, 'Int64')}, 'UTC')`,
  ];
  for (const [name, col] of [
    ['token', 'token_name'],
    ['action', 'action'],
    ['outcome', 'outcome'],
  ] as const) {
    if (q[name] !== undefined)
      where.push(`${col} = ${p.bind(parseParam(name, auditParams[name], q[name]), 'String')}`);
  }
  const limit = q['limit'] === undefined ? 100 : Number(parseParam('limit', auditParams.limit, q['limit']));
  if (limit < 1 || limit > 10_000) throw new InputError('limit: expected 1 to 10000', 'limit');
  const rows = await deps.store.query(
    `SELECT formatDateTime(time, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS at, request_id, token_name, role, tenant, action,
       transport, method, path, parameters, rows, outcome, status, error, duration_ms, remote_addr
     FROM audit_log WHERE ${where.join(' AND ')} ORDER BY time DESC LIMIT ${p.bind(limit, 'UInt32')}`,
    { params: p.values, settings: deps.settings, signal: ctx.signal },
  );
  // `at` avoids an alias named like the column (ClickHouse would compare the text in WHERE).
  const entries = rows.map(({ at, ...r }) => ({ time: at, ...r }));
  res.json({ entries, count: entries.length });
  return { rows: rows.length };
}

/**
 * `GET /api/v1/attribution?ip=&at=`: who owned an address at an instant, delegated to the
 * attribution service (the same answer as `flowtrail who --json`).
 * @module
 */
import type { Request } from 'express';
import { z } from 'zod';
import { InputError } from '../../../../common/errors.ts';
import { parseIpPrefix } from '../../../../common/filter/ip.ts';
import { parseTimeArg } from '../../../../common/time.ts';
import type { AttributionLookup } from '../../deps.ts';
import { parseParam } from '../../filters/index.ts';
import type { RouteContext, RouteResult } from '../context.ts';
import { HttpError } from '../errors.ts';

/** Query parameters of /attribution (also in the OpenAPI document). */
export const attributionParams = {
  ip: z.string().describe('The address (IPv4 or IPv6).'),
  at: z
    .string()
    .describe(
      'The instant: RFC 3339 with up to nanoseconds, epoch nanoseconds, or relative (-15m). Default now.',
    ),
} as const;

/** Handles one attribution request. */
export async function handleAttribution(
  lookup: AttributionLookup | undefined,
  req: Request,
  res: import('express').Response,
  ctx: RouteContext,
): Promise<RouteResult> {
  const q = req.query as Record<string, unknown>;
  for (const k of Object.keys(q))
    if (!(k in attributionParams))
      throw new InputError(`${k.slice(0, 64)}: unknown parameter`, k.slice(0, 64));
  const ip = parseParam('ip', attributionParams.ip, q['ip']);
  const range = parseIpPrefix(ip.trim());
  if (!range || range.lo !== range.hi)
    throw new InputError(`ip: expected one IPv4 or IPv6 address, got "${ip.slice(0, 80)}"`, 'ip');
  const atText = q['at'] === undefined ? 'now' : parseParam('at', attributionParams.at, q['at']);
  let at: bigint;
  try {
    at = parseTimeArg(atText);
  } catch (err) {
    throw new InputError(`at: ${(err as Error).message}`, 'at');
  }
  if (!lookup) throw new HttpError(503, 'attribution service not available in this process');
  const answer = await lookup(ip, at, ctx.signal);
  res.json(answer);
  return { rows: answer.owner ? 1 : 0 };
}

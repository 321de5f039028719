/**
 * `GET /api/v1/flows`: stored flows matching Hubble-vocabulary filters plus attribution
 * filters, as a JSON page (with an opaque next_cursor), streamed NDJSON (one
 * `flowtrail flows --json` line per flow) or CSV.
 * @module
 */
import type { Request, Response } from 'express';
import type { ApiLimits } from '../../../../common/config/api.ts';
import { formatTimeNs } from '../../../../common/time.ts';
import { type FlowQuery, parseFlowQuery, type RawParams } from '../../filters/index.ts';
import { attributeCsvRows, flowCsvAliases, flowCsvColumns, flowCsvHeader } from '../../queries/flow-csv.ts';
import { type FlowRow, rowsToLines, rowsToObjects } from '../../queries/flow-rows.ts';
import { type FlowsDeps, queryFlowPage, streamFlows } from '../../queries/flows.ts';
import { flowQueryBounds } from '../../queries/limits.ts';
import type { RouteContext, RouteResult } from '../context.ts';
import { contentTypes, csvLine, negotiateFormat, writeChunk } from '../output.ts';

/** Handles one flows request. */
export async function handleFlows(
  deps: FlowsDeps & { limits: ApiLimits },
  req: Request,
  res: Response,
  ctx: RouteContext,
): Promise<RouteResult> {
  const params = req.query as RawParams;
  const format = negotiateFormat(req, typeof params['format'] === 'string' ? params['format'] : undefined);
  const query = parseFlowQuery(params, flowQueryBounds(deps.limits, format !== 'json'));
  ctx.setAuditParameters({
    ...params,
    since: formatTimeNs(query.sinceNs),
    until: formatTimeNs(query.untilNs),
  });
  if (format === 'json') {
    const page = await queryFlowPage(deps, query, ctx.principal, ctx.signal);
    const flows = await rowsToObjects(deps.store, page.rows, ctx.principal);
    res.setHeader('Content-Type', contentTypes.json);
    res.send(
      JSON.stringify({
        flows,
        count: page.rows.length,
        next_cursor: page.nextCursor ?? null,
        since: formatTimeNs(query.sinceNs),
        until: formatTimeNs(query.untilNs),
      }),
    );
    return { rows: page.rows.length };
  }
  return format === 'ndjson' ? streamNdjson(deps, query, res, ctx) : streamCsv(deps, query, res, ctx);
}

async function streamNdjson(deps: FlowsDeps, query: FlowQuery, res: Response, ctx: RouteContext) {
  let rows = 0;
  for await (const batch of streamFlows<FlowRow>(deps, query, ctx.principal, ctx.signal)) {
    if (!res.headersSent) res.status(200).setHeader('Content-Type', contentTypes.ndjson);
    // One ownership query per batch attributes the whole batch (query-time re-attribution).
    const lines = await rowsToLines(deps.store, batch, ctx.principal);
    const text = lines.map((l) => `${l}\n`).join('');
    rows += batch.length;
    await writeChunk(res, text, ctx.signal);
    if (ctx.signal.aborted) break;
  }
  if (!res.headersSent) res.status(200).setHeader('Content-Type', contentTypes.ndjson);
  res.end();
  return { rows };
}

async function streamCsv(deps: FlowsDeps, query: FlowQuery, res: Response, ctx: RouteContext) {
  let rows = 0;
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    res.status(200).setHeader('Content-Type', contentTypes.csv);
    res.write(csvLine(flowCsvHeader));
  };
  for await (const batch of streamFlows<Record<string, unknown>>(
    deps,
    query,
    ctx.principal,
    ctx.signal,
    flowCsvColumns,
  )) {
    start();
    rows += batch.length;
    await attributeCsvRows(deps.store, batch, ctx.principal);
    await writeChunk(res, batch.map((r) => csvLine(flowCsvAliases.map((c) => r[c]))).join(''), ctx.signal);
    if (ctx.signal.aborted) break;
  }
  start();
  res.end();
  return { rows };
}

/**
 * Opens a case from an abuse report: parses it (parse.ts), runs the investigation it describes
 * (our address, their address, port, time ± tolerance) and keeps the report verbatim with the
 * case (table case_reports) as evidence of what was reported. Used by POST /api/v1/reports and
 * `flowtrail report import`.
 * @module
 */
import type { CaseReport } from '../../../common/case.ts';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import type { Principal } from '../auth/principal.ts';
import { SqlParams } from '../filters/index.ts';
import {
  type Investigation,
  type InvestigationRequest,
  runInvestigation,
} from '../queries/investigations.ts';
import { type ParsedReport, parseReport } from './parse.ts';

/** A case opened from a report, with what the report said (without the raw text). */
export interface ReportCase extends Investigation {
  report: Omit<ParsedReport, 'raw'>;
}

/** The investigation request a report describes. */
export function reportRequest(r: ParsedReport): InvestigationRequest {
  return {
    indicator: r.ours,
    ...(r.theirs !== undefined ? { remote: r.theirs } : {}),
    ...(r.port !== undefined ? { port: r.port } : {}),
    ...(r.protocol !== undefined ? { protocol: r.protocol } : {}),
    at: r.at,
    tolerance: r.tolerance,
    direction: 'any',
  };
}

/** Parses `raw`, runs its investigation, stores the report with the case; returns the case. */
export async function openReportCase(
  deps: { store: Store; settings: QuerySettings; maxRangeNs: bigint },
  raw: string,
  principal: Principal,
  signal?: AbortSignal,
): Promise<ReportCase> {
  const parsed = parseReport(raw);
  const inv = await runInvestigation(deps, reportRequest(parsed), principal, signal);
  const p = new SqlParams();
  await deps.store.command(
    `INSERT INTO case_reports (case_id, received_at, received_by, format, category, raw)
     SELECT ${p.bind(inv.id, 'String')}, now64(9), ${p.bind(principal.name, 'String')},
            ${p.bind(parsed.format, 'String')}, ${p.bind(parsed.category ?? '', 'String')}, ${p.bind(raw, 'String')}`,
    { params: p.values },
  );
  const { raw: _raw, ...report } = parsed;
  return { ...inv, report };
}

/** The reports kept with a case, oldest first. */
export async function caseReports(
  deps: { store: Store; settings: QuerySettings },
  id: string,
): Promise<CaseReport[]> {
  const p = new SqlParams();
  return deps.store.query(
    `SELECT formatDateTime(received_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS received_at, received_by, format,
            category, raw
     FROM case_reports WHERE case_id = ${p.bind(id, 'String')} ORDER BY received_at`,
    { params: p.values, settings: deps.settings },
  );
}

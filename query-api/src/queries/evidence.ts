/**
 * The evidence bundle of a saved case (GET /api/v1/investigations/{id}/evidence), for handing to
 * a lawyer or an upstream provider: case.json (the request, who created and who exported it and
 * when, the software version, the ranked accounts, and every ownership interval the attribution
 * relied on with its source), the matching flows as flows.ndjson (the /flows NDJSON form) and
 * flows.csv (the /flows CSV form), any abuse report that opened the case verbatim (report-N.txt,
 * from POST /api/v1/reports), and a signed manifest (common/evidence/bundle.ts).
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { buildBundle, type EvidenceSigningKey } from '../../../common/evidence/bundle.ts';
import type { Principal } from '../auth/principal.ts';
import { and, SqlParams, tenantScope } from '../filters/index.ts';
import { csvLine } from '../http/output.ts';
import { caseReports } from '../reports/open-case.ts';
import { attributeCsvRows, flowCsvAliases, flowCsvColumns, flowCsvHeader } from './flow-csv.ts';
import { attributeRows, type FlowRow, flowRowColumns, type Owner, rowToLine } from './flow-rows.ts';
import {
  fullMatchWhere,
  type Investigation,
  reportAddressKeys,
  reportMatch,
  unboundedRangeNs,
} from './investigations.ts';

/** The software that wrote a bundle: the package version (read once, at load). */
export const softwareVersion: string = (() => {
  try {
    const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** One ownership interval a bundle's attribution relied on. */
export interface ReliedInterval extends Owner {
  /** The flow end this owner was found for. */
  address: string;
}

/** Builds the signed bundle of a case; `flows` is how many flows it holds. */
export async function caseEvidence(
  deps: { store: Store; settings: QuerySettings; maxRows: number; key: EvidenceSigningKey },
  inv: Investigation,
  principal: Principal,
  signal?: AbortSignal,
): Promise<{ bundle: Buffer; flows: number; truncated: boolean }> {
  // The full matches of the report are the evidence; a report nothing fully matched keeps the
  // candidate flows instead (and says so), so the bundle still shows what was looked at.
  let selection: 'full-match' | 'candidates' = 'full-match';
  const read = async <T>(columns: string, where: (p: SqlParams) => string) => {
    const p = new SqlParams();
    return deps.store.query<T>(
      `SELECT ${columns} FROM flows WHERE ${where(p)} ORDER BY time, flow_id LIMIT ${deps.maxRows + 1}`,
      { params: p.values, settings: deps.settings, signal },
    );
  };
  // The address index is read once for every statement below (each names the report's parties).
  const keys = await reportAddressKeys(deps, inv.request, unboundedRangeNs, signal);
  const candidates = (p: SqlParams) => {
    const m = reportMatch(p, inv.request, unboundedRangeNs, keys);
    return and([m.matched, tenantScope(p, principal, m.bounds)]);
  };
  let where = (p: SqlParams) => fullMatchWhere(p, inv.request, principal, keys);
  let rows = await read<FlowRow>(flowRowColumns, where);
  if (rows.length === 0) {
    selection = 'candidates';
    where = candidates;
    rows = await read<FlowRow>(flowRowColumns, where);
  }
  const truncated = rows.length > deps.maxRows;
  rows = rows.slice(0, deps.maxRows);
  const views = await attributeRows(deps.store, rows, principal);
  const ndjson = rows.map((r, i) => `${rowToLine(r, views[i]!, principal)}\n`).join('');
  const csvRows = (await read<Record<string, unknown>>(flowCsvColumns, where)).slice(0, deps.maxRows);
  await attributeCsvRows(deps.store, csvRows, principal);
  const csv = csvLine(flowCsvHeader) + csvRows.map((r) => csvLine(flowCsvAliases.map((c) => r[c]))).join('');
  // Every owner interval the flows were attributed with, once, with its source.
  const relied = new Map<string, ReliedInterval>();
  rows.forEach((r, i) => {
    for (const [end, ip] of [
      ['source', r.src_ip_text],
      ['destination', r.dst_ip_text],
    ] as const) {
      // IPv4 ends are stored IPv4-mapped; show them as the dotted quad the flows carry.
      const address = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
      const o = views[i]![end];
      if (!o) continue;
      const key = JSON.stringify([address, o.alloc_id, o.start, o.source, o.tenant, o.account]);
      if (!relied.has(key)) relied.set(key, { address, ...o });
    }
  });
  // The abuse reports that opened the case, verbatim: what was reported is part of the evidence.
  const reports = await caseReports(deps, inv.id);
  const now = new Date();
  const caseJson = {
    case_id: inv.id,
    request: inv.request,
    window: inv.window,
    created_by: inv.created_by,
    created_at: inv.created_at,
    exported_by: principal.name,
    exported_at: now.toISOString(),
    software: { name: 'flowtrail', version: softwareVersion },
    indicator_side: inv.indicator_side,
    flows: { selection, count: rows.length, truncated },
    accounts: inv.accounts.map(({ samples: _s, ...a }) => a),
    reports: reports.map(({ raw: _raw, ...r }, i) => ({ file: `report-${i + 1}.txt`, ...r })),
    ownership_intervals: [...relied.values()].sort(
      (a, b) => a.address.localeCompare(b.address) || String(a.start).localeCompare(String(b.start)),
    ),
  };
  const bundle = buildBundle(
    [
      { name: 'case.json', data: Buffer.from(`${JSON.stringify(caseJson, null, 2)}\n`) },
      { name: 'flows.ndjson', data: Buffer.from(ndjson) },
      { name: 'flows.csv', data: Buffer.from(csv) },
      ...reports.map((r, i) => ({ name: `report-${i + 1}.txt`, data: Buffer.from(r.raw) })),
    ],
    deps.key,
    now,
  );
  return { bundle, flows: rows.length, truncated };
}

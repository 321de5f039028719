/**
 * `flowtrail report import FILE|- [--json]`: opens a prefilled case from an abuse report as it
 * arrived at the abuse desk — X-ARF (JSON or YAML, bare or as an email) or ARF (RFC 5965
 * email) — exactly as POST /api/v1/reports does: the reported address is our side, the case is
 * investigated at the reported time ± 300 s, and the report is kept with the case. Like
 * `flowtrail flows`, it reads the data directly as an operator (no tenant scope). Exit 0 when
 * the case was opened, 2 on a usage error or a malformed report (the message names the field).
 * @module
 */

import { readFileSync } from 'node:fs';
import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { apiConfigSchema } from '../../common/config/api.ts';
import { openModePrincipal } from '../../query-api/src/auth/principal.ts';
import { flowQueryBounds, querySettings } from '../../query-api/src/queries/limits.ts';
import { openReportCase, type ReportCase } from '../../query-api/src/reports/open-case.ts';
import { parseReport } from '../../query-api/src/reports/parse.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

/** The command's usage text (`flowtrail report --help`). */
export const usage = `usage: flowtrail report import FILE|- [--json]

Opens a case from an abuse report: X-ARF (JSON or YAML, or an X-ARF email) or ARF (RFC 5965
feedback-report email). The reported address (X-ARF Source, ARF Source-IP) is our side; the
reporter's address, port and time come from the report; the window is the time ± 300 s. The
report is kept with the case. A malformed report is an error naming the field.
`;

/** Runs the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('report', argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const [sub, file, ...extra] = positionals;
  if (sub !== 'import' || !file || extra.length) {
    process.stderr.write(usage);
    return 2;
  }
  const raw = readFileSync(file === '-' ? 0 : file, 'utf8');
  // Parse before touching the store: a malformed report fails fast, naming the field.
  parseReport(raw);
  const limits = apiConfigSchema.parse({}).limits;
  const { env } = serviceConfig();
  const store = await openStore(storeConfigOf(env));
  try {
    // The configured retention: migrate() converges the flows TTL to what it is given.
    await migrate(store, { ttlDays: env.FLOWTRAIL_TTL_DAYS });
    const opened = await openReportCase(
      { store, settings: querySettings(limits), maxRangeNs: flowQueryBounds(limits, false).maxRangeNs },
      raw,
      openModePrincipal,
    );
    process.stdout.write(values.json ? `${JSON.stringify(opened)}\n` : summary(opened));
    return 0;
  } finally {
    await store.close();
  }
}

function summary(c: ReportCase): string {
  const r = c.report;
  const lines = [
    `case ${c.id} opened from ${r.format === 'arf' ? 'an ARF' : 'an X-ARF'} report${r.category ? ` (${r.category})` : ''}`,
    `  ours ${r.ours}${r.theirs ? `  theirs ${r.theirs}` : ''}${r.port !== undefined ? `  port ${r.port}` : ''}` +
      `${r.protocol ? `/${r.protocol}` : ''}  at ${r.at} ± ${r.tolerance}s`,
    c.accounts.length ? '  accounts:' : '  no matching flows in the window',
    ...c.accounts
      .slice(0, 10)
      .map(
        (a) =>
          `  ${a.rank}. ${a.tenant}/${a.account}  full matches ${a.full_match_flows}, flows ${a.flows}` +
          `  (${a.allocations.map((x) => x.alloc_name).join(', ')})`,
      ),
  ];
  return `${lines.join('\n')}\n`;
}

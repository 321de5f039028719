/**
 * `flowtrail flows [--ip A] [--from-ip A] [--to-ip A] [--verdict V] [--since T] [--until T]
 * [--limit N] [--json]`: stored flows, newest first. Every filter of `GET /api/v1/flows` is a flag
 * of the same name (repeat a flag to OR values), parsed by the API's own filter parser. `--json`
 * prints one Hubble JSON line per flow with `attribution` beside it, as the API's NDJSON does.
 * @module
 */

import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { apiConfigSchema } from '../../common/config/api.ts';
import { openModePrincipal } from '../../query-api/src/auth/principal.ts';
import { flowFilterNames } from '../../query-api/src/filters/index.ts';
import { parseFlowQuery, type RawParams } from '../../query-api/src/filters/parse.ts';
import { type FlowRow, rowsToLines, rowsToObjects } from '../../query-api/src/queries/flow-rows.ts';
import { streamFlows } from '../../query-api/src/queries/flows.ts';
import { querySettings } from '../../query-api/src/queries/limits.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

const control = ['since', 'until', 'limit', 'order'] as const;

export async function run(argv: string[]): Promise<number> {
  const options = Object.fromEntries([
    ...[...flowFilterNames, ...control].map((n) => [n, { type: 'string' as const, multiple: true }]),
    ['json', { type: 'boolean' as const }],
  ]);
  const values = parseCommandArgs('flows', argv, options).values as Record<
    string,
    string[] | boolean | undefined
  >;
  const json = values['json'] === true;
  const params: RawParams = {};
  for (const [k, v] of Object.entries(values)) if (Array.isArray(v)) params[k] = v;
  // The CLI reads the data directly, as an operator with access to it: no tenant scope.
  const principal = openModePrincipal;
  const limits = apiConfigSchema.parse({}).limits;
  const query = parseFlowQuery(params);
  const store = await openStore(storeConfigOf(serviceConfig().env));
  try {
    await migrate(store);
    let n = 0;
    for await (const rows of streamFlows<FlowRow>(
      { store, settings: querySettings(limits) },
      query,
      principal,
    )) {
      // Attributed per batch like the API's NDJSON: one ownership query per batch.
      const out = json
        ? await rowsToLines(store, rows, principal)
        : (await rowsToObjects(store, rows, principal)).map(humanLine);
      if (out.length) process.stdout.write(`${out.join('\n')}\n`);
      n += rows.length;
    }
    if (!json) process.stderr.write(`${n} flows\n`);
    return 0;
  } finally {
    await store.close();
  }
}

interface Shown {
  flow?: {
    time?: string;
    verdict?: string;
    IP?: { source?: string; destination?: string };
    l4?: Record<string, { source_port?: number; destination_port?: number }>;
    Summary?: string;
    drop_reason_desc?: string;
  };
  node_name?: string;
  attribution?: {
    source: { tenant: string; job: string } | null;
    destination: { tenant: string; job: string } | null;
  };
}

/** One line like `hubble observe`'s compact form, with each end's owner in brackets. */
function humanLine(o: Record<string, unknown>): string {
  const s = o as Shown;
  const f = s.flow ?? {};
  const l4 = f.l4 ? Object.values(f.l4)[0] : undefined;
  const end = (
    ip: string | undefined,
    port: number | undefined,
    who: { tenant: string; job: string } | null | undefined,
  ) => `${ip ?? '?'}${port ? `:${port}` : ''}${who ? ` [${who.tenant || '-'}/${who.job || '-'}]` : ''}`;
  return [
    f.time ?? '',
    s.node_name ?? '',
    end(f.IP?.source, l4?.source_port, s.attribution?.source),
    '->',
    end(f.IP?.destination, l4?.destination_port, s.attribution?.destination),
    f.verdict ?? '',
    f.drop_reason_desc ? `(${f.drop_reason_desc})` : '',
    f.Summary ?? '',
  ]
    .filter(Boolean)
    .join(' ');
}

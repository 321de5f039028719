/**
 * `flowtrail flows [FILTERS…] [--since T] [--until T] [--all] [--limit N] [--order O] [--sort COL]
 * [--json]`: stored flows,
 * newest first. The filters are `hubble observe`'s flags with Hubble's meaning (`--pod`, `--from-label`,
 * `--not --protocol http`, …) plus Flowtrail's `--tenant`, `--account`, `--job`, `--alloc`, `--scope`,
 * read in order by the one filter language (common/filter). `--json` prints one Hubble JSON line per
 * flow with `attribution` beside it, as the API's NDJSON does. `--all` (as `hubble observe --all`) reads
 * every stored flow: since defaults to the epoch and the time-range bound of the API is lifted, which
 * suits an operator reading the store directly; `--limit` still caps the rows (at most 10000).
 * @module
 */

import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { apiConfigSchema } from '../../common/config/api.ts';
import { InputError } from '../../common/errors.ts';
import { FlowFilterError, filterSetFromArgs, parseFilterSet } from '../../common/filter/index.ts';
import { openModePrincipal } from '../../query-api/src/auth/principal.ts';
import { defaultFlowQueryBounds, parseFlowQuery, type RawParams } from '../../query-api/src/filters/parse.ts';
import { type FlowRow, rowsToLines, rowsToObjects } from '../../query-api/src/queries/flow-rows.ts';
import { streamFlows } from '../../query-api/src/queries/flows.ts';
import { querySettings } from '../../query-api/src/queries/limits.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

const control = ['since', 'until', 'limit', 'order', 'sort'] as const;

export async function run(argv: string[]): Promise<number> {
  const options = Object.fromEntries([
    ...control.map((n) => [n, { type: 'string' as const, multiple: true }]),
    ['json', { type: 'boolean' as const }],
    ['all', { type: 'boolean' as const }],
  ]);
  // Filter flags are read in order (`--not` applies to the next one); the rest are this command's.
  let filters: ReturnType<typeof parseFilterSet>;
  let rest: string[];
  try {
    const read = filterSetFromArgs(argv, { passThrough: new Set([...control, 'json', 'all']) });
    rest = read.rest;
    filters = parseFilterSet(read.set);
  } catch (err) {
    if (err instanceof FlowFilterError) throw new InputError(`flowtrail flows: ${err.message}`, err.field);
    throw err;
  }
  const values = parseCommandArgs('flows', rest, options).values as Record<
    string,
    string[] | boolean | undefined
  >;
  const json = values['json'] === true;
  const params: RawParams = {};
  for (const [k, v] of Object.entries(values)) if (Array.isArray(v)) params[k] = v;
  // The CLI reads the data directly, as an operator with access to it: no tenant scope.
  const principal = openModePrincipal;
  const limits = apiConfigSchema.parse({}).limits;
  const all = values['all'] === true;
  if (all && params['since'] === undefined) params['since'] = ['1970-01-01T00:00:00Z'];
  const unbounded = 1n << 62n;
  const bounds = all
    ? { ...defaultFlowQueryBounds, maxRangeNs: unbounded, maxUnboundedRangeNs: unbounded }
    : defaultFlowQueryBounds;
  const query = parseFlowQuery(params, bounds, undefined, filters);
  const store = await openStore(storeConfigOf(serviceConfig().env));
  try {
    await migrate(store, { ttlDays: serviceConfig().env.FLOWTRAIL_TTL_DAYS });
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

/**
 * Investigations: "who was behind this address (or range) in this window?". The service finds
 * the flows where the indicator is an end (the source, its post-SNAT address, or the
 * destination), groups them by the owner of that end, ranks the owners by flow count, and saves
 * the case so it can be read back and exported. A tenant principal only ever sees its own
 * tenant's owners and its cases.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { InputError } from '../../../common/errors.ts';
import {
  FlowFilterError,
  filterSetFromArgs,
  filterSetSql,
  ipInSql,
  parseFilterSet,
} from '../../../common/filter/index.ts';
import { parseIpPrefix } from '../../../common/filter/ip.ts';
import { formatTimeNs, nowNs, parseTimeArg } from '../../../common/time.ts';
import type { Principal } from '../auth/principal.ts';
import { and, lateOwnersSql, SqlParams, tenantScope, timeRange } from '../filters/index.ts';
import { type FlowRow, flowRowColumns, rowsToObjects } from './flow-rows.ts';

/** The body of POST /api/v1/investigations. */
export const investigationRequestSchema = z.strictObject({
  indicator: z.string().max(64).describe('The address or CIDR under investigation.'),
  port: z.number().int().min(0).max(65535).optional().describe('Port of either end.'),
  protocol: z.string().max(16).optional().describe('tcp, udp, icmp, … as in /flows.'),
  since: z.string().max(64).describe('Start of the window (RFC 3339, epoch ns, or relative).'),
  until: z.string().max(64).describe('End of the window.'),
  direction: z
    .enum(['source', 'destination', 'any'])
    .default('any')
    .describe('Which end the indicator must be: source (it sent), destination (it received), any.'),
});

/** A validated investigation request. */
export type InvestigationRequest = z.infer<typeof investigationRequestSchema>;

/** One ranked owner of a case. */
export interface InvestigationAccount {
  tenant: string;
  account: string;
  job: string;
  alloc_id: string;
  node: string;
  first_seen: string;
  last_seen: string;
  flows: number;
  verdicts: Record<string, number>;
  source: string;
  samples: unknown[];
}

/** A saved case. */
export interface Investigation {
  id: string;
  created_at: string;
  created_by: string;
  request: InvestigationRequest;
  accounts: InvestigationAccount[];
}

/** Most owners listed per case, and sample flows per owner. */
const maxAccounts = 200;
const samplesPerAccount = 3;

function time(name: string, text: string): bigint {
  try {
    return parseTimeArg(text);
  } catch (err) {
    throw new InputError(`${name}: ${(err as Error).message}`, name);
  }
}

/**
 * Reads sample flows by their exact (time, flow id): the time is the primary-key column, so
 * this is a few granules, and it cannot miss a sample the aggregate just counted.
 */
async function readSamples(
  deps: { store: Store; settings: QuerySettings },
  samples: readonly [string, string][],
  signal?: AbortSignal,
): Promise<FlowRow[]> {
  const p = new SqlParams('s');
  const times = p.bind(
    samples.map(([t]) => t),
    'Array(String)',
  );
  const ids = p.bind(
    samples.map(([, id]) => id),
    'Array(String)',
  );
  return deps.store.query<FlowRow>(
    `SELECT ${flowRowColumns} FROM flows
     WHERE time IN (SELECT arrayJoin(arrayMap(x -> fromUnixTimestamp64Nano(toInt64(x), 'UTC'), ${times})))
       AND lower(hex(flow_id)) IN ${ids}
     LIMIT 1 BY flow_id`,
    { params: p.values, settings: deps.settings, signal },
  );
}

/** Runs an investigation, saves it, and returns the case. */
export async function runInvestigation(
  deps: { store: Store; settings: QuerySettings; maxRangeNs: bigint },
  request: InvestigationRequest,
  principal: Principal,
  signal?: AbortSignal,
): Promise<Investigation> {
  const ind = parseIpPrefix(request.indicator.trim());
  if (!ind) throw new InputError('indicator: expected an IPv4/IPv6 address or CIDR', 'indicator');
  const sinceNs = time('since', request.since);
  const untilNs = time('until', request.until);
  if (sinceNs >= untilNs) throw new InputError('since: must be before until', 'since');
  if (untilNs - sinceNs > deps.maxRangeNs)
    throw new InputError('since: the window is longer than allowed; narrow it', 'since');
  // Port and protocol in the filter language's words (`--port` is either end, as in /flows).
  const words = [
    ...(request.port === undefined ? [] : ['--port', String(request.port)]),
    ...(request.protocol === undefined ? [] : ['--protocol', request.protocol]),
  ];
  let narrowing: ReturnType<typeof parseFilterSet>;
  try {
    narrowing = parseFilterSet(filterSetFromArgs(words).set);
  } catch (err) {
    if (err instanceof FlowFilterError)
      throw new InputError(err.message, err.field === 'protocol' ? 'protocol' : 'port');
    throw err;
  }

  const p = new SqlParams();
  const range = { sinceNs, untilNs };
  const narrow = [timeRange(p, sinceNs, untilNs)];
  narrow.push(filterSetSql(p, narrowing.whitelist, narrowing.blacklist));
  const common = [...narrow, tenantScope(p, principal, range)];
  // Each side groups by the end's effective owner: as stored, or, for an end stored as `none`,
  // its owner at the flow's time from the ownership table. The resolution is bounded to the
  // flows this case matches (their addresses and the window), joined by flow_id.
  const side = (end: 'src' | 'dst', match: string) => {
    const ip = end === 'src' ? 'source_ip' : 'destination_ip';
    const matched = and([...narrow, match]);
    const late = lateOwnersSql(
      p,
      end,
      `SELECT ${ip} FROM flows WHERE ${matched} AND ${end}_source = 'none'`,
      range,
      [matched],
    );
    const eff = (field: string) => `if(late_hit = 1, late_${field}, ${end}_${field})`;
    return `SELECT time, v, ${eff('tenant')} AS tenant, ${eff('account')} AS account, ${eff('job')} AS job,
       ${eff('alloc_id')} AS alloc_id, ${eff('node')} AS node,
       if(late_hit = 1, 'ownership', stored_source) AS source, t_ns, fid_hex
     FROM (
       SELECT time, toString(verdict) AS v, ${end}_tenant, ${end}_account, ${end}_job, ${end}_alloc_id,
         ${end}_node, toString(${end}_source) AS stored_source, toUnixTimestamp64Nano(time) AS t_ns,
         lower(hex(flow_id)) AS fid_hex, flow_id AS m_fid
       FROM flows WHERE ${and([...common, match])}
     ) AS m LEFT JOIN (${late}) AS l ON m.m_fid = l.late_fid`;
  };
  const parts: string[] = [];
  if (request.direction !== 'destination')
    parts.push(side('src', ipInSql(p, ['source_ip', 'source_xlated'], [ind])));
  if (request.direction !== 'source') parts.push(side('dst', ipInSql(p, ['destination_ip'], [ind])));
  const own = principal.role === 'tenant' ? `WHERE tenant = ${p.bind(principal.tenant ?? '', 'String')}` : '';
  // Samples are kept as (time, flow id) pairs: the sample rows are then read back by their exact
  // primary-key time, not by re-running the window and scope.
  const sql = `SELECT tenant, account, job, alloc_id, node, source,
      formatDateTime(min(time), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_seen,
      formatDateTime(max(time), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS last_seen,
      count() AS flows, sumMap([v], [toUInt64(1)]) AS verdicts,
      groupArray(${samplesPerAccount})(tuple(toString(t_ns), fid_hex)) AS samples
    FROM (${parts.join(' UNION ALL ')}) ${own}
    GROUP BY tenant, account, job, alloc_id, node, source
    ORDER BY flows DESC, tenant, account, job, alloc_id
    LIMIT ${maxAccounts}`;
  type Row = Omit<InvestigationAccount, 'flows' | 'verdicts' | 'samples'> & {
    flows: string;
    verdicts: [string[], string[]];
    samples: [string, string][];
  };
  const rows = await deps.store.query<Row>(sql, { params: p.values, settings: deps.settings, signal });
  const samples = rows.flatMap((r) => r.samples);
  const sampleRows = samples.length ? await readSamples(deps, samples, signal) : [];
  const sampleObjects = await rowsToObjects(deps.store, sampleRows, principal);
  const samplesById = new Map(sampleRows.map((r, i) => [r.id_hex, sampleObjects[i]!]));
  const accounts = rows.map((r) => ({
    tenant: r.tenant,
    account: r.account,
    job: r.job,
    alloc_id: r.alloc_id,
    node: r.node,
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    flows: Number(r.flows),
    verdicts: Object.fromEntries(r.verdicts[0].map((k, i) => [k, Number(r.verdicts[1][i])])),
    source: r.source,
    samples: r.samples.flatMap(([, id]) => {
      const o = samplesById.get(id);
      return o ? [o] : [];
    }),
  }));
  const inv: Investigation = {
    id: randomUUID(),
    created_at: formatTimeNs(nowNs()),
    created_by: principal.name,
    request,
    accounts,
  };
  await deps.store.insertJson('investigations', [
    {
      id: inv.id,
      created_at: new Date().toISOString().replace('T', ' ').replace('Z', ''),
      created_by: principal.name,
      role: principal.role,
      tenant: principal.tenant ?? '',
      request: JSON.stringify(request),
      result: JSON.stringify(inv),
    },
  ]);
  return inv;
}

/** Reads a saved case; undefined when absent or not visible to `principal`. */
export async function getInvestigation(
  deps: { store: Store; settings: QuerySettings },
  id: string,
  principal: Principal,
  signal?: AbortSignal,
): Promise<Investigation | undefined> {
  const p = new SqlParams();
  const visible =
    principal.role === 'tenant' ? `AND tenant = ${p.bind(principal.tenant ?? '', 'String')}` : '';
  const rows = await deps.store.query<{ result: string }>(
    `SELECT result FROM investigations FINAL WHERE id = ${p.bind(id, 'String')} ${visible} LIMIT 1`,
    { params: p.values, settings: deps.settings, signal },
  );
  const r = rows[0];
  return r ? (JSON.parse(r.result) as Investigation) : undefined;
}

/** Columns of the CSV export (one line per owner). */
export const investigationCsvHeader = [
  'tenant',
  'account',
  'job',
  'alloc_id',
  'node',
  'first_seen',
  'last_seen',
  'flows',
  'verdicts',
  'source',
] as const;

/** One CSV record's values for an owner. */
export function investigationCsvValues(a: InvestigationAccount): unknown[] {
  const verdicts = Object.entries(a.verdicts)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  return [
    a.tenant,
    a.account,
    a.job,
    a.alloc_id,
    a.node,
    a.first_seen,
    a.last_seen,
    a.flows,
    verdicts,
    a.source,
  ];
}

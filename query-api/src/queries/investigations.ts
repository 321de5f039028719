/**
 * Investigations shaped like an abuse report: "your address X (often a node's post-SNAT egress
 * address) talked to our host Y on port P around time T". The service finds the flows in the
 * window where our side (`indicator`) or their side (`remote`) is an end, attributes OUR end of
 * each (see runInvestigation), groups by account with its allocations, ranks accounts by how
 * well they match the report, and saves the case so it can be read back and exported. A tenant
 * principal only ever sees its own tenant's owners and its cases.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { InputError } from '../../../common/errors.ts';
import {
  type AddressKeys,
  addressKeysInSql,
  addressLookupSql,
  FlowFilterError,
  filterSetFromArgs,
  filterSetSql,
  ipInSql,
  parseFilterSet,
} from '../../../common/filter/index.ts';
import { type IpPrefix, parseIpPrefix } from '../../../common/filter/ip.ts';
import { formatTimeNs, nowNs, parseTimeArg } from '../../../common/time.ts';
import type { Principal } from '../auth/principal.ts';
import {
  and,
  heldAddressesSql,
  lateOwnerFields,
  lateOwnersSql,
  or,
  SqlParams,
  tenantScope,
  timeRange,
} from '../filters/index.ts';
import { readAddressKeys } from './address-keys.ts';
import { type FlowRow, flowRowColumns, rowsToObjects } from './flow-rows.ts';

/** Longest tolerance either side of `at` (one day). */
const maxToleranceS = 86_400;

/**
 * The body of POST /api/v1/investigations: an abuse report's shape. `indicator` is our side (a
 * pod or node address, a range, or the post-SNAT address the outside world saw), `remote` the
 * other party (a victim or a scanner); at least one is required. The window is either
 * `since`/`until` or `at` ± `tolerance` seconds.
 */
export const investigationRequestSchema = z
  .strictObject({
    indicator: z
      .string()
      .max(64)
      .optional()
      .describe('Our side: an address, a CIDR, or a post-SNAT (egress) address.'),
    remote: z.string().max(64).optional().describe('The other party: an address or CIDR.'),
    port: z.number().int().min(0).max(65535).optional().describe('Port of either end.'),
    protocol: z.string().max(16).optional().describe('tcp, udp, icmp, … as in /flows.'),
    since: z.string().max(64).optional().describe('Start of the window (RFC 3339, epoch ns, or relative).'),
    until: z.string().max(64).optional().describe('End of the window.'),
    at: z.string().max(64).optional().describe('The reported instant; the window is at ± tolerance.'),
    tolerance: z
      .number()
      .int()
      .min(0)
      .max(maxToleranceS)
      .optional()
      .describe('Seconds either side of `at` (default 120).'),
    direction: z
      .enum(['source', 'destination', 'any'])
      .default('any')
      .describe('Which end the indicator must be: source (it sent), destination (it received), any.'),
  })
  .superRefine((r, ctx) => {
    if (r.indicator === undefined && r.remote === undefined)
      ctx.addIssue({ code: 'custom', path: ['indicator'], message: 'give indicator, remote, or both' });
    if (r.at !== undefined && (r.since !== undefined || r.until !== undefined))
      ctx.addIssue({ code: 'custom', path: ['at'], message: 'give either at (± tolerance) or since/until' });
    if (r.at === undefined && (r.since === undefined || r.until === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [r.since === undefined ? 'since' : 'until'],
        message: 'required unless at is given',
      });
    if (r.tolerance !== undefined && r.at === undefined)
      ctx.addIssue({ code: 'custom', path: ['tolerance'], message: 'only meaningful with at' });
  });

/** A validated investigation request. */
export type InvestigationRequest = z.infer<typeof investigationRequestSchema>;

/** Which end of the matching flows was attributed: ours (see runInvestigation). */
export type AttributedEnd = 'source' | 'destination' | 'both';

/** One allocation of a ranked account. */
export interface InvestigationAllocation {
  alloc_id: string;
  alloc_name: string;
  job: string;
  node: string;
  flows: number;
  full_match_flows: number;
  first_seen: string;
  last_seen: string;
}

/** One ranked owner (tenant, account) of a case. */
export interface InvestigationAccount {
  rank: number;
  tenant: string;
  account: string;
  /** Flows matching every field the report gave. */
  full_match_flows: number;
  /** Flows matching the indicator or the remote party (a superset of the full matches). */
  flows: number;
  /** Seconds from the reported instant (`at`) to the closest best-matching flow; 0 without `at`. */
  closest_s: number;
  first_seen: string;
  last_seen: string;
  verdicts: Record<string, number>;
  /** How the owner was found: ownership, label, node, cidr, none (several when mixed). */
  source: string;
  /** The end whose owner this is (`both` when some matching flows are replies). */
  attributed_end: AttributedEnd;
  /** Matching flows by the end attributed: ours was their source, or their destination. */
  attributed_flows: { source: number; destination: number };
  /** Label/ownership disagreements recorded on the matching flows (empty when none). */
  conflicts: string[];
  allocations: InvestigationAllocation[];
  samples: unknown[];
}

/** A saved case. */
export interface Investigation {
  id: string;
  created_at: string;
  created_by: string;
  request: InvestigationRequest;
  /** The window searched (RFC 3339) and the reported instant closeness is measured from, if any. */
  window: { since: string; until: string; reference: string | null };
  /**
   * Where the indicator sat: `ours` (its own end was attributed), `outside` (it is a victim or
   * a remote host: the other end was attributed), `mixed`, or `none` (no indicator or no flows).
   */
  indicator_side: 'ours' | 'outside' | 'mixed' | 'none';
  accounts: InvestigationAccount[];
}

/** Most owners listed per case, and sample flows per account. */
const maxAllocations = 500;
const samplesPerAccount = 5;

function time(name: string, text: string): bigint {
  try {
    return parseTimeArg(text);
  } catch (err) {
    throw new InputError(`${name}: ${(err as Error).message}`, name);
  }
}

function range(name: string, text: string): IpPrefix {
  const r = parseIpPrefix(text.trim());
  if (!r) throw new InputError(`${name}: expected an IPv4/IPv6 address or CIDR`, name);
  return r;
}

/** SQL of one filter word (`--port 22`, `--protocol tcp`) in the one filter language (common/filter). */
function wordSql(p: SqlParams, word: 'port' | 'protocol', value: string): string {
  try {
    const { whitelist, blacklist } = parseFilterSet(filterSetFromArgs([`--${word}`, value]).set);
    return filterSetSql(p, whitelist, blacklist);
  } catch (err) {
    if (err instanceof FlowFilterError) throw new InputError(err.message, word);
    throw err;
  }
}

/** The window a request asks for: since/until, or at ± tolerance; and the reference instant. */
export function investigationWindow(request: InvestigationRequest): {
  sinceNs: bigint;
  untilNs: bigint;
  refNs: bigint;
} {
  if (request.at !== undefined) {
    const at = time('at', request.at);
    const tol = BigInt(request.tolerance ?? 120) * 1_000_000_000n;
    return { sinceNs: at - tol, untilNs: at + tol + 1n, refNs: at };
  }
  const sinceNs = time('since', request.since ?? '');
  const untilNs = time('until', request.until ?? '');
  if (sinceNs >= untilNs) throw new InputError('since: must be before until', 'since');
  return { sinceNs, untilNs, refNs: sinceNs + (untilNs - sinceNs) / 2n };
}

/** A sample flow's primary key (time in Unix ns, source address) and its flow id (hex). */
type SampleKey = [timeNs: string, idHex: string, sourceIp: string];

/**
 * Reads sample flows by their primary key (hour, source address, time) and flow id: a few granules,
 * and it cannot miss a sample the aggregate just counted. (By time alone the primary key, which
 * leads with the hour and the source address, could not narrow the read.) The key finds a granule
 * in every part covering the sample's hour; the flow id, compared as stored (FixedString), lets
 * its bloom filter (idx_flow_id) drop those of the parts that do not hold the sample.
 */
async function readSamples(
  deps: { store: Store; settings: QuerySettings },
  samples: readonly SampleKey[],
  signal?: AbortSignal,
): Promise<FlowRow[]> {
  const p = new SqlParams('s');
  const times = p.bind(
    samples.map(([t]) => t),
    'Array(String)',
  );
  const ips = p.bind(
    samples.map(([, , ip]) => ip),
    'Array(IPv6)',
  );
  const ids = p.bind(
    samples.map(([, id]) => id),
    'Array(String)',
  );
  return deps.store.query<FlowRow>(
    `SELECT ${flowRowColumns} FROM flows
     WHERE (toStartOfHour(time), source_ip, time) IN (
         SELECT toStartOfHour(k.1), k.2, k.1 FROM (
           SELECT arrayJoin(arrayZip(arrayMap(x -> fromUnixTimestamp64Nano(toInt64(x), 'UTC'), ${times}), ${ips})) AS k))
       AND flow_id IN (SELECT toFixedString(unhex(arrayJoin(${ids})), 16))
     LIMIT 1 BY flow_id`,
    { params: p.values, settings: deps.settings, signal },
  );
}

/** Late-end addresses per end (lateAddresses); undefined: too many, the statement finds them. */
type LateAddresses = { src: string[] | undefined; dst: string[] | undefined };

/** No late end. */
const none: LateAddresses = { src: [], dst: [] };

/** Most late-end addresses (per end) bound into the ranking statement; beyond, it finds them itself. */
const maxLateAddresses = 10_000;

/**
 * The addresses the ranking statement must resolve late owners for, per end: those of candidate
 * flows (`matched`) whose end was stored as `none` and that some allocation ever held (an
 * ownership row names them; no other address can resolve, lateOwnersSql). Read in one pass over
 * the candidates, ahead, so the statement reads `flows` for the late ends only when there are
 * some, and bounds them by a bound set instead of re-reading the candidates for it (once per end
 * and per use). An end with more than maxLateAddresses is undefined: the statement looks itself.
 */
async function lateAddresses(
  deps: { store: Store; settings: QuerySettings },
  matched: string,
  p: SqlParams,
  signal?: AbortSignal,
): Promise<LateAddresses> {
  const held = heldAddressesSql;
  const pick = (end: 'src' | 'dst', ip: string) =>
    `groupUniqArrayIf(${maxLateAddresses + 1})(IPv6NumToString(${ip}), ${end}_source = 'none' AND ${ip} IN ${held}) AS ${end}`;
  const [r] = await deps.store.query<{ src: string[]; dst: string[] }>(
    `SELECT ${pick('src', 'source_ip')}, ${pick('dst', 'destination_ip')} FROM flows WHERE ${matched}`,
    { params: p.values, settings: deps.settings, signal },
  );
  const bounded = (a: string[] | undefined) => (a && a.length <= maxLateAddresses ? a : undefined);
  return { src: bounded(r?.src ?? []), dst: bounded(r?.dst ?? []) };
}

/** Scopes of an end that lie outside our address space (the internet, the cloud's metadata service). */
const outsideScopes = `('world', 'metadata')`;

/** The SQL pieces of a report: which end matched what, and the window. Values bound in `p`. */
export interface ReportMatch {
  indSrc: string;
  indX: string;
  indDst: string;
  remSrc: string;
  remDst: string;
  portOk: string;
  protoOk: string;
  /** Window AND (the indicator or the remote party is an end): the candidate flows. */
  matched: string;
  /**
   * The candidates as disjoint parts, one per address column a party matched in (source, then
   * destination, then post-SNAT source), each `matched` AND its part (candidateFlows).
   */
  parts: string[];
  bounds: { sinceNs: bigint; untilNs: bigint };
  refNs: bigint;
}

/** A report's parties (our side, their side) and window, validated (InputError names the field). */
export interface ReportParties {
  ind: IpPrefix | undefined;
  rem: IpPrefix | undefined;
  sinceNs: bigint;
  untilNs: bigint;
  refNs: bigint;
}

/** Validates a request's addresses and window. */
export function reportParties(request: InvestigationRequest, maxRangeNs: bigint): ReportParties {
  const ind = request.indicator === undefined ? undefined : range('indicator', request.indicator);
  const rem = request.remote === undefined ? undefined : range('remote', request.remote);
  const { sinceNs, untilNs, refNs } = investigationWindow(request);
  if (untilNs - sinceNs > maxRangeNs)
    throw new InputError(
      `${request.at === undefined ? 'since' : 'tolerance'}: the window is longer than allowed; narrow it`,
      request.at === undefined ? 'since' : 'tolerance',
    );
  return { ind, rem, sinceNs, untilNs, refNs };
}

/**
 * Validates a request's values and builds its match predicates (InputError names the field). With
 * `keys` (the address index read ahead for the report's parties and window: readAddressKeys), the
 * candidate set binds them instead of looking them up in the index itself.
 */
export function reportMatch(
  p: SqlParams,
  request: InvestigationRequest,
  maxRangeNs: bigint,
  keys?: AddressKeys,
): ReportMatch {
  const { ind, rem, sinceNs, untilNs, refNs } = reportParties(request, maxRangeNs);
  const dir = request.direction;
  const indSrc = ind && dir !== 'destination' ? ipInSql(p, ['source_ip'], [ind]) : '0';
  const indX = ind && dir !== 'destination' ? ipInSql(p, ['source_xlated'], [ind]) : '0';
  const indDst = ind && dir !== 'source' ? ipInSql(p, ['destination_ip'], [ind]) : '0';
  const remSrc = rem ? ipInSql(p, ['source_ip'], [rem]) : '0';
  const remDst = rem ? ipInSql(p, ['destination_ip'], [rem]) : '0';
  const portOk = request.port === undefined ? '1' : wordSql(p, 'port', String(request.port));
  const protoOk = request.protocol === undefined ? '1' : wordSql(p, 'protocol', request.protocol);
  const window = timeRange(p, sinceNs, untilNs);
  const candidate = or([indSrc, indX, indDst, remSrc, remDst].filter((c) => c !== '0'));
  // Every candidate has the indicator or the remote party as its source, destination or post-SNAT
  // source, all of which the address index holds with the flow's (hour, source address) (0045,
  // 0085): reading only those granules leaves the answer as it is (common/filter
  // addressLookupSql). A plain `source_ip = party` beside it would read a granule in every hour
  // bucket of every part, where the index knows the hours the party really sent in.
  const parties = [ind, rem].filter((r) => r !== undefined);
  const lookup = keys ? addressKeysInSql(p, keys) : addressLookupSql(p, parties, { sinceNs, untilNs });
  const narrowed = lookup ?? '1';
  return {
    indSrc,
    indX,
    indDst,
    remSrc,
    remDst,
    portOk,
    protoOk,
    matched: and([window, candidate, narrowed]),
    parts: candidateParts([[indSrc, remSrc], [indDst, remDst], [indX]]).map((c) =>
      and([window, candidate, narrowed, c]),
    ),
    bounds: { sinceNs, untilNs },
    refNs,
  };
}

/**
 * Disjoint conditions whose union is the union of `sides` (each an OR of terms; a flow goes to the
 * first side it matches); sides that match nothing ('0') are left out.
 */
function candidateParts(sides: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  const before: string[] = [];
  for (const terms of sides) {
    // No literal `0` left in an OR: under NOT (`NOT (source_ip = x OR 0)`) it keeps ClickHouse
    // 26.7 from using any bloom filter for the whole condition (158 granules instead of 4).
    const side = or(terms.filter((c) => c !== '0'));
    if (side === '0') continue;
    out.push(and([side, ...before.map((b) => `NOT ${b}`)]));
    before.push(side);
  }
  return out;
}

/**
 * The candidate flows (`m.matched`) as a subquery over `flows`, read one address column at a time
 * (m.parts, UNION ALL): with every party's columns in one OR, the bloom filters of destination and
 * post-SNAT addresses (migrations/0001) cannot drop a granule, since the OR may hold through the
 * source address, which has none; within one part, that column's filter drops the granules of the
 * parts of `flows` that do not hold the address (the world address of issue 13's investigation at
 * 30M flows: 28 granules instead of 112). The primary key and the address index narrow every part
 * as they narrow `matched`. The same rows as `SELECT * FROM flows WHERE matched`.
 */
export function candidateFlows(m: ReportMatch): string {
  return m.parts.length <= 1
    ? `(SELECT * FROM flows WHERE ${m.matched})`
    : `(${m.parts.map((c) => `SELECT * FROM flows WHERE ${c}`).join(' UNION ALL ')})`;
}

/** The window bound of a saved case: it was validated when the case was opened. */
export const unboundedRangeNs = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000_000n;

/** The address index's keys for a report's parties and window, read once (readAddressKeys). */
export function reportAddressKeys(
  deps: { store: Store; settings: QuerySettings },
  request: InvestigationRequest,
  maxRangeNs: bigint,
  signal?: AbortSignal,
): Promise<AddressKeys | undefined> {
  const parties = reportParties(request, maxRangeNs);
  return readAddressKeys(
    deps,
    [parties.ind, parties.rem].filter((r) => r !== undefined),
    parties,
    signal,
  );
}

/**
 * The flows that fully match a saved report (every given field: our side, their side at the
 * other end, port, protocol) within its window, visible to `principal`: the evidence of a case.
 */
export function fullMatchWhere(
  p: SqlParams,
  request: InvestigationRequest,
  principal: Principal,
  keys?: AddressKeys,
): string {
  const m = reportMatch(p, request, unboundedRangeNs, keys);
  const ind = or([m.indSrc, m.indX, m.indDst].filter((c) => c !== '0'));
  const remote =
    request.indicator === undefined
      ? or([m.remSrc, m.remDst])
      : or([`((${or([m.indSrc, m.indX])}) AND ${m.remDst})`, `(${m.indDst} AND ${m.remSrc})`]);
  return and([
    m.matched,
    ...(request.indicator !== undefined ? [ind] : []),
    ...(request.remote !== undefined ? [remote] : []),
    m.portOk,
    m.protoOk,
    tenantScope(p, principal, m.bounds),
  ]);
}

/**
 * Runs an investigation, saves it, and returns the case.
 *
 * Candidate flows are those in the window where the indicator is an end (our side: the source,
 * the source's post-SNAT address, or the destination) or the remote party is an end. For each
 * flow, OUR end is attributed: the indicator's end, unless the indicator sits outside our address
 * space there (its stored scope is world/metadata and it did not match as a post-SNAT address, or
 * it has no owner while the other end has one), in which case the other end; with only a remote
 * party, the end opposite it. Owners are the effective owner at the flow's time (as stored, or
 * for an end stored as `none`, from the ownership table: lateOwnersSql).
 *
 * Accounts are ranked: those with flows matching every given field (indicator, remote at the
 * other end, port, protocol) first, then by how many fields their best flow matches, then by how
 * close their best flows are to the reported instant, then by volume.
 */
export async function runInvestigation(
  deps: { store: Store; settings: QuerySettings; maxRangeNs: bigint },
  request: InvestigationRequest,
  principal: Principal,
  signal?: AbortSignal,
): Promise<Investigation> {
  const p = new SqlParams();
  // The address index is read once, ahead: the statement below needs its keys in several places.
  const keys = await reportAddressKeys(deps, request, deps.maxRangeNs, signal);
  const match = reportMatch(p, request, deps.maxRangeNs, keys);
  const { indSrc, indX, indDst, remSrc, remDst, portOk, protoOk, matched, bounds, refNs } = match;
  const ind = request.indicator !== undefined;
  const rem = request.remote !== undefined;
  const late = (end: 'src' | 'dst', lateAddrs: LateAddresses) => {
    const ip = end === 'src' ? 'source_ip' : 'destination_ip';
    const addrs = lateAddrs[end];
    const columns = (fid: string, hit: string, field: (f: string) => string) =>
      `${fid} AS ${end}_late_fid, ${hit} AS ${end}_hit, ${lateOwnerFields
        .map((f) => `${field(f)} AS ${end}_late_${f}`)
        .join(', ')}`;
    const sql = lateOwnersSql(
      p,
      end,
      addrs
        ? `SELECT arrayJoin(${p.bind(addrs, 'Array(IPv6)')})`
        : `SELECT ${ip} FROM flows WHERE ${matched} AND ${end}_source = 'none'`,
      bounds,
      [matched],
    );
    return `SELECT ${columns('late_fid', 'late_hit', (f) => `late_${f}`)} FROM (${sql})`;
  };
  // An end with no late address to resolve: its late columns are constants of the candidates'
  // SELECT instead of a join of an empty subquery.
  const noLate = (end: 'src' | 'dst') =>
    `toUInt8(0) AS ${end}_hit, ${lateOwnerFields.map((f) => `'' AS ${end}_late_${f}`).join(', ')}`;
  const held = heldAddressesSql;
  const lateEnd = `toUInt8((src_source = 'none' AND source_ip IN ${held}) OR (dst_source = 'none' AND destination_ip IN ${held}))`;
  // An end is "outside" when its stored scope says so, or it has no owner (stored or late) while
  // the other end has one.
  const outside = (end: 'src' | 'dst', other: 'src' | 'dst') =>
    `(toString(${end}_scope) IN ${outsideScopes} OR (${end}_source = 'none' AND ${end}_hit = 0 AND ` +
    `(${other}_source != 'none' OR ${other}_hit = 1)))`;
  // Closeness counts only for a reported instant (`at`); inside a since/until window every flow
  // is as close as any other, and volume decides.
  const dist =
    request.at === undefined
      ? 'toInt64(0)'
      : `abs(toInt64(toUnixTimestamp64Nano(time)) - ${p.bind(refNs, 'Int64')})`;
  const eff = (field: string) =>
    `if(our_end = 1, if(src_hit = 1, src_late_${field}, src_${field}), if(dst_hit = 1, dst_late_${field}, dst_${field}))`;
  const own = principal.role === 'tenant' ? `WHERE tenant = ${p.bind(principal.tenant ?? '', 'String')}` : '';
  const indGiven = ind ? 1 : 0;
  const remGiven = rem ? 1 : 0;
  // Samples are kept as (time, flow id) pairs: the sample rows are then read back by their exact
  // primary-key time, not by re-running the window and scope.
  // `lateAddrs` as lateAddresses finds them; `check`: none assumed (the late joins left empty),
  // and the statement counts, over all its candidates (before a tenant's own-owner filter, so
  // tenants never take this path), the ends lateAddresses would have found (late_total).
  const rankingSql = (
    lateAddrs: LateAddresses,
    check: boolean,
  ) => `SELECT tenant, account, alloc_id, alloc_name, job, node,
      arrayStringConcat(arraySort(groupUniqArray(source)), '+') AS source,
      countIf(our_end = 1) AS src_ends, countIf(our_end = 2) AS dst_ends,
      countIf(ind_outside = 1) AS outside_flows, countIf(ind_end != 0) AS ind_flows,
      formatDateTime(min(time), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_seen,
      formatDateTime(max(time), '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS last_seen,
      count() AS flows, countIf(full = 1) AS full_flows,
      min(tuple(-toInt16(score), dist)) AS best,
      sumMap([v], [toUInt64(1)]) AS verdicts,
      groupUniqArrayIf(3)(conflict, conflict != '') AS conflicts,
      groupArrayIf(${samplesPerAccount})(tuple(toString(t_ns), fid_hex, s_ip), full = 1) AS full_samples,
      groupArray(${samplesPerAccount})(tuple(toString(t_ns), fid_hex, s_ip)) AS any_samples,
      ${check ? 'sum(countIf(late_end = 1)) OVER ()' : '0'} AS late_total
    FROM (
      SELECT time, v, t_ns, fid_hex, s_ip, conflict, our_end, ind_end, ind_outside, full, score, dist, late_end,
        ${eff('tenant')} AS tenant, ${eff('account')} AS account, ${eff('job')} AS job,
        ${eff('alloc_id')} AS alloc_id, ${eff('alloc_name')} AS alloc_name, ${eff('node')} AS node,
        if(our_end = 1, if(src_hit = 1, 'ownership', toString(src_source)),
           if(dst_hit = 1, 'ownership', toString(dst_source))) AS source
      FROM (
        SELECT *,
          toUInt8(multiIf(ind_end = 1, NOT ind_x AND ${outside('src', 'dst')}, ind_end = 2, ${outside('dst', 'src')}, 0)) AS ind_outside,
          multiIf(ind_end != 0, if(ind_outside = 1, 3 - ind_end, ind_end), rem_end != 0, 3 - rem_end, 1) AS our_end,
          if(${indGiven} = 1, (ind_end = 1 AND rem_d) OR (ind_end = 2 AND rem_s), rem_end != 0) AS rem_ok,
          toUInt8(${indGiven} = 0 OR ind_end != 0) + toUInt8(${remGiven} = 0 OR rem_ok) + port_ok + proto_ok AS score,
          toUInt8(score = 4) AS full
        FROM (
          SELECT time, toString(verdict) AS v, toUnixTimestamp64Nano(time) AS t_ns, lower(hex(flow_id)) AS fid_hex,
            IPv6NumToString(source_ip) AS s_ip, flow_id AS m_fid, attribution_conflict AS conflict,
            src_tenant, src_account, src_job, src_alloc_id, src_alloc_name, src_node, src_source, src_scope,
            dst_tenant, dst_account, dst_job, dst_alloc_id, dst_alloc_name, dst_node, dst_source, dst_scope,
            ${indSrc} AS ind_s, ${indX} AS ind_x, ${indDst} AS ind_d, ${remSrc} AS rem_s, ${remDst} AS rem_d,
            multiIf(ind_s OR ind_x, 1, ind_d, 2, 0) AS ind_end,
            multiIf(ind_end = 1 AND rem_d, 2, ind_end = 2 AND rem_s, 1, rem_d, 2, rem_s, 1, 0) AS rem_end,
            toUInt8(${portOk}) AS port_ok, toUInt8(${protoOk}) AS proto_ok,
            ${dist} AS dist,
            ${check ? lateEnd : '0'} AS late_end
            ${(['src', 'dst'] as const).flatMap((e) => (lateAddrs[e]?.length === 0 ? [`, ${noLate(e)}`] : [])).join('')}
          FROM ${candidateFlows(match)} AS flows WHERE ${tenantScope(p, principal, bounds)}
        ) AS m
        ${(['src', 'dst'] as const)
          .filter((e) => lateAddrs[e]?.length !== 0)
          .map((e) => `LEFT JOIN (${late(e, lateAddrs)}) AS l${e} ON m.m_fid = l${e}.${e}_late_fid`)
          .join('\n')}
      )
    ) ${own}
    GROUP BY tenant, account, alloc_id, alloc_name, job, node
    ORDER BY full_flows > 0 DESC, best, flows DESC, tenant, account, alloc_id
    LIMIT ${maxAllocations}`;
  const rank = (sql: string) =>
    deps.store.query<AllocationRow>(sql, { params: p.values, settings: deps.settings, signal });
  // One read of the candidates when no end needs a late owner (the rule once the correction job
  // has run, common/ownership/correct.ts): the ranking itself says whether one did; only then are
  // the late ends read (lateAddresses) and the ranking run again with them. The answer is that of
  // the second run in every case: with no such end, its late joins are empty as in the first.
  let rows = principal.role === 'tenant' ? [] : await rank(rankingSql(none, true));
  if (principal.role === 'tenant' || Number(rows[0]?.late_total ?? 0) > 0)
    rows = await rank(rankingSql(await lateAddresses(deps, matched, p, signal), false));
  const accounts = rankAccounts(rows);
  const samples = accounts.flatMap((a) => a.sampleKeys);
  const sampleRows = samples.length ? await readSamples(deps, samples, signal) : [];
  const sampleObjects = await rowsToObjects(deps.store, sampleRows, principal);
  const samplesById = new Map(sampleRows.map((r, i) => [r.id_hex, sampleObjects[i]!]));
  let outsideFlows = 0;
  let indFlows = 0;
  for (const r of rows) {
    outsideFlows += Number(r.outside_flows);
    indFlows += Number(r.ind_flows);
  }
  const inv: Investigation = {
    id: randomUUID(),
    created_at: formatTimeNs(nowNs()),
    created_by: principal.name,
    request,
    window: {
      since: formatTimeNs(bounds.sinceNs),
      until: formatTimeNs(bounds.untilNs),
      reference: request.at === undefined ? null : formatTimeNs(refNs),
    },
    indicator_side:
      indFlows === 0 ? 'none' : outsideFlows === 0 ? 'ours' : outsideFlows === indFlows ? 'outside' : 'mixed',
    accounts: accounts.map(({ sampleKeys, ...a }) => ({
      ...a,
      samples: sampleKeys.flatMap(([, id]) => {
        const o = samplesById.get(id);
        return o ? [o] : [];
      }),
    })),
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

/** One row of the ranking statement: one allocation behind our end, with its counts and samples. */
interface AllocationRow {
  tenant: string;
  account: string;
  alloc_id: string;
  alloc_name: string;
  job: string;
  node: string;
  source: string;
  src_ends: string;
  dst_ends: string;
  outside_flows: string;
  ind_flows: string;
  first_seen: string;
  last_seen: string;
  flows: string;
  full_flows: string;
  best: [number, string];
  verdicts: [string[], string[]];
  conflicts: string[];
  full_samples: SampleKey[];
  any_samples: SampleKey[];
  /** Candidates with an end a late owner could resolve (0 unless checked). */
  late_total: string;
}

/** Groups per-allocation rows (already in rank order) into ranked accounts. */
function rankAccounts(
  rows: readonly AllocationRow[],
): (Omit<InvestigationAccount, 'samples'> & { sampleKeys: SampleKey[] })[] {
  const byKey = new Map<
    string,
    Omit<InvestigationAccount, 'samples'> & {
      sampleKeys: SampleKey[];
      score: number;
      dist: bigint;
      sources: Set<string>;
    }
  >();
  for (const r of rows) {
    const key = JSON.stringify([r.tenant, r.account]);
    let a = byKey.get(key);
    if (!a) {
      a = {
        rank: 0,
        tenant: r.tenant,
        account: r.account,
        full_match_flows: 0,
        flows: 0,
        closest_s: 0,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        verdicts: {},
        source: '',
        attributed_end: 'source',
        attributed_flows: { source: 0, destination: 0 },
        conflicts: [],
        allocations: [],
        sampleKeys: [],
        score: -1,
        dist: 0n,
        sources: new Set(),
      };
      byKey.set(key, a);
    }
    const full = Number(r.full_flows);
    const flows = Number(r.flows);
    const score = -Number(r.best[0]);
    const dist = BigInt(r.best[1]);
    if (score > a.score || (score === a.score && dist < a.dist)) {
      a.score = score;
      a.dist = dist;
    }
    a.full_match_flows += full;
    a.flows += flows;
    if (r.first_seen < a.first_seen) a.first_seen = r.first_seen;
    if (r.last_seen > a.last_seen) a.last_seen = r.last_seen;
    r.verdicts[0].forEach((k, i) => {
      a.verdicts[k] = (a.verdicts[k] ?? 0) + Number(r.verdicts[1][i]);
    });
    for (const s of r.source.split('+')) a.sources.add(s);
    a.attributed_flows.source += Number(r.src_ends);
    a.attributed_flows.destination += Number(r.dst_ends);
    for (const c of r.conflicts) if (!a.conflicts.includes(c)) a.conflicts.push(c);
    a.allocations.push({
      alloc_id: r.alloc_id,
      alloc_name: r.alloc_name,
      job: r.job,
      node: r.node,
      flows,
      full_match_flows: full,
      first_seen: r.first_seen,
      last_seen: r.last_seen,
    });
    const keys = full > 0 ? r.full_samples : r.any_samples;
    a.sampleKeys.push(...keys.slice(0, samplesPerAccount - a.sampleKeys.length));
  }
  // Rows arrive ordered by their own rank; an account's rank is that of its best allocation,
  // except that full matches, match score, closeness and volume are re-compared over the account.
  const list = [...byKey.values()].sort(
    (x, y) =>
      Number(y.full_match_flows > 0) - Number(x.full_match_flows > 0) ||
      y.score - x.score ||
      (x.dist < y.dist ? -1 : x.dist > y.dist ? 1 : 0) ||
      y.full_match_flows - x.full_match_flows ||
      y.flows - x.flows,
  );
  return list.map(({ score: _s, dist, sources, ...a }, i) => ({
    ...a,
    rank: i + 1,
    closest_s: Number(dist / 1_000_000n) / 1000,
    source: [...sources].sort().join('+'),
    attributed_end:
      a.attributed_flows.source && a.attributed_flows.destination
        ? 'both'
        : a.attributed_flows.destination
          ? 'destination'
          : 'source',
  }));
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

/** Columns of the CSV export: one line per allocation, with its account and the case's request. */
export const investigationCsvHeader = [
  'rank',
  'tenant',
  'account',
  'alloc_id',
  'alloc_name',
  'job',
  'node',
  'first_seen',
  'last_seen',
  'flows',
  'full_match_flows',
  'verdicts',
  'source',
  'attributed_end',
  'conflicts',
  'case_id',
  'created_by',
  'created_at',
  'indicator',
  'remote',
  'port',
  'protocol',
  'window_since',
  'window_until',
] as const;

/** The CSV records of a case: one per allocation of each ranked account. */
export function investigationCsvRecords(inv: Investigation): unknown[][] {
  const r = inv.request;
  const request = [
    inv.id,
    inv.created_by,
    inv.created_at,
    r.indicator ?? '',
    r.remote ?? '',
    r.port ?? '',
    r.protocol ?? '',
    inv.window?.since ?? r.since ?? '',
    inv.window?.until ?? r.until ?? '',
  ];
  return inv.accounts.flatMap((a) => {
    const verdicts = Object.entries(a.verdicts)
      .map(([k, v]) => `${k}=${v}`)
      .join(';');
    // Cases saved before accounts carried allocations have none: one line for the account.
    const allocs = a.allocations?.length
      ? a.allocations
      : [{ alloc_id: '', alloc_name: '', job: '', node: '', ...a }];
    return allocs.map((al) => [
      a.rank,
      a.tenant,
      a.account,
      al.alloc_id,
      al.alloc_name,
      al.job,
      al.node,
      al.first_seen,
      al.last_seen,
      al.flows,
      al.full_match_flows,
      verdicts,
      a.source,
      a.attributed_end,
      (a.conflicts ?? []).join(';'),
      ...request,
    ]);
  });
}

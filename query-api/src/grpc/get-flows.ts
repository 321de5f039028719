/**
 * Observer.GetFlows over stored history, with the semantics of Cilium's server
 * (reference/hubble-wire.md §8): `first` streams the oldest `number` flows from `since`;
 * otherwise the newest `number` flows (everything in range when 0), oldest first; `follow` then
 * keeps streaming flows as they are stored, found by polling `received_at` with a lag window so
 * a late-flushed batch is not skipped, and deduplicated by flow_id. Streams stop with a
 * LimitError after `maxStreamRows` rather than reading history without end.
 * @module
 */

import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../common/config/api.ts';
import { InputError, LimitError } from '../../../common/errors.ts';
import { filterSetSql, parseFlowFilter } from '../../../common/filter/index.ts';
import { sleep } from '../../../common/retry.ts';
import { flowRestoreColumns, type StoredFlowRow } from '../../../common/schema/flow-restore.ts';
import { timestampArgNs } from '../../../common/time.ts';
import type { Flow } from '../../../proto/gen/flow/flow.ts';
import type { GetFlowsRequest, GetFlowsResponse } from '../../../proto/gen/observer/observer.ts';
import type { Principal } from '../auth/principal.ts';
import { ownsEnd, redactFlow } from '../auth/redact.ts';
import { and, ownEnds, SqlParams, tenantScope } from '../filters/index.ts';
import { rowFlow } from '../queries/flow-rows.ts';
import { applyFieldMask, compileFieldMask } from './field-mask.ts';

/** What GetFlows needs. */
export interface GetFlowsDeps {
  store: Store;
  settings: QuerySettings;
  limits: ApiLimits;
  /** Poll interval of follow mode, ms. */
  followPollMs: number;
}

type Row = StoredFlowRow & {
  time_ns: string;
  id_hex: string;
  node_name: string;
  received_ns: string;
  g_src_tenant: string;
  g_dst_tenant: string;
};

const columns =
  'toString(toUnixTimestamp64Nano(time)) AS time_ns, lower(hex(flow_id)) AS id_hex, node_name, ' +
  `${flowRestoreColumns}, toString(toUnixTimestamp64Nano(received_at)) AS received_ns, ` +
  'src_tenant AS g_src_tenant, dst_tenant AS g_dst_tenant';
/** The latest instant a range can name (Unix ns): the open end of a history range. */
const maxInt64 = (1n << 63n) - 1n;
/** How far behind the newest received_at each follow poll looks again (late batches). */
const followLagNs = 10_000_000_000n;

/** Most FlowFilters per request (whitelist and blacklist together). */
export const maxFlowFilters = 256;
/** Most values across all filters' repeated fields (addresses, labels, ports…). */
export const maxFlowFilterTerms = 4096;

/**
 * Refuses filter sets too large to evaluate in bounded time or to fit ClickHouse's max_query_size
 * (10,000 whitelist filters once failed there as a 500): INVALID_ARGUMENT naming the limit.
 */
function boundFilters(req: GetFlowsRequest): void {
  const all = [...req.whitelist, ...req.blacklist];
  if (all.length > maxFlowFilters) {
    throw new InputError(
      `too many flow filters (${all.length}); at most ${maxFlowFilters} in whitelist and blacklist together`,
      'whitelist',
    );
  }
  let terms = 0;
  for (const f of all) for (const v of Object.values(f)) if (Array.isArray(v)) terms += v.length;
  if (terms > maxFlowFilterTerms) {
    throw new InputError(
      `flow filters too large (${terms} values); at most ${maxFlowFilterTerms} across all filters`,
      'whitelist',
    );
  }
}

/** Streams the answer to one GetFlows request through `send`; resolves with the number sent. */
export async function serveGetFlows(
  deps: GetFlowsDeps,
  req: GetFlowsRequest,
  principal: Principal,
  send: (r: GetFlowsResponse) => Promise<void>,
  signal: AbortSignal,
): Promise<number> {
  if (req.first && req.follow) throw new InputError('first cannot be specified with follow', 'first');
  boundFilters(req);
  const mask = compileFieldMask(
    req.field_mask?.length ? req.field_mask : (req.experimental?.field_mask ?? []),
  );
  const sinceNs = timestampArgNs(req.since, 'since');
  const untilNs = req.follow ? undefined : timestampArgNs(req.until, 'until');
  const cap = BigInt(deps.limits.maxStreamRows);
  const wanted = req.number === 0n ? undefined : req.number;
  const opts = { settings: deps.settings, signal };
  // Pages stay under the per-statement result limit, so paging never trips it.
  const pageSize = Math.min(2000, deps.limits.maxResultRows);

  // The filters run in ClickHouse, compiled from the one filter language (common/filter): exact
  // Hubble semantics, regexes in RE2 (`match()`), nothing evaluated on the event loop per row.
  const whitelist = req.whitelist.map(parseFlowFilter);
  const blacklist = req.blacklist.map(parseFlowFilter);
  // Conditions shared by every statement: filters and tenant scope (bound once, reused).
  const base = new SqlParams('b');
  // until is inclusive here, exclusive in the bounds.
  const untilExcl = untilNs === undefined ? undefined : untilNs + 1n;
  // The scope's late lookups (ends re-attributed at query time) are bounded by the request's
  // range when it has one; follow without since is bounded only by the tenant's addresses.
  const scope = tenantScope(base, principal, { sinceNs, untilNs: untilExcl });
  const own = ownEnds(base, principal);
  // The history statements restrict `time` to the request's range, so their address filters read
  // through the address index, as the HTTP listing's do (common/filter addressLookupSql); an
  // open end of the range is the index's whole span, which leaves the answer as it is. Follow
  // polls by received_at, not time: its filter goes without the index.
  const historyFilter = and([
    filterSetSql(base, whitelist, blacklist, {
      own,
      addressIndex: { sinceNs: sinceNs ?? 0n, untilNs: untilExcl ?? maxInt64 },
    }),
    scope,
  ]);
  const followFilter = and([filterSetSql(base, whitelist, blacklist, { own }), scope]);
  const query = async (filter: string, extra: string[], tail: string, extraParams: SqlParams) =>
    deps.store.query<Row>(`SELECT ${columns} FROM flows WHERE ${and([filter, ...extra])} ${tail}`, {
      ...opts,
      params: { ...base.values, ...extraParams.values },
    });

  let sent = 0;
  const seen = new Map<string, bigint>();
  const emit = async (r: Row, flow: Flow) => {
    // A tenant sees the identifying detail of its own ends only (auth/redact.ts).
    const shown = redactFlow(flow, principal, {
      source: ownsEnd(principal, r.g_src_tenant),
      destination: ownsEnd(principal, r.g_dst_tenant),
    });
    await send({ flow: applyFieldMask(shown, mask), node_name: r.node_name, time: flow.time });
    sent++;
  };

  // Follow starts from what is stored now; take the watermark before the history part.
  let watermark = 0n;
  let startWatermark = 0n;
  if (req.follow) {
    const w = await deps.store.query<{ w: string }>(
      `SELECT toString(toUnixTimestamp64Nano(max(received_at))) AS w FROM flows`,
      opts,
    );
    watermark = BigInt(w[0]?.w ?? '0');
    startWatermark = watermark;
  }

  const history = !(req.follow && wanted === undefined && sinceNs === undefined);
  if (history) {
    const p = new SqlParams('h');
    const range: string[] = [];
    if (sinceNs !== undefined)
      range.push(`time >= fromUnixTimestamp64Nano(${p.bind(sinceNs, 'Int64')}, 'UTC')`);
    if (untilNs !== undefined)
      range.push(`time <= fromUnixTimestamp64Nano(${p.bind(untilNs, 'Int64')}, 'UTC')`);
    const limit = wanted !== undefined && wanted < cap ? wanted : cap;
    // The newest `number` are collected newest-first, then sent oldest-first; `first` and
    // "everything in range" stream forward directly.
    const backwards = !req.first && wanted !== undefined;
    const collected: { row: Row; flow: Flow }[] = [];
    let matched = 0n;
    let more = false;
    let after: Row | undefined;
    const dir = backwards ? 'DESC' : 'ASC';
    const cmp = backwards ? '<' : '>';
    pages: while (!signal.aborted) {
      const q = new SqlParams('k');
      for (const [k, v] of Object.entries(p.values)) q.values[k] = v;
      const conds = [...range];
      if (after) {
        conds.push(
          `(time, flow_id) ${cmp} (fromUnixTimestamp64Nano(${q.bind(after.time_ns, 'Int64')}, 'UTC'), ` +
            `toFixedString(unhex(${q.bind(after.id_hex, 'String')}), 16))`,
        );
      }
      const rows = await query(
        historyFilter,
        conds,
        `ORDER BY time ${dir}, flow_id ${dir} LIMIT ${q.bind(pageSize, 'UInt32')}`,
        q,
      );
      for (const r of rows) {
        const flow = rowFlow(r);
        if (matched >= limit) {
          more = true;
          break pages;
        }
        matched++;
        if (req.follow) seen.set(r.id_hex, BigInt(r.received_ns));
        if (backwards) collected.push({ row: r, flow });
        else await emit(r, flow);
        if (signal.aborted) break pages;
      }
      after = rows[rows.length - 1];
      if (rows.length < pageSize) break;
    }
    for (let i = collected.length - 1; i >= 0 && !signal.aborted; i--)
      await emit(collected[i]!.row, collected[i]!.flow);
    if (more && (wanted === undefined || wanted > cap) && !req.follow) {
      throw new LimitError(
        'max_stream_rows',
        `more than ${cap} flows match; narrow the time range or the filters (limit api.limits.maxStreamRows)`,
      );
    }
  }

  if (!req.follow) return sent;
  while (!signal.aborted) {
    await sleep(deps.followPollMs, signal).catch(() => {});
    if (signal.aborted) break;
    // Look back over the lag window for late batches, but never before the subscription, and
    // page through everything stored since (a fixed LIMIT alone would stall behind old rows).
    const lagged = watermark > followLagNs ? watermark - followLagNs : 0n;
    let cursorNs = lagged > startWatermark ? lagged : startWatermark;
    // Strictly after `cursorNs` at first: the highest flow_id sorts after every row of that instant.
    let cursorId = 'f'.repeat(32);
    for (;;) {
      const q = new SqlParams('f');
      const rows = await query(
        followFilter,
        [
          `(received_at, flow_id) > (fromUnixTimestamp64Nano(${q.bind(cursorNs, 'Int64')}, 'UTC'), ` +
            `toFixedString(unhex(${q.bind(cursorId, 'String')}), 16))`,
        ],
        `ORDER BY received_at ASC, flow_id ASC LIMIT ${q.bind(pageSize, 'UInt32')}`,
        q,
      );
      for (const r of rows) {
        if (signal.aborted) break;
        const rec = BigInt(r.received_ns);
        cursorNs = rec;
        cursorId = r.id_hex;
        if (seen.has(r.id_hex)) continue;
        seen.set(r.id_hex, rec);
        if (rec > watermark) watermark = rec;
        await emit(r, rowFlow(r));
      }
      if (rows.length < pageSize || signal.aborted) break;
    }
    for (const [id, rec] of seen) if (rec < watermark - followLagNs) seen.delete(id);
  }
  return sent;
}

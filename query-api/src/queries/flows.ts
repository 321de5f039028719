/**
 * The flows service: one page of stored flows for a parsed FlowQuery (keyset-paged by
 * (time, flow_id)), or the same rows as a stream of batches for NDJSON and CSV. Transport-free:
 * the HTTP route and `flowtrail flows` both call it. A page sorted by time reads its newest (or
 * oldest) hour bucket first (flow-windows.ts; an address lookup only when that bucket holds at
 * least half of the range).
 * @module
 */
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { addressKeysInSql } from '../../../common/filter/index.ts';
import { sparseColumnsSql } from '../../../common/schema/flow-restore.ts';
import type { Principal } from '../auth/principal.ts';
import {
  encodeCursor,
  type FlowCursor,
  type FlowQuery,
  type FlowWhereInput,
  flowQueryToSql,
  type LateMode,
  lateCandidatesApply,
  namesLateOwners,
  SqlParams,
  sortColumn,
} from '../filters/index.ts';
import { type FlowRow, flowPageColumns, flowRowColumns } from './flow-rows.ts';
import { hourOf, keyedTimeWindows, timeWindows } from './flow-windows.ts';
import { readLateEndAddresses } from './late-end-addresses.ts';

/** What the flows service needs. */
export interface FlowsDeps {
  store: Store;
  settings: QuerySettings;
}

/** One page of flows. */
export interface FlowPage {
  rows: FlowRow[];
  /** Cursor of the next page; undefined on the last one. */
  nextCursor: string | undefined;
}

type PageRow = FlowRow & { sort_text?: string; certain?: number };

/** A query as a page reads it: one window, with what is known of its late ends. */
type WindowQuery = FlowQuery & Pick<FlowWhereInput, 'lateAddresses'>;

/**
 * The page statement over `query` (its range and cursor). `mode` `candidate`: the superset of
 * flowQueryToSql with a column `certain` (1: the row is in the exact answer on its stored
 * attribution alone). `narrow`: more conditions to AND (flowQueryToSql).
 *
 * An address lookup of several whitelist entries (`ip=X` is two: from X, to X) is one SELECT per
 * entry, each without the rows of the entries before it (added to its blacklist), under UNION ALL
 * and one outer ORDER BY … LIMIT: the same rows as their OR, in one statement. Inside an OR the
 * destination's bloom-filter index cannot prune (the other entry's term is not on that column), so
 * every granule of the keys of X was read, in every part that holds the sender's hour (at 30M flows,
 * a world address at either end over 24 h: 118 granules where `to-ip=X` reads 34); apart, each entry
 * prunes as if alone, and the source entry of an address that never sent selects nothing.
 */
function statement(
  query: WindowQuery,
  principal: Principal,
  limit: number,
  columns = flowRowColumns,
  mode: LateMode = 'exact',
  narrow: readonly string[] = [],
) {
  const p = new SqlParams();
  const dir = query.order === 'newest' ? 'DESC' : 'ASC';
  // The sort column comes from the whitelist (filters/sort.ts); its value rides along for the cursor.
  const col = query.sort === 'time' ? undefined : sortColumn(query.sort);
  const entries = entryQueries(query);
  const apart = entries.length > 1;
  const select = (q: WindowQuery) => {
    const { where, stored } = flowQueryToSql(q, principal, p, mode, narrow);
    const cols = [
      columns,
      ...(col ? [`toString(${col.expr}) AS sort_text`] : []),
      ...(stored ? [`toUInt8(${stored}) AS certain`] : []),
      // The outer ORDER BY of entries read apart: the sort key under names no column has.
      ...(apart
        ? [...(col ? [`${col.expr} AS sort_value`] : []), 'time AS sort_time', 'flow_id AS sort_id']
        : []),
    ];
    return (
      `SELECT ${cols.join(', ')} FROM flows WHERE ${where} ` +
      `ORDER BY ${col ? `${col.expr} ${dir}, ` : ''}time ${dir}, flow_id ${dir} LIMIT ${p.bind(limit, 'UInt32')}`
    );
  };
  if (!apart) return { sql: select(query), params: p.values };
  const order = `${col ? `sort_value ${dir}, ` : ''}sort_time ${dir}, sort_id ${dir}`;
  const sql =
    `SELECT * EXCEPT (${col ? 'sort_value, ' : ''}sort_time, sort_id) FROM (` +
    `${entries.map((q) => `(${select(q)})`).join(' UNION ALL ')}) ORDER BY ${order} LIMIT ${p.bind(limit, 'UInt32')}`;
  return { sql, params: p.values };
}

/**
 * The queries whose union is `query`: itself, or, for an address lookup of several whitelist
 * entries (addressKeyed), one per entry, each leaving out the rows of the entries before it.
 */
function entryQueries(query: WindowQuery): WindowQuery[] {
  const w = query.filters.whitelist;
  if (w.length < 2 || !addressKeyed(query)) return [query];
  return w.map((entry, i) => ({
    ...query,
    filters: {
      ...query.filters,
      whitelist: [entry],
      blacklist: [...query.filters.blacklist, ...w.slice(0, i)],
    },
  }));
}

/**
 * Whether every whitelist entry names an address: the statement then reads key ranges (the source
 * address leads the key within each hour, other addresses go through the address index), so its
 * windows are keyedTimeWindows.
 */
function addressKeyed(query: FlowQuery): boolean {
  const w = query.filters.whitelist;
  return w.length > 0 && w.every((f) => !!(f.source.ip || f.destination.ip || f.ipXlated));
}

/**
 * The windows a page reads, in order: the whole range in one, or (sorted by time) the hour bucket at
 * the newest (or oldest) end first, starting at the cursor's time; for an address lookup, only when
 * that bucket holds at least half of what is left of the range (keyedTimeWindows).
 */
function pageWindows(query: FlowQuery) {
  let { sinceNs, untilNs } = query;
  if (query.sort !== 'time') return [{ sinceNs, untilNs }];
  const c = query.cursor;
  // Rows after the cursor lie at or before its time (newest first) or at or after it (oldest).
  if (c && c.order === 'newest' && c.timeNs + 1n < untilNs) untilNs = c.timeNs + 1n;
  if (c && c.order === 'oldest' && c.timeNs > sinceNs) sinceNs = c.timeNs;
  return (addressKeyed(query) ? keyedTimeWindows : timeWindows)(sinceNs, untilNs, query.order);
}

/**
 * Settings of a page statement. A page is `ORDER BY … LIMIT n` over every column that rebuilds the
 * Flow (flow-rows.ts), while the filters need a few: with lazy materialization ClickHouse reads the
 * filter and sort columns of the granules the keys select, sorts, and only then reads the other
 * columns for the page's rows. It does so only up to `query_plan_max_limit_for_lazy_materialization`
 * rows, whose default differs by version (10000 in chdb 26.7, 10 in earlier servers such as the
 * 25.8 of docker-compose), so a page sets it to its own size. Measured at 30M flows (the pod at
 * either end, 1 h): 143 MB decompressed instead of 250 MB with it off. The rows are the same.
 */
export function pageSettings(settings: QuerySettings, limit: number): QuerySettings {
  return { ...settings, query_plan_max_limit_for_lazy_materialization: Math.max(10, limit) };
}

/**
 * Whether a page reads in candidate mode (LateMode): its owner filters or its tenant scope look at
 * late owners, and no exclusion does. Otherwise the exact statement costs the same.
 */
function readsCandidates(query: FlowQuery, principal: Principal): boolean {
  return looksAtLateOwners(query, principal) && lateCandidatesApply(query.filters);
}

/** Whether a page's statements look at late owners: its scope, owner filters or exclusions do. */
function looksAtLateOwners(query: FlowQuery, principal: Principal): boolean {
  const o = query.filters.owner;
  return principal.role === 'tenant' || namesLateOwners(o) || namesLateOwners(o.exclude);
}

/** Candidate statements per window before the rest of the window is read exactly. */
const candidateRounds = 3;

/**
 * Conditions that find `rows` (read from `flows`) again: their primary-key prefix (hour, source
 * address), so only their granules are read, and their flow ids.
 */
function rowLookupSql(p: SqlParams, rows: readonly PageRow[]): string[] {
  const keys = addressKeysInSql(p, {
    // The index's hours are Unix seconds (address-keys.ts).
    hours: rows.map((r) => Number(hourOf(BigInt(r.time_ns)) / 1_000_000_000n)),
    sources: rows.map((r) => r.src_ip_text),
  });
  const ids = `has(${p.bind(
    rows.map((r) => r.id_hex),
    'Array(String)',
  )}, lower(hex(flow_id)))`;
  return [keys, ids];
}

/**
 * The ids among `rows` (all from `query`'s range) that the exact clause selects: their late owners
 * resolved for just these flows, found by their primary-key prefix and flow id.
 */
async function exactIds(
  deps: FlowsDeps,
  query: WindowQuery,
  principal: Principal,
  rows: readonly PageRow[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const p = new SqlParams();
  const { where, params } = flowQueryToSql(query, principal, p, 'exact', rowLookupSql(p, rows));
  const found = await deps.store.query<{ id_hex: string }>(
    `SELECT lower(hex(flow_id)) AS id_hex FROM flows WHERE ${where}`,
    { params, settings: deps.settings, signal },
  );
  return new Set(found.map((r) => r.id_hex));
}

/**
 * Completes the rows of a page (read with flowPageColumns) with the columns of the sparse groups
 * each has (`r_sparse`), in one statement over just those rows, by their keys. Most pages have
 * none. A row deleted in between (retention, a purge) is left out rather than shown incomplete.
 */
async function readSparseColumns(deps: FlowsDeps, rows: PageRow[], signal?: AbortSignal): Promise<PageRow[]> {
  const sparse = rows.filter((r) => Number(r['r_sparse']) !== 0);
  if (sparse.length === 0) return rows;
  const mask = sparse.reduce((m, r) => m | Number(r['r_sparse']), 0);
  const p = new SqlParams();
  const found = await deps.store.query<Record<string, unknown> & { sparse_id: string }>(
    `SELECT lower(hex(flow_id)) AS sparse_id, ${sparseColumnsSql(mask)} FROM flows ` +
      `WHERE ${rowLookupSql(p, sparse).join(' AND ')}`,
    { params: p.values, settings: deps.settings, signal },
  );
  const byId = new Map(found.map(({ sparse_id, ...columns }) => [sparse_id, columns]));
  return rows.filter((r) => {
    if (Number(r['r_sparse']) === 0) return true;
    const columns = byId.get(r.id_hex);
    if (columns) Object.assign(r, columns);
    return columns !== undefined;
  });
}

/** The keyset cursor just after `row` of a page of `query`. */
function cursorAfter(query: FlowQuery, row: PageRow): FlowCursor {
  return {
    timeNs: BigInt(row.time_ns),
    flowId: row.id_hex,
    order: query.order,
    ...(query.sort !== 'time' ? { sort: { key: query.sort, value: row.sort_text ?? '' } } : {}),
  };
}

/**
 * Reads one page; asks for one row more than the limit to know whether another page exists.
 *
 * Owner filters (and a tenant's scope) also match ends stored as `none` whose owner at the flow's
 * time is known now (filters/late-owner.ts). Resolving those in the statement resolves every such
 * end of the range, although a page needs a hundred rows. So such a page reads candidates: ends
 * stored as `none` match on their address alone (a superset), each row says whether its stored
 * attribution already makes it an answer, and only the other rows the statement returned are
 * resolved exactly (exactIds), by their keys. Rows that fail are dropped and the window is read on
 * after the last candidate, so the page holds exactly the rows, in the order, of the exact
 * statement. A window whose candidates keep failing is read exactly after a few rounds.
 *
 * Rows are read without the column groups most flows leave empty (flowPageColumns: each column
 * costs a block per returned row); readSparseColumns then reads them for the rows that have any.
 */
export async function queryFlowPage(
  deps: FlowsDeps,
  query: FlowQuery,
  principal: Principal,
  signal?: AbortSignal,
): Promise<FlowPage> {
  const rows: PageRow[] = [];
  const candidates = readsCandidates(query, principal);
  const late = looksAtLateOwners(query, principal);
  const read = async (q: WindowQuery, want: number, mode: LateMode) => {
    const { sql, params } = statement(q, principal, want, flowPageColumns, mode);
    return deps.store.query<PageRow>(sql, { params, settings: pageSettings(deps.settings, want), signal });
  };
  for (const w of pageWindows(query)) {
    // Which addresses of the window could have a late owner: usually none, and the statements then
    // leave the late-owner terms out (late-end-addresses.ts).
    const lateAddresses = late ? await readLateEndAddresses(deps, w, signal) : undefined;
    let q: WindowQuery = { ...query, ...w, lateAddresses };
    for (let round = 0; rows.length <= query.limit; round++) {
      const want = query.limit + 1 - rows.length;
      if (!candidates || round >= candidateRounds) {
        rows.push(...(await read(q, want, 'exact')));
        break;
      }
      const got = await read(q, want, 'candidate');
      const unsure = got.filter((r) => !Number(r.certain));
      const exact = unsure.length ? await exactIds(deps, q, principal, unsure, signal) : new Set<string>();
      for (const r of got) {
        if (Number(r.certain) || exact.has(r.id_hex)) rows.push(r);
        delete r.certain;
      }
      const last = got[got.length - 1];
      if (got.length < want || !last) break; // the window has no more candidates
      q = { ...q, cursor: cursorAfter(query, last) };
    }
    if (rows.length > query.limit) break;
  }
  const more = rows.length > query.limit;
  if (more) rows.length = query.limit;
  const last = rows[rows.length - 1];
  return {
    rows: await readSparseColumns(deps, rows, signal),
    nextCursor: more && last ? encodeCursor(cursorAfter(query, last)) : undefined,
  };
}

/** Streams up to `query.limit` rows in batches (for NDJSON and CSV answers and exports). */
export function streamFlows<T = FlowRow>(
  deps: FlowsDeps,
  query: FlowQuery,
  principal: Principal,
  signal?: AbortSignal,
  columns: string = flowRowColumns,
): AsyncIterable<T[]> {
  return (async function* () {
    // As a page's windows: the late terms only for addresses that could have a late owner.
    const lateAddresses = looksAtLateOwners(query, principal)
      ? await readLateEndAddresses(deps, query, signal)
      : undefined;
    const { sql, params } = statement({ ...query, lateAddresses }, principal, query.limit, columns);
    yield* deps.store.queryBatches<T>(sql, { params, settings: deps.settings, signal });
  })();
}

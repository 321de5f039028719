/**
 * The flows service: one page of stored flows for a parsed FlowQuery (keyset-paged by
 * (time, flow_id)), or the same rows as a stream of batches for NDJSON and CSV. Transport-free:
 * the HTTP route and `flowtrail flows` both call it. A page sorted by time whose filters are not
 * address lookups reads its newest (or oldest) hour bucket first (flow-windows.ts).
 * @module
 */
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import type { Principal } from '../auth/principal.ts';
import { encodeCursor, type FlowQuery, flowQueryToSql, SqlParams, sortColumn } from '../filters/index.ts';
import { type FlowRow, flowRowColumns } from './flow-rows.ts';
import { timeWindows } from './flow-windows.ts';

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

function statement(query: FlowQuery, principal: Principal, limit: number, columns = flowRowColumns) {
  const p = new SqlParams();
  const { where, params } = flowQueryToSql(query, principal, p);
  const dir = query.order === 'newest' ? 'DESC' : 'ASC';
  // The sort column comes from the whitelist (filters/sort.ts); its value rides along for the cursor.
  const col = query.sort === 'time' ? undefined : sortColumn(query.sort);
  const select = col ? `${columns}, toString(${col.expr}) AS sort_text` : columns;
  const sql =
    `SELECT ${select} FROM flows WHERE ${where} ` +
    `ORDER BY ${col ? `${col.expr} ${dir}, ` : ''}time ${dir}, flow_id ${dir} LIMIT ${p.bind(limit, 'UInt32')}`;
  return { sql, params };
}

/**
 * Whether every whitelist entry names an address: the statement then reads key ranges (the source
 * address leads the key within each hour, other addresses go through the address index), which
 * costs the same over one window as over the range, so the range is read in one statement.
 */
function addressKeyed(query: FlowQuery): boolean {
  const w = query.filters.whitelist;
  return w.length > 0 && w.every((f) => !!(f.source.ip || f.destination.ip || f.ipXlated));
}

/**
 * The windows a page reads, in order: the whole range in one, or (sorted by time, not an address
 * lookup) the hour bucket at the newest (or oldest) end first, starting at the cursor's time.
 */
function pageWindows(query: FlowQuery) {
  let { sinceNs, untilNs } = query;
  if (query.sort !== 'time' || addressKeyed(query)) return [{ sinceNs, untilNs }];
  const c = query.cursor;
  // Rows after the cursor lie at or before its time (newest first) or at or after it (oldest).
  if (c && c.order === 'newest' && c.timeNs + 1n < untilNs) untilNs = c.timeNs + 1n;
  if (c && c.order === 'oldest' && c.timeNs > sinceNs) sinceNs = c.timeNs;
  return timeWindows(sinceNs, untilNs, query.order);
}

/** Reads one page; asks for one row more than the limit to know whether another page exists. */
export async function queryFlowPage(
  deps: FlowsDeps,
  query: FlowQuery,
  principal: Principal,
  signal?: AbortSignal,
): Promise<FlowPage> {
  const rows: (FlowRow & { sort_text?: string })[] = [];
  for (const w of pageWindows(query)) {
    const { sql, params } = statement({ ...query, ...w }, principal, query.limit + 1 - rows.length);
    rows.push(
      ...(await deps.store.query<FlowRow & { sort_text?: string }>(sql, {
        params,
        settings: deps.settings,
        signal,
      })),
    );
    if (rows.length > query.limit) break;
  }
  const more = rows.length > query.limit;
  if (more) rows.length = query.limit;
  const last = rows[rows.length - 1];
  return {
    rows,
    nextCursor:
      more && last
        ? encodeCursor({
            timeNs: BigInt(last.time_ns),
            flowId: last.id_hex,
            order: query.order,
            ...(query.sort !== 'time' ? { sort: { key: query.sort, value: last.sort_text ?? '' } } : {}),
          })
        : undefined,
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
  const { sql, params } = statement(query, principal, query.limit, columns);
  return deps.store.queryBatches<T>(sql, { params, settings: deps.settings, signal });
}

/**
 * Reads the address index (migrations/0045, common/filter addressKeysSql) ahead of a statement that
 * needs its lookup several times: the investigation names the same addresses in its candidate set,
 * in both late-owner resolutions and in their address sets, and embedding the index's subquery in
 * each would read the index that many times. Read once here, the keys are bound into every place
 * (common/filter addressKeysInSql), which narrows `flows` to the same granules.
 * @module
 */
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { SqlParams } from '../../../common/clickhouse/sql-params.ts';
import { type AddressKeys, addressKeysSql, type SqlTimeRange } from '../../../common/filter/index.ts';
import type { IpPrefix } from '../../../common/filter/ip.ts';

/**
 * Most keys bound into one statement (about 30 bytes of parameters each). Beyond it the caller lets
 * the statement look them up itself (addressLookupSql): the answer is the same either way.
 */
export const maxBoundAddressKeys = 50_000;

/**
 * The distinct (hour, source address) keys of the flows of `range` whose source, destination or
 * post-SNAT address is within `prefixes` (sources since migrations/0085); undefined when the index cannot answer the prefixes (too wide, or
 * covering ::) or when there are more than maxBoundAddressKeys keys.
 */
export async function readAddressKeys(
  deps: { store: Store; settings: QuerySettings },
  prefixes: readonly IpPrefix[],
  range: SqlTimeRange,
  signal?: AbortSignal,
): Promise<AddressKeys | undefined> {
  const p = new SqlParams('a');
  const keys = addressKeysSql(p, prefixes, range);
  if (!keys) return undefined;
  const rows = await deps.store.query<{ h: number; s: string }>(
    `SELECT DISTINCT toUnixTimestamp(hour) AS h, IPv6NumToString(source_ip) AS s FROM (${keys})
     LIMIT ${maxBoundAddressKeys + 1}`,
    { params: p.values, settings: { ...deps.settings, max_result_rows: maxBoundAddressKeys + 1 }, signal },
  );
  if (rows.length > maxBoundAddressKeys) return undefined;
  return { hours: rows.map((r) => Number(r.h)), sources: rows.map((r) => r.s) };
}

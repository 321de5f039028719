/**
 * Reads, ahead of a page's statement, which addresses of its range could have a late owner
 * (TimeBounds.lateAddresses, filters/late-owner.ts lateEndAddressesSql): usually none, and then the
 * statement leaves out its late-owner terms, which would read the addresses and attribution sources
 * of every flow of the range (60-90 ms of a one-hour tenant page at 100M flows) to find nothing.
 * @module
 */
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { SqlParams } from '../../../common/clickhouse/sql-params.ts';
import { lateEndAddressesSql } from '../filters/index.ts';

/**
 * Most addresses bound into a statement. Beyond it the statement finds its candidates itself (the
 * answer is the same; only the cost differs).
 */
export const maxLateAddresses = 10_000;

/**
 * The addresses of `range` an end stored as `none` and held by some allocation may have (none: no
 * late owner in the range); undefined when there are more than maxLateAddresses.
 */
export async function readLateEndAddresses(
  deps: { store: Store; settings: QuerySettings },
  range: { sinceNs: bigint; untilNs: bigint },
  signal?: AbortSignal,
): Promise<string[] | undefined> {
  const p = new SqlParams('l');
  const rows = await deps.store.query<{ ip: string }>(lateEndAddressesSql(p, range, maxLateAddresses + 1), {
    params: p.values,
    settings: deps.settings,
    signal,
  });
  return rows.length > maxLateAddresses ? undefined : rows.map((r) => r.ip);
}

/**
 * An OwnershipLookup fed from the ownership table alone, for processes that store flows but do
 * not follow Nomad (the Kafka writer): intervals are loaded once, then refreshed with the rows
 * recorded since the last refresh (merging is monotone, so overlapping refreshes change
 * nothing). Lookups are the in-memory index, i.e. the one owner rule (owner-rule.ts).
 * @module
 */
import type { Store } from '../clickhouse/store.ts';
import { createIntervalIndex } from './interval-index.ts';
import { mergedOwnershipSql, type OwnershipRow, rowToInterval } from './persistence.ts';
import type { OwnershipLookup } from './types.ts';

/** A refreshable lookup over the stored ownership table. */
export interface StoredOwnership extends OwnershipLookup {
  /** Loads the rows recorded since the last refresh; returns how many intervals were merged. */
  refresh(): Promise<number>;
  /** Number of intervals held. */
  readonly size: number;
}

/** Rows recorded this close before the watermark are read again (clock skew between writers). */
const OVERLAP_NS = 5_000_000_000n;

/** Creates the lookup; call refresh() to load (and again to catch up). */
export function createStoredOwnership(store: Store): StoredOwnership {
  const allocs = createIntervalIndex();
  const nodes = createIntervalIndex();
  let watermark: bigint | undefined;
  return {
    async refresh() {
      const top = await store.query<{ w: string }>(
        'SELECT toString(toUnixTimestamp64Nano(max(recorded_at))) AS w FROM ownership',
      );
      const next = BigInt(top[0]?.w ?? '0');
      const where =
        watermark === undefined
          ? '1'
          : `address IN (SELECT address FROM ownership WHERE recorded_at >= fromUnixTimestamp64Nano({w:Int64}, 'UTC'))`;
      let n = 0;
      for await (const batch of store.queryBatches<OwnershipRow>(mergedOwnershipSql(where), {
        params: watermark === undefined ? {} : { w: (watermark - OVERLAP_NS).toString() },
      })) {
        for (const r of batch) {
          const iv = rowToInterval(r);
          if ((iv.kind === 'alloc' ? allocs : nodes).upsert(iv)) n++;
        }
      }
      watermark = next;
      return n;
    },
    allocAt: (address, t) => allocs.lookup(address, t),
    nodeAt: (address, t) => nodes.lookup(address, t),
    namespaceTenancy: () => undefined,
    get size() {
      return allocs.size + nodes.size;
    },
  };
}

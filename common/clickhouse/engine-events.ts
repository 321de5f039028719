/**
 * The engine's cumulative ProfileEvents counters (system.events): rows and granules its SELECTs
 * selected, rows merged, mutated and inserted, CPU of its threads. chdb has no system.query_log, so
 * benchmarks take the difference of two snapshots around a piece of work; unlike wall time, reads do
 * not change with the machine's load. Process-wide: with chdb, every store of the process counts.
 * @module
 */
import type { Store } from './store.ts';

/** Reads the named counters now (absent ones, never incremented, read 0). */
export async function engineEvents<const N extends string>(
  store: Store,
  names: readonly N[],
): Promise<Record<N, number>> {
  const rows = await store.query<{ event: string; value: string }>(
    'SELECT event, toString(value) AS value FROM system.events WHERE has({names:Array(String)}, event)',
    { params: { names } },
  );
  const out = Object.fromEntries(names.map((n) => [n, 0])) as Record<N, number>;
  for (const r of rows) out[r.event as N] = Number(r.value);
  return out;
}

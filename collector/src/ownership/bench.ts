/**
 * Who-held latency benchmark for `flowtrail bench`: fills the ownership table with `intervals`
 * synthetic intervals (addresses reused by alternating tenants, generated inside ClickHouse so
 * filling is fast), then times `lookups` who() calls at random addresses and instants and
 * reports p50/p99/max in milliseconds.
 * @module
 */
import type { Store } from '../../../common/clickhouse/store.ts';
import { who } from '../../../common/ownership/who.ts';

/** Benchmark result. */
export interface WhoBenchResult {
  intervals: number;
  addresses: number;
  lookups: number;
  fillMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const T0 = 1_700_000_000_000_000_000n;
const SLOT = 600_000_000_000n; // ten minutes per holder

/** Fills `ownership` (in the given store: use a scratch database) and measures who(). */
export async function benchWho(
  store: Store,
  opts: { intervals?: number; perAddress?: number; lookups?: number } = {},
): Promise<WhoBenchResult> {
  const intervals = opts.intervals ?? 1_000_000;
  const per = opts.perAddress ?? 10;
  const lookups = opts.lookups ?? 500;
  const addresses = Math.ceil(intervals / per);
  const t0 = performance.now();
  await store.command(
    `INSERT INTO ownership (address, kind, alloc_id, alloc_name, namespace, job, \`group\`, node_id, node_name, tenant, account, start, \`end\`, nomad_index, recorded_at)
     SELECT toIPv6(IPv4NumToString(toUInt32(167772160 + intDiv(number, {per:UInt32})))), 'alloc',
       concat('alloc-', toString(number)), concat('job-', toString(number % 500), '.web[0]'),
       concat('tenant-', toString(number % 97)), concat('job-', toString(number % 500)), 'web',
       'node-id', concat('node-', toString(number % 40)), concat('tenant-', toString(number % 97)),
       concat('acct-', toString(number % 97)),
       fromUnixTimestamp64Nano(toInt64({t0:Int64} + (number % {per:UInt32}) * {slot:Int64})),
       fromUnixTimestamp64Nano(toInt64({t0:Int64} + (number % {per:UInt32} + 1) * {slot:Int64} - 1000000000)),
       number, now64(9)
     FROM numbers({n:UInt64})`,
    { params: { per, t0: T0.toString(), slot: SLOT.toString(), n: intervals } },
  );
  const fillMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < lookups; i++) {
    const a = 167772160 + Math.floor(Math.random() * addresses);
    const ip = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
    const at = T0 + BigInt(Math.floor(Math.random() * per * 600)) * 1_000_000_000n;
    const s = performance.now();
    await who(store, ip, at);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return {
    intervals,
    addresses,
    lookups,
    fillMs: Math.round(fillMs),
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: times.at(-1)!,
  };
}

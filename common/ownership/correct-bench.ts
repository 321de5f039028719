/**
 * Cost of the late-owner correction (correct.ts), for notes/attrib.md: does it depend on the
 * late flows or on what is stored? Fills `flows`, all by SQL inside ClickHouse, with `stored`
 * attributed flows spread over `days` days (received now, so retention keeps them) and `late`
 * flows stored as nobody's in the newest hour over `addresses` addresses, the ownership table
 * with 4 consecutive 15-minute intervals per address, then times one correctLateOwners run (per
 * step) and, for comparison, the query-time alternative: a tenant breakdown of the late hour
 * resolving each late end through the owner rule's SQL (what an ASOF-style join at query time
 * costs per query), against the same breakdown from the corrected rollup.
 *
 * Run: `npx tsx common/ownership/correct-bench.ts <stored> <late[,late…]> [addresses] [days] [dataDir]`
 * (several late counts: one phase each, on the same store, one JSON line per phase).
 * @module
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChdbStore } from '../clickhouse/chdb-store.ts';
import { migrate } from '../clickhouse/migrator.ts';
import { correctLateOwners } from './correct.ts';
import { resolveOwnersSql } from './owner-rule.ts';

const stored = Number(process.argv[2] ?? 1_000_000);
// Late flows per phase (comma-separated): each phase adds that many and runs one correction.
const phases = (process.argv[3] ?? '100000').split(',').map(Number);
const addresses = Number(process.argv[4] ?? 10_000);
const days = Number(process.argv[5] ?? 10);
const dir = process.argv[6] ?? mkdtempSync(path.join(tmpdir(), 'ft-correct-bench-'));
const intervalsPerAddress = 4;
const store = await createChdbStore(dir, 'bench');
await migrate(store);
const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t = Date.now();
  const r = await work();
  return [r, Date.now() - t];
};

// The newest hour is [H, H + 3600); stored flows go back `days` days from H + 3600.
const H = Math.floor(Date.now() / 1000 / 3600) * 3600 - 3600;
const span = days * 86_400;
const insertSettings = { max_partitions_per_insert_block: 1000, max_insert_threads: 2 };
// A store filled by an earlier run (same dataDir) is reused: the fill is most of the time.
const [had] = await store.query<{ n: string }>(
  "SELECT toString(countIf(src_source = 'label')) AS n FROM flows",
);
const reuse = Number(had?.n ?? 0) >= stored;
const run = Date.now().toString(36);
const [, fillStoredMs] = await timed(async () => {
  // In chunks of 10M so one insert's memory stays bounded.
  for (let off = 0; off < (reuse ? 0 : stored); off += 10_000_000) {
    const n = Math.min(10_000_000, stored - off);
    await store.command(
      `INSERT INTO flows (flow_id, time, source_ip, destination_ip, verdict, l4_protocol, destination_port,
         src_source, src_tenant, src_account, src_alloc_id, src_scope, dst_source, dst_scope, received_at)
       SELECT toFixedString(substring(MD5(concat('s', toString(number))), 1, 16), 16),
         toDateTime64(${H + 3600 - span} + (number * ${span}) / ${Math.max(stored, 1)}, 9, 'UTC'),
         toIPv6(IPv4NumToString(toUInt32(184549376 + number % 200))), toIPv6('8.8.8.8'), 'FORWARDED', 'TCP', 443,
         'label', concat('tenant-', toString(number % 13)), concat('acct-', toString(number % 13)),
         concat('alloc-s', toString(number % 200)), 'private', 'none', 'world', now64(9)
       FROM numbers(${off}, ${n})`,
      { settings: insertSettings },
    );
  }
});
await store.command(
  `INSERT INTO ownership (address, kind, alloc_id, alloc_name, namespace, job, \`group\`, node_id, node_name,
     tenant, account, start, \`end\`, nomad_index, recorded_at)
   SELECT toIPv6(IPv4NumToString(toUInt32(167772160 + intDiv(number, ${intervalsPerAddress})))), 'alloc',
     concat('alloc-${run}-', toString(number)), concat('job.web[', toString(number % 7), ']'), 'ns', 'job', 'web', 'n', 'n',
     concat('tenant-', toString(number % 13)), concat('acct-', toString(number % 13)),
     toDateTime64(${H} + (number % ${intervalsPerAddress}) * 900, 9, 'UTC'),
     toDateTime64(${H} + (number % ${intervalsPerAddress} + 1) * 900, 9, 'UTC'), number + 1, now64(9)
   FROM numbers(${addresses * intervalsPerAddress})`,
);
let phase = 0;
for (const late of phases) {
  phase++;
  const [, fillLateMs] = await timed(() =>
    store.command(
      `INSERT INTO flows (flow_id, time, source_ip, destination_ip, verdict, l4_protocol, destination_port,
         src_source, dst_source, src_scope, dst_scope, received_at)
       SELECT toFixedString(substring(MD5(concat('l${run}-${phase}-', toString(number))), 1, 16), 16),
         toDateTime64(${H} + (number % 3600) + (number % 1000) / 1000, 9, 'UTC'),
         toIPv6(IPv4NumToString(toUInt32(167772160 + number % ${addresses}))), toIPv6('8.8.8.8'), 'FORWARDED', 'TCP', 443,
         'none', 'none', 'private', 'world', now64(9)
       FROM numbers(${late})`,
      { settings: insertSettings },
    ),
  );

  const lateHour = `time >= toDateTime64(${H}, 9, 'UTC') AND time < toDateTime64(${H + 3600}, 9, 'UTC')`;
  // Query-time alternative, before the correction: effective src tenant of every flow of the hour.
  const [qt, queryTimeMs] = await timed(() =>
    store.query<{ tenant: string; n: string }>(
      `SELECT if(r.probe_id = '', f.src_tenant, r.owner_tenant) AS tenant, toString(count()) AS n
       FROM (SELECT flow_id, src_tenant FROM flows WHERE ${lateHour}) AS f
       LEFT JOIN (${resolveOwnersSql(
         `SELECT flow_id AS probe_id, source_ip AS probe_ip, time AS probe_time FROM flows WHERE ${lateHour} AND src_source = 'none'`,
         { allocOnly: true },
       )}) AS r ON f.flow_id = r.probe_id
       GROUP BY tenant ORDER BY tenant`,
      { settings: { join_use_nulls: 0 } },
    ),
  );
  // The window the collector's periodic run uses (the newest hours), here the late hour.
  const [r, correctMs] = await timed(() => correctLateOwners(store, { sinceNs: BigInt(H) * 1_000_000_000n }));
  const [rollup, rollupMs] = await timed(() =>
    store.query<{ tenant: string; n: string }>(
      `SELECT src_tenant AS tenant, toString(sum(flows)) AS n FROM flows_minute
       WHERE minute >= toDateTime(${H}, 'UTC') AND minute < toDateTime(${H + 3600}, 'UTC')
       GROUP BY tenant HAVING sum(flows) != 0 ORDER BY tenant`,
    ),
  );
  const check = await store.query<{ n: string; total: string }>(
    `SELECT toString(countIf(src_source = 'ownership')) AS n, toString(count()) AS total FROM flows`,
  );
  process.stdout.write(
    `${JSON.stringify({
      stored,
      late,
      addresses,
      days,
      totalFlows: Number(check[0]!.total),
      corrected: r.src + r.dst,
      rewritten: Number(check[0]!.n),
      correctMs,
      stepMs: r.stepMs,
      queryTimeAlternativeMs: queryTimeMs,
      rollupReadMs: rollupMs,
      sameAnswer: JSON.stringify(qt) === JSON.stringify(rollup),
      fillStoredMs,
      reusedStore: reuse,
      fillLateMs,
      dir,
    })}\n`,
  );
}
await store.close();

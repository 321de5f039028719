/**
 * Cost of the late-owner correction (correct.ts), for notes/attrib.md: fills `flows` with
 * `flows` rows stored as nobody's over `addresses` addresses, and the ownership table with
 * `intervalsPerAddress` consecutive intervals per address, all inside ClickHouse, then times
 * one correctLateOwners run. Run: `npx tsx common/ownership/correct-bench.ts [flows] [addresses]`.
 * @module
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChdbStore } from '../clickhouse/chdb-store.ts';
import { migrate } from '../clickhouse/migrator.ts';
import { correctLateOwners } from './correct.ts';

const flows = Number(process.argv[2] ?? 1_000_000);
const addresses = Number(process.argv[3] ?? 10_000);
const intervalsPerAddress = 4;
const store = await createChdbStore(mkdtempSync(path.join(tmpdir(), 'ft-correct-bench-')), 'bench');
await migrate(store);
// One hour of flows; each address held by 4 consecutive allocations of 15 minutes.
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
await store.command(
  `INSERT INTO ownership (address, kind, alloc_id, alloc_name, namespace, job, \`group\`, node_id, node_name,
     tenant, account, start, \`end\`, nomad_index, recorded_at)
   SELECT toIPv6(IPv4NumToString(toUInt32(167772160 + intDiv(number, ${intervalsPerAddress})))), 'alloc',
     concat('alloc-', toString(number)), concat('job.web[', toString(number % 7), ']'), 'ns', 'job', 'web', 'n', 'n',
     concat('tenant-', toString(number % 13)), concat('acct-', toString(number % 13)),
     toDateTime64(${T0} + (number % ${intervalsPerAddress}) * 900, 9, 'UTC'),
     toDateTime64(${T0} + (number % ${intervalsPerAddress} + 1) * 900, 9, 'UTC'), number + 1, now64(9)
   FROM numbers(${addresses * intervalsPerAddress})`,
);
await store.command(
  `INSERT INTO flows (flow_id, time, source_ip, destination_ip, src_source, dst_source, received_at)
   SELECT toFixedString(substring(MD5(toString(number)), 1, 16), 16),
     toDateTime64(${T0} + (number % 3600) + (number % 1000) / 1000, 9, 'UTC'),
     toIPv6(IPv4NumToString(toUInt32(167772160 + number % ${addresses}))), toIPv6('8.8.8.8'), 'none', 'none', now64(9)
   FROM numbers(${flows})`,
  { settings: { max_partitions_per_insert_block: 1000 } },
);
const r = await correctLateOwners(store);
const check = await store.query<{ n: string }>(
  "SELECT toString(countIf(src_source = 'ownership')) AS n FROM flows",
);
process.stdout.write(
  `${JSON.stringify({ flows, addresses, intervals: addresses * intervalsPerAddress, corrected: r.src + r.dst, rewritten: Number(check[0]!.n), ms: r.ms })}\n`,
);
await store.close();

/**
 * Cost of the late-owner correction (correct.ts) at size: does it depend on the late flows or on
 * what is stored? It runs on a store filled by the scale bench (bin/bench-scale.ts, through
 * `flowtrail bench --scale N --keep DIR`: N flows over 24 h, 20,000 pod addresses, all attributed
 * at ingest), so there is one fill of the store and one copy of its SQL. Its ownership counts as
 * examined (markOwnershipExamined: the fill attributed every flow from it). Each phase then adds
 * `late` flows stored as nobody's in the fill's newest hour, from `addresses` new pod addresses
 * (30% to another of them, so destination ends are late too, 70% to the world), and after them the
 * ownership of those addresses (4 consecutive 15-minute intervals each), and times one
 * correctLateOwners run over the collector's window (the newest 2 h), per step. For comparison it
 * times the query-time alternative: a tenant breakdown of the late hour resolving each late end
 * through the owner rule's SQL (what an ASOF-style join costs per query), against the same
 * breakdown from the corrected rollup. And what the correction's lightweight UPDATE (step 3,
 * migration 0101) costs readers: a row page of the late hour (the listing's columns; all flows,
 * one late pod's, one tenant's, one late pod's as destination) read before the correction, after
 * it (patch parts applied), after it without applying them, and once the patches the run asked to
 * fold in (APPLY PATCHES, in the background) are folded and dropped, with how long that took;
 * and, after closing and reopening the store, that the corrected ends still read corrected.
 *
 * Wall times move with the machine's load; next to each it reports what load does not change:
 * rows, marks and bytes the engine selected (system.events SelectedRows/SelectedMarks/
 * SelectedBytes, this process only: chdb has no query_log), rows mutated, patch rows read and the
 * engine's time reading and applying them, and CPU (the process's user+system time, which
 * includes the engine's background threads, e.g. merges).
 *
 * Run: `npx tsx bin/correct-bench.ts <keptDir> <late[,late…]> [addresses]` (several
 * late counts: one phase each, on the same store, one JSON line per phase). Run it on a copy of
 * a kept store: the phases add flows and rewrite some.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { engineEvents } from '../common/clickhouse/engine-events.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import type { QuerySettings, Store } from '../common/clickhouse/store.ts';
import { correctLateOwners, markOwnershipExamined } from '../common/ownership/correct.ts';
import { resolveOwnersSql } from '../common/ownership/owner-rule.ts';
import { flowRowColumns } from '../query-api/src/queries/flow-rows.ts';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir)
  throw new Error(
    'usage: correct-bench.ts <keptDir from flowtrail bench --scale N --keep> <late[,late…]> [addresses]',
  );
const phases = (args[1] ?? '100000').split(',').map(Number);
const addresses = Number(args[2] ?? 10_000);
const intervalsPerAddress = 4;
// The scale bench's kept store: its data directory, database and 24 h window (bin/bench-scale.ts).
const fill = JSON.parse(readFileSync(path.join(dir, 'fill.json'), 'utf8')) as {
  endNs: string;
  chunksDone: number;
  chunks: number;
};
// A fill stopped early (--fill-minutes) is a uniform fill of fewer flows over the same 24 h.
if (fill.chunksDone === 0) throw new Error('the kept store holds no finished fill chunk');
let store = await createChdbStore(path.join(dir, 'data'), 'scale');
// The first run on a kept store applies the migrations it lacks (0101 on a store filled before it).
const migrateStarted = performance.now();
const migrated = await migrate(store);
const migration = { applied: migrated.applied, ms: Math.round(performance.now() - migrateStarted) };

const counterNames = [
  'SelectedRows',
  'SelectedMarks',
  'SelectedBytes',
  'MutatedRows',
  'MergedRows',
  'InsertedRows',
  'UserTimeMicroseconds',
  'SystemTimeMicroseconds',
  'PatchesReadRows',
  'ReadPatchesMicroseconds',
  'ApplyPatchesMicroseconds',
] as const;
type Counters = Record<(typeof counterNames)[number], number>;
const counters = (s: Store): Promise<Counters> => engineEvents(s, counterNames);
/** What a piece of work cost: wall ms, engine counters, process CPU ms. */
interface Cost {
  ms: number;
  rowsRead: number;
  marksRead: number;
  bytesRead: number;
  rowsMutated: number;
  rowsInserted: number;
  /** Rows the engine's background merges read meanwhile (a fresh store merges for a while). */
  rowsMerged: number;
  /** CPU of this process (the engine runs in it, background merges and mutations included). */
  cpuMs: number;
  /** CPU the engine counted to its statements' threads (system.events). */
  engineCpuMs: number;
  /** Rows of patch parts (migration 0101) read, and ms spent reading and applying them. */
  patchRowsRead: number;
  patchMs: number;
}
function costBetween(a: Counters, b: Counters, cpu: NodeJS.CpuUsage, ms: number): Cost {
  return {
    ms: Math.round(ms),
    rowsRead: b.SelectedRows - a.SelectedRows,
    marksRead: b.SelectedMarks - a.SelectedMarks,
    bytesRead: b.SelectedBytes - a.SelectedBytes,
    rowsMutated: b.MutatedRows - a.MutatedRows,
    rowsInserted: b.InsertedRows - a.InsertedRows,
    rowsMerged: b.MergedRows - a.MergedRows,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    engineCpuMs: Math.round(
      (b.UserTimeMicroseconds -
        a.UserTimeMicroseconds +
        b.SystemTimeMicroseconds -
        a.SystemTimeMicroseconds) /
        1000,
    ),
    patchRowsRead: b.PatchesReadRows - a.PatchesReadRows,
    patchMs: Math.round(
      (b.ReadPatchesMicroseconds -
        a.ReadPatchesMicroseconds +
        b.ApplyPatchesMicroseconds -
        a.ApplyPatchesMicroseconds) /
        1000,
    ),
  };
}
async function measured<T>(work: () => Promise<T>): Promise<[T, Cost]> {
  const c0 = await counters(store);
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const r = await work();
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  return [r, costBetween(c0, await counters(store), cpu, ms)];
}

const endNs = BigInt(fill.endNs);
const hourNs = 3_600_000_000_000n;
const lateStart = endNs - hourNs;
const S = (ns: bigint) => (ns / 1_000_000_000n).toString();
const [examined] = await store.query<{ n: string }>(
  'SELECT toString(count()) AS n FROM flow_owner_correction_scans',
);
if (examined?.n === '0') await markOwnershipExamined(store);
const [stored] = await store.query<{ n: string }>('SELECT toString(count()) AS n FROM flows');
// Patch parts an earlier run's APPLY PATCHES made unneeded come back as active when the store is
// reopened (seen with chdb 26.7) until the cleanup drops them again: waited for, so the first
// phase's readers start from a store without patches.
const [startPatches, startFolding] = await measured(foldedPatches);
const run = Date.now().toString(36);
const podBase = 171_966_464; // 10.64.0.0: outside the fill's 20,000 pod addresses (10.0.0.0 + p)
let phase = 0;
for (const late of phases) {
  phase++;
  const base = podBase + phase * 65_536;
  const pod = (n: string) => `toIPv6(IPv4NumToString(toUInt32(${base} + ${n})))`;
  const [, fillLate] = await measured(() =>
    store.command(
      `INSERT INTO flows (flow_id, time, source_ip, destination_ip, verdict, l4_protocol, destination_port,
         src_source, dst_source, src_scope, dst_scope, received_at)
       SELECT MD5(concat('late-${run}-${phase}-', toString(number))),
         fromUnixTimestamp64Nano(toInt64(${lateStart} + intDiv(number * ${hourNs}, ${late})), 'UTC'),
         ${pod(`number % ${addresses}`)},
         if(number % 10 < 3, ${pod(`(number * 7 + 1) % ${addresses}`)}, toIPv6('8.8.8.8')),
         'FORWARDED', 'TCP', 443, 'none', 'none', 'private', if(number % 10 < 3, 'private', 'world'), now64(9)
       FROM numbers(${late})`,
      { settings: { max_insert_threads: 2 } },
    ),
  );
  // The owners arrive after their flows.
  await store.command(
    `INSERT INTO ownership (address, kind, alloc_id, alloc_name, namespace, job, \`group\`, node_id, node_name,
       tenant, account, start, \`end\`, nomad_index, recorded_at)
     SELECT ${pod(`intDiv(number, ${intervalsPerAddress})`)}, 'alloc',
       concat('alloc-late-${run}-${phase}-', toString(number)), concat('late.web[', toString(number % 7), ']'), 'ns', 'late',
       'web', 'n', 'n', concat('tenant-', toString(number % 13)), concat('account-', toString(number % 13)),
       toDateTime64(${S(lateStart)} + (number % ${intervalsPerAddress}) * 900, 9, 'UTC'),
       toDateTime64(${S(lateStart)} + (number % ${intervalsPerAddress} + 1) * 900, 9, 'UTC'), number + 1, now64(9)
     FROM numbers(${addresses * intervalsPerAddress})`,
  );

  const lateHour = `time >= fromUnixTimestamp64Nano(${lateStart}, 'UTC') AND time < fromUnixTimestamp64Nano(${endNs}, 'UTC')`;
  const [[hourFlows], countCost] = await measured(() =>
    store.query<{ n: string }>(`SELECT toString(count()) AS n FROM flows WHERE ${lateHour}`),
  );
  void countCost;
  // Query-time alternative, before the correction: effective src tenant of every flow of the hour.
  const [qt, queryTime] = await measured(() =>
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
  // What a row page of the late hour costs to read (the listing's columns, newest first, 100 rows):
  // all flows, one late pod's (primary key), one tenant's (set index on a corrected column), one
  // late pod as destination (bloom filter on a column the correction does not write).
  const readers = {
    page: '',
    pod: ` AND source_ip = ${pod('0')}`,
    tenant: " AND src_tenant = 'tenant-3'",
    destination: ` AND destination_ip = ${pod('1')}`,
  };
  const readAll = async (settings: QuerySettings = {}) => {
    const out: Record<string, Cost & { rows: number }> = {};
    for (const [name, filter] of Object.entries(readers)) {
      // Three runs, the median by wall time (the counters are the same in each).
      const runs: [unknown[], Cost][] = [];
      for (let i = 0; i < 3; i++)
        runs.push(
          await measured(() =>
            store.query(
              `SELECT ${flowRowColumns} FROM flows WHERE ${lateHour}${filter} ORDER BY time DESC, flow_id DESC LIMIT 100`,
              { settings },
            ),
          ),
        );
      const [rows, cost] = runs.sort((a, b) => a[1].ms - b[1].ms)[1]!;
      out[name] = { ...cost, rows: rows.length };
    }
    return out;
  };
  const readBefore = await readAll();
  // The collector's run: the newest 2 h (its default window), per step.
  const steps: Record<string, Cost> = {};
  let c = await counters(store);
  let cpu = process.cpuUsage();
  let t = performance.now();
  const [r, correction] = await measured(() =>
    correctLateOwners(store, {
      sinceNs: endNs - 2n * hourNs,
      afterWork: async (work) => {
        const now = await counters(store);
        steps[work] = costBetween(c, now, process.cpuUsage(cpu), performance.now() - t);
        c = now;
        cpu = process.cpuUsage();
        t = performance.now();
      },
    }),
  );
  const [rollup, rollupRead] = await measured(() =>
    store.query<{ tenant: string; n: string }>(
      `SELECT src_tenant AS tenant, toString(sum(flows)) AS n FROM flows_minute_detail
       WHERE minute >= toDateTime(${S(lateStart)}, 'UTC') AND minute < toDateTime(${S(endNs)}, 'UTC')
       GROUP BY tenant HAVING sum(flows) != 0 ORDER BY tenant`,
    ),
  );
  const [left] = await store.query<{ n: string }>(
    `SELECT toString(count()) AS n FROM flows WHERE ${lateHour} AND src_source = 'none'`,
  );
  // The same pages with the patch parts (migration 0101) applied as readers apply them, and not
  // applied (what the reads would cost once merges have folded them in; the answers are then stale).
  const readAfter = await readAll();
  const readUnpatched = await readAll({ apply_patch_parts: 0 });
  // The run asked for the patches to be folded in (APPLY PATCHES) without waiting: how long the
  // background takes, until no patch part is left (the cleanup drops unneeded ones every ~30 s).
  const [patchesLeft, folding] = await measured(foldedPatches);
  const readFolded = await readAll();
  process.stdout.write(
    `${JSON.stringify({
      storedFlows: Number(stored?.n ?? 0),
      flowsInLateHour: Number(hourFlows?.n ?? 0),
      late,
      addresses,
      corrected: { src: r.src, dst: r.dst },
      lateSrcLeft: Number(left?.n ?? 0),
      correction,
      steps,
      queryTimeAlternative: queryTime,
      patches: await patchParts(),
      readBefore,
      readAfter,
      readUnpatched,
      folding: { ...folding, patchesLeft },
      readFolded,
      rollupRead,
      sameAnswer: JSON.stringify(qt) === JSON.stringify(rollup),
      fillLate,
      migration,
      startFolding: { ms: startFolding.ms, patchesLeft: startPatches },
      dir,
    })}\n`,
  );
}
// Patch parts are parts: they survive a restart. Reopened, the corrected ends still read corrected.
await store.close();
store = await createChdbStore(path.join(dir, 'data'), 'scale');
const [reopened] = await store.query<{ n: string }>(
  `SELECT toString(count()) AS n FROM flows
   WHERE time >= fromUnixTimestamp64Nano(${lateStart}, 'UTC') AND time < fromUnixTimestamp64Nano(${endNs}, 'UTC')
     AND src_source = 'none'`,
);
process.stdout.write(
  `${JSON.stringify({ reopened: { lateSrcLeft: Number(reopened?.n ?? 0), patches: await patchParts() } })}\n`,
);
await store.close();

/** Waits (up to 10 min) until `flows` has no unfinished mutation and no patch part; what is left. */
async function foldedPatches() {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const [m] = await store.query<{ n: string }>(
      `SELECT toString(count()) AS n FROM system.mutations
       WHERE database = currentDatabase() AND table = 'flows' AND NOT is_done`,
    );
    const patches = await patchParts();
    if ((m?.n === '0' && patches.parts === 0) || Date.now() > deadline) return patches;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The patch parts of `flows` now: count, rows, bytes on disk. */
async function patchParts() {
  const [p] = await store.query<{ parts: string; rows: string; bytes: string }>(
    `SELECT toString(count()) AS parts, toString(sum(rows)) AS rows, toString(sum(bytes_on_disk)) AS bytes
     FROM system.parts WHERE database = currentDatabase() AND table = 'flows' AND active
       AND startsWith(partition_id, 'patch-')`,
  );
  return { parts: Number(p?.parts ?? 0), rows: Number(p?.rows ?? 0), bytes: Number(p?.bytes ?? 0) };
}

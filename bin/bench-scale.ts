/**
 * `flowtrail bench --scale N`: the store at size. Fills N synthetic flows straight into `flows` by
 * SQL (20,000 pod addresses, 1M world addresses, 200 tenants, 80,000 ownership intervals, 24 h),
 * serves them with the real HTTP API (`startApi`, open auth, in this process) and times every
 * question of issue 13's table over loopback HTTP (p50 and p99 of warm requests); then measures
 * the ingest rate (the ClickHouse sink, the same flows) into that filled store against an empty one.
 *
 * The fill goes in chunks of consecutive flows, newest first: chunk 0 holds the last 1/K of the
 * 24 h, chunk 1 the slice before it, and so on. A live store is written in time order, so its parts
 * (and the merges of them) each cover a stretch of time; an earlier fill interleaved its chunks
 * (chunk k held flows k, k+K, k+2K, …), which left every part spanning the whole day: one pod's hour
 * then sat in every part, a layout no live store has, and a lookup read a granule of each. After the
 * fill, the background merges are let settle (up to `settleMinutes`) before anything is timed, as a
 * store that has been running would be, and the active parts are reported.
 *
 * With `keep` (a directory), the filled store is kept there and reused by the next run with the
 * same N. A fill stopped early (`fillMinutes`) holds the newest hours complete (so the 1 h
 * questions see a full hour), which the questions are then timed on and the next run resumes.
 *
 * Lives in bin/ because it drives both sides (collector's sink, query-api's server).
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { medianOf, withScratchDatabase } from '../collector/src/bench/ingest-bench.ts';
import { createGenerator } from '../collector/src/generator/generator.ts';
import {
  createClickHouseSink,
  defaultClickHouseSinkConfig,
} from '../collector/src/writer/clickhouse-sink.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { engineEvents } from '../common/clickhouse/engine-events.ts';
import type { Store } from '../common/clickhouse/index.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import { loadServiceConfig } from '../common/config/env.ts';
import { flowIdFromUuid } from '../common/flow/flow-id.ts';
import { type IngestedFlow, ingestFlow, nowNs, timestampToNs } from '../common/flow/model.ts';
import { configureLogging, createLogger } from '../common/logger.ts';
import { createMetrics } from '../common/metrics.ts';
import { startApi } from '../query-api/src/main.ts';

export interface ScaleBenchOptions {
  /** Flows to fill. */
  flows: number;
  /** Warm requests per question (after one untimed). Default 6. */
  runs: number;
  /** Flows ingested into the empty and the filled store. Default 200,000. */
  ingestFlows: number;
  /** Rounds of that pair (the medians are reported). Default 3. */
  ingestRounds?: number;
  /** Keep the filled store in this directory and reuse it (see the module comment). */
  keep?: string | undefined;
  /** Stop filling after this many minutes (at a chunk's end) and time what is filled. */
  fillMinutes?: number | undefined;
  /** How long to wait for background merges to settle before timing. Default 30. */
  settleMinutes?: number | undefined;
  /** Progress messages (stderr). */
  say: (msg: string) => void;
}

/** What a kept store holds: its 24 h window and how far its fill got. */
interface FillState {
  flows: number;
  startNs: string;
  endNs: string;
  chunks: number;
  chunksDone: number;
  fillSeconds: number;
  /** Filled-store ingest runs so far (each uses its own generator seed). */
  ingestRuns?: number;
  /** How chunks split the flows: `time` (consecutive, newest first); a store without it was interleaved. */
  order?: 'time';
}

/** Flows per fill statement. */
const chunkFlows = 5_000_000;

export interface QueryTiming {
  name: string;
  goal_ms: number;
  p50_ms: number;
  p99_ms: number;
  /** HTTP statuses seen (a 503 is a limit that stopped the query). */
  statuses: number[];
  /**
   * What the engine read for one request (median over the runs): rows and granules (marks) the
   * SELECTs selected, and how many SELECTs ran. Load does not change these, so they show what an
   * index or a rollup saved when wall times are noisy.
   */
  rows_read: number;
  marks_read: number;
  statements: number;
  /** Which table answered, when the answer says (`source` of the aggregates: rollup or flows). */
  source?: string;
}

const pods = 20_000;
const worlds = 1_000_000;
const tenants = 200;
const slotsPerPod = 4; // 80,000 ownership intervals: each pod address held by 4 allocations over 24 h
const dayNs = 86_400_000_000_000n;

/**
 * The flow numbers chunk `k` of `chunks` fills, `n` from `first`: the chunks tile 0…flows-1, newest
 * (highest numbers, latest times) first, so a fill stopped after k chunks holds the newest hours.
 */
export function fillChunk(k: number, flows: number, chunks: number): { first: number; n: number } {
  const perChunk = Math.ceil(flows / chunks);
  const end = Math.max(0, flows - k * perChunk);
  const first = Math.max(0, end - perChunk);
  return { first, n: end - first };
}

/**
 * The SQL fill: flows spread evenly over the 24 h before `endNs`, 70% pod → world, 30% pod → pod.
 * One statement inserts `{n}` consecutive flow numbers from `{first}` (flow i at start + i·step);
 * `skipStored` leaves out those already stored (a chunk cut short by a stop).
 */
function fillSql(skipStored = false): string {
  const h = (salt: number) => `cityHash64(number, ${salt})`;
  const pod = `(${h(1)} % ${pods})`;
  const slot = `intDiv(toUInt64(number * {step:Float64}), ${Number(dayNs) / slotsPerPod})`;
  const podIp = (p: string) => `toIPv6(IPv4NumToString(toUInt32(167772160 + ${p})))`; // 10.0.0.0 + p
  const toWorld = `(${h(2)} % 10 < 7)`;
  const world = `toIPv6(IPv4NumToString(toUInt32(3405774848 + (${h(3)} % ${worlds}))))`; // 203.0.0.0 + w
  const peerPod = `(${h(4)} % ${pods})`;
  const tenantOf = (p: string) =>
    `concat('tenant-', toString((${p} * ${slotsPerPod} + ${slot}) % ${tenants}))`;
  const accountOf = (p: string) =>
    `concat('account-', toString((${p} * ${slotsPerPod} + ${slot}) % ${tenants * 5}))`;
  const allocOf = (p: string) => `concat('alloc-', toString(${p} * ${slotsPerPod} + ${slot}))`;
  const dropped = `(${h(5)} % 10 = 0)`;
  const ports = '[443, 80, 53, 22, 25, 8080, 5432, 6379]';
  return `INSERT INTO flows (time, flow_id, node_name, verdict, drop_reason, drop_reason_desc, type, event_type,
      traffic_direction, is_reply, ip_version, source_ip, destination_ip, source_xlated, l4_protocol, source_port,
      destination_port, tcp_flags, src_tenant, src_account, src_job, src_alloc_id, src_source, src_scope,
      dst_tenant, dst_account, dst_job, dst_alloc_id, dst_source, dst_scope, ingest_target, received_at, summary)
    SELECT
      fromUnixTimestamp64Nano(toInt64({start:Int64} + toInt64(number * {step:Float64})), 'UTC') AS t,
      MD5(toString(number)),
      concat('node-', toString(${pod} % 1000)),
      if(${dropped}, 'DROPPED', 'FORWARDED'), if(${dropped}, 133, 0), if(${dropped}, 'POLICY_DENIED', ''),
      'L3_L4', 4, 'EGRESS', 'false', 'IPv4',
      ${podIp(pod)},
      if(${toWorld}, ${world}, ${podIp(peerPod)}),
      if(${toWorld}, toIPv6('198.51.100.7'), toIPv6('::')),
      if(${h(6)} % 5 = 0, 'UDP', 'TCP'), toUInt16(32768 + ${h(7)} % 28000),
      ${ports}[1 + ${h(8)} % 8], 18,
      ${tenantOf(pod)}, ${accountOf(pod)}, 'job', ${allocOf(pod)}, 'ownership', 'same-tenant',
      if(${toWorld}, '', ${tenantOf(peerPod)}), if(${toWorld}, '', ${accountOf(peerPod)}), if(${toWorld}, '', 'job'),
      if(${toWorld}, '', ${allocOf(peerPod)}), if(${toWorld}, 'none', 'ownership'),
      if(${toWorld}, 'world', 'other-tenant'),
      'bench-scale', t, ''
    FROM (SELECT {first:UInt64} + number AS number FROM numbers({n:UInt64}))
    ${skipStored ? 'WHERE MD5(toString(number)) NOT IN (SELECT flow_id FROM flows)' : ''}`;
}

const ownershipSql = `INSERT INTO ownership
  SELECT toIPv6(IPv4NumToString(toUInt32(167772160 + intDiv(number, ${slotsPerPod})))), 'alloc',
    concat('alloc-', toString(number)), concat('web.app[', toString(number % ${slotsPerPod}), ']'), 'default', 'job', 'g',
    concat('node-', toString(intDiv(number, ${slotsPerPod}) % 1000)), concat('node-', toString(intDiv(number, ${slotsPerPod}) % 1000)),
    concat('tenant-', toString(number % ${tenants})), concat('account-', toString(number % ${tenants * 5})),
    fromUnixTimestamp64Nano(toInt64({start:Int64} + (number % ${slotsPerPod}) * ${Number(dayNs) / slotsPerPod}), 'UTC'),
    fromUnixTimestamp64Nano(toInt64({start:Int64} + (number % ${slotsPerPod} + 1) * ${Number(dayNs) / slotsPerPod}), 'UTC'),
    number + 1, now64(9)
  FROM numbers(${pods * slotsPerPod})`;

/** Fills, serves and times; returns one JSON-ready object. */
export async function benchScale(opts: ScaleBenchOptions) {
  configureLogging({ level: 'error' });
  const dir = opts.keep ?? mkdtempSync(path.join(tmpdir(), 'flowtrail-bench-scale-'));
  mkdirSync(dir, { recursive: true });
  const dataDir = path.join(dir, 'data');
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, 'auth:\n  mode: open\n');
  const stateFile = path.join(dir, 'fill.json');
  const chunks = Math.ceil(opts.flows / chunkFlows);
  const kept =
    opts.keep && existsSync(stateFile)
      ? (JSON.parse(readFileSync(stateFile, 'utf8')) as FillState)
      : undefined;
  const endNow = (nowNs() / 60_000_000_000n) * 60_000_000_000n;
  const state: FillState =
    kept && kept.flows === opts.flows && kept.order === 'time'
      ? kept
      : {
          flows: opts.flows,
          startNs: (endNow - dayNs).toString(),
          endNs: endNow.toString(),
          chunks,
          chunksDone: 0,
          fillSeconds: 0,
          order: 'time',
        };
  const startNs = BigInt(state.startNs);
  const endNs = BigInt(state.endNs);
  try {
    // 1. Fill (or resume the kept fill), chunk by chunk, until done or out of time.
    if (state.chunksDone === 0) {
      const old = await createChdbStore(dataDir, 'scale');
      await old.command('DROP DATABASE IF EXISTS scale');
      await old.close();
    }
    const store = await createChdbStore(dataDir, 'scale');
    await migrate(store);
    const fillStarted = performance.now();
    const deadline = opts.fillMinutes === undefined ? Infinity : fillStarted + opts.fillMinutes * 60_000;
    if (state.chunksDone === 0) await store.command(ownershipSql, { params: { start: state.startNs } });
    opts.say(`filling ${opts.flows} flows by SQL (${chunks} chunks, ${state.chunksDone} done)…`);
    const step = Number(dayNs) / opts.flows;
    const resumeFrom = state.chunksDone;
    while (state.chunksDone < state.chunks && performance.now() < deadline) {
      const k = state.chunksDone;
      const { first, n } = fillChunk(k, opts.flows, state.chunks);
      const started = performance.now();
      // The first chunk after a resume may have been cut short by a stop: what it stored is skipped.
      const resumed = k === resumeFrom && k > 0;
      await store.command(fillSql(resumed), {
        params: { start: state.startNs, step, n, first },
        // Both cores when the machine has them (the views run in each insert thread).
        settings: { max_insert_threads: 2 },
      });
      state.chunksDone++;
      state.fillSeconds += (performance.now() - started) / 1000;
      if (opts.keep) writeFileSync(stateFile, JSON.stringify(state));
      opts.say(`  chunk ${state.chunksDone}/${state.chunks} (${Math.round(state.fillSeconds)} s)`);
    }
    const settled = await settleMerges(store, (opts.settleMinutes ?? 30) * 60_000, opts.say);
    const bytesOf = async (table: string) =>
      Number(
        (
          await store.query<{ bytes: string }>(
            'SELECT sum(data_compressed_bytes) AS bytes FROM system.parts WHERE database = currentDatabase() AND table = {t:String} AND active',
            { params: { t: table } },
          )
        )[0]?.bytes ?? 0,
      );
    const [disk] = await store.query<{ rows: string }>(
      "SELECT sum(rows) AS rows FROM system.parts WHERE database = currentDatabase() AND table = 'flows' AND active",
    );
    const rows = Number(disk?.rows ?? 0);
    const perFlow = (bytes: number) => Math.round((bytes / Math.max(1, rows)) * 10) / 10;
    const bytes = {
      flows: perFlow(await bytesOf('flows')),
      index: perFlow(await bytesOf('flows_by_address')),
      rollup: perFlow(await bytesOf('flows_minute_detail')),
    };
    // Everything the store keeps per flow on disk: flows with its skip indexes and marks, the
    // address index, every rollup and small table.
    const tableBytes = await store.query<{ table: string; bytes: string }>(
      'SELECT table, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = currentDatabase() AND active GROUP BY table ORDER BY sum(bytes_on_disk) DESC',
    );
    const keptByTable = Object.fromEntries(tableBytes.map((t) => [t.table, perFlow(Number(t.bytes))]));
    const kept = perFlow(tableBytes.reduce((sum, t) => sum + Number(t.bytes), 0));
    await store.close();

    // 2. The questions, through the real HTTP API on this data.
    opts.say('starting the API and timing the questions…');
    const api = await startApi(
      loadServiceConfig({
        ...process.env,
        FLOWTRAIL_DATA_DIR: dataDir,
        CLICKHOUSE_URL: '',
        CLICKHOUSE_DATABASE: 'scale',
        FLOWTRAIL_CONFIG: configFile,
        FLOWTRAIL_HTTP_HOST: '127.0.0.1',
        FLOWTRAIL_HTTP_PORT: '0',
        FLOWTRAIL_GRPC_PORT: '0',
      }),
      createLogger('bench-api'),
    );
    const base = `http://127.0.0.1:${(api.http.address() as AddressInfo).port}/api/v1`;
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    const lastHour = `since=${iso(endNs - 3_600_000_000_000n)}&until=${iso(endNs)}`;
    const lastDay = `since=${iso(startNs)}&until=${iso(endNs)}`;
    const pod = '10.0.3.17';
    const world = '203.0.1.2';
    const questions: { name: string; goal: number; path: string; body?: unknown }[] = [
      {
        name: 'who held a pod address at T',
        goal: 50,
        path: `/attribution?ip=${pod}&at=${iso(endNs - 3_600_000_000_000n)}`,
      },
      {
        name: 'flows from one pod address, 1 h, limit 100',
        goal: 200,
        path: `/flows?from-ip=${pod}&limit=100&${lastHour}`,
      },
      {
        name: 'flows with one pod address at either end, 1 h',
        goal: 200,
        path: `/flows?ip=${pod}&${lastHour}`,
      },
      { name: 'flows to one world address, 24 h', goal: 500, path: `/flows?to-ip=${world}&${lastDay}` },
      {
        name: 'flows with one world address at either end, 24 h, limit 1000',
        goal: 500,
        path: `/flows?ip=${world}&limit=1000&${lastDay}`,
      },
      {
        name: "one tenant's dropped flows, 1 h",
        goal: 300,
        path: `/flows?tenant=tenant-7&verdict=DROPPED&${lastHour}`,
      },
      { name: 'tenant summary, 24 h', goal: 300, path: `/tenants/tenant-7/summary?${lastDay}` },
      { name: 'timeseries, 24 h', goal: 300, path: `/timeseries?${lastDay}` },
      { name: 'top, 24 h', goal: 300, path: `/top?${lastDay}` },
      {
        name: 'investigation of a world address, 24 h',
        goal: 1000,
        path: '/investigations',
        body: { indicator: world, since: iso(startNs), until: iso(endNs) },
      },
    ];
    const timings: QueryTiming[] = [];
    // The same engine as the API's (one chdb session per process), for its read counters.
    const stats = await createChdbStore(dataDir, 'scale');
    try {
      for (const q of questions) {
        const ms: number[] = [];
        const rowsRead: number[] = [];
        const marksRead: number[] = [];
        const statements: number[] = [];
        const statuses = new Set<number>();
        let source: string | undefined;
        for (let i = 0; i <= opts.runs; i++) {
          const before = await engineReads(stats);
          const started = performance.now();
          const res = await fetch(`${base}${q.path}`, {
            method: q.body ? 'POST' : 'GET',
            headers: q.body ? { 'content-type': 'application/json' } : {},
            body: q.body ? JSON.stringify(q.body) : undefined,
            signal: AbortSignal.timeout(120_000),
          });
          const body = await res.text();
          statuses.add(res.status);
          if (i > 0) {
            ms.push(performance.now() - started);
            const after = await engineReads(stats);
            rowsRead.push(after.rows - before.rows);
            marksRead.push(after.marks - before.marks);
            statements.push(after.selects - before.selects - 1); // less the first snapshot's own SELECT
          }
          source ??= answerSource(body);
        }
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;
        ms.sort((a, b) => a - b);
        const at = (p: number) => Math.round(ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]!);
        timings.push({
          name: q.name,
          goal_ms: q.goal,
          p50_ms: at(0.5),
          p99_ms: at(0.99),
          statuses: [...statuses],
          rows_read: median(rowsRead),
          marks_read: median(marksRead),
          statements: median(statements),
          ...(source ? { source } : {}),
        });
        opts.say(
          `  ${q.name}: p50 ${at(0.5)} ms, ${median(rowsRead)} rows read in ${median(statements)} statements (${[...statuses].join(',')})`,
        );
      }
    } finally {
      await stats.close();
      await api.close();
    }

    // 3. Ingest into an empty store (its own database), then into the filled one, back to back so
    // both run under the same conditions; in rounds, whose medians are reported (one pair of ~3 s
    // runs moved 0.81–1.24 on this shared machine, 2026-12-03).
    const ingestRounds: { empty_flows_per_s: number; filled_flows_per_s: number; ratio: number }[] = [];
    for (let i = 0; i < (opts.ingestRounds ?? 3); i++) {
      const emptyRate = await withScratchDatabase(dataDir, `scale_empty_${Date.now()}`, (empty) =>
        ingestRate(empty, opts.ingestFlows, 1),
      );
      const filled = await createChdbStore(dataDir, 'scale');
      // A kept store already holds earlier ingests: a new seed, so dedup does not skip this one.
      const filledRate = await ingestRate(filled, opts.ingestFlows, 2 + (state.ingestRuns ?? 0));
      state.ingestRuns = (state.ingestRuns ?? 0) + 1;
      if (opts.keep) writeFileSync(stateFile, JSON.stringify(state));
      await filled.close();
      ingestRounds.push({
        empty_flows_per_s: Math.round(emptyRate),
        filled_flows_per_s: Math.round(filledRate),
        ratio: Math.round((filledRate / emptyRate) * 100) / 100,
      });
    }
    return {
      scale_flows: rows,
      scale_fill_seconds: Math.round(state.fillSeconds),
      scale_bytes_per_flow: bytes.flows,
      scale_queries: timings,
      ingest_empty_flows_per_s: Math.round(medianOf(ingestRounds.map((r) => r.empty_flows_per_s))),
      ingest_filled_flows_per_s: Math.round(medianOf(ingestRounds.map((r) => r.filled_flows_per_s))),
      // The median of each round's own ratio.
      ingest_filled_ratio: medianOf(ingestRounds.map((r) => r.ratio)),
      ingest_rounds: ingestRounds,
      // Added fields: the fill asked for, and the bytes per flow of the address index and rollup.
      scale_planned_flows: opts.flows,
      scale_index_bytes_per_flow: bytes.index,
      scale_rollup_bytes_per_flow: bytes.rollup,
      scale_kept_bytes_per_flow: kept,
      scale_kept_bytes_per_flow_by_table: keptByTable,
      // The store the questions were timed on: active parts of `flows`, and whether merges settled.
      scale_flows_parts: settled.parts,
      scale_settle_seconds: settled.seconds,
      scale_settled: settled.settled,
    };
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Waits until no merge has run for 10 s in a row (or `maxMs` passed): a filled store then has the
 * parts a store that has been running would have, not the fill's fresh ones.
 */
async function settleMerges(
  store: Store,
  maxMs: number,
  say: (msg: string) => void,
): Promise<{ settled: boolean; seconds: number; parts: number }> {
  const started = performance.now();
  const quietMs = Math.min(10_000, maxMs);
  let quietSince = performance.now();
  let settled = false;
  for (;;) {
    const [m] = await store.query<{ n: string }>(
      'SELECT count() AS n FROM system.merges WHERE database = currentDatabase()',
    );
    if (Number(m?.n ?? 0) > 0) quietSince = performance.now();
    if (performance.now() - quietSince >= quietMs) {
      settled = true;
      break;
    }
    if (performance.now() - started >= maxMs) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const [p] = await store.query<{ n: string }>(
    "SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND table = 'flows' AND active",
  );
  const seconds = Math.round((performance.now() - started) / 1000);
  say(`merges ${settled ? 'settled' : 'still running'} after ${seconds} s; flows has ${p?.n ?? '?'} parts`);
  return { settled, seconds, parts: Number(p?.n ?? 0) };
}

/** The engine's read counters (a snapshot's own SELECT reads a few rows of system.events: noise). */
async function engineReads(store: Store): Promise<{ rows: number; marks: number; selects: number }> {
  const e = await engineEvents(store, ['SelectedRows', 'SelectedMarks', 'SelectQuery']);
  return { rows: e.SelectedRows, marks: e.SelectedMarks, selects: e.SelectQuery };
}

/** The `source` an aggregate answer names (rollup or flows), if the body is such an answer. */
function answerSource(body: string): string | undefined {
  try {
    const v = JSON.parse(body) as { source?: unknown };
    return typeof v?.source === 'string' ? v.source : undefined;
  } catch {
    return undefined; // NDJSON or text: not an aggregate
  }
}

/** Flows per second through the ClickHouse sink (encode, dedup window, insert) into `store`. */
async function ingestRate(store: Store, n: number, seed: number): Promise<number> {
  const gen = createGenerator({ seed });
  const flows: IngestedFlow[] = [];
  while (flows.length < n) {
    for (const ev of gen.take(Math.min(50_000, n - flows.length))) {
      const flow = ev.response.flow;
      if (!flow) continue;
      flows.push(
        ingestFlow(flow, {
          nodeName: ev.response.node_name,
          timeNs: timestampToNs(flow.time) ?? nowNs(),
          flowId: flowIdFromUuid(flow.uuid),
          target: 'bench-ingest',
          receivedAtNs: nowNs(),
        }),
      );
    }
  }
  const sink = createClickHouseSink(
    { ...defaultClickHouseSinkConfig, flushIntervalMs: 0 },
    { store, logger: createLogger('bench'), metrics: createMetrics(`bench_scale_${seed}`) },
  );
  sink.start();
  const started = performance.now();
  for (const f of flows) if (!sink.push(f)) await sink.drained();
  await sink.flush();
  const seconds = (performance.now() - started) / 1000;
  await sink.stop();
  return sink.stats().stored / seconds;
}

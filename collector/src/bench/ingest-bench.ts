/**
 * The ingest benchmark behind `flowtrail bench`: the embedded path end to end (traffic generator →
 * Hubble gRPC → collector → chdb), and, in the same run, the raw insert rate of the same kind of
 * rows into chdb with nothing else going on, so the pipeline's overhead shows as a ratio.
 * Also bytes per flow on disk after merges.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { quoteIdent } from '../../../common/clickhouse/store.ts';
import { flowIdFromUuid } from '../../../common/flow/flow-id.ts';
import { ingestFlow, nowNs, timestampToNs } from '../../../common/flow/model.ts';
import { configureLogging, createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { sleep } from '../../../common/retry.ts';
import { flowStructure } from '../../../common/schema/flow-row.ts';
import { encodeFlowRow } from '../../../common/schema/flow-wire.ts';
import { createCollector, defaultCollectorConfig } from '../collector.ts';
import { createGenerator } from '../generator/generator.ts';
import { batchFull, defaultClickHouseSinkConfig } from '../writer/clickhouse-sink.ts';
import { insertFlowBatch } from '../writer/flow-insert.ts';
import { encodeFrames, startFrameServer } from './frame-server.ts';
import { benchStages, type StageCosts } from './stage-bench.ts';

export interface IngestBenchOptions {
  /** Flows through the gRPC path. Default 1,000,000. */
  flows: number;
  /** Flows for the raw insert measurement. Default 500,000. */
  rawFlows: number;
  /** Rounds of end-to-end pass + raw insert (the figures are their medians). Default 1. */
  rounds?: number;
  /**
   * The chdb directory `store` is in: each round's pass then runs in a scratch database of its own
   * there (dropped after its round). Needed for more than one round: the same flows again would be repeats.
   */
  dataDir?: string;
  /**
   * Run after each round, before the next (its database already dropped): `flowtrail bench` measures
   * a Kafka pass there, so each pair of rates is measured back to back.
   */
  afterRound?: (round: number) => Promise<void>;
}

export interface IngestBenchResult {
  flows: number;
  ingest_seconds: number;
  ingest_flows_per_s: number;
  /**
   * CPU (user + system) of this process per stored flow over the end-to-end run: the collector's
   * threads and chdb's (not the frame server, a child process). Steadier than the rate under load.
   */
  ingest_cpu_us_per_flow: number;
  raw_insert_rows: number;
  raw_insert_rows_per_s: number;
  /** CPU of this process (chdb's threads, almost all of it) per row over the raw insert. */
  raw_insert_cpu_us_per_flow: number;
  /** The median of the rounds' own ratios (each an end-to-end pass against the raw insert right after it). */
  ratio: number;
  /** Each round's figures, in the order they ran; the ones above are their medians. */
  ingest_rounds: IngestRound[];
  /** CPU ratio: raw insert CPU per row over end-to-end CPU per flow (1 = the pipeline adds nothing). */
  cpu_ratio: number;
  /**
   * The same rows inserted into `flows` itself, whose materialized views (rollups, address index)
   * the end-to-end path fills too and `flows_raw` (a bare copy of the table) does not: the raw rate
   * of the end-to-end path's own target, and the ratio against it (what the pipeline costs apart
   * from what the storage layout costs).
   */
  raw_insert_with_views_rows_per_s: number;
  raw_insert_with_views_cpu_us_per_flow: number;
  ratio_with_views: number;
  /**
   * The same rows into `flows` again, cut into batches as the sink cuts them at full rate (`batchSize`
   * rows or `batchBytes`, whichever comes first), CPU per row and the CPU ratio against it. Like the end-to-end figure
   * and unlike the raw ones above, it pays a fixed part per insert (a part per table and view, the
   * pipeline) and the background merges the store runs meanwhile (the parts of the runs before it
   * included): what the pipeline costs apart from how the storage is fed.
   */
  raw_insert_sink_batches_cpu_us_per_flow: number;
  cpu_ratio_sink_batches: number;
  /**
   * CPU µs per flow of each hot-path stage measured alone (stage-bench.ts), plus the insert into
   * `flows` with its views in one batch (chdb's threads).
   */
  stage_cpu_us_per_flow: StageCosts & { insert: number };
  bytes_per_flow: number;
  /** The same on disk: with the skip indexes, marks and checksums of `flows`. */
  disk_bytes_per_flow: number;
  machine: { cpus: number; model: string; node: string };
}

/** A migrated database `name` of the chdb engine in `dataDir`, dropped once `fn` is done with it. */
export async function withScratchDatabase<T>(
  dataDir: string,
  name: string,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await createChdbStore(dataDir, name);
  try {
    await migrate(store);
    return await fn(store);
  } finally {
    await store.command(`DROP DATABASE IF EXISTS ${quoteIdent(store.database)}`);
    await store.close();
  }
}

/** A scratch chdb directory for benchmarks (one engine per process: every bench shares it). */
export async function withScratchStore<T>(fn: (store: Store, dataDir: string) => Promise<T>): Promise<T> {
  configureLogging({ level: 'error' });
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-bench-'));
  const store = await createChdbStore(path.join(dir, 'data'), 'bench');
  try {
    await migrate(store);
    return await fn(store, path.join(dir, 'data'));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One round: the end-to-end pass, then the raw insert of the same rows, back to back. */
export interface IngestRound {
  /** Flows the pass stored. */
  flows: number;
  ingest_flows_per_s: number;
  ingest_cpu_us_per_flow: number;
  raw_insert_rows_per_s: number;
  ratio: number;
}

/** The end-to-end pass into `store`: generator frames → gRPC → collector → chdb, until `flows` are stored. */
async function endToEnd(
  store: Store,
  flows: number,
): Promise<{ stored: number; seconds: number; cpuUs: number }> {
  // Hubble's side runs in its own process and serves frames encoded before the clock starts, as
  // fast as the collector reads: what is measured is the collector and chdb. Exactly `flows` frames,
  // then the call ends; the window ends once all of them are stored (the open batch sealed by
  // `flush`). Until 2026-12-03 it ended when the stored count first crossed `flows`, with the server
  // still serving: what the collector had taken in but not yet stored then (up to a batch, and the
  // reader's backlog) was charged to the flows counted, and where that crossing fell moved the
  // figures with the batch size (end-to-end main thread 8.6–13.8 µs per stored flow for the same
  // build: notes js8).
  const sim = await startFrameServer(50_000, flows);
  const collector = createCollector(
    { ...defaultCollectorConfig, targets: [sim.address] },
    { store, logger: createLogger('bench'), metrics: createMetrics('bench') },
  );
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  try {
    await collector.start();
    while (collector.status().sink.received < flows) await sleep(20);
    await collector.flush();
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    return { stored: collector.status().sink.stored, seconds, cpuUs: cpu.user + cpu.system };
  } finally {
    sim.stop();
    await collector.stop();
  }
}

/** Rows of the same shape as the end-to-end run's, encoded, with where the sink would cut them into batches. */
function rawRows(count: number): { data: Buffer; rows: number; cuts: number[]; cutRows: number[] } {
  const raw = createGenerator({ seed: 43 });
  const writer = new RowBinaryWriter(64 << 20);
  let rows = 0;
  // Where the sink would seal (its rule, batchFull), and the rows of each batch.
  const cuts = [0];
  const cutRows: number[] = [];
  let batchRows = 0;
  while (rows < count) {
    for (const ev of raw.take(Math.min(50_000, count - rows))) {
      const flow = ev.response.flow;
      if (!flow) continue;
      if (batchFull(defaultClickHouseSinkConfig, batchRows, writer.length - cuts.at(-1)!)) {
        cuts.push(writer.length);
        cutRows.push(batchRows);
        batchRows = 0;
      }
      batchRows++;
      encodeFlowRow(
        writer,
        ingestFlow(flow, {
          nodeName: ev.response.node_name,
          timeNs: timestampToNs(flow.time) ?? nowNs(),
          flowId: flowIdFromUuid(flow.uuid),
          target: 'bench',
          receivedAtNs: nowNs(),
        }),
      );
      rows++;
    }
  }
  cuts.push(writer.length);
  cutRows.push(batchRows);
  return { data: writer.take(), rows, cuts, cutRows };
}

/** Inserts `data` into `table` (a bare copy of `flows`, created here) alone: its wall time and this process's CPU. */
async function rawInsert(
  store: Store,
  table: string,
  data: Buffer,
): Promise<{ seconds: number; cpuUs: number }> {
  await store.command(`CREATE TABLE ${table} AS flows`);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await store.insertRowBinary({
    into: table,
    structure: flowStructure,
    select: 'SELECT * FROM {input}',
    data,
  });
  const cpu = process.cpuUsage(cpuStart);
  return { seconds: (performance.now() - started) / 1000, cpuUs: cpu.user + cpu.system };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export const medianOf = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * Runs the embedded ingest benchmark against a migrated scratch store. Each round is an end-to-end
 * pass and, right after it, the raw insert of the same rows; with `dataDir` each pass runs into a
 * database of its own, dropped after its round (the same flows again would be repeats). The figures are the rounds'
 * medians, and `ratio` the median of each round's own ratio: on a shared machine the two workloads'
 * speeds drift apart over minutes (one JavaScript thread, the other chdb's), and a pair measured back
 * to back drifts least.
 */
export async function benchIngest(store: Store, opts: IngestBenchOptions): Promise<IngestBenchResult> {
  const stages = benchStages(encodeFrames(50_000));
  const { data, rows, cuts, cutRows } = rawRows(opts.rawFlows);
  const roundsWanted = opts.rounds ?? 1;
  if (roundsWanted > 1 && !opts.dataDir) throw new Error('benchIngest: more than one round needs dataDir');
  const rounds: (IngestRound & { seconds: number; rawCpuPerRow: number })[] = [];
  for (let i = 0; i < roundsWanted; i++) {
    // The pass, then the raw insert while the pass's database (and its merges) still exists, as in
    // a single round into `store`. The first round's raw table stays for the bytes per flow below.
    const runRound = async (target: Store) => {
      const e2e = await endToEnd(target, opts.flows);
      const table = i === 0 ? 'flows_raw' : `flows_raw_round_${i + 1}`;
      const r = await rawInsert(store, table, data);
      if (i > 0) await store.command(`DROP TABLE ${table}`);
      return { e2e, r };
    };
    const { e2e, r } = opts.dataDir
      ? await withScratchDatabase(opts.dataDir, `bench_round_${i + 1}`, runRound)
      : await runRound(store);
    const ingestRate = e2e.stored / e2e.seconds;
    const rawRate = rows / r.seconds;
    rounds.push({
      flows: e2e.stored,
      ingest_flows_per_s: Math.round(ingestRate),
      ingest_cpu_us_per_flow: round(e2e.cpuUs / e2e.stored, 1),
      raw_insert_rows_per_s: Math.round(rawRate),
      ratio: round(ingestRate / rawRate, 3),
      seconds: e2e.seconds,
      rawCpuPerRow: r.cpuUs / rows,
    });
    await opts.afterRound?.(i);
  }

  // The same rows into `flows` (its views included), under a token of their own.
  const viewsStart = performance.now();
  const viewsCpuStart = process.cpuUsage();
  await insertFlowBatch(store, { data, rows, token: `bench-raw-${rows}`, minNs: 0n, maxNs: 0n });
  const viewsSeconds = (performance.now() - viewsStart) / 1000;
  const viewsCpu = process.cpuUsage(viewsCpuStart);

  // The same rows into `flows` in batches of the sink's size.
  const batchesCpuStart = process.cpuUsage();
  for (let i = 0; i + 1 < cuts.length; i++) {
    await insertFlowBatch(store, {
      data: data.subarray(cuts[i], cuts[i + 1]),
      rows: cutRows[i]!,
      token: `bench-raw-batch-${i}`,
      minNs: 0n,
      maxNs: 0n,
    });
  }
  const batchesCpu = process.cpuUsage(batchesCpuStart);

  // Bytes per flow once parts are merged, over the raw table: its rows are all distinct (the
  // end-to-end run serves a cycle of pre-encoded frames, which would compress too well).
  await store.command('OPTIMIZE TABLE flows_raw FINAL');
  const [disk] = await store.query<{ bytes: string; disk: string; rows: string }>(
    "SELECT sum(data_compressed_bytes) AS bytes, sum(bytes_on_disk) AS disk, sum(rows) AS rows FROM system.parts WHERE database = currentDatabase() AND table = 'flows_raw' AND active",
  );
  const ingestRate = medianOf(rounds.map((r) => r.ingest_flows_per_s));
  const ingestCpuPerFlow = medianOf(rounds.map((r) => r.ingest_cpu_us_per_flow));
  const rawRate = medianOf(rounds.map((r) => r.raw_insert_rows_per_s));
  const rawCpuPerRow = medianOf(rounds.map((r) => r.rawCpuPerRow));
  const viewsRate = rows / viewsSeconds;
  return {
    flows: medianOf(rounds.map((r) => r.flows)),
    ingest_seconds: round(medianOf(rounds.map((r) => r.seconds)), 2),
    ingest_flows_per_s: Math.round(ingestRate),
    ingest_cpu_us_per_flow: round(ingestCpuPerFlow, 1),
    raw_insert_rows: rows,
    raw_insert_rows_per_s: Math.round(rawRate),
    raw_insert_cpu_us_per_flow: round(rawCpuPerRow, 1),
    ratio: medianOf(rounds.map((r) => r.ratio)),
    ingest_rounds: rounds.map(
      ({ flows, ingest_flows_per_s, ingest_cpu_us_per_flow, raw_insert_rows_per_s, ratio }) => ({
        flows,
        ingest_flows_per_s,
        ingest_cpu_us_per_flow,
        raw_insert_rows_per_s,
        ratio,
      }),
    ),
    cpu_ratio: round(rawCpuPerRow / ingestCpuPerFlow, 3),
    raw_insert_with_views_rows_per_s: Math.round(viewsRate),
    raw_insert_with_views_cpu_us_per_flow: round((viewsCpu.user + viewsCpu.system) / rows, 1),
    ratio_with_views: round(ingestRate / viewsRate, 3),
    raw_insert_sink_batches_cpu_us_per_flow: round((batchesCpu.user + batchesCpu.system) / rows, 1),
    cpu_ratio_sink_batches: round((batchesCpu.user + batchesCpu.system) / rows / ingestCpuPerFlow, 3),
    stage_cpu_us_per_flow: { ...stages, insert: round((viewsCpu.user + viewsCpu.system) / rows, 1) },
    bytes_per_flow: round(Number(disk?.bytes ?? 0) / Number(disk?.rows ?? 1), 1),
    disk_bytes_per_flow: round(Number(disk?.disk ?? 0) / Number(disk?.rows ?? 1), 1),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

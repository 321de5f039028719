/**
 * The ClickHouse flow sink: encodes flows into RowBinary batches as they arrive, seals a batch
 * by size or age, and hands sealed batches to a delivery queue (common/delivery-queue.ts) that
 * inserts them one at a time, retrying with backoff until stored. The queue is bounded: when it
 * is full `push` returns false and the source waits on `drained()` — memory never grows without
 * bound, and nothing is dropped.
 *
 * Deduplication (flow-insert.ts): a window of recent flow ids drops repeats (within a batch, across
 * the files of one import, a stream's resume overlap — seeded by `remember` after a restart), and
 * every batch carries a token of its flow ids, so a retried insert or a re-imported file (batches
 * cut by count when `flushIntervalMs` is 0) is skipped by ClickHouse as a whole. Neither reads the
 * table, so inserting costs the same into a full store as into an empty one.
 * @module
 */
import type { Store } from '../../../common/clickhouse/index.ts';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { createDeliveryQueue } from '../../../common/delivery-queue.ts';
import { errorMessage } from '../../../common/errors.ts';
import type { IngestedFlow, LostRecord } from '../../../common/flow/model.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import { encodeFlowRow, type FlowWalk } from '../../../common/schema/flow-wire.ts';
import { turnCounter } from '../turn-counter.ts';
import { type BatchFile, BatchFiles, ChunkPool } from './batch-file.ts';
import { BatchToken, insertFlowBatch, insertLostEvents } from './flow-insert.ts';
import { RecentIds } from './recent-ids.ts';

/** Sink tuning. */
export interface ClickHouseSinkConfig {
  /**
   * Flows per batch at most. Default 200,000. Fewer, larger inserts cost chdb less per flow (each
   * insert pays a fixed part: a part per table and view, the pipeline; and there are fewer parts to
   * merge): end-to-end runs of 200,000 flows, interleaved under load 3.5–5.8 (2026-12-03, whole process
   * µs of CPU per flow; chdb's insert threads in brackets): 31 MiB batches (~50,000 rows) 31.0, 26.8,
   * 27.9 (15.3, 12.4, 14.1); 100,000 rows 29.3, 27.7, 26.6 (12.5, 11.1, 11.5); 200,000 rows 24.8,
   * 23.3, 24.6 (8.2, 8.2, 9.2). The sink's memory does not grow with it (batch-file.ts). Under a
   * lower rate batches are sealed by age first (`flushIntervalMs`).
   */
  batchSize: number;
  /**
   * Bytes of rows per batch (a batch is sealed once it holds this many). Default 256 MiB: 200,000
   * rows of the bench's size (~650 B) are ~130 MB, so this only seals first for rows over ~1.3 KB
   * (L7 rows with URLs, headers). The sink's own memory does not grow with a batch (its rows go to
   * a file as they are encoded: batch-file.ts); a batch is a file that size, and chdb reads it in
   * blocks. `flowtrail start` at full rate (bin/start-rss.ts, 300,000 flows, interleaved, load 6–10):
   * rss_without_chdb_peak_mb 199, 213, 180 at these defaults, 173, 168, 213 with 31 MiB batches (was
   * 255–263 before batch files). Not applied when `flushIntervalMs` is 0 (imports): their batches are
   * cut by count alone, so that a re-import cuts the same batches even where the rows' bytes differ
   * (attribution read again).
   */
  batchBytes: number;
  /**
   * A non-empty batch is sealed once it is this many milliseconds old and no insert is in flight
   * (else as soon as the insert in flight is done). Default 1,000. 0: only by size (an import, so
   * the same file always gives the same batches and a re-import is skipped whole).
   *
   * Why not seal on a fixed beat: an insert into `flows` costs ClickHouse a fixed ~0.25 s of CPU
   * (a part per table and materialized view, the dedup log) on top of ~12 µs per row, so at a high
   * rate a batch every second is mostly fixed cost. Waiting for the insert in flight lets batches
   * grow with the rate (up to `batchSize`) and the number of inserts follow what ClickHouse takes.
   */
  flushIntervalMs: number;
  /** Flow ids remembered for dedup (at least 2 × batchSize). Default 1,000,000 (25 MB). */
  dedupWindow: number;
  /**
   * Sealed batches (the one being inserted included) before `push` reports back-pressure. Default 2:
   * one inserting, one waiting.
   */
  maxPendingBatches: number;
  /** Backoff bounds for failed inserts (retried until the sink is stopped). */
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long `stop()` keeps trying to store what is queued before giving up, ms. Default 30,000. */
  stopGraceMs: number;
  /** Where batch files are created (batch-file.ts). Default: the OS's temporary directory. */
  batchDir?: string;
}

/**
 * When a batch of `rows` rows holding `bytes` bytes is sealed: the one rule, shared with the bench's
 * like-for-like insert (collector/src/bench/ingest-bench.ts). Imports pass 0 bytes (see `batchBytes`).
 */
export function batchFull(
  config: Pick<ClickHouseSinkConfig, 'batchSize' | 'batchBytes'>,
  rows: number,
  bytes: number,
): boolean {
  return rows >= config.batchSize || bytes >= config.batchBytes;
}

export const defaultClickHouseSinkConfig: ClickHouseSinkConfig = {
  batchSize: 200_000,
  batchBytes: 256 << 20,
  flushIntervalMs: 1_000,
  dedupWindow: 1_000_000,
  maxPendingBatches: 2,
  retryInitialMs: 200,
  retryMaxMs: 10_000,
  stopGraceMs: 30_000,
};

/** Counters a caller can read without Prometheus (CLI summaries, tests, bench). */
export interface SinkStats {
  received: number;
  stored: number;
  duplicates: number;
  batches: number;
  failedInserts: number;
  lost: number;
}

/** Where collected flows go (ClickHouse here; Kafka in distributed mode). */
export interface FlowSink {
  /**
   * How much of each flow a source reads on arrival (common/schema/flow-wire.ts): `whole` (the
   * default) for a sink that encodes rows from that walk, `header` for one that passes the bytes on.
   */
  readonly walk?: FlowWalk;
  /** Accepts one flow. Returns false when full: the caller should await `drained()` before more. */
  push(flow: IngestedFlow): boolean;
  /** Resolves when the sink has room again. */
  drained(): Promise<void>;
  /** Records a Hubble LostEvent. */
  recordLost(record: LostRecord): void;
  /**
   * Marks flow ids as already stored (a resumed source's overlap after a restart), so a repeat of
   * them is dropped; sinks without a dedup window ignore it.
   */
  remember?(flowIds: Iterable<Uint8Array>): void;
  /** Seals the open batch and resolves when everything pushed so far is stored. */
  flush(): Promise<void>;
  /** The newest flow time stored per target (resume point for `since`). */
  lastStoredTime(target: string): bigint | undefined;
  stats(): SinkStats;
  start(): void;
  /** Flushes and stops; the open batch is stored before it resolves. */
  stop(): Promise<void>;
}

interface Batch {
  /** The rows, on file (none for a batch of lost events alone). */
  file: BatchFile | undefined;
  rows: number;
  minNs: bigint;
  maxNs: bigint;
  lastByTarget: Map<string, bigint>;
  lost: LostRecord[];
  token: string;
}

export interface ClickHouseSinkDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Bytes encoded before they go to the batch's file (batch-file.ts). 1 MiB: a write per ~1,600 rows of
 * the bench's size, and the sink's own batch memory is a few of these whatever a batch's rows.
 */
const chunkBytes = 1 << 20;

/**
 * A live batch whose file holds this many bytes in memory (writes failing: a full disk) is sealed:
 * with the open batch and two sealed ones, a failing disk costs the sink ~96 MiB, not three times
 * `batchBytes`. Imports are cut by count alone (see `batchBytes`; 100,000 rows, ~65 MB).
 */
const maxHeldBytes = 32 << 20;

/** Creates the sink; `start()` begins the insert loop. */
export function createClickHouseSink(config: ClickHouseSinkConfig, deps: ClickHouseSinkDeps): FlowSink {
  const { store, logger } = deps;
  const m = {
    in: deps.metrics.counter('flows_in_total', 'Flows received by the ClickHouse writer'),
    stored: deps.metrics.counter('flows_stored_total', 'Flows stored in ClickHouse'),
    duplicates: deps.metrics.counter('flows_duplicate_total', 'Flows skipped because already stored'),
    undecodable: deps.metrics.counter('flows_undecodable_total', 'Flows dropped: their bytes are not a Flow'),
    lost: deps.metrics.counter('lost_events_total', 'Events Hubble reported lost', ['target']),
    batchSeconds: deps.metrics.histogram('batch_insert_seconds', 'Time to insert one batch'),
    failures: deps.metrics.counter('insert_failures_total', 'Failed insert attempts'),
    pending: deps.metrics.gauge('pending_batches', 'Sealed batches waiting for insert'),
  };
  const inCounter = turnCounter(m.in);
  const stats: SinkStats = { received: 0, stored: 0, duplicates: 0, batches: 0, failedInserts: 0, lost: 0 };
  // Batch memory (batch-file.ts): rows are encoded into a chunk, and a full chunk is appended to the
  // open batch's file; sealed batches wait as files.
  const pool = new ChunkPool(chunkBytes);
  const writer = new RowBinaryWriter(0);
  writer.detach(pool.take());
  const files = new BatchFiles(config.batchDir);
  /** The open batch's file, once it has a chunk on it. */
  let file: BatchFile | undefined;
  let rows = 0;
  /** Appends the encoded rows to the open batch's file. */
  const spill = () => {
    file ??= files.open();
    pool.spill(writer, file);
  };
  /** When the open batch got its first row (ms, performance.now). */
  let openedAt = 0;
  let minNs = 0n;
  let maxNs = 0n;
  let lastByTarget = new Map<string, bigint>();
  // The newest time of the current run of one target's flows (a source hands its flows on in runs),
  // folded into lastByTarget when the target changes and at seal: no map lookup per flow.
  let runTarget: string | undefined;
  let runNs = 0n;
  const foldRun = () => {
    if (runTarget === undefined) return;
    const prev = lastByTarget.get(runTarget);
    if (prev === undefined || runNs > prev) lastByTarget.set(runTarget, runNs);
    runTarget = undefined;
  };
  let lostBuffer: LostRecord[] = [];
  const token = new BatchToken();
  const seen = new RecentIds(Math.max(config.dedupWindow, 2 * config.batchSize));
  const stored = new Map<string, bigint>();
  // Sealing by bytes too, except for imports (see batchBytes).
  const byBytes = config.flushIntervalMs > 0;
  let timer: NodeJS.Timeout | undefined;

  /** Seals the open batch if it is old enough and nothing is being inserted (see flushIntervalMs). */
  const sealIfDue = () => {
    if (queue.length > 0 || (rows === 0 && lostBuffer.length === 0)) return;
    if (rows > 0 && performance.now() - openedAt < config.flushIntervalMs) return;
    seal();
  };

  const seal = () => {
    if (rows === 0 && lostBuffer.length === 0) return;
    foldRun();
    if (rows > 0) spill();
    queue.enqueue({ file, rows, minNs, maxNs, lastByTarget, lost: lostBuffer, token: token.take() });
    file = undefined;
    rows = 0;
    lastByTarget = new Map();
    lostBuffer = [];
  };

  const insertBatch = async (b: Batch) => {
    const started = performance.now();
    if (b.file) {
      const written = await insertFlowBatch(store, {
        data: await b.file.ready(),
        rows: b.rows,
        token: b.token,
        minNs: b.minNs,
        maxNs: b.maxNs,
      });
      stats.stored += written;
      stats.duplicates += b.rows - written;
      m.stored.inc(written);
      m.duplicates.inc(b.rows - written);
    }
    await insertLostEvents(store, b.lost);
    m.batchSeconds.observe((performance.now() - started) / 1000);
    stats.batches++;
    for (const [t, ns] of b.lastByTarget) if ((stored.get(t) ?? 0n) < ns) stored.set(t, ns);
    b.file?.close();
  };

  const queue = createDeliveryQueue<Batch>({
    deliver: insertBatch,
    maxPending: config.maxPendingBatches,
    retryInitialMs: config.retryInitialMs,
    retryMaxMs: config.retryMaxMs,
    onRetry: (err, attempt, delay, b) => {
      stats.failedInserts++;
      m.failures.inc();
      logger.warn('insert failed, retrying', {
        attempt,
        delay_ms: delay,
        rows: b.rows,
        error: errorMessage(err),
      });
    },
    onAbandoned: (err, b) => {
      // Its ids must not make a later resend look like a repeat.
      seen.clear();
      b.file?.close();
      logger.error('insert abandoned at shutdown', { rows: b.rows, error: errorMessage(err) });
    },
    onLength: (n) => m.pending.set(n),
    beforeNext: () => {
      if (config.flushIntervalMs > 0) sealIfDue();
    },
  });

  return {
    push(f) {
      stats.received++;
      inCounter.inc();
      if (!seen.add(f.flowId)) {
        stats.duplicates++;
        m.duplicates.inc();
        return queue.hasRoom();
      }
      try {
        encodeFlowRow(writer, f); // appends nothing when it throws
      } catch (err) {
        m.undecodable.inc();
        logger.warn('undecodable flow dropped', { target: f.target, error: errorMessage(err) });
        return queue.hasRoom();
      }
      token.add(f.flowId);
      if (rows === 0) openedAt = performance.now();
      if (rows === 0 || f.timeNs < minNs) minNs = f.timeNs;
      if (rows === 0 || f.timeNs > maxNs) maxNs = f.timeNs;
      rows++;
      if (f.target !== runTarget) {
        foldRun();
        runTarget = f.target;
        runNs = f.timeNs;
      } else if (f.timeNs > runNs) runNs = f.timeNs;
      if (writer.length >= chunkBytes) spill();
      if (
        batchFull(config, rows, byBytes ? (file?.bytes ?? 0) + writer.length : 0) ||
        (byBytes && (file?.heldBytes ?? 0) >= maxHeldBytes)
      )
        seal();
      return queue.hasRoom();
    },
    drained: () => queue.drained(),
    remember(ids) {
      for (const id of ids) seen.add(id);
    },
    recordLost(record) {
      lostBuffer.push(record);
      stats.lost += Number(record.event.num_events_lost);
      m.lost.inc({ target: record.target }, Number(record.event.num_events_lost));
    },
    flush() {
      seal();
      return queue.idle();
    },
    lastStoredTime: (target) => stored.get(target),
    stats: () => ({ ...stats }),
    start() {
      if (timer) return;
      queue.start();
      if (config.flushIntervalMs > 0) {
        // Checked at a tenth of the interval: a batch waits at most that much past its age.
        timer = setInterval(sealIfDue, Math.max(10, config.flushIntervalMs / 10));
        timer.unref();
      }
    },
    async stop() {
      if (timer) clearInterval(timer);
      seal();
      if (!(await queue.stop(config.stopGraceMs))) {
        const rows = queue.pending().reduce((n, b) => n + b.rows, 0);
        logger.error('clickhouse unreachable at shutdown: queued flows were not stored', { rows });
      }
      files.remove();
    },
  };
}

/**
 * The one insert path for flows and lost events, used by the embedded ClickHouse sink and the
 * Kafka writer alike.
 *
 * Deduplication costs what a batch costs, never what the table holds:
 * - Every flow batch carries an `insert_deduplication_token` derived from the flow ids it holds,
 *   in order (`BatchToken`). A retried insert, a re-imported file (batches are cut by count, so the
 *   same file gives the same batches) and a replayed batch carry the same token, and ClickHouse
 *   skips the whole batch. On a single server this needs the table setting
 *   `non_replicated_deduplication_window` (migrations/0040); replicated tables keep their own window.
 * - Single repeats (a resume overlap, a collector resending its ring, repeats within a batch) are
 *   dropped before encoding by the caller's bounded window (recent-ids.ts).
 * - Only a batch marked `checkStored` — the replay of what a writer that died may already have
 *   inserted (Kafka offsets between the last commit and its recorded intent) — is checked against
 *   the stored flow ids of its time range. That read grows with the table, so it is kept to recovery.
 * - Lost events are few (one report per ring overflow) and their table is small, so both paths
 *   check them against what is stored in their time range.
 *
 * `max_partitions_per_insert_block = 0` on every flow insert: an import of old captures may span
 * more days (partitions) than the default 100 per insert.
 * @module
 */
import { createHash } from 'node:crypto';
import type { QuerySettings, Store } from '../../../common/clickhouse/index.ts';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import type { RowBinaryFile } from '../../../common/clickhouse/store.ts';
import type { LostRecord } from '../../../common/flow/model.ts';
import { flowStructure } from '../../../common/schema/flow-row.ts';

/** An encoded flow batch ready to insert. */
export interface FlowBatchInsert {
  /** RowBinary rows in `flowStructure`: in memory, or in a file (the embedded sink's, batch-file.ts). */
  data: Uint8Array | RowBinaryFile;
  rows: number;
  /** `insert_deduplication_token`: the same batch always gets the same token. */
  token: string;
  /** Flow time range of the batch (only read when `checkStored`). */
  minNs: bigint;
  maxNs: bigint;
  /** Skip flows whose id is already stored in the batch's time range (recovery only, see above). */
  checkStored?: boolean;
  /** Extra settings, e.g. `distributed_foreground_insert` on a cluster. */
  settings?: QuerySettings;
}

const flowSettings: QuerySettings = {
  insert_deduplicate: 1,
  max_partitions_per_insert_block: 0,
  // The rollup views' GROUP BYs were JIT-compiled (LLVM) again on every insert: 45–75 ms of CPU
  // per insert (system.events CompileExpressionsMicroseconds, 3 inserts of 10,000 and 50,000
  // rows, 2026-12-02), ~1.4 µs per flow at 50,000-row batches and more for the Kafka writer's
  // smaller ones, against an aggregation of at most a batch's rows that the compiled code hardly
  // speeds up. Off, the insert compiles nothing (CompileFunction 0, pipeline build 75 → 3 ms).
  compile_aggregate_expressions: 0,
  // Each rollup view's block is already one row per key of its target (every view's GROUP BY is
  // its target's ORDER BY), so the insert-time merge of the Summing/Replacing/Aggregating targets
  // folds nothing (the same rows are written either way) and only costs CPU:
  // MergeTreeDataWriterMergingBlocksMicroseconds 27–60 ms per 50,000-row insert, gone with it off;
  // paired A/B over 16 interleaved rounds, −18 ms CPU per insert (median). `flows` itself is a plain MergeTree; readers always aggregate rollups.
  optimize_on_insert: 0,
};

const recoverySelect =
  "SELECT * FROM {input} WHERE flow_id NOT IN (SELECT flow_id FROM flows WHERE time >= fromUnixTimestamp64Nano({min:Int64}, 'UTC') AND time <= fromUnixTimestamp64Nano({max:Int64}, 'UTC')) LIMIT 1 BY flow_id";

/** Inserts one flow batch; returns the rows written (0 when ClickHouse skipped it as a repeat). */
export async function insertFlowBatch(store: Store, b: FlowBatchInsert): Promise<number> {
  if (b.rows === 0) return 0;
  const result = await store.insertRowBinary({
    into: 'flows',
    structure: flowStructure,
    select: b.checkStored ? recoverySelect : 'SELECT * FROM {input}',
    data: b.data,
    ...(b.checkStored ? { params: { min: b.minNs.toString(), max: b.maxNs.toString() } } : {}),
    settings: { ...flowSettings, ...b.settings, insert_deduplication_token: b.token },
  });
  return Math.min(result.written, b.rows);
}

const lostStructure =
  "time DateTime64(9, 'UTC'), target String, node_name String, source String, num_events_lost UInt64, cpu Int32, window_start DateTime64(9, 'UTC'), window_end DateTime64(9, 'UTC')";

/** Inserts lost-event reports, skipping those already stored (same target, node, time and cpu). */
export async function insertLostEvents(
  store: Store,
  lost: readonly LostRecord[],
  settings: QuerySettings = {},
): Promise<void> {
  if (lost.length === 0) return;
  const w = new RowBinaryWriter(lost.length * 128);
  let min = lost[0]!.timeNs;
  let max = min;
  for (const l of lost) {
    if (l.timeNs < min) min = l.timeNs;
    if (l.timeNs > max) max = l.timeNs;
    w.dateTime64ns(l.timeNs);
    w.string(l.target);
    w.string(l.nodeName);
    w.string(String(l.event.source));
    w.uint64(l.event.num_events_lost);
    w.int32(l.event.cpu ?? -1);
    w.dateTime64ns(l.windowStartNs);
    w.dateTime64ns(l.timeNs);
  }
  await store.insertRowBinary({
    into: 'lost_events',
    structure: lostStructure,
    select:
      "SELECT * FROM {input} WHERE (target, node_name, time, cpu) NOT IN (SELECT target, node_name, time, cpu FROM lost_events WHERE time >= fromUnixTimestamp64Nano({min:Int64}, 'UTC') AND time <= fromUnixTimestamp64Nano({max:Int64}, 'UTC')) LIMIT 1 BY target, node_name, time, cpu",
    data: w.take(),
    params: { min: min.toString(), max: max.toString() },
    settings,
  });
}

/**
 * The deduplication token of a batch, built as flows are added: a running digest of their ids in
 * order (the source position, in content form: the same file lines or Kafka messages give the
 * same ids in the same order, whichever path or process read them).
 */
export class BatchToken {
  private hash = createHash('sha256');
  private count = 0;
  /**
   * Ids not yet hashed, `pendingBytes` of them: hashed 4,096 at a time. The digest is the same as
   * one update per id, without a call into the native hash per flow (a fifth of the sink's own cost
   * per flow, CPU profile of the end-to-end run).
   */
  private readonly pending = new Uint8Array(16 * 4096);
  private pendingBytes = 0;

  /** Adds one flow id (16 bytes, as every flow id is: the codec and the walk make no other). */
  add(id: Uint8Array): void {
    const p = this.pending;
    let o = this.pendingBytes;
    for (let k = 0; k < 16; k++) p[o++] = id[k]!;
    this.pendingBytes = o;
    if (o === p.length) this.flushPending();
    this.count++;
  }

  /** Flows added since the last `take`. */
  get rows(): number {
    return this.count;
  }

  /** The token for the flows added so far; starts a new one. */
  take(): string {
    this.flushPending();
    const token = `f1-${this.count}-${this.hash.digest('hex').slice(0, 40)}`;
    this.hash = createHash('sha256');
    this.count = 0;
    return token;
  }

  private flushPending(): void {
    if (this.pendingBytes > 0) this.hash.update(this.pending.subarray(0, this.pendingBytes));
    this.pendingBytes = 0;
  }
}

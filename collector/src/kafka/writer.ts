/**
 * The Kafka → ClickHouse writer of distributed mode: one member of a consumer group that decodes
 * flow messages, inserts them in large RowBinary batches, and commits a partition's offsets only
 * after the insert holding its messages succeeded.
 *
 * - Batching: the unit of insert is an offset range of one partition, never a mix of partitions.
 *   A handler decodes its fetch into a range and returns: the next fetch is decoded while ClickHouse
 *   inserts (kafkajs fetches again only once every handler of a fetch returned, so a handler that
 *   waited for its insert left one of the two cores idle). One insert runs at a time; while it runs,
 *   a partition's next fetches extend its range still waiting in line (up to `batchRows`), so the
 *   inserts grow as the store falls behind. A partition's offset is committed once its oldest range
 *   is stored; a crash before replays from there.
 * - No duplicate on replay, at a cost that does not grow with the table (writer/flow-insert.ts):
 *   a window of recent flow ids drops repeats (a collector resending its ring, a redelivery inside
 *   this process); each range's insert carries a dedup token derived from the range (partition,
 *   first and last offset: `rangeToken`); and before a partition's messages go into an insert, the
 *   offset commit records the ranges (`flowtrail-inflight:<end>,<end>…` as commit metadata). A
 *   writer that takes over a partition reads them and inserts the same ranges again with the same
 *   tokens, checked against the stored flow ids. The recorded ends are those of every range of the
 *   partition not stored yet, oldest first, and the committed offset is the oldest one's start; a
 *   range extended by a later fetch is recorded with its new end before the fetch's messages join
 *   it. A range is inserted only whole, with the bounds recorded for it: a fetch that ends inside a
 *   range (a successor's fetches need not match the fetches that made it) leaves it for the next
 *   fetch to complete. That fences a writer the group dropped while it was still inserting (a
 *   starved process missing its heartbeats) by construction: whichever of the two inserts of a
 *   range lands second is skipped by ClickHouse, in either order. A dropped writer cannot start or
 *   extend a range either: recording the intent is an offset commit, which the broker refuses from
 *   a member of an old generation; and a commit queued before a rejoin is not sent after it (the
 *   broker checks the generation, not who holds the partition). One window is left: kafkajs
 *   retries a commit that failed on a connection or coordinator error, and a retry can go out after
 *   a rejoin, with the offset and intent computed before it.
 * - Rejoin: the group resumes each partition from its committed offset, so at every join what this
 *   writer read and has not begun to insert is dropped (its ranges are recorded: whoever reads the
 *   partition next replays them), and each partition's first fetch reads the recorded intent.
 * - Attribution: a flow end the collector could not attribute (source `none`: a Kafka-only
 *   collector has no ownership table) is attributed here from the store's ownership table
 *   (common/ownership/stored-lookup.ts, refreshed every `ownershipRefreshMs`), by the one owner
 *   rule; ends the collector attributed are kept as they are.
 * - Malformed messages go to the dead-letter topic with the reason in a header; the partition goes on.
 * - Stop: `stop()` stops fetching, waits until the whole ranges already read are stored and
 *   committed, then leaves the group; an insert still failing after `stopGraceMs` is abandoned with
 *   every range after it, their offsets left uncommitted.
 * @module
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Store } from '../../../common/clickhouse/index.ts';
import type { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { errorMessage } from '../../../common/errors.ts';
import { type EndAttribution, unattributed } from '../../../common/flow/attribution.ts';
import type { FlowRecord, LostRecord } from '../../../common/flow/model.ts';
import { createSampledLogger, type Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import { createStoredOwnership, type StoredOwnership } from '../../../common/ownership/stored-lookup.ts';
import type { OwnerInterval } from '../../../common/ownership/types.ts';
import { retry, sleep } from '../../../common/retry.ts';
import { encodeFlowRow, type FlowPeek, peekFlow } from '../../../common/schema/flow-wire.ts';
import { BatchBuffers } from '../writer/batch-buffers.ts';
import { insertFlowBatch, insertLostEvents } from '../writer/flow-insert.ts';
import { RecentIds } from '../writer/recent-ids.ts';
import { FlowBatchReader, headers } from './codec.ts';
import { ensureTopics, type KafkaConfig } from './config.ts';

/** Writer tuning. */
export interface KafkaWriterConfig {
  /**
   * A partition's batch takes no more fetches once it holds this many rows (a fetch joins whole, so
   * a batch holds up to one fetch more). Past twice this many rows of whole ranges waiting for the
   * insert lane, the handlers wait for it (the writer's memory: ~300 B of rows per flow, so up to
   * ~3 × 60 MB at the default). Default 200,000: each insert costs ClickHouse a fixed part, and under
   * load ranges grow while they wait for the insert lane. `flowtrail bench`'s Kafka pass (800,000
   * flows, collector in its own process, alternated, two rounds, 2026-12-03): 22–23 µs of CPU per
   * flow at 200,000 (chdb 5.2–5.6, 160k rows per insert) against 26–27 at 100,000 (chdb 7.0–8.7).
   */
  batchRows: number;
  /**
   * A partition's batch goes to the insert when it holds `batchRows`, or when no fetch added to it
   * for `lingerMs` (its traffic paused or ended), or when it is `maxBatchAgeMs` old. Defaults 500 ms
   * (longer than a fetch's wait, `maxWaitTimeMs`, so steady traffic keeps extending it) and 5,000 ms.
   * Each insert costs ClickHouse a fixed part whatever its size (~0.1–0.2 s of CPU here), and this
   * writer splits its traffic over its partitions: at 60,000 flows/s over 6 partitions, an insert
   * made at every fetch held a few thousand flows; one that waits holds up to 5 s of a partition's
   * flows. ClickHouse's own Kafka engine flushes every 7.5 s (`stream_flush_interval_ms`).
   */
  lingerMs: number;
  maxBatchAgeMs: number;
  /** Partitions handled at once by this writer (all of them should fit). Default 64. */
  partitionsConsumedConcurrently: number;
  /**
   * Fetch limits (compressed bytes): per request and per partition. Defaults 32 MiB and 24 MiB.
   * Catching up a backlog, each insert is one partition's share of a fetch, and ClickHouse pays a
   * fixed part per insert: at 8 MiB a partition's share held ~60,000 flows, at 24 MiB ~150,000.
   * `flowtrail bench`'s drain (one writer emptying 300,000 flows over 6 partitions, alternated,
   * two rounds, the machine otherwise busy): 22–24 µs of CPU per flow at 8 MiB (chdb 13.6–14.7),
   * 15–17 at 24 MiB (chdb 6.9–7.7), flows per second +30–40%. The price is memory: a fetch holds
   * up to `maxBytes` of compressed messages, ~4× that decompressed (~600 B per flow), and each
   * batch ~300 B per flow of rows.
   */
  maxBytes: number;
  maxBytesPerPartition: number;
  /**
   * A fetch waits until `minBytes` (compressed, over all partitions) are there or `maxWaitTimeMs`
   * passed. Defaults 2 MiB and 250 ms: each fetch costs a round of the handlers and, per partition,
   * an offset commit (the intent), so a fetch answered as soon as one message is there costs those
   * for a few hundred flows.
   */
  minBytes: number;
  maxWaitTimeMs: number;
  /** Group session timeout. Default 30,000 ms. */
  sessionTimeoutMs: number;
  /** Insert retry backoff. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long `stop()` lets a failing insert go on retrying. Default 10,000 ms. */
  stopGraceMs: number;
  /** Insert settings, e.g. `distributed_foreground_insert` for a cluster's Distributed table. */
  insertSettings: Record<string, string | number>;
  /**
   * Flow ids remembered for dedup (at least 2 × batchRows). Default 1,000,000 (25 MB).
   */
  dedupWindow: number;
  /** How often the ownership table is re-read for ends the collector left unattributed; 0: never. Default 5,000 ms. */
  ownershipRefreshMs: number;
}

export const defaultKafkaWriterConfig: KafkaWriterConfig = {
  batchRows: 200_000,
  lingerMs: 500,
  maxBatchAgeMs: 5_000,
  partitionsConsumedConcurrently: 64,
  maxBytes: 32 << 20,
  maxBytesPerPartition: 24 << 20,
  minBytes: 2 << 20,
  maxWaitTimeMs: 250,
  sessionTimeoutMs: 30_000,
  retryInitialMs: 200,
  retryMaxMs: 5_000,
  stopGraceMs: 10_000,
  insertSettings: {},
  dedupWindow: 1_000_000,
  ownershipRefreshMs: 5_000,
};

export interface KafkaWriterDeps {
  kafka: Kafka;
  kafkaConfig: KafkaConfig;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** Test hooks that force interleavings (a writer dropped from the group while inserting). */
  hooks?: KafkaWriterHooks;
}

/** One insert unit: the messages of a partition from `start` to `end` (offsets, inclusive). */
export interface OffsetRange {
  partition: number;
  start: bigint;
  end: bigint;
  /** A replay of a range another writer (or an earlier attempt) recorded as in flight. */
  replay: boolean;
}

export interface KafkaWriterHooks {
  /** Awaited before a range's rows are inserted. */
  beforeInsert?(range: OffsetRange): Promise<void>;
  /** False while the group session must not be kept alive (the writer then looks dead to the group). */
  heartbeats?(): boolean;
  /** Called as a fetch of one partition is handed over, before any of its messages is read (the bench's clock). */
  onFetch?(partition: number): void;
}

/** An end from an ownership interval: wholly its identity, keeping the collector's scope. */
function ownedEnd(iv: OwnerInterval, scope: EndAttribution['scope']): EndAttribution {
  return {
    tenant: iv.tenant,
    account: iv.account,
    namespace: iv.namespace,
    job: iv.job,
    group: iv.group,
    allocId: iv.allocId,
    allocName: iv.allocName,
    node: iv.nodeName,
    source: 'ownership',
    scope,
  };
}

/**
 * What attribution from the store reads and writes of a flow's two ends (0 source, 1 destination):
 * a FlowRecord's `attribution` object (`recordEnds`), or the entry a FlowBatchReader holds (the
 * writer's), whose ends stay bytes until one is replaced.
 */
export interface FlowEnds {
  endAttributed(side: 0 | 1): boolean;
  endScope(side: 0 | 1): EndAttribution['scope'];
  setEnd(side: 0 | 1, end: EndAttribution): void;
}

const sides = ['source', 'destination'] as const;

/** The ends of a FlowRecord, through its `attribution` object. */
export function recordEnds(f: FlowRecord): FlowEnds {
  return {
    endAttributed: (side) => (f.attribution?.[sides[side]].source ?? 'none') !== 'none',
    endScope: (side) => f.attribution?.[sides[side]].scope ?? 'unknown',
    setEnd(side, end) {
      f.attribution ??= { source: { ...unattributed }, destination: { ...unattributed }, conflict: '' };
      f.attribution[sides[side]] = end;
    },
  };
}

/**
 * Attributes the ends of `f` that arrived unattributed from the stored ownership; returns how
 * many ends it filled. The addresses are read from the Flow's bytes only when an end needs them;
 * throws FlowWireError when those bytes are not a Flow.
 */
export function attributeFromStore(
  f: FlowRecord,
  ownership: StoredOwnership,
  ends: FlowEnds = recordEnds(f),
): number {
  let filled = 0;
  let peek: FlowPeek | undefined;
  for (const side of [0, 1] as const) {
    if (ends.endAttributed(side)) continue;
    peek ??= peekFlow(f.pb);
    const ip = side === 0 ? peek.sourceIp : peek.destinationIp;
    if (!ip) continue;
    const iv = ownership.allocAt(ip, f.timeNs);
    if (!iv) continue;
    ends.setEnd(side, ownedEnd(iv, ends.endScope(side)));
    filled++;
  }
  return filled;
}

/** Commit metadata recording the ends of the offset ranges about to go into inserts (`…:12,40`). */
const intentPrefix = 'flowtrail-inflight:';

/**
 * The `insert_deduplication_token` of a range: the same offsets of the same partition always get
 * the same token, whichever writer inserts them and whatever it dropped from them as repeats.
 */
export function rangeToken(topic: string, r: OffsetRange): string {
  return `k1-${topic}-${r.partition}-${r.start}-${r.end}`;
}

/** Counters for the CLI summary, tests and the bench. */
export interface KafkaWriterStats {
  messages: number;
  flows: number;
  stored: number;
  duplicates: number;
  lostRecords: number;
  /** Flows checked against the store because a writer may have stored them without committing. */
  recovered: number;
  /** Flow ends attributed here from the stored ownership table. */
  attributed: number;
  deadLettered: number;
  inserts: number;
  /** Wall milliseconds spent in inserts (one at a time): their share of a run says whether the store bounds it. */
  insertMs: number;
  failedInserts: number;
  commits: number;
}

/** A running writer. */
export interface KafkaWriter {
  /** Joins the group and starts consuming; resolves once the consumer runs. */
  start(): Promise<void>;
  /** Stops consuming; an open batch is stored and committed, or left uncommitted. */
  stop(): Promise<void>;
  stats(): KafkaWriterStats;
  /** Milliseconds since the last message arrived (or since start). */
  idleMs(): number;
  /** Sum of the last known lag of every partition this writer consumed. */
  lag(): number;
  /** The partitions the group gave this writer at its last join (empty before it joined). */
  assignedPartitions(): readonly number[];
  /** True while a batch is open or being inserted. */
  busy(): boolean;
}

interface InsertBatch {
  rows: RowBinaryWriter;
  /**
   * Its adds to the repeat window, as runs of their sequence numbers (`from`, `to` pairs: one per
   * message, joined when contiguous): dropped unstored, it takes those ids out again.
   */
  adds: number[];
  /** The offsets it holds; its dedup token is derived from them (see the module doc). */
  range: OffsetRange;
  count: number;
  minNs: bigint;
  maxNs: bigint;
  lost: LostRecord[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** The group generation it was read in (counted by joins): only that one commits after it. */
  generation: number;
  /** Taken by the insert lane: no fetch extends it any more. */
  sealed: boolean;
  /** A handler is appending a fetch to it: the insert lane takes the next one meanwhile. */
  extending: boolean;
  /** Goes to the insert lane now, ripe or not: a handler of its partition waits for it. */
  due: boolean;
  /**
   * The last offset read into it. A batch goes to an insert only once it has read its whole
   * recorded range (`readTo === range.end`): a fetch ending inside it leaves it for the next fetch
   * to complete, so every insert of a range has the bounds (and the token) recorded for it.
   */
  readTo: bigint;
  /** Dropped unstored (a rejoin, a stop): its recorded range is replayed by whoever reads it next. */
  dropped: boolean;
  /** When it was opened and last extended (ms): when it is ripe for the insert lane. */
  openedAt: number;
  extendedAt: number;
}

/** Creates the writer; no connection before `start()`. */
export function createKafkaWriter(config: KafkaWriterConfig, deps: KafkaWriterDeps): KafkaWriter {
  const { kafka, kafkaConfig, store, logger } = deps;
  const topic = kafkaConfig.topic;
  const sampled = createSampledLogger(logger);
  const m = {
    lag: deps.metrics.gauge('consumer_lag', 'Messages behind the end of each partition', ['partition']),
    insertSeconds: deps.metrics.histogram('insert_seconds', 'Time to insert one batch into ClickHouse'),
    stored: deps.metrics.counter('rows_stored_total', 'Flow rows stored'),
    duplicates: deps.metrics.counter('rows_duplicate_total', 'Flow rows skipped as already stored'),
    undecodable: deps.metrics.counter('flows_undecodable_total', 'Flows dropped: their bytes are not a Flow'),
    rejected: deps.metrics.counter('messages_rejected_total', 'Messages that could not be decoded', [
      'reason',
    ]),
    deadLettered: deps.metrics.counter(
      'messages_dead_lettered_total',
      'Messages sent to the dead-letter topic',
    ),
    failures: deps.metrics.counter('insert_failures_total', 'Failed insert attempts'),
    messages: deps.metrics.counter('messages_total', 'Messages consumed'),
    attributed: deps.metrics.counter(
      'ends_attributed_from_ownership_total',
      'Flow ends the collector left unattributed, attributed here from the stored ownership table',
    ),
  };
  const stats: KafkaWriterStats = {
    messages: 0,
    flows: 0,
    stored: 0,
    duplicates: 0,
    lostRecords: 0,
    recovered: 0,
    attributed: 0,
    deadLettered: 0,
    inserts: 0,
    insertMs: 0,
    failedInserts: 0,
    commits: 0,
  };
  const lagByPartition = new Map<number, number>();
  let assignment: number[] = [];
  let consumer: Consumer | undefined;
  let dlq: Producer | undefined;
  // Batches waiting for the insert lane, in the order they were read.
  const queue: InsertBatch[] = [];
  let inserting = false;
  // Woken each time the insert lane settles a batch: what backpressure and `stop()` wait on.
  let laneWaiters: (() => void)[] = [];
  const laneMoves = () => new Promise<void>((resolve) => laneWaiters.push(resolve));
  // Per partition: its batches not yet stored, oldest first (the committed offset and the recorded
  // intent are derived from them), the offset after the newest stored one, and its commits in order.
  const unstored = new Map<number, InsertBatch[]>();
  const storedNext = new Map<number, bigint>();
  const commitChains = new Map<number, Promise<void>>();
  let generation = 0;
  let handlersRunning = 0;
  let stopping = false;
  let lastActivity = Date.now();
  const abort = new AbortController();
  const seen = new RecentIds(Math.max(config.dedupWindow, 2 * config.batchRows));
  // Per partition: the offset this writer expects next. A handler starting elsewhere means someone
  // else (or a failed attempt) handled the messages before: read the recorded intent again.
  const expected = new Map<number, string>();
  const intents = new Map<number, bigint[]>();
  let admin: Admin | undefined;
  const ownership = config.ownershipRefreshMs > 0 ? createStoredOwnership(store) : undefined;
  let ownershipTimer: NodeJS.Timeout | undefined;
  const refreshOwnership = () =>
    ownership
      ?.refresh()
      .catch((err) =>
        logger.warn('cannot read the ownership table; will retry', { error: errorMessage(err) }),
      );

  // Freed batch buffers kept for the next batches (each is resident memory while it waits).
  const buffers = new BatchBuffers(4);
  const newBatch = (range: OffsetRange): InsertBatch => {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {});
    return {
      rows: buffers.writer(),
      adds: [],
      range,
      count: 0,
      minNs: 0n,
      maxNs: 0n,
      lost: [],
      done,
      resolve,
      reject,
      generation,
      sealed: false,
      extending: false,
      due: false,
      readTo: range.start - 1n,
      dropped: false,
      openedAt: Date.now(),
      extendedAt: Date.now(),
    };
  };
  const unstoredOf = (partition: number): InsertBatch[] => {
    let list = unstored.get(partition);
    if (!list) {
      list = [];
      unstored.set(partition, list);
    }
    return list;
  };
  /** Takes a batch off its partition's list and out of the lane's queue. */
  const forget = (b: InsertBatch) => {
    for (const list of [unstored.get(b.range.partition), queue]) {
      const i = list?.indexOf(b) ?? -1;
      if (i >= 0) list!.splice(i, 1);
    }
  };
  const complete = (b: InsertBatch) => b.readTo >= b.range.end;
  /** Takes a batch's flow ids out of the repeat window (it is dropped or abandoned unstored). */
  const forgetIds = (b: InsertBatch) => {
    for (let k = 0; k < b.adds.length; k += 2) seen.forgetAdded(b.adds[k]!, b.adds[k + 1]!);
  };
  /** The rows of whole ranges waiting for the insert lane (what it can take to make room). */
  const waitingRows = () => queue.reduce((n, b) => (complete(b) ? n + b.count : n), 0);
  const wakeLaneWaiters = () => {
    const waiters = laneWaiters;
    laneWaiters = [];
    for (const wake of waiters) wake();
  };

  /**
   * Drops the batches the insert lane has not taken, of one partition or of all: their ranges are
   * recorded, so whoever reads the partition next (this writer too) replays them with the same
   * bounds. Their flow ids leave the repeat window, or the replay would skip them; the ids of
   * flows already stored stay, so a collector resending those is still caught.
   */
  const dropUnsealed = (partition?: number) => {
    let any = false;
    for (const [p, list] of unstored) {
      if (partition !== undefined && p !== partition) continue;
      for (const b of list.filter((x) => !x.sealed)) {
        b.dropped = true;
        b.reject(new Error(`range ${b.range.start}-${b.range.end} of partition ${p} dropped unstored`));
        forget(b);
        forgetIds(b);
        buffers.give(b.rows.detach(0));
        any = true;
      }
    }
    if (any) wakeLaneWaiters();
  };

  /**
   * Commits a partition's position from its unstored batches: the oldest one's start, with every
   * unstored range's end as the intent (or past the newest stored range, with no intent). One at a
   * time per partition, each computed when it is sent, so a late commit never moves a position back.
   * Resolves false when nothing was sent: the partition is no longer this writer's.
   */
  const commitPosition = (partition: number): Promise<boolean> => {
    const asOf = generation;
    const send = async () => {
      // The broker checks the member and its generation, not who holds the partition: a commit
      // queued before a rejoin must not overwrite the new holder's position and intent.
      if (asOf !== generation || !assignment.includes(partition)) return false;
      const list = unstored.get(partition) ?? [];
      const offset = list[0]?.range.start ?? storedNext.get(partition);
      if (offset === undefined || !consumer) return false;
      const metadata = list.length > 0 ? `${intentPrefix}${list.map((b) => b.range.end).join(',')}` : null;
      await consumer.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }]);
      return true;
    };
    const sent = (commitChains.get(partition) ?? Promise.resolve()).then(send);
    commitChains.set(
      partition,
      sent.then(
        () => {},
        () => {},
      ),
    );
    return sent;
  };

  /** A batch is stored: off its partition's list, and the partition's position moves past it. */
  const afterStored = (b: InsertBatch) => {
    const { partition } = b.range;
    forget(b);
    const next = b.range.end + 1n;
    if (next > (storedNext.get(partition) ?? -1n)) storedNext.set(partition, next);
    // A batch of an earlier generation is committed by whoever holds the partition now (this
    // writer too, after replaying the recorded ranges).
    if (b.generation !== generation) return;
    commitPosition(partition).then(
      (sent) => {
        if (sent) stats.commits++;
      },
      // Stored but not committed: whoever reads this partition next replays it, and the intent
      // recorded before the insert tells it to check these messages against the store.
      (err) => logger.warn('offset commit failed', { partition, offset: next, error: errorMessage(err) }),
    );
  };

  const insert = async (b: InsertBatch) => {
    const started = performance.now();
    await deps.hooks?.beforeInsert?.(b.range);
    if (b.count > 0) {
      const data = b.rows.detach(0);
      const token = rangeToken(topic, b.range);
      // Handed back only once stored: a retry inserts the same bytes again.
      const handBack = () => buffers.give(data);
      const written = await retry(
        () =>
          insertFlowBatch(store, {
            data,
            rows: b.count,
            token,
            minNs: b.minNs,
            maxNs: b.maxNs,
            // A replay of what another writer may have stored: checked against the store.
            checkStored: b.range.replay,
            settings: config.insertSettings,
          }),
        retryOptions(b.count),
      );
      handBack();
      stats.stored += written;
      stats.duplicates += b.count - written;
      m.stored.inc(written);
      m.duplicates.inc(b.count - written);
    } else buffers.give(b.rows.detach(0));
    if (b.lost.length > 0) {
      await retry(() => insertLostEvents(store, b.lost, config.insertSettings), retryOptions(b.lost.length));
    }
    stats.inserts++;
    stats.insertMs += performance.now() - started;
    m.insertSeconds.observe((performance.now() - started) / 1000);
  };

  const retryOptions = (rows: number) => ({
    maxAttempts: Number.POSITIVE_INFINITY,
    initialDelayMs: config.retryInitialMs,
    maxDelayMs: config.retryMaxMs,
    signal: abort.signal,
    isRetriable: () => true,
    onRetry: (err: unknown, attempt: number, delay: number) => {
      stats.failedInserts++;
      m.failures.inc();
      logger.warn('insert failed, retrying', { attempt, delay_ms: delay, rows, error: errorMessage(err) });
    },
  });

  /**
   * The intents recorded in the group's commit metadata, per partition (one round trip, shared by
   * the handlers of every partition that asks at once).
   */
  let reading: Promise<void> | undefined;
  const readIntents = () => {
    reading ??= (async () => {
      const asOf = generation;
      try {
        if (!admin) {
          const a = kafka.admin();
          await a.connect();
          admin = a;
        }
        const fetched = await admin.fetchOffsets({ groupId: kafkaConfig.groupId, topics: [topic] });
        // Read before a rejoin: the new holders' intents may differ (the handler that asked sees
        // the generation change and starts over).
        if (asOf !== generation) return;
        for (const p of fetched[0]?.partitions ?? []) {
          if (p.metadata?.startsWith(intentPrefix)) {
            intents.set(p.partition, p.metadata.slice(intentPrefix.length).split(',').map(BigInt));
          } else intents.delete(p.partition);
        }
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  /**
   * When a waiting batch is due for the insert lane (see `lingerMs`): now for a replay, a batch a
   * handler waits for, or any while stopping; never for a range not wholly read.
   */
  const ripeAt = (b: InsertBatch): number =>
    !complete(b)
      ? Number.POSITIVE_INFINITY
      : b.due || stopping || b.range.replay || b.count >= config.batchRows
        ? 0
        : Math.min(b.extendedAt + config.lingerMs, b.openedAt + config.maxBatchAgeMs);
  let ripenTimer: NodeJS.Timeout | undefined;
  /**
   * The oldest ripe batch no handler is reading into (a partition's older ranges come first).
   * Only whole ranges are ever taken; every whole one is ripe while more than two full batches wait
   * (memory). With none ripe, the lane is woken when the first one ripens.
   */
  const takeNext = (): InsertBatch | undefined => {
    const now = Date.now();
    const all = waitingRows() > 2 * config.batchRows;
    let due = Number.POSITIVE_INFINITY;
    for (let i = 0; i < queue.length; i++) {
      const b = queue[i]!;
      // A partition's ranges are stored in order: a stored range past an unstored one would be
      // left out of the intent the committed offset is read with.
      if (b.extending || unstored.get(b.range.partition)?.find((x) => !x.sealed) !== b) continue;
      const at = all && complete(b) ? 0 : ripeAt(b);
      if (at > now) {
        due = Math.min(due, at);
        continue;
      }
      queue.splice(i, 1);
      b.sealed = true;
      return b;
    }
    if (Number.isFinite(due)) {
      clearTimeout(ripenTimer);
      ripenTimer = setTimeout(() => void pump(), due - now);
    }
    return undefined;
  };

  const pump = async () => {
    if (inserting) return;
    inserting = true;
    try {
      for (let b = takeNext(); b; b = takeNext()) {
        try {
          // Past the stop's grace time nothing more is inserted: a range stored after an abandoned
          // one of its partition would be read again as new by the next holder.
          if (abort.signal.aborted) throw new Error('writer stopped before this range was stored');
          await insert(b);
          afterStored(b);
          b.resolve();
        } catch (err) {
          // Abandoned unstored: its ids must not make a replay look like a repeat. It stays on its
          // partition's list, so no later commit moves the position past it.
          forgetIds(b);
          b.reject(err);
        }
        wakeLaneWaiters();
      }
    } finally {
      inserting = false;
    }
  };

  const deadLetter = async (partition: number, message: KafkaMessage, reason: string) => {
    m.rejected.inc({ reason: reason.split(':')[0]!.slice(0, 40) });
    sampled('warn', 'dead-letter', 'message dead-lettered', { partition, offset: message.offset, reason });
    await retry(
      async () => {
        if (!dlq) {
          const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
          await p.connect();
          dlq = p;
        }
        await dlq.send({
          topic: kafkaConfig.deadLetterTopic,
          acks: -1,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: {
                ...message.headers,
                [headers.error]: reason,
                [headers.sourceTopic]: topic,
                [headers.sourcePartition]: String(partition),
                [headers.sourceOffset]: message.offset,
              },
            },
          ],
        });
      },
      {
        ...retryOptions(1),
        onRetry: (err) => logger.warn('dead-letter send failed', { error: errorMessage(err) }),
      },
    );
    stats.deadLettered++;
    m.deadLettered.inc();
  };

  /**
   * Waits for `until` while keeping the group session alive (a handler that waits holds up kafkajs's
   * own heartbeats); the hooks can stop the heartbeats to make this writer look dead to the group.
   */
  const keepAlive = async (until: Promise<unknown>, heartbeat: () => Promise<void>) => {
    let settled = false;
    const outcome = until.then(
      () => {
        settled = true;
      },
      (err: unknown) => {
        settled = true;
        throw err;
      },
    );
    while (!settled) {
      await Promise.race([outcome, sleep(1_000)]);
      if (!settled && (deps.hooks?.heartbeats?.() ?? true)) await heartbeat().catch(() => {});
    }
    await outcome;
  };
  const settledAll = (batches: readonly InsertBatch[]) => Promise.allSettled(batches.map((b) => b.done));

  /** New ranges for offsets `from`…`lastN`: those recorded for them, then one for the rest. */
  const rangesOf = (partition: number, from: bigint, lastN: bigint): OffsetRange[] => {
    // A recorded end past this fetch keeps its range whole: the next fetch completes it.
    const ends = (intents.get(partition) ?? []).filter((e) => e >= from);
    const replays = ends.length;
    if (lastN > (ends.at(-1) ?? from - 1n)) ends.push(lastN);
    return ends.map((end, r) => ({
      partition,
      start: r === 0 ? from : ends[r - 1]! + 1n,
      end,
      replay: r < replays,
    }));
  };

  /**
   * The partition's newest batch, when this fetch goes on from it: one a fetch ended inside of
   * (it takes the rest of its range, bounds unchanged), or a whole one still waiting for the lane
   * and not full (it takes the fetch, its recorded end moved first).
   */
  const continued = (partition: number, firstN: bigint): InsertBatch | undefined => {
    const tail = unstored.get(partition)?.at(-1);
    if (!tail || tail.sealed || tail.extending || tail.generation !== generation) return;
    if (tail.readTo + 1n !== firstN) return;
    if (!complete(tail)) return tail;
    if (tail.range.replay || tail.count >= config.batchRows) return;
    return tail;
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    handlersRunning++;
    try {
      await handleFetch(payload);
    } finally {
      handlersRunning--;
    }
  };

  const handleFetch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const partition = batch.partition;
    deps.hooks?.onFetch?.(partition);
    const messages = batch.messages;
    if (messages.length === 0) return;
    const first = messages[0]!.offset;
    const firstN = BigInt(first);
    const lastN = BigInt(messages[messages.length - 1]!.offset);
    lastActivity = Date.now();
    // The batches this fetch goes into: the partition's newest one, when the fetch goes on from it,
    // then one per range (those a previous reader of these offsets recorded, replayed with the same
    // bounds, so with the same tokens, then one for the rest). All are in the lane's queue, marked
    // `extending` until read.
    const batches: InsertBatch[] = [];
    // A rejoin (GROUP_JOIN) can come during any await below (kafkajs rejoins from inside another
    // broker's fetcher): it drops this fetch's batches, and nothing more of it may be read.
    const asOf = generation;
    const rejoined = () => generation !== asOf;
    try {
      if (expected.get(partition) !== first) {
        // Someone else, or an earlier generation of this writer, read these offsets: what this
        // writer still holds of the partition is dropped or, already inserting, settles first;
        // then the recorded intent is read.
        dropUnsealed(partition);
        await keepAlive(settledAll(unstored.get(partition) ?? []), heartbeat);
        unstored.delete(partition);
        await readIntents();
      }
      if (generation !== asOf) throw new Error('the group rejoined while this fetch was being set up');
      const tail = continued(partition, firstN);
      let from = firstN;
      if (tail) {
        batches.push(tail);
        tail.extending = true;
        if (complete(tail)) {
          const ranges = rangesOf(partition, firstN, lastN);
          // Only a fetch that is all new offsets joins a whole batch (a recorded range keeps its bounds).
          if (ranges.length === 1 && !ranges[0]!.replay) {
            tail.range = { ...tail.range, end: lastN };
          } else {
            tail.extending = false;
            batches.pop();
          }
        }
        from = batches.length > 0 ? tail.range.end + 1n : firstN;
      }
      if (from <= lastN) {
        const fresh = rangesOf(partition, from, lastN).map(newBatch);
        for (const b of fresh) b.extending = true;
        batches.push(...fresh);
        unstoredOf(partition).push(...fresh);
        queue.push(...fresh);
      }
      // Record the intent before any of these messages can reach an insert (see the module doc).
      // Not sent, or answered after a rejoin (these batches were dropped): the fetch is read again.
      if (!(await commitPosition(partition)) || rejoined()) {
        throw new Error(`partition ${partition}: the group rejoined while the intent was recorded`);
      }
    } catch (err) {
      // Nothing resolved: the consumer fetches these messages again (after a rejoin, if that was
      // the cause). A short pause keeps a broker that is down from turning this into a busy loop.
      for (const b of batches) {
        b.extending = false;
        // An extended batch keeps its new end, unread: it can reach an insert only once a later
        // fetch has recorded that end and read up to it (the commit may have landed unanswered).
        if (b.readTo >= b.range.start) continue;
        // Opened by this fetch, nothing read: gone again.
        forget(b);
        buffers.give(b.rows.detach(0));
      }
      void pump();
      sampled('warn', 'intent', 'recording the insert intent failed; will retry', {
        partition,
        error: errorMessage(err),
      });
      await sleep(250);
      return;
    }
    let last: string | undefined;
    // One per handler: handlers of several partitions run at once.
    const reader = new FlowBatchReader();
    let r = 0;
    let beat = Date.now();
    const heartbeats = () => deps.hooks?.heartbeats?.() ?? true;
    try {
      for (const message of messages) {
        if (!isRunning() || isStale()) break;
        // Decoding a large fetch on a starved CPU can outlast the session: heartbeat as we go (a
        // no-op until the heartbeat interval has passed).
        if (Date.now() - beat > 1_000 && heartbeats()) {
          beat = Date.now();
          await heartbeat().catch(() => {});
          if (rejoined()) break;
        }
        stats.messages++;
        m.messages.inc();
        lastActivity = Date.now();
        const offset = BigInt(message.offset);
        while (offset > batches[r]!.range.end) r++;
        const b = batches[r]!;
        // Read in place; a message that is not a FlowBatch of this version is dead-lettered with the
        // reason the reader gives.
        let read = false;
        try {
          if (!message.value) throw new Error('empty message');
          reader.open(message.value);
          read = true;
        } catch (err) {
          await deadLetter(partition, message, errorMessage(err));
          if (rejoined()) break;
        }
        if (read) {
          const count = reader.count;
          const added = seen.added;
          for (let i = 0; i < count; i++) {
            const f = reader.flow(i);
            if (!seen.add(f.flowId)) {
              stats.duplicates++;
              m.duplicates.inc();
              continue;
            }
            try {
              if (ownership && ownership.size > 0) {
                const n = attributeFromStore(f, ownership, reader);
                if (n > 0) {
                  stats.attributed += n;
                  m.attributed.inc(n);
                }
              }
              encodeFlowRow(b.rows, f, reader); // appends nothing when it throws
            } catch (err) {
              m.undecodable.inc();
              logger.warn('undecodable flow dropped', {
                partition,
                offset: message.offset,
                error: errorMessage(err),
              });
              continue;
            }
            if (b.count === 0 || f.timeNs < b.minNs) b.minNs = f.timeNs;
            if (b.count === 0 || f.timeNs > b.maxNs) b.maxNs = f.timeNs;
            b.count++;
          }
          if (seen.added > added) {
            if (b.adds.at(-1) === added) b.adds[b.adds.length - 1] = seen.added;
            else b.adds.push(added, seen.added);
          }
          for (const l of reader.lost) b.lost.push(l);
          stats.flows += count;
          if (b.range.replay) stats.recovered += count;
          stats.lostRecords += reader.lost.length;
        }
        b.readTo = offset;
        last = message.offset;
      }
    } catch (err) {
      // Nothing is resolved, so the fetch comes again from its first offset: what this writer
      // holds of the partition is dropped and the recorded intent read again.
      dropUnsealed(partition);
      expected.delete(partition);
      throw err;
    } finally {
      // What was read stays in its batches; a batch the fetch ended inside waits for the next
      // fetch to complete it.
      for (const b of batches) {
        b.extending = false;
        b.extendedAt = Date.now();
      }
      void pump();
    }
    // Dropped while read (a rejoin): the fetch position must not move past what is no longer held.
    if (last === undefined || rejoined() || batches.some((b) => b.dropped)) return;
    resolveOffset(last);
    expected.set(partition, (BigInt(last) + 1n).toString());
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n);
    lagByPartition.set(partition, lag);
    m.lag.set({ partition: String(partition) }, lag);
    if (!heartbeats()) {
      // Made to look dead to the group (a test hook): hold the handler, as a starved writer would.
      const whole = batches.filter(complete);
      for (const b of whole) b.due = true;
      void pump();
      await keepAlive(settledAll(whole), heartbeat);
      return;
    }
    // Backpressure: past two full batches waiting, the next fetch waits for the insert lane.
    while (waitingRows() > 2 * config.batchRows) await keepAlive(laneMoves(), heartbeat);
  };

  return {
    async start() {
      if (ownership) {
        // Loaded in the background: joining the group does not wait for the ownership table.
        void refreshOwnership();
        ownershipTimer = setInterval(() => void refreshOwnership(), config.ownershipRefreshMs);
        ownershipTimer.unref();
      }
      await retry(() => ensureTopics(kafka, kafkaConfig, [topic, kafkaConfig.deadLetterTopic]), {
        maxAttempts: Number.POSITIVE_INFINITY,
        initialDelayMs: config.retryInitialMs,
        maxDelayMs: config.retryMaxMs,
        signal: abort.signal,
        isRetriable: () => true,
        onRetry: (err, attempt) =>
          logger.warn('kafka not reachable yet', { attempt, error: errorMessage(err) }),
      });
      const c = kafka.consumer({
        groupId: kafkaConfig.groupId,
        sessionTimeout: config.sessionTimeoutMs,
        heartbeatInterval: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
        maxBytes: config.maxBytes,
        maxBytesPerPartition: config.maxBytesPerPartition,
        minBytes: config.minBytes,
        maxWaitTimeInMs: config.maxWaitTimeMs,
        allowAutoTopicCreation: false,
      });
      consumer = c;
      // Connected up front, so a handler's first read of the commit intents is one request.
      await retry(readIntents, {
        maxAttempts: Number.POSITIVE_INFINITY,
        initialDelayMs: config.retryInitialMs,
        maxDelayMs: config.retryMaxMs,
        signal: abort.signal,
        isRetriable: () => true,
        onRetry: (err) => logger.warn('reading commit intents failed', { error: errorMessage(err) }),
      });
      c.on(c.events.GROUP_JOIN, (e) => {
        const assigned = e.payload.memberAssignment[topic] ?? [];
        assignment = [...assigned];
        generation++;
        // The group resumes every partition from its committed offset: what this writer read and
        // has not begun to insert is read again (by it or by another member), and the first fetch of
        // each partition reads the recorded intent.
        dropUnsealed();
        expected.clear();
        intents.clear();
        reading = undefined;
        for (const p of lagByPartition.keys()) if (!assigned.includes(p)) lagByPartition.delete(p);
        logger.info('joined writer group', { group: kafkaConfig.groupId, partitions: assigned });
      });
      c.on(c.events.CRASH, (e) => logger.error('consumer crashed', { error: errorMessage(e.payload.error) }));
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      lastActivity = Date.now();
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
        eachBatch,
      });
      logger.info('writer started', { topic, group: kafkaConfig.groupId });
    },
    async stop() {
      if (ownershipTimer) clearInterval(ownershipTimer);
      const grace = setTimeout(() => abort.abort(), config.stopGraceMs);
      try {
        if (consumer) {
          // Still a member while the ranges already read are stored and committed; past the grace
          // time the failing insert is abandoned and the rest with it.
          // Throws when the consumer never ran: then there is nothing to wait for.
          try {
            consumer.pause([{ topic }]);
          } catch {}
          stopping = true;
          void pump();
          // Whole ranges are stored; one a fetch ended inside is dropped (its recorded range is
          // replayed by the next reader).
          while (handlersRunning > 0 || inserting || queue.some(complete)) {
            await Promise.race([laneMoves(), sleep(50)]);
          }
          // Left on their partitions' lists, so the last commits still name their ranges.
          queue.length = 0;
          await Promise.allSettled(commitChains.values());
        }
        await consumer?.stop();
        await consumer?.disconnect();
      } finally {
        clearTimeout(grace);
        clearTimeout(ripenTimer);
        abort.abort();
        await dlq?.disconnect().catch(() => {});
        await admin?.disconnect().catch(() => {});
      }
    },
    stats: () => ({ ...stats }),
    idleMs: () => Date.now() - lastActivity,
    lag: () => [...lagByPartition.values()].reduce((a, b) => a + b, 0),
    assignedPartitions: () => assignment,
    busy: () => handlersRunning > 0 || queue.length > 0 || inserting,
  };
}

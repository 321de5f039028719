/**
 * The Kafka → ClickHouse writer of distributed mode: one member of a consumer group that decodes
 * flow messages, inserts them in large RowBinary batches, and commits a partition's offsets only
 * after the insert holding its messages succeeded.
 *
 * - Batching: the unit of insert is an offset range of one partition (a handler's fetch), never a
 *   mix of partitions; each handler waits until its ranges are stored, then commits. A crash
 *   before the commit replays those messages.
 * - No duplicate on replay, at a cost that does not grow with the table (writer/flow-insert.ts):
 *   a window of recent flow ids drops repeats (a collector resending its ring, a redelivery inside
 *   this process); each range's insert carries a dedup token derived from the range (partition,
 *   first and last offset: `rangeToken`); and before a partition's messages go into an insert, the
 *   offset commit records the ranges (`flowtrail-inflight:<end>,<end>…` as commit metadata). A
 *   writer that takes over a partition reads them and inserts the same ranges again with the same
 *   tokens, checked against the stored flow ids. That fences a writer the group dropped while it
 *   was still inserting (a starved process missing its heartbeats) by construction: whichever of
 *   the two inserts of a range lands second is skipped by ClickHouse, in either order. A dropped
 *   writer cannot start a new range either: recording the intent is an offset commit, which the
 *   broker refuses from a member of an old generation.
 * - Attribution: a flow end the collector could not attribute (source `none`: a Kafka-only
 *   collector has no ownership table) is attributed here from the store's ownership table
 *   (common/ownership/stored-lookup.ts, refreshed every `ownershipRefreshMs`), by the one owner
 *   rule; ends the collector attributed are kept as they are.
 * - Malformed messages go to the dead-letter topic with the reason in a header; the partition goes on.
 * - Stop: `stop()` ends the consumer after the handlers return; an insert still failing at that
 *   point is abandoned after `stopGraceMs`, its offsets left uncommitted.
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
  /** Rows after which the insert batch is sealed. Default 100,000. */
  batchRows: number;
  /**
   * A small fetch (under `minBytes` of message values) of a partition with nothing more on the
   * broker is left unread for up to this long, so the next fetch returns it with what arrived
   * meanwhile and one insert stores both. Default 200 ms. The first fetch of a burst held a few
   * hundred flows, and each insert costs ClickHouse a fixed part whatever its size.
   */
  lingerMs: number;
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
   * passed. Defaults 2 MiB and 250 ms: each insert is one partition's share of a fetch, and a fetch
   * answered as soon as one message is there makes inserts of a few hundred rows, each paying
   * ClickHouse's fixed cost of an insert (a part, the materialized views, a merge later).
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
  /** Flow ids remembered for dedup (at least 2 × batchRows). Default 1,000,000 (24 MB). */
  dedupWindow: number;
  /** How often the ownership table is re-read for ends the collector left unattributed; 0: never. Default 5,000 ms. */
  ownershipRefreshMs: number;
}

export const defaultKafkaWriterConfig: KafkaWriterConfig = {
  batchRows: 100_000,
  lingerMs: 200,
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
  /** The offsets it holds; its dedup token is derived from them (see the module doc). */
  range: OffsetRange;
  /** A replay of what another writer may have stored: checked against the store. */
  checkStored: boolean;
  count: number;
  minNs: bigint;
  maxNs: bigint;
  lost: LostRecord[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
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
  const queue: InsertBatch[] = [];
  let inserting = false;
  let lastActivity = Date.now();
  const abort = new AbortController();
  const seen = new RecentIds(Math.max(config.dedupWindow, 2 * config.batchRows));
  // Per partition: the offset this writer expects next. A handler starting elsewhere means someone
  // else (or a failed attempt) handled the messages before: read the recorded intent again.
  const expected = new Map<number, string>();
  const intents = new Map<number, bigint[]>();
  // Per partition: the first offset of a small fetch left for a fuller one, and since when.
  const deferred = new Map<number, { first: string; since: number }>();
  let admin: Admin | undefined;
  const ownership = config.ownershipRefreshMs > 0 ? createStoredOwnership(store) : undefined;
  let ownershipTimer: NodeJS.Timeout | undefined;
  const refreshOwnership = () =>
    ownership
      ?.refresh()
      .catch((err) =>
        logger.warn('cannot read the ownership table; will retry', { error: errorMessage(err) }),
      );

  // Batches open at once: one per partition being handled, plus the one inserting.
  const buffers = new BatchBuffers(4);
  const newBatch = (range: OffsetRange): InsertBatch => {
    const checkStored = range.replay;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {});
    return {
      rows: buffers.writer(),
      range,
      checkStored,
      count: 0,
      minNs: 0n,
      maxNs: 0n,
      lost: [],
      done,
      resolve,
      reject,
    };
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
            checkStored: b.checkStored,
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
      try {
        if (!admin) {
          const a = kafka.admin();
          await a.connect();
          admin = a;
        }
        const fetched = await admin.fetchOffsets({ groupId: kafkaConfig.groupId, topics: [topic] });
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

  const pump = async () => {
    if (inserting) return;
    inserting = true;
    try {
      for (let b = queue.shift(); b; b = queue.shift()) {
        try {
          await insert(b);
          b.resolve();
        } catch (err) {
          // Abandoned unstored: its ids must not make a replay look like a repeat.
          seen.clear();
          b.reject(err);
        }
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

  /** Waits for the batch while keeping the group session alive; rebalance errors wait too. */
  const awaitStored = async (b: InsertBatch, heartbeat: () => Promise<void>) => {
    let settled = false;
    const outcome = b.done.then(
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

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const partition = batch.partition;
    deps.hooks?.onFetch?.(partition);
    let last: string | undefined;
    // Every insert batch this handler's messages went into: the offset is committed only after
    // all of them are stored (a batch sealed mid-handler may fail while a later one succeeds).
    const targets = new Set<InsertBatch>();
    const messages = batch.messages;
    if (messages.length === 0) return;
    const first = messages[0]!.offset;
    const firstN = BigInt(first);
    const lastN = BigInt(messages[messages.length - 1]!.offset);
    lastActivity = Date.now();
    // Left unread (nothing resolved, no intent): the consumer fetches these messages again,
    // waiting up to `maxWaitTimeMs` for `minBytes`.
    if (config.lingerMs > 0 && BigInt(batch.highWatermark) - 1n <= lastN) {
      let bytes = 0;
      for (const msg of messages) bytes += msg.value?.length ?? 0;
      if (bytes < config.minBytes) {
        const d = deferred.get(partition);
        const since = d?.first === first ? d.since : Date.now();
        deferred.set(partition, { first, since });
        if (Date.now() - since < config.lingerMs) return;
      }
    }
    deferred.delete(partition);
    // The ends of this handler's insert ranges: those a previous handler of these offsets recorded
    // (replayed with the same bounds, so with the same tokens), then one range for the rest.
    let ends: bigint[];
    let replayRanges: number;
    try {
      if (expected.get(partition) !== first) await readIntents();
      ends = (intents.get(partition) ?? []).filter((e) => e >= firstN);
      replayRanges = ends.length;
      if (lastN > (ends.at(-1) ?? firstN - 1n)) ends.push(lastN);
      // Record the intent before any of these messages can reach an insert (see the module doc).
      const intent = `${intentPrefix}${ends.join(',')}`;
      await consumer?.commitOffsets([{ topic, partition, offset: first, metadata: intent }]);
    } catch (err) {
      // Nothing resolved: the consumer fetches these messages again (after a rejoin, if that was
      // the cause). A short pause keeps a broker that is down from turning this into a busy loop.
      sampled('warn', 'intent', 'recording the insert intent failed; will retry', {
        partition,
        error: errorMessage(err),
      });
      await sleep(250);
      return;
    }
    const batches: InsertBatch[] = [];
    // One per handler: handlers of several partitions run at once.
    const reader = new FlowBatchReader();
    let r = 0;
    let beat = Date.now();
    const heartbeats = () => deps.hooks?.heartbeats?.() ?? true;
    for (const message of messages) {
      if (!isRunning() || isStale()) break;
      // Decoding a large fetch on a starved CPU can outlast the session: heartbeat as we go (a
      // no-op until the heartbeat interval has passed).
      if (Date.now() - beat > 1_000 && heartbeats()) {
        beat = Date.now();
        await heartbeat().catch(() => {});
      }
      stats.messages++;
      m.messages.inc();
      lastActivity = Date.now();
      const offset = BigInt(message.offset);
      while (offset > ends[r]!) r++;
      let b = batches[r];
      if (!b) {
        b = newBatch({
          partition,
          start: r === 0 ? firstN : ends[r - 1]! + 1n,
          end: ends[r]!,
          replay: r < replayRanges,
        });
        batches[r] = b;
      }
      // Read in place; a message that is not a FlowBatch of this version is dead-lettered with the
      // reason the reader gives.
      let read = false;
      try {
        if (!message.value) throw new Error('empty message');
        reader.open(message.value);
        read = true;
      } catch (err) {
        await deadLetter(partition, message, errorMessage(err));
      }
      if (read) {
        const count = reader.count;
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
        for (const l of reader.lost) b.lost.push(l);
        stats.flows += count;
        if (b.range.replay) stats.recovered += count;
        stats.lostRecords += reader.lost.length;
      }
      last = message.offset;
    }
    for (const b of batches) {
      if (!b) continue;
      // A range cut short (a stop, or a fetch ending inside a recorded range) has other bounds
      // than the one recorded: its token says so, and a replay of it is checked against the store.
      const fetchedEnd = last === undefined ? b.range.start - 1n : BigInt(last);
      if (fetchedEnd < b.range.end) b.range = { ...b.range, end: fetchedEnd };
      if (b.range.end < b.range.start) continue;
      queue.push(b);
      targets.add(b);
    }
    void pump();
    if (last === undefined) return;
    for (const t of targets) await awaitStored(t, heartbeat);
    resolveOffset(last);
    const next = (BigInt(last) + 1n).toString();
    expected.set(partition, next);
    try {
      await consumer?.commitOffsets([{ topic, partition, offset: next }]);
      stats.commits++;
    } catch (err) {
      // Stored but not committed: whoever reads this partition next replays it, and the intent
      // recorded before the insert tells it to check these messages against the store.
      logger.warn('offset commit failed', { partition, offset: next, error: errorMessage(err) });
    }
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last) - 1n);
    lagByPartition.set(partition, lag);
    m.lag.set({ partition: String(partition) }, lag);
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
        await consumer?.stop();
        await consumer?.disconnect();
      } finally {
        clearTimeout(grace);
        abort.abort();
        await dlq?.disconnect().catch(() => {});
        await admin?.disconnect().catch(() => {});
      }
    },
    stats: () => ({ ...stats }),
    idleMs: () => Date.now() - lastActivity,
    lag: () => [...lagByPartition.values()].reduce((a, b) => a + b, 0),
    assignedPartitions: () => assignment,
    busy: () => queue.length > 0 || inserting,
  };
}

/**
 * The collector service: one Hubble source per target feeding one ClickHouse sink through the
 * intake (attribution on the way). Created without I/O; `start()` reads each target's resume
 * point from ClickHouse and connects; `stop()` disconnects and stores what is in flight.
 * @module
 */
import type { Store } from '../../common/clickhouse/index.ts';
import { ConfigError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { Metrics } from '../../common/metrics.ts';
import { type AttributeFlow, createIntake, type FlowIntake } from './pipeline.ts';
import {
  createHubbleSource,
  type HubbleSource,
  resumeOverlapMs,
  type TargetStatus,
} from './sources/hubble-grpc.ts';
import type { HubbleTlsConfig } from './sources/hubble-target.ts';
import {
  type ClickHouseSinkConfig,
  createClickHouseSink,
  defaultClickHouseSinkConfig,
  type FlowSink,
  type SinkStats,
} from './writer/clickhouse-sink.ts';

export interface CollectorConfig {
  /** Hubble targets (`host:port` or `unix:/path`). */
  targets: readonly string[];
  tls?: HubbleTlsConfig;
  sink: ClickHouseSinkConfig;
  /** Reconnect backoff in ms. Defaults 250 and 30,000. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /**
   * Read each target's stream on a thread of its own (default true; hubble-grpc.ts), so a busy
   * event loop does not leave Hubble's ring to overwrite unread flows. Pass false when the Hubble
   * server runs on this process's own event loop (the demo's simulator, tests): a stall stalls that
   * source too, and with the server on a saturated loop the thread's call was seen to stop
   * receiving (server waiting for 'drain'; not understood yet).
   */
  readInThread?: boolean;
}

export const defaultCollectorConfig: Omit<CollectorConfig, 'targets'> = {
  sink: defaultClickHouseSinkConfig,
  backoffInitialMs: 250,
  backoffMaxMs: 30_000,
};

export interface CollectorDeps {
  /** Where resume points are read and (without `sink`) flows stored; distributed mode has none. */
  store?: Store;
  logger: Logger;
  metrics: Metrics;
  /** Attributes both ends of each flow (the enricher). */
  attribute?: AttributeFlow;
  /** Where flows go; defaults to a ClickHouse sink on `store` (distributed mode passes Kafka). */
  sink?: FlowSink;
}

/** The running collector. */
export interface Collector {
  readonly intake: FlowIntake;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Waits until every flow received so far is stored. */
  flush(): Promise<void>;
  status(): { targets: TargetStatus[]; sink: SinkStats };
}

/** Creates the collector; no connection is made before `start()`. */
export function createCollector(config: CollectorConfig, deps: CollectorDeps): Collector {
  if (!deps.sink && !deps.store) throw new ConfigError('collector: needs a store or a sink');
  const sink =
    deps.sink ??
    createClickHouseSink(config.sink, {
      store: deps.store!,
      logger: deps.logger.child('sink'),
      metrics: deps.metrics,
    });
  const intake = createIntake(sink, deps.attribute);
  let sources: HubbleSource[] = [];
  return {
    intake,
    async start() {
      sink.start();
      // Without a store (the collector of distributed mode) there is no resume point: the first
      // request asks Hubble for its whole ring, and the writer skips flows already stored.
      const rows = deps.store
        ? await deps.store.query<{ target: string; last: string }>(
            'SELECT ingest_target AS target, toString(toUnixTimestamp64Nano(max(time))) AS last FROM flows WHERE ingest_target IN {targets:Array(String)} GROUP BY ingest_target',
            { params: { targets: [...config.targets] } },
          )
        : [];
      const resume = new Map(rows.map((r) => [r.target, BigInt(r.last)]));
      if (deps.store && sink.remember) await rememberOverlap(deps.store, sink, resume);
      sources = config.targets.map((target) =>
        createHubbleSource(
          {
            target,
            tls: config.tls,
            initialSinceNs: resume.get(target),
            backoffInitialMs: config.backoffInitialMs,
            backoffMaxMs: config.backoffMaxMs,
            ...(config.readInThread === undefined ? {} : { readInThread: config.readInThread }),
          },
          { intake, logger: deps.logger, metrics: deps.metrics },
        ),
      );
      for (const s of sources) s.start();
    },
    async stop() {
      await Promise.all(sources.map((s) => s.stop()));
      await sink.stop();
    },
    flush: () => sink.flush(),
    status: () => ({ targets: sources.map((s) => s.status()), sink: sink.stats() }),
  };
}

/**
 * After a restart a source resumes `resumeOverlapMs` before its newest stored flow; the flows of
 * that window are already stored, so the sink's dedup window learns their ids (one bounded read
 * per target at start, instead of a check of every insert against the table).
 */
async function rememberOverlap(store: Store, sink: FlowSink, resume: Map<string, bigint>): Promise<void> {
  for (const [target, last] of resume) {
    const rows = await store.query<{ id: string }>(
      "SELECT hex(flow_id) AS id FROM flows WHERE ingest_target = {target:String} AND time >= fromUnixTimestamp64Nano({from:Int64}, 'UTC')",
      { params: { target, from: (last - BigInt(resumeOverlapMs) * 1_000_000n).toString() } },
    );
    sink.remember?.(rows.map((r) => Buffer.from(r.id, 'hex')));
  }
}

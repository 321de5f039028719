/**
 * The tracker's metrics (STYLE.md §10: injected, already prefixed by the caller, e.g.
 * `flowtrail_collector_`): frames by outcome, interval writes and failures, and gauges for the
 * index size, the last applied Nomad index and the stream connection, read at scrape time.
 * Without a registry every call is a no-op, so tests and CLIs need not wire one.
 * @module
 */
import type { Metrics } from '../../../common/metrics.ts';

/** What the tracker records. */
export interface OwnershipMetrics {
  frame(outcome: 'applied' | 'heartbeat' | 'repeat'): void;
  written(intervals: number): void;
  writeFailed(): void;
}

/** Creates the metrics; `stats` is read when Prometheus scrapes. */
export function createOwnershipMetrics(
  metrics: Metrics | undefined,
  stats: () => {
    intervals: number;
    nodeIntervals: number;
    lastIndex: bigint;
    connected: boolean;
    resyncs: number;
    indexResets: number;
  },
): OwnershipMetrics {
  if (!metrics) return { frame() {}, written() {}, writeFailed() {} };
  const frames = metrics.counter('ownership_frames_total', 'Nomad event-stream frames by outcome', [
    'outcome',
  ]);
  const writes = metrics.counter(
    'ownership_intervals_written_total',
    'Ownership interval rows written to ClickHouse',
  );
  const failures = metrics.counter(
    'ownership_write_failures_total',
    'Failed ownership writes (retried on the next flush)',
  );
  const gauge = metrics.gauge('ownership_state', 'Ownership tracker state', ['field']);
  // Refresh at scrape time instead of on the hot path.
  (gauge as unknown as { collect?: () => void }).collect = () => {
    const s = stats();
    gauge.set({ field: 'intervals' }, s.intervals);
    gauge.set({ field: 'node_intervals' }, s.nodeIntervals);
    gauge.set({ field: 'last_index' }, Number(s.lastIndex));
    gauge.set({ field: 'stream_connected' }, s.connected ? 1 : 0);
    gauge.set({ field: 'resyncs' }, s.resyncs);
    gauge.set({ field: 'index_resets' }, s.indexResets);
  };
  return {
    frame: (outcome) => frames.inc({ outcome }),
    written: (n) => writes.inc(n),
    writeFailed: () => failures.inc(),
  };
}

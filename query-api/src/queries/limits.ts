/**
 * Turns the configured limits into what each statement carries: ClickHouse settings that stop a
 * runaway query in the engine (time, memory, result rows), the parse bounds of flow queries, and
 * a concurrency gate that answers 503 instead of queueing without end.
 * @module
 */

import type { QuerySettings } from '../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../common/config/api.ts';
import { LimitError } from '../../../common/errors.ts';
import type { FlowQueryBounds } from '../filters/index.ts';

const HOUR_NS = 3_600_000_000_000n;

/** ClickHouse settings pinned on every API statement. */
export function querySettings(limits: ApiLimits): QuerySettings {
  return {
    max_execution_time: limits.maxExecutionSeconds,
    max_memory_usage: limits.maxMemoryBytes,
    max_result_rows: limits.maxResultRows,
    result_overflow_mode: 'throw',
    timeout_overflow_mode: 'throw',
  };
}

/**
 * Parse bounds for a JSON page (`streamed` false) or a streamed answer. A streamed answer
 * without `limit` is an export of every matching flow, so it defaults to the stream cap rather
 * than to one page's size.
 */
export function flowQueryBounds(limits: ApiLimits, streamed: boolean): FlowQueryBounds {
  return {
    defaultLimit: streamed ? limits.maxStreamRows : limits.defaultRows,
    maxLimit: streamed ? limits.maxStreamRows : limits.maxRowsPerResponse,
    maxRangeNs: BigInt(Math.round(limits.maxRangeHours * 3600)) * (HOUR_NS / 3600n),
    maxUnboundedRangeNs: BigInt(Math.round(limits.maxUnboundedRangeHours * 3600)) * (HOUR_NS / 3600n),
  };
}

/** Bounds the number of statements in flight; beyond it callers get a LimitError (503). */
export interface QueryGate {
  /** Runs `fn` when a slot is free now, else throws LimitError('concurrency'). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Takes a slot for a long-lived stream; call the returned function to give it back. */
  acquire(): () => void;
  readonly inFlight: number;
}

/** Creates a gate with `max` slots. */
export function createQueryGate(max: number): QueryGate {
  let inFlight = 0;
  const acquire = () => {
    if (inFlight >= max) {
      throw new LimitError('concurrency', `too many queries in flight (${max}); retry shortly`);
    }
    inFlight++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        inFlight--;
      }
    };
  };
  return {
    acquire,
    async run(fn) {
      const release = acquire();
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get inFlight() {
      return inFlight;
    },
  };
}

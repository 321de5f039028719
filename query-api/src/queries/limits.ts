/**
 * Turns the configured limits into what each statement carries: ClickHouse settings that stop a
 * runaway query in the engine (time, memory, result rows), the parse bounds of flow queries, a
 * concurrency gate that answers 503 instead of queueing without end, and in front of it the
 * per-principal admission (concurrency and rate, 429 with Retry-After) so one noisy token can
 * never take every slot of the shared gate, plus the request deadline that counts time spent
 * waiting as well as running (the chdb engine runs one statement at a time, so waiting is real).
 * @module
 */

import type { QuerySettings } from '../../../common/clickhouse/index.ts';
import type { ApiLimits } from '../../../common/config/api.ts';
import { InputError, LimitError } from '../../../common/errors.ts';
import type { Metrics } from '../../../common/metrics.ts';
import type { Principal } from '../auth/principal.ts';
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

/** A request let in: give the slot back with `release()`; `deadline` aborts when its time is up. */
export interface Admitted {
  release(): void;
  /** Fires maxExecutionSeconds after admission: queueing and running both count. */
  deadline: AbortSignal;
}

/** Per-principal admission in front of the shared gate. */
export interface QueryAdmission {
  /**
   * Admits one request of `principal`, or throws LimitError: `principal_concurrency` or `rate`
   * (429 with Retry-After) when this principal is over its own share.
   */
  admit(principal: Principal): Admitted;
  /** Throws InputError (400) when a request carries more filter values than allowed. */
  checkComplexity(values: number): void;
  /** The process-wide gate (503 when full). */
  readonly gate: QueryGate;
  /** The deadline of one request, milliseconds. */
  readonly deadlineMs: number;
}

/** The key a principal is limited by: the token name (tenants additionally by tenant). */
function principalKey(p: Principal): string {
  return p.tenant ? `${p.name}\u0000${p.tenant}` : p.name;
}

/**
 * Creates the admission. Rates are a token bucket per principal (`principalQueriesPerSecond`,
 * burst `principalBurst`); buckets of principals that went quiet are dropped so the map stays as
 * small as the set of active tokens.
 */
export function createAdmission(
  limits: ApiLimits,
  metrics?: Metrics,
  now: () => number = Date.now,
): QueryAdmission {
  const gate = createQueryGate(limits.maxConcurrentQueries);
  const state = new Map<string, { inFlight: number; tokens: number; at: number }>();
  const rejected = metrics?.counter('admission_rejected_total', 'Requests refused by admission, by reason.', [
    'reason',
  ]);
  const rate = limits.principalQueriesPerSecond;
  const burst = limits.principalBurst;
  const deadlineMs = limits.maxExecutionSeconds * 1000;
  const refuse = (limit: string, message: string, retryAfterSeconds: number): never => {
    rejected?.inc({ reason: limit });
    throw new RetryLaterError(limit, message, retryAfterSeconds);
  };
  return {
    gate,
    deadlineMs,
    admit(principal) {
      const key = principalKey(principal);
      const t = now();
      let s = state.get(key);
      if (!s) {
        if (state.size > 10_000) {
          for (const [k, v] of state)
            if (v.inFlight === 0 && v.tokens + ((t - v.at) / 1000) * rate >= burst) state.delete(k);
        }
        s = { inFlight: 0, tokens: burst, at: t };
        state.set(key, s);
      }
      s.tokens = Math.min(burst, s.tokens + ((t - s.at) / 1000) * rate);
      s.at = t;
      if (s.inFlight >= limits.principalConcurrentQueries) {
        refuse(
          'principal_concurrency',
          `too many requests in flight for ${principal.name} (${limits.principalConcurrentQueries}); retry shortly`,
          1,
        );
      }
      if (s.tokens < 1) {
        refuse(
          'rate',
          `rate limit for ${principal.name} (${rate}/s) exceeded; retry later`,
          Math.max(1, Math.ceil((1 - s.tokens) / rate)),
        );
      }
      s.tokens -= 1;
      s.inFlight++;
      const entry = s;
      const timeout = new AbortController();
      const timer = setTimeout(
        () => timeout.abort(new RetryLaterError('deadline', deadlineMessage(limits), 5)),
        deadlineMs,
      );
      timer.unref?.();
      let released = false;
      return {
        deadline: timeout.signal,
        release() {
          if (released) return;
          released = true;
          clearTimeout(timer);
          entry.inFlight--;
        },
      };
    },
    checkComplexity(values) {
      if (values > limits.maxFilterValues) {
        rejected?.inc({ reason: 'complexity' });
        throw new InputError(
          `too many filter values in one request (${values}; at most ${limits.maxFilterValues})`,
        );
      }
    },
  };
}

function deadlineMessage(limits: ApiLimits): string {
  return `the request did not finish within ${limits.maxExecutionSeconds} s (queued and running); narrow it or retry later`;
}

/**
 * A limit the caller can wait out: HTTP answers 429 (503 for the deadline) with Retry-After, gRPC
 * RESOURCE_EXHAUSTED.
 */
export class RetryLaterError extends LimitError {
  readonly retryAfterSeconds: number;

  constructor(limit: string, message: string, retryAfterSeconds: number) {
    super(limit, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Counts the values of a query string (arrays and comma lists count each element). */
export function countQueryValues(query: Record<string, unknown>): number {
  let n = 0;
  const visit = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) visit(x);
    else if (typeof v === 'string') n += v === '' ? 1 : v.split(',').length;
    else if (v && typeof v === 'object') for (const x of Object.values(v)) visit(x);
    else n++;
  };
  for (const v of Object.values(query)) visit(v);
  return n;
}

/** Counts the values of Hubble FlowFilters (every element of every repeated field). */
export function countFilterValues(filters: readonly object[]): number {
  let n = 0;
  const visit = (v: unknown, depth: number) => {
    if (depth > 4) return;
    if (Array.isArray(v)) n += v.length;
    else if (v && typeof v === 'object' && !(v instanceof Uint8Array))
      for (const x of Object.values(v)) visit(x, depth + 1);
  };
  for (const f of filters) visit(f, 0);
  return n;
}

/**
 * The one retry loop: exponential backoff with jitter, bounded by attempts or an AbortSignal.
 * It retries only errors whose `retriable` flag is set (see common/errors.ts); `bail` stops at once.
 * @module
 */
import { FlowtrailError } from './errors.ts';

export interface RetryOptions {
  /** First delay in milliseconds. Default 100. */
  initialDelayMs?: number;
  /** Largest delay in milliseconds. Default 30000. */
  maxDelayMs?: number;
  /** Multiplier per attempt. Default 2. */
  factor?: number;
  /** Attempts in all (first try included); Infinity retries until aborted. Default 5. */
  maxAttempts?: number;
  /** Stops the loop; the last error is thrown. */
  signal?: AbortSignal;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Decides whether an error is worth another try. Default: `error.retriable === true`. */
  isRetriable?: (err: unknown) => boolean;
}

/** Thrown when every attempt failed; `cause` is the last error. */
export class RetriesExhaustedError extends FlowtrailError {
  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempts: ${cause instanceof Error ? cause.message : String(cause)}`, {
      retriable: false,
      cause,
    });
  }
}

/** Jittered delay for the given attempt (1-based): uniform in [c/2, c] with c = min(max, initial * factor^(n-1)), so retries never bunch at zero. */
export function backoffDelay(attempt: number, opts: RetryOptions = {}): number {
  const initial = opts.initialDelayMs ?? 100;
  const max = opts.maxDelayMs ?? 30_000;
  const factor = opts.factor ?? 2;
  const ceiling = Math.min(max, initial * factor ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after `ms`, or rejects early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const defaultIsRetriable = (err: unknown): boolean => (err instanceof FlowtrailError ? err.retriable : false);

/**
 * Runs `fn` until it succeeds, a non-retriable error is thrown, `bail` is called, attempts run
 * out or the signal aborts.
 */
export async function retry<T>(
  fn: (attempt: number, bail: (err: unknown) => never) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const maxAttempts = opts.maxAttempts ?? 5;
  const isRetriable = opts.isRetriable ?? defaultIsRetriable;
  let bailed = false;
  const bail = (err: unknown): never => {
    bailed = true;
    throw err;
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt, bail);
    } catch (err) {
      if (bailed || !isRetriable(err) || opts.signal?.aborted) throw err;
      if (attempt >= maxAttempts) throw new RetriesExhaustedError(attempt, err);
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(err, attempt, delay);
      try {
        await sleep(delay, opts.signal);
      } catch {
        throw err;
      }
    }
  }
}

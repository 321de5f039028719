/**
 * A bounded queue of sealed batches, delivered one at a time and in order, each retried with
 * backoff until it is delivered or the queue stops. Both flow sinks (ClickHouse, Kafka) stand on
 * it: when the queue is full they report back-pressure, and their sources wait on `drained()`
 * instead of buffering without bound.
 * @module
 */
import { retry } from './retry.ts';

export interface DeliveryQueueOptions<B> {
  /** Delivers one batch; a rejection is retried with backoff (every error counts as transient). */
  deliver(batch: B): Promise<void>;
  /** Queued batches beyond which `hasRoom()` is false. */
  maxPending: number;
  retryInitialMs: number;
  retryMaxMs: number;
  onRetry?(err: unknown, attempt: number, delayMs: number, batch: B): void;
  onDelivered?(batch: B): void;
  /** A batch still undelivered when the queue was stopped. */
  onAbandoned?(err: unknown, batch: B): void;
  /** Called whenever the queue length changes (for a gauge). */
  onLength?(length: number): void;
  /** Called each time the loop looks for work; a producer may enqueue its open batch here. */
  beforeNext?(): void;
}

export interface DeliveryQueue<B> {
  enqueue(batch: B): void;
  readonly length: number;
  /** False when the caller should wait on `drained()` before producing more. */
  hasRoom(): boolean;
  /** Resolves when there is room again. */
  drained(): Promise<void>;
  /** Resolves when everything enqueued so far is delivered. */
  idle(): Promise<void>;
  /** The batches not yet delivered, oldest first. */
  pending(): readonly B[];
  start(): void;
  /**
   * Delivers what is queued, then stops. With `graceMs`, gives up after that long and resolves
   * false (the undelivered batches are reported through `onAbandoned`).
   */
  stop(graceMs?: number): Promise<boolean>;
}

/** Creates the queue; `start()` begins delivering. */
export function createDeliveryQueue<B>(opts: DeliveryQueueOptions<B>): DeliveryQueue<B> {
  const queue: B[] = [];
  let drainWaiters: (() => void)[] = [];
  let idleWaiters: (() => void)[] = [];
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let stopping = false;
  const abort = new AbortController();

  const run = async () => {
    for (;;) {
      opts.beforeNext?.();
      const batch = queue[0];
      if (batch === undefined) {
        const ws = idleWaiters;
        idleWaiters = [];
        for (const w of ws) w();
        if (stopping) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      try {
        await retry(() => opts.deliver(batch), {
          maxAttempts: Number.POSITIVE_INFINITY,
          initialDelayMs: opts.retryInitialMs,
          maxDelayMs: opts.retryMaxMs,
          signal: abort.signal,
          isRetriable: () => true,
          onRetry: (err, attempt, delay) => opts.onRetry?.(err, attempt, delay, batch),
        });
      } catch (err) {
        for (const b of queue) opts.onAbandoned?.(err, b);
        return;
      }
      queue.shift();
      opts.onLength?.(queue.length);
      opts.onDelivered?.(batch);
      if (queue.length < opts.maxPending) {
        const ws = drainWaiters;
        drainWaiters = [];
        for (const w of ws) w();
      }
    }
  };

  return {
    enqueue(batch) {
      queue.push(batch);
      opts.onLength?.(queue.length);
      wake?.();
    },
    get length() {
      return queue.length;
    },
    hasRoom: () => queue.length < opts.maxPending,
    drained() {
      if (queue.length < opts.maxPending) return Promise.resolve();
      return new Promise((resolve) => drainWaiters.push(resolve));
    },
    idle() {
      if (queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    pending: () => queue,
    start() {
      loop ??= run();
    },
    async stop(graceMs) {
      stopping = true;
      wake?.();
      const running = loop ?? Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const done =
        graceMs === undefined
          ? await running.then(() => true)
          : await Promise.race([
              running.then(() => true),
              new Promise<boolean>((resolve) => {
                timer = setTimeout(() => resolve(false), graceMs);
              }),
            ]);
      // The grace timer must not keep a finished process alive.
      clearTimeout(timer);
      abort.abort();
      if (done) await running;
      return done;
    },
  };
}

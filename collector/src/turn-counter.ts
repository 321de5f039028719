/**
 * A Prometheus counter bumped per flow costs about a microsecond (label lookup, value map,
 * exemplar check) on a path that has a few dozen per flow. `turnCounter` counts in a plain number
 * and adds the total to the counter once per turn of the event loop, so a scrape is behind by at
 * most the flows of the turn in progress.
 * @module
 */

/** What turnCounter needs of a prom-client counter (or one of its label-bound children). */
export interface Incrementable {
  inc(value?: number): void;
}

/** A per-flow count flushed into `counter` once per turn. */
export interface TurnCounter {
  /** Counts `n` (default 1). */
  inc(n?: number): void;
  /** Adds what is counted so far now. */
  flush(): void;
}

/** Wraps `counter`; nothing is scheduled while nothing is counted. */
export function turnCounter(counter: Incrementable): TurnCounter {
  let pending = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === 0) return;
    const n = pending;
    pending = 0;
    counter.inc(n);
  };
  return {
    inc(n = 1) {
      pending += n;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

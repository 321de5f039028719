/**
 * Faults by construction for tests: a store whose bulk inserts fail a counted number of times or wait at a
 * gate, and a condition wait with a generous deadline. Fault tests use these instead of time windows and
 * fixed sleeps, so a busy machine changes how long they take, never what they prove.
 * @module
 */

import type { Store } from '../clickhouse/store.ts';
import { SinkError } from '../errors.ts';
import { sleep } from '../retry.ts';

/**
 * Polls `cond` every `intervalMs` (default 20; more for conditions that query a server) until it holds;
 * fails after `timeoutMs` (generous by default: on a shared, loaded machine a condition may take many times
 * longer than on a quiet one) saying what was awaited.
 */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 300_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A store wrapper that injects faults into `insertRowBinary` (the bulk path for flows). */
export interface FaultyStore {
  readonly store: Store;
  /** insertRowBinary calls so far, including failed and held ones. */
  readonly attempts: number;
  /** insertRowBinary calls failed by `failNext`. */
  readonly failed: number;
  /** insertRowBinary calls waiting at the gate right now. */
  readonly held: number;
  /** Fails the next `n` insertRowBinary calls with a retriable SinkError, as a ClickHouse outage would. */
  failNext(n: number): void;
  /** Makes insertRowBinary calls wait (before touching the store) until `release()`. */
  hold(): void;
  release(): void;
}

/** Wraps `real`; with no fault armed every call passes straight through. */
export function faultyStore(real: Store): FaultyStore {
  let attempts = 0;
  let failed = 0;
  let toFail = 0;
  let held = 0;
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const store: Store = {
    kind: real.kind,
    database: real.database,
    command: (sql, opts) => real.command(sql, opts),
    query: (sql, opts) => real.query(sql, opts),
    queryBatches: (sql, opts) => real.queryBatches(sql, opts),
    insertJson: (table, rows) => real.insertJson(table, rows),
    close: () => real.close(),
    async insertRowBinary(insert) {
      attempts++;
      while (gate) {
        held++;
        try {
          await gate.promise;
        } finally {
          held--;
        }
      }
      if (toFail > 0) {
        toFail--;
        failed++;
        throw new SinkError('clickhouse', 'injected failure', { retriable: true, table: insert.into });
      }
      return real.insertRowBinary(insert);
    },
  };
  return {
    store,
    get attempts() {
      return attempts;
    },
    get failed() {
      return failed;
    },
    get held() {
      return held;
    },
    failNext(n) {
      toFail = n;
    },
    hold() {
      if (gate) return;
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    release() {
      const g = gate;
      gate = undefined;
      g?.open();
    },
  };
}

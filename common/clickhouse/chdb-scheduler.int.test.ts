import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore, createStatementScheduler } from './chdb-store.ts';
import type { Store } from './store.ts';

// chdb runs one statement at a time; inserts must never wait behind a queue of queries (a query
// flood would otherwise stall ingest until Hubble's ring overflows). Ordering is by construction:
// every statement is queued before the first one can finish, so only the scheduler decides.

describe('common > clickhouse > chdb statement scheduler', () => {
  it('runs inserts before queued queries and drops queued statements whose caller gave up', async () => {
    const s = createStatementScheduler();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = s.schedule('query', async () => {
      await gate;
      order.push('q1');
    });
    const queries = [2, 3, 4].map((i) => s.schedule('query', async () => void order.push(`q${i}`)));
    const abort = new AbortController();
    const abandoned = s.schedule('query', async () => void order.push('abandoned'), abort.signal);
    const insert = s.schedule('insert', async () => void order.push('insert'));
    expect(s.queued).toEqual({ insert: 1, query: 4 });
    abort.abort(new Error('client went away'));
    await expect(abandoned).rejects.toThrow('client went away');
    expect(s.queued).toEqual({ insert: 1, query: 3 });
    release();
    await Promise.all([first, insert, ...queries]);
    expect(order).toEqual(['q1', 'insert', 'q2', 'q3', 'q4']);
  });

  describe('on a chdb store', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ft-sched-'));
    let store: Store;
    beforeAll(async () => {
      store = await createChdbStore(dir, 'sched');
      await store.command('CREATE TABLE IF NOT EXISTS t (n UInt64) ENGINE = MergeTree ORDER BY n');
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lands an insert right after the running query, ahead of every queued one', async () => {
      const done: string[] = [];
      const heavy = 'SELECT sum(number) AS s FROM numbers(20000000)';
      const queries = [1, 2, 3, 4, 5].map((i) => store.query(heavy).then(() => done.push(`q${i}`)));
      const insert = store.insertJson('t', [{ n: 1 }, { n: 2 }]).then(() => done.push('insert'));
      await Promise.all([...queries, insert]);
      expect(done.indexOf('insert')).toBe(1);
      const [r] = await store.query<{ n: string }>('SELECT count() AS n FROM t');
      expect(Number(r?.n)).toBe(2);
    });
  });
});

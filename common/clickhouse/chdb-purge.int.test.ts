import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chdbPurge, chdbPurgeStats, createChdbStore } from './chdb-store.ts';
import type { Store } from './store.ts';

// After inserts the store purges chdb's allocator (its freed pages were 150–300 MB resident in
// `flowtrail start`, bin/start-rss.ts), at most once per chdbPurge.everyMs: an insert inside the interval
// leaves one purge due at its end. The interval here (8 s) is far longer than the two inserts issued right
// after the first take, and the wait is on the count.

describe('common > clickhouse > chdb allocator purge after inserts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ft-purge-'));
  let store: Store;
  const everyMs = chdbPurge.everyMs;
  beforeAll(async () => {
    chdbPurge.everyMs = 8_000;
    store = await createChdbStore(dir, 'purge');
    await store.command('CREATE TABLE IF NOT EXISTS t (n UInt64) ENGINE = MergeTree ORDER BY n');
  });
  afterAll(async () => {
    chdbPurge.everyMs = everyMs;
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('purges right after an insert, and once more after the interval for inserts inside it', async () => {
    expect(chdbPurgeStats()?.purges).toBe(0);
    await store.insertJson('t', [{ n: 1 }]);
    // Inline, in the insert's own job: done by the time the insert resolves (SYSTEM runs bare, no SETTINGS).
    expect(chdbPurgeStats()?.purges).toBe(1);
    await store.insertJson('t', [{ n: 2 }]);
    await store.insertJson('t', [{ n: 3 }]);
    // Both inside the interval: one purge is due at its end, none now.
    expect(chdbPurgeStats()?.purges).toBe(1);
    const deadline = Date.now() + 60_000;
    while ((chdbPurgeStats()?.purges ?? 0) < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(chdbPurgeStats()?.purges).toBe(2);
    const [r] = await store.query<{ n: string }>('SELECT count() AS n FROM t');
    expect(Number(r?.n)).toBe(3);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from './chdb-store.ts';
import { loadMigrations, migrate } from './migrator.ts';
import type { Store } from './store.ts';

const dir = path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-migrate-')), 'data');
let store: Store;
beforeAll(async () => {
  store = await createChdbStore(dir, 'migrate_boot');
});
afterAll(async () => {
  await store?.close();
});

const ttlOf = async (s: Store, table = 'flows') =>
  (
    await s.query<{ q: string }>(
      'SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
      { params: { t: table } },
    )
  )[0]?.q.match(/toIntervalDay\((\d+)\)/)?.[1];

describe('common > clickhouse > migrator', () => {
  it('applies every migration once; a second run changes nothing', async () => {
    const s = await createChdbStore(dir, `m_${Date.now()}`);
    const first = await migrate(s);
    expect(first.applied).toEqual(loadMigrations().map((m) => m.name));
    expect(first.skipped).toEqual([]);
    const second = await migrate(s);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(first.applied);
    const [ledger] = await s.query<{ n: string }>('SELECT count() AS n FROM schema_migrations FINAL');
    expect(Number(ledger!.n)).toBe(first.applied.length);
  });

  it('creates flows with the configured retention and follows a change of it', async () => {
    const s = await createChdbStore(dir, `ttl_${Date.now()}`);
    await migrate(s, { ttlDays: 7 });
    expect(await ttlOf(s)).toBe('7');
    // The address index expires with the flows it points at (migrations/0045).
    expect(await ttlOf(s, 'flows_by_address')).toBe('7');
    await migrate(s, { ttlDays: 90 });
    expect(await ttlOf(s)).toBe('90');
    expect(await ttlOf(s, 'flows_by_address')).toBe('90');
    await expect(migrate(s, { ttlDays: 0 })).rejects.toThrow(/positive whole number/);
  });
});

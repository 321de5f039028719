/**
 * The contract every Store transport keeps (STYLE.md §4): the same SQL, parameters, inserts and
 * errors on chdb (always) and on a ClickHouse server (when CLICKHOUSE_URL is set; no server can
 * run on the development machines, so that half skips with a message otherwise).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LimitError } from '../errors.ts';
import { createChdbStore } from './chdb-store.ts';
import { ClickHouseError } from './errors.ts';
import { migrate } from './migrator.ts';
import { RowBinaryWriter } from './row-binary.ts';
import { createServerStore } from './server-store.ts';
import type { Store } from './store.ts';

const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-contract-')), 'data');
const serverUrl = process.env['CLICKHOUSE_URL'];
const opened: Store[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
});

const transports: { name: string; open: (db: string) => Promise<Store> }[] = [
  { name: 'chdb', open: (db) => createChdbStore(dataDir, db) },
];
if (serverUrl) transports.push({ name: 'server', open: (db) => createServerStore(serverUrl, db) });
else console.warn('CLICKHOUSE_URL is not set: the Store contract runs against chdb only');

describe.each(transports)('common > clickhouse > store contract ($name)', ({ open }) => {
  const fresh = async () => {
    const s = await open(`contract_${randomUUID().slice(0, 8)}`);
    opened.push(s);
    await s.command(
      "CREATE TABLE t (id UInt64, name String, at DateTime64(9, 'UTC')) ENGINE = MergeTree ORDER BY id",
    );
    return s;
  };

  it('binds parameters, never splicing them, and returns 64-bit integers as strings', async () => {
    const s = await fresh();
    await s.insertJson('t', [
      { id: 18446744073709551615n, name: "o'brien; DROP TABLE t", at: '2026-01-02 03:04:05.123456789' },
      { id: 1, name: 'x', at: '2026-01-02 03:04:05.000000001' },
    ]);
    const rows = await s.query<{ id: string; name: string; at: string }>(
      'SELECT id, name, at FROM t WHERE name = {n:String} ORDER BY id',
      { params: { n: "o'brien; DROP TABLE t" } },
    );
    expect(rows).toEqual([
      { id: '18446744073709551615', name: "o'brien; DROP TABLE t", at: '2026-01-02 03:04:05.123456789' },
    ]);
    const batches: unknown[][] = [];
    for await (const b of s.queryBatches('SELECT id FROM t ORDER BY id')) batches.push(b);
    expect(batches.flat()).toEqual([{ id: '1' }, { id: '18446744073709551615' }]);
  });

  it('inserts RowBinary through a filtering SELECT and reports the rows written', async () => {
    const s = await fresh();
    const w = new RowBinaryWriter(64);
    for (const [id, name] of [
      [1n, 'a'],
      [2n, 'b'],
      [2n, 'b'],
      [3n, 'c'],
    ] as const) {
      w.uint64(id);
      w.string(name);
      w.dateTime64ns(1_700_000_000_000_000_000n);
    }
    const r = await s.insertRowBinary({
      into: 't',
      structure: "id UInt64, name String, at DateTime64(9, 'UTC')",
      select: 'SELECT * FROM {input} WHERE id != {skip:UInt64} LIMIT 1 BY id',
      data: w.take(),
      params: { skip: 3 },
    });
    expect(r.written).toBe(2);
    expect(await s.query('SELECT id, name FROM t ORDER BY id')).toEqual([
      { id: '1', name: 'a' },
      { id: '2', name: 'b' },
    ]);
  });

  it('turns engine errors into typed errors: ClickHouseError with its code, LimitError for limits', async () => {
    const s = await fresh();
    const unknown = await s.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ClickHouseError);
    expect((unknown as ClickHouseError).code).toBe(60);
    const limited = await s
      .query('SELECT count() FROM numbers(100000000) WHERE sipHash64(number) % 7 = 1', {
        settings: { max_rows_to_read: 1000, read_overflow_mode: 'throw' },
      })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(LimitError);
  });

  it('applies the migrations', async () => {
    const s = await open(`contract_${randomUUID().slice(0, 8)}`);
    opened.push(s);
    const r = await migrate(s);
    expect(r.applied.length).toBeGreaterThan(0);
    const tables = await s.query<{ name: string }>(
      'SELECT name FROM system.tables WHERE database = currentDatabase()',
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['flows', 'lost_events', 'ownership']));
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIntervals } from '../ownership/persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from '../ownership/types.ts';
import { SparseField } from '../schema/stored-fields.ts';
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

/**
 * Forgets a migration that adds `table` and its view `${table}_mv`, then runs it again: the caller
 * checks that its backfill rebuilt the rows from what was stored before the table existed.
 */
async function expectBackfill(s: Store, migration: string, table: string): Promise<void> {
  await s.command(`DROP VIEW ${table}_mv`);
  await s.command(`DROP TABLE ${table}`);
  const version = loadMigrations().find((m) => m.name === migration)?.version;
  if (version === undefined) throw new Error(`no migration named ${migration}`);
  await s.command('DELETE FROM schema_migrations WHERE version = {v:UInt32}', { params: { v: version } });
  expect((await migrate(s)).applied).toEqual([migration]);
}

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
    expect(await ttlOf(s, 'flows_unattributed_ends')).toBe('7');
    await migrate(s, { ttlDays: 90 });
    expect(await ttlOf(s)).toBe('90');
    expect(await ttlOf(s, 'flows_by_address')).toBe('90');
    expect(await ttlOf(s, 'flows_unattributed_ends')).toBe('90');
    await expect(migrate(s, { ttlDays: 0 })).rejects.toThrow(/positive whole number/);
  });

  it('rebuilds flows at 2,048-row granules keeping every row, and the views go on firing (0140)', async () => {
    const s = await createChdbStore(dir, `rebuild_${Date.now()}`);
    await migrate(s);
    const insertFlows = (from: number, n: number) =>
      s.command(
        `INSERT INTO flows (time, flow_id, received_at, source_ip, destination_ip, src_tenant, verdict)
         SELECT now64(9) - toIntervalSecond(number), toFixedString(leftPad(toString(number), 16, '0'), 16), now64(9),
                toIPv6(IPv4NumToString(toUInt32(167772160 + number % 50))), toIPv6('1.2.3.4'),
                concat('t', toString(number % 3)), if(number % 7 = 0, 'DROPPED', 'FORWARDED')
         FROM numbers({from:UInt64}, {n:UInt64})`,
        { params: { from, n } },
      );
    await insertFlows(0, 5000);
    const digest = async () =>
      (
        await s.query<{ n: string; h: string }>(
          'SELECT count() AS n, toString(sum(cityHash64(*))) AS h FROM flows',
        )
      )[0];
    const minuteFlows = async () =>
      Number((await s.query<{ n: string }>('SELECT sum(flows) AS n FROM flows_minute_detail'))[0]?.n);
    const before = await digest();
    expect(Number(before?.n)).toBe(5000);
    expect(await minuteFlows()).toBe(5000);

    // Run 0140 again over stored flows, as on a store that had them before the upgrade, with a copy
    // left behind by a crash in the middle of an earlier attempt.
    await s.command('DELETE FROM schema_migrations WHERE version = 140');
    await s.command('CREATE TABLE flows_rebuild AS flows');
    await s.command('INSERT INTO flows_rebuild SELECT * FROM flows LIMIT 10');
    expect((await migrate(s)).applied).toEqual(['0140_flows_granularity_2048']);

    expect(await digest()).toEqual(before);
    const [table] = await s.query<{ q: string }>(
      "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = 'flows'",
    );
    expect(table?.q).toMatch(/index_granularity = 2048\b/);
    const left = await s.query(
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'flows_rebuild'",
    );
    expect(left).toEqual([]);
    // Rollups were not copied into again, and the views fire for the rebuilt table.
    expect(await minuteFlows()).toBe(5000);
    await insertFlows(5000, 1000);
    expect(await minuteFlows()).toBe(6000);
    await s.close();
  });

  it("records where late owners can be: each hour and address of an end stored as nobody's, from inserts and from flows stored before (0180)", async () => {
    const s = await createChdbStore(dir, `late_ends_${Date.now()}`);
    await migrate(s);
    // Hour 0: 10.0.0.1 sends to a world address, both stored as nobody's, three times; 10.0.0.2
    // (an owner stored) sends to 10.0.0.3 (nobody's); 10.0.0.4 and 10.0.0.5 are both stored, and a
    // flow without a destination address. Hour 1: 10.0.0.1 again.
    const h0 = 1_796_000_400;
    await s.command(
      `INSERT INTO flows (time, flow_id, received_at, source_ip, destination_ip, src_source, dst_source)
       SELECT toDateTime64(h, 9, 'UTC'), toFixedString(leftPad(toString(rowNumberInAllBlocks()), 16, '0'), 16), now64(9),
              toIPv6(src), toIPv6(dst), ss, ds
       FROM (SELECT arrayJoin([
         (${h0}, '10.0.0.1', '203.0.113.1', 'none', 'none'), (${h0}, '10.0.0.1', '203.0.113.1', 'none', 'none'),
         (${h0}, '10.0.0.1', '203.0.113.1', 'none', 'none'), (${h0}, '10.0.0.2', '10.0.0.3', 'ownership', 'none'),
         (${h0}, '10.0.0.4', '10.0.0.5', 'ownership', 'label'), (${h0}, '10.0.0.6', '::', 'label', 'none'),
         (${h0 + 3600}, '10.0.0.1', '10.0.0.5', 'none', 'ownership')]) AS t,
         t.1 AS h, t.2 AS src, t.3 AS dst, t.4 AS ss, t.5 AS ds)`,
    );
    const ends = async () =>
      (
        await s.query<{ h: number; a: string }>(
          'SELECT toUnixTimestamp(hour) - {h0:UInt32} AS h, IPv6NumToString(address) AS a FROM flows_unattributed_ends FINAL ORDER BY h, a',
          { params: { h0 } },
        )
      ).map((r) => `${r.h} ${r.a}`);
    const want = ['0 ::ffff:10.0.0.1', '0 ::ffff:10.0.0.3', '0 ::ffff:203.0.113.1', '3600 ::ffff:10.0.0.1'];
    expect(await ends()).toEqual(want);
    // Stored before the table existed: the migration records them once.
    await expectBackfill(s, '0180_flows_unattributed_ends', 'flows_unattributed_ends');
    expect(await ends()).toEqual(want);
    await s.close();
  });
  it('writes which mostly empty column groups each stored flow has into the parts already stored too (0190)', async () => {
    const s = await createChdbStore(dir, `sparse_${Date.now()}`);
    await migrate(s);
    // A store from before 0190: no such column, and a flow with a DNS query, one without.
    await s.command('ALTER TABLE flows DROP COLUMN sparse_fields');
    await s.command('DELETE FROM schema_migrations WHERE version = 190');
    await s.command(
      `INSERT INTO flows (time, flow_id, received_at, dns_query)
       SELECT now64(9), toFixedString(id, 16), now64(9), q FROM (SELECT arrayJoin([('a', 'a.example.'), ('b', '')]) AS t,
         t.1 AS id, t.2 AS q)`,
    );
    const partsWithColumn = async () =>
      Number(
        (
          await s.query<{ n: string }>(
            `SELECT count() AS n FROM system.parts_columns WHERE database = currentDatabase() AND table = 'flows'
               AND active AND column = 'sparse_fields'`,
          )
        )[0]?.n,
      );
    expect(await partsWithColumn()).toBe(0);
    expect((await migrate(s)).applied).toEqual(['0190_flows_sparse_fields']);
    // The mutation may run in the background: wait for it, then the stored part has the column.
    for (let i = 0; i < 600 && (await partsWithColumn()) === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await partsWithColumn()).toBeGreaterThan(0);
    const rows = await s.query<{ id: string; sparse: number }>(
      "SELECT trimRight(toString(flow_id), '\\0') AS id, sparse_fields AS sparse FROM flows ORDER BY id",
    );
    expect(rows.map((r) => [r.id, Number(r.sparse)])).toEqual([
      ['a', SparseField.l7],
      ['b', 0],
    ]);
    await s.close();
  });
  it('keeps every address an allocation ever held, once, from ownership writes and from intervals stored before (0200)', async () => {
    const s = await createChdbStore(dir, `held_${Date.now()}`);
    await migrate(s);
    const interval = (address: string, kind: 'alloc' | 'node', n: number): OwnerInterval => ({
      address,
      kind,
      allocId: kind === 'alloc' ? `a000000${n}-0000-0000-0000-000000000000` : '',
      allocName: '',
      namespace: 'default',
      job: 'web',
      group: 'web',
      nodeId: `node-${n}`,
      nodeName: 'n1',
      tenant: 't1',
      account: 'acct',
      start: BigInt(n) * 1_000_000_000n,
      end: OPEN_END_NS,
      nomadIndex: BigInt(n),
    });
    // 10.0.0.1 held twice (two allocations, two writes), 10.0.0.2 once, 10.0.0.9 only by a node.
    await writeIntervals(s, [interval('10.0.0.1', 'alloc', 1), interval('10.0.0.9', 'node', 2)]);
    await writeIntervals(s, [interval('10.0.0.1', 'alloc', 3), interval('10.0.0.2', 'alloc', 4)]);
    const held = async () =>
      (
        await s.query<{ a: string }>(
          'SELECT IPv6NumToString(address) AS a FROM ownership_addresses FINAL ORDER BY address',
        )
      ).map((r) => r.a);
    const want = ['::ffff:10.0.0.1', '::ffff:10.0.0.2'];
    expect(await held()).toEqual(want);
    // Stored before the table existed: the migration records them.
    await expectBackfill(s, '0200_ownership_addresses', 'ownership_addresses');
    expect(await held()).toEqual(want);
    await s.close();
  });
});

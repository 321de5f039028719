import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from './chdb-store.ts';
import { clusterTransform, localTable } from './cluster.ts';
import { loadMigrations } from './migrator.ts';
import type { Store } from './store.ts';

// No ClickHouse cluster runs here, so the cluster DDL is checked with ClickHouse's own parser: every
// statement the migrator would run with CLICKHOUSE_CLUSTER set must parse (formatQuery), say ON CLUSTER,
// and give each MergeTree table a Replicated engine plus a Distributed table under the original name.
describe('common > clickhouse > cluster', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-cluster-ddl-'));
  let store: Store;
  const statements = loadMigrations({ transform: clusterTransform('flowtrail') }).flatMap((m) =>
    m.statements.map((sql) => ({ migration: m.name, sql })),
  );

  beforeAll(async () => {
    store = await createChdbStore(path.join(dir, 'data'), 'cluster_ddl');
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(statements)('$migration: parses with ClickHouse', async ({ sql }) => {
    const [row] = await store.query<{ q: string }>('SELECT formatQuery({sql:String}) AS q', {
      params: { sql },
    });
    if (/^(CREATE|ALTER|DROP)/.test(sql)) expect(row?.q).toMatch(/ON CLUSTER flowtrail/);
    else expect(row?.q).toMatch(/^INSERT INTO/);
  });

  it('makes every table replicated and distributed under its own name', () => {
    const tables = [
      ...new Set(
        statements.flatMap(({ sql }) => /^CREATE TABLE IF NOT EXISTS (\w+) ON/.exec(sql)?.[1] ?? []),
      ),
    ];
    const locals = tables.filter((t) => t.endsWith('_local'));
    expect(locals.length).toBeGreaterThan(3);
    for (const local of locals) {
      const name = local.slice(0, -'_local'.length);
      const create =
        statements.find(({ sql }) => sql.startsWith(`CREATE TABLE IF NOT EXISTS ${local} `))?.sql ?? '';
      expect(create).toMatch(/ENGINE = Replicated\w*MergeTree/);
      const dist =
        statements.find(({ sql }) => sql.startsWith(`CREATE TABLE IF NOT EXISTS ${name} `))?.sql ?? '';
      expect(dist).toContain(`ENGINE = Distributed(\`flowtrail\`, currentDatabase(), ${localTable(name)}, `);
    }
    const flows = statements.find(({ sql }) => sql.startsWith('CREATE TABLE IF NOT EXISTS flows '))?.sql;
    expect(flows).toContain('sipHash64(flow_id)');
  });

  it('leaves the rebuilds of flows and ownership (0140, 0150) to the operator: no statement on a cluster', () => {
    const rebuilds = loadMigrations().filter((m) => m.statements.some((sql) => /_rebuild\b/.test(sql)));
    expect(rebuilds.map((m) => m.name)).toEqual([
      '0140_flows_granularity_2048',
      '0150_ownership_granularity_64',
    ]);
    const transform = clusterTransform('flowtrail');
    for (const m of rebuilds) expect(m.statements.flatMap((sql) => transform(sql))).toEqual([]);
    expect(statements.some(({ sql }) => /_rebuild\b/.test(sql))).toBe(false);
  });

  it('drops a dropped rollup from every shard: its view, its Distributed table and the local one (0160)', () => {
    const drops = statements
      .filter(({ migration }) => migration === '0160_drop_flows_minute')
      .map((s) => s.sql);
    expect(drops).toEqual([
      'DROP VIEW IF EXISTS flows_minute_mv ON CLUSTER `flowtrail`',
      'DROP TABLE IF EXISTS flows_minute ON CLUSTER `flowtrail`',
      'DROP TABLE IF EXISTS flows_minute_local ON CLUSTER `flowtrail`',
    ]);
  });

  it("adds a computed column to the shards and the Distributed table, and writes it into the shards' parts (0190)", () => {
    const sqls = statements
      .filter(({ migration }) => migration === '0190_flows_sparse_fields')
      .map((s) => s.sql);
    expect(sqls.map((sql) => sql.slice(0, sql.indexOf('sparse_fields') + 'sparse_fields'.length))).toEqual([
      'ALTER TABLE flows_local ON CLUSTER `flowtrail` ADD COLUMN IF NOT EXISTS sparse_fields',
      'ALTER TABLE flows ON CLUSTER `flowtrail` ADD COLUMN IF NOT EXISTS sparse_fields',
      'ALTER TABLE flows_local ON CLUSTER `flowtrail` MATERIALIZE COLUMN sparse_fields',
    ]);
  });

  it('rejects a statement it has no cluster form for', () => {
    expect(() => clusterTransform('flowtrail')('ALTER TABLE flows ADD COLUMN x UInt8')).toThrow(
      /no cluster form/,
    );
  });
});

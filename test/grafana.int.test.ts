import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../collector/src/ingest-files.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import type { Store } from '../common/clickhouse/index.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import { hubbleFixtureFiles, repoRoot } from '../common/testing/fixtures.ts';

// The Grafana dashboards in deploy/grafana query ClickHouse directly: every panel's SQL, with Grafana's
// macros and variables expanded the way the ClickHouse datasource does, must run against the real
// schema (a renamed column would otherwise only show up as a red panel in someone's Grafana).
const dir = path.join(repoRoot, 'deploy', 'grafana', 'dashboards');
type Target = { rawSql: string };
type Panel = { title: string; targets: Target[] };

function expand(sql: string, vars: Record<string, string>): string {
  return sql
    .replace(/\$__timeInterval\((\w+)\)/g, 'toStartOfInterval($1, toIntervalSecond(60))')
    .replace(/\$__timeFilter\((\w+)\)/g, "$1 >= toDateTime64('2000-01-01 00:00:00', 9, 'UTC')")
    .replace(/\$__interval_s/g, '60')
    .replace(/\$\{(\w+)\}/g, (_m, k: string) => vars[k] ?? '');
}

let store: Store;
let tmp: string;

describe('grafana dashboards', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'flowtrail-grafana-'));
    store = await createChdbStore(path.join(tmp, 'data'), 'grafana_test');
    await migrate(store);
    await ingestFiles({ store, files: hubbleFixtureFiles() });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  it('ships the overview and tenant dashboards on the official ClickHouse datasource', () => {
    expect(files.sort()).toEqual(['overview.json', 'tenant.json']);
    for (const f of files) {
      const d = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
        panels: { datasource: { type: string } }[];
      };
      for (const p of d.panels) expect(p.datasource.type).toBe('grafana-clickhouse-datasource');
    }
  });

  for (const f of files) {
    it(`every panel of ${f} runs against the schema, with and without variables`, async () => {
      const d = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
        panels: Panel[];
        templating: { list: { name: string; query: string }[] };
      };
      for (const v of d.templating.list) {
        if (v.query.startsWith('SELECT')) await store.query(expand(v.query, {}));
      }
      for (const vars of [
        {} as Record<string, string>,
        { tenant: 'acme', namespace: 'default', verdict: 'DROPPED' },
      ]) {
        for (const p of d.panels) {
          for (const t of p.targets) {
            const rows = await store.query<Record<string, unknown>>(expand(t.rawSql, vars));
            expect(Array.isArray(rows), p.title).toBe(true);
          }
        }
      }
    });
  }
});

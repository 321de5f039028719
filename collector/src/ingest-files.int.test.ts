import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../../common/testing/fixtures.ts';
import { ingestFiles } from './ingest-files.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-ingest-'));
let store: Store;

beforeAll(async () => {
  store = await createChdbStore(path.join(dir, 'data'), 'ingest_files');
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

describeWithFixtures('collector > ingest-files', () => {
  it('stores every distinct fixture flow once, and nothing new on a second import', async () => {
    const files = hubbleFixtureFiles();
    expect(files).toHaveLength(10);
    const first = await ingestFiles({ store, files });
    expect(first).toMatchObject({ read: 1918, rejected: 0, imported: 1851, duplicates: 67 });
    const second = await ingestFiles({ store, files });
    expect(second).toMatchObject({ read: 1918, rejected: 0, imported: 0, duplicates: 1918 });
    const [count] = await store.query<{ n: string; ids: string }>(
      'SELECT count() AS n, uniqExact(flow_id) AS ids FROM flows',
    );
    expect(count).toEqual({ n: '1851', ids: '1851' });
    // The minute rollup is filled in the same insert, so the skipped re-import added nothing there either.
    const [rollup] = await store.query<{ n: string }>('SELECT sum(flows) AS n FROM flows_minute_detail');
    expect(rollup).toEqual({ n: '1851' });
  });

  it('imports a capture spanning more days than ClickHouse allows partitions per insert by default', async () => {
    const [good] = hubbleFixtureFiles().filter((f) => f.endsWith('basic-sample-10-flows.json'));
    const line = (await import('node:fs')).readFileSync(good!, 'utf8').split('\n')[0]!;
    const day = 86_400_000;
    const lines = Array.from({ length: 120 }, (_, i) => {
      const t = new Date(Date.UTC(2020, 0, 1) + i * day).toISOString().replace('.000Z', '.000000001Z');
      return line.replaceAll(/"time":"[^"]+"/g, `"time":"${t}"`);
    });
    const file = path.join(dir, 'long.json');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const report = await ingestFiles({ store, files: [file] });
    expect(report).toMatchObject({ read: 120, imported: 120, rejected: 0 });
  });

  it('reports malformed lines with file, line number and reason, and imports the rest', async () => {
    const [good] = hubbleFixtureFiles().filter((f) => f.endsWith('basic-sample-10-flows.json'));
    const lines = (await import('node:fs')).readFileSync(good!, 'utf8').trim().split('\n');
    const mixed = path.join(dir, 'mixed.json');
    const agentEvent =
      '{"agent_event":{"type":"ENDPOINT_CREATED"},"node_name":"n1","time":"2024-01-01T00:00:00Z"}';
    writeFileSync(
      mixed,
      [
        lines[0],
        '{"flow":',
        lines[1],
        '[1,2]',
        agentEvent,
        '{"flow":{"verdict":"NOT_A_VERDICT_NUMBER_9x"}}',
        lines[2],
        '',
      ].join('\n'),
    );
    const report = await ingestFiles({ store, files: [mixed] });
    expect(report.read).toBe(7);
    expect(report.skipped).toBe(1);
    expect(report.rejected).toBe(3);
    expect(report.errors.map((e) => [e.file, e.line])).toEqual([
      [mixed, 2],
      [mixed, 4],
      [mixed, 6],
    ]);
    expect(report.errors[0]!.reason).toMatch(/invalid JSON/);
    expect(report.errors[1]!.reason).toMatch(/JSON object/);
    // The three good lines are the same flows the first test stored: nothing new, nothing lost.
    expect(report.imported + report.duplicates).toBe(3);
  });
});

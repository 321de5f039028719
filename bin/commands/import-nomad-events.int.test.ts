import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import type { Store } from '../../common/clickhouse/store.ts';
import { configureLogging } from '../../common/logger.ts';
import { who } from '../../common/ownership/who.ts';
import { describeWithFixtures, nomadFixture } from '../../common/testing/fixtures.ts';
import { parseTimeArg } from '../../common/time.ts';
import { importNomadEvents } from './import-nomad-events.ts';
import { formatAnswer } from './who.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-import-'));
let store: Store;

beforeAll(async () => {
  configureLogging({ level: 'error' });
  store = await createChdbStore(path.join(dir, 'chdb'), `imp_${Math.random().toString(36).slice(2, 10)}`);
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

describeWithFixtures('bin > commands > import-nomad-events (chdb, shared capture)', () => {
  it('backfills ownership from a capture, reports malformed lines by number, and is idempotent', async () => {
    const capture = readFileSync(nomadFixture('event-stream-allocation.composite.ndjson'), 'utf8')
      .trimEnd()
      .split('\n');
    const file = path.join(dir, 'capture.ndjson');
    writeFileSync(file, [...capture.slice(0, 3), '{"Events":[', ...capture.slice(3)].join('\n'));

    const first = await importNomadEvents(store, [file]);
    expect(first.malformed).toEqual([{ file, line: 4, error: expect.any(String) }]);
    expect(first.frames).toBe(capture.filter((l) => l !== '{}').length);
    const again = await importNomadEvents(store, [file]);
    expect(again.frames).toBe(first.frames);

    const rows = await store.query<{ n: string }>(
      'SELECT count() AS n FROM (SELECT address, alloc_id FROM ownership GROUP BY address, alloc_id)',
    );
    expect(rows[0]!.n).toBe('1');
    const during = await who(store, '172.16.248.190', parseTimeArg('2021-11-04T09:30:00Z'));
    expect(during.owner).toMatchObject({
      tenant: 'acme',
      account: 'acct-0042',
      namespace: 'tenant-acme',
      job: 'example',
      group: 'cache',
      alloc_id: 'a8198d79-cfdb-6593-a999-1e9adabcba2e',
      start: '2021-11-04T09:14:09.901000000Z',
      source: 'ownership',
    });
    expect(during.owner?.end).not.toBeNull();
    expect(formatAnswer(during)).toContain('tenant acme, account acct-0042');
    const before = await who(store, '172.16.248.190', parseTimeArg('2021-11-04T09:14:09.900999999Z'));
    expect(before.owner).toBeNull();
    expect(before.next?.alloc_id).toBe('a8198d79-cfdb-6593-a999-1e9adabcba2e');
    expect(formatAnswer(before)).toContain('nobody known held this address');
  });
});

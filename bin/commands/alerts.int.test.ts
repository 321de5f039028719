import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { createChdbStore } from '../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { type FlowSpec, owner, storeFlows } from '../../query-api/src/alerts/testing.ts';

const run = promisify(execFile);
const S = 1_000_000_000n;
const T0 = 1_714_557_600n * S; // 2024-05-01T10:00:00Z

it('bin > commands > alerts: evaluate --json prints one incident object per line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ft-alerts-cli-'));
  const store = await createChdbStore(dir, 'flowtrail');
  await migrate(store);
  const A = owner('tenant-a', 'acct-a', 'alloc-a');
  const flows: FlowSpec[] = [
    {
      timeNs: T0 + 100n * S,
      src: '10.0.0.1',
      dst: '169.254.169.254',
      dport: 80,
      flags: ['SYN'],
      srcOwner: A,
      dstOwner: { scope: 'metadata' },
    },
  ];
  for (let i = 1; i <= 30; i++)
    flows.push({
      timeNs: T0 + BigInt(200 + i) * S,
      src: '10.0.0.1',
      dst: `203.0.113.${i}`,
      dport: 22,
      flags: ['SYN'],
      verdict: 'DROPPED',
      srcOwner: A,
    });
  await storeFlows(store, flows);
  // The command is another process: release the data directory first.
  await store.close();
  const { stdout } = await run(
    process.execPath,
    [
      'bin/flowtrail.js',
      'alerts',
      'evaluate',
      '--since',
      '2024-05-01T10:00:00Z',
      '--until',
      '2024-05-01T11:00:00Z',
      '--json',
    ],
    { env: { ...process.env, FLOWTRAIL_DATA_DIR: dir, CLICKHOUSE_URL: '', FLOWTRAIL_CONFIG: '' } },
  );
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(2);
  const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(objs.map((o) => o['rule'])).toEqual(['metadata-access', 'address-scan']);
  for (const o of objs) {
    expect(o).toMatchObject({ tenant: 'tenant-a', account: 'acct-a', alloc_id: 'alloc-a', status: 'open' });
    expect(Object.keys(o)).toEqual(
      expect.arrayContaining(['id', 'severity', 'first_seen', 'last_seen', 'count']),
    );
  }
  expect(objs[1]).toMatchObject({ count: 30, first_seen: '2024-05-01T10:03:21.000000000Z' });
});

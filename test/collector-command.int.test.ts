import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { waitUntil } from '../common/testing/faults.ts';
import { repoRoot } from '../common/testing/fixtures.ts';

const bin = path.join(repoRoot, 'bin/flowtrail.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * The row count of the largest committed part of a chdb MergeTree table, read from disk: the collector holds
 * the chdb directory while it runs, so the test cannot query it. Each insert commits a part directory (named
 * without the tmp_ prefix) that holds its row count in count.txt.
 */
function largestCommittedPart(dataDir: string, database: string, table: string): number {
  const dir = path.join(dataDir, 'data', database, table);
  if (!existsSync(dir)) return 0;
  let most = 0;
  for (const part of readdirSync(dir)) {
    if (!/^[^_]+(_\d+){3,}$/.test(part)) continue;
    const count = path.join(dir, part, 'count.txt');
    if (existsSync(count)) most = Math.max(most, Number(readFileSync(count, 'utf8')));
  }
  return most;
}

function flowtrail(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, FLOWTRAIL_LOG_LEVEL: 'warn', CLICKHOUSE_URL: '', KAFKA_BROKERS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

describe('flowtrail collector (standalone, as in distributed mode without Kafka)', () => {
  it('stores Hubble flows attributed from netreap labels and stops cleanly on SIGTERM', async () => {
    const sim = flowtrail(['simulate', '--listen', '127.0.0.1:0', '--rate', '2000', '--seed', '5']);
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      sim.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (\S+?),/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      sim.once('exit', (code) => reject(new Error(`simulate exited ${code}`)));
    });
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-collector-')), 'data');
    const collector = flowtrail(['collector'], { HUBBLE_SERVER: address, FLOWTRAIL_DATA_DIR: dataDir });
    let stderr = '';
    collector.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // Stop it once an insert of more than 100 flows has been committed, then look through chdb.
    await waitUntil(
      'the collector to store a batch',
      () => largestCommittedPart(dataDir, 'flowtrail', 'flows') > 100,
    );
    collector.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => collector.once('exit', resolve));
    expect(code, stderr).toBe(0);
    sim.kill('SIGTERM');

    const store = await createChdbStore(dataDir, 'flowtrail');
    try {
      const [r] = await store.query<{ n: string; labelled: string; attributed: string }>(
        `SELECT count() AS n,
           countIf(has(arrayMap(l -> startsWith(l, 'nomad:tenant='), source_labels), true)) AS labelled,
           countIf(has(arrayMap(l -> startsWith(l, 'nomad:tenant='), source_labels), true)
                   AND src_source = 'label' AND src_tenant != '') AS attributed
         FROM flows`,
      );
      expect(Number(r!.n)).toBeGreaterThan(100);
      expect(Number(r!.labelled)).toBeGreaterThan(0);
      expect(r!.attributed).toBe(r!.labelled);
    } finally {
      await store.close();
    }
  });
});

/**
 * Issue 17.2: a busy event loop (a tenant's query flood, a large JSON answer) must not make us
 * lose flows from a Hubble that overwrites its ring. The stall is made by construction: this
 * thread is blocked outright (no timers, no I/O) until the collector's reader thread has taken in
 * two full rings of flows from an overwriting source in another process. Read on this thread,
 * those flows would have waited in the socket while the source overwrote them; the source would
 * then report them lost (a LostEvent, as Hubble does) — none may be reported here.
 *
 * What the design allows, honestly: the reader thread buffers up to 16 MiB (about 28,000 flows,
 * three rings) while the loop is stalled; beyond that it pauses and Hubble's flow control takes over.
 * And the source itself must get CPU: a simulator starved for longer than its ring lasts at its
 * rate (8,192 flows at 2,000/s: 4 s) overwrites its own ring, whoever reads.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCollector, defaultCollectorConfig } from '../collector/src/collector.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { migrate } from '../common/clickhouse/migrator.ts';
import { configureLogging, createLogger } from '../common/logger.ts';
import { createMetrics } from '../common/metrics.ts';
import { waitUntil } from '../common/testing/faults.ts';
import { repoRoot } from '../common/testing/fixtures.ts';

configureLogging({ level: 'error' });
const ring = 8192;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts `flowtrail simulate` (overwriting ring, the default) in its own process; resolves to its address. */
async function simulator(): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin/flowtrail.js'),
      'simulate',
      '--listen',
      '127.0.0.1:0',
      '--rate',
      '2000',
      '--max-flows',
      String(ring),
      '--seed',
      '13',
    ],
    { env: { ...process.env, FLOWTRAIL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+?),/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`simulate exited ${code}`)));
  });
  return { child, address };
}

/** Blocks this thread (nothing else runs on it) until `cond` holds, failing after `ms`. */
function blockUntil(what: string, cond: () => boolean, ms: number): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out (blocked) waiting for ${what}`);
    Atomics.wait(nap, 0, 0, 10);
  }
}

describe('ingest while the event loop is stalled', () => {
  it('an overwriting source loses nothing while this thread is blocked for two of its rings', async () => {
    const { child, address } = await simulator();
    const store = await createChdbStore(
      path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-stall-')), 'data'),
      'stall',
    );
    await migrate(store);
    const collector = createCollector(
      {
        ...defaultCollectorConfig,
        targets: [address],
        sink: { ...defaultCollectorConfig.sink, flushIntervalMs: 100 },
        backoffInitialMs: 50,
        backoffMaxMs: 500,
      },
      { store, logger: createLogger('stall'), metrics: createMetrics('stall') },
    );
    await collector.start();
    const target = () => collector.status().targets[0]!;
    try {
      // Its first request asks for the whole ring, which the source overwrites while sending it
      // (a reader that starts at the oldest event of a full ring may be overtaken at once; Hubble
      // reports that too). Past that backlog it reads at the head: from here on nothing may be lost.
      await waitUntil(
        'the collector past the initial ring',
        () => collector.status().sink.stored >= ring + 2000,
      );
      const at = target();
      blockUntil(
        'two rings received while blocked',
        () => target().received >= at.received + 2 * ring,
        120_000,
      );
      const receivedWhileBlocked = target().received - at.received;
      // The loop runs again: everything read meanwhile is handled and stored.
      const handled = target().received;
      await waitUntil('the backlog handled', () => target().flows + target().lostEvents >= handled);
      const t = target();
      child.kill('SIGTERM');
      await collector.flush();
      expect(receivedWhileBlocked).toBeGreaterThanOrEqual(2 * ring);
      expect(t.lostEvents - at.lostEvents).toBe(0);
      expect(t.reconnects - at.reconnects).toBe(0);
      const [r] = await store.query<{ n: string; lost: string }>(
        'SELECT (SELECT count() FROM flows) AS n, (SELECT count() FROM lost_events) AS lost',
      );
      expect(Number(r!.lost)).toBe(at.lostEvents);
      expect(Number(r!.n)).toBe(collector.status().sink.stored);
      expect(Number(r!.n)).toBeGreaterThanOrEqual(t.flows - t.boundaryDuplicates);
    } finally {
      child.kill('SIGTERM');
      await collector.stop();
      await store.close();
    }
  }, 600_000);
});

/**
 * The memory half of `flowtrail bench` (`start_rss`): `flowtrail start`'s own wiring (bin/embedded.ts)
 * run in a process of its own against the bench's frame server (a Hubble that serves as fast as it
 * is read), sampled while it ingests at full rate. Prints one JSON line.
 *
 * What counts as chdb's own memory, subtracted from the resident set: the allocations ClickHouse's
 * memory tracker accounts (`system.metrics` MemoryTracking: caches, parts being written and merged,
 * query state) and the resident pages of the libchdb library's mapping (its code and data, hundreds
 * of MB of binary). Everything else resident — V8's heap, Buffers (batches, the reader thread's
 * backlog), Node itself — is ours. `heap_external_mb` (V8 heap + external memory as Node reports it)
 * is a cross-check from the other side.
 *
 * One more part of chdb's memory is in neither: pages its allocator (jemalloc, `dirty_decay_ms`
 * 5,000) keeps after an insert freed them. Inserting the same 100,000-row batch over and over, with
 * JavaScript's memory flat, leaves 150–300 MB more resident than the tracker counts, and `SYSTEM
 * JEMALLOC PURGE` gives it back (~20 ms of CPU). So each sample purges first (`purgeChdb: false`
 * samples without): what stays resident beyond the tracker is then ours, or chdb's live untracked
 * bytes, counted against us.
 *
 * `benchStartRss(flows)` runs it: the frame server and this module as a child process (one chdb
 * engine per process, and the bench's own would be counted otherwise).
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';
import { startFrameServer } from '../collector/src/bench/frame-server.ts';
import { createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { configureLogging } from '../common/logger.ts';
import { sleep } from '../common/retry.ts';
import { ensureUiBuilt } from '../ui/serve.ts';
import { startEmbedded } from './embedded.ts';

/** What the child reports. */
export interface StartRssResult {
  flows: number;
  flows_per_s: number;
  /** Peak of: resident set − chdb's tracked memory − libchdb's resident mapping (chdb's freed pages purged first). */
  rss_without_chdb_peak_mb: number;
  rss_at_that_peak_mb: number;
  chdb_tracked_at_that_peak_mb: number;
  libchdb_resident_at_that_peak_mb: number;
  /** Peak V8 heap (total) + external memory, as Node reports it. */
  heap_external_peak_mb: number;
  /** The most resident memory one purge of chdb's freed pages gave back (0 when not purging). */
  chdb_purged_peak_mb: number;
}

/** Runs `flowtrail start` against the frame server until `flows` are stored; reports its memory. */
export async function benchStartRss(
  flows: number,
  opts: { purgeChdb?: boolean } = {},
): Promise<StartRssResult> {
  // Built here first: a checkout whose UI is stale builds it inside `flowtrail start` (Vite, once),
  // and that one-off build's memory is not what start holds at full rate.
  await ensureUiBuilt();
  const sim = await startFrameServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-start-rss-'));
  try {
    const self = fileURLToPath(import.meta.url);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx/esm',
        self,
        sim.address,
        String(flows),
        path.join(dir, 'data'),
        opts.purgeChdb === false ? 'keep' : 'purge',
      ],
      { cwd: path.resolve(path.dirname(self), '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const line = out.trim().split('\n').at(-1) ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`start-rss exited with ${code}: ${out}`);
    return JSON.parse(line) as StartRssResult;
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const MB = 1 << 20;

/** Resident bytes: the whole process, and the libchdb mapping's. */
function resident(): { rss: number; libchdb: number } {
  let libchdb = 0;
  let inChdb = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inChdb = line.includes('libchdb');
    else if (inChdb && line.startsWith('Rss:')) libchdb += Number(line.split(/\s+/)[1]) * 1024;
  }
  return { rss: process.memoryUsage.rss(), libchdb };
}

async function main(hubble: string, flows: number, dataDir: string, purge: boolean): Promise<void> {
  configureLogging({ level: 'error' });
  const running = await startEmbedded({
    HUBBLE_SERVER: hubble,
    FLOWTRAIL_DATA_DIR: dataDir,
    FLOWTRAIL_HTTP_PORT: '0',
    FLOWTRAIL_GRPC_PORT: '0',
    FLOWTRAIL_AUTH_MODE: 'open',
    FLOWTRAIL_LOG_LEVEL: 'error',
  });
  // A second handle on the same engine (one per process), to read its counters; a bare session for
  // the purge (the store appends SETTINGS, which SYSTEM statements do not take).
  const store = await createChdbStore(dataDir, 'flowtrail');
  const session = new Session(path.resolve(dataDir));
  const started = performance.now();
  let stored = 0;
  const peak = { rss: 0, tracked: 0, libchdb: 0, ours: 0, heapExternal: 0, purged: 0 };
  while (stored < flows) {
    await sleep(500);
    // The store runs one statement at a time, so this answers between two inserts; the purge goes
    // past that queue (a session of its own), right before the resident set is read.
    const [row] = await store.query<{ n: string; tracked: string }>(
      "SELECT (SELECT count() FROM flows) AS n, (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS tracked",
    );
    if (purge) {
      const before = process.memoryUsage.rss();
      await session.queryAsync('SYSTEM JEMALLOC PURGE', { format: 'TSV' });
      peak.purged = Math.max(peak.purged, before - process.memoryUsage.rss());
    }
    stored = Number(row?.n ?? 0);
    const tracked = Number(row?.tracked ?? 0);
    const { rss, libchdb } = resident();
    const mem = process.memoryUsage();
    const ours = rss - tracked - libchdb;
    if (ours > peak.ours) Object.assign(peak, { rss, tracked, libchdb, ours });
    peak.heapExternal = Math.max(peak.heapExternal, mem.heapTotal + mem.external);
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  await running.stop();
  const mb = (n: number) => Math.round(n / MB);
  process.stdout.write(
    `${JSON.stringify({
      flows: stored,
      flows_per_s: Math.round(stored / seconds),
      rss_without_chdb_peak_mb: mb(peak.ours),
      rss_at_that_peak_mb: mb(peak.rss),
      chdb_tracked_at_that_peak_mb: mb(peak.tracked),
      libchdb_resident_at_that_peak_mb: mb(peak.libchdb),
      heap_external_peak_mb: mb(peak.heapExternal),
      chdb_purged_peak_mb: mb(peak.purged),
    })}\n`,
  );
  process.exit(0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [hubble, flows, dataDir, purge = 'purge'] = process.argv.slice(2);
  if (!hubble || !flows || !dataDir)
    throw new Error('usage: start-rss.ts <hubble> <flows> <data dir> [purge|keep]');
  await main(hubble, Number(flows), dataDir, purge === 'purge');
}

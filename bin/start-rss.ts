/**
 * The memory half of `flowtrail bench` (`start_rss`): `flowtrail start`'s own wiring (bin/embedded.ts)
 * run in a process of its own against the bench's frame server (a Hubble that serves as fast as it
 * is read), sampled while it ingests at full rate. Prints one JSON line.
 *
 * What counts as chdb's own memory, subtracted from the resident set: the resident pages of the
 * libchdb library's mapping (its code and data, ~200 MB of binary) and the resident pages its
 * allocator holds (jemalloc's own `resident` figure, `system.jemalloc_stats`): what ClickHouse's
 * memory tracker accounts (`system.metrics` MemoryTracking: caches, parts being written and merged,
 * query state), its live bytes the tracker does not count, and pages freed but not yet given back
 * (`dirty_decay_ms` 5,000 — 150–300 MB at full rate before the product purged them, chdb-store.ts
 * `chdbPurge`). Node's own allocations never go through that allocator (200 MB of Buffers leave its
 * figures unchanged). Everything else resident — V8's heaps, Buffers (batches, the reader thread's
 * backlog), Node's binary and libraries — is ours: `rss_without_chdb_peak_mb`. The tracker alone, as
 * earlier sessions subtracted it, gives `rss_without_chdb_tracked_peak_mb` (chdb's untracked and freed
 * pages then count as ours). `rss_peak_mb` is the whole process, chdb included.
 *
 * `productPurge: false` measures start without the product's purge; `samplePurge: true` purges before
 * each sample too (the measure before the product purged).
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
import { chdbPurge, chdbPurgeStats, createChdbStore } from '../common/clickhouse/chdb-store.ts';
import { bundledEntry } from '../common/js-bundle.js';
import { configureLogging } from '../common/logger.ts';
import { sleep } from '../common/retry.ts';
import { ensureUiBuilt } from '../ui/serve.ts';
import { startEmbedded } from './embedded.ts';

/** What the child reports. */
export interface StartRssResult {
  flows: number;
  flows_per_s: number;
  /** CPU time of the whole process (every thread: ours and the engine's) per flow stored. */
  cpu_us_per_flow: number;
  /** Peak of the whole process's resident set. */
  rss_peak_mb: number;
  /** Peak of: resident set − libchdb's resident mapping − what chdb's allocator holds resident. */
  rss_without_chdb_peak_mb: number;
  rss_at_that_peak_mb: number;
  /** chdb's allocator: resident pages (jemalloc), and of them what its memory tracker counts. */
  chdb_allocator_resident_at_that_peak_mb: number;
  chdb_tracked_at_that_peak_mb: number;
  libchdb_resident_at_that_peak_mb: number;
  /** Peak of: resident set − libchdb's resident mapping − chdb's tracked memory (earlier sessions' figure). */
  rss_without_chdb_tracked_peak_mb: number;
  /** At that peak: V8 heap used and reserved, external memory (Buffers) as Node reports it. */
  heap_used_at_that_peak_mb: number;
  heap_total_at_that_peak_mb: number;
  external_at_that_peak_mb: number;
  /** At that peak: resident file-backed pages other than libchdb's (node's binary and the like). */
  file_resident_at_that_peak_mb: number;
  /** Peak V8 heap (total) + external memory, as Node reports it. */
  heap_external_peak_mb: number;
  /** The product's purges of chdb's allocator (chdb-store.ts) and their wall time. */
  chdb_purges: number;
  chdb_purge_ms: number;
  /** The most resident memory one purge by the bench itself gave back (0 unless `samplePurge`). */
  chdb_purged_peak_mb: number;
}

/** How to measure. */
export interface StartRssOptions {
  /**
   * The product purges chdb's allocator after inserts (chdb-store.ts `chdbPurge`). Default true;
   * false measures start as it was without (a comparison).
   */
  productPurge?: boolean;
  /**
   * The bench purges chdb's allocator itself before each sample. Default false: what stays resident
   * is what the product holds. Before the product purged, this was how chdb's freed pages (which
   * its tracker does not count) were kept out of our figure.
   */
  samplePurge?: boolean;
}

/** Runs `flowtrail start` against the frame server until `flows` are stored; reports its memory. */
export async function benchStartRss(flows: number, opts: StartRssOptions = {}): Promise<StartRssResult> {
  // Built here first: a checkout whose UI is stale builds it inside `flowtrail start` (Vite, once),
  // and that one-off build's memory is not what start holds at full rate.
  await ensureUiBuilt();
  // Imported here, so the measured child (this module) does not load the generator beside start.
  const { startFrameServer } = await import('../collector/src/bench/frame-server.ts');
  const sim = await startFrameServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'flowtrail-start-rss-'));
  try {
    const self = fileURLToPath(import.meta.url);
    // The child runs as `flowtrail start` does (bin/flowtrail.js): plain JavaScript, bundled, no tsx.
    const bundle = await bundledEntry(new URL(import.meta.url));
    const child = spawn(
      process.execPath,
      [
        bundle,
        childFlag,
        sim.address,
        String(flows),
        path.join(dir, 'data'),
        opts.productPurge === false ? 'no-product-purge' : 'product-purge',
        opts.samplePurge ? 'sample-purge' : 'no-sample-purge',
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

/** Marks the measured child (run from its bundle, where this module's URL is no longer argv[1]). */
const childFlag = '--start-rss-child';

/** Resident bytes: the whole process, the libchdb mapping's, and other file-backed mappings'. */
function resident(): { rss: number; libchdb: number; file: number } {
  let libchdb = 0;
  let file = 0;
  let mapping: 'libchdb' | 'file' | 'anon' = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      // The sixth field is the mapped file's path (absent, or [heap] and the like, when anonymous).
      const mapped = line.split(/\s+/)[5] ?? '';
      mapping = line.includes('libchdb') ? 'libchdb' : mapped.startsWith('/') ? 'file' : 'anon';
    } else if (mapping !== 'anon' && line.startsWith('Rss:')) {
      const bytes = Number(line.split(/\s+/)[1]) * 1024;
      if (mapping === 'libchdb') libchdb += bytes;
      else file += bytes;
    }
  }
  return { rss: process.memoryUsage.rss(), libchdb, file };
}

async function main(
  hubble: string,
  flows: number,
  dataDir: string,
  opts: Required<StartRssOptions>,
): Promise<void> {
  configureLogging({ level: 'error' });
  if (!opts.productPurge) chdbPurge.everyMs = 0;
  const running = await startEmbedded({
    HUBBLE_SERVER: hubble,
    FLOWTRAIL_DATA_DIR: dataDir,
    FLOWTRAIL_HTTP_PORT: '0',
    FLOWTRAIL_GRPC_PORT: '0',
    FLOWTRAIL_AUTH_MODE: 'open',
    FLOWTRAIL_LOG_LEVEL: 'error',
  });
  // A second handle on the same engine (one per process), to read its counters; a bare session for
  // the bench's own purge (the store appends SETTINGS, which SYSTEM statements do not take).
  const store = await createChdbStore(dataDir, 'flowtrail');
  const session = new Session(path.resolve(dataDir));
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let stored = 0;
  const peak = {
    rss: 0,
    tracked: 0,
    allocator: 0,
    libchdb: 0,
    oursTracked: 0,
    file: 0,
    ours: 0,
    heapUsed: 0,
    heapTotal: 0,
    external: 0,
    total: 0,
    heapExternal: 0,
    purged: 0,
  };
  while (stored < flows) {
    await sleep(500);
    // The store runs one statement at a time, so this answers between two inserts (and after the
    // purge that follows an insert); the bench's own purge goes past that queue (a session of its
    // own), right before the resident set is read.
    const [row] = await store.query<{ n: string; tracked: string; jemalloc: string }>(
      "SELECT (SELECT count() FROM flows) AS n, (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS tracked, (SELECT stats FROM system.jemalloc_stats) AS jemalloc",
    );
    if (opts.samplePurge) {
      const before = process.memoryUsage.rss();
      await session.queryAsync('SYSTEM JEMALLOC PURGE', { format: 'TSV' });
      peak.purged = Math.max(peak.purged, before - process.memoryUsage.rss());
    }
    stored = Number(row?.n ?? 0);
    const tracked = Number(row?.tracked ?? 0);
    // The summary line of jemalloc's statistics: "Allocated: …, active: …, metadata: … (…), resident: …".
    const jemalloc = /Allocated: \d+, active: \d+, metadata: \d+(?: \([^)]*\))?, resident: (\d+)/.exec(
      row?.jemalloc ?? '',
    );
    if (!jemalloc) throw new Error('start-rss: no resident figure in system.jemalloc_stats');
    // Memory the tracker counts that the allocator does not (a direct mmap) would be chdb's too.
    const allocator = Math.max(Number(jemalloc[1]), tracked);
    const { rss, libchdb, file } = resident();
    const mem = process.memoryUsage();
    const ours = rss - libchdb - allocator;
    peak.total = Math.max(peak.total, rss);
    peak.oursTracked = Math.max(peak.oursTracked, rss - libchdb - tracked);
    if (ours > peak.ours) {
      Object.assign(peak, {
        rss,
        tracked,
        allocator,
        libchdb,
        file,
        ours,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        external: mem.external,
      });
    }
    peak.heapExternal = Math.max(peak.heapExternal, mem.heapTotal + mem.external);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const purges = chdbPurgeStats() ?? { purges: 0, ms: 0 };
  await store.close();
  await running.stop();
  const mb = (n: number) => Math.round(n / MB);
  const result: StartRssResult = {
    flows: stored,
    flows_per_s: Math.round(stored / seconds),
    cpu_us_per_flow: Math.round(((cpu.user + cpu.system) / stored) * 10) / 10,
    rss_peak_mb: mb(peak.total),
    rss_without_chdb_peak_mb: mb(peak.ours),
    rss_at_that_peak_mb: mb(peak.rss),
    chdb_allocator_resident_at_that_peak_mb: mb(peak.allocator),
    chdb_tracked_at_that_peak_mb: mb(peak.tracked),
    libchdb_resident_at_that_peak_mb: mb(peak.libchdb),
    rss_without_chdb_tracked_peak_mb: mb(peak.oursTracked),
    heap_used_at_that_peak_mb: mb(peak.heapUsed),
    heap_total_at_that_peak_mb: mb(peak.heapTotal),
    external_at_that_peak_mb: mb(peak.external),
    file_resident_at_that_peak_mb: mb(peak.file),
    heap_external_peak_mb: mb(peak.heapExternal),
    chdb_purges: purges.purges,
    chdb_purge_ms: Math.round(purges.ms),
    chdb_purged_peak_mb: mb(peak.purged),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (process.argv[2] === childFlag) {
  const [hubble, flows, dataDir, product = 'product-purge', sample = 'no-sample-purge'] =
    process.argv.slice(3);
  if (!hubble || !flows || !dataDir)
    throw new Error(
      `usage: start-rss.ts ${childFlag} <hubble> <flows> <data dir> [product-purge|no-product-purge] [sample-purge|no-sample-purge]`,
    );
  await main(hubble, Number(flows), dataDir, {
    productPurge: product === 'product-purge',
    samplePurge: sample === 'sample-purge',
  });
}

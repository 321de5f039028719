/**
 * The embedded transport: chdb, the ClickHouse engine inside this process. Only one data
 * directory may be open per process, so the session is shared by every Store created here.
 *
 * The engine runs one statement at a time, so whatever is handed to it waits in its queue in
 * arrival order: a burst of API queries would make flow inserts wait behind all of them (the
 * collector then falls behind and Hubble's ring overflows). So statements go through a scheduler
 * of our own with two lanes: inserts (and the bookkeeping around them) always go next, queries
 * take turns after them, and a queued statement whose caller gave up (signal aborted: the client
 * left, or its deadline passed) is dropped before it reaches the engine.
 *
 * After inserts the engine's allocator is purged (see `chdbPurge`): chdb's jemalloc keeps the pages
 * an insert freed resident for seconds (`dirty_decay_ms` 5,000), which its memory tracker does not
 * count, and in `flowtrail start` at full rate that was 150–300 MB of resident memory.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Session } from 'chdb';
import { parseClickHouseError } from './errors.ts';
import {
  type InsertResult,
  pinnedSettings,
  type QueryOptions,
  quoteIdent,
  type RowBinaryInsert,
  type Store,
  settingsClause,
} from './store.ts';

/** Which lane a statement waits in: inserts are never queued behind queries. */
export type Lane = 'insert' | 'query';

interface Job {
  run(): Promise<void>;
  signal: AbortSignal | undefined;
  onAbort?: () => void;
}

/**
 * Runs one statement at a time, inserts first. `observe` (tests) sees each job as it starts.
 */
export interface StatementScheduler {
  schedule<T>(lane: Lane, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Statements waiting, by lane. */
  readonly queued: { insert: number; query: number };
}

/** Creates a scheduler (one per chdb session). */
export function createStatementScheduler(): StatementScheduler {
  const lanes: Record<Lane, Job[]> = { insert: [], query: [] };
  let busy = false;
  // Inserts go first, but a steady stream of them must not starve queries either: after a few
  // inserts in a row, a waiting query gets its turn.
  let insertsInARow = 0;
  const next = () => {
    if (busy) return;
    const queryTurn = lanes.query.length > 0 && insertsInARow >= 4;
    const lane: Lane | undefined =
      !queryTurn && lanes.insert.length > 0
        ? 'insert'
        : lanes.query.length > 0
          ? 'query'
          : lanes.insert.length > 0
            ? 'insert'
            : undefined;
    if (!lane) return;
    const job = lanes[lane].shift();
    insertsInARow = lane === 'insert' ? insertsInARow + 1 : 0;
    if (!job) return;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    busy = true;
    void job.run().finally(() => {
      busy = false;
      next();
    });
  };
  return {
    schedule<T>(lane: Lane, fn: () => Promise<T>, signal?: AbortSignal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<T>((resolve, reject) => {
        const job: Job = {
          signal,
          run: () => fn().then(resolve, reject),
        };
        if (signal) {
          job.onAbort = () => {
            const i = lanes[lane].indexOf(job);
            if (i >= 0) {
              lanes[lane].splice(i, 1);
              reject(signal.reason);
            }
          };
          signal.addEventListener('abort', job.onAbort, { once: true });
        }
        lanes[lane].push(job);
        next();
      });
    },
    get queued() {
      return { insert: lanes.insert.length, query: lanes.query.length };
    },
  };
}

/**
 * How often the engine's allocator may be purged (`SYSTEM JEMALLOC PURGE`: its freed pages go back to
 * the OS). jemalloc keeps the pages an insert freed for `dirty_decay_ms` (5,000; chdb ignores
 * MALLOC_CONF), and at `flowtrail start`'s full rate that was 150–300 MB resident beyond what the
 * engine's tracker counts (bin/start-rss.ts). A purge costs ~20 ms of CPU, so it runs after an insert
 * at most once per `everyMs`: an insert within that of the last purge leaves one purge due at its
 * end, so no insert's garbage stays longer than `everyMs`. 0 turns it off (a bench comparing).
 * Read when a session opens.
 */
export const chdbPurge = { everyMs: 1_000 };

interface Purger {
  /**
   * Called inside an insert's job, as it ends: purges there (nothing else can land between the insert
   * and the purge) when the interval allows, else once it does (a job of its own on the insert lane).
   */
  afterInsert(): Promise<void>;
  /** No more purges; resolves once one running has ended (closing the session under it aborts the process). */
  stop(): Promise<void>;
  readonly stats: ChdbPurgeStats;
}

/** Purges run so far in this process and their wall time (the engine runs no statement meanwhile). */
export interface ChdbPurgeStats {
  purges: number;
  ms: number;
}

function createPurger(session: Session, scheduler: StatementScheduler, everyMs: number): Purger {
  let last = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = everyMs <= 0;
  let running: Promise<void> | undefined;
  const stats: ChdbPurgeStats = { purges: 0, ms: 0 };
  const purge = async () => {
    if (stopped) return;
    const t = performance.now();
    // Bare: SYSTEM statements take no SETTINGS clause, which run() appends.
    running = session.queryAsync('SYSTEM JEMALLOC PURGE', { format: 'TSV' }).then(
      () => {
        last = performance.now();
        stats.purges++;
        stats.ms += last - t;
      },
      () => {
        // An engine built without jemalloc: its memory stays as it was; no point asking again.
        stopped = true;
      },
    );
    await running;
    running = undefined;
  };
  return {
    async afterInsert() {
      if (stopped || timer) return;
      const wait = last + everyMs - performance.now();
      if (wait <= 0) return purge();
      timer = setTimeout(() => {
        timer = undefined;
        void scheduler.schedule('insert', purge);
      }, wait);
      // Garbage not yet purged is no reason to keep a process alive.
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    stats,
  };
}

/** The current session's purges (bin/start-rss.ts reports them); undefined when no session is open. */
export function chdbPurgeStats(): ChdbPurgeStats | undefined {
  return shared ? { ...shared.purger.stats } : undefined;
}

let shared:
  | { dir: string; session: Session; users: number; scheduler: StatementScheduler; purger: Purger }
  | undefined;

function openSession(dir: string): { session: Session; scheduler: StatementScheduler; purger: Purger } {
  const abs = path.resolve(dir);
  if (shared) {
    if (shared.dir !== abs) {
      throw new Error(`chdb already has ${shared.dir} open in this process; cannot also open ${abs}`);
    }
    shared.users++;
    return shared;
  }
  mkdirSync(abs, { recursive: true });
  const session = new Session(abs);
  const scheduler = createStatementScheduler();
  shared = {
    dir: abs,
    session,
    users: 1,
    scheduler,
    purger: createPurger(session, scheduler, chdbPurge.everyMs),
  };
  return shared;
}

async function releaseSession(): Promise<void> {
  if (!shared) return;
  if (--shared.users === 0) {
    const { purger, session } = shared;
    shared = undefined;
    await purger.stop();
    session.close();
  }
}

/** Opens (or shares) the chdb engine on `dataDir` and uses `database` in it. */
export async function createChdbStore(dataDir: string, database: string): Promise<Store> {
  const { session, scheduler, purger } = openSession(dataDir);
  const scratch = path.join(path.resolve(dataDir), 'tmp');
  mkdirSync(scratch, { recursive: true });
  const db = quoteIdent(database);
  let closed = false;

  const run = async (sql: string, opts: QueryOptions, format: string) => {
    const full = `${sql}${settingsClause({ ...pinnedSettings, ...opts.settings })}`;
    try {
      const result = opts.params
        ? await session.queryBindAsync(full, encodeParams(opts.params), { format, signal: opts.signal })
        : await session.queryAsync(full, { format, signal: opts.signal });
      return result;
    } catch (err) {
      throw parseClickHouseError(err, sql);
    }
  };
  const withDb = (sql: string) => `USE ${db}; ${sql}`;

  const queued = (sql: string, opts: QueryOptions, format: string) =>
    scheduler.schedule('query', () => run(sql, opts, format), opts.signal);

  await queued(`CREATE DATABASE IF NOT EXISTS ${db}`, {}, 'TSV');

  const store: Store = {
    kind: 'chdb',
    database,
    async command(sql, opts = {}) {
      await queued(withDb(sql), opts, 'TSV');
    },
    async query<T>(sql: string, opts: QueryOptions = {}) {
      const res = await queued(withDb(sql), opts, 'JSONEachRow');
      const text = res.text();
      if (!text) return [];
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as T);
    },
    async *queryBatches<T>(sql: string, opts: QueryOptions = {}) {
      // chdb streams one query per session at a time; a buffered read keeps concurrent callers safe.
      const rows = await store.query<T>(sql, opts);
      for (let i = 0; i < rows.length; i += 10_000) yield rows.slice(i, i + 10_000);
    },
    async insertJson(table, rows) {
      if (rows.length === 0) return;
      const body = rows.map((r) => JSON.stringify(r, jsonReplacer)).join('\n');
      await scheduler.schedule('insert', async () => {
        try {
          await session.insert({
            table: `${database}.${table}`,
            values: Buffer.from(body),
            format: 'JSONEachRow',
          });
        } catch (err) {
          throw parseClickHouseError(err, `INSERT INTO ${table}`);
        }
        await purger.afterInsert();
      });
    },
    async insertRowBinary(insert: RowBinaryInsert): Promise<InsertResult> {
      // Why a scratch file and two counts (measured 2026-12-02, store7 notes), not chdb's own ways:
      // - chdb's inline insert payload (the native entry behind `Session.insert`, which lets text
      //   formats only) is not binary-safe: it ends the data at the first "\n\n" without an error.
      //   RowBinary holds those bytes anywhere (a UInt64 2570 does): rows after them are lost.
      // - The engine's written-rows count (that entry's `rowsWritten`) counts a deduplicated
      //   insert's rows too (8,411 for a repeated 5,000-flow batch with its views), so it cannot
      //   tell a repeat; the part counts can. Each costs 3.6–6.6 ms of CPU against 1.3–2 ms for a
      //   `SELECT 1` through the same path: ~0.1 µs per flow at the sink's 50,000-row batches.
      const data = insert.data;
      // The counts and the insert run as one job, so no other statement lands between them.
      if (!(data instanceof Uint8Array)) return scheduler.schedule('insert', () => insertFile(data.path));
      const file = path.join(scratch, `${randomUUID()}.bin`);
      await writeFile(file, data);
      return scheduler.schedule('insert', () => insertFile(file)).finally(() => unlink(file).catch(() => {}));
      async function insertFile(file: string): Promise<InsertResult> {
        const input = `file('${file}', 'RowBinary', '${insert.structure.replace(/'/g, "\\'")}')`;
        const before = await writtenRows();
        await run(
          withDb(
            `INSERT INTO ${insert.into} ${insert.columns ?? ''} ${insert.select.replaceAll('{input}', input)}`,
          ),
          // Read, not mapped: chdb maps the file by default, and its pages (the whole batch, tens of MB)
          // are then resident in this process for the insert (`flowtrail start`'s memory, and not
          // the engine's own: bin/start-rss.ts counted them as ours).
          { params: insert.params, settings: { ...insert.settings, storage_file_read_method: 'pread' } },
          'TSV',
        );
        // A merge (TTL) between the two counts can lower the total: never report below zero.
        const written = Math.max(0, (await writtenRows()) - before);
        await purger.afterInsert();
        return { written };
      }
      async function writtenRows(): Promise<number> {
        // chdb's queryAsync reports no written-rows summary, so count the target's rows instead.
        const r = await run(
          `SELECT sum(rows) FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active`,
          { params: { db: database, t: insert.into } },
          'TSV',
        );
        return Number(r.text().trim() || 0);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await releaseSession();
    },
  };
  return store;
}

/** chdb binds parameters from a plain object; 64-bit values travel as strings, arrays as-is. */
function encodeParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * Applies the numbered SQL files of migrations/ in order and records each in
 * `schema_migrations`, so running it twice changes nothing. Files are forward-only and
 * idempotent (IF NOT EXISTS), so a half-applied file is safe to run again.
 *
 * Templates: `{ttl_days}` is the flow retention in days.
 * @module
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.ts';
import type { Store } from './store.ts';

/** The folder holding the SQL migrations. */
export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export interface MigrateOptions {
  /** Flow retention in days (TTL; main passes FLOWTRAIL_TTL_DAYS). Default 30. */
  ttlDays?: number;
  /** Rewrites each statement before it runs (cluster DDL uses this; one may become several). */
  transform?: (statement: string) => string | string[];
}

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

/** The flow retention to apply: the option, else 30 days. */
export function retentionDays(opts: MigrateOptions = {}): number {
  const days = opts.ttlDays ?? 30;
  if (!Number.isInteger(days) || days < 1) {
    throw new ConfigError(`FLOWTRAIL_TTL_DAYS must be a positive whole number of days, got "${days}"`);
  }
  return days;
}

/** Reads and renders the migrations in order. */
export function loadMigrations(opts: MigrateOptions = {}): Migration[] {
  const ttlDays = retentionDays(opts);
  return readdirSync(migrationsDir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(migrationsDir, file), 'utf8');
      const rendered = text.replaceAll('{ttl_days}', String(ttlDays));
      const statements = splitStatements(rendered).flatMap((s) => (opts.transform ? opts.transform(s) : s));
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        statements,
        checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
      };
    });
}

/** Splits a SQL file on semicolons that end a line, dropping comment-only pieces. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.replace(/^--.*$/gm, '').trim().length > 0);
}

/** Outcome of a migration run. */
export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

/** Applies every migration not yet recorded in `schema_migrations`. */
export async function migrate(store: Store, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const ledger = opts.transform ? opts.transform(ledgerDdl) : ledgerDdl;
  for (const statement of typeof ledger === 'string' ? [ledger] : ledger) await store.command(statement);
  const done = new Set(
    (await store.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
      Number(r.version),
    ),
  );
  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of loadMigrations(opts)) {
    if (done.has(m.version)) {
      result.skipped.push(m.name);
      continue;
    }
    for (const statement of m.statements) await store.command(statement);
    await store.insertJson('schema_migrations', [
      { version: m.version, name: m.name, checksum: m.checksum, applied_at: Date.now() * 1e6 },
    ]);
    result.applied.push(m.name);
  }
  await convergeRetention(store, opts);
  return result;
}

/**
 * The TTL of a row standing for the flows of its `hour`: as long as the latest of them, which arrived
 * `received_lag_hours` after that hour (0045 explains it).
 */
const hourRowTtl = (days: number) =>
  `(hour + toIntervalHour(received_lag_hours + 1)) + toIntervalDay(${days})`;

/**
 * The TTL of each table whose rows expire with the flows (the flows themselves, the address index
 * pointing at them, migrations/0045, and where their late ends are, 0180), for a retention of `days`.
 */
const retentionTtls: readonly { table: string; ttl: (days: number) => string }[] = [
  { table: 'flows', ttl: (d) => `toDateTime(received_at) + toIntervalDay(${d})` },
  { table: 'flows_by_address', ttl: (d) => hourRowTtl(d) },
  { table: 'flows_unattributed_ends', ttl: (d) => hourRowTtl(d) },
];

/**
 * Retention is configuration, not history: when FLOWTRAIL_TTL_DAYS changes after `flows` was
 * created, the TTL of the tables above is altered to match (single-node tables; a cluster's local
 * tables are altered by the operator with ON CLUSTER, see deploy/README.md).
 */
async function convergeRetention(store: Store, opts: MigrateOptions): Promise<void> {
  if (opts.transform) return;
  const days = retentionDays(opts);
  for (const { table, ttl } of retentionTtls) {
    const [t] = await store.query<{ q: string }>(
      'SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
      { params: { t: table } },
    );
    if (!t || t.q.includes(`toIntervalDay(${days})`)) continue;
    await store.command(`ALTER TABLE ${table} MODIFY TTL ${ttl(days)}`);
  }
}

const ledgerDdl = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(9, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version`;

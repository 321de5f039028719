/**
 * Cluster DDL: with `CLICKHOUSE_CLUSTER` set, the migrator runs every statement through
 * `clusterTransform(cluster)`, which turns single-server DDL into its cluster form:
 *
 * ```
 * CREATE TABLE IF NOT EXISTS t (…) ENGINE = ReplacingMergeTree(v) ORDER BY k …
 *   → CREATE TABLE IF NOT EXISTS t_local ON CLUSTER c (…) ENGINE = ReplicatedReplacingMergeTree(v) ORDER BY k …;
 *     CREATE TABLE IF NOT EXISTS t ON CLUSTER c AS t_local ENGINE = Distributed(c, currentDatabase(), t_local, <key>)
 * CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT … FROM s
 *   → CREATE MATERIALIZED VIEW IF NOT EXISTS v ON CLUSTER c TO t_local AS SELECT … FROM s_local
 * ALTER TABLE t ADD COLUMN IF NOT EXISTS …
 *   → ALTER TABLE t_local ON CLUSTER c ADD COLUMN IF NOT EXISTS …; ALTER TABLE t ON CLUSTER c ADD COLUMN IF NOT EXISTS …
 * INSERT INTO t SELECT … (a backfill)  → unchanged: it runs once, through the Distributed tables
 * ALTER TABLE t MODIFY SETTING …       → ALTER TABLE t_local ON CLUSTER c MODIFY SETTING … (storage settings live there)
 * ALTER TABLE t MODIFY COLUMN … CODEC(…) → ALTER TABLE t_local ON CLUSTER c MODIFY COLUMN … (codecs live there too)
 * ALTER TABLE t MATERIALIZE COLUMN …   → ALTER TABLE t_local ON CLUSTER c MATERIALIZE COLUMN … (so do the parts)
 * DROP VIEW IF EXISTS v                → DROP VIEW IF EXISTS v ON CLUSTER c
 * DROP TABLE IF EXISTS t               → DROP TABLE IF EXISTS t ON CLUSTER c; DROP TABLE IF EXISTS t_local ON CLUSTER c
 * any statement on a `*_rebuild` table  → none: a table rebuilt by copy and EXCHANGE (a setting that
 *                                         cannot be altered) is rebuilt on a cluster by its operator
 * ```
 *
 * Every table keeps its name for reads and writes (the Distributed table), so queries and inserts
 * are the same in all modes. Replicated engines take their Keeper path and replica name from the
 * servers' `default_replica_path` / `default_replica_name` (deploy/README.md). The sharding key is
 * the flow identity for `flows` (a replayed flow lands on the shard that holds it) and a hash of the
 * sorting key elsewhere, so the rows a ReplacingMergeTree must fold always share a shard.
 * A materialized view fires on the shard-local insert, so it reads and writes the local tables.
 * @module
 */
import { ConfigError } from '../errors.ts';
import type { MigrateOptions } from './migrator.ts';
import { quoteIdent } from './store.ts';

/** Sharding keys that are not the hash of the sorting key. */
const shardingKeys: Readonly<Record<string, string>> = { flows: 'sipHash64(flow_id)' };

/** The local (per-shard, replicated) table behind a Distributed table. */
export const localTable = (name: string): string => `${name}_local`;

const alterAddColumn =
  /^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+(ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s[\s\S]*?);?\s*$/i;
const createTable = /^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/i;
const createMv =
  /^CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s+TO\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+/i;
const rebuild = /\b[A-Za-z_][A-Za-z0-9_]*_rebuild\b/;
const engine =
  /\bENGINE\s*=\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree\b(\s*\()?/i;

/** Strips `-- comment` lines so the patterns see the statement itself. */
function stripComments(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .trim();
}

/** The ORDER BY expression of a MergeTree statement, up to the next clause. */
function orderBy(sql: string): string | undefined {
  const m =
    /\bORDER\s+BY\s+([\s\S]+?)(?=\s+(?:PARTITION\s+BY|PRIMARY\s+KEY|SAMPLE\s+BY|TTL|SETTINGS)\b|\s*$)/i.exec(
      sql,
    );
  return m?.[1]?.trim();
}

/**
 * Returns the statement rewriter for `cluster`. A statement it does not recognise as one of the
 * shapes above throws, so a new kind of migration cannot silently run on one server only.
 */
export function clusterTransform(cluster: string): (statement: string) => string[] {
  const c = quoteIdent(cluster);
  return (statement) => {
    const sql = stripComments(statement);
    if (rebuild.test(sql)) return [];
    const table = createTable.exec(sql);
    if (table) {
      const name = table[1]!;
      const eng = engine.exec(sql);
      if (!eng) throw new ConfigError(`cluster DDL: ${name} does not use a MergeTree engine`);
      const replicated = sql.replace(
        engine,
        (_all, kind: string | undefined, paren: string | undefined) =>
          `ENGINE = Replicated${kind ?? ''}MergeTree${paren ?? ''}`,
      );
      const local = replicated.replace(
        createTable,
        `CREATE TABLE IF NOT EXISTS ${localTable(name)} ON CLUSTER ${c}\n(`,
      );
      const order = orderBy(sql);
      const key = shardingKeys[name] ?? (order ? `sipHash64(${order})` : 'rand()');
      const distributed = `CREATE TABLE IF NOT EXISTS ${name} ON CLUSTER ${c} AS ${localTable(name)} ENGINE = Distributed(${c}, currentDatabase(), ${localTable(name)}, ${key})`;
      return [local, distributed];
    }
    const mv = createMv.exec(sql);
    if (mv) {
      const [prefix, view, to] = mv as unknown as [string, string, string];
      const select = sql
        .slice(prefix.length)
        .replace(/\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)/gi, (_all, t: string) => `FROM ${localTable(t)}`);
      return [
        `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} ON CLUSTER ${c} TO ${localTable(to)} AS ${select}`,
      ];
    }
    // A new column goes to the shards' local tables and to the Distributed table in front of them.
    const alter = alterAddColumn.exec(sql);
    if (alter) {
      const [, name, rest] = alter as unknown as [string, string, string];
      return [
        `ALTER TABLE ${localTable(name)} ON CLUSTER ${c} ${rest}`,
        `ALTER TABLE ${name} ON CLUSTER ${c} ${rest}`,
      ];
    }
    // Storage settings, column codecs and the parts a column is written into live on the local tables.
    const setting =
      /^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+(?=MODIFY\s+(?:SETTING\b|COLUMN\b[\s\S]*\bCODEC\()|MATERIALIZE\s+COLUMN\b)/i.exec(
        sql,
      );
    if (setting) {
      return [`ALTER TABLE ${localTable(setting[1]!)} ON CLUSTER ${c} ${sql.slice(setting[0].length)}`];
    }
    // A dropped view goes from every shard; a dropped table with its shards' local tables.
    const drop = /^DROP\s+(VIEW|TABLE)\s+IF\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*$/i.exec(sql);
    if (drop) {
      const [, kind, name] = drop as unknown as [string, string, string];
      if (kind.toUpperCase() === 'VIEW') return [`DROP VIEW IF EXISTS ${name} ON CLUSTER ${c}`];
      return [
        `DROP TABLE IF EXISTS ${name} ON CLUSTER ${c}`,
        `DROP TABLE IF EXISTS ${localTable(name)} ON CLUSTER ${c}`,
      ];
    }
    // A backfill (INSERT … SELECT) runs once, through the Distributed tables, as written.
    if (/^INSERT\s+INTO\s/i.test(sql)) return [statement];
    throw new ConfigError(`cluster DDL: no cluster form for statement: ${sql.slice(0, 80)}`);
  };
}

/** Migrator options for a cluster (none without one). */
export function clusterMigrateOptions(cluster: string | undefined): MigrateOptions {
  return cluster ? { transform: clusterTransform(cluster) } : {};
}

/**
 * Insert settings for a cluster: the Distributed table forwards an insert to the shards before it
 * returns, so the writer commits Kafka offsets only for rows the shards hold, and a replay's
 * flow_id check sees them.
 */
export function clusterInsertSettings(cluster: string | undefined): Record<string, number> {
  return cluster ? { distributed_foreground_insert: 1 } : {};
}

/**
 * The storage interface every component uses: one small surface over ClickHouse, with two
 * transports (chdb in-process for the embedded product, @clickhouse/client for a server).
 * SQL is the same on both; values are always bound as `{name:Type}` parameters, never spliced.
 *
 * 64-bit integers come back as strings in JSON rows (never lossy JS numbers); DateTime64
 * columns come back as 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn' in UTC.
 * @module
 */

/** Values bound to `{name:Type}` placeholders. */
export type QueryParams = Record<string, unknown>;

/** ClickHouse settings for one statement (limits such as max_execution_time live here). */
export type QuerySettings = Record<string, string | number | boolean>;

export interface QueryOptions {
  params?: QueryParams;
  settings?: QuerySettings;
  /** Cancels the request on the caller's side. */
  signal?: AbortSignal;
}

/**
 * Rows encoded in ClickHouse RowBinary with the given structure, inserted through a SELECT that
 * may filter or transform them (the SELECT reads the rows from the table expression `{input}`).
 */
export interface RowBinaryInsert {
  /** Target table, e.g. `flows`. */
  into: string;
  /** Target column list, e.g. `(time, flow_id, …)`; empty for all columns. */
  columns?: string;
  /** ClickHouse structure of the encoded rows: `time DateTime64(9, 'UTC'), flow_id UUID, …`. */
  structure: string;
  /** A SELECT over `{input}`, e.g. `SELECT * FROM {input} WHERE …`. */
  select: string;
  /**
   * The encoded rows: in memory, or in a local file the caller wrote them to (the embedded sink's
   * batches, so a batch's memory does not grow with its rows: collector/src/writer/batch-file.ts).
   * The file is the caller's: read, never removed.
   */
  data: Uint8Array | RowBinaryFile;
  params?: QueryParams;
  settings?: QuerySettings;
}

/** RowBinary rows in a local file (a path this process can open, e.g. `/proc/self/fd/N`). */
export interface RowBinaryFile {
  path: string;
}

/** Outcome of an insert: how many rows the engine wrote. */
export interface InsertResult {
  written: number;
}

/** A ClickHouse database reached through one transport. */
export interface Store {
  /** Which transport: 'chdb' (embedded) or 'server'. */
  readonly kind: 'chdb' | 'server';
  /** The database every unqualified table name refers to. */
  readonly database: string;
  /** Runs a statement that returns nothing (DDL, INSERT … SELECT). */
  command(sql: string, opts?: QueryOptions): Promise<void>;
  /** Runs a query and returns its rows as objects. */
  query<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): Promise<T[]>;
  /** Streams a query's rows in batches, for exports that must not be buffered whole. */
  queryBatches<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): AsyncIterable<T[]>;
  /** Inserts JSON rows into a table (for small tables: ownership, audit, incidents). */
  insertJson(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /** Inserts RowBinary rows through a SELECT (the bulk path for flows). */
  insertRowBinary(insert: RowBinaryInsert): Promise<InsertResult>;
  /** Releases the connection. */
  close(): Promise<void>;
}

/** Settings pinned on every statement so chdb and a server behave alike. */
export const pinnedSettings: QuerySettings = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_64bit_floats: 0,
  session_timezone: 'UTC',
  date_time_output_format: 'simple',
  input_format_skip_unknown_fields: 0,
  // On a cluster (cluster.ts) a subquery such as `address IN (SELECT address FROM ownership_addresses)`
  // inside a query on the Distributed flows table reads a Distributed table too, which ClickHouse
  // refuses by default (`deny`). `global` runs it once on the initiator and ships the set to the
  // shards, which is also the right answer: `local` would see only each shard's own part of it.
  // Without Distributed tables (chdb, one server) it changes nothing.
  distributed_product_mode: 'global',
};

/** Quotes an identifier such as a database name for DDL (the only place names are spliced). */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse identifier: ${name}`);
  return `\`${name}\``;
}

/** Renders settings as a SETTINGS clause. */
export function settingsClause(settings: QuerySettings): string {
  const parts = Object.entries(settings).map(([k, v]) => {
    if (!/^[a-z_0-9]+$/.test(k)) throw new Error(`invalid ClickHouse setting name: ${k}`);
    const value =
      typeof v === 'string' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : String(Number(v));
    return `${k} = ${value}`;
  });
  return parts.length ? ` SETTINGS ${parts.join(', ')}` : '';
}

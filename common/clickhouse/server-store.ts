/**
 * The server transport: a ClickHouse server (or cluster entry point) over HTTP with
 * @clickhouse/client. Same SQL and parameters as the embedded transport. Inserts have a client
 * (and so a connection pool) of their own: a burst of slow API queries can fill the query pool,
 * and flow inserts must never wait for one of those sockets.
 * @module
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import { parseClickHouseError } from './errors.ts';
import { pinnedSettings, type QueryOptions, quoteIdent, type RowBinaryInsert, type Store } from './store.ts';

/** Connects to the server at `url` (credentials may be in the URL) and uses `database`. */
export async function createServerStore(url: string, database: string): Promise<Store> {
  const admin = createClient({ url, clickhouse_settings: pinnedSettings as never });
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}` });
  } catch (err) {
    throw parseClickHouseError(err, 'CREATE DATABASE');
  } finally {
    await admin.close();
  }
  const client = createClient({
    url,
    database,
    clickhouse_settings: pinnedSettings as never,
    request_timeout: 300_000,
  });
  const inserter = createClient({
    url,
    database,
    clickhouse_settings: pinnedSettings as never,
    request_timeout: 300_000,
  });
  const settingsOf = (opts: QueryOptions) => ({ ...pinnedSettings, ...opts.settings }) as never;

  const store: Store = {
    kind: 'server',
    database,
    async command(sql, opts = {}) {
      try {
        await client.command({
          query: sql,
          query_params: opts.params,
          clickhouse_settings: settingsOf(opts),
          abort_signal: opts.signal,
        });
      } catch (err) {
        throw parseClickHouseError(err, sql);
      }
    },
    async query<T>(sql: string, opts: QueryOptions = {}) {
      try {
        const rs = await client.query({
          query: sql,
          format: 'JSONEachRow',
          query_params: opts.params,
          clickhouse_settings: settingsOf(opts),
          abort_signal: opts.signal,
        });
        return await rs.json<T>();
      } catch (err) {
        throw parseClickHouseError(err, sql);
      }
    },
    async *queryBatches<T>(sql: string, opts: QueryOptions = {}) {
      let rs: Awaited<ReturnType<typeof client.query>>;
      try {
        rs = await client.query({
          query: sql,
          format: 'JSONEachRow',
          query_params: opts.params,
          clickhouse_settings: settingsOf(opts),
          abort_signal: opts.signal,
        });
      } catch (err) {
        throw parseClickHouseError(err, sql);
      }
      for await (const rows of rs.stream()) {
        yield (rows as { json<R>(): R }[]).map((r) => r.json<T>());
      }
    },
    async insertJson(table, rows) {
      if (rows.length === 0) return;
      try {
        await inserter.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow' });
      } catch (err) {
        throw parseClickHouseError(err, `INSERT INTO ${table}`);
      }
    },
    async insertRowBinary(insert: RowBinaryInsert) {
      const input = `input('${insert.structure.replace(/'/g, "\\'")}')`;
      const query = `INSERT INTO ${insert.into} ${insert.columns ?? ''} ${insert.select.replaceAll('{input}', input)} FORMAT RowBinary`;
      const values =
        insert.data instanceof Uint8Array
          ? Readable.from([Buffer.from(insert.data.buffer, insert.data.byteOffset, insert.data.byteLength)])
          : createReadStream(insert.data.path);
      try {
        const res = await inserter.exec({
          query,
          values,
          query_params: insert.params,
          clickhouse_settings: { ...pinnedSettings, ...insert.settings } as never,
        });
        res.stream.resume();
        const summary = res.summary as { written_rows?: string } | undefined;
        return { written: Number(summary?.written_rows ?? 0) };
      } catch (err) {
        throw parseClickHouseError(err, query);
      } finally {
        // A request that failed before reading it leaves the stream open, and with it the batch
        // file's descriptor (its disk blocks, once the batch is closed).
        values.destroy();
      }
    },
    async close() {
      await Promise.all([client.close(), inserter.close()]);
    },
  };
  return store;
}

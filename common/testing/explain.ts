/**
 * The plan ClickHouse would use to read `flows` under a WHERE clause (`EXPLAIN indexes = 1`), as
 * one text: index tests assert which key or index condition it uses, which rows alone cannot show.
 * @module
 */
import type { QueryParams, Store } from '../clickhouse/index.ts';

export async function flowsReadPlan(store: Store, where: string, params: QueryParams): Promise<string> {
  const rows = await store.query<{ explain: string }>(
    `EXPLAIN indexes = 1 SELECT count() FROM flows WHERE ${where}`,
    { params },
  );
  return rows.map((r) => r.explain).join('\n');
}

/**
 * `flowtrail stats [--json]`: stored flow counts by verdict, L4 protocol and L7 protocol.
 * @module
 */

import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

/** The `stats --json` object; names as in Hubble JSON, L7 keys `dns`, `http`, `kafka`. */
export interface FlowStats {
  total: number;
  by_verdict: Record<string, number>;
  by_l4: Record<string, number>;
  by_l7: Record<string, number>;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('stats', argv, { json: { type: 'boolean' } });
  const store = await openStore(storeConfigOf(serviceConfig().env));
  try {
    await migrate(store, { ttlDays: serviceConfig().env.FLOWTRAIL_TTL_DAYS });
    const rows = await store.query<{ dim: string; key: string; n: string }>(
      `SELECT 'verdict' AS dim, toString(verdict) AS key, count() AS n FROM flows GROUP BY verdict
       UNION ALL SELECT 'l4', toString(l4_protocol), count() FROM flows WHERE l4_protocol != 'NONE' GROUP BY l4_protocol
       UNION ALL SELECT 'l7', toString(l7_protocol), count() FROM flows WHERE l7_protocol != 'none' GROUP BY l7_protocol`,
    );
    const stats: FlowStats = { total: 0, by_verdict: {}, by_l4: {}, by_l7: {} };
    for (const r of rows) {
      const n = Number(r.n);
      if (r.dim === 'verdict') {
        stats.total += n;
        stats.by_verdict[r.key] = n;
      } else if (r.dim === 'l4') stats.by_l4[r.key] = n;
      else stats.by_l7[r.key] = n;
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(stats)}\n`);
    } else {
      const fmt = (o: Record<string, number>) =>
        Object.entries(o)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '-';
      process.stdout.write(
        `${stats.total} flows\n  verdict: ${fmt(stats.by_verdict)}\n  l4: ${fmt(stats.by_l4)}\n  l7: ${fmt(stats.by_l7)}\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

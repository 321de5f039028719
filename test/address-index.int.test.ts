/**
 * The address index (migrations/0045 `flows_by_address`, common/filter addressLookupSql) changes which
 * granules a query reads, never its answer: over the real fixture flows, every golden filter, every
 * address filter word on every stored address (and prefixes around them), in windows that cut hours
 * in the middle, and every investigation candidate set select exactly the same flows with and without
 * it. The index is really consulted (EXPLAIN shows the set on the primary key; emptied, the indexed
 * query misses flows), so these comparisons test something.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../common/clickhouse/index.ts';
import { SqlParams } from '../common/clickhouse/sql-params.ts';
import {
  filterSetFromArgs,
  filterSetSql,
  parseFilterSet,
  type SqlTimeRange,
} from '../common/filter/index.ts';
import { flowsReadPlan } from '../common/testing/explain.ts';
import { haveFixtures } from '../common/testing/fixtures.ts';
import { goldenCases } from '../common/testing/hubble-golden.ts';
import { and, or, timeRange } from '../query-api/src/filters/index.ts';
import { type InvestigationRequest, reportMatch } from '../query-api/src/queries/investigations.ts';
import { startTestApi, type TestApi } from '../query-api/src/testing.ts';

const hourNs = 3_600_000_000_000n;

describe.runIf(haveFixtures)('address index: same answers with and without it', () => {
  let api: TestApi;
  let store: Store;
  let full: SqlTimeRange;
  let addresses: string[];

  const ids = async (where: string, params: Record<string, unknown>) =>
    (
      await store.query<{ id: string }>(
        `SELECT lower(hex(flow_id)) AS id FROM flows WHERE ${where} ORDER BY id`,
        {
          params,
        },
      )
    ).map((r) => r.id);

  /** The flows a filter selects in `range`, through the index or not. */
  const select = (args: string[], range: SqlTimeRange, indexed: boolean) => {
    const p = new SqlParams();
    const { whitelist, blacklist } = parseFilterSet(filterSetFromArgs(args).set);
    const where = and([
      timeRange(p, range.sinceNs, range.untilNs),
      filterSetSql(p, whitelist, blacklist, indexed ? { addressIndex: range } : {}),
    ]);
    return { where, params: p.values };
  };
  /** Compares; returns whether the index took part (the SQL differs). */
  const same = async (args: string[], range: SqlTimeRange) => {
    const a = select(args, range, true);
    const b = select(args, range, false);
    expect(await ids(a.where, a.params), args.join(' ')).toEqual(await ids(b.where, b.params));
    return a.where !== b.where;
  };

  /** Windows over the data: all of it, and two hours cut mid-hour around its busiest hour. */
  let busiestHourNs: bigint;
  const windows = () => {
    const min = hourNs / 60n;
    return [
      full,
      { sinceNs: busiestHourNs + 17n * min, untilNs: busiestHourNs + 77n * min },
      { sinceNs: busiestHourNs - 43n * min, untilNs: busiestHourNs + 17n * min },
    ];
  };

  beforeAll(async () => {
    api = await startTestApi();
    store = api.store;
    const [t] = await store.query<{ lo: string; hi: string }>(
      'SELECT toString(toUnixTimestamp64Nano(min(time))) AS lo, toString(toUnixTimestamp64Nano(max(time))) AS hi FROM flows',
    );
    full = { sinceNs: BigInt(t!.lo), untilNs: BigInt(t!.hi) + 1n };
    const [h] = await store.query<{ h: string }>(
      'SELECT toString(toUnixTimestamp(toStartOfHour(time))) AS h FROM flows GROUP BY h ORDER BY count() DESC, h LIMIT 1',
    );
    busiestHourNs = BigInt(h!.h) * 1_000_000_000n;
    addresses = (
      await store.query<{ text: string }>(
        `SELECT DISTINCT IPv6NumToString(a) AS text FROM flows
         ARRAY JOIN [source_ip, destination_ip, source_xlated] AS a WHERE a != toIPv6('::') ORDER BY text`,
      )
    ).map((r) => r.text.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));
  }, 300_000);
  afterAll(async () => {
    await api?.close();
  });

  it('indexes every destination and post-SNAT address of the stored flows', async () => {
    const [r] = await store.query<{ missing: string; rows: string }>(
      `SELECT count() AS missing, (SELECT count() FROM flows_by_address) AS rows FROM flows
       ARRAY JOIN arrayFilter(a -> a != toIPv6('::'), [destination_ip, source_xlated]) AS a
       WHERE (a, toStartOfHour(time), source_ip) NOT IN (SELECT address, hour, source_ip FROM flows_by_address)`,
    );
    expect(Number(r!.rows)).toBeGreaterThan(0);
    expect(Number(r!.missing)).toBe(0);
  });

  it('indexes every source address in the hours it sent (migrations/0085)', async () => {
    const [r] = await store.query<{ missing: string; sources: string }>(
      `SELECT count() AS missing, (SELECT count() FROM flows_by_address WHERE address = source_ip) AS sources
       FROM flows WHERE source_ip != toIPv6('::')
         AND (source_ip, toStartOfHour(time), source_ip) NOT IN (SELECT address, hour, source_ip FROM flows_by_address)`,
    );
    expect(Number(r!.sources)).toBeGreaterThan(0);
    expect(Number(r!.missing)).toBe(0);
  });

  it('selects the same flows for every golden filter', async () => {
    const cases = goldenCases().filter((c) => c.args.some((a) => /ip/.test(a)));
    expect(cases.length).toBeGreaterThan(0);
    let indexed = 0;
    for (const c of cases) if (await same(c.args, full)) indexed++;
    expect(indexed).toBeGreaterThan(0);
  });

  it('selects the same flows for every address word on every stored address, in every window', async () => {
    expect(addresses.length).toBeGreaterThan(10);
    const v4 = addresses.filter((a) => !a.includes(':'));
    const prefixes = [
      ...new Set(
        v4.flatMap((a) => [
          `${a.split('.').slice(0, 3).join('.')}.0/24`,
          `${a.split('.').slice(0, 2).join('.')}.0.0/16`,
        ]),
      ),
    ];
    const values = [...addresses, ...prefixes, '192.0.2.99'];
    let indexed = 0;
    for (const range of windows()) {
      for (const v of values) {
        for (const args of [
          ['--ip', v],
          ['--snat-ip', v],
          ['--ip', v, '--protocol', 'tcp'],
          ['--to-ip', v, '--not', '--from-ip', v],
        ])
          if (await same(args, range)) indexed++;
      }
    }
    expect(indexed).toBe(windows().length * values.length * 4);
  }, 600_000);

  it('gives every investigation the same candidate flows', async () => {
    const requests: InvestigationRequest[] = [];
    for (const a of addresses) {
      for (const direction of ['any', 'source', 'destination'] as const)
        requests.push({ indicator: a, direction });
      requests.push({ remote: a, direction: 'any' });
    }
    for (let i = 0; i + 1 < addresses.length; i += 7)
      requests.push({ indicator: addresses[i]!, remote: addresses[i + 1]!, direction: 'any' });
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    for (const range of windows()) {
      for (const r of requests) {
        const p = new SqlParams();
        const req = { ...r, since: iso(range.sinceNs), until: iso(range.untilNs + 1_000_000n) };
        const m = reportMatch(p, req, 1n << 62n);
        const plain = and([
          timeRange(p, m.bounds.sinceNs, m.bounds.untilNs),
          or([m.indSrc, m.indX, m.indDst, m.remSrc, m.remDst].filter((c) => c !== '0')),
        ]);
        expect(m.matched).toContain('flows_by_address');
        expect(await ids(m.matched, p.values), JSON.stringify(r)).toEqual(await ids(plain, p.values));
      }
    }
  }, 600_000);

  it('reads through the index: the primary key gets the set, and an emptied index misses flows', async () => {
    const [dst] = await store.query<{ a: string }>(
      `SELECT IPv6NumToString(destination_ip) AS a FROM flows WHERE destination_ip != source_ip
       GROUP BY a ORDER BY count() DESC LIMIT 1`,
    );
    const v = dst!.a.replace(/^::ffff:/, '');
    const q = select(['--ip', v], full, true);
    const plan = await flowsReadPlan(store, q.where, q.params);
    expect(plan).toMatch(/PrimaryKey[\s\S]*Condition:.*in \d+-element set/);
    const before = await ids(q.where, q.params);
    expect(before.length).toBeGreaterThan(0);
    // Destructive: last in this file.
    await store.command('TRUNCATE TABLE flows_by_address');
    const after = await ids(q.where, q.params);
    expect(after.length).toBeLessThan(before.length);
  });
});

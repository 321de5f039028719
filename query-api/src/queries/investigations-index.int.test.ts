/**
 * The investigation reads the address index once, ahead (readAddressKeys), and binds its keys into
 * the candidate set (common/filter addressKeysInSql): over the real fixture flows, every indicator,
 * remote party and pair, in windows that cut hours in the middle, selects exactly the candidates of a
 * scan, read in one WHERE or one address column at a time (candidateFlows). The bound keys really narrow the read (the index holds every end, sources too): with no keys, nothing is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../common/clickhouse/index.ts';
import { SqlParams } from '../../../common/clickhouse/sql-params.ts';
import type { SqlTimeRange } from '../../../common/filter/index.ts';
import { flowsReadPlan } from '../../../common/testing/explain.ts';
import { haveFixtures } from '../../../common/testing/fixtures.ts';
import { and, or, timeRange } from '../filters/index.ts';
import { startTestApi, type TestApi } from '../testing.ts';
import { readAddressKeys } from './address-keys.ts';
import {
  candidateFlows,
  type InvestigationRequest,
  reportAddressKeys,
  reportMatch,
  reportParties,
  runInvestigation,
} from './investigations.ts';

const hourNs = 3_600_000_000_000n;
const maxRangeNs = 1n << 62n;

describe.runIf(haveFixtures)('query-api > queries > investigations through bound address keys', () => {
  let api: TestApi;
  let store: Store;
  let windows: SqlTimeRange[];
  let addresses: string[];

  const ids = async (where: string, params: Record<string, unknown>) =>
    (
      await store.query<{ id: string }>(
        `SELECT lower(hex(flow_id)) AS id FROM flows WHERE ${where} ORDER BY id`,
        { params },
      )
    ).map((r) => r.id);

  beforeAll(async () => {
    api = await startTestApi();
    store = api.store;
    const [t] = await store.query<{ lo: string; hi: string }>(
      'SELECT toString(toUnixTimestamp64Nano(min(time))) AS lo, toString(toUnixTimestamp64Nano(max(time))) AS hi FROM flows',
    );
    const [h] = await store.query<{ h: string }>(
      'SELECT toString(toUnixTimestamp(toStartOfHour(time))) AS h FROM flows GROUP BY h ORDER BY count() DESC, h LIMIT 1',
    );
    const busiest = BigInt(h!.h) * 1_000_000_000n;
    const min = hourNs / 60n;
    windows = [
      { sinceNs: BigInt(t!.lo), untilNs: BigInt(t!.hi) + 1_000_000n },
      { sinceNs: busiest + 17n * min, untilNs: busiest + 77n * min },
      { sinceNs: busiest - 43n * min, untilNs: busiest + 17n * min },
    ];
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

  it('selects the candidates of a scan for every indicator, remote party and pair, in every window', async () => {
    const requests: InvestigationRequest[] = [];
    for (const a of addresses) {
      for (const direction of ['any', 'source', 'destination'] as const)
        requests.push({ indicator: a, direction });
      requests.push({ remote: a, direction: 'any' });
    }
    for (let i = 0; i + 1 < addresses.length; i += 7)
      requests.push({ indicator: addresses[i]!, remote: addresses[i + 1]!, direction: 'any' });
    const v4 = addresses.filter((a) => !a.includes(':'));
    for (const a of v4.slice(0, 5))
      requests.push({ indicator: `${a.split('.').slice(0, 3).join('.')}.0/24`, direction: 'any' });
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    let nonEmpty = 0;
    for (const range of windows) {
      for (const r of requests) {
        const req = { ...r, since: iso(range.sinceNs), until: iso(range.untilNs) };
        const parties = reportParties(req, maxRangeNs);
        const keys = await readAddressKeys(
          { store, settings: {} },
          [parties.ind, parties.rem].filter((x) => x !== undefined),
          parties,
        );
        expect(keys, JSON.stringify(r)).toBeDefined();
        const p = new SqlParams();
        const m = reportMatch(p, req, maxRangeNs, keys);
        expect(m.matched).not.toContain('flows_by_address');
        const plain = and([
          timeRange(p, m.bounds.sinceNs, m.bounds.untilNs),
          or([m.indSrc, m.indX, m.indDst, m.remSrc, m.remDst].filter((c) => c !== '0')),
        ]);
        const want = await ids(plain, p.values);
        expect(await ids(m.matched, p.values), JSON.stringify(req)).toEqual(want);
        // Read one address column at a time (candidateFlows, as the ranking reads them), each flow once.
        const parts = await store.query<{ id: string }>(
          `SELECT lower(hex(flow_id)) AS id FROM ${candidateFlows(m)} ORDER BY id`,
          { params: p.values },
        );
        expect(
          parts.map((r) => r.id),
          JSON.stringify(req),
        ).toEqual(want);
        if (want.length) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(requests.length);
  }, 900_000);

  it('reads the candidates once when no end needs a late owner, twice more only when one does', async () => {
    // Every statement the investigation runs, by a store that records them.
    const seen: string[] = [];
    const recording = new Proxy(store, {
      get(target, key) {
        const v = Reflect.get(target, key);
        if (key !== 'query' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return (sql: string, opts?: unknown) => {
          seen.push(sql);
          return (v as Store['query']).call(target, sql, opts as never);
        };
      },
    }) as Store;
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    const admin = { name: 'test', role: 'admin' as const };
    let once = 0;
    for (const a of addresses.slice(0, 40)) {
      const req = {
        indicator: a,
        direction: 'any' as const,
        since: iso(windows[0]!.sinceNs),
        until: iso(windows[0]!.untilNs),
      };
      seen.length = 0;
      const inv = await runInvestigation({ store: recording, settings: {}, maxRangeNs }, req, admin);
      const rankings = seen.filter((q) => q.includes('AS any_samples')).length;
      const lateReads = seen.filter((q) => / AS src, groupUniqArrayIf/.test(q)).length;
      // Whether a candidate has an end stored as nobody's at an address an allocation held.
      const p = new SqlParams();
      const keys = await reportAddressKeys({ store, settings: {} }, req, maxRangeNs);
      const m = reportMatch(p, req, maxRangeNs, keys);
      const held = "(SELECT address FROM ownership WHERE kind = 'alloc')";
      const [n] = await store.query<{ n: string }>(
        `SELECT count() AS n FROM flows WHERE ${m.matched} AND ((src_source = 'none' AND source_ip IN ${held})
           OR (dst_source = 'none' AND destination_ip IN ${held}))`,
        { params: p.values },
      );
      if (Number(n!.n) === 0) {
        expect([rankings, lateReads], a).toEqual([1, 0]);
        if (inv.accounts.length) once++;
      } else {
        expect([rankings, lateReads], a).toEqual([2, 1]);
      }
    }
    // Late ends and the second read: query-api/src/http/reattribution.int.test.ts (same answers).
    expect(once).toBeGreaterThan(0);
  });

  it('the bound keys narrow the read: without them nothing remains', async () => {
    const [dst] = await store.query<{ a: string }>(
      `SELECT IPv6NumToString(destination_ip) AS a FROM flows WHERE destination_ip != source_ip
       GROUP BY a ORDER BY count() DESC LIMIT 1`,
    );
    const req = {
      indicator: dst!.a.replace(/^::ffff:/, ''),
      direction: 'destination' as const,
      since: new Date(Number(windows[0]!.sinceNs / 1_000_000n)).toISOString(),
      until: new Date(Number(windows[0]!.untilNs / 1_000_000n)).toISOString(),
    };
    const p = new SqlParams();
    const parties = reportParties(req, maxRangeNs);
    const keys = await readAddressKeys({ store, settings: {} }, [parties.ind!], parties);
    expect(keys!.hours.length).toBeGreaterThan(0);
    const bound = reportMatch(p, req, maxRangeNs, keys);
    const plan = await flowsReadPlan(store, bound.matched, p.values);
    expect(plan).toMatch(/PrimaryKey[\s\S]*Condition:.*in \d+-element set/);
    const with_ = await ids(bound.matched, p.values);
    expect(with_.length).toBeGreaterThan(0);
    const q = new SqlParams();
    const none = reportMatch(q, req, maxRangeNs, { hours: [], sources: [] });
    expect(await ids(none.matched, q.values)).toEqual([]);
  });
});

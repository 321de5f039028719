/**
 * Flow listings read fewer granules, never other answers (real chdb, real HTTP on loopback). Three
 * things decide what a listing reads: the hour-bucket bounds added to every time range (filters/
 * time-sql.ts), the hour-aligned windows a time-sorted page is read in (queries/flow-windows.ts),
 * and the statement's own filters bounding the late-owner lookups (filters/late-owner.ts `narrow`).
 * Over flows spread across six hours, with ends stored as nobody's whose owner the ownership table
 * knows (late owners), ends stored with an owner, and ends nobody owns, every page sequence the API
 * returns (followed through its cursors, both orders, several page sizes, admin and tenant tokens)
 * equals an oracle computed in TypeScript from every stored flow and the display attribution
 * (attributeFlowEnds), and the plans show the hour bucket on the primary key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../common/clickhouse/index.ts';
import { writeIntervals } from '../common/ownership/persistence.ts';
import { attributeFlowEnds, type StoredEnd } from '../common/ownership/reattribute.ts';
import { OPEN_END_NS, type OwnerInterval } from '../common/ownership/types.ts';
import { flowsReadPlan } from '../common/testing/explain.ts';
import { formatTimeNs } from '../common/time.ts';
import { SqlParams, timeRange } from '../query-api/src/filters/index.ts';
import { get, startTestApi, type TestApi, testTokens } from '../query-api/src/testing.ts';

const S = 1_000_000_000n;
const H = 3600n * S;
const T0 = 1_704_067_200n * S; // 2024-01-01T00:00:00Z, an hour boundary
const FLOWS = 3000;
/** Flows spread evenly over [T0 + 10 min, T0 + 6 h 10 min). */
const STEP = (6n * H) / BigInt(FLOWS);
const START = T0 + 600n * S;
const pod = (i: number) => `10.9.0.${i}`;
const PODS = 24;
const tenants = ['acme', 'globex', 'initech'];

/**
 * Flow n (received now: retention counts from ingest): source pod n % 24 (or a world address for every 7th), destination a world address, a
 * pod, or (every 5th) the pod `late` ends are about. Pods 0-7 are stored with their owner, pods
 * 8-23 as nobody's (`none`); the ownership table gives pods 8-15 to a tenant over part of the day,
 * so their ends are late owners in that part and nobody's outside it.
 */
function fillSql(): string {
  const src = `if(number % 7 = 3, toIPv6(concat('203.0.113.', toString(number % 50))), toIPv6(concat('10.9.0.', toString(number % ${PODS}))))`;
  const dstPod = `(cityHash64(number) % ${PODS})`;
  const dst = `multiIf(number % 5 = 0, toIPv6('10.9.0.9'), number % 3 = 0, toIPv6(concat('10.9.0.', toString(${dstPod}))), toIPv6(concat('198.51.100.', toString(number % 40))))`;
  const storedTenant = (ip: string) =>
    `if(startsWith(IPv6NumToString(${ip}), '::ffff:10.9.0.') AND toUInt8OrZero(splitByChar('.', IPv6NumToString(${ip}))[4]) < 8, ['acme', 'globex', 'initech'][1 + toUInt8OrZero(splitByChar('.', IPv6NumToString(${ip}))[4]) % 3], '')`;
  return `INSERT INTO flows (time, flow_id, stored_fields, node_name, verdict, drop_reason_desc, type, ip_version, source_ip,
      destination_ip, l4_protocol, destination_port, src_tenant, src_source, dst_tenant, dst_source, ingest_target, received_at)
    SELECT t, MD5(toString(number)), 3, 'k/n1', if(number % 4 = 0, 'DROPPED', 'FORWARDED'),
      if(number % 4 = 0, 'POLICY_DENIED', ''), 'L3_L4', 'IPv4', s, d, 'TCP', 443,
      ${storedTenant('s')}, if(${storedTenant('s')} = '', 'none', 'ownership'),
      ${storedTenant('d')}, if(${storedTenant('d')} = '', 'none', 'ownership'), 'test', now64(9)
    FROM (SELECT number, fromUnixTimestamp64Nano(toInt64(${START} + number * ${STEP}), 'UTC') AS t,
      ${src} AS s, ${dst} AS d FROM numbers(${FLOWS}))`;
}

/** Pods 8-15: tenant by pod, over [T0 + 1 h + pod min, T0 + 4 h) (pod 9 open-ended: most late flows). */
function intervals(): OwnerInterval[] {
  return Array.from({ length: 8 }, (_, k) => {
    const i = 8 + k;
    return {
      address: pod(i),
      kind: 'alloc' as const,
      allocId: `a0000000-0000-0000-0000-0000000000${String(i).padStart(2, '0')}`,
      allocName: `web.web[${i}]`,
      namespace: 'default',
      job: 'web',
      group: 'web',
      nodeId: 'node-1',
      nodeName: 'n1',
      tenant: tenants[i % 3]!,
      account: `acct-${i}`,
      start: T0 + H + BigInt(i) * 60n * S,
      end: i === 9 ? OPEN_END_NS : T0 + 4n * H,
      nomadIndex: BigInt(i),
    };
  });
}

interface OracleRow {
  id: string;
  timeNs: bigint;
  verdict: string;
  src: string;
  dst: string;
  srcTenant: string | undefined;
  dstTenant: string | undefined;
}

describe('listing pruning: same pages as an oracle over every stored flow', () => {
  let api: TestApi;
  let store: Store;
  let all: OracleRow[];

  beforeAll(async () => {
    api = await startTestApi({ ingest: false });
    store = api.store;
    await store.command(fillSql());
    await writeIntervals(store, intervals());
    type Raw = Record<string, string>;
    const rows = await store.query<Raw>(
      `SELECT lower(hex(flow_id)) AS id, toString(toUnixTimestamp64Nano(time)) AS t, toString(verdict) AS verdict,
        replaceOne(IPv6NumToString(source_ip), '::ffff:', '') AS src, replaceOne(IPv6NumToString(destination_ip), '::ffff:', '') AS dst,
        src_tenant, toString(src_source) AS src_source, dst_tenant, toString(dst_source) AS dst_source FROM flows`,
    );
    const end = (r: Raw, e: 'src' | 'dst'): StoredEnd => ({
      ip: r[e]!,
      timeNs: BigInt(r['t']!),
      tenant: r[`${e}_tenant`]!,
      account: '',
      namespace: '',
      job: '',
      group: '',
      allocId: '',
      allocName: '',
      node: '',
      source: r[`${e}_source`] as StoredEnd['source'],
    });
    const owners = await attributeFlowEnds(
      store,
      rows.flatMap((r) => [end(r, 'src'), end(r, 'dst')]),
    );
    all = rows.map((r, i) => ({
      id: r['id']!,
      timeNs: BigInt(r['t']!),
      verdict: r['verdict']!,
      src: r['src']!,
      dst: r['dst']!,
      srcTenant: owners[2 * i]?.tenant,
      dstTenant: owners[2 * i + 1]?.tenant,
    }));
    // The data has what the comparisons need: late owners, and ends nobody owns.
    const late = rows.filter((r, i) => r['src_source'] === 'none' && owners[2 * i]);
    expect(late.length).toBeGreaterThan(100);
    expect(rows.filter((r, i) => r['dst_source'] === 'none' && owners[2 * i + 1]).length).toBeGreaterThan(
      100,
    );
    expect(rows.filter((r, i) => r['src_source'] === 'none' && !owners[2 * i]).length).toBeGreaterThan(100);
  }, 300_000);
  afterAll(async () => {
    await api?.close();
  });

  /** Every page of a listing, following next_cursor; returns the flow ids in order. */
  async function pages(params: string, token: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let n = 0; n < 10_000; n++) {
      const res = await get(
        api,
        `/api/v1/flows?${params}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        token,
      );
      expect(res.status, res.text.slice(0, 300)).toBe(200);
      const body = res.body as { flows: unknown[]; next_cursor: string | null };
      for (const f of body.flows) ids.push(flowIdOf(f));
      cursor = body.next_cursor;
      if (!cursor) return ids;
    }
    throw new Error('too many pages');
  }

  const iso = (ns: bigint) => formatTimeNs(ns);
  const windows = [
    { since: T0, until: T0 + 7n * H },
    { since: T0 + H + 17n * 60n * S, until: T0 + 4n * H + 43n * 60n * S },
    { since: T0 + 2n * H + 5n * 60n * S, until: T0 + 2n * H + 50n * 60n * S },
    // Newest first, its last bucket holds 30 of its 50 minutes: address lookups are split too.
    { since: T0 + 3n * H + 40n * 60n * S, until: T0 + 4n * H + 30n * 60n * S },
  ];

  const cases: {
    description: string;
    params: string;
    token: keyof typeof testTokens;
    match: (r: OracleRow) => boolean;
  }[] = [
    { description: 'everything', params: '', token: 'admin', match: () => true },
    {
      description: "a tenant's dropped flows (late owners included)",
      params: 'tenant=globex&verdict=DROPPED',
      token: 'admin',
      match: (r) => r.verdict === 'DROPPED' && (r.srcTenant === 'globex' || r.dstTenant === 'globex'),
    },
    {
      description: 'a tenant whose late-owned pod is the busiest destination',
      params: 'tenant=acme',
      token: 'admin',
      match: (r) => r.srcTenant === 'acme' || r.dstTenant === 'acme',
    },
    {
      description: "a tenant principal's dropped flows (its scope)",
      params: 'verdict=DROPPED',
      token: 'globex',
      match: (r) => r.verdict === 'DROPPED' && (r.srcTenant === 'globex' || r.dstTenant === 'globex'),
    },
    {
      description: 'a tenant principal, one late-owned pod at either end',
      params: `ip=${pod(9)}`,
      token: 'acme',
      match: (r) =>
        (r.src === pod(9) || r.dst === pod(9)) && (r.srcTenant === 'acme' || r.dstTenant === 'acme'),
    },
    {
      description: 'a tenant principal, a pod at either end',
      params: `ip=${pod(4)}`,
      token: 'globex',
      match: (r) =>
        (r.src === pod(4) || r.dst === pod(4)) && (r.srcTenant === 'globex' || r.dstTenant === 'globex'),
    },
    {
      description: 'one pod at either end',
      params: `ip=${pod(11)}`,
      token: 'admin',
      match: (r) => r.src === pod(11) || r.dst === pod(11),
    },
  ];

  it.each(cases)(
    '$description',
    async ({ params, token, match }) => {
      for (const w of windows) {
        const inRange = all.filter((r) => r.timeNs >= w.since && r.timeNs < w.until && match(r));
        const newest = [...inRange].sort((a, b) =>
          a.timeNs === b.timeNs ? (a.id < b.id ? 1 : -1) : a.timeNs < b.timeNs ? 1 : -1,
        );
        const range = `since=${iso(w.since)}&until=${iso(w.until)}`;
        for (const [order, expected] of [
          ['newest', newest],
          ['oldest', [...newest].reverse()],
        ] as const) {
          for (const limit of [41, 1000]) {
            const got = await pages(
              `${range}&order=${order}&limit=${limit}${params ? `&${params}` : ''}`,
              testTokens[token],
            );
            expect(got, `${params} ${order} ${limit}`).toEqual(expected.map((r) => r.id));
          }
        }
      }
    },
    600_000,
  );

  it('bounds the hour bucket on the primary key, so a range reads only its hours', async () => {
    const p = new SqlParams();
    const where = timeRange(p, T0 + 2n * H + 5n * 60n * S, T0 + 2n * H + 50n * 60n * S);
    const plan = await flowsReadPlan(store, where, p.values);
    expect(plan).toMatch(/PrimaryKey[\s\S]*Keys:\s*\n\s*toStartOfHour\(time\)/);
  });
});

/** The flow id of a JSON page entry (the uuid the API prints is the stored flow_id). */
function flowIdOf(entry: unknown): string {
  const f = entry as { flow?: { uuid?: string } };
  return (f.flow?.uuid ?? '').replace(/-/g, '').toLowerCase();
}

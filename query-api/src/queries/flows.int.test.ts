/**
 * How a flows page reads (queries/flows.ts), over real chdb: which statements run for owner
 * filters (candidates, the exact check of the uncertain rows only, reading on after the last
 * candidate), when the page stays exact, and how an address at either end is read (one statement,
 * one SELECT per whitelist entry; the newest hour bucket first when it holds half of the range). Every statement goes to the real engine; a pass-through records
 * what ran. Same rows as the single exact statement each time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import { engineEvents } from '../../../common/clickhouse/engine-events.ts';
import type { QueryOptions, Store } from '../../../common/clickhouse/index.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { writeIntervals } from '../../../common/ownership/persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from '../../../common/ownership/types.ts';
import { StoredField } from '../../../common/schema/stored-fields.ts';
import type { Principal } from '../auth/principal.ts';
import { decodeCursor, flowQueryToSql, parseFlowQuery, SqlParams, sortColumn } from '../filters/index.ts';
import { type FlowRow, flowRowColumns, rowFlow } from './flow-rows.ts';
import { queryFlowPage, streamFlows } from './flows.ts';

const S = 1_000_000_000n;
const H = 3600n * S;
const T0 = 1_796_000_400n * S; // an hour boundary
const admin: Principal = { name: 'admin', role: 'admin' };
const W = '203.0.113.9'; // a world address: receives, never sends
const A = '10.1.0.2'; // held by t2 while the flows ran, by t1 before: a candidate that fails
const B = '10.1.0.3'; // held by t1 while the flows ran, stored as nobody's: a late owner
const P = '10.1.0.4'; // a pod stored as t1's

/** A flow id (32 hex digits) from a small number. */
const id = (n: number) => n.toString(16).padStart(32, '0');

/**
 * Flows at T0 + 30 min - n s (so n = 1 is the newest): 2 from A and 3 from B, stored as nobody's;
 * the others from P, stored as t1's. Destinations (stored as nobody's): W, except the odd ones of
 * 7..19, which go to B. Flows 4, 6, 9, 12, 15 and 18 are dropped.
 */
const flows: { n: number; src: string; dst: string; srcTenant: string; verdict: string }[] = [
  { n: 1, src: P, dst: W, srcTenant: 't1', verdict: 'FORWARDED' },
  { n: 2, src: A, dst: W, srcTenant: '', verdict: 'FORWARDED' },
  { n: 3, src: B, dst: W, srcTenant: '', verdict: 'FORWARDED' },
  { n: 4, src: P, dst: W, srcTenant: 't1', verdict: 'DROPPED' },
  { n: 5, src: P, dst: W, srcTenant: 't1', verdict: 'FORWARDED' },
  ...Array.from({ length: 15 }, (_, k) => ({
    n: 6 + k,
    src: P,
    dst: k % 2 ? B : W,
    srcTenant: 't1',
    verdict: k % 3 ? 'FORWARDED' : 'DROPPED',
  })),
];

const interval = (address: string, tenant: string, start: bigint, end: bigint, n: number): OwnerInterval => ({
  address,
  kind: 'alloc',
  allocId: `a0000000-0000-0000-0000-00000000000${n}`,
  allocName: `web.web[${n}]`,
  namespace: 'default',
  job: 'web',
  group: 'web',
  nodeId: 'node-1',
  nodeName: 'n1',
  tenant,
  account: `acct-${n}`,
  start,
  end,
  nomadIndex: BigInt(n),
});

describe('query-api > queries > flows page (real chdb)', () => {
  let dir: string;
  let real: Store;
  /** Statements the page ran over `flows` since the last reset, with their options. */
  const seen: { sql: string; opts: QueryOptions }[] = [];
  /** The page's reads of its windows' late addresses (late-end-addresses.ts) since the last reset. */
  const lateReads: { sql: string; opts: QueryOptions; rows: unknown[] }[] = [];
  let store: Store;
  /** Runs once, just before the page's next read of its rows' sparse column groups. */
  let beforeSparseRead: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ft-flows-page-'));
    real = await createChdbStore(dir, 'flows_page');
    await migrate(real);
    const selects = flows.map(
      (f) =>
        `SELECT fromUnixTimestamp64Nano(toInt64(${T0 + 1800n * S - BigInt(f.n) * S}), 'UTC'), unhex('${id(f.n)}'), 3, 'k/n1', ` +
        `'${f.verdict}', 'L3_L4', 'IPv4', toIPv6('${f.src}'), toIPv6('${f.dst}'), 'TCP', 443, ` +
        `'${f.srcTenant}', '${f.srcTenant ? 'ownership' : 'none'}', '', 'none', 'test', now64(9)`,
    );
    await real.command(
      `INSERT INTO flows (time, flow_id, stored_fields, node_name, verdict, type, ip_version, source_ip,
        destination_ip, l4_protocol, destination_port, src_tenant, src_source, dst_tenant, dst_source,
        ingest_target, received_at) ${selects.join(' UNION ALL ')}`,
    );
    await writeIntervals(real, [
      interval(A, 't1', T0 - 10n * H, T0, 1),
      interval(A, 't2', T0, OPEN_END_NS, 2),
      interval(B, 't1', T0, OPEN_END_NS, 3),
    ]);
    // A pass-through to the real store that records what the page runs.
    store = new Proxy(real, {
      get(target, key) {
        const v = Reflect.get(target, key);
        if (key !== 'query' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return async (sql: string, opts: QueryOptions = {}) => {
          const lateRead = sql.includes('FROM flows_unattributed_ends');
          if (!lateRead) seen.push({ sql, opts });
          if (sql.includes('AS sparse_id') && beforeSparseRead) {
            const hook = beforeSparseRead;
            beforeSparseRead = undefined;
            await hook();
          }
          const rows = await (v as Store['query']).call(target, sql, opts);
          if (lateRead) lateReads.push({ sql, opts, rows });
          return rows;
        };
      },
    }) as Store;
  }, 300_000);
  afterAll(async () => {
    await real?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = (extra: Record<string, string>) =>
    parseFlowQuery({
      since: new Date(Number((T0 + 10n * 60n * S) / 1_000_000n)).toISOString(),
      until: new Date(Number((T0 + H - 60n * S) / 1_000_000n)).toISOString(),
      ...extra,
    });

  /** The page, after forgetting earlier statements. */
  const page = async (extra: Record<string, string>, principal = admin) => {
    seen.length = 0;
    lateReads.length = 0;
    return queryFlowPage({ store, settings: {} }, query(extra), principal);
  };

  /** The ids a stream of the query yields (streamFlows), after forgetting earlier statements. */
  const streamed = async (extra: Record<string, string>) => {
    seen.length = 0;
    lateReads.length = 0;
    const ids: string[] = [];
    for await (const batch of streamFlows({ store, settings: {} }, query(extra), admin))
      ids.push(...batch.map((r) => r.id_hex));
    return ids;
  };

  /** The ids of the exact answer: one statement over the whole range, no candidates. */
  const exact = async (extra: Record<string, string>, principal = admin) => {
    const q = query({ ...extra, limit: '1000' });
    const { where, params } = flowQueryToSql(q, principal, new SqlParams());
    const dir = q.order === 'newest' ? 'DESC' : 'ASC';
    const by = q.sort === 'time' ? '' : `${sortColumn(q.sort).expr} ${dir}, `;
    return (
      await real.query<{ id_hex: string }>(
        `SELECT lower(hex(flow_id)) AS id_hex FROM flows WHERE ${where} ORDER BY ${by}time ${dir}, flow_id ${dir}`,
        { params },
      )
    ).map((r) => r.id_hex);
  };

  /** Every page of a listing through its cursors: the ids in order. */
  const allPages = async (extra: Record<string, string>, principal = admin) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const got = await page({ ...extra, ...(cursor ? { cursor } : {}) }, principal);
      ids.push(...got.rows.map((r) => r.id_hex));
      cursor = got.nextCursor;
      if (!cursor) return ids;
    }
    throw new Error('too many pages');
  };

  it('a tenant filter selects candidates: one statement, no late-owner resolution, when the stored owners answer', async () => {
    // The two newest dropped flows (4 and 6, limit 1 asks for one more) are stored as t1's.
    const got = await page({ tenant: 't1', verdict: 'DROPPED', limit: '1' });
    expect(got.rows.map((r) => r.id_hex)).toEqual([id(4)]);
    expect(got.nextCursor).toBeDefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.sql).toContain('AS certain');
    expect(seen[0]!.sql).not.toContain('late_fid');
    expect(got.rows[0]).not.toHaveProperty('certain');
    // The page is materialized lazily up to its size.
    expect(seen[0]!.opts.settings?.['query_plan_max_limit_for_lazy_materialization']).toBe(10);
    expect(await allPages({ tenant: 't1', verdict: 'DROPPED', limit: '1' })).toEqual(
      await exact({ tenant: 't1', verdict: 'DROPPED' }),
    );
  });

  it('checks the uncertain rows exactly, drops those that fail and reads on after the last candidate', async () => {
    const got = await page({ tenant: 't1', limit: '2' });
    // Flow 2 (A, then t2's) fails the exact check, flow 3 (B, t1's late) passes.
    expect(got.rows.map((r) => r.id_hex)).toEqual([id(1), id(3)]);
    expect(got.nextCursor).toBeDefined();
    // 1: candidates 1, 2, 3; 2: the exact clause over flows 2 and 3 only; 3: candidates after flow 3.
    expect(seen).toHaveLength(3);
    expect(seen[0]!.sql).toContain('AS certain');
    expect(seen[1]!.sql).toContain('late_fid');
    expect(Object.values(seen[1]!.opts.params ?? {})).toContainEqual([id(2), id(3)]);
    expect(seen[2]!.sql).toContain('AS certain');
    expect(seen[2]!.sql).toMatch(/\(time, flow_id\) </);
    expect(decodeCursor(got.nextCursor!).flowId).toBe(id(3));
    // Followed through every page, in both orders: the exact answer.
    for (const order of ['newest', 'oldest']) {
      expect(await allPages({ tenant: 't1', limit: '2', order })).toEqual(
        await exact({ tenant: 't1', order }),
      );
    }
    expect(await exact({ tenant: 't1' })).not.toContain(id(2));
    expect(await exact({ tenant: 't1' })).toContain(id(3));
  });

  it('reads exactly when an exclusion names an owner (a superset inside NOT would leave flows out)', async () => {
    const got = await page({ 'not-tenant': 't1' });
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.sql).not.toContain('AS certain');
    expect(seen[0]!.sql).toContain('late_fid');
    // Flow 2 only: A was t2's then; B's flow 3 is t1's late.
    expect(got.rows.map((r) => r.id_hex)).toEqual([id(2)]);
  });

  it('reads candidates for every word a late owner can match (either end or one), exactly for their exclusions and for scope', async () => {
    const words = ['tenant', 'account', 'job', 'alloc'];
    for (const w of words.flatMap((x) => [x, `from-${x}`, `to-${x}`])) {
      await page({ [w]: 't1' });
      expect(seen[0]!.sql, w).toContain('AS certain');
      await page({ [`not-${w}`]: 't1' });
      for (const s of seen) expect(s.sql, `not-${w}`).not.toContain('AS certain');
    }
    await page({ scope: 'world' });
    for (const s of seen) expect(s.sql).not.toContain('AS certain');
    // A candidate word next to an exclusion of another: exact.
    await page({ tenant: 't1', 'not-from-job': 'web' });
    for (const s of seen) expect(s.sql).not.toContain('AS certain');
  });

  it('reads exactly without owner filters (nothing to resolve)', async () => {
    const got = await page({ verdict: 'DROPPED' });
    for (const s of seen) {
      expect(s.sql).not.toContain('AS certain');
      expect(s.sql).not.toContain('late_fid');
    }
    expect(got.rows.map((r) => r.id_hex)).toEqual(await exact({ verdict: 'DROPPED' }));
  });

  it('reads an address at either end in one statement, one SELECT per end, the rows of their OR', async () => {
    for (const [ip, extra] of [
      [W, {}],
      [B, {}],
      [P, {}],
      [B, { order: 'oldest' }],
      [W, { verdict: 'DROPPED' }],
    ] as const) {
      const got = await page({ ip, ...extra });
      expect(seen, ip).toHaveLength(1);
      expect(seen[0]!.sql.match(/FROM flows WHERE/g)).toHaveLength(2);
      expect(seen[0]!.sql).toContain('UNION ALL');
      const want = await exact({ ip, ...extra });
      expect(want.length, ip).toBeGreaterThan(0);
      expect(
        got.rows.map((r) => r.id_hex),
        ip,
      ).toEqual(want);
      // Pages of 3 through their cursors, and sorted by another column: the same rows.
      expect(await allPages({ ip, ...extra, limit: '3' }), ip).toEqual(want);
      const sorted = { ip, ...extra, sort: 'dst_ip' };
      expect(await allPages({ ...sorted, limit: '3' }), ip).toEqual(await exact(sorted));
    }
    // A tenant principal at either end reads candidates in each SELECT, and gets its own flows only.
    const t1: Principal = { name: 't1', role: 'tenant', tenant: 't1' };
    const got = await page({ ip: W }, t1);
    expect(seen[0]!.sql.match(/AS certain/g)).toHaveLength(2);
    expect(got.rows.map((r) => r.id_hex)).toEqual(await exact({ ip: W }, t1));
    expect(got.rows.map((r) => r.id_hex)).not.toContain(id(2));
  });

  it('reads the newest hour bucket of an address lookup first when it holds at least half of the range', async () => {
    // Every flow lies in [T0, T0 + 30 min). The range's newest 40 of its 60 minutes are that bucket.
    const range = {
      since: new Date(Number((T0 - 20n * 60n * S) / 1_000_000n)).toISOString(),
      until: new Date(Number((T0 + 40n * 60n * S) / 1_000_000n)).toISOString(),
    };
    const bound = (i: number) => Object.values(seen[i]!.opts.params ?? {}).map(String);
    // The page fills from the newest bucket: one statement, bounded below by that bucket's start.
    const filled = await page({ ...range, ip: P, limit: '3' });
    expect(seen).toHaveLength(1);
    expect(bound(0)).toContain(T0.toString());
    expect(filled.rows.map((r) => r.id_hex)).toEqual((await exact({ ...range, ip: P })).slice(0, 3));
    // It does not: the rest of the range is read next, and the rows are those of the whole range.
    const all = await page({ ...range, ip: B, limit: '1000' });
    expect(seen).toHaveLength(2);
    expect(bound(1)).toContain((T0 - 20n * 60n * S).toString());
    expect(all.rows.map((r) => r.id_hex)).toEqual(await exact({ ...range, ip: B }));
    // Oldest first, the first bucket holds 20 of the 60 minutes: the range in one statement.
    const oldest = await page({ ...range, ip: B, order: 'oldest', limit: '1000' });
    expect(seen).toHaveLength(1);
    expect(oldest.rows.map((r) => r.id_hex)).toEqual(await exact({ ...range, ip: B, order: 'oldest' }));
  });

  it('reads which addresses of its window could have a late owner first: the late terms look at those only, and drop out when there are none', async () => {
    // The flows' window: A and B (held by allocations) have ends stored as nobody's, W (never held) too.
    const got = await page({ tenant: 't1', limit: '1000' });
    expect(lateReads).toHaveLength(1);
    const late = (lateReads[0]!.rows as { ip: string }[]).map((r) => r.ip).sort();
    expect(late).toEqual([`::ffff:${A}`, `::ffff:${B}`]);
    for (const s of seen) expect(Object.values(s.opts.params ?? {})).toContainEqual(late);
    // That read finds the addresses through its primary key (hour, then address), not by scanning.
    const plan = await real.query<{ explain: string }>(`EXPLAIN indexes = 1 ${lateReads[0]!.sql}`, {
      params: lateReads[0]!.opts.params,
    });
    expect(plan.map((r) => r.explain.trim()).join(' ')).toMatch(/PrimaryKey Keys: hour address Condition/);
    expect(got.rows.map((r) => r.id_hex)).toEqual(await exact({ tenant: 't1' }));

    // Hours later: P (stored as t1's) sends to W, and in the hour after, W sends to B (t1's, stored
    // as nobody's: a late owner).
    const insert = (n: number, at: bigint, src: string, dst: string, srcTenant: string) =>
      real.command(
        `INSERT INTO flows (time, flow_id, stored_fields, node_name, verdict, type, ip_version, source_ip,
          destination_ip, l4_protocol, destination_port, src_tenant, src_source, dst_source, ingest_target, received_at)
         SELECT fromUnixTimestamp64Nano(toInt64(${at}), 'UTC'), unhex('${id(n)}'), 3, 'k/n1', 'FORWARDED', 'L3_L4',
          'IPv4', toIPv6('${src}'), toIPv6('${dst}'), 'TCP', 443, '${srcTenant}', '${srcTenant ? 'ownership' : 'none'}',
          'none', 'test', now64(9)`,
      );
    await insert(900, T0 + 4n * H + 60n * S, P, W, 't1');
    await insert(901, T0 + 5n * H + 60n * S, W, B, '');
    const hour = (h: bigint) => ({
      since: new Date(Number((T0 + h * H) / 1_000_000n)).toISOString(),
      until: new Date(Number((T0 + (h + 1n) * H) / 1_000_000n)).toISOString(),
    });
    // No end of the first hour can have a late owner: the statements read no end's address or source.
    const none = await page({ ...hour(4n), tenant: 't1' });
    expect(lateReads[0]!.rows).toEqual([]);
    for (const s of seen) expect(s.sql).not.toMatch(/_source = 'none'/);
    expect(none.rows.map((r) => r.id_hex)).toEqual([id(900)]);
    expect(await exact({ ...hour(4n), tenant: 't1' })).toEqual([id(900)]);
    // The second hour's late end is found through its address, as a tenant's scope finds it too.
    const t1: Principal = { name: 't1', role: 'tenant', tenant: 't1' };
    for (const principal of [admin, t1]) {
      const lateOne = await page({ ...hour(5n), tenant: 't1' }, principal);
      expect(lateReads[0]!.rows).toEqual([{ ip: `::ffff:${B}` }]);
      expect(lateOne.rows.map((r) => r.id_hex)).toEqual([id(901)]);
    }
    // An exclusion reads exactly, over those addresses too: the late owner leaves the flow out.
    expect((await page({ ...hour(5n), 'not-tenant': 't1' })).rows).toEqual([]);
    expect(lateReads[0]!.rows).toEqual([{ ip: `::ffff:${B}` }]);
    expect((await page({ ...hour(5n), 'not-tenant': 't2' })).rows.map((r) => r.id_hex)).toEqual([id(901)]);
    // A stream (NDJSON, CSV, `flowtrail flows`) reads its range's late addresses the same way.
    expect(await streamed({ ...hour(4n), tenant: 't1' })).toEqual([id(900)]);
    expect(await streamed({ ...hour(5n), tenant: 't1' })).toEqual([id(901)]);
    expect(lateReads.map((r) => r.rows)).toEqual([[{ ip: `::ffff:${B}` }]]);
    // What decides is that table: without the hour's row the page leaves the late terms out.
    await real.command(
      `ALTER TABLE flows_unattributed_ends DELETE WHERE hour = toDateTime({h:Int64}, 'UTC')`,
      {
        params: { h: Number((T0 + 5n * H) / S) },
        settings: { mutations_sync: 1 },
      },
    );
    expect((await page({ ...hour(5n), tenant: 't1' })).rows).toEqual([]);
    expect(await streamed({ ...hour(5n), tenant: 't1' })).toEqual([]);
    expect(await exact({ ...hour(5n), tenant: 't1' })).toEqual([id(901)]);
  });

  it('reads the mostly empty column groups only for the rows that have them, and leaves out a row deleted before that read', async () => {
    // Hour 7: a DNS flow (910), a plain one (911) and one with an interface (912), newest last.
    const at = T0 + 7n * H;
    const row = (
      n: number,
      s: number,
      stored: number,
      l7: string,
      dns: string,
      iface: string,
      index: number,
    ) =>
      `SELECT fromUnixTimestamp64Nano(toInt64(${at + BigInt(s) * S}), 'UTC'), unhex('${id(n)}'), ${stored}, 'k/n1',
        'FORWARDED', 'L3_L4', 'IPv4', toIPv6('${P}'), toIPv6('${W}'), 'UDP', 53, '${l7}', '${dns}', '${iface}', ${index},
        'none', 'none', 'test', now64(9)`;
    await real.command(
      `INSERT INTO flows (time, flow_id, stored_fields, node_name, verdict, type, ip_version, source_ip, destination_ip,
        l4_protocol, destination_port, l7_protocol, dns_query, interface_name, interface_index, src_source, dst_source,
        ingest_target, received_at)
       ${row(910, 1, 3 | StoredField.l7, 'dns', 'a.example.', '', 0)} UNION ALL
       ${row(911, 2, 3, 'none', '', '', 0)} UNION ALL
       ${row(912, 3, 3 | StoredField.interface, 'none', '', 'eth0', 2)}`,
    );
    const hour7 = {
      since: new Date(Number(at / 1_000_000n)).toISOString(),
      until: new Date(Number((at + H) / 1_000_000n)).toISOString(),
    };
    const got = await page(hour7);
    expect(got.rows.map((r) => r.id_hex)).toEqual([id(912), id(911), id(910)]);
    // One read of the groups, for the two rows that have any.
    const sparse = seen.filter((s) => s.sql.includes('AS sparse_id'));
    expect(sparse).toHaveLength(1);
    expect(Object.values(sparse[0]!.opts.params ?? {})).toContainEqual([id(912), id(910)]);
    expect(got.rows[1]).not.toHaveProperty('r_dns_query');
    // Each row gives the same Flow as when read with every column.
    const whole = await real.query<FlowRow>(
      `SELECT ${flowRowColumns} FROM flows WHERE toStartOfHour(time) = toStartOfHour(fromUnixTimestamp64Nano(toInt64(${at}), 'UTC'))
       ORDER BY time DESC`,
    );
    expect(got.rows.map((r) => rowFlow(r))).toEqual(whole.map((r) => rowFlow(r)));
    expect(rowFlow(got.rows[2]!).l7?.dns?.query).toBe('a.example.');
    expect(rowFlow(got.rows[0]!).interface).toEqual({ name: 'eth0', index: 2 });

    // 912 is deleted after the page read its rows, before it read their groups: it is left out.
    beforeSparseRead = () => real.command(`DELETE FROM flows WHERE flow_id = unhex('${id(912)}')`);
    const after = await page(hour7);
    expect(beforeSparseRead).toBeUndefined();
    expect(after.rows.map((r) => r.id_hex)).toEqual([id(911), id(910)]);
    expect(rowFlow(after.rows[1]!).l7?.dns?.query).toBe('a.example.');
  });

  it('reads an address that never sent, at either end, in the granules `to-ip` reads, fewer than their OR', async () => {
    // Two hours later: 1,000 pods sending 100 flows each over an hour, in two parts (both hold every
    // pod's hour), and three flows to V, all in the first part.
    const V = '203.0.113.77';
    const base = T0 + 2n * H;
    const bulk = (part: number) =>
      `INSERT INTO flows (time, flow_id, stored_fields, node_name, verdict, type, ip_version, source_ip,
        destination_ip, l4_protocol, destination_port, src_tenant, src_source, dst_source, ingest_target, received_at)
       SELECT fromUnixTimestamp64Nano(toInt64(${base} + intDiv(number, 1000) * 36000000000 + number % 1000), 'UTC'),
         MD5(concat('bulk', toString(number))), 3, 'k/n1', 'FORWARDED', 'L3_L4', 'IPv4',
         toIPv6(concat('10.2.', toString(intDiv(number % 1000, 250)), '.', toString(number % 250))),
         if(number IN (2, 50004, 99006), toIPv6('${V}'), toIPv6('198.51.100.1')), 'TCP', 443, 't1', 'ownership',
         'none', 'test', now64(9)
       FROM numbers(100000) WHERE number % 2 = ${part}`;
    await real.command(bulk(0));
    await real.command(bulk(1));
    const range = {
      since: new Date(Number(base / 1_000_000n)).toISOString(),
      until: new Date(Number((base + H) / 1_000_000n)).toISOString(),
    };
    const marks = async (run: () => Promise<unknown>) => {
      const before = await engineEvents(real, ['SelectedMarks']);
      await run();
      return (await engineEvents(real, ['SelectedMarks'])).SelectedMarks - before.SelectedMarks;
    };
    const pageOf = (extra: Record<string, string>) => () =>
      queryFlowPage({ store: real, settings: {} }, parseFlowQuery({ ...range, ...extra }), admin);
    const either = await marks(pageOf({ ip: V }));
    const to = await marks(pageOf({ 'to-ip': V }));
    // Their OR in one SELECT (how the page read before).
    const q = parseFlowQuery({ ...range, ip: V });
    const { where, params } = flowQueryToSql(q, admin, new SqlParams());
    const ored = await marks(() => real.query(`SELECT flow_id FROM flows WHERE ${where}`, { params }));
    expect(either).toBe(to);
    expect(either).toBeLessThan(ored);
    expect((await pageOf({ ip: V })()).rows).toHaveLength(3);
  });

  it('reads a single source entry as it is (one SELECT)', async () => {
    const got = await page({ 'from-ip': P });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.sql).toContain('FROM flows WHERE');
    expect(seen[0]!.sql).not.toContain('UNION ALL');
    expect(got.rows.map((r) => r.id_hex)).toEqual(await exact({ 'from-ip': P }));
  });
});

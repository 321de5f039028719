/**
 * One truth (issue 13): every aggregate the minute rollups can answer gives the same answer read
 * from a rollup and from `flows` (real chdb, real HTTP on loopback, the Hubble fixtures plus flows
 * stored before their owner was known), for an operator and for tenant principals (owner fields
 * masked), before and after the late-owner correction moves counts in the rollups. And the
 * planner: which table answers is in `source`, a rollup only when the question allows it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import {
  hourRollupTables,
  rollupBucket,
  rollupDimensions,
  rollupTables,
  sourcePeersRollup,
} from '../../../common/clickhouse/rollups.ts';
import { unattributed } from '../../../common/flow/attribution.ts';
import { correctLateOwners } from '../../../common/ownership/correct.ts';
import { writeIntervals } from '../../../common/ownership/persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from '../../../common/ownership/types.ts';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, unknown>;
const S = 1_000_000_000n;
const M = 60n * S;
const LATE = '10.77.0.5';
let api: TestApi;
let range = '';
let ragged = '';
/** At least 12 h, on no whole hour: hourly rollups answer it rounded out to whole hours. */
let long = '';
/** Three hours, on no whole hour: too short to round out to whole hours. */
let hours3 = '';
let t0 = 0n;

/** A Hubble JSON line for a late flow (its owner arrives after it is stored). */
function line(t: bigint, src: string, dst: string, port: number, verdict: string): string {
  const time = formatTimeNs(t);
  return JSON.stringify({
    flow: {
      time,
      uuid: `00000000-0000-4000-8000-${String(port).padStart(12, '0')}`,
      verdict,
      ...(verdict === 'DROPPED' ? { drop_reason_desc: 'POLICY_DENIED' } : {}),
      IP: { source: src, destination: dst, ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000 + port, destination_port: port } },
      Type: 'L3_L4',
      node_name: 'k/n1',
      event_type: { type: 4 },
      traffic_direction: 'EGRESS',
    },
    node_name: 'k/n1',
    time,
  });
}

const interval = (o: Partial<OwnerInterval>): OwnerInterval => ({
  address: LATE,
  kind: 'alloc',
  allocId: '',
  allocName: '',
  namespace: 'default',
  job: '',
  group: 'web',
  nodeId: 'node-1',
  nodeName: 'n1',
  tenant: '',
  account: '',
  start: 0n,
  end: OPEN_END_NS,
  nomadIndex: 1n,
  ...o,
});

async function answer(p: string, token: string, source?: 'rollup' | 'flows', r0 = range): Promise<J> {
  const r = await get(api, `${p}&${r0}${source ? `&source=${source}` : ''}`, token);
  expect(r.status, `${p} ${source}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as J;
}

/** Both tables give the same answer, each saying which it was. */
async function sameBothWays(p: string, token: string, r = range) {
  const rollup = await answer(p, token, 'rollup', r);
  const flows = await answer(p, token, 'flows', r);
  expect(rollup['source']).toBe('rollup');
  expect(flows['source']).toBe('flows');
  const { source: _r, ...a } = rollup;
  const { source: _f, ...b } = flows;
  expect(a, `${p} as ${token}`).toEqual(b);
  return a;
}

/**
 * An hourly rollup's answer over `long` (rounded out to whole hours, echoed as since/until) is the
 * one `flows` gives over the range it echoes.
 */
async function sameOverHours(p: string, token: string) {
  const rollup = await answer(p, token, undefined, long);
  expect(rollup['source'], `${p} as ${token}`).toBe('rollup');
  const since = String(rollup['since']);
  const until = String(rollup['until']);
  expect(since).toMatch(/T\d\d:00:00(\.0+)?Z$/);
  expect(until).toMatch(/T\d\d:00:00(\.0+)?Z$/);
  const flows = await answer(p, token, 'flows', `since=${since}&until=${until}`);
  const { source: _r, ...a } = rollup;
  const { source: _f, ...b } = flows;
  expect(a, `${p} as ${token}`).toEqual(b);
  return a;
}

/** Questions the hourly rollups answer (0080: sources ranked by a count; 0081/0082: tenant summaries). */
const hourQuestions = (hourStep: string) => [
  '/api/v1/top?by=source',
  '/api/v1/top?by=source&metric=drops&n=3',
  '/api/v1/top?by=source&n=100',
  // Filters on the hourly table's columns: the peers and ports states (0120) are kept per verdict.
  '/api/v1/top?by=source&verdict=DROPPED',
  '/api/v1/top?by=source&verdict=FORWARDED&n=3',
  `/api/v1/top?by=source&from-ip=${LATE}`,
  '/api/v1/tenants/acme/summary?',
  '/api/v1/tenants/globex/summary?',
  // Counts over time by source address: the hourly table too, at a step of whole hours.
  `/api/v1/timeseries?by=verdict&step=${hourStep}&from-ip=${LATE}`,
  `/api/v1/visualize?dimensions=verdict&step=${hourStep}&from-ip=${LATE}`,
];

/** Every question a rollup can answer (the step is filled in from the data's range). */
const questions = (step: string) => [
  `/api/v1/timeseries?by=verdict&step=${step}`,
  `/api/v1/timeseries?by=drop_reason&step=${step}`,
  `/api/v1/timeseries?by=tenant&step=${step}`,
  `/api/v1/timeseries?by=scope&step=${step}`,
  `/api/v1/timeseries?by=tenant&step=${step}&verdict=DROPPED`,
  `/api/v1/visualize?dimensions=src_tenant,verdict&step=${step}`,
  `/api/v1/visualize?dimensions=dst_namespace,dst_job&step=${step}`,
  `/api/v1/visualize?dimensions=node,l7_protocol&step=${step}`,
  `/api/v1/visualize?dimensions=src_alloc,dst_port,drop_reason&n=50&step=${step}`,
  `/api/v1/visualize?dimensions=src_account,dst_account,dst_scope&step=${step}&to-port=53&to-port=80`,
  `/api/v1/visualize?dimensions=verdict&step=${step}&protocol=udp`,
];
/** The same with owner filters (matched late at query time on `flows`). */
const ownerQuestions = (step: string) => [
  `/api/v1/timeseries?by=verdict&step=${step}&tenant=acme`,
  `/api/v1/visualize?dimensions=src_job,dst_tenant&step=${step}&job=web`,
];

let step = '60s';
/** `step` in whole hours (at least 1 h): a step the hourly rollups can answer. */
const hourStep = () => `${Math.ceil(Number(step.slice(0, -1)) / 60)}h`;

describeWithFixtures('query-api > http > aggregates from the rollups', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ft-rollup-'));
    api = await startTestApi({ dataDir: path.join(dir, 'chdb') });
    const [first] = await api.store.query<{ t: string }>(
      'SELECT toString(toUnixTimestamp64Nano(min(time))) AS t FROM flows',
    );
    t0 = (BigInt(first!.t) / M) * M;
    // Late flows next to the fixtures: stored unattributed, owned by acme then globex.
    const file = path.join(dir, 'late.json');
    const late = [
      line(t0 + 20n * S, LATE, '8.8.8.8', 1020, 'FORWARDED'),
      line(t0 + 30n * S, '10.99.0.1', LATE, 1030, 'DROPPED'),
      line(t0 + 95n * S, LATE, '8.8.8.8', 1090, 'FORWARDED'),
      line(t0 + 150n * S, LATE, '10.244.1.7', 1150, 'DROPPED'),
    ];
    writeFileSync(file, `${late.join('\n')}\n`);
    await ingestFiles({
      store: api.store,
      files: [file],
      attribute: () => ({ source: { ...unattributed }, destination: { ...unattributed }, conflict: '' }),
    });
    await writeIntervals(api.store, [
      interval({
        allocId: 'aaaaaaaa-1111-0000-0000-000000000001',
        allocName: 'web.web[0]',
        job: 'web',
        tenant: 'acme',
        account: 'acme-9',
        start: t0,
        end: t0 + 60n * S,
      }),
      interval({
        allocId: 'bbbbbbbb-2222-0000-0000-000000000002',
        allocName: 'miner.web[0]',
        job: 'miner',
        tenant: 'globex',
        account: 'globex-9',
        start: t0 + 60n * S,
        nomadIndex: 2n,
      }),
    ]);
    const [last] = await api.store.query<{ t: string }>(
      'SELECT toString(toUnixTimestamp64Nano(max(time))) AS t FROM flows',
    );
    const until = (BigInt(last!.t) / M + 2n) * M;
    range = `since=${formatTimeNs(t0)}&until=${formatTimeNs(until)}`;
    // Ragged at both ends: the late flows at 20 s and 30 s fall in the first edge, the last flow in the other.
    const raggedUntil = BigInt(last!.t) + 1n;
    expect(raggedUntil % M).not.toBe(0n);
    ragged = `since=${formatTimeNs(t0 + S)}&until=${formatTimeNs(raggedUntil)}`;
    hours3 = `since=${formatTimeNs(t0 + S)}&until=${formatTimeNs(t0 + 3n * 3600n * S + S)}`;
    long = `since=${formatTimeNs(t0 - 7n * 3600n * S + 13n * S)}&until=${formatTimeNs(raggedUntil + 6n * 3600n * S)}`;
    // At most 1,000 buckets, a whole number of minutes each.
    step = `${Math.max(1, Math.ceil(Number((until - t0) / M) / 1000))}m`;
  });
  afterAll(async () => api?.close());

  it('stores in each rollup exactly the columns common/clickhouse/rollups.ts lists, typed as in flows', async () => {
    // The planner and the correction job read the list; the migrations write the tables: they must agree.
    const cols = await api.store.query<{ table: string; name: string; type: string }>(
      'SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY name',
    );
    const typeIn = (table: string, name: string) =>
      cols.find((c) => c.table === table && c.name === name)?.type;
    for (const t of [...rollupTables, ...hourRollupTables]) {
      const dims = rollupDimensions(t);
      const stored = cols.filter((c) => c.table === t.name).map((c) => c.name);
      expect(stored, t.name).toEqual(['flows', rollupBucket(t), 'time', ...dims].sort());
      for (const d of dims) expect(typeIn(t.name, d), `${t.name}.${d}`).toBe(typeIn('flows', d));
    }
    // The peers and ports states beside flows_hour_source (0120): its dimensions, and states of
    // `uniq` over the flows columns they count.
    const peers = sourcePeersRollup;
    const stored = cols.filter((c) => c.table === peers.name).map((c) => c.name);
    expect(stored).toEqual(
      ['hour', 'time', ...peers.dimensions, ...Object.keys(peers.states), peers.latest].sort(),
    );
    for (const d of peers.dimensions) expect(typeIn(peers.name, d), d).toBe(typeIn('flows', d));
    for (const [state, fn] of Object.entries(peers.states)) {
      const [, agg, col] = /^(\w+)\((\w+)\)$/.exec(fn)!;
      expect(typeIn(peers.name, state), state).toBe(`AggregateFunction(${agg}, ${typeIn('flows', col!)})`);
    }
  });

  it('answers from a rollup when the question allows it, else from flows, and says which', async () => {
    const ts = `/api/v1/timeseries?by=verdict&step=${step}`;
    expect((await answer(ts, testTokens.admin))['source']).toBe('rollup');
    const viz = await answer(`/api/v1/visualize?dimensions=dst_job,node&step=${step}`, testTokens.admin);
    expect(viz['source']).toBe('rollup');
    // Ragged edges: the rollup's whole minutes plus the edges from flows.
    expect((await answer(ts, testTokens.admin, undefined, ragged))['source']).toBe('rollup');
    // Less than a whole minute, a step of seconds, a column no rollup has: flows.
    const short = `since=${formatTimeNs(t0 + S)}&until=${formatTimeNs(t0 + 50n * S)}`;
    expect((await answer(ts.replace(step, '1m'), testTokens.admin, undefined, short))['source']).toBe(
      'flows',
    );
    const seconds = `/api/v1/timeseries?by=verdict&step=${Number(step.slice(0, -1)) * 60 + 30}s`;
    expect((await answer(seconds, testTokens.admin))['source']).toBe('flows');
    for (const p of [
      `/api/v1/visualize?dimensions=remote_24&step=${step}`,
      `/api/v1/timeseries?by=verdict&step=${step}&from-namespace=default`,
      `/api/v1/timeseries?by=verdict&step=${step}&ip=8.8.8.8`,
      '/api/v1/top?by=tenant',
      '/api/v1/tenants/acme/summary?',
      '/api/v1/topology?edges=10',
    ]) {
      expect((await answer(p, testTokens.admin, undefined, hours3))['source'], p).toBe('flows');
      // Forcing a rollup that cannot answer is refused, naming what is missing.
      const forced = await get(api, `${p}&${hours3}&source=rollup`, testTokens.admin);
      expect(forced.status, p).toBe(400);
      expect(JSON.stringify(forced.body)).toMatch(/no rollup has/);
    }
  });

  it('gives the same answers from a rollup and from flows before any correction', async () => {
    let nonEmpty = 0;
    for (const p of questions(step)) {
      const a = await sameBothWays(p, testTokens.admin);
      if (JSON.stringify(a).includes('"flows":')) nonEmpty++;
      // A tenant's late flows are not corrected yet: whatever table the planner takes, the answer
      // is the one `flows` gives.
      for (const token of [testTokens.acme, testTokens.globex]) {
        const { source: _p, ...planned } = await answer(p, token);
        const { source: _f, ...flows } = await answer(p, token, 'flows');
        expect(planned, `${p} as ${token}`).toEqual(flows);
      }
    }
    expect(nonEmpty).toBe(questions(step).length);
    // Over a range not on whole minutes at either end.
    for (const p of questions(step)) await sameBothWays(p, testTokens.admin, ragged);
    // The operator's answers include the late flows, unattributed, before any correction.
    const a = await sameBothWays(
      `/api/v1/visualize?dimensions=dst_port,src_tenant&n=50&step=${step}&to-port=1020`,
      testTokens.admin,
    );
    expect(a['top']).toEqual([{ key: ['1020', ''], flows: 1, drops: 0 }]);
  });

  it('answers top sources and tenant summaries from the hourly rollups over long ranges, as flows does', async () => {
    let nonEmpty = 0;
    for (const p of hourQuestions(hourStep())) {
      const a = await sameOverHours(p, testTokens.admin);
      if (JSON.stringify(a).includes('"flows":') && !JSON.stringify(a).includes('"flows":0,')) nonEmpty++;
    }
    expect(nonEmpty).toBe(hourQuestions(hourStep()).length);
    // The winners' peers and ports come from the hourly states, their owner from their last hour.
    const items = (await sameOverHours('/api/v1/top?by=source&n=100', testTokens.admin))['items'] as J[];
    expect(items.some((i) => Number(i['peers']) > 1 && Number(i['ports']) > 1)).toBe(true);
    expect(items.some((i) => i['tenant'] !== '')).toBe(true);
    // A tenant's own summary (its scope holds all of its rows); not another tenant's.
    await sameOverHours('/api/v1/tenants/acme/summary?', testTokens.acme);
    // Short or filtered questions, a tenant's top sources and other rankings: flows, the range asked.
    for (const [p, r] of [
      ['/api/v1/top?by=source', hours3],
      ['/api/v1/tenants/acme/summary?', hours3],
      ['/api/v1/top?by=source&metric=peers', long],
      ['/api/v1/top?by=destination', long],
      ['/api/v1/top?by=source&verdict=DROPPED&tenant=acme', long],
      ['/api/v1/tenants/acme/summary?verdict=DROPPED', long],
    ] as const) {
      const a = await answer(p, testTokens.admin, undefined, r);
      expect(a['source'], p).toBe('flows');
      expect(`since=${a['since']}&until=${a['until']}`, p).toBe(r);
    }
    expect((await answer('/api/v1/top?by=source', testTokens.acme, undefined, long))['source']).toBe('flows');
  });

  it('answers from flows while late owners a tenant would see are not corrected yet', async () => {
    // Before the correction, acme's scope on `flows` holds the late flows its allocation sent
    // (re-attributed at query time); the rollup does not have them yet: the planner reads flows.
    const p = `/api/v1/visualize?dimensions=verdict&step=${step}`;
    const planned = await answer(p, testTokens.acme);
    expect(planned['source']).toBe('flows');
    const { source: _p, ...a } = planned;
    const { source: _f, ...b } = await answer(p, testTokens.acme, 'flows');
    expect(a).toEqual(b);
    const forced = await answer(p, testTokens.acme, 'rollup');
    expect(forced['totals']).not.toEqual(b['totals']);
    // An operator's question without owner filters does not depend on late owners.
    expect((await answer(p, testTokens.admin))['source']).toBe('rollup');
    // With owner filters, kept or left out, it does: the planned answer is the one `flows` gives.
    for (const q of [`${p}&tenant=acme`, `${p}&not-tenant=acme`, `${p}&not-to-job=web`]) {
      const { source: _q, ...x } = await answer(q, testTokens.admin);
      const { source: _y, ...y } = await answer(q, testTokens.admin, 'flows');
      expect(x, q).toEqual(y);
    }
  });

  it('still gives the same answers after the late-owner correction moved counts between owners', async () => {
    const report = await correctLateOwners(api.store);
    expect(report.src + report.dst).toBeGreaterThan(0);
    for (const token of [testTokens.admin, testTokens.acme, testTokens.globex]) {
      for (const p of questions(step)) await sameBothWays(p, token);
      // And the planner is back on the rollup: nothing late is pending.
      expect((await answer(questions(step)[0]!, token))['source']).toBe('rollup');
    }
    for (const token of [testTokens.admin, testTokens.acme]) {
      for (const p of ownerQuestions(step)) await sameBothWays(p, token);
      for (const p of [...questions(step).slice(0, 3), ...ownerQuestions(step)])
        await sameBothWays(p, token, ragged);
    }
    // The late flows now count for their owners in the rollup: acme's at 20 s (out) and 30 s (in),
    // globex's later ones; masked for the other tenant.
    const acme = await sameBothWays(
      `/api/v1/visualize?dimensions=src_tenant,src_account,dst_port&n=50&step=${step}&to-port=1020&to-port=1090`,
      testTokens.acme,
    );
    expect(acme['top']).toEqual([{ key: ['acme', 'acme-9', '1020'], flows: 1, drops: 0 }]);
    const admin = await sameBothWays(
      `/api/v1/visualize?dimensions=src_tenant,src_job,dst_port&n=50&step=${step}&to-port=1020&to-port=1090`,
      testTokens.admin,
    );
    expect(admin['top']).toEqual([
      { key: ['acme', 'web', '1020'], flows: 1, drops: 0 },
      { key: ['globex', 'miner', '1090'], flows: 1, drops: 0 },
    ]);
    // The hourly per-tenant tables moved too: the late flows now count in acme's and globex's summaries.
    for (const token of [testTokens.admin, testTokens.acme])
      await sameOverHours('/api/v1/tenants/acme/summary?', token);
    await sameOverHours('/api/v1/tenants/globex/summary?', testTokens.admin);
    for (const p of hourQuestions(hourStep()).slice(0, 3)) await sameOverHours(p, testTokens.admin);
    // A second run changes nothing.
    const again = await correctLateOwners(api.store);
    expect(again.src + again.dst).toBe(0);
    await sameBothWays(`/api/v1/timeseries?by=tenant&step=${step}`, testTokens.admin);
  });
});

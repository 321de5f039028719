/**
 * Query-time re-attribution through the HTTP API (real chdb, real HTTP on loopback): flows are
 * stored before anybody owns their addresses (source `none`), the ownership intervals arrive
 * afterwards, and the flows API, its filters, the tenant scope and investigations must all see
 * the owner at each flow's instant, with the interval.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { unattributed } from '../../../common/flow/attribution.ts';
import { writeIntervals } from '../../../common/ownership/persistence.ts';
import { OPEN_END_NS, type OwnerInterval } from '../../../common/ownership/types.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { get, post, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, any>;
const S = 1_000_000_000n;
const T0 = 1_704_067_200_000_000_000n; // 2024-01-01T00:00:00Z
const at = (s: number) => T0 + BigInt(s) * S;
const range = `since=${formatTimeNs(at(0))}&until=${formatTimeNs(at(1000))}`;
const HELD = '10.77.0.5';

/** A Hubble JSON line (the shape `hubble observe -o json` prints). */
function line(t: bigint, src: string, dst: string, port: number): string {
  const time = formatTimeNs(t);
  return JSON.stringify({
    flow: {
      time,
      uuid: `00000000-0000-4000-8000-${String(port).padStart(12, '0')}`,
      verdict: 'FORWARDED',
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

// HELD belongs to acme's alloc-a over [10 s, 60 s), nobody over [60 s, 70 s), globex's alloc-b
// from 70 s on (still open). Each flow's destination port names it.
const flows = [
  { port: 1020, t: at(20), src: HELD, dst: '8.8.8.8', owner: 'acme' },
  { port: 1030, t: at(30), src: '10.99.0.1', dst: HELD, owner: 'acme' },
  { port: 1065, t: at(65), src: HELD, dst: '8.8.8.8', owner: null },
  { port: 1090, t: at(90), src: HELD, dst: '8.8.8.8', owner: 'globex' },
] as const;

const interval = (o: Partial<OwnerInterval>): OwnerInterval => ({
  address: HELD,
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
const allocA = interval({
  allocId: 'aaaaaaaa-1111-0000-0000-000000000001',
  allocName: 'web.web[0]',
  job: 'web',
  tenant: 'acme',
  account: 'acme-9',
  start: at(10),
  end: at(60),
});
const allocB = interval({
  allocId: 'bbbbbbbb-2222-0000-0000-000000000002',
  allocName: 'miner.web[0]',
  job: 'miner',
  tenant: 'globex',
  account: 'globex-9',
  start: at(70),
  nomadIndex: 2n,
});

let api: TestApi;
const portOf = (f: J) => f['flow']['l4']['TCP']['destination_port'] as number;
const ports = (fs: J[]) => fs.map(portOf).sort();
async function flowsJson(query: string, token: string = testTokens.admin): Promise<J[]> {
  const r = await get(api, `/api/v1/flows?${range}&order=oldest&${query}`, token);
  expect(r.status).toBe(200);
  return (r.body as J)['flows'] as J[];
}

describe('query-api > http > query-time re-attribution', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ft-reattr-'));
    api = await startTestApi({ ingest: false, dataDir: path.join(dir, 'chdb') });
    const file = path.join(dir, 'flows.json');
    writeFileSync(file, `${flows.map((f) => line(f.t, f.src, f.dst, f.port)).join('\n')}\n`);
    // Stored before the owner is known: both ends unattributed.
    await ingestFiles({
      store: api.store,
      files: [file],
      attribute: () => ({ source: { ...unattributed }, destination: { ...unattributed }, conflict: '' }),
    });
    const stored = await api.store.query<{ s: string; n: string }>(
      'SELECT toString(src_source) AS s, toString(count()) AS n FROM flows GROUP BY s',
    );
    expect(stored).toEqual([{ s: 'none', n: '4' }]);
    // The Nomad history arrives afterwards.
    await writeIntervals(api.store, [allocA, allocB]);
  });
  afterAll(async () => api?.close());

  const ownerA = {
    tenant: 'acme',
    account: 'acme-9',
    namespace: 'default',
    job: 'web',
    group: 'web',
    alloc_id: allocA.allocId,
    alloc_name: allocA.allocName,
    node: 'n1',
    start: formatTimeNs(at(10)),
    end: formatTimeNs(at(60)),
    source: 'ownership',
  };
  const ownerB = {
    ...ownerA,
    tenant: 'globex',
    account: 'globex-9',
    job: 'miner',
    alloc_id: allocB.allocId,
    alloc_name: allocB.allocName,
    start: formatTimeNs(at(70)),
    end: null,
  };

  it('JSON and NDJSON pages attribute late owners at each instant, with the interval', async () => {
    const json = await flowsJson('');
    expect(json.map((f) => [portOf(f), f['attribution']])).toEqual([
      [1020, { source: ownerA, destination: null }],
      [1030, { source: null, destination: ownerA }],
      [1065, { source: null, destination: null }],
      [1090, { source: ownerB, destination: null }],
    ]);
    const nd = await get(api, `/api/v1/flows?${range}&order=oldest&format=ndjson`, testTokens.admin);
    expect(nd.status).toBe(200);
    const lines = nd.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as J);
    expect(lines).toEqual(json);
  });

  it('CSV carries the late owner and its interval', async () => {
    const r = await get(api, `/api/v1/flows?${range}&order=oldest&format=csv`, testTokens.admin);
    const [head, ...rows] = r.text.trim().split('\r\n');
    const cols = head!.split(',');
    const rec = rows.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
    expect(
      rec.map((x) => [x['destination_port'], x['src_tenant'], x['src_source'], x['src_start'], x['src_end']]),
    ).toEqual([
      ['1020', 'acme', 'ownership', formatTimeNs(at(10)), formatTimeNs(at(60))],
      ['1030', '', 'none', '', ''],
      ['1065', '', 'none', '', ''],
      ['1090', 'globex', 'ownership', formatTimeNs(at(70)), ''],
    ]);
    expect(rec[1]!['dst_alloc_id']).toBe(allocA.allocId);
  });

  it('tenant, account, job and alloc filters find flows stored before the owner was known', async () => {
    expect(ports(await flowsJson('tenant=acme'))).toEqual([1020, 1030]);
    expect(ports(await flowsJson('tenant=globex'))).toEqual([1090]);
    expect(ports(await flowsJson('tenant=acme&tenant=globex'))).toEqual([1020, 1030, 1090]);
    expect(ports(await flowsJson('account=globex-9'))).toEqual([1090]);
    expect(ports(await flowsJson('job=web'))).toEqual([1020, 1030]);
    expect(ports(await flowsJson('alloc=bbbbbbbb-2222'))).toEqual([1090]);
    expect(ports(await flowsJson('alloc=web.web[0]'))).toEqual([1020, 1030]);
    expect(await flowsJson('tenant=initech')).toEqual([]);
    // The time range still bounds the answer.
    const r = await get(
      api,
      `/api/v1/flows?since=${formatTimeNs(at(25))}&until=${formatTimeNs(at(1000))}&tenant=acme`,
      testTokens.admin,
    );
    expect(ports((r.body as J)['flows'])).toEqual([1030]);
    // Aggregates filter the same way (their group keys are still the stored columns).
    const top = await get(api, `/api/v1/top?${range}&by=port&tenant=acme`, testTokens.admin);
    expect(top.status).toBe(200);
    expect(JSON.stringify(top.body)).toContain('1020');
    expect(JSON.stringify(top.body)).not.toContain('1090');
  });

  it("a tenant token sees its late-attributed flows and not another tenant's", async () => {
    const acme = await flowsJson('', testTokens.acme);
    expect(ports(acme)).toEqual([1020, 1030]);
    expect(acme.find((f) => portOf(f) === 1020)!['attribution']).toEqual({
      source: ownerA,
      destination: null,
    });
    const globex = await flowsJson('', testTokens.globex);
    expect(ports(globex)).toEqual([1090]);
    expect(globex[0]!['attribution']).toEqual({ source: ownerB, destination: null });
    expect((await get(api, `/api/v1/flows?${range}&tenant=acme`, testTokens.globex)).status).toBe(403);
    const csv = await get(api, `/api/v1/flows?${range}&format=csv`, testTokens.globex);
    expect(csv.text).not.toContain('acme');
  });

  it('investigations rank late owners, with sample flows equal to the stored flows', async () => {
    const r = await post(
      api,
      '/api/v1/investigations',
      { indicator: HELD, since: formatTimeNs(at(0)), until: formatTimeNs(at(1000)) },
      testTokens.investigator,
    );
    expect(r.status).toBe(201);
    const accounts = r.body['accounts'] as J[];
    const row = (a: J) => [
      a['tenant'],
      a['account'],
      a['allocations'][0]['alloc_id'],
      a['flows'],
      a['source'],
    ];
    expect(accounts.map(row)).toEqual([
      ['acme', 'acme-9', allocA.allocId, 2, 'ownership'],
      ['', '', '', 1, 'none'],
      ['globex', 'globex-9', allocB.allocId, 1, 'ownership'],
    ]);
    const stored = new Map((await flowsJson('')).map((f) => [portOf(f), f]));
    for (const a of accounts) {
      const samples = a['samples'] as J[];
      expect(samples.length).toBe(a['flows']);
      for (const s of samples) expect(s).toEqual(stored.get(portOf(s)));
    }
    const mine = await post(
      api,
      '/api/v1/investigations',
      { indicator: HELD, since: formatTimeNs(at(0)), until: formatTimeNs(at(1000)) },
      testTokens.globex,
    );
    expect((mine.body['accounts'] as J[]).map((a) => [a['tenant'], a['flows']])).toEqual([['globex', 1]]);
    expect(JSON.stringify(mine.body)).not.toContain('acme');
  });

  it('an address nobody owned stays unattributed', async () => {
    const r = await flowsJson('ip=10.99.0.1');
    expect(r.map((f) => f['attribution']['source'])).toEqual([null]);
    expect(ports(await flowsJson('ip=8.8.8.8'))).toEqual([1020, 1065, 1090]);
    for (const f of await flowsJson('ip=8.8.8.8')) expect(f['attribution']['destination']).toBeNull();
  });
});

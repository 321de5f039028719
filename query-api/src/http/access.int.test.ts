import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import { flowFilterNames } from '../filters/index.ts';
import { get, post, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, unknown>;
const range = 'since=2000-01-01T00:00:00Z&until=2030-01-01T00:00:00Z';
const acmeNets = ['10.244.0.', '10.156.2.'];
const isAcme = (ip: unknown) => typeof ip === 'string' && acmeNets.some((n) => ip.startsWith(n));
let api: TestApi;
let adminCase: string;

describeWithFixtures('query-api > http > access, tenant scope, audit, validation', () => {
  beforeAll(async () => {
    api = await startTestApi();
    const r = await post(
      api,
      '/api/v1/investigations',
      { indicator: '10.244.1.0/24', since: '2000-01-01T00:00:00Z', until: '2030-01-01T00:00:00Z' },
      testTokens.admin,
    );
    expect(r.status).toBe(201);
    adminCase = r.body['id'] as string;
  });
  afterAll(async () => api?.close());

  it('rejects missing and unknown tokens with 401, accepts Basic name:token', async () => {
    expect((await get(api, `/api/v1/flows?${range}`)).status).toBe(401);
    expect((await get(api, `/api/v1/flows?${range}`, 'nope')).status).toBe(401);
    const basic = Buffer.from(`acme:${testTokens.acme}`).toString('base64');
    const r = await get(api, '/api/v1/whoami', undefined, { authorization: `Basic ${basic}` });
    expect(r.body).toEqual({ name: 'acme', role: 'tenant', tenant: 'acme' });
  });

  it('enforces roles', async () => {
    expect((await get(api, '/api/v1/audit', testTokens.investigator)).status).toBe(403);
    expect((await get(api, '/api/v1/attribution?ip=10.0.0.1', testTokens.acme)).status).toBe(403);
    expect(
      (
        await post(
          api,
          '/api/v1/investigations',
          { indicator: '10.0.0.1', since: '-1h', until: 'now' },
          testTokens.sre,
        )
      ).status,
    ).toBe(403);
  });

  it('a tenant token sees only flows where its tenant owns an end, and no other tenant name', async () => {
    const mine = await get(api, `/api/v1/flows?${range}&format=ndjson&limit=100000`, testTokens.acme);
    const lines = mine.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { flow: { IP?: J } });
    expect(lines.length).toBeGreaterThan(100);
    for (const l of lines)
      expect(isAcme(l.flow.IP?.['source']) || isAcme(l.flow.IP?.['destination'])).toBe(true);
    expect(mine.text).not.toContain('globex');
    const admin = await get(
      api,
      `/api/v1/flows?${range}&tenant=acme&format=ndjson&limit=100000`,
      testTokens.admin,
    );
    expect(lines.length).toBe(admin.text.split('\n').filter(Boolean).length);
    // Asking for the other tenant's flows yields nothing: its addresses match none of ours,
    // and naming it as a tenant filter is refused (it would say which peers belong to it).
    const other = await get(
      api,
      `/api/v1/flows?${range}&to-ip=10.244.1.0/24&from-ip=10.244.1.0/24`,
      testTokens.acme,
    );
    expect((other.body as J)['count']).toBe(0);
    expect((await get(api, `/api/v1/flows?${range}&tenant=globex`, testTokens.acme)).status).toBe(403);
  });

  it('a tenant token sees no other tenant through summary, timeseries, top, topology, investigations, export', async () => {
    expect((await get(api, `/api/v1/tenants/globex/summary?${range}`, testTokens.acme)).status).toBe(403);
    const own = await get(api, `/api/v1/tenants/acme/summary?${range}`, testTokens.acme);
    expect(own.status).toBe(200);
    expect((own.body as J)['flows']).toBeGreaterThan(0);
    for (const path of [
      `/api/v1/timeseries?${range}&by=tenant&step=3650d`,
      `/api/v1/top?${range}&by=tenant`,
      `/api/v1/top?${range}&by=source`,
      `/api/v1/top?${range}&by=destination&metric=peers`,
      `/api/v1/topology?${range}`,
    ]) {
      const r = await get(api, path, testTokens.acme);
      expect(r.status, path).toBe(200);
      expect(r.text, path).not.toContain('globex');
    }
    const inv = await post(
      api,
      '/api/v1/investigations',
      { indicator: '10.244.1.0/24', since: '2000-01-01T00:00:00Z', until: '2030-01-01T00:00:00Z' },
      testTokens.acme,
    );
    expect(inv.status).toBe(201);
    expect(JSON.stringify(inv.body)).not.toContain('globex');
    const exp = await get(api, `/api/v1/investigations/${inv.body['id']}/export?format=csv`, testTokens.acme);
    expect(exp.status).toBe(200);
    expect(exp.text).not.toContain('globex');
    // The admin's case (which names globex) is invisible to the tenant.
    expect((await get(api, `/api/v1/investigations/${adminCase}`, testTokens.acme)).status).toBe(404);
    expect((await get(api, `/api/v1/investigations/${adminCase}/export`, testTokens.acme)).status).toBe(404);
  });

  it('investigations rank the owners behind an indicator, are saved and exported', async () => {
    const r = await get(api, `/api/v1/investigations/${adminCase}`, testTokens.investigator);
    expect(r.status).toBe(200);
    const accounts = (r.body as { accounts: J[] }).accounts;
    expect(accounts[0]).toMatchObject({ tenant: 'globex', account: 'globex-1', source: 'ownership' });
    expect((accounts[0]!['allocations'] as J[])[0]).toMatchObject({ job: 'api' });
    expect((accounts[0]!['samples'] as J[]).length).toBeGreaterThan(0);
    const csv = await get(
      api,
      `/api/v1/investigations/${adminCase}/export?format=csv`,
      testTokens.investigator,
    );
    expect(csv.text.split('\r\n')[0]).toMatch(/^rank,tenant,account,alloc_id,alloc_name,job,node,/);
    expect(csv.text).toContain('1,globex,globex-1,bbbbbbbb-0000-0000-0000-000000000001,api.app[0],api');
  });

  it('writes audit rows with token name, role, parameters, row count and outcome', async () => {
    await get(api, `/api/v1/flows?${range}&verdict=DROPPED`, testTokens.sre);
    await get(api, '/api/v1/flows?limit=0', testTokens.sre);
    await api.auditLog.flush();
    const r = await get(api, '/api/v1/audit?token=sre&since=-1h', testTokens.admin);
    expect(r.status).toBe(200);
    const entries = (r.body as { entries: J[] }).entries;
    const ok = entries.find((e) => e['outcome'] === 'ok' && e['action'] === 'flows');
    expect(ok).toMatchObject({ token_name: 'sre', role: 'sre', transport: 'http', status: 200 });
    expect(Number(ok?.['rows'])).toBe(2);
    expect(JSON.parse(ok?.['parameters'] as string)).toMatchObject({ verdict: 'DROPPED' });
    expect(entries.find((e) => e['outcome'] === 'invalid')).toMatchObject({ status: 400 });
    const all = await get(api, '/api/v1/audit?since=-1h&limit=1000', testTokens.admin);
    const actions = new Set((all.body as { entries: J[] }).entries.map((e) => e['action']));
    for (const a of ['flows', 'investigation.create', 'investigation.get', 'investigation.export'])
      expect(actions).toContain(a);
    expect(JSON.stringify(all.body)).not.toContain(testTokens.acme);
  });

  it.each([
    { query: 'ip=10.0.0.300', param: 'ip' },
    { query: 'from-ip=10.0.0.0/33', param: 'from-ip' },
    { query: 'port=70000', param: 'port' },
    { query: 'protocol=carrier-pigeon', param: 'protocol' },
    { query: 'verdict=MAYBE', param: 'verdict' },
    { query: 'type=nonsense', param: 'type' },
    { query: 'label=a=b=c(', param: 'label' },
    { query: 'http-path=(unclosed', param: 'http-path' },
    { query: 'since=yesterday-ish', param: 'since' },
    { query: 'since=now&until=-1h', param: 'since' },
    { query: 'limit=0', param: 'limit' },
    { query: 'limit=99999999', param: 'limit' },
    { query: 'cursor=bm90LWEtY3Vyc29y', param: 'cursor' },
    { query: 'order=sideways', param: 'order' },
    { query: 'colour=blue', param: 'colour' },
    { query: 'verdict=DROPPED&verdict[x]=1', param: 'verdict[x]' },
  ])('400 naming $param for $query', async ({ query, param }) => {
    const r = await get(api, `/api/v1/flows?${query}`, testTokens.admin);
    expect(r.status, r.text).toBe(400);
    expect((r.body as { error: J }).error).toMatchObject({ status: 400, param });
    expect(String((r.body as { error: J }).error['message'])).toContain(param);
  });

  const attacks = [
    "' OR 1=1 --",
    "x'); DROP TABLE flows; --",
    '{p0:String}',
    "\\' OR sleep(3) OR '",
    '%',
    '*',
    '../../etc/passwd',
    '1 UNION SELECT * FROM system.users',
  ];
  it.each(flowFilterNames.flatMap((name) => attacks.map((value) => ({ name, value }))))(
    'injection in $name is a 400 or no rows: $value',
    async ({ name, value }) => {
      const r = await get(
        api,
        `/api/v1/flows?${range}&${name}=${encodeURIComponent(value)}`,
        testTokens.admin,
      );
      expect([200, 400], r.text).toContain(r.status);
      if (r.status === 200)
        expect(['node', 'node-name'].includes(name) && value === '*' ? 0 : (r.body as J)['count']).toBe(0);
    },
  );

  it('injection in path, body and other parameters never reaches ClickHouse as SQL', async () => {
    const bad = encodeURIComponent("acme' OR '1'='1");
    expect((await get(api, `/api/v1/tenants/${bad}/summary?${range}`, testTokens.admin)).body).toMatchObject({
      flows: 0,
    });
    expect((await get(api, `/api/v1/investigations/${bad}`, testTokens.admin)).status).toBe(400);
    expect((await get(api, `/api/v1/audit?token=${bad}`, testTokens.admin)).status).toBe(200);
    expect((await get(api, `/api/v1/attribution?ip=${bad}`, testTokens.admin)).status).toBe(400);
    const inv = await post(
      api,
      '/api/v1/investigations',
      { indicator: "1.2.3.4' OR 1=1", since: '-1h', until: 'now' },
      testTokens.admin,
    );
    expect(inv.status).toBe(400);
    expect(inv.body['error']).toMatchObject({ param: 'indicator' });
    expect((await get(api, `/api/v1/timeseries?${range}&step=${bad}`, testTokens.admin)).status).toBe(400);
    expect((await get(api, `/api/v1/top?${range}&by=${bad}`, testTokens.admin)).status).toBe(400);
  });

  it('serves health, readiness and the OpenAPI document without a token; metrics to admin/sre', async () => {
    expect((await get(api, '/healthz')).status).toBe(200);
    expect((await get(api, '/readyz')).body).toMatchObject({ status: 'ready' });
    expect((await get(api, '/metrics')).status).toBe(401);
    const m = await get(api, '/metrics', testTokens.sre);
    expect(m.text).toContain('flowtrail_api_http_requests_total');
    expect(m.text).toContain('flowtrail_api_http_request_duration_seconds_bucket');
    const doc = (await get(api, '/api/v1/openapi.json')).body as {
      openapi: string;
      paths: Record<string, { get?: { parameters: J[] } }>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const names = doc.paths['/api/v1/flows']!.get!.parameters.map((p) => p['name']);
    for (const n of [...flowFilterNames, 'since', 'until', 'limit', 'cursor', 'order', 'format'])
      expect(names).toContain(n);
  });
});

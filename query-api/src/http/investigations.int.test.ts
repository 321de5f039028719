/**
 * Report-shaped investigations over the demo (real chdb, real HTTP on loopback): an abuse report
 * names our post-SNAT egress address, the victim, a port and a time ± tolerance; the account
 * behind the planted port scan must rank first, whether the report gives all of it, only the
 * victim, or (the old single-field shape) the victim as the indicator (issue 12 item 5: the
 * owners of OUR end are ranked, and the case says which end was attributed).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticPopulation } from '../../../collector/src/generator/population.ts';
import { verifyBundle } from '../../../common/evidence/bundle.ts';
import { readTar } from '../../../common/evidence/tar.ts';
import { repoRoot } from '../../../common/testing/fixtures.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { demoInterval, ingestDemoTraffic, ms2ns } from '../../../test/demo-traffic.ts';
import { get, post, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, any>;
const run = promisify(execFile);
let api: TestApi;
const population = createStaticPopulation();
const endpoints = population.endpoints();
// The scanner and a neighbour of another tenant on the same node (so they share the SNAT address).
const actor = endpoints.find((e) => e.tenant === 'initech')!;
const neighbour = endpoints.find((e) => e.node === actor.node && e.tenant !== actor.tenant)!;
const intervals = endpoints.map((ep, i) => demoInterval(ep, i, Date.now() - 3 * 3_600_000));
const actorAlloc = intervals[endpoints.indexOf(actor)]!;
const sinceMs = Date.now() - 40 * 60_000;
const scanMinute = 12;
const hmacKey = 'evidence-test-key-0123456789abcdef0123';
let scan: { snat: string; victim: string; port: number; atNs: bigint };

const report = (body: J, token: string = testTokens.investigator) =>
  post(api, '/api/v1/investigations', body, token);

describe('query-api > http > investigations shaped like abuse reports', () => {
  beforeAll(async () => {
    api = await startTestApi({
      ingest: false,
      config: {
        api: {
          limits: { maxRangeHours: 24 * 365 * 100, maxUnboundedRangeHours: 24 * 365 * 100 },
          followPollMs: 100,
          evidence: { keyId: 'test-key', hmacKey: hmacKey },
        },
      },
    });
    await ingestDemoTraffic(api.store, {
      dir: mkdtempSync(path.join(tmpdir(), 'ft-inv-')),
      population,
      intervals,
      sinceMs,
      minutes: 30,
      abuse: (m) =>
        m === scanMinute
          ? [
              ['port-scan', actor.ip],
              ['smtp-egress', neighbour.ip],
            ]
          : m === scanMinute + 1
            ? [['address-scan', neighbour.ip]]
            : [],
    });
    // What the victim saw: the scanner's flows to the scanned host, SNATed to the node's address.
    const range = `since=${formatTimeNs(ms2ns(sinceMs))}&until=now`;
    const r = await get(
      api,
      `/api/v1/flows?${range}&from-ip=${actor.ip}&to-ip=203.0.113.200/29&to-ip=203.0.113.208/28&to-ip=203.0.113.224/27&format=ndjson&limit=1000`,
      testTokens.admin,
    );
    const flows = r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { flow: J }).flow)
      .filter((f) => f['l4']?.['TCP']?.['destination_port'] === 22 || f['l4']?.['TCP']);
    expect(flows.length).toBeGreaterThan(10);
    const f = flows.find((x) => x['l4']['TCP']['destination_port'] === 22) ?? flows[0]!;
    expect(f['IP']['source_xlated']).toMatch(/^192\.0\.2\./);
    scan = {
      snat: f['IP']['source_xlated'],
      victim: f['IP']['destination'],
      port: f['l4']['TCP']['destination_port'],
      atNs: BigInt(Date.parse(f['time'])) * 1_000_000n,
    };
  }, 180_000);
  afterAll(async () => api?.close());

  const at = () => formatTimeNs(scan.atNs + 40_000_000_000n); // the report is 40 s off

  it('SNAT address + victim + port + ±2 min ranks the scanning account first, with its allocation', async () => {
    const r = await report({
      indicator: scan.snat,
      remote: scan.victim,
      port: scan.port,
      protocol: 'tcp',
      at: at(),
      tolerance: 120,
    });
    expect(r.status).toBe(201);
    const accounts = r.body['accounts'] as J[];
    expect(accounts[0]).toMatchObject({
      rank: 1,
      tenant: actor.tenant,
      account: actor.account,
      // Labels and ownership agree on the demo; the RST replies come back to the scanner, so
      // its end is the destination of some matching flows.
      source: 'label',
    });
    expect(accounts[0]!['attributed_flows']['source']).toBeGreaterThan(0);
    expect(accounts[0]!['full_match_flows']).toBeGreaterThan(0);
    expect(accounts[0]!['allocations'][0]).toMatchObject({
      alloc_id: actorAlloc.allocId,
      alloc_name: actorAlloc.allocName,
      job: actor.job,
      node: actor.node,
    });
    // Nobody else matches the whole report; the node's other tenants share the SNAT address only.
    for (const a of accounts.slice(1)) expect(a['full_match_flows']).toBe(0);
    expect(r.body['indicator_side']).toBe('ours');
    const sample = accounts[0]!['samples'][0] as J;
    expect(sample['flow']['IP']['source_xlated']).toBe(scan.snat);
    expect(sample['flow']['IP']['destination']).toBe(scan.victim);
  });

  it('the SNAT address alone lists every tenant on the node; the report fields decide the order', async () => {
    const all = await report({ indicator: scan.snat, at: at(), tolerance: 120 });
    const tenants = new Set((all.body['accounts'] as J[]).map((a) => a['tenant']));
    expect(tenants.has(neighbour.tenant)).toBe(true);
    expect(tenants.has(actor.tenant)).toBe(true);
  });

  it('the victim alone (as remote) ranks the scanning account first', async () => {
    const r = await report({ remote: scan.victim, at: at(), tolerance: 120 });
    expect(r.status).toBe(201);
    const accounts = r.body['accounts'] as J[];
    expect(accounts[0]).toMatchObject({
      tenant: actor.tenant,
      account: actor.account,
    });
    expect(accounts[0]!['allocations'][0]['alloc_id']).toBe(actorAlloc.allocId);
  });

  it('an indicator outside our address space (the victim) ranks the owners of the other end', async () => {
    const r = await report({ indicator: scan.victim, port: scan.port, at: at(), tolerance: 120 });
    expect(r.status).toBe(201);
    expect(r.body['indicator_side']).toBe('outside');
    const accounts = r.body['accounts'] as J[];
    expect(accounts[0]).toMatchObject({
      tenant: actor.tenant,
      account: actor.account,
    });
    expect(accounts.some((a) => a['tenant'] === '' && a['account'] === '')).toBe(false);
  });

  it('a window that misses the scan finds nothing of it', async () => {
    const r = await report({
      indicator: scan.snat,
      remote: scan.victim,
      at: formatTimeNs(scan.atNs - 600_000_000_000n),
      tolerance: 60,
    });
    expect(r.status).toBe(201);
    for (const a of r.body['accounts'] as J[]) expect(a['full_match_flows']).toBe(0);
  });

  it('the CSV export carries the request, the creator and the date, one line per allocation', async () => {
    const r = await report({ indicator: scan.snat, remote: scan.victim, port: scan.port, at: at() });
    const csv = await get(
      api,
      `/api/v1/investigations/${r.body['id']}/export?format=csv`,
      testTokens.investigator,
    );
    const [head, first] = csv.text.split('\r\n');
    expect(head).toContain('rank,tenant,account,alloc_id,alloc_name,job,node');
    expect(head).toContain('case_id,created_by,created_at,indicator,remote,port');
    expect(first).toContain(`1,${actor.tenant},${actor.account},${actorAlloc.allocId}`);
    expect(first).toContain(`investigator`);
    expect(first).toContain(`${scan.snat},${scan.victim},${scan.port}`);
  });

  it('activity of the scanning allocation lists the victim among its peers, aggregated by port', async () => {
    const win = `since=${formatTimeNs(scan.atNs - 3_600_000_000_000n)}&until=${formatTimeNs(scan.atNs + 3_600_000_000_000n)}`;
    const r = await get(api, `/api/v1/activity?alloc=${actorAlloc.allocId}&${win}`, testTokens.investigator);
    expect(r.status).toBe(200);
    const body = r.body as J;
    expect(body['owner']).toEqual({ kind: 'alloc', value: actorAlloc.allocId });
    const toVictim = (body['peers'] as J[]).filter(
      (x) => x['peer_ip'] === scan.victim && x['direction'] === 'out',
    );
    // One line per scanned port, each with its flows; nothing is counted twice.
    expect(new Set(toVictim.map((x) => x['port'])).size).toBe(toVictim.length);
    expect(toVictim.map((x) => x['port'])).toContain(scan.port);
    expect(toVictim.length).toBeGreaterThanOrEqual(15);
    for (const x of toVictim) {
      expect(x).toMatchObject({ protocol: 'TCP', bytes: null, peer_scope: 'world' });
      expect(x['flows']).toBeGreaterThan(0);
    }
    // The same through the account and by the allocation's name.
    const byAccount = await get(api, `/api/v1/activity?account=${actor.account}&${win}`, testTokens.admin);
    expect((byAccount.body as J)['peers'].some((x: J) => x['peer_ip'] === scan.victim)).toBe(true);
    const byName = await get(
      api,
      `/api/v1/activity?alloc=${encodeURIComponent(actorAlloc.allocName)}&${win}`,
      testTokens.admin,
    );
    expect((byName.body as J)['peers'].length).toBeGreaterThan(0);
    expect((await get(api, `/api/v1/activity?alloc=x&tenant=y&${win}`, testTokens.admin)).status).toBe(400);
    expect((await get(api, `/api/v1/activity?${win}`, testTokens.admin)).status).toBe(400);
    expect((await get(api, `/api/v1/activity?tenant=${actor.tenant}&${win}`, testTokens.acme)).status).toBe(
      403,
    );
  });

  it('the evidence bundle holds the case, the flows and signed hashes; it verifies, and fails after any byte changes', async () => {
    const c = await report({ indicator: scan.snat, remote: scan.victim, port: scan.port, at: at() });
    const res = await fetch(`${api.url}/api/v1/investigations/${c.body['id']}/evidence`, {
      headers: { authorization: `Bearer ${testTokens.investigator}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    const bundle = Buffer.from(await res.arrayBuffer());
    const files = new Map(readTar(bundle).map((e) => [e.name, e.data.toString('utf8')]));
    expect([...files.keys()]).toEqual([
      'case.json',
      'flows.ndjson',
      'flows.csv',
      'manifest.json',
      'manifest.sig.json',
    ]);
    const kase = JSON.parse(files.get('case.json')!) as J;
    expect(kase).toMatchObject({
      case_id: c.body['id'],
      request: { indicator: scan.snat, remote: scan.victim, port: scan.port },
      created_by: 'investigator',
      exported_by: 'investigator',
      software: { name: 'flowtrail' },
      flows: { selection: 'full-match' },
    });
    expect(kase['software']['version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(kase['exported_at'])).toBeGreaterThanOrEqual(Date.parse(kase['created_at']));
    // The ownership the attribution relied on: the scanner's allocation, with its source.
    expect(kase['ownership_intervals']).toContainEqual(
      expect.objectContaining({
        address: actor.ip,
        alloc_id: actorAlloc.allocId,
        tenant: actor.tenant,
        source: 'label',
      }),
    );
    const flows = files
      .get('flows.ndjson')!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as J);
    expect(flows.length).toBe(kase['flows']['count']);
    expect(flows.length).toBeGreaterThan(0);
    for (const f of flows) {
      const ip = f['flow']['IP'];
      expect([ip['source_xlated'], ip['destination']]).toEqual([scan.snat, scan.victim]);
    }
    expect(files.get('flows.csv')!.trim().split('\r\n').length).toBe(flows.length + 1);
    const manifest = JSON.parse(files.get('manifest.json')!) as J;
    expect(manifest['files'].map((f: J) => f['name'])).toEqual(['case.json', 'flows.ndjson', 'flows.csv']);

    expect(verifyBundle(bundle, { hmacKey })).toMatchObject({
      ok: true,
      alg: 'HMAC-SHA256',
      key_id: 'test-key',
    });
    expect(verifyBundle(bundle, { hmacKey: `${hmacKey}x` }).ok).toBe(false);
    // Any one byte changed — in a header, a file, the padding, the manifest, the signature or
    // the end blocks — fails verification.
    const positions = new Set<number>();
    for (let i = 0; i < 1536; i++) positions.add(i);
    for (let i = 0; i < bundle.length; i += 7) positions.add(i);
    for (let i = bundle.length - 1100; i < bundle.length; i++) positions.add(i);
    let undetected = 0;
    for (const i of positions) {
      const bad = Buffer.from(bundle);
      bad[i] = bad[i]! ^ 0x01;
      if (verifyBundle(bad, { hmacKey }).ok) undetected++;
    }
    expect(undetected).toBe(0);
    expect(verifyBundle(bundle.subarray(0, bundle.length - 512), { hmacKey }).ok).toBe(false);
    expect(verifyBundle(Buffer.concat([bundle, Buffer.alloc(512)]), { hmacKey }).ok).toBe(false);

    // The command a later reader runs.
    const dir = mkdtempSync(path.join(tmpdir(), 'ft-evidence-'));
    const file = path.join(dir, 'bundle.tar');
    const keyFile = path.join(dir, 'key');
    writeFileSync(file, bundle);
    writeFileSync(keyFile, `${hmacKey}\n`);
    const cli = (f: string) =>
      run(process.execPath, ['bin/flowtrail.js', 'evidence', 'verify', f, '--hmac-key-file', keyFile], {
        cwd: repoRoot,
        env: { ...process.env, FLOWTRAIL_CONFIG: '' },
      }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    const good = await cli(file);
    expect(good).toMatchObject({ code: 0 });
    expect(good.out).toContain('verified');
    const tampered = Buffer.from(bundle);
    const at0 = tampered.indexOf(Buffer.from(scan.victim));
    tampered[at0] = tampered[at0]! ^ 0x02;
    writeFileSync(file, tampered);
    const bad = await cli(file);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('SHA-256 does not match');
  }, 120_000);

  it('without a signing key the evidence endpoint says how to configure one', async () => {
    const other = await startTestApi({ ingest: false });
    try {
      const c = await post(
        other,
        '/api/v1/investigations',
        { indicator: '10.0.0.1', at: 'now' },
        testTokens.admin,
      );
      const r = await get(other, `/api/v1/investigations/${c.body['id']}/evidence`, testTokens.admin);
      expect(r.status).toBe(503);
      expect(r.text).toContain('api.evidence.hmacKey');
    } finally {
      await other.close();
    }
  });

  it('cases: status, assignee, linked incidents and notes; listed by mine, status and tenant; every change audited', async () => {
    const c = await report({ indicator: scan.snat, remote: scan.victim, at: at() });
    const id = c.body['id'] as string;
    const patch = (b: J, token: string = testTokens.investigator) =>
      fetch(`${api.url}/api/v1/investigations/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(b),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as J }));
    expect((await get(api, `/api/v1/investigations/${id}`, testTokens.investigator)).body).toMatchObject({
      case: { status: 'open', assignee: '', linked_incidents: [], notes: [] },
    });
    const up = await patch({ status: 'escalated', assignee: 'admin', linked_incidents: ['inc-1'] });
    expect(up).toMatchObject({
      status: 200,
      body: { status: 'escalated', assignee: 'admin', updated_by: 'investigator' },
    });
    expect((await patch({ status: 'maybe' })).status).toBe(400);
    expect((await patch({ colour: 'red' })).status).toBe(400);
    const note = await post(
      api,
      `/api/v1/investigations/${id}/notes`,
      { text: 'upstream notified' },
      testTokens.admin,
    );
    expect(note.status).toBe(201);
    expect(
      (await post(api, `/api/v1/investigations/${id}/notes`, { text: '' }, testTokens.admin)).status,
    ).toBe(400);
    const got = (await get(api, `/api/v1/investigations/${id}`, testTokens.investigator)).body as J;
    expect(got['case']['notes']).toEqual([
      expect.objectContaining({ author: 'admin', text: 'upstream notified' }),
    ]);
    const list = async (q: string, token: string = testTokens.investigator) =>
      ((await get(api, `/api/v1/cases?${q}`, token)).body as J)['cases'] as J[];
    const mine = await list('mine=true&status=escalated', testTokens.admin);
    expect(mine.map((x) => x['id'])).toContain(id);
    expect(mine.find((x) => x['id'] === id)).toMatchObject({
      status: 'escalated',
      notes: 1,
      top_account: { tenant: actor.tenant, account: actor.account },
    });
    expect((await list('status=closed')).map((x) => x['id'])).not.toContain(id);
    expect((await list(`tenant=${actor.tenant}`)).map((x) => x['id'])).toContain(id);
    expect((await list('tenant=nobody-here')).map((x) => x['id'])).not.toContain(id);
    expect((await get(api, '/api/v1/cases?status=maybe', testTokens.admin)).status).toBe(400);
    await patch({ status: 'closed' });
    expect((await list('status=closed')).map((x) => x['id'])).toContain(id);
    await api.auditLog.flush();
    const audit = ((await get(api, '/api/v1/audit?since=-1h&limit=1000', testTokens.admin)).body as J)[
      'entries'
    ] as J[];
    const changes = audit.filter(
      (e) => ['case.update', 'case.note'].includes(e['action']) && e['outcome'] === 'ok',
    );
    expect(changes.map((e) => e['action']).sort()).toEqual(['case.note', 'case.update', 'case.update']);
    expect(changes.some((e) => JSON.parse(e['parameters'])['status'] === 'escalated')).toBe(true);
  });

  it.each([
    [{ at: 'now' }, 'indicator'],
    [{ indicator: '10.0.0.1' }, 'since'],
    [{ indicator: '10.0.0.1', at: 'now', since: '-1h' }, 'at'],
    [{ indicator: '10.0.0.1', since: '-1h', until: 'now', tolerance: 5 }, 'tolerance'],
    [{ remote: 'not-an-ip', at: 'now' }, 'remote'],
    [{ indicator: '10.0.0.999', at: 'now' }, 'indicator'],
    [{ indicator: '10.0.0.1', at: 'whenever' }, 'at'],
    [{ indicator: '10.0.0.1', at: 'now', tolerance: -1 }, 'tolerance'],
    [{ indicator: '10.0.0.1', at: 'now', port: 70000 }, 'port'],
    [{ indicator: '10.0.0.1', at: 'now', colour: 'red' }, 'colour'],
  ])('rejects %j with a 400 naming %s', async (body, param) => {
    const r = await report(body);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain(param);
  });
});

/**
 * Abuse reports in (issue 14 item 6), over the demo on real chdb and real HTTP: an X-ARF JSON,
 * an X-ARF YAML and an ARF (RFC 5965) email, each POSTed to /api/v1/reports as a report sender
 * would produce it, open a prefilled case whose investigation ranks the account behind the
 * planted abuse first; the report is kept verbatim with the case; a malformed report is a 400
 * naming the field.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticPopulation } from '../../../collector/src/generator/population.ts';
import { verifyBundle } from '../../../common/evidence/bundle.ts';
import { readTar } from '../../../common/evidence/tar.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { demoInterval, ingestDemoTraffic, ms2ns } from '../../../test/demo-traffic.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, any>;
let api: TestApi;
const hmacKey = 'reports-test-key-0123456789abcdef0123';
const population = createStaticPopulation();
const endpoints = population.endpoints();
const actor = endpoints.find((e) => e.tenant === 'initech')!;
const neighbour = endpoints.find((e) => e.node === actor.node && e.tenant !== actor.tenant)!;
const intervals = endpoints.map((ep, i) => demoInterval(ep, i, Date.now() - 3 * 3_600_000));
const sinceMs = Date.now() - 40 * 60_000;
const scanMinute = 12;
let scan: { snat: string; victim: string; port: number; at: Date };
let smtp: { snat: string; at: Date };

async function send(body: string, contentType: string, token: string = testTokens.investigator) {
  const res = await fetch(`${api.url}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': contentType, authorization: `Bearer ${token}` },
    body,
  });
  return { status: res.status, body: (await res.json()) as J };
}

async function flowsFrom(ip: string): Promise<J[]> {
  const range = `since=${formatTimeNs(ms2ns(sinceMs))}&until=now`;
  const r = await get(api, `/api/v1/flows?${range}&from-ip=${ip}&format=ndjson&limit=5000`, testTokens.admin);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { flow: J }).flow);
}

describe('query-api > http > abuse reports (X-ARF, ARF) open cases', () => {
  beforeAll(async () => {
    api = await startTestApi({
      ingest: false,
      config: {
        api: {
          limits: { maxRangeHours: 24 * 365 * 100, maxUnboundedRangeHours: 24 * 365 * 100 },
          evidence: { keyId: 'test-key', hmacKey },
        },
      },
    });
    await ingestDemoTraffic(api.store, {
      dir: mkdtempSync(path.join(tmpdir(), 'ft-reports-')),
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
          : [],
    });
    // What the victims saw: the scanner's SSH attempts and the neighbour's mail, SNATed.
    const f = (await flowsFrom(actor.ip)).find((x) => x['l4']?.['TCP']?.['destination_port'] === 22);
    expect(f?.['IP']['source_xlated']).toMatch(/^192\.0\.2\./);
    scan = {
      snat: f!['IP']['source_xlated'],
      victim: f!['IP']['destination'],
      port: 22,
      at: new Date(Date.parse(f!['time']) + 40_000), // the report is 40 s off
    };
    const m = (await flowsFrom(neighbour.ip)).find(
      (x) => x['l4']?.['TCP']?.['destination_port'] === 25 && x['IP']['source_xlated'],
    );
    expect(m).toBeDefined();
    smtp = { snat: m!['IP']['source_xlated'], at: new Date(Date.parse(m!['time']) - 30_000) };
  }, 180_000);
  afterAll(async () => api?.close());

  const expectActorFirst = (body: J) => {
    const accounts = body['accounts'] as J[];
    expect(accounts[0]).toMatchObject({ rank: 1, tenant: actor.tenant, account: actor.account });
    expect(accounts[0]!['full_match_flows']).toBeGreaterThan(0);
  };

  it('an X-ARF JSON report opens a case ranking the scanning account first', async () => {
    const report = {
      Version: '2',
      ReporterInfo: { ReporterOrg: 'Example CERT' },
      Report: {
        ReportClass: 'Activity',
        ReportType: 'LoginAttack',
        Date: scan.at.toISOString(),
        SourceIp: scan.snat,
        DestinationIp: scan.victim,
        DestinationPort: scan.port,
      },
    };
    const r = await send(JSON.stringify(report), 'application/json');
    expect(r.status).toBe(201);
    expect(r.body['request']).toMatchObject({
      indicator: scan.snat,
      remote: scan.victim,
      port: 22,
      at: scan.at.toISOString(),
      tolerance: 300,
    });
    expect(r.body['report']).toMatchObject({ format: 'x-arf', category: 'LoginAttack' });
    expectActorFirst(r.body);
    // The report is kept with the case, as evidence of what was reported.
    const c = await get(api, `/api/v1/investigations/${r.body['id']}`, testTokens.investigator);
    const kept = (c.body as J)['case']['reports'] as J[];
    expect(kept).toHaveLength(1);
    expect(JSON.parse(kept[0]!['raw'])).toEqual(report);
    expect(kept[0]).toMatchObject({ format: 'x-arf', received_by: expect.any(String) });
  });

  it('an X-ARF v0.2 YAML report opens the same kind of case, kept verbatim', async () => {
    const yaml = [
      'Reported-From: abuse@victim.example',
      'Category: abuse',
      'Report-Type: login-attack',
      'Service: ssh',
      "Version: '0.2'",
      `Date: '${scan.at.toISOString()}'`,
      `Source: ${scan.snat}`,
      'Source-Type: ipv4',
      `Destination: ${scan.victim}`,
      'Port: 22',
      '',
    ].join('\n');
    const r = await send(yaml, 'application/yaml');
    expect(r.status).toBe(201);
    expect(r.body['report']).toMatchObject({
      format: 'x-arf',
      ours: scan.snat,
      category: 'abuse/login-attack',
    });
    expectActorFirst(r.body);
    const c = await get(api, `/api/v1/investigations/${r.body['id']}`, testTokens.investigator);
    expect((c.body as J)['case']['reports'][0]['raw']).toBe(yaml);
    // The signed evidence bundle carries the report verbatim.
    const res = await fetch(`${api.url}/api/v1/investigations/${r.body['id']}/evidence`, {
      headers: { authorization: `Bearer ${testTokens.investigator}` },
    });
    expect(res.status).toBe(200);
    const tar = Buffer.from(await res.arrayBuffer());
    expect(verifyBundle(tar, { hmacKey }).ok).toBe(true);
    const files = readTar(tar);
    expect(files.find((f) => f.name === 'report-1.txt')?.data.toString()).toBe(yaml);
    const caseJson = JSON.parse(files.find((f) => f.name === 'case.json')!.data.toString()) as J;
    expect(caseJson['reports']).toEqual([expect.objectContaining({ file: 'report-1.txt', format: 'x-arf' })]);
  });

  it('an ARF (RFC 5965) email opens a case on port 25 ranking the mailing account first', async () => {
    const arf = [
      'From: <abuse@mx.victim.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="arf-b"',
      '',
      '--arf-b',
      'Content-Type: text/plain',
      '',
      `Spam received from ${smtp.snat}.`,
      '--arf-b',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: ReportGen/1.0',
      'Version: 1',
      `Arrival-Date: ${smtp.at.toUTCString()}`,
      `Source-IP: ${smtp.snat}`,
      '',
      '--arf-b',
      'Content-Type: message/rfc822',
      '',
      'From: <bulk@sender.example>',
      'Subject: cheap',
      '',
      'buy now',
      '--arf-b--',
      '',
    ].join('\r\n');
    const r = await send(arf, 'message/rfc822');
    expect(r.status).toBe(201);
    expect(r.body['request']).toMatchObject({ indicator: smtp.snat, port: 25, protocol: 'tcp' });
    expect(r.body['report']).toMatchObject({ format: 'arf', category: 'abuse' });
    const accounts = r.body['accounts'] as J[];
    expect(accounts[0]).toMatchObject({ rank: 1, tenant: neighbour.tenant, account: neighbour.account });
    expect(accounts[0]!['full_match_flows']).toBeGreaterThan(0);
  });

  it('a malformed report is a 400 naming the field', async () => {
    const r = await send('Source: abc\nDate: 2026-12-01T10:00:00Z\n', 'application/yaml');
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('Source: not an IP address: \\"abc\\"');
    const empty = await send('', 'text/plain');
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.body)).toContain('report: empty');
  });

  it('a role without investigations may not open a case from a report', async () => {
    const r = await send('{}', 'application/json', testTokens.sre);
    expect(r.status).toBe(403);
  });
});

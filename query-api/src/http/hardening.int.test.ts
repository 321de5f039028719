/**
 * The smaller hardening items of issue 17 item 8, over real HTTP: the CSV formula guard,
 * operational endpoints behind admin/sre, security headers, token expiry, and the alerts
 * endpoints in the OpenAPI document.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { hashToken } from '../auth/tokens.ts';
import { get, startTestApi, type TestApi, testAttribute, testTokens } from '../testing.ts';
import { csvField } from './output.ts';

const formula = "-1+1+cmd|' /C calc'!A0";
const range = 'since=2025-12-31T00:00:00Z&until=2026-01-02T00:00:00Z';
const expiredToken = 'tok-expired-0123456789';
const laterToken = 'tok-later-0123456789';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({
    ingest: false,
    status: () => ({ collector: { targets: [{ address: 'hubble-relay.internal:4245' }] }, n: 1n }),
    config: {
      tokens: [
        { name: 'admin', role: 'admin', sha256: hashToken(testTokens.admin) },
        { name: 'sre', role: 'sre', sha256: hashToken(testTokens.sre) },
        { name: 'investigator', role: 'investigator', sha256: hashToken(testTokens.investigator) },
        { name: 'acme', role: 'tenant', tenant: 'acme', sha256: hashToken(testTokens.acme) },
        { name: 'old', role: 'admin', sha256: hashToken(expiredToken), expires: '2020-01-01T00:00:00Z' },
        { name: 'later', role: 'admin', sha256: hashToken(laterToken), expires: '2200-01-01T00:00:00+02:00' },
      ],
    },
  });
  const line = JSON.stringify({
    flow: {
      time: '2026-01-01T00:00:00.000000001Z',
      uuid: '0b1e7c9e-1111-4222-8333-944455556669',
      verdict: 'FORWARDED',
      IP: { source: '10.244.0.9', destination: '10.244.0.10', ipVersion: 'IPv4' },
      l4: { UDP: { source_port: 40000, destination_port: 53 } },
      source: { identity: 1001, namespace: 'acme-ns', labels: ['nomad:tenant=acme'], pod_name: formula },
      l7: { type: 'REQUEST', dns: { query: `=HYPERLINK("http://evil")` } },
    },
    node_name: '@node',
    time: '2026-01-01T00:00:00.000000001Z',
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hardening-')), 'f.json');
  writeFileSync(file, `${line}\n`);
  await ingestFiles({ store: api.store, files: [file], attribute: testAttribute });
});
afterAll(async () => api?.close());

describe('query-api > hardening', () => {
  it('CSV export neutralises formulas, including a leading minus followed by a digit', async () => {
    for (const v of [formula, '=1+1', '+1+1', '@SUM(A1)', '\tx', '\rx', '-2+3'])
      expect(csvField(v).replace(/^"/, '')).toMatch(/^'/);
    for (const v of ['-1', '-1.5', '+3', '1e5', '-2.5e-3', 'web-1']) expect(csvField(v)).toBe(v);
    const r = await get(api, `/api/v1/flows?${range}&format=csv`, testTokens.admin);
    expect(r.status).toBe(200);
    const row = r.text.split('\r\n')[1]!;
    expect(row).toContain(`'${formula}`);
    expect(row).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(row).toContain("'@node");
  });

  it('/metrics and /api/v1/status need an admin or sre token; /healthz and /readyz stay open', async () => {
    expect((await get(api, '/healthz')).status).toBe(200);
    expect((await get(api, '/readyz')).status).toBe(200);
    for (const p of ['/metrics', '/api/v1/status']) {
      expect((await get(api, p)).status, p).toBe(401);
      expect((await get(api, p, testTokens.acme)).status, p).toBe(403);
      expect((await get(api, p, testTokens.investigator)).status, p).toBe(403);
      expect((await get(api, p, testTokens.sre)).status, p).toBe(200);
    }
    const status = await get(api, '/api/v1/status', testTokens.admin);
    expect(status.body).toMatchObject({
      collector: { targets: [{ address: 'hubble-relay.internal:4245' }] },
      n: '1',
    });
  });

  it('sets CSP, X-Frame-Options, Referrer-Policy and X-Content-Type-Options on every answer', async () => {
    for (const p of ['/healthz', '/api/v1/whoami', '/api/v1/flows', '/api/v1/no-such-endpoint']) {
      const r = await get(api, p, testTokens.admin);
      expect(r.headers.get('content-security-policy'), p).toContain("frame-ancestors 'none'");
      expect(r.headers.get('content-security-policy'), p).toContain("default-src 'self'");
      expect(r.headers.get('x-frame-options'), p).toBe('DENY');
      expect(r.headers.get('referrer-policy'), p).toBe('no-referrer');
      expect(r.headers.get('x-content-type-options'), p).toBe('nosniff');
    }
  });

  it('an expired token gets 401, and the refusal is audited', async () => {
    const r = await get(api, '/api/v1/whoami', expiredToken);
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/expired/);
    expect((await get(api, '/api/v1/whoami', laterToken)).status).toBe(200);
    await api.auditLog.flush();
    const rows = await api.store.query<{ outcome: string; error: string }>(
      'SELECT outcome, error FROM audit_log WHERE request_id = {id:String}',
      { params: { id: r.headers.get('x-request-id') } },
    );
    expect(rows).toEqual([{ outcome: 'denied', error: 'token old expired at 2020-01-01T00:00:00Z' }]);
  });

  it('the OpenAPI document lists the alerts endpoints', async () => {
    const doc = (await get(api, '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const [p, method] of [
      ['/api/v1/alerts/rules', 'get'],
      ['/api/v1/alerts/incidents', 'get'],
      ['/api/v1/alerts/incidents/{id}', 'get'],
      ['/api/v1/alerts/incidents/{id}/ack', 'post'],
      ['/api/v1/alerts/incidents/{id}/resolve', 'post'],
      ['/api/v1/alerts/deliveries', 'get'],
      ['/api/v1/status', 'get'],
    ] as const)
      expect(doc.paths[p]?.[method], p).toBeDefined();
  });
});

/**
 * Every HTTP request leaves an audit row (issue 17 item 5): failed authentication (missing,
 * malformed, unknown tokens), incident ack/resolve and incident and delivery-log reads; a
 * 5,000-deep JSON body cannot break the writer; request ids are ours and a client's
 * X-Request-Id is kept in its own field. A flood of requests costs one audit insert at a time
 * (issue 17.2: one-row inserts per refused request used to pile up ahead of the flow inserts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { auditRow, createAuditLog } from '../audit/audit-log.ts';
import { startTestApi, type TestApi, testAttribute, testTokens } from '../testing.ts';

type Row = {
  request_id: string;
  client_request_id: string;
  token_name: string;
  action: string;
  outcome: string;
  status: number;
  path: string;
  parameters: string;
};

let api: TestApi;
const S = 1_000_000_000n;
const t0 = 1_767_225_600n * S;

beforeAll(async () => {
  api = await startTestApi({ ingest: false });
  const line = JSON.stringify({
    flow: {
      time: '2026-01-01T00:00:00.000000001Z',
      uuid: '0b1e7c9e-1111-4222-8333-944455556668',
      verdict: 'DROPPED',
      IP: { source: '10.244.0.9', destination: '10.244.1.9', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000, destination_port: 443, flags: { SYN: true } } },
      drop_reason_desc: 'POLICY_DENIED',
    },
    node_name: 'n1',
    time: '2026-01-01T00:00:00.000000001Z',
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'audit-')), 'cross.json');
  writeFileSync(file, `${line}\n`);
  await ingestFiles({ store: api.store, files: [file], attribute: testAttribute });
  await api.alerts.engine.evaluateRange(t0 - 3600n * S, t0 + 3600n * S, { persist: true });
});
afterAll(async () => api?.close());

async function rows(where: string, params: Record<string, unknown> = {}): Promise<Row[]> {
  await api.auditLog.flush();
  return api.store.query<Row>(
    `SELECT request_id, client_request_id, token_name, action, outcome, status, path, parameters
     FROM audit_log WHERE ${where} ORDER BY time`,
    { params },
  );
}

async function call(
  method: string,
  p: string,
  opts: { token?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const res = await fetch(`${api.url}${p}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    ...(opts.body ? { body: opts.body } : {}),
  });
  return { status: res.status, text: await res.text(), id: res.headers.get('x-request-id') };
}

describe('query-api > audit of every request', () => {
  it('audits failed authentication: missing, malformed and unknown tokens', async () => {
    const tries = [
      await call('GET', '/api/v1/flows?since=-1h&probe=missing'),
      await call('GET', '/api/v1/flows?since=-1h&probe=scheme', { headers: { authorization: 'Digest abc' } }),
      await call('GET', '/api/v1/flows?since=-1h&probe=unknown', { token: 'not-a-token' }),
      await call('GET', '/api/v1/no-such-endpoint?probe=unknown2', { token: 'not-a-token' }),
    ];
    for (const t of tries) expect(t.status).toBe(401);
    const audited = await rows(`outcome = 'denied' AND status = 401`);
    expect(audited.map((r) => r.request_id).sort()).toEqual(tries.map((t) => t.id).sort());
    for (const r of audited) {
      expect(r.action).toBe('authenticate');
      expect(r.token_name).toBe('');
      expect(r.parameters).toContain('probe');
    }
  });

  it('request ids are ours; the client X-Request-Id is kept apart', async () => {
    const r = await call('GET', '/api/v1/whoami', {
      token: testTokens.admin,
      headers: { 'x-request-id': 'forged-id' },
    });
    expect(r.status).toBe(200);
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    const [row] = await rows('request_id = {id:String}', { id: r.id });
    expect(row?.client_request_id).toBe('forged-id');
    expect(await rows(`request_id = 'forged-id'`)).toEqual([]);
  });

  it('a 5,000-deep JSON body is refused with 400 and still audited', async () => {
    const body = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const r = await call('POST', '/api/v1/investigations', { token: testTokens.admin, body });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/nests deeper than 32 levels/);
    const [row] = await rows('request_id = {id:String}', { id: r.id });
    expect(row?.outcome).toBe('invalid');
    expect(row?.status).toBe(400);
    // The writer's serialization is bounded whatever the entry holds: depth, cycles, bigints.
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 5000; i++) {
      const next: Record<string, unknown> = {};
      deep['a'] = next;
      deep = next;
    }
    deep['self'] = top;
    deep['n'] = 1n;
    const entry = {
      requestId: 'x',
      principal: undefined,
      action: 'test',
      transport: 'http' as const,
      method: 'POST',
      path: '/x',
      parameters: top,
      rows: Number.NaN,
      outcome: 'ok',
      status: 200,
      startedAtMs: Date.now(),
    };
    const built = auditRow(entry, Date.now());
    expect(() => JSON.parse(built['parameters'] as string)).not.toThrow();
    expect(built['rows']).toBe(0);
    const log = createAuditLog({
      store: api.store,
      logger: createLogger('t'),
      metrics: createMetrics('audit_t'),
    });
    expect(() => log.record(entry)).not.toThrow();
    await log.flush();
  });

  it('audits incident reads, ack and resolve, and delivery-log reads', async () => {
    const list = await call('GET', '/api/v1/alerts/incidents', { token: testTokens.sre });
    const id = (JSON.parse(list.text) as { incidents: { id: string }[] }).incidents[0]!.id;
    const one = await call('GET', `/api/v1/alerts/incidents/${id}`, { token: testTokens.acme });
    const ack = await call('POST', `/api/v1/alerts/incidents/${id}/ack`, {
      token: testTokens.sre,
      body: JSON.stringify({ note: 'looking' }),
    });
    const denied = await call('POST', `/api/v1/alerts/incidents/${id}/resolve`, { token: testTokens.acme });
    const resolve = await call('POST', `/api/v1/alerts/incidents/${id}/resolve`, { token: testTokens.admin });
    const deliveries = await call('GET', '/api/v1/alerts/deliveries', { token: testTokens.admin });
    expect([list, one, ack, denied, resolve, deliveries].map((r) => r.status)).toEqual([
      200, 200, 200, 403, 200, 200,
    ]);
    const byId = new Map((await rows(`action LIKE 'alerts.%'`)).map((r) => [r.request_id, r]));
    expect(byId.get(list.id!)?.action).toBe('alerts.incidents');
    expect(byId.get(one.id!)).toMatchObject({
      action: 'alerts.incident.get',
      token_name: 'acme',
      outcome: 'ok',
    });
    expect(byId.get(ack.id!)).toMatchObject({
      action: 'alerts.incident.ack',
      token_name: 'sre',
      outcome: 'ok',
    });
    expect(byId.get(ack.id!)?.parameters).toContain('looking');
    expect(byId.get(denied.id!)).toMatchObject({
      action: 'alerts.incident.resolve',
      outcome: 'denied',
      status: 403,
    });
    expect(byId.get(resolve.id!)).toMatchObject({ action: 'alerts.incident.resolve', token_name: 'admin' });
    expect(byId.get(deliveries.id!)?.action).toBe('alerts.deliveries');
  });

  it('a flood of audited requests is written by one insert at a time, every row kept', async () => {
    let inserts = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const counting = {
      ...api.store,
      insertJson: async (table: string, rows: readonly Record<string, unknown>[]) => {
        inserts++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        firstStarted();
        try {
          await api.store.insertJson(table, rows);
        } finally {
          inFlight--;
        }
      },
    };
    const log = createAuditLog({
      store: counting,
      logger: createLogger('t'),
      metrics: createMetrics('audit_f'),
    });
    const marker = `flood-${Date.now()}`;
    const record = (i: number) =>
      log.record({
        requestId: `${marker}-${i}`,
        principal: undefined,
        action: 'flows',
        transport: 'http',
        method: 'GET',
        path: '/api/v1/flows',
        parameters: {},
        rows: 0,
        outcome: 'limit',
        status: 429,
        startedAtMs: Date.now(),
      });
    // The first row starts an insert; a burst (as of 429s) recorded while it runs waits for it
    // and goes together into the next (never more than one insert queued in the engine).
    record(0);
    await started;
    for (let i = 1; i < 2000; i++) record(i);
    await log.flush();
    expect(inserts).toBe(2);
    expect(maxInFlight).toBe(1);
    const [n] = await api.store.query<{ n: string }>(
      'SELECT count() AS n FROM audit_log WHERE startsWith(request_id, {m:String})',
      { params: { m: marker } },
    );
    expect(Number(n?.n)).toBe(2000);
  });
});

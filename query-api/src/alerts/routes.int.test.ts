import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../../common/clickhouse/index.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import { alertsConfigSchema } from '../../../common/config/alerts.ts';
import { createLogger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import type { Principal } from '../auth/principal.ts';
import { errorMiddleware } from '../http/errors.ts';
import { createAlertEngine } from './engine.ts';
import { createAlertsRouter } from './routes.ts';
import { owner, storeFlows, storeSyntheticIncidents } from './testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ft-alerts-routes-'));
const S = 1_000_000_000n;
const T0 = 1_714_557_600n * S;
let store: Store;
let server: ReturnType<express.Express['listen']>;
let base = '';

const principals: Record<string, Principal> = {
  admin: { name: 'root', role: 'admin' },
  sre: { name: 'oncall', role: 'sre' },
  tenantA: { name: 'a-token', role: 'tenant', tenant: 'tenant-a' },
};

async function call(who: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { 'x-test-principal': who, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown> & { incidents?: Record<string, unknown>[] },
  };
}

beforeAll(async () => {
  store = await createChdbStore(dir, `t_${Math.random().toString(36).slice(2)}`);
  await migrate(store);
  const meta = {
    dst: '169.254.169.254',
    dport: 80,
    flags: ['SYN'] as const,
    dstOwner: { scope: 'metadata' as const },
  };
  await storeFlows(store, [
    { ...meta, timeNs: T0 + 10n * S, src: '10.0.0.1', srcOwner: owner('tenant-a', 'acct-a', 'alloc-a') },
    { ...meta, timeNs: T0 + 20n * S, src: '10.0.0.2', srcOwner: owner('tenant-b', 'acct-b', 'alloc-b') },
  ]);
  const deps = { store, logger: createLogger('test'), metrics: createMetrics('alerts_routes_test') };
  const engine = createAlertEngine(alertsConfigSchema.parse({}), deps);
  await engine.evaluateRange(T0, T0 + 3600n * S, { persist: true });
  const app = express();
  app.use((req, res, next) => {
    const p = principals[String(req.headers['x-test-principal'])];
    if (p) res.locals['principal'] = p;
    next();
  });
  app.use('/api/v1/alerts', createAlertsRouter({ engine, store, logger: deps.logger }));
  app.use(errorMiddleware(deps.logger));
  await new Promise<void>((r) => {
    server = app.listen(0, '127.0.0.1', () => r());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await store?.close();
});

describe('query-api > alerts > routes', () => {
  it('lists the rules with their ids and thresholds', async () => {
    const r = await call('sre', 'GET', '/api/v1/alerts/rules');
    expect(r.status).toBe(200);
    const rules = r.json['rules'] as {
      id: string;
      window_seconds: number;
      thresholds: Record<string, unknown>;
    }[];
    expect(rules.map((x) => x.id)).toEqual([
      'address-scan',
      'port-scan',
      'smtp-egress',
      'flood',
      'metadata-access',
      'cross-tenant',
      'mining',
      'lost-events',
    ]);
    expect(rules[0]).toMatchObject({ window_seconds: 300, thresholds: { minHosts: 25 } });
  });

  it('lists incidents with the required fields, scoped for tenant principals', async () => {
    const all = await call('admin', 'GET', '/api/v1/alerts/incidents');
    expect(all.status).toBe(200);
    expect(all.json.incidents!.map((i) => i['tenant'])).toEqual(['tenant-b', 'tenant-a']);
    for (const i of all.json.incidents!)
      for (const k of [
        'id',
        'rule',
        'severity',
        'tenant',
        'account',
        'alloc_id',
        'first_seen',
        'last_seen',
        'count',
        'status',
      ])
        expect(i).toHaveProperty(k);
    const mine = await call('tenantA', 'GET', '/api/v1/alerts/incidents?tenant=tenant-b');
    expect(mine.json.incidents!.map((i) => i['tenant'])).toEqual(['tenant-a']);
    const b = all.json.incidents![0]!;
    expect((await call('tenantA', 'GET', `/api/v1/alerts/incidents/${b['id']}`)).status).toBe(404);
    expect((await call('admin', 'GET', `/api/v1/alerts/incidents/${b['id']}`)).json['rule']).toBe(
      'metadata-access',
    );
    expect((await call('admin', 'GET', '/api/v1/alerts/incidents?status=bogus')).status).toBe(400);
    expect((await call('admin', 'GET', '/api/v1/alerts/incidents?colour=red')).status).toBe(400);
    expect((await call('nobody', 'GET', '/api/v1/alerts/incidents')).status).toBe(401);
  });

  it('acknowledges and resolves; tenants may not; resolved incidents cannot be acknowledged', async () => {
    const [a] = (await call('admin', 'GET', '/api/v1/alerts/incidents?tenant=tenant-a')).json.incidents!;
    const id = String(a!['id']);
    expect((await call('tenantA', 'POST', `/api/v1/alerts/incidents/${id}/ack`)).status).toBe(403);
    const ack = await call('sre', 'POST', `/api/v1/alerts/incidents/${id}/ack`, { note: 'on it' });
    expect(ack.status).toBe(200);
    expect(ack.json).toMatchObject({ status: 'acknowledged', acknowledged_by: 'oncall', note: 'on it' });
    const open = await call('admin', 'GET', '/api/v1/alerts/incidents?status=open');
    expect(open.json.incidents!.map((i) => i['tenant'])).toEqual(['tenant-b']);
    const res = await call('admin', 'POST', `/api/v1/alerts/incidents/${id}/resolve`);
    expect(res.json).toMatchObject({ status: 'resolved', resolved_by: 'root', note: 'on it' });
    expect((await call('admin', 'POST', `/api/v1/alerts/incidents/${id}/ack`)).status).toBe(409);
    expect(
      (await call('admin', 'POST', '/api/v1/alerts/incidents/00000000-0000-0000-0000-000000000000/ack'))
        .status,
    ).toBe(404);
  });

  it('pages more than 2,000 incidents server-side with a total, and counts groups', async () => {
    const made = await storeSyntheticIncidents(store, 2_345, { rule: 'synthetic', lastNs: T0 - 3600n * S });
    const q = '/api/v1/alerts/incidents?rule=synthetic';
    const first = await call('admin', 'GET', `${q}&limit=1000`);
    expect(first.json['total']).toBe(2_345);
    expect(first.json.incidents!.length).toBe(1_000);
    // Page through with offset: every incident once, newest first, the last page partial.
    const seen: string[] = [];
    for (let offset = 0; offset < 2_345; offset += 1000) {
      const r = await call('admin', 'GET', `${q}&limit=1000&offset=${offset}`);
      expect(r.json).toMatchObject({ total: 2_345, offset, limit: 1000 });
      seen.push(...r.json.incidents!.map((i) => String(i['id'])));
    }
    expect(seen).toEqual(made.map((i) => i.id));
    const last = await call('admin', 'GET', `${q}&limit=25&offset=2325`);
    expect(last.json.incidents!.length).toBe(20);
    // Groups over every match, not only the page.
    const g = await call('admin', 'GET', `${q}&limit=1&group=tenant&status=open`);
    const groups = g.json['groups'] as { key: string; count: number; open: number; events: number }[];
    const open = made.filter((i) => i.status === 'open');
    expect(g.json['total']).toBe(open.length);
    expect(groups.reduce((a, x) => a + x.count, 0)).toBe(open.length);
    expect(groups.find((x) => x.key === 'tenant-0')).toEqual({
      key: 'tenant-0',
      count: open.filter((i) => i.tenant === 'tenant-0').length,
      open: open.filter((i) => i.tenant === 'tenant-0').length,
      events: open.filter((i) => i.tenant === 'tenant-0').reduce((a, i) => a + i.count, 0),
    });
    // A tenant token counts only its own tenant.
    expect((await call('tenantA', 'GET', `${q}&limit=5`)).json['total']).toBe(0);
    for (const bad of ['offset=-1', 'offset=x', 'group=severity', 'group=tenant;DROP']) {
      const r = await call('admin', 'GET', `${q}&${bad}`);
      expect(r.status).toBe(400);
    }
  });

  it('serves the delivery log to operators only', async () => {
    const r = await call('admin', 'GET', '/api/v1/alerts/deliveries?limit=10');
    expect(r.status).toBe(200);
    expect(r.json['deliveries']).toEqual([]);
    expect((await call('tenantA', 'GET', '/api/v1/alerts/deliveries')).status).toBe(403);
  });
});

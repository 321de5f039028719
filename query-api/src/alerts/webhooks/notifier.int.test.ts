import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../../common/clickhouse/chdb-store.ts';
import type { Store } from '../../../../common/clickhouse/index.ts';
import { migrate } from '../../../../common/clickhouse/migrator.ts';
import { alertsConfigSchema } from '../../../../common/config/alerts.ts';
import { createLogger } from '../../../../common/logger.ts';
import { createMetrics } from '../../../../common/metrics.ts';
import { createAlertEngine } from '../engine.ts';
import { type FlowSpec, owner, storeFlows } from '../testing.ts';
import { listDeliveries } from './deliveries.ts';
import { createWebhookNotifier } from './notifier.ts';
import { verifySignature } from './signature.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ft-alerts-hooks-'));
const S = 1_000_000_000n;
const T0 = 1_714_557_600n * S; // 2024-05-01T10:00:00Z
const at = (s: number) => T0 + BigInt(s) * S;
const SECRET = 'test-secret-0123456789';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real HTTP receiver on loopback; `failFirst` answers 500 to that many requests per path. */
function receiver(failFirst: Record<string, number> = {}) {
  const got: Received[] = [];
  const seen: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const p = req.url ?? '/';
      seen[p] = (seen[p] ?? 0) + 1;
      if (seen[p]! <= (failFirst[p] ?? 0)) {
        res.statusCode = 500;
        res.end('boom');
        return;
      }
      got.push({ path: p, headers: req.headers, body });
      res.end('ok');
    });
  });
  return {
    got,
    seen,
    listen: () =>
      new Promise<number>((r) =>
        server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let keeper: Store;
beforeAll(async () => {
  keeper = await createChdbStore(dir, 'keeper');
});
afterAll(async () => keeper.close());

const A = owner('tenant-a', 'acct-a', 'alloc-a');
const scan = (from: number, hosts: number, first: number): FlowSpec[] =>
  Array.from({ length: hosts }, (_, i) => ({
    timeNs: at(from + i),
    src: '10.0.0.1',
    dst: `203.0.${Math.floor((first + i) / 250)}.${(first + i) % 250}`,
    dport: 22,
    flags: ['SYN'] as const,
    verdict: 'DROPPED' as const,
    srcOwner: A,
  }));

describe('query-api > alerts > webhooks', () => {
  it('delivers one signed payload per incident creation and update, retries 500s, refuses private targets', async () => {
    const store = await createChdbStore(dir, `t_${Math.random().toString(36).slice(2)}`);
    await migrate(store);
    const rx = receiver({ '/flaky': 2 });
    const port = await rx.listen();
    const config = alertsConfigSchema.parse({
      publicUrl: 'https://flowtrail.example.com',
      webhooks: {
        allowPrivateTargets: ['127.0.0.1'],
        initialDelayMs: 10,
        maxDelayMs: 50,
        targets: [
          { name: 'soc', url: `http://127.0.0.1:${port}/hook`, secret: SECRET },
          { name: 'flaky', url: `http://127.0.0.1:${port}/flaky`, secret: SECRET, rules: ['address-scan'] },
          { name: 'chat', url: `http://127.0.0.1:${port}/slack`, format: 'slack' },
          { name: 'meta-only', url: `http://127.0.0.1:${port}/meta`, rules: ['metadata-access'] },
          { name: 'internal', url: `http://127.0.0.2:${port}/hook` },
        ],
      },
    });
    const deps = { store, logger: createLogger('test'), metrics: createMetrics('alerts_hooks_test') };
    const notifier = createWebhookNotifier(config.webhooks, config.publicUrl, deps);
    let now = at(150);
    const engine = createAlertEngine(config, { ...deps, notifier, now: () => now });
    notifier.start();
    try {
      await storeFlows(store, scan(61, 30, 1));
      // Window ending 10:02 sees the scan: created.
      expect((await engine.tick())?.updates.map((u) => u.change)).toEqual(['created']);
      // Next window sees the same events only: no update, no delivery.
      now = at(210);
      expect((await engine.tick())?.updates).toEqual([]);
      // More of the scan: one update.
      await storeFlows(store, scan(185, 30, 100));
      now = at(270);
      expect((await engine.tick())?.updates.map((u) => u.change)).toEqual(['updated']);
      await notifier.idle();

      const hook = rx.got.filter((r) => r.path === '/hook');
      expect(hook.map((r) => JSON.parse(r.body).event)).toEqual(['incident.created', 'incident.updated']);
      for (const r of hook) {
        expect(
          verifySignature(
            SECRET,
            String(r.headers['x-flowtrail-signature']),
            r.body,
            Math.floor(Date.now() / 1000),
          ),
        ).toBe(true);
        expect(r.headers['content-type']).toBe('application/json');
      }
      const created = JSON.parse(hook[0]!.body);
      expect(created).toMatchObject({
        version: 1,
        rule: 'address-scan',
        severity: 'high',
        status: 'open',
        tenant: 'tenant-a',
        account: 'acct-a',
        job: 'tenant-a-web',
        allocation: { id: 'alloc-a', name: 'tenant-a-web[0]' },
        node: 'node-1',
        addresses: { sources: ['10.0.0.1'] },
        ports: [22],
        counts: { events: 30, detections: 1, peak: 30 },
        first_seen: '2024-05-01T10:01:01.000000000Z',
        last_seen: '2024-05-01T10:01:30.000000000Z',
        window: { start: '2024-05-01T09:57:00.000000000Z', end: '2024-05-01T10:02:00.000000000Z' },
      });
      expect(created.evidence_url).toMatch(/^https:\/\/flowtrail\.example\.com\/api\/v1\/flows\?since=/);
      expect(created.incident_url).toBe(
        `https://flowtrail.example.com/api/v1/alerts/incidents/${created.incident_id}`,
      );
      expect(created.addresses.destinations).toHaveLength(30);
      expect(JSON.parse(hook[1]!.body).counts).toEqual({ events: 60, detections: 2, peak: 60 });

      // Retries: the receiver answers its first two requests with 500, then succeeds.
      expect(rx.seen['/flaky']).toBe(4);
      expect(rx.got.filter((r) => r.path === '/flaky')).toHaveLength(2);
      const slack = rx.got.filter((r) => r.path === '/slack').map((r) => JSON.parse(r.body));
      expect(slack).toHaveLength(2);
      expect(slack[0].text).toMatch(/^\[high\] address-scan new incident: tenant \*tenant-a\*/);
      expect(slack[0].blocks.length).toBeGreaterThan(0);
      expect(rx.got.filter((r) => r.path === '/slack')[0]!.headers['x-flowtrail-signature']).toBeUndefined();
      expect(rx.seen['/meta']).toBeUndefined();

      const log = await listDeliveries(store, { limit: 100 });
      const by = (t: string) =>
        log.filter((d) => d.target === t).sort((a, b) => a.event.localeCompare(b.event));
      expect(by('soc').map((d) => [d.event, d.outcome, d.status_codes])).toEqual([
        ['incident.created', 'delivered', [200]],
        ['incident.updated', 'delivered', [200]],
      ]);
      expect(by('flaky').map((d) => [d.outcome, d.attempts, d.status_codes])).toEqual([
        ['delivered', 3, [500, 500, 200]],
        ['delivered', 1, [200]],
      ]);
      expect(by('flaky')[0]!.latencies_ms).toHaveLength(3);
      // Loopback but not allowlisted: refused, never contacted.
      expect(by('internal').map((d) => [d.outcome, d.attempts])).toEqual([
        ['refused', 0],
        ['refused', 0],
      ]);
      expect(by('internal')[0]!.error).toMatch(/loopback, private or link-local/);
      expect(JSON.stringify(log)).not.toContain(SECRET);

      // Acknowledged incidents keep counting but stop paging.
      const [incident] = await engine.incidents.list({ rule: ['address-scan'] });
      await engine.incidents.setStatus(incident!.id, 'acknowledged', 'alice', 'looking');
      await storeFlows(store, scan(305, 30, 200));
      now = at(390);
      const r = await engine.tick();
      expect(r?.updates.map((u) => [u.change, u.incident.status])).toEqual([['updated', 'acknowledged']]);
      await notifier.idle();
      expect(rx.got.filter((x) => x.path === '/hook')).toHaveLength(2);
      const stored = await engine.incidents.get(incident!.id);
      expect(stored).toMatchObject({
        status: 'acknowledged',
        acknowledgedBy: 'alice',
        note: 'looking',
        count: 90,
      });
    } finally {
      await notifier.stop(1000);
      await engine.stop();
      await rx.close();
      await store.close();
    }
  });
});

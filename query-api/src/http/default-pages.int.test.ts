/**
 * What an unauthenticated caller sees outside the API routes (issue 17): `/readyz` gives a
 * generic reason while the engine's text goes to the log, and whatever no route answers (an
 * unknown path, a refused status call, a malformed path) gets our security headers and JSON
 * error body, never Express's default HTML page. Real chdb and HTTP.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError } from '../../../common/clickhouse/index.ts';
import { parseConfig } from '../../../common/config/load.ts';
import type { Logger } from '../../../common/logger.ts';
import { createMetricsRegistry } from '../../../common/metrics.ts';
import { waitUntil } from '../../../common/testing/faults.ts';
import { createQueryService } from '../service.ts';
import { get, loopbackListen, startTestApi, type TestApi, testTokens } from '../testing.ts';
import { healthRoutes } from './routes/health.ts';

const engineText = 'Code: 210. DB::NetException: Connection refused (clickhouse-7.secret.internal:9000)';

/** A logger that keeps every line (message and fields) for the test to read. */
function capturingLogger(lines: string[]): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(JSON.stringify({ level, msg, ...fields }));
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ ingest: false });
}, 120_000);
afterAll(async () => api?.close());

function expectOurHeaders(h: Headers, what: string): void {
  expect(h.get('content-security-policy'), what).toContain("frame-ancestors 'none'");
  expect(h.get('x-frame-options'), what).toBe('DENY');
  expect(h.get('referrer-policy'), what).toBe('no-referrer');
  expect(h.get('x-content-type-options'), what).toBe('nosniff');
  expect(h.get('content-type'), what).toContain('application/json');
}

describe('query-api > default pages', () => {
  it('/readyz names no engine detail when ClickHouse fails; the log has it', async () => {
    const lines: string[] = [];
    const failing = {
      ...api.store,
      query: (async (sql: string, opts?: Parameters<typeof api.store.query>[1]) => {
        if (sql.includes('system.tables')) throw new ClickHouseError(engineText, 210, 'NETWORK_ERROR', true);
        return api.store.query(sql, opts);
      }) as typeof api.store.query,
    };
    const service = createQueryService({
      store: failing,
      logger: capturingLogger(lines),
      config: parseConfig({}),
      metrics: createMetricsRegistry(),
      ui: false,
      runAlerts: false,
    });
    const running = await service.start(loopbackListen);
    try {
      const r = await fetch(`${running.url}/readyz`);
      const text = await r.text();
      expect(r.status).toBe(503);
      expect(JSON.parse(text)).toEqual({ status: 'not ready', reason: 'clickhouse unavailable' });
      expect(text).not.toMatch(/secret|DB::|Code: 210/);
      const logged = lines.filter((l) => l.includes('readiness check failed'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('clickhouse-7.secret.internal');
    } finally {
      await service.stop();
    }
  });

  it('/readyz probes arriving while a check runs share it: one query, one answer', async () => {
    let queries = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = {
      ...api.store,
      query: (async (sql: string, opts?: Parameters<typeof api.store.query>[1]) => {
        queries++;
        await gate;
        return api.store.query(sql, opts);
      }) as typeof api.store.query,
    };
    // The routes alone, behind a counter of the probes that reached them.
    let arrived = 0;
    const app = express();
    app.use((_req, _res, next) => {
      arrived++;
      next();
    });
    app.use(healthRoutes({ store: slow, registry: new Registry(), logger: capturingLogger([]) }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
      const probes = Array.from({ length: 5 }, () => fetch(url).then((r) => r.status));
      await waitUntil('5 probes waiting on the check', () => arrived === 5, { timeoutMs: 60_000 });
      release();
      expect(await Promise.all(probes)).toEqual([200, 200, 200, 200, 200]);
      expect(queries).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an unknown path outside /api/v1 gets a JSON 404 with the security headers', async () => {
    for (const [method, p] of [
      ['GET', '/no-such-page'],
      ['POST', '/healthz'],
      ['DELETE', '/'],
      ['GET', '/api/v2/flows'],
    ] as const) {
      const r = await fetch(`${api.url}${p}`, { method });
      const text = await r.text();
      expect(r.status, `${method} ${p}`).toBe(404);
      expectOurHeaders(r.headers, `${method} ${p}`);
      expect(JSON.parse(text), `${method} ${p}`).toEqual({ error: { status: 404, message: 'not found' } });
    }
  });

  it('a refused status or metrics call is JSON with the headers, not an HTML page with a stack', async () => {
    for (const p of ['/api/v1/status', '/metrics']) {
      const anonymous = await get(api, p);
      expect(anonymous.status, p).toBe(401);
      expectOurHeaders(anonymous.headers, p);
      expect(anonymous.text, p).not.toMatch(/<html|<pre|at .*\.ts:\d+/i);
      expect(anonymous.body, p).toMatchObject({ error: { status: 401 } });
      const tenant = await get(api, p, testTokens.acme);
      expect(tenant.status, p).toBe(403);
      expectOurHeaders(tenant.headers, p);
    }
  });

  it('a malformed path outside /api/v1 is a JSON 400 or 404, never a 500', async () => {
    for (const p of ['/%', '/%ff%fe', '/assets/%C0%AF']) {
      const r = await fetch(`${api.url}${p}`);
      const text = await r.text();
      expect([400, 404], p).toContain(r.status);
      expectOurHeaders(r.headers, p);
      expect(text, p).not.toMatch(/<html|<pre/i);
    }
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Embedded, startEmbedded } from '../bin/embedded.ts';
import { configureLogging } from '../common/logger.ts';
import { waitUntil } from '../common/testing/faults.ts';

configureLogging({ level: 'error' });
let running: Embedded;

beforeAll(async () => {
  running = await startEmbedded({
    ...process.env,
    HUBBLE_SERVER: '',
    CLICKHOUSE_URL: '',
    FLOWTRAIL_CONFIG: '',
    FLOWTRAIL_DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'flowtrail-start-')), 'data'),
    FLOWTRAIL_HTTP_PORT: '0',
    FLOWTRAIL_GRPC_PORT: '0',
    FLOWTRAIL_DEMO_RATE: '1000',
  });
});
afterAll(async () => {
  await running?.stop();
});

interface Line {
  flow: { IP?: { source: string }; source?: { labels?: string[] } };
  attribution: { source: { tenant: string; alloc_id: string; source: string } | null };
}

async function flows(query: string): Promise<Line[]> {
  const res = await fetch(`${running.url}/api/v1/flows?${query}`, {
    headers: { accept: 'application/x-ndjson' },
  });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

describe('flowtrail start (embedded demo)', () => {
  it('stores demo flows attributed to tenants and their Nomad allocations', async () => {
    let lines: Line[] = [];
    await waitUntil(
      '200 demo flows',
      async () => {
        lines = await flows('limit=500');
        return lines.length >= 200;
      },
      { intervalMs: 500 },
    );
    expect(lines.length).toBeGreaterThanOrEqual(200);
    // Workload ends carry netreap labels; their owner names a tenant and, from the Nomad
    // stand-in's ownership intervals, the allocation that held the address.
    const tenantEnds = lines.filter((l) => l.flow.source?.labels?.some((x) => x.startsWith('nomad:tenant=')));
    expect(tenantEnds.length).toBeGreaterThan(0);
    // One identity per owner (issue 12.1): the owner's tenant is the labels' unless the Nomad
    // ownership interval disagrees (stale labels on a reused address); then the owner is the
    // interval's and the labels' claim is visible as the end's conflict.
    for (const l of tenantEnds) {
      const label = l.flow.source!.labels!.find((x) => x.startsWith('nomad:tenant='))!;
      const owner = l.attribution.source as
        | (Record<string, unknown> & { tenant: string; conflict?: { labels?: { tenant: string } } })
        | null;
      if (owner?.conflict) expect(owner.conflict.labels?.tenant).toBe(label.slice('nomad:tenant='.length));
      else expect(owner?.tenant).toBe(label.slice('nomad:tenant='.length));
    }
    expect(tenantEnds.filter((l) => l.attribution.source?.alloc_id).length).toBeGreaterThan(0);
  });

  it('turns the demo abuse into alert incidents with the tenant attached', async () => {
    const wanted = ['address-scan', 'smtp-egress', 'metadata-access'];
    let incidents: { rule: string; tenant: string; status: string }[] = [];
    await waitUntil(
      `incidents of ${wanted.join(', ')}`,
      async () => {
        const res = await fetch(`${running.url}/api/v1/alerts/incidents`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { incidents: typeof incidents } | typeof incidents;
        incidents = Array.isArray(body) ? body : body.incidents;
        return wanted.every((r) => incidents.some((x) => x.rule === r));
      },
      { timeoutMs: 540_000, intervalMs: 1000 },
    );
    for (const rule of wanted) {
      const found = incidents.filter((x) => x.rule === rule);
      expect(found.length, rule).toBeGreaterThan(0);
      expect(
        found.every((x) => x.tenant !== '' && x.status === 'open'),
        rule,
      ).toBe(true);
    }
  }, 600_000);

  it('serves the UI, health and status on the same port', async () => {
    const page = await fetch(`${running.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Flowtrail</title>');
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    const status = (await (await fetch(`${running.url}/api/v1/status`)).json()) as {
      demo: boolean;
      collector: { targets: { state: string }[] };
    };
    expect(status.demo).toBe(true);
    expect(status.collector.targets[0]?.state).toBe('connected');
  });
});

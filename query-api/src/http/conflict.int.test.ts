/**
 * One identity per owner record (issue 12.1), through the ingest wiring and the HTTP API (real
 * chdb, real HTTP): when netreap labels and the Nomad ownership interval disagree about an end,
 * the end's owner is wholly the interval's identity, and the disagreement is visible as a
 * `conflict` object in JSON and NDJSON, a column in CSV, a counter in /metrics and the
 * `attribution-conflict` filter. Rows stored before the rule with mixed identities are shown
 * as one identity too.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttribution } from '../../../collector/src/attribution.ts';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { defaultTenancyConfig } from '../../../common/config/tenancy.ts';
import { unattributed } from '../../../common/flow/attribution.ts';
import type { Logger } from '../../../common/logger.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { writeIntervals } from '../../../common/ownership/persistence.ts';
import { OPEN_END_NS } from '../../../common/ownership/types.ts';
import { formatTimeNs } from '../../../common/time.ts';
import { get, startTestApi, type TestApi, testTokens } from '../testing.ts';

type J = Record<string, any>;
const S = 1_000_000_000n;
const T0 = 1_704_067_200_000_000_000n;
const at = (s: number) => T0 + BigInt(s) * S;
const range = `since=${formatTimeNs(at(0))}&until=${formatTimeNs(at(1000))}`;
const HELD = '10.78.0.5';
const ALLOC_B = 'bbbbbbbb-2222-0000-0000-000000000002';
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

function line(t: bigint, port: number, labels: string[]): string {
  const time = formatTimeNs(t);
  return JSON.stringify({
    flow: {
      time,
      uuid: `00000000-0000-4000-8000-${String(port).padStart(12, '0')}`,
      verdict: 'FORWARDED',
      IP: { source: HELD, destination: '8.8.8.8', ipVersion: 'IPv4' },
      l4: { TCP: { source_port: 40000, destination_port: port } },
      source: { labels },
      Type: 'L3_L4',
      node_name: 'k/n1',
      event_type: { type: 4 },
      traffic_direction: 'EGRESS',
    },
    node_name: 'k/n1',
    time,
  });
}

// acme's stale labels on an address globex's alloc-b holds (address reuse).
const stale = ['netreap:nomad.namespace=acme', 'netreap:nomad.job_id=web', 'nomad:tenant=acme'];
const fresh = ['netreap:nomad.namespace=globex', 'netreap:nomad.job_id=miner', 'nomad:tenant=globex'];

let api: TestApi;
const registry = new Registry();
const portOf = (f: J) => f['flow']['l4']['TCP']['destination_port'] as number;

describe('query-api > http > labels vs ownership conflicts', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ft-conflict-'));
    api = await startTestApi({ ingest: false, dataDir: path.join(dir, 'chdb') });
    await writeIntervals(api.store, [
      {
        address: HELD,
        kind: 'alloc',
        allocId: ALLOC_B,
        allocName: 'miner.web[0]',
        namespace: 'globex',
        job: 'miner',
        group: 'web',
        nodeId: 'node-1',
        nodeName: 'n1',
        tenant: 'globex',
        account: 'globex-9',
        start: at(0),
        end: OPEN_END_NS,
        nomadIndex: 1n,
      },
    ]);
    // The collector's own wiring: tracker (loaded from the store) + enricher + conflict counter.
    const attribution = createAttribution({
      tenancy: defaultTenancyConfig,
      store: api.store,
      logger: quiet,
      metrics: createMetrics('conflict_test', registry),
    });
    await attribution.start();
    const file = path.join(dir, 'flows.json');
    writeFileSync(file, `${[line(at(10), 1001, stale), line(at(11), 1002, fresh)].join('\n')}\n`);
    await ingestFiles({ store: api.store, files: [file], attribute: attribution.attribute });
    await attribution.stop();
    // A row stored before the rule: the labels' tenant and job next to alloc-b's ids.
    const legacy = path.join(dir, 'legacy.json');
    writeFileSync(legacy, `${line(at(12), 1003, stale)}\n`);
    await ingestFiles({
      store: api.store,
      files: [legacy],
      attribute: () => ({
        source: {
          ...unattributed,
          tenant: 'acme',
          namespace: 'acme',
          job: 'web',
          allocId: ALLOC_B,
          allocName: 'miner.web[0]',
          node: 'n1',
          source: 'label',
        },
        destination: { ...unattributed },
        conflict: '',
      }),
    });
  });
  afterAll(async () => api?.close());

  const globex = {
    tenant: 'globex',
    account: 'globex-9',
    namespace: 'globex',
    job: 'miner',
    group: 'web',
    alloc_id: ALLOC_B,
    alloc_name: 'miner.web[0]',
    node: 'n1',
  };

  it('JSON: the owner is wholly the ownership identity; the labels are the conflict', async () => {
    const r = await get(api, `/api/v1/flows?${range}&order=oldest`, testTokens.admin);
    expect(r.status).toBe(200);
    const flows = (r.body as J)['flows'] as J[];
    expect(flows.map(portOf)).toEqual([1001, 1002, 1003]);
    const [a, b, c] = flows.map((f) => f['attribution']['source'] as J);
    expect(a).toMatchObject({ ...globex, source: 'ownership' });
    expect(a!['conflict']).toEqual({
      labels: { tenant: 'acme', account: '', namespace: 'acme', job: 'web', group: '' },
      ownership: {
        tenant: 'globex',
        account: 'globex-9',
        namespace: 'globex',
        job: 'miner',
        group: 'web',
        alloc_id: ALLOC_B,
      },
      fields: ['tenant', 'namespace', 'job'],
    });
    expect(b).toMatchObject({ ...globex, source: 'label' });
    expect(b).not.toHaveProperty('conflict');
    // Legacy mixed row: shown as one identity, the stored label fields as the conflict.
    expect(c).toMatchObject({ ...globex, source: 'ownership' });
    expect(c!['conflict']).toMatchObject({
      labels: { tenant: 'acme', job: 'web' },
      fields: ['tenant', 'namespace', 'job'],
    });
  });

  it('NDJSON and CSV carry the conflict; the filter finds conflicted flows', async () => {
    const nd = await get(api, `/api/v1/flows?${range}&order=oldest&format=ndjson`, testTokens.admin);
    const lines = nd.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as J);
    expect(lines[0]!['attribution']['source']['conflict']['labels']['tenant']).toBe('acme');

    const csv = await get(api, `/api/v1/flows?${range}&order=oldest&format=csv`, testTokens.admin);
    const [header, ...rows] = csv.text.trim().split(/\r?\n/);
    const cols = header!.split(',');
    const i = cols.indexOf('src_conflict');
    expect(i).toBeGreaterThan(0);
    expect(cols).toContain('dst_conflict');
    expect(rows[0]).toContain('labels tenant=acme namespace=acme job=web; ownership tenant=globex');
    expect(rows[1]!.split(',')[i]).toBe('');

    const only = await get(api, `/api/v1/flows?${range}&attribution-conflict=true`, testTokens.admin);
    expect(((only.body as J)['flows'] as J[]).map(portOf)).toEqual([1001]);
    const none = await get(
      api,
      `/api/v1/flows?${range}&attribution-conflict=false&order=oldest`,
      testTokens.admin,
    );
    expect(((none.body as J)['flows'] as J[]).map(portOf)).toEqual([1002, 1003]);
    expect(
      (await get(api, `/api/v1/flows?${range}&attribution-conflict=maybe`, testTokens.admin)).status,
    ).toBe(400);
  });

  it('counts conflicts in /metrics', async () => {
    const text = await registry.getSingleMetricAsString(
      'flowtrail_conflict_test_attribution_conflicts_total',
    );
    expect(text).toMatch(/attribution_conflicts_total 1$/m);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { flowFilter } from '../../../common/filter/index.ts';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import { GetFlowsRequest, ObserverClient } from '../../../proto/src/grpc.ts';
import { get, startTestApi, type TestApi, testAttribute, testTokens } from '../testing.ts';

// Issue 17.1: a tenant's GetFlows with a regex that takes exponential time in a backtracking engine
// (`((.+))+X` against long names without an X) over a large window must not stall the process.
// Regexes run as RE2 in ClickHouse (match()) and, in memory, through re2js: both linear.
let api: TestApi;
let client: ObserverClient;
const flowsInWindow = 20_000;

function dnsFlows(n: number): string {
  const lines: string[] = [];
  const t0 = Date.parse('2024-03-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const time = new Date(t0 + i * 1000).toISOString();
    lines.push(
      JSON.stringify({
        flow: {
          time,
          uuid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
          verdict: 'FORWARDED',
          IP: { source: `10.244.0.${(i % 200) + 1}`, destination: '10.96.0.10', ipVersion: 'IPv4' },
          l4: { UDP: { source_port: 40000 + (i % 1000), destination_port: 53 } },
          l7: { type: 'REQUEST', dns: { query: `${'a'.repeat(60)}.example.com.` } },
          node_name: 'redos/node-1',
          Type: 'L7',
          event_type: { type: 129 },
        },
        node_name: 'redos/node-1',
        time,
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

describeWithFixtures('query-api > grpc > a catastrophic regex cannot stall the process (ReDoS)', () => {
  beforeAll(async () => {
    api = await startTestApi();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ft-redos-')), 'dns.jsonl');
    writeFileSync(file, dnsFlows(flowsInWindow));
    await ingestFiles({ store: api.store, files: [file], attribute: testAttribute });
    client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
  }, 300_000);
  afterAll(async () => {
    client?.close();
    await api?.close();
  });

  it('GetFlows with dns_query ((.+))+X over a large window: /healthz answers within 1 s throughout', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${testTokens.acme}`);
    // Warm the HTTP path first (connection, first-request compilation): probes then time only waiting.
    expect((await get(api, '/healthz')).status).toBe(200);
    let done = false;
    const call = new Promise<{ n: number; error?: grpc.ServiceError }>((resolve) => {
      let n = 0;
      const c = client.getFlows(
        GetFlowsRequest.fromPartial({
          number: 2n ** 64n - 1n,
          since: { seconds: 946684800n, nanos: 0 },
          whitelist: [flowFilter({ dns_query: ['((.+))+X'] })],
        }),
        md,
      );
      c.on('data', () => n++);
      c.on('error', (error: grpc.ServiceError) => resolve({ n, error }));
      c.on('end', () => resolve({ n }));
    }).finally(() => {
      done = true;
    });
    // Probe /healthz over real HTTP for as long as the call runs (and at least five times).
    const probes: number[] = [];
    while (!done || probes.length < 5) {
      const started = performance.now();
      const r = await get(api, '/healthz');
      probes.push(performance.now() - started);
      expect(r.status).toBe(200);
    }
    const result = await call;
    expect(result.error).toBeUndefined();
    expect(result.n).toBe(0);
    expect(
      Math.max(...probes),
      `probe times (ms): ${probes.map((p) => p.toFixed(0)).join(', ')}`,
    ).toBeLessThan(1000);
  }, 120_000);

  it('an RE2 expression that matches does match ((?i) included), and a backreference is INVALID_ARGUMENT', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${testTokens.acme}`);
    const count = (dns: string) =>
      new Promise<{ n: number; error?: grpc.ServiceError }>((resolve) => {
        let n = 0;
        const c = client.getFlows(
          GetFlowsRequest.fromPartial({
            // The newest 100 matches: enough to show the expression matches, quick under any deadline.
            number: 100n,
            since: { seconds: 1709251200n, nanos: 0 },
            whitelist: [flowFilter({ dns_query: [dns], node_name: ['redos/*'] })],
          }),
          md,
        );
        c.on('data', () => n++);
        c.on('error', (error: grpc.ServiceError) => resolve({ n, error }));
        c.on('end', () => resolve({ n }));
      });
    const ci = await count('(?i)^A+\\.EXAMPLE\\.com\\.$');
    expect(ci.error).toBeUndefined();
    expect(ci.n).toBe(100);
    const bad = await count('(a)\\1');
    expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.error?.details).toMatch(/RE2|backreference|invalid escape/);
  }, 120_000);
});

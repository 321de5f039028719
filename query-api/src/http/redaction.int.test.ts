/**
 * A tenant sees its own ends in full, and of a peer owned by another tenant only the address,
 * ports and reserved labels: never the peer's tenant, job or namespace labels — over HTTP and gRPC.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { GetFlowsRequest, type GetFlowsResponse, ObserverClient } from '../../../proto/src/grpc.ts';
import { get, startTestApi, type TestApi, testAttribute, testTokens } from '../testing.ts';

const acmeLabels = ['netreap:nomad.job_id=web', 'netreap:nomad.namespace=acme', 'nomad:tenant=acme'];
const globexLabels = [
  'netreap:nomad.job_id=api',
  'netreap:nomad.namespace=globex',
  'nomad:tenant=globex',
  'reserved:remote-node',
];
const line = JSON.stringify({
  flow: {
    time: '2026-01-01T00:00:00.000000001Z',
    uuid: '0b1e7c9e-1111-4222-8333-944455556666',
    verdict: 'DROPPED',
    IP: { source: '10.244.0.9', destination: '10.244.1.9', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 40000, destination_port: 443, flags: { SYN: true } } },
    source: { identity: 1001, namespace: 'acme-ns', labels: acmeLabels, pod_name: 'web-1' },
    destination: { identity: 2002, namespace: 'globex-ns', labels: globexLabels, pod_name: 'api-1' },
    destination_service: { name: 'api', namespace: 'globex-ns' },
    drop_reason_desc: 'POLICY_DENIED',
  },
  node_name: 'n1',
  time: '2026-01-01T00:00:00.000000001Z',
});
const range = 'since=2025-12-31T00:00:00Z&until=2026-01-02T00:00:00Z';
type Line = {
  flow: { source: { labels: string[]; namespace?: string }; destination: Record<string, unknown> };
};

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ ingest: false });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'redact-')), 'cross.json');
  writeFileSync(file, `${line}\n`);
  await ingestFiles({ store: api.store, files: [file], attribute: testAttribute });
});
afterAll(async () => api?.close());

describe('query-api > tenant redaction of peers', () => {
  it('over HTTP: the peer loses its tenant labels, namespace, pod and service; own end stays whole', async () => {
    const mine = await get(api, `/api/v1/flows?${range}&format=ndjson`, testTokens.acme);
    const [l] = mine.text
      .split('\n')
      .filter(Boolean)
      .map((x) => JSON.parse(x) as Line);
    expect(l!.flow.source.labels).toEqual(acmeLabels);
    expect(l!.flow.source.namespace).toBe('acme-ns');
    expect(l!.flow.destination).toEqual({ identity: 2002, labels: ['reserved:remote-node'] });
    expect(mine.text).not.toContain('globex');
    const admin = await get(api, `/api/v1/flows?${range}&format=ndjson`, testTokens.admin);
    expect(admin.text).toContain('nomad:tenant=globex');
  });

  it('refuses a tenant filter naming another tenant (it would reveal who the peers are)', async () => {
    const r = await get(api, `/api/v1/flows?${range}&tenant=globex`, testTokens.acme);
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/only filter by its own tenant/);
    const top = await get(api, `/api/v1/top?${range}&tenant=globex&by=destination`, testTokens.acme);
    expect(top.status).toBe(403);
    const own = await get(api, `/api/v1/flows?${range}&tenant=acme`, testTokens.acme);
    expect(own.status).toBe(200);
  });

  it('matches job, account and alloc filters of a tenant token against its own ends only', async () => {
    const count = async (q: string, token: string) =>
      ((await get(api, `/api/v1/flows?${range}&${q}`, token)).body as Record<string, unknown>)['count'];
    // The peer's job and allocation (globex's) reveal nothing to acme…
    expect(await count('job=api', testTokens.acme)).toBe(0);
    expect(await count('alloc=bbbbbbbb', testTokens.acme)).toBe(0);
    expect(await count('account=globex-1', testTokens.acme)).toBe(0);
    // …while its own do match, and an admin matches either end.
    expect(await count('job=web', testTokens.acme)).toBe(1);
    expect(await count('job=api', testTokens.admin)).toBe(1);
  });

  it('over gRPC: the same for the Hubble API', async () => {
    const client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${testTokens.acme}`);
    const flows = await new Promise<GetFlowsResponse[]>((resolve, reject) => {
      const out: GetFlowsResponse[] = [];
      const call = client.getFlows(
        GetFlowsRequest.fromPartial({ since: { seconds: 1767139200n, nanos: 0 } }),
        md,
      );
      call.on('data', (r: GetFlowsResponse) => out.push(r));
      call.on('end', () => resolve(out));
      call.on('error', reject);
    });
    client.close();
    expect(flows).toHaveLength(1);
    const f = flows[0]!.flow!;
    expect(f.source?.labels).toEqual(acmeLabels);
    expect(f.destination?.labels).toEqual(['reserved:remote-node']);
    expect(f.destination?.namespace).toBe('');
    expect(f.destination_service).toBeUndefined();
  });
});

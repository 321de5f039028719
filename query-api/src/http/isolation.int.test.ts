/**
 * A tenant token's outputs, in every format and from every endpoint that can mention a peer,
 * carry no other tenant's names, namespaces, pods, labels or policies (issue 17 item 3): flows
 * as JSON, NDJSON and CSV, the dashboards, the Hubble gRPC API (GetFlows and GetNamespaces) and
 * the alerts API (incident keys and summary, rule allowlists and custom-rule filters).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import {
  GetFlowsRequest,
  type GetFlowsResponse,
  type GetNamespacesResponse,
  ObserverClient,
} from '../../../proto/src/grpc.ts';
import { get, startTestApi, type TestApi, testAttribute, testTokens } from '../testing.ts';

const T = '2026-01-01T00:00:00.000000001Z';
const policy = (name: string, ns: string) => ({
  name,
  namespace: ns,
  labels: [`k8s:io.cilium.k8s.policy.name=${name}`, `k8s:io.cilium.k8s.policy.namespace=${ns}`],
  revision: '3',
});
const line = JSON.stringify({
  flow: {
    time: T,
    uuid: '0b1e7c9e-1111-4222-8333-944455556667',
    verdict: 'DROPPED',
    IP: { source: '10.244.0.9', destination: '10.244.1.9', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 40000, destination_port: 443, flags: { SYN: true } } },
    source: {
      identity: 1001,
      namespace: 'acme-ns',
      labels: ['nomad:tenant=acme'],
      pod_name: 'web-1',
      workloads: [{ name: 'web', kind: 'Job' }],
    },
    destination: {
      identity: 2002,
      namespace: 'globex-ns',
      labels: ['nomad:tenant=globex', 'netreap:nomad.job_id=globex-api', 'reserved:remote-node'],
      pod_name: 'globex-api-1',
      workloads: [{ name: 'globex-api', kind: 'Job' }],
    },
    destination_service: { name: 'globex-svc', namespace: 'globex-ns' },
    egress_allowed_by: [policy('acme-egress', 'acme-ns')],
    ingress_denied_by: [policy('globex-deny', 'globex-ns')],
    drop_reason_desc: 'POLICY_DENIED',
  },
  node_name: 'n1',
  time: T,
});
const range = 'since=2025-12-31T00:00:00Z&until=2026-01-02T00:00:00Z';
const S = 1_000_000_000n;
const t0 = 1_767_225_600n * S;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({
    ingest: false,
    config: {
      alerts: {
        rules: { 'smtp-egress': { allowTenants: ['globex'], allowAccounts: ['globex-1'] } },
        custom: [
          {
            name: 'watch-peer',
            description: 'watch what globex does',
            filter: { account: 'globex-1' },
            allowTenants: ['globex'],
          },
        ],
      },
    },
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'isolation-')), 'cross.json');
  writeFileSync(file, `${line}\n`);
  await ingestFiles({ store: api.store, files: [file], attribute: testAttribute });
  await api.alerts.engine.evaluateRange(t0 - 3600n * S, t0 + 3600n * S, { persist: true });
});
afterAll(async () => api?.close());

/** Everything of the other tenant that must never reach acme. */
const foreign = /globex|api-1|initech/i;

function grpcClient() {
  const client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${testTokens.acme}`);
  return { client, md };
}

describe('query-api > a tenant sees no other tenant anywhere', () => {
  it('flows as JSON, NDJSON and CSV: no peer labels, namespace, pod, workloads, service or policies', async () => {
    for (const format of ['json', 'ndjson', 'csv']) {
      const r = await get(api, `/api/v1/flows?${range}&format=${format}`, testTokens.acme);
      expect(r.status, format).toBe(200);
      expect(r.text, format).toContain('10.244.1.9');
      expect(r.text, format).not.toMatch(foreign);
    }
    // The caller's own end stays whole, its own egress policy included.
    const own = await get(api, `/api/v1/flows?${range}&format=ndjson`, testTokens.acme);
    expect(own.text).toContain('acme-egress');
    expect(own.text).toContain('acme-ns');
    const csv = await get(api, `/api/v1/flows?${range}&format=csv`, testTokens.acme);
    expect(csv.text).toContain('acme-ns');
    // An admin sees both ends.
    for (const format of ['ndjson', 'csv']) {
      const admin = await get(api, `/api/v1/flows?${range}&format=${format}`, testTokens.admin);
      expect(admin.text).toContain('globex-ns');
      expect(admin.text).toContain('globex-api-1');
    }
    const admin = await get(api, `/api/v1/flows?${range}&format=ndjson`, testTokens.admin);
    expect(admin.text).toContain('globex-deny');
  });

  it('dashboards: top, topology and timeseries name no other tenant', async () => {
    for (const p of [
      `/api/v1/top?${range}&by=destination`,
      `/api/v1/top?${range}&by=source`,
      `/api/v1/topology?${range}`,
      `/api/v1/timeseries?${range}`,
      `/api/v1/tenants/acme/summary?${range}`,
    ]) {
      const r = await get(api, p, testTokens.acme);
      expect(r.status, p).toBeLessThan(500);
      expect(r.text, p).not.toMatch(foreign);
    }
  });

  it('gRPC GetFlows drops the peer policies; GetNamespaces lists only the caller tenant namespaces', async () => {
    const { client, md } = grpcClient();
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
    expect(flows).toHaveLength(1);
    const f = flows[0]!.flow!;
    expect(f.ingress_denied_by).toEqual([]);
    expect(f.egress_allowed_by.map((p) => p.name)).toEqual(['acme-egress']);
    expect(f.destination?.workloads).toEqual([]);
    expect(JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toMatch(foreign);
    const ns = await new Promise<GetNamespacesResponse>((resolve, reject) =>
      client.getNamespaces({}, md, (err, r) => (err ? reject(err) : resolve(r!))),
    );
    client.close();
    expect(ns.namespaces.map((n) => n.namespace)).toEqual(['acme-ns']);
  });

  it('alerts: incidents name no other tenant in keys or summary; rules hide allowlists and custom filters', async () => {
    const admin = await get(api, '/api/v1/alerts/incidents', testTokens.admin);
    const all = (admin.body as { incidents: { id: string; rule: string; keys: string[]; summary: string }[] })
      .incidents;
    const cross = all.find((i) => i.rule === 'cross-tenant');
    expect(cross?.keys).toEqual(['globex']);
    expect(cross?.summary).toContain('globex');

    const list = await get(api, '/api/v1/alerts/incidents', testTokens.acme);
    expect(list.status).toBe(200);
    const mine = (list.body as { incidents: { id: string; keys: string[]; summary: string }[] }).incidents;
    expect(mine.map((i) => i.id)).toContain(cross!.id);
    expect(list.text).not.toMatch(foreign);
    const one = await get(api, `/api/v1/alerts/incidents/${cross!.id}`, testTokens.acme);
    expect(one.status).toBe(200);
    expect(one.text).not.toMatch(foreign);
    expect((one.body as { summary: string }).summary).toMatch(/^cross-tenant: 1 denied flow events/);

    const rules = await get(api, '/api/v1/alerts/rules', testTokens.acme);
    expect(rules.status).toBe(200);
    expect(rules.text).not.toMatch(/allowTenants|allowAccounts|"filter"/);
    expect(rules.text).not.toMatch(foreign);
    const adminRules = await get(api, '/api/v1/alerts/rules', testTokens.admin);
    expect(adminRules.text).toContain('globex-1');
  });
});

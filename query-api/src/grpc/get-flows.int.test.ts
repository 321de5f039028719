import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingestFiles } from '../../../collector/src/ingest-files.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../../../common/testing/fixtures.ts';
import { Flow, FlowFilter } from '../../../proto/gen/flow/flow.ts';
import {
  type GetFlowsRequest,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  ObserverClient,
} from '../../../proto/src/grpc.ts';
import { parseHubbleJson } from '../../../proto/src/hubble-json.ts';
import { bearer, getFlowsAs, startTestApi, type TestApi, testAttribute, testTokens } from '../testing.ts';

let api: TestApi;
let client: ObserverClient;
const hex = (f: Flow) => Buffer.from(Flow.encode(f).finish()).toString('hex');
const since = { seconds: 946684800n, nanos: 0 };

function fixtureFlows(): Flow[] {
  return hubbleFixtureFiles().flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        const e = parseHubbleJson(l);
        return e.flow ? [e.flow] : [];
      }),
  );
}

/**
 * Resolves once the server has run a follow call's start query (the newest received_at it will stream
 * after): flows stored later are the call's to stream. Watches the store the server shares with the test.
 */
function followStarted(): Promise<void> {
  const store = api.store;
  const query = store.query;
  return new Promise((resolve) => {
    store.query = (async (sql: string, opts?: Parameters<typeof query>[1]) => {
      const rows = await query.call(store, sql, opts);
      if (sql.includes('max(received_at)')) {
        store.query = query;
        resolve();
      }
      return rows;
    }) as typeof query;
  });
}

function collect(
  req: Partial<GetFlowsRequest>,
  token: string = testTokens.admin,
  max = Number.POSITIVE_INFINITY,
) {
  return getFlowsAs(client, req, token, max);
}

describeWithFixtures('query-api > grpc > GetFlows over stored flows', () => {
  beforeAll(async () => {
    api = await startTestApi();
    client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await api?.close();
  });

  it('returns every fixture flow exactly as ingested (hubble observe --all)', async () => {
    const { flows, error } = await collect({ number: 2n ** 64n - 1n, since });
    expect(error).toBeUndefined();
    const want = new Set(fixtureFlows().map(hex));
    const got = flows.map((r) => hex(r.flow!));
    expect(got.length).toBe(want.size);
    expect(new Set(got)).toEqual(want);
    const times = flows.map((r) => r.time!.seconds * 1_000_000_000n + BigInt(r.time!.nanos));
    expect([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(times);
    expect(flows.every((r) => r.node_name === r.flow!.node_name || r.node_name !== '')).toBe(true);
  });

  it('number without first: the newest N, oldest first; with first: the oldest N', async () => {
    const all = (await collect({ number: 2n ** 64n - 1n, since })).flows.map((r) => hex(r.flow!));
    const last = (await collect({ number: 20n })).flows.map((r) => hex(r.flow!));
    expect(last).toEqual(all.slice(-20));
    const first = (await collect({ number: 5n, first: true, since })).flows.map((r) => hex(r.flow!));
    expect(first).toEqual(all.slice(0, 5));
  });

  it('applies whitelist and blacklist with Hubble semantics via the shared matcher', async () => {
    const wl = [
      FlowFilter.fromPartial({ verdict: [2] }),
      FlowFilter.fromPartial({ protocol: ['udp'], destination_port: ['53'] }),
    ];
    const bl = [FlowFilter.fromPartial({ source_ip: ['10.244.0.0/24'] })];
    const { flows } = await collect({ number: 0n, since, whitelist: wl, blacklist: bl });
    const want = fixtureFlows().filter(
      (f) =>
        (f.verdict === 2 || (f.l4?.UDP !== undefined && f.l4.UDP.destination_port === 53)) &&
        !(f.IP?.source ?? '').startsWith('10.244.0.'),
    );
    expect(new Set(flows.map((r) => hex(r.flow!)))).toEqual(new Set(want.map(hex)));
    expect(flows.length).toBeGreaterThan(0);
  });

  it('honours field masks', async () => {
    const { flows } = await collect({ number: 3n, field_mask: ['time', 'verdict', 'source.identity', 'IP'] });
    for (const r of flows) {
      expect(r.flow!.l4).toBeUndefined();
      expect(r.flow!.source?.labels ?? []).toEqual([]);
      expect(r.flow!.IP?.source).toBeTruthy();
    }
    expect((await collect({ number: 1n, field_mask: ['nope'] })).error?.code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
  });

  it('follow streams flows as they are stored', async () => {
    const started = followStarted();
    const p = collect({ follow: true }, testTokens.admin, 2);
    await started;
    const line = readFileSync(hubbleFixtureFiles()[0]!, 'utf8').split('\n')[0]!;
    const obj = JSON.parse(line) as { flow: { time: string; uuid?: string } };
    const fresh = new Date().toISOString();
    const lines = [1, 2].map((i) =>
      JSON.stringify({
        ...obj,
        flow: { ...obj.flow, time: fresh, uuid: `00000000-0000-0000-0000-00000000000${i}` },
        time: fresh,
      }),
    );
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/ft-follow-');
    writeFileSync(`${dir}/f.jsonl`, `${lines.join('\n')}\n`);
    await ingestFiles({ store: api.store, files: [`${dir}/f.jsonl`], attribute: testAttribute });
    const { flows } = await p;
    expect(flows.map((r) => r.flow!.uuid).sort()).toEqual([
      '00000000-0000-0000-0000-000000000001',
      '00000000-0000-0000-0000-000000000002',
    ]);
  });

  it('follow keeps up when more flows arrive at once than one poll page holds', async () => {
    const n = 5000;
    const started = followStarted();
    const p = collect({ follow: true }, testTokens.admin, n);
    await started;
    const line = readFileSync(hubbleFixtureFiles()[0]!, 'utf8').split('\n')[0]!;
    const obj = JSON.parse(line) as { flow: { time: string; uuid?: string } };
    const fresh = new Date().toISOString();
    const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ ...obj, flow: { ...obj.flow, time: fresh, uuid: uuid(i + 100) }, time: fresh }),
    );
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/ft-follow-');
    writeFileSync(`${dir}/many.jsonl`, `${lines.join('\n')}\n`);
    await ingestFiles({ store: api.store, files: [`${dir}/many.jsonl`], attribute: testAttribute });
    const { flows } = await p;
    expect(new Set(flows.map((r) => r.flow!.uuid)).size).toBe(n);
  });

  it('a tenant token only gets flows where its tenant owns an end; no token is refused', async () => {
    const { flows } = await collect({ number: 0n, since }, testTokens.globex);
    expect(flows.length).toBeGreaterThan(0);
    for (const r of flows) {
      expect([r.flow!.IP?.source, r.flow!.IP?.destination].some((ip) => ip?.startsWith('10.244.1.'))).toBe(
        true,
      );
    }
    const none = await collect({ number: 1n }, 'bad-token');
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('answers health, ServerStatus, GetNodes and GetNamespaces', async () => {
    const health = new HealthClient(api.grpcAddress, grpc.credentials.createInsecure());
    const h = await new Promise<number>((res, rej) =>
      health.check({ service: 'hubble.server.Observer' }, (e, r) => (e ? rej(e) : res(r!.status))),
    );
    expect(h).toBe(HealthCheckResponse_ServingStatus.SERVING);
    health.close();
    const status = await new Promise<{ num_flows: bigint; num_connected_nodes?: number }>((res, rej) =>
      client.serverStatus({}, bearer(testTokens.admin), (e, r) => (e ? rej(e) : res(r!))),
    );
    expect(status.num_flows).toBeGreaterThanOrEqual(BigInt(new Set(fixtureFlows().map(hex)).size));
    const nodes = await new Promise<{ nodes: { name: string }[] }>((res, rej) =>
      client.getNodes({}, bearer(testTokens.admin), (e, r) => (e ? rej(e) : res(r!))),
    );
    expect(nodes.nodes.map((n) => n.name)).toContain('kind-control-plane');
    // `hubble status` "Connected Nodes" agrees with `hubble list nodes`, on old captures too.
    expect(status.num_connected_nodes).toBe(nodes.nodes.length);
    const ns = await new Promise<{ namespaces: { namespace: string }[] }>((res, rej) =>
      client.getNamespaces({}, bearer(testTokens.admin), (e, r) => (e ? rej(e) : res(r!))),
    );
    expect(ns.namespaces.map((n) => n.namespace)).toEqual(expect.arrayContaining(['bookinfo', 'default']));
  });
});

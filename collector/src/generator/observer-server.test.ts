import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowFilter } from '../../../common/filter/index.ts';
import { configureLogging } from '../../../common/logger.ts';
import { waitUntil } from '../../../common/testing/faults.ts';
import { Verdict } from '../../../proto/gen/flow/flow.js';
import { HealthCheckResponse_ServingStatus } from '../../../proto/gen/health/health.js';
import type { GetFlowsResponse } from '../../../proto/gen/observer/observer.js';
import { createGenerator, type Generator } from './generator.ts';
import { type ObserverServer, startObserverServer } from './observer-server.ts';
import { collectFlows, flowsRequest, observerClients, takeFlows } from './testing.ts';

configureLogging({ level: 'error' });

const filter = flowFilter;

const uuids = (rs: GetFlowsResponse[]) => rs.map((r) => r.flow?.uuid);

describe('collector > generator > observer server', () => {
  let gen: Generator;
  let server: ObserverServer;
  let clients: ReturnType<typeof observerClients>;
  let ringUuids: string[];

  beforeAll(async () => {
    gen = createGenerator({ seed: 7, maxFlows: 100, abuse: ['cross-tenant'], abuseEveryFlows: 40 });
    gen.fill(150);
    ringUuids = [];
    for (let s = gen.ring.oldest; s < gen.ring.head; s++) ringUuids.push(gen.ring.at(s)!.response.flow!.uuid);
    server = await startObserverServer({ listen: '127.0.0.1:0', supply: gen });
    clients = observerClients(server.address);
  });

  afterAll(async () => {
    clients.close();
    await gen.stop();
    await server.stop(200);
  });

  it('keeps a ring of the last maxFlows flows', () => {
    expect(gen.ring.size).toBe(100);
    expect(gen.ring.oldest).toBe(50);
    expect(new Set(ringUuids).size).toBe(100);
  });

  it.each([
    {
      description: 'number = last N, oldest first',
      req: { number: 10n },
      expected: () => ringUuids.slice(-10),
    },
    { description: 'first N', req: { number: 5n, first: true }, expected: () => ringUuids.slice(0, 5) },
    { description: 'number 0 = everything', req: {}, expected: () => ringUuids },
    { description: '--all (2^64-1)', req: { number: 2n ** 64n - 1n }, expected: () => ringUuids },
  ])('GetFlows $description', async ({ req, expected }) => {
    const got = await collectFlows(clients.observer, flowsRequest(req));
    expect(uuids(got)).toEqual(expected());
    for (const r of got) {
      expect(r.node_name).toBe(r.flow?.node_name);
      expect(r.time).toEqual(r.flow?.time);
    }
  });

  it('since and until bound the range by flow time', async () => {
    const since = gen.ring.at(gen.ring.head - 20)!.response.time!;
    const got = await collectFlows(clients.observer, flowsRequest({ since }));
    expect(uuids(got)).toEqual(ringUuids.slice(-20));
    const until = gen.ring.at(gen.ring.oldest + 9)!.response.time!;
    const first = await collectFlows(clients.observer, flowsRequest({ first: true, until }));
    expect(uuids(first)).toEqual(ringUuids.slice(0, 10));
    const window = await collectFlows(
      clients.observer,
      flowsRequest({ since, until: gen.ring.at(gen.ring.head - 11)!.response.time! }),
    );
    expect(uuids(window)).toEqual(ringUuids.slice(-20, -10));
  });

  it('rejects first with follow as INVALID_ARGUMENT', async () => {
    await expect(
      collectFlows(clients.observer, flowsRequest({ first: true, follow: true })),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  it('rejects a bad filter as INVALID_ARGUMENT', async () => {
    await expect(
      collectFlows(clients.observer, flowsRequest({ whitelist: [filter({ source_ip: ['not-an-ip'] })] })),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('source_ip'),
    });
  });

  it('applies whitelist (any) and blacklist (none)', async () => {
    const all = [];
    for (let s = gen.ring.oldest; s < gen.ring.head; s++) all.push(gen.ring.at(s)!.response.flow!);
    const dropped = await collectFlows(
      clients.observer,
      flowsRequest({ whitelist: [filter({ verdict: [Verdict.DROPPED] })] }),
    );
    const expectedDropped = all.filter((f) => f.verdict === Verdict.DROPPED).map((f) => f.uuid);
    expect(expectedDropped.length).toBeGreaterThan(0);
    expect(uuids(dropped)).toEqual(expectedDropped);
    const noTcp = await collectFlows(
      clients.observer,
      flowsRequest({
        whitelist: [filter({ verdict: [Verdict.DROPPED] }), filter({ protocol: ['udp'] })],
        blacklist: [filter({ protocol: ['tcp'] })],
      }),
    );
    expect(uuids(noTcp)).toEqual(
      all.filter((f) => (f.verdict === Verdict.DROPPED || f.l4?.UDP) && !f.l4?.TCP).map((f) => f.uuid),
    );
    const lastDrops = await collectFlows(
      clients.observer,
      flowsRequest({ number: 3n, whitelist: [filter({ verdict: [Verdict.DROPPED] })] }),
    );
    expect(uuids(lastDrops)).toEqual(expectedDropped.slice(-3));
  });

  it('follow streams only new flows', async () => {
    const pending = takeFlows(clients.observer, flowsRequest({ follow: true }), 30);
    // The call has its start point once the server tracks it.
    await waitUntil('the follow call', () => server.stats().activeCalls === 1);
    const before = gen.ring.head;
    gen.fill(30);
    const got = await pending;
    const expected = [];
    for (let s = before; s < before + 30; s++) expected.push(gen.ring.at(s)!.response.flow!.uuid);
    expect(uuids(got)).toEqual(expected);
  });

  it('follow with number starts with the last N', async () => {
    const lastFive = [];
    for (let s = gen.ring.head - 5; s < gen.ring.head; s++)
      lastFive.push(gen.ring.at(s)!.response.flow!.uuid);
    const got = await takeFlows(clients.observer, flowsRequest({ follow: true, number: 5n }), 5);
    expect(uuids(got)).toEqual(lastFive);
  });

  it('answers health checks like hubble-relay', async () => {
    const check = (service: string) =>
      new Promise<{ status?: number; code?: number }>((resolve) =>
        clients.health.check({ service }, (err, res) =>
          resolve(err ? { code: err.code } : { status: res.status }),
        ),
      );
    expect(await check('hubble.server.Observer')).toEqual({
      status: HealthCheckResponse_ServingStatus.SERVING,
    });
    expect(await check('')).toEqual({ status: HealthCheckResponse_ServingStatus.SERVING });
    expect(await check('nope')).toEqual({ code: grpc.status.NOT_FOUND });
  });

  it('reports ServerStatus, nodes and namespaces', async () => {
    const status = await new Promise<import('../../../proto/gen/observer/observer.js').ServerStatusResponse>(
      (resolve, reject) =>
        clients.observer.serverStatus({}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(status.max_flows).toBe(100n);
    expect(status.num_flows).toBe(100n);
    expect(status.seen_flows).toBe(BigInt(gen.ring.seen));
    expect(status.uptime_ns).toBeGreaterThan(0n);
    expect(status.num_connected_nodes).toBe(3);
    const nodes = await new Promise<import('../../../proto/gen/observer/observer.js').GetNodesResponse>(
      (resolve, reject) => clients.observer.getNodes({}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(nodes.nodes.map((n) => n.name)).toEqual(['nomad-client-1', 'nomad-client-2', 'nomad-client-3']);
    const ns = await new Promise<import('../../../proto/gen/observer/observer.js').GetNamespacesResponse>(
      (resolve, reject) =>
        clients.observer.getNamespaces({}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(ns.namespaces).toEqual([]);
  });
});

describe('collector > generator > observer server > lost events', () => {
  it('passes LostEvents through filters without counting them', async () => {
    const gen = createGenerator({ seed: 3, maxFlows: 1000, lostEvery: 10 });
    gen.fill(50);
    const server = await startObserverServer({ listen: '127.0.0.1:0', supply: gen });
    const c = observerClients(server.address);
    try {
      const got = await collectFlows(
        c.observer,
        flowsRequest({ whitelist: [filter({ verdict: [Verdict.DROPPED, Verdict.FORWARDED] })] }),
      );
      expect(got.filter((r) => r.flow).length).toBe(50);
      expect(got.filter((r) => r.lost_events).length).toBe(5);
      expect(got.find((r) => r.lost_events)?.lost_events?.num_events_lost).toBeGreaterThan(0n);
      const status = await new Promise<{ seen_flows: bigint }>((resolve, reject) =>
        c.observer.serverStatus({}, (err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(status.seen_flows).toBe(50n);
    } finally {
      c.close();
      await server.stop(200);
    }
  });

  it('tells a follower that fell a full ring behind how many it lost', async () => {
    const gen = createGenerator({ seed: 4, maxFlows: 50 });
    const server = await startObserverServer({ listen: '127.0.0.1:0', supply: gen });
    const c = observerClients(server.address);
    try {
      const pending = takeFlows(c.observer, flowsRequest({ follow: true }), 51);
      await waitUntil('the follow call', () => server.stats().activeCalls === 1);
      gen.fill(500); // synchronously: the follower cannot read before 550 are overwritten
      gen.fill(100);
      const got = await pending;
      const lost = got.filter((r) => r.lost_events);
      expect(lost.length).toBeGreaterThan(0);
      expect(lost[0]?.lost_events?.source).toBe(3); // HUBBLE_RING_BUFFER
      expect(lost[0]?.lost_events?.num_events_lost).toBe(550n);
      expect(got.filter((r) => r.flow).length).toBe(50);
    } finally {
      c.close();
      await server.stop(200);
    }
  });
});

describe('collector > generator > observer server > backpressure', () => {
  it('a paused client never makes the server buffer more than a stream window', async () => {
    const gen = createGenerator({ seed: 5, maxFlows: 20_000 });
    gen.fill(20_000);
    const server = await startObserverServer({ listen: '127.0.0.1:0', supply: gen });
    const c = observerClients(server.address);
    try {
      const stream = c.observer.getFlows(flowsRequest());
      let received = 0;
      await new Promise<void>((resolve) => {
        stream.on('data', () => {
          received++;
          if (received === 1) {
            stream.pause();
            resolve();
          }
        });
      });
      // The server stops writing by construction: it waits for 'drain', which a paused client never gives.
      await waitUntil('the server to wait for the paused client', () => server.stats().waitingCalls === 1);
      const paused = server.stats();
      expect(paused.activeCalls).toBe(1);
      // Bounded by the HTTP/2 window and the stream's high-water mark, not by the 20k flows.
      expect(paused.bufferedMessages).toBeLessThanOrEqual(20);
      expect(paused.sentEvents).toBeLessThan(5000);
      const done = new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      stream.resume();
      await done;
      expect(received).toBe(20_000);
      expect(server.stats().waitingCalls).toBe(0);
      expect(server.stats().maxBufferedPerCall).toBeLessThanOrEqual(20);
    } finally {
      c.close();
      await server.stop(200);
    }
  });
});

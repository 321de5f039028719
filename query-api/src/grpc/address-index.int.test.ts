/**
 * GetFlows over stored flows reads destination and post-SNAT address filters through the address
 * index (migrations/0045, common/filter addressLookupSql), as the HTTP listing does, and answers
 * exactly as a scan would: over real gRPC on loopback, for busy and rare addresses, prefixes,
 * either-end filters (two whitelist entries), blacklists, windows that cut hours in the middle and
 * open ranges, the flows streamed are those the shared in-memory matcher selects from the fixture
 * flows. The index is really consulted: emptied, the same call misses flows.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileFlowFilters } from '../../../common/filter/index.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../../../common/testing/fixtures.ts';
import { Flow, FlowFilter } from '../../../proto/gen/flow/flow.ts';
import { type GetFlowsRequest, ObserverClient } from '../../../proto/src/grpc.ts';
import { parseHubbleJson } from '../../../proto/src/hubble-json.ts';
import { getFlowsAs, startTestApi, type TestApi, testTokens } from '../testing.ts';

let api: TestApi;
let client: ObserverClient;
const hex = (f: Flow) => Buffer.from(Flow.encode(f).finish()).toString('hex');
const nsOf = (f: Flow) => (f.time ? f.time.seconds * 1_000_000_000n + BigInt(f.time.nanos) : 0n);
const ts = (ns: bigint) => ({ seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) });
const hourNs = 3_600_000_000_000n;

/** Every fixture flow, once (the store deduplicates repeats by flow id, keeping identical flows). */
function fixtureFlows(): Flow[] {
  const byHex = new Map<string, Flow>();
  for (const file of hubbleFixtureFiles())
    for (const l of readFileSync(file, 'utf8').split('\n')) {
      if (!l.trim()) continue;
      const e = parseHubbleJson(l);
      if (e.flow) byHex.set(hex(e.flow), e.flow);
    }
  return [...byHex.values()];
}

const collect = async (req: Partial<GetFlowsRequest>) => {
  const { flows, error } = await getFlowsAs(client, req, testTokens.admin);
  expect(error).toBeUndefined();
  return flows.map((r) => hex(r.flow!));
};

describeWithFixtures('query-api > grpc > GetFlows through the address index', () => {
  let flows: Flow[];
  /** [since, until] inclusive, as GetFlows takes them. */
  let windows: [bigint, bigint][];
  let busiest: string;
  let values: string[];

  beforeAll(async () => {
    api = await startTestApi();
    client = new ObserverClient(api.grpcAddress, grpc.credentials.createInsecure());
    flows = fixtureFlows();
    const times = flows.map(nsOf).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const perHour = new Map<bigint, number>();
    for (const t of times) perHour.set(t - (t % hourNs), (perHour.get(t - (t % hourNs)) ?? 0) + 1);
    const hour = [...perHour].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    const min = hourNs / 60n;
    windows = [
      [times[0]!, times[times.length - 1]!],
      [hour + 17n * min, hour + 77n * min],
      [hour - 43n * min, hour + 17n * min - 1n],
    ];
    // Destination and post-SNAT addresses, busiest and rarest first, and /24 prefixes around them.
    const count = new Map<string, number>();
    for (const f of flows)
      for (const a of [f.IP?.destination, f.IP?.source_xlated]) if (a) count.set(a, (count.get(a) ?? 0) + 1);
    const ranked = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([a]) => a);
    busiest = ranked[0]!;
    const picked = [...new Set([...ranked.slice(0, 8), ...ranked.slice(-8)])];
    const prefixes = picked
      .filter((a) => !a.includes(':'))
      .slice(0, 4)
      .map((a) => `${a.split('.').slice(0, 3).join('.')}.0/24`);
    values = [...picked, ...prefixes, '192.0.2.99'];
  }, 300_000);
  afterAll(async () => {
    client?.close();
    await api?.close();
  });

  it('streams the flows a scan selects, for every address filter in every window', async () => {
    let nonEmpty = 0;
    for (const [since, until] of windows) {
      for (const v of values) {
        const cases: { whitelist: FlowFilter[]; blacklist: FlowFilter[] }[] = [
          { whitelist: [FlowFilter.fromPartial({ destination_ip: [v] })], blacklist: [] },
          {
            whitelist: [
              FlowFilter.fromPartial({ source_ip: [v] }),
              FlowFilter.fromPartial({ destination_ip: [v] }),
            ],
            blacklist: [],
          },
          { whitelist: [FlowFilter.fromPartial({ source_ip_xlated: [v] })], blacklist: [] },
          {
            whitelist: [FlowFilter.fromPartial({ destination_ip: [v], protocol: ['tcp'] })],
            blacklist: [FlowFilter.fromPartial({ source_ip: [v] })],
          },
        ];
        for (const c of cases) {
          const got = await collect({ number: 0n, since: ts(since), until: ts(until), ...c });
          const match = compileFlowFilters(c.whitelist, c.blacklist);
          const want = flows.filter((f) => nsOf(f) >= since && nsOf(f) <= until && match(f)).map(hex);
          expect(new Set(got), JSON.stringify({ v, since: String(since), c })).toEqual(new Set(want));
          expect(got.length).toBe(want.length);
          if (want.length) nonEmpty++;
        }
      }
    }
    expect(nonEmpty).toBeGreaterThan(values.length);
  }, 900_000);

  it('open ranges (no until; no since at all) give the same answers', async () => {
    const whitelist = [FlowFilter.fromPartial({ destination_ip: [busiest] })];
    const match = compileFlowFilters(whitelist, []);
    const want = flows
      .filter(match)
      .sort((a, b) => (nsOf(a) < nsOf(b) ? -1 : nsOf(a) > nsOf(b) ? 1 : 0))
      .map(hex);
    const all = await collect({ number: 0n, since: ts(0n), whitelist });
    expect(new Set(all)).toEqual(new Set(want));
    // The newest 3 without since: the last 3 of the whole answer (oldest first).
    const last = await collect({ number: 3n, whitelist });
    expect(last).toEqual(all.slice(-3));
  });

  it('reads through the index: emptied, the same call misses flows', async () => {
    const req = {
      number: 0n,
      since: ts(0n),
      whitelist: [FlowFilter.fromPartial({ destination_ip: [busiest] })],
    };
    const before = await collect(req);
    expect(before.length).toBeGreaterThan(0);
    // Destructive: last in this file.
    await api.store.command('TRUNCATE TABLE flows_by_address');
    const after = await collect(req);
    expect(after.length).toBeLessThan(before.length);
  });
});

import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { configureLogging } from '../../../common/logger.ts';
import { DropReason, type Flow, Verdict } from '../../../proto/gen/flow/flow.js';
import { GetFlowsResponse } from '../../../proto/gen/observer/observer.js';
import { toHubbleJsonLine } from '../../../proto/src/hubble-json.ts';
import { ABUSE_PATTERNS, type AbusePattern } from './abuse.ts';
import { createGenerator } from './generator.ts';
import { createStaticPopulation, netreapLabels, type Population } from './population.ts';

configureLogging({ level: 'error' });

const fixedClock = () => Date.UTC(2026, 0, 1, 12, 0, 0);
const flowsOf = (n: number, seed = 1) =>
  createGenerator({ seed }, { now: fixedClock })
    .take(n)
    .map((e) => e.response.flow)
    .filter((f): f is Flow => f !== undefined);

const label = (f: Flow, side: 'source' | 'destination', key: string) =>
  (side === 'source' ? f.source : f.destination)?.labels.find((l) => l.startsWith(`${key}=`))?.split('=')[1];

const dport = (f: Flow) => f.l4?.TCP?.destination_port ?? f.l4?.UDP?.destination_port;

describe('collector > generator', () => {
  it('is deterministic for a seed and a clock', () => {
    const a = createGenerator({ seed: 42 }, { now: fixedClock })
      .take(300)
      .map((e) => toHubbleJsonLine(e.response));
    const b = createGenerator({ seed: 42 }, { now: fixedClock })
      .take(300)
      .map((e) => toHubbleJsonLine(e.response));
    const c = createGenerator({ seed: 43 }, { now: fixedClock })
      .take(300)
      .map((e) => toHubbleJsonLine(e.response));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('pre-encodes exactly the bytes of the response object', () => {
    for (const ev of createGenerator({ seed: 9 }).take(3000)) {
      const fast = GetFlowsResponse.decode(ev.encoded!);
      const slow = GetFlowsResponse.decode(GetFlowsResponse.encode(ev.response).finish());
      if (!isDeepStrictEqual(fast, slow)) expect(fast).toEqual(slow);
    }
  });

  it('stamps every flow with a unique uuid, increasing times, node names and netreap labels', () => {
    const flows = flowsOf(2000);
    expect(new Set(flows.map((f) => f.uuid)).size).toBe(flows.length);
    for (const f of flows)
      expect(f.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ns = flows.map((f) => f.time!.seconds * 1_000_000_000n + BigInt(f.time!.nanos));
    for (let i = 1; i < ns.length; i++) expect(ns[i]! > ns[i - 1]!).toBe(true);
    for (const f of flows) expect(f.node_name).toMatch(/^nomad-client-\d$/);
    const workload = flows.filter((f) => f.source?.labels.some((l) => l.startsWith('nomad:tenant=')));
    expect(workload.length).toBeGreaterThan(flows.length / 3);
    for (const f of workload) {
      for (const key of [
        'netreap:nomad.job_id',
        'netreap:nomad.namespace',
        'netreap:nomad.task_group_id',
        'nomad:account_id',
      ]) {
        expect(label(f, 'source', key)).toBeTruthy();
      }
    }
  });

  it('produces the normal mix: world egress with SNAT, DNS, HTTP, replies, policy drops', () => {
    const flows = flowsOf(20_000);
    const world = flows.filter((f) => f.destination?.labels.includes('reserved:world') && !f.is_reply);
    expect(world.length).toBeGreaterThan(0);
    expect(world.every((f) => f.IP?.source_xlated !== '')).toBe(true);
    const dns = flows.filter((f) => f.l7?.dns);
    expect(dns.some((f) => f.l7?.dns?.ips.length && f.is_reply)).toBe(true);
    expect(dns.some((f) => f.l7?.dns?.rcode === 3)).toBe(true);
    expect(flows.some((f) => f.l7?.http?.code === 200 && f.Summary.startsWith('HTTP/1.1 200'))).toBe(true);
    expect(flows.some((f) => f.is_reply === true && f.l4?.TCP?.flags?.SYN && f.l4.TCP.flags.ACK)).toBe(true);
    const drops = flows.filter((f) => f.verdict === Verdict.DROPPED);
    expect(drops.length).toBeGreaterThan(0);
    for (const d of drops) {
      expect(d.drop_reason_desc).toBe(DropReason.POLICY_DENIED);
      expect(d.event_type).toEqual({ type: 1, sub_type: 133 });
      expect(d.egress_denied_by.length).toBe(1);
    }
  });

  it('follows a driven population, deriving labels when absent', () => {
    let eps = [
      { ip: '10.9.0.1', tenant: 't1', account: 'a1', namespace: 'n1', job: 'j1', group: 'g1', node: 'n-1' },
    ];
    const population: Population = { endpoints: () => eps };
    const gen = createGenerator({ seed: 1 }, { population });
    const first = gen.take(50).map((e) => e.response.flow!);
    expect(first.every((f) => [f.IP?.source, f.IP?.destination].includes('10.9.0.1'))).toBe(true);
    const wl = first.find((f) => f.IP?.source === '10.9.0.1')!;
    expect(wl.source?.labels).toEqual(netreapLabels(eps[0]!));
    eps = [{ ...eps[0]!, ip: '10.9.0.2' }];
    const later = gen.take(200).map((e) => e.response.flow!);
    expect(later.slice(-50).every((f) => [f.IP?.source, f.IP?.destination].includes('10.9.0.2'))).toBe(true);
  });

  it('emits LostEvents on request', () => {
    const evs = createGenerator({ seed: 1, lostEvery: 100 }).take(1000);
    expect(evs.filter((e) => e.kind === 'lost_events').length).toBe(10);
    expect(evs.filter((e) => e.kind === 'flow').length).toBe(1000);
  });

  it('paces generation at the configured rate, on a driven clock', async () => {
    // Fake timers drive both the tick timer and Date.now: the pacing arithmetic is checked exactly, with
    // no dependence on how busy the machine is. Real throughput is `flowtrail bench`'s business.
    vi.useFakeTimers();
    try {
      const gen = createGenerator({ seed: 1, rate: 5000, tickMs: 5 });
      await gen.start();
      await vi.advanceTimersByTimeAsync(400);
      await gen.stop();
      expect(gen.generated).toBe(2000);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('collector > generator > abuse patterns', () => {
  const burst = (pattern: AbusePattern) => {
    const pop = createStaticPopulation();
    const actor = pop.endpoints()[3]!;
    const gen = createGenerator({ seed: 11 }, { population: pop, now: fixedClock });
    gen.injectAbuse(pattern, { actorIp: actor.ip });
    // The burst comes first; take enough to contain it whole, then keep only the actor's flows.
    const flows = gen
      .take(600)
      .map((e) => e.response.flow!)
      .filter((f) => f.IP?.source === actor.ip || f.IP?.destination === actor.ip);
    return { actor, flows, out: flows.filter((f) => f.IP?.source === actor.ip && !f.is_reply) };
  };

  it('address scan: one source, ≥25 hosts on one port, SYNs answered by RST or dropped', () => {
    const { actor, flows, out } = burst('address-scan');
    const syns = out.slice(0, 60).filter((f) => f.l4?.TCP?.flags?.SYN && !f.l4.TCP.flags.ACK);
    const byPort = new Map<number, Set<string>>();
    for (const f of syns) {
      const set = byPort.get(dport(f)!) ?? new Set();
      set.add(f.IP!.destination);
      byPort.set(dport(f)!, set);
    }
    const [port, hosts] = [...byPort].sort((a, b) => b[1].size - a[1].size)[0]!;
    expect(hosts.size).toBeGreaterThanOrEqual(25);
    for (const host of hosts) {
      const answered = flows.some(
        (f) =>
          f.IP?.source === host &&
          f.IP.destination === actor.ip &&
          f.l4?.TCP?.flags?.RST &&
          f.l4.TCP.source_port === port,
      );
      const dropped = syns.some((f) => f.IP?.destination === host && f.verdict === Verdict.DROPPED);
      expect(answered || dropped).toBe(true);
    }
  });

  it('port scan: ≥15 ports on one host', () => {
    const { out } = burst('port-scan');
    const byHost = new Map<string, Set<number>>();
    for (const f of out.filter((x) => x.l4?.TCP?.flags?.SYN)) {
      const set = byHost.get(f.IP!.destination) ?? new Set();
      set.add(dport(f)!);
      byHost.set(f.IP!.destination, set);
    }
    expect(Math.max(...[...byHost.values()].map((s) => s.size))).toBeGreaterThanOrEqual(15);
  });

  it('SMTP egress to 25, 465 and 587 in the world', () => {
    const { out } = burst('smtp-egress');
    const ports = new Set(out.filter((f) => f.destination?.labels.includes('reserved:world')).map(dport));
    for (const p of [25, 465, 587]) expect(ports.has(p)).toBe(true);
  });

  it('metadata probe to 169.254.169.254:80', () => {
    const { out } = burst('metadata-probe');
    expect(
      out.filter((f) => f.IP?.destination === '169.254.169.254' && dport(f) === 80).length,
    ).toBeGreaterThanOrEqual(1);
  });

  it('cross-tenant policy-denied drops', () => {
    const { actor, out } = burst('cross-tenant');
    const denied = out.filter(
      (f) =>
        f.verdict === Verdict.DROPPED &&
        f.drop_reason_desc === DropReason.POLICY_DENIED &&
        f.egress_denied_by.length > 0 &&
        label(f, 'destination', 'nomad:tenant') !== undefined &&
        label(f, 'destination', 'nomad:tenant') !== actor.tenant,
    );
    expect(denied.length).toBeGreaterThanOrEqual(4);
  });

  it('miner: pool DNS lookup then a session to 3333/4444', () => {
    const { out } = burst('miner');
    expect(
      out.some((f) => /pool\.(minexmr|minergate)\.com\.$|minergate\.com\.$/.test(f.l7?.dns?.query ?? '')),
    ).toBe(true);
    expect(out.some((f) => [3333, 4444].includes(dport(f) ?? 0) && f.destination_names.length > 0)).toBe(
      true,
    );
  });

  it('cycles through every pattern when configured', () => {
    const gen = createGenerator({ seed: 5, abuse: [...ABUSE_PATTERNS], abuseEveryFlows: 200 });
    const flows = gen.take(6000).map((e) => e.response.flow!);
    expect(flows.some((f) => f.IP?.destination === '169.254.169.254')).toBe(true);
    expect(flows.some((f) => dport(f) === 25)).toBe(true);
  });
});

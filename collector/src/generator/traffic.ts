/**
 * @module The normal traffic mix of a multi-tenant Nomad platform: egress to SaaS APIs (after a DNS
 * lookup), HTTP between a tenant's own jobs, database and cache sessions, NTP, pings, NXDOMAIN lookups and
 * a trickle of policy-denied drops (cross-tenant or to the world), observed at the client's node.
 */
import { type ConversationBuilder, denyPolicy } from './conversations.ts';
import type { Population, WorkloadEndpoint } from './population.ts';
import type { Rng } from './rng.ts';
import { type Peer, platformPeer, type Step, workloadPeer } from './templates.ts';
import { DNS_RESOLVER, NX_NAMES, WORLD_SERVICES } from './world.ts';

export { denyPolicy };

/** The live population as wire peers, grouped by tenant; rebuilt only when the endpoint list changes. */
export class PeerIndex {
  private source: readonly WorkloadEndpoint[] | undefined;
  private readonly byEndpoint = new WeakMap<WorkloadEndpoint, Peer>();
  all: Peer[] = [];
  byTenant = new Map<string, Peer[]>();
  readonly resolver: Peer;

  private readonly population: Population;
  private readonly clusterName: string;

  constructor(population: Population, clusterName: string) {
    this.population = population;
    this.clusterName = clusterName;
    this.resolver = platformPeer(DNS_RESOLVER.ip, DNS_RESOLVER.job, DNS_RESOLVER.group, clusterName);
  }

  /** Re-reads the population (cheap when the array reference is unchanged). */
  refresh(): void {
    const eps = this.population.endpoints();
    if (eps === this.source) return;
    this.source = eps;
    this.all = [];
    this.byTenant = new Map();
    for (const ep of eps) {
      let p = this.byEndpoint.get(ep);
      if (!p) {
        p = workloadPeer(ep, this.clusterName);
        this.byEndpoint.set(ep, p);
      }
      this.all.push(p);
      const list = this.byTenant.get(ep.tenant);
      if (list) list.push(p);
      else this.byTenant.set(ep.tenant, [p]);
    }
  }

  /** Another endpoint of the same tenant, if any. */
  sameTenantPeer(rng: Rng, p: Peer): Peer | undefined {
    const list = this.byTenant.get(p.workload?.tenant ?? '') ?? [];
    if (list.length < 2) return undefined;
    let q = rng.pick(list);
    for (let i = 0; q === p && i < 4; i++) q = rng.pick(list);
    return q === p ? undefined : q;
  }

  /** An endpoint of another tenant, if any. */
  otherTenantPeer(rng: Rng, p: Peer): Peer | undefined {
    for (let i = 0; i < 8; i++) {
      const q = rng.pick(this.all);
      if (q.workload?.tenant !== p.workload?.tenant) return q;
    }
    return this.all.find((q) => q.workload?.tenant !== p.workload?.tenant);
  }
}

/** The service port a workload probably listens on, from its job and group names. */
export function servicePort(p: Peer): { port: number; http: boolean } {
  const w = `${p.workload?.job ?? ''} ${p.workload?.group ?? ''}`;
  if (/postgres|\bdb\b|-db\b/.test(w)) return { port: 5432, http: false };
  if (/redis|cache/.test(w)) return { port: 6379, http: false };
  return { port: 8080, http: true };
}

const HTTP_PATHS = ['/v1/orders', '/v1/users/me', '/healthz', '/v1/items?page=2', '/metrics'];
const HTTP_CODES = [200, 200, 200, 200, 200, 200, 201, 204, 404, 500, 503];
const LATENCIES = [1, 2, 2, 3, 5, 8, 13, 48, 250];

/** Appends one normal conversation of a random workload. */
export function normalConversation(out: Step[], rng: Rng, b: ConversationBuilder, peers: PeerIndex): void {
  if (peers.all.length === 0) return;
  const c = rng.pick(peers.all);
  const r = rng.float();
  if (r < 0.3) {
    const svc = rng.pick(WORLD_SERVICES);
    const s = b.world(svc.ip);
    b.dns(out, c, peers.resolver, svc.name, [svc.ip]);
    if (svc.proto === 'udp') b.udpExchange(out, c, s, svc.port, [svc.name]);
    else b.tcpSession(out, c, s, svc.port, { kind: 'established', dataPackets: rng.range(1, 3) }, [svc.name]);
  } else if (r < 0.55) {
    const s = peers.sameTenantPeer(rng, c);
    if (!s) {
      b.ping(out, c, b.world(rng.pick(WORLD_SERVICES).ip));
      return;
    }
    const sp = servicePort(s);
    if (sp.http) {
      const host = `${s.workload?.job ?? 'svc'}.service.consul`;
      b.http(
        out,
        c,
        s,
        sp.port,
        host,
        rng.chance(0.8) ? 'GET' : 'POST',
        rng.pick(HTTP_PATHS),
        rng.pick(HTTP_CODES),
        rng.pick(LATENCIES),
      );
    } else {
      b.tcpSession(out, c, s, sp.port, { kind: 'established', dataPackets: rng.range(1, 4) });
    }
  } else if (r < 0.75) {
    const s = peers.sameTenantPeer(rng, c) ?? rng.pick(peers.all);
    b.tcpSession(out, c, s, servicePort(s).port, { kind: 'established', dataPackets: rng.range(1, 4) });
  } else if (r < 0.85) {
    if (rng.chance(0.3)) b.dns(out, c, peers.resolver, rng.pick(NX_NAMES), []);
    else {
      const svc = rng.pick(WORLD_SERVICES);
      b.dns(out, c, peers.resolver, svc.name, [svc.ip]);
    }
  } else if (r < 0.9) {
    b.ping(out, c, b.world(rng.pick(WORLD_SERVICES).ip));
  } else if (r < 0.95) {
    const svc = WORLD_SERVICES.find((s) => s.proto === 'udp');
    if (svc) b.udpExchange(out, c, b.world(svc.ip), svc.port, [svc.name]);
  } else {
    // A trickle of policy drops: a misconfigured client reaching another tenant, retried once.
    const s = peers.otherTenantPeer(rng, c);
    if (!s) return;
    b.tcpSession(out, c, s, servicePort(s).port, {
      kind: 'dropped',
      policy: 'tenant-isolation',
      attempts: 2,
    });
  }
}

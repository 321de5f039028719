/**
 * @module Abuse patterns on demand, shaped after the public heuristics the alert engine will use
 * (shared/reference/abuse-signals.md): Zeek's address scan (≥25 hosts on one port) and port scan
 * (≥15 ports on one host) with SYNs answered by RST or dropped, SMTP egress to 25/465/587, probes of the
 * cloud metadata address, cross-tenant policy-denied drops, and a crypto miner (pool DNS + port 3333/4444).
 */
import type { ConversationBuilder } from './conversations.ts';
import type { Rng } from './rng.ts';
import type { Peer, Step } from './templates.ts';
import type { PeerIndex } from './traffic.ts';
import { METADATA_IP, MINER_POOLS, SMTP_TARGETS } from './world.ts';

/** The abuse patterns the generator can produce. */
export const ABUSE_PATTERNS = [
  'address-scan',
  'port-scan',
  'smtp-egress',
  'metadata-probe',
  'cross-tenant',
  'miner',
] as const;

/** One abuse pattern name. */
export type AbusePattern = (typeof ABUSE_PATTERNS)[number];

/** Distinct hosts an address scan touches (Zeek's threshold is 25). */
export const ADDRESS_SCAN_HOSTS = 30;
/** Distinct ports a port scan touches (Zeek's threshold is 15). */
export const PORT_SCAN_PORTS = 20;

const SCAN_PORTS = [
  21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 993, 995, 1433, 1723, 3306, 3389, 5432, 5900, 6379,
  8080, 8443, 9200,
];

/** Appends the flows of one burst of `pattern` by `actor`. */
export function abuseBurst(
  out: Step[],
  pattern: AbusePattern,
  actor: Peer,
  rng: Rng,
  b: ConversationBuilder,
  peers: PeerIndex,
): void {
  switch (pattern) {
    case 'address-scan': {
      const port = rng.pick([22, 23, 3389]);
      const base = rng.pick(['198.51.100.', '203.0.113.']);
      const start = rng.range(1, 250 - ADDRESS_SCAN_HOSTS);
      for (let i = 0; i < ADDRESS_SCAN_HOSTS; i++) {
        const target = b.world(`${base}${start + i}`);
        if (rng.chance(0.7)) b.tcpSession(out, actor, target, port, { kind: 'rst' });
        else
          b.tcpSession(out, actor, target, port, {
            kind: 'dropped',
            policy: 'egress-scan-guard',
            attempts: 1,
          });
      }
      return;
    }
    case 'port-scan': {
      const target = b.world(`203.0.113.${rng.range(200, 250)}`);
      const ports = [...SCAN_PORTS].sort(() => rng.float() - 0.5).slice(0, PORT_SCAN_PORTS);
      for (const port of ports) {
        if (port === 80 || port === 443)
          b.tcpSession(out, actor, target, port, { kind: 'established', dataPackets: 0 });
        else b.tcpSession(out, actor, target, port, { kind: 'rst' });
      }
      return;
    }
    case 'smtp-egress': {
      for (const mx of SMTP_TARGETS) {
        b.dns(out, actor, peers.resolver, mx.name, [mx.ip]);
        b.tcpSession(out, actor, b.world(mx.ip), mx.port, { kind: 'established', dataPackets: 3 }, [mx.name]);
      }
      return;
    }
    case 'metadata-probe': {
      b.tcpSession(out, actor, b.world(METADATA_IP), 80, {
        kind: 'dropped',
        policy: 'deny-cloud-metadata',
        attempts: 3,
      });
      return;
    }
    case 'cross-tenant': {
      const seen = new Set<Peer>();
      for (let i = 0; i < 6; i++) {
        const victim = peers.otherTenantPeer(rng, actor);
        if (!victim || seen.has(victim)) continue;
        seen.add(victim);
        for (const port of [22, 5432, 6379, 8080]) {
          b.tcpSession(out, actor, victim, port, {
            kind: 'dropped',
            policy: 'tenant-isolation',
            attempts: 2,
          });
        }
      }
      return;
    }
    case 'miner': {
      const pool = rng.pick(MINER_POOLS);
      b.dns(out, actor, peers.resolver, pool.name, [pool.ip]);
      b.tcpSession(out, actor, b.world(pool.ip), pool.port, { kind: 'established', dataPackets: 8 }, [
        pool.name,
      ]);
      return;
    }
  }
}

/**
 * Egress rules about where a tenant's traffic goes: SMTP to the world (GuardDuty Spambot),
 * cloud metadata endpoints (credential theft, MITRE T1552.005) and mining pools (Falco's miner
 * rule, which needs the pool's port and its DNS name together).
 * @module
 */
import type { BuiltinRulesConfig } from '../../../../common/config/alerts.ts';
import type { Rule } from './rule.ts';
import { domainMatch, hasOwner, ipText, notAllowed, sourceEventColumns, timeIn } from './sql.ts';

const seconds = (s: number) => BigInt(s) * 1_000_000_000n;

/**
 * smtp-egress: flows to SMTP ports in the world from tenants not on the allowlist, plus any
 * tenant's first-ever port-25 flow (`flag` = 1), read from alert_port25_first_seen.
 */
export function smtpEgressRule(cfg: BuiltinRulesConfig['smtp-egress']): Rule {
  return {
    id: 'smtp-egress',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description:
      `Flows to ports ${cfg.ports.join(', ')} in the world from tenants not on the allowlist` +
      (cfg.firstSeenPort25 ? ", and any tenant's first-ever port-25 flow." : '.'),
    windowNs: seconds(cfg.windowSeconds),
    thresholds: {
      ports: cfg.ports,
      allowTenants: cfg.allowTenants,
      allowAccounts: cfg.allowAccounts,
      firstSeenPort25: cfg.firstSeenPort25,
      windowSeconds: cfg.windowSeconds,
    },
    measureName: 'flow events',
    query(p, range) {
      const first = cfg.firstSeenPort25
        ? `destination_port = 25 AND l4_protocol = 'TCP' AND (src_tenant, time) IN ` +
          `(SELECT tenant, min(first_seen) FROM alert_port25_first_seen GROUP BY tenant)`
        : '0';
      return {
        sql:
          `SELECT ${sourceEventColumns("''", ipText('destination_ip'), first)} FROM flows ` +
          `WHERE ${timeIn(p, range)} AND dst_scope = 'world' AND src_tenant != '' AND is_reply != 'true' ` +
          `AND destination_port IN ${p.bind(cfg.ports, 'Array(UInt16)')} ` +
          `AND ((${notAllowed(p, 'src', cfg)}) OR (${first}))`,
        having: 'events >= 1',
        measure: 'events',
      };
    },
    evidence: () => ({ 'to-port': cfg.ports.map(String), scope: ['world'] }),
  };
}

/** metadata-access: any flow from a tenant to a cloud metadata address. */
export function metadataAccessRule(cfg: BuiltinRulesConfig['metadata-access']): Rule {
  return {
    id: 'metadata-access',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description: `Any flow from a tenant to a cloud metadata address (${cfg.addresses.join(', ')}).`,
    windowNs: seconds(cfg.windowSeconds),
    thresholds: { addresses: cfg.addresses, windowSeconds: cfg.windowSeconds },
    measureName: 'flow events',
    query(p, range) {
      const addrs = p.bind(cfg.addresses, 'Array(String)');
      return {
        sql:
          `SELECT ${sourceEventColumns("''", ipText('destination_ip'))} FROM flows ` +
          `WHERE ${timeIn(p, range)} AND src_tenant != '' AND is_reply != 'true' AND ${notAllowed(p, 'src', cfg)} ` +
          `AND (dst_scope = 'metadata' OR destination_ip IN (SELECT toIPv6(arrayJoin(${addrs}))))`,
        having: 'events >= 1',
        measure: 'events',
      };
    },
    evidence: () => ({ 'to-ip': [...cfg.addresses] }),
  };
}

/**
 * mining: a flow to a miner-pool port in the world whose destination is known by a pool name,
 * either from Hubble's `destination_names` (the DNS proxy's FQDN cache) or from a DNS answer for
 * a pool name that the same owner received earlier (up to one hour before the range).
 */
export function miningRule(cfg: BuiltinRulesConfig['mining']): Rule {
  return {
    id: 'mining',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description: 'A flow to a mining-pool port whose destination resolves from a mining-pool DNS name.',
    windowNs: seconds(cfg.windowSeconds),
    thresholds: { ports: cfg.ports, domains: cfg.domains, windowSeconds: cfg.windowSeconds },
    measureName: 'flow events',
    query(p, range) {
      const domains = p.bind(cfg.domains, 'Array(String)');
      const byName = `arrayExists(n -> ${domainMatch('n', domains)}, destination_names)`;
      const dnsRange = timeIn(p, { t0: range.t0 - 3_600_000_000_000n, t1: range.t1 });
      const answered =
        `(src_tenant, src_account, src_alloc_id, destination_ip) IN (SELECT dst_tenant, dst_account, dst_alloc_id, ` +
        `toIPv6(ip) FROM flows ARRAY JOIN dns_ips AS ip WHERE ${dnsRange} AND l7_protocol = 'dns' ` +
        `AND ${domainMatch('dns_query', domains)} AND ${hasOwner('dst')})`;
      const name = `arrayFirst(n -> ${domainMatch('n', domains)}, destination_names)`;
      return {
        sql:
          `SELECT ${sourceEventColumns(`if(${name} != '', ${name}, ${ipText('destination_ip')})`, ipText('destination_ip'))} ` +
          `FROM flows WHERE ${timeIn(p, range)} AND ${hasOwner('src')} AND ${notAllowed(p, 'src', cfg)} ` +
          `AND is_reply != 'true' AND dst_scope = 'world' AND l4_protocol IN ('TCP', 'UDP') ` +
          `AND destination_port IN ${p.bind(cfg.ports, 'Array(UInt16)')} AND (${byName} OR ${answered})`,
        having: 'events >= 1',
        measure: 'events',
      };
    },
    evidence: () => ({ 'to-port': cfg.ports.map(String) }),
  };
}

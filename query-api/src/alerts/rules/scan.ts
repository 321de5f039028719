/**
 * The scan rules, after Zeek's scan.zeek: an owner with failed connections to many hosts on
 * one port (address scan) or to many ports on one host (port scan) within the window.
 *
 * A failed connection, in Hubble events:
 * - the owner's connection attempt was DROPPED (a TCP SYN without ACK, or any UDP/SCTP
 *   datagram), keyed by its destination address and port; or
 * - the owner received a TCP RST that conntrack marks as a reply (`is_reply = true`), i.e. an
 *   answer on a connection the owner opened: "SYN answered by RST". Keyed by the RST's source
 *   address and port (the scanned host and port).
 * A SYN+ACK answer is a success and never counts; neither does a RST the owner sends itself
 * (half-open scanners close open ports that way) nor a RST from a client of the owner's server
 * (that is not a reply), so health checkers that reset are not port scanners.
 * @module
 */

import type { BuiltinRulesConfig } from '../../../../common/config/alerts.ts';
import type { SqlParams } from '../../filters/index.ts';
import type { Rule, RuleRange } from './rule.ts';
import { hasOwner, ipText, notAllowed, ownerColumns, sampleExpr, timeIn } from './sql.ts';

const SYN = 2;
const RST = 4;
const ACK = 16;

/**
 * Failed attempts as event rows with `host` and `dport` columns; `g`/`peer` are chosen by the
 * rule (port and host for address scans, host and port for port scans).
 */
function failedAttempts(
  p: SqlParams,
  r: RuleRange,
  cfg: { allowTenants: string[]; allowAccounts: string[] },
  g: 'host' | 'dport',
): string {
  const peer = g === 'host' ? 'dport' : 'host';
  const common = `${sampleExpr} AS sample, toUInt8(0) AS flag`;
  const dropped =
    `SELECT toUnixTimestamp64Nano(time) AS tn, ${ownerColumns('src')}, ${ipText('destination_ip')} AS host, ` +
    `toString(destination_port) AS dport, ${ipText('source_ip')} AS s_ip, host AS d_ip, destination_port AS port, ${common} ` +
    `FROM flows WHERE ${timeIn(p, r)} AND verdict = 'DROPPED' AND is_reply != 'true' AND ${hasOwner('src')} ` +
    `AND ${notAllowed(p, 'src', cfg)} AND ((l4_protocol = 'TCP' AND bitAnd(tcp_flags, ${SYN | ACK}) = ${SYN}) ` +
    `OR l4_protocol IN ('UDP', 'SCTP'))`;
  const reset =
    `SELECT toUnixTimestamp64Nano(time) AS tn, ${ownerColumns('dst')}, ${ipText('source_ip')} AS host, ` +
    `toString(source_port) AS dport, ${ipText('destination_ip')} AS s_ip, host AS d_ip, source_port AS port, ${common} ` +
    `FROM flows WHERE ${timeIn(p, r)} AND l4_protocol = 'TCP' AND bitAnd(tcp_flags, ${RST}) != 0 ` +
    `AND is_reply = 'true' AND ${hasOwner('dst')} AND ${notAllowed(p, 'dst', cfg)}`;
  return `SELECT *, ${g} AS g, ${peer} AS peer FROM (${dropped} UNION ALL ${reset})`;
}

/** address-scan: failed connections to >= minHosts distinct hosts on one port. */
export function addressScanRule(cfg: BuiltinRulesConfig['address-scan']): Rule {
  return {
    id: 'address-scan',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description: `Failed connections (dropped, or SYN answered by RST) to >= ${cfg.minHosts} distinct hosts on one port within ${cfg.windowSeconds}s.`,
    windowNs: BigInt(cfg.windowSeconds) * 1_000_000_000n,
    thresholds: { minHosts: cfg.minHosts, windowSeconds: cfg.windowSeconds },
    measureName: 'distinct hosts on one port',
    query(p, range) {
      return {
        sql: failedAttempts(p, range, cfg, 'dport'),
        having: `peers >= ${p.bind(cfg.minHosts, 'UInt64')}`,
        measure: 'peers',
      };
    },
    evidence: (keys) => ({ port: [...keys] }),
  };
}

/** port-scan: failed connections to >= minPorts distinct ports on one host. */
export function portScanRule(cfg: BuiltinRulesConfig['port-scan']): Rule {
  return {
    id: 'port-scan',
    kind: 'builtin',
    enabled: cfg.enabled,
    severity: cfg.severity,
    description: `Failed connections (dropped, or SYN answered by RST) to >= ${cfg.minPorts} distinct ports on one host within ${cfg.windowSeconds}s.`,
    windowNs: BigInt(cfg.windowSeconds) * 1_000_000_000n,
    thresholds: { minPorts: cfg.minPorts, windowSeconds: cfg.windowSeconds },
    measureName: 'distinct ports on one host',
    query(p, range) {
      return {
        sql: failedAttempts(p, range, cfg, 'host'),
        having: `peers >= ${p.bind(cfg.minPorts, 'UInt64')}`,
        measure: 'peers',
      };
    },
    evidence: (keys) => ({ ip: [...keys] }),
  };
}

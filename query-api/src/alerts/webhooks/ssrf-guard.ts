/**
 * The SSRF guard for webhook destinations: a target's host is resolved and refused when any of
 * its addresses is loopback, private (RFC 1918, RFC 6598, fc00::/7), link-local (including the
 * cloud metadata endpoints), unspecified, multicast or reserved, or an IPv6 form that embeds an
 * IPv4 address (IPv4-compatible, translated, NAT64, 6to4, Teredo), unless the host or the address
 * is allowlisted (`webhooks.allowPrivateTargets`: host names, addresses or CIDRs). The address
 * checked is the address connected to (the request's DNS lookup is pinned to it), so a name
 * that re-resolves elsewhere between check and connect (DNS rebinding) cannot slip through.
 * @module
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { FlowtrailError } from '../../../../common/errors.ts';
import { isV4Mapped, parseIpBytes } from '../../../../common/net/ip.ts';

/** A destination the guard refused; never retried. */
export class TargetRefusedError extends FlowtrailError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/** A validated destination address. */
export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

/** Resolves a host to all its addresses (tests inject one). */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
// IPv6 forms that embed or reach IPv4 (and so loopback or private space) are refused whole:
// IPv4-compatible ::/96 (`[::127.0.0.1]`), IPv4-translated ::ffff:0:0:0/96 (`[::ffff:0:7f00:1]`),
// NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16 (`[2002:7f00:1::]`), Teredo and other
// IETF protocol space 2001::/23, discard-only 100::/64. IPv4-mapped ::ffff:0:0/96 is judged as
// the IPv4 address it carries (normalize). An allowlist entry can still admit one of them.
for (const [net, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** IPv4-mapped IPv6 addresses (in any spelling) are judged as the IPv4 address they carry. */
function normalize(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  if (isIP(address) !== 6) return { address, type: 'ipv4' };
  const b = parseIpBytes(address);
  if (b && isV4Mapped(b)) return { address: `${b[12]}.${b[13]}.${b[14]}.${b[15]}`, type: 'ipv4' };
  return { address, type: 'ipv6' };
}

/** True when the address is loopback, private, link-local or otherwise not a public destination. */
export function isPrivateAddress(address: string): boolean {
  const n = normalize(address);
  return blocked.check(n.address, n.type);
}

/** Checks webhook destinations. */
export interface TargetGuard {
  /** Resolves `url`'s host and returns the address to connect to, or throws TargetRefusedError. */
  resolve(url: URL): Promise<ResolvedTarget>;
}

/** Creates the guard with its allowlist (host names, addresses or CIDRs). */
export function createTargetGuard(
  allow: readonly string[],
  resolver: Resolver = defaultResolver,
): TargetGuard {
  const allowedHosts = new Set<string>();
  const allowedNets = new BlockList();
  for (const entry of allow) {
    const [net, prefix] = entry.split('/');
    const family = isIP(net ?? '');
    if (family && prefix !== undefined)
      allowedNets.addSubnet(net!, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
    else if (family) allowedNets.addAddress(net!, family === 6 ? 'ipv6' : 'ipv4');
    else allowedHosts.add(entry.toLowerCase());
  }
  return {
    async resolve(url) {
      const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
      const literal = isIP(host);
      const addrs = literal ? [{ address: host, family: literal }] : await resolver(host);
      if (addrs.length === 0) throw new TargetRefusedError(`webhook host ${host} does not resolve`);
      const hostAllowed = allowedHosts.has(host);
      for (const a of addrs) {
        const n = normalize(a.address);
        if (isPrivateAddress(a.address) && !hostAllowed && !allowedNets.check(n.address, n.type)) {
          throw new TargetRefusedError(
            `webhook host ${host} resolves to ${a.address}, a loopback, private or link-local address; ` +
              'add it to alerts.webhooks.allowPrivateTargets to allow it',
          );
        }
      }
      const first = addrs[0]!;
      return { address: first.address, family: first.family === 6 ? 6 : 4 };
    },
  };
}

/**
 * The SSRF guard for webhook destinations: a target's host is resolved and refused when any of
 * its addresses is loopback, private (RFC 1918, RFC 6598, fc00::/7), link-local (including the
 * cloud metadata endpoints), unspecified, multicast or reserved, unless the host or the address
 * is allowlisted (`webhooks.allowPrivateTargets`: host names, addresses or CIDRs). The address
 * checked is the address connected to (the request's DNS lookup is pinned to it), so a name
 * that re-resolves elsewhere between check and connect (DNS rebinding) cannot slip through.
 * @module
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { FlowtrailError } from '../../../../common/errors.ts';

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
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry. */
function normalize(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, type: 'ipv4' };
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
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
